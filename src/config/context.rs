//! What sfcred takes from its environment, read once at start from the variables in
//! [`crate::config::env_vars`]. A variable that is set wrong is an error only where it is used,
//! so a bad lock timeout never fails a cache hit.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::env_vars::{self, EnvVar};
use crate::config::profile::{StoreKind, parse_duration};
use crate::keys::pkcs11_uri::UriText;

pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);
pub const DEFAULT_KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// The variables the settings directory may come from, in the order they are tried.
const CONFIG_BASES: &[&str] = if cfg!(windows) {
    &["SFCRED_CONFIG_DIR", "XDG_CONFIG_HOME", "APPDATA", "HOME"]
} else {
    &["SFCRED_CONFIG_DIR", "XDG_CONFIG_HOME", "HOME"]
};
/// The variables the cache directory may come from, in the order they are tried.
const CACHE_BASES: &[&str] = if cfg!(windows) {
    &["SFCRED_CACHE_DIR", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA", "HOME"]
} else {
    &["SFCRED_CACHE_DIR", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "HOME"]
};
/// The home directory's variable: Windows has no HOME of its own (Git Bash sets one), and
/// the Salesforce CLI, on Node, takes USERPROFILE there.
const HOME_VAR: &str = if cfg!(windows) { "USERPROFILE" } else { "HOME" };

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextError {
    #[error("no settings directory: none of {} is set", CONFIG_BASES.join(", "))]
    NoConfigDir,
    #[error("no cache directory: none of {} is set", CACHE_BASES.join(", "))]
    NoCacheDir,
    #[error("{name}={value:?} is not a duration of at most 24h")]
    NotADuration { name: &'static str, value: String, example: &'static str },
    #[error("no home directory: {HOME_VAR} is not set")]
    NoHome,
    #[error("{name}={value:?} names no keychain store")]
    UnknownStore { name: &'static str, value: String },
}

impl ContextError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ContextError::NoConfigDir => "set SFCRED_CONFIG_DIR to a directory sfcred may use".into(),
            ContextError::NoCacheDir => "set SFCRED_CACHE_DIR to a directory of your own".into(),
            ContextError::NoHome => {
                format!("set {HOME_VAR}: the Salesforce CLI keeps its logins in {HOME_VAR}/.sfdx")
            }
            ContextError::NotADuration { example, .. } => format!("write it like {example}"),
            ContextError::UnknownStore { .. } => {
                "use one of: secret-service, keyutils, macos-keychain, windows-credential-manager".into()
            }
        })
    }
}

/// The SFCRED_* variables that make up a whole profile (CI jobs, containers), as set.
#[derive(Debug, Default, Clone)]
pub struct EnvironmentProfile {
    pub client_id: Option<SecretString>,
    pub username: Option<String>,
    pub private_key: Option<SecretString>,
    pub private_key_file: Option<PathBuf>,
    pub pkcs11_uri: Option<UriText>,
    pub login_url: Option<String>,
    pub sandbox: bool,
}

/// A Redis the fleet shares (`SFCRED_CACHE_URL`), and the secret that seals its values
/// (`SFCRED_CACHE_KEY`). The URLs may hold a password: they are shown only redacted.
#[derive(Clone)]
pub struct SharedCacheConfig {
    pub urls: Vec<String>,
    pub key: Option<SecretString>,
}

impl std::fmt::Debug for SharedCacheConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCacheConfig").field("urls", &"<redacted>").field("key", &"<redacted>").finish()
    }
}

/// The environment, resolved.
#[derive(Debug, Clone)]
pub struct Context {
    pub config_dir: Result<PathBuf, ContextError>,
    /// The home directory, where the Salesforce CLI keeps its logins (`~/.sfdx`).
    pub home: Option<PathBuf>,
    pub cache_dir: Result<PathBuf, ContextError>,
    /// `SFCRED_STORE`: the keychain for this command, whatever the profile says.
    pub store_override: Result<Option<StoreKind>, ContextError>,
    pub lock_wait: Result<Duration, ContextError>,
    pub keychain_timeout: Result<Duration, ContextError>,
    /// Present when `SFCRED_CLIENT_ID` is set: then the environment is the profile.
    pub environment_profile: Option<EnvironmentProfile>,
    /// The fleet's shared cache, when `SFCRED_CACHE_URL` names one.
    pub shared_cache: Option<SharedCacheConfig>,
    /// `SFCRED_CACHE_KEY`, which also stands in for the fleet key a profile keeps.
    pub cache_key: Option<SecretString>,
    /// `SFCRED_PKCS11_PIN`.
    pub pkcs11_pin: Option<SecretString>,
    pub no_color: bool,
    pub shell: Option<String>,
    /// `BROWSER`: the command `open` hands the link to.
    pub browser: Option<String>,
    pub exec_info: Option<String>,
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`.
    pub trust: TrustRoots,
}

/// The CAs that https servers are checked against: the OS trust store, unless
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` names PEM certificates, which then replace it on
/// every platform, as they replace OpenSSL's default locations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustRoots {
    pub file: Option<PathBuf>,
    /// Directories, as a path list (`:`, or `;` on Windows).
    pub dir: Option<PathBuf>,
}

impl Context {
    /// The process's environment.
    pub fn from_env() -> Context {
        Context::from_lookup(|name| std::env::var_os(name))
    }

    /// The context `lookup` describes; pure, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Context {
        let os = |var: &EnvVar| lookup(var.name).filter(|v| !v.is_empty());
        let text =
            |var: &EnvVar| os(var).map(|v| v.to_string_lossy().into_owned()).filter(|v| !v.trim().is_empty());
        let path = |var: &EnvVar| os(var).map(PathBuf::from);
        let duration = |var: &EnvVar, default: Duration, example: &'static str| match text(var) {
            None => Ok(default),
            Some(value) => parse_duration(var.name, &value).map_err(|_| ContextError::NotADuration {
                name: var.name,
                value: crate::base::diag::shown_value(&value),
                example,
            }),
        };

        let windows = |var: &EnvVar| path(var).filter(|_| cfg!(windows));
        let config_dir = path(&env_vars::CONFIG_DIR)
            .or_else(|| {
                path(&env_vars::XDG_CONFIG_HOME)
                    .or_else(|| windows(&env_vars::APPDATA))
                    .or_else(|| path(&env_vars::HOME).map(|home| home.join(".config")))
                    .map(|base| base.join("sfcred"))
            })
            .ok_or(ContextError::NoConfigDir);
        let cache_dir = path(&env_vars::CACHE_DIR)
            .or_else(|| {
                path(&env_vars::XDG_RUNTIME_DIR)
                    .or_else(|| path(&env_vars::XDG_CACHE_HOME))
                    .or_else(|| windows(&env_vars::LOCALAPPDATA))
                    .or_else(|| path(&env_vars::HOME).map(|home| home.join(".cache")))
                    .map(|base| base.join("sfcred"))
            })
            .ok_or(ContextError::NoCacheDir);
        let home = match cfg!(windows) {
            true => path(&env_vars::USERPROFILE).or_else(|| path(&env_vars::HOME)),
            false => path(&env_vars::HOME),
        };
        let store_override = match text(&env_vars::STORE) {
            None => Ok(None),
            Some(value) => value.trim().parse().map(Some).map_err(|_| ContextError::UnknownStore {
                name: env_vars::STORE.name,
                value: crate::base::diag::shown_value(&value),
            }),
        };
        let environment_profile = text(&env_vars::CLIENT_ID).map(|client_id| EnvironmentProfile {
            client_id: Some(SecretString::from(client_id.trim().to_owned())),
            username: text(&env_vars::USERNAME),
            private_key: text(&env_vars::PRIVATE_KEY).map(SecretString::from),
            private_key_file: text(&env_vars::PRIVATE_KEY_FILE).map(PathBuf::from),
            pkcs11_uri: text(&env_vars::PKCS11_URI).map(UriText),
            login_url: text(&env_vars::LOGIN_URL),
            sandbox: text(&env_vars::SANDBOX).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false")),
        });
        Context {
            config_dir,
            home,
            trust: TrustRoots { file: path(&env_vars::SSL_CERT_FILE), dir: path(&env_vars::SSL_CERT_DIR) },
            cache_dir,
            store_override,
            lock_wait: duration(&env_vars::LOCK_TIMEOUT, DEFAULT_LOCK_WAIT, "30s or 2m"),
            keychain_timeout: duration(&env_vars::KEYCHAIN_TIMEOUT, DEFAULT_KEYCHAIN_TIMEOUT, "5s or 1m"),
            environment_profile,
            shared_cache: text(&env_vars::CACHE_URL).map(|urls| SharedCacheConfig {
                urls: urls
                    .split(',')
                    .map(|url| url.trim().to_owned())
                    .filter(|url| !url.is_empty())
                    .collect(),
                key: text(&env_vars::CACHE_KEY).map(SecretString::from),
            }),
            cache_key: text(&env_vars::CACHE_KEY).map(SecretString::from),
            pkcs11_pin: os(&env_vars::PKCS11_PIN)
                .map(|pin| SecretString::from(pin.to_string_lossy().into_owned())),
            no_color: os(&env_vars::NO_COLOR).is_some(),
            shell: text(&env_vars::SHELL),
            browser: text(&env_vars::BROWSER),
            exec_info: text(&env_vars::KUBERNETES_EXEC_INFO),
        }
    }

    pub fn config_dir(&self) -> Result<&PathBuf, ContextError> {
        self.config_dir.as_ref().map_err(Clone::clone)
    }

    pub fn cache_dir(&self) -> Result<&PathBuf, ContextError> {
        self.cache_dir.as_ref().map_err(Clone::clone)
    }

    /// The keychain to use for a profile that is set to `configured`.
    pub fn store_for(&self, configured: StoreKind) -> Result<StoreKind, ContextError> {
        Ok(self.store_override.clone()?.unwrap_or(configured))
    }

    pub fn lock_wait(&self) -> Result<Duration, ContextError> {
        self.lock_wait.clone()
    }

    pub fn keychain_timeout(&self) -> Result<Duration, ContextError> {
        self.keychain_timeout.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(vars: &[(&str, &str)]) -> Context {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Context::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into()))
    }

    #[test]
    fn directories_follow_xdg_and_the_overrides() {
        let ctx = context(&[("HOME", "/h")]);
        assert_eq!(ctx.config_dir().unwrap(), &PathBuf::from("/h/.config/sfcred"));
        assert_eq!(ctx.cache_dir().unwrap(), &PathBuf::from("/h/.cache/sfcred"));
        let ctx = context(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/u"), ("XDG_CONFIG_HOME", "/c")]);
        assert_eq!(ctx.config_dir().unwrap(), &PathBuf::from("/c/sfcred"));
        assert_eq!(ctx.cache_dir().unwrap(), &PathBuf::from("/run/u/sfcred"));
        let ctx =
            context(&[("SFCRED_CONFIG_DIR", "/s"), ("SFCRED_CACHE_DIR", "/t"), ("XDG_RUNTIME_DIR", "/r")]);
        assert_eq!((ctx.config_dir().unwrap(), ctx.cache_dir().unwrap()), (&"/s".into(), &"/t".into()));
        let ctx = context(&[]);
        assert_eq!(
            (ctx.config_dir(), ctx.cache_dir()),
            (Err(ContextError::NoConfigDir), Err(ContextError::NoCacheDir))
        );
    }

    #[test]
    fn a_bad_value_is_an_error_only_when_used() {
        let ctx = context(&[("HOME", "/h"), ("SFCRED_LOCK_TIMEOUT", "soon"), ("SFCRED_STORE", "vault")]);
        assert!(ctx.cache_dir().is_ok());
        assert_eq!(
            ctx.lock_wait().unwrap_err().to_string(),
            "SFCRED_LOCK_TIMEOUT=\"soon\" is not a duration of at most 24h"
        );
        assert!(matches!(ctx.store_for(StoreKind::Keyutils), Err(ContextError::UnknownStore { .. })));
        assert_eq!(ctx.keychain_timeout(), Ok(DEFAULT_KEYCHAIN_TIMEOUT));
        let ctx = context(&[("SFCRED_KEYCHAIN_TIMEOUT", "25h")]);
        assert!(ctx.keychain_timeout().is_err(), "a day at most");
    }

    #[test]
    fn the_store_override_wins() {
        let ctx = context(&[("SFCRED_STORE", "keyutils")]);
        assert_eq!(ctx.store_for(StoreKind::SecretService), Ok(StoreKind::Keyutils));
        assert_eq!(context(&[]).store_for(StoreKind::SecretService), Ok(StoreKind::SecretService));
    }

    #[test]
    fn the_environment_is_a_profile_only_with_a_client_id() {
        assert!(context(&[("SFCRED_USERNAME", "u")]).environment_profile.is_none());
        let env =
            context(&[("SFCRED_CLIENT_ID", "ck"), ("SFCRED_USERNAME", "u"), ("SFCRED_SANDBOX", "false")])
                .environment_profile
                .unwrap();
        assert_eq!((env.username.as_deref(), env.sandbox), (Some("u"), false));
        assert!(
            context(&[("SFCRED_CLIENT_ID", "ck"), ("SFCRED_SANDBOX", "1")])
                .environment_profile
                .unwrap()
                .sandbox
        );
    }
}

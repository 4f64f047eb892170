//! The settings file: a human-readable TOML file of profiles, with no secrets in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::profile::Profile;

const FILE_NAME: &str = "config.toml";
/// Hand-written settings for many profiles fit in a few KiB.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
const HEADER: &str = "# sfcred settings. Secrets are not here: they live in the OS keychain.\n\n";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid sfcred settings: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no profile named {name:?}")]
    UnknownProfile { name: String, known: Vec<String> },
    #[error("{path}: {reason}")]
    Untrusted { path: PathBuf, reason: String },
    #[error("{path} stayed locked for {}s", waited.as_secs())]
    LockTimeout { path: PathBuf, waited: std::time::Duration },
}

impl SettingsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SettingsError::Parse { .. } => Some("fix the file by hand, or remove it and log in again".into()),
            SettingsError::UnknownProfile { name, known } if known.is_empty() => {
                Some(format!("log in first: sfcred login --profile {name}"))
            }
            SettingsError::UnknownProfile { name, known } => Some(format!(
                "known profiles: {}; or log in: sfcred login --profile {name}",
                known.join(", ")
            )),
            SettingsError::Read { .. } | SettingsError::Write { .. } => {
                Some("check the path's permissions and free space".into())
            }
            SettingsError::Untrusted { path, .. } => Some(format!(
                "make it yours, and not writable by everyone: chown \"$(id -un)\" {0} && chmod o-w {0}",
                path.display()
            )),
            SettingsError::LockTimeout { .. } => Some(
                "another sfcred is changing the settings (a login, a logout, a key promotion); try again once \
                 it is done"
                    .into(),
            ),
        }
    }
}

/// How long a change of the settings waits for another's: changes take milliseconds.
pub const SETTINGS_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// All profiles, as kept in `config.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The profile a command uses without `--profile` (`sfcred use`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
    /// Keys `keygen` made for a profile not logged in yet, so that `profiles` lists them and
    /// `logout` removes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    keys: BTreeMap<String, KeyOnly>,
}

/// Where a key that no profile uses yet lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyOnly {
    pub store: crate::config::profile::StoreKind,
    /// The key on a token, instead of in the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<crate::keys::pkcs11_uri::Pkcs11Uri>,
}

impl Settings {
    /// Reads the settings in `dir`; a missing file is no profiles.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let path = dir.join(FILE_NAME);
        let bytes = match crate::stores::fs::read_trusted(&path, MAX_FILE_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Settings::default()),
            // Refused by read_trusted itself (an OS error has its code).
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && e.raw_os_error().is_none() => {
                return Err(SettingsError::Untrusted { path, reason: e.to_string() });
            }
            // Not a regular file, or far too large: not a settings file, which is a usage error.
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData) =>
            {
                return Err(SettingsError::Parse { path, reason: e.to_string() });
            }
            Err(source) => return Err(SettingsError::Read { path, source }),
        };
        let text = String::from_utf8(bytes).map_err(|e| SettingsError::Parse {
            path: path.clone(),
            reason: format!("it is not UTF-8 text ({e})"),
        })?;
        Self::parse(&text).map_err(|reason| SettingsError::Parse { path, reason })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        // toml's own text quotes the offending line, which may hold a secret (a pin-value
        // typed in by hand): say where, and what is wrong, not what the line says.
        let mut settings: Settings = toml::from_str(text).map_err(|e| {
            let Some(span) = e.span() else { return e.message().to_owned() };
            let number = text[..span.start].matches('\n').count() + 1;
            // A table's header holds a profile's name, never a value: it is shown.
            let line = text.lines().nth(number - 1).unwrap_or_default().trim();
            match line.starts_with('[') {
                true => format!("line {number} ({line}): {}", e.message()),
                false => format!("line {number}: {}", e.message()),
            }
        })?;
        for (name, profile) in &mut settings.profiles {
            crate::config::profile::validate_profile_name(name).map_err(|e| e.to_string())?;
            // A PIN kept in a file others may back up or read is not used (pin-source names a
            // file meant for it); the rest of the file, and this profile, go on working.
            if let Some(uri) = profile.pkcs11.as_mut().filter(|uri| uri.pin_value.is_some()) {
                uri.pin_value = None;
                crate::base::diag::warn(&format!(
                    "ignoring the pin-value of profile {name:?} in the settings file: a PIN is not kept there; \
                     use pin-source=FILE or SFCRED_PKCS11_PIN, or log in again to keep it in the keychain"
                ));
            }
            profile.name = name.clone();
        }
        // Every name in the file is held to the same rule: each may become a file name.
        for name in settings.keys.keys().chain(settings.default.as_ref()) {
            crate::config::profile::validate_profile_name(name).map_err(|e| e.to_string())?;
        }
        Ok(settings)
    }

    /// Changes the settings file under its lock (`.config.lock` beside it, waited for at
    /// most [`SETTINGS_LOCK_WAIT`]): loaded,
    /// changed, saved, so that two processes changing it never lose each other's change.
    /// The OS releases the lock if the holder dies.
    pub fn update<T>(dir: &Path, change: impl FnOnce(&mut Settings) -> T) -> Result<T, SettingsError> {
        Settings::try_update(dir, |settings| Ok::<T, SettingsError>(change(settings)))
    }

    /// [`Settings::update`] with a change that may fail: a failed change saves nothing.
    pub fn try_update<T, E: From<SettingsError>>(
        dir: &Path,
        change: impl FnOnce(&mut Settings) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = dir.join(".config.lock");
        let write_error = |source| SettingsError::Write { path: path.clone(), source };
        crate::stores::fs::create_private_dir(dir).map_err(write_error)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let lock = options.open(&path).map_err(write_error)?;
        let _lock = match crate::stores::fs::lock_within(lock, SETTINGS_LOCK_WAIT, || {}) {
            Ok(lock) => lock,
            Err(crate::stores::fs::LockWait::Failed(source)) => return Err(write_error(source).into()),
            Err(crate::stores::fs::LockWait::TimedOut) => {
                return Err(SettingsError::LockTimeout { path, waited: SETTINGS_LOCK_WAIT }.into());
            }
        };
        let mut settings = Settings::load(dir)?;
        let changed = change(&mut settings)?;
        settings.save(dir)?;
        Ok(changed)
    }

    /// Writes the settings atomically: a reader sees the old file or the new one.
    /// A `config.toml` that is a symbolic link (a dotfiles checkout, say) is written through:
    /// its target is replaced atomically, and the link stays.
    pub fn save(&self, dir: &Path) -> Result<(), SettingsError> {
        let path = dir.join(FILE_NAME);
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink());
        let path = match is_link {
            true => std::fs::canonicalize(&path).map_err(|source| SettingsError::Write { path, source })?,
            false => path,
        };
        crate::stores::fs::write_atomically(&path, self.to_text().as_bytes())
            .map_err(|source| SettingsError::Write { path, source })
    }

    /// The file's text, as `save` writes it.
    pub fn to_text(&self) -> String {
        format!("{HEADER}{}", toml::to_string(self).expect("settings serialize to TOML"))
    }

    pub fn profile(&self, name: &str) -> Result<&Profile, SettingsError> {
        self.profiles.get(name).ok_or_else(|| SettingsError::UnknownProfile {
            name: name.to_owned(),
            known: self.profiles.keys().cloned().collect(),
        })
    }

    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    /// Adds the profile, replacing one of the same name (and a key made for it, which it
    /// uses now); returns the one replaced.
    pub fn put(&mut self, profile: Profile) -> Option<Profile> {
        self.keys.remove(&profile.name);
        self.profiles.insert(profile.name.clone(), profile)
    }

    /// Records a key `keygen` made for `name`, a profile not logged in yet.
    pub fn put_key_only(&mut self, name: &str, key: KeyOnly) {
        if !self.profiles.contains_key(name) {
            self.keys.insert(name.to_owned(), key);
        }
    }

    /// The keys made for profiles that are not logged in, by profile name.
    pub fn keys_only(&self) -> impl Iterator<Item = (&String, &KeyOnly)> {
        self.keys.iter()
    }

    /// Removes the profile; when it was the default, no profile is the default then.
    pub fn remove(&mut self, name: &str) -> Option<Profile> {
        if self.default.as_deref() == Some(name) {
            self.default = None;
        }
        self.keys.remove(name);
        self.profiles.remove(name)
    }

    /// The profile `sfcred use` chose, if any.
    pub fn default_profile(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Makes `name`, which must be a profile here, the default.
    pub fn set_default(&mut self, name: &str) -> Result<(), SettingsError> {
        self.profile(name)?;
        self.default = Some(name.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[profiles.prod]
username = "ops@acme.com"
login_url = "https://acme.my.salesforce.com"
audience = "https://login.salesforce.com"
ttl = "2h"
store = "keyutils"
"#;

    #[test]
    fn parses_and_names_profiles() {
        let settings = Settings::parse(SAMPLE).unwrap();
        let prod = settings.profile("prod").unwrap();
        assert_eq!(prod.name, "prod");
        assert_eq!(prod.ttl.as_secs(), 7200);
        assert_eq!(prod.connect_timeout, crate::config::profile::DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = Settings::parse(&SAMPLE.replace("ttl", "tll")).unwrap_err();
        assert!(err.contains("tll"), "{err}");
        let err = Settings::parse(&SAMPLE.replace("https://acme", "http://acme")).unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        let err = Settings::parse(&format!("{SAMPLE}\n[profiles.prod]\nusername = \"x\"\n")).unwrap_err();
        assert!(err.contains("prod"), "{err}");
        let err = Settings::parse(&SAMPLE.replace("ttl = \"2h\"", "ttl = \"1m\"")).unwrap_err();
        assert!(err.contains("3m at least"), "{err}");
    }

    #[test]
    fn every_name_in_the_file_is_a_profile_name() {
        let err = Settings::parse(&format!("default = \"../x\"\n{SAMPLE}")).unwrap_err();
        assert!(err.contains("../x"), "{err}");
        let key_only = "[keys.\"a/b\"]\nstore = \"keyutils\"\n";
        let err = Settings::parse(&format!("{SAMPLE}{key_only}")).unwrap_err();
        assert!(err.contains("a/b"), "{err}");
    }

    #[test]
    fn a_parse_error_says_where_not_what_the_line_holds() {
        let text = format!("{SAMPLE}pkcs11 = \"pkcs11:token=t?pin-value=86311475\" oops\n");
        let err = Settings::parse(&text).unwrap_err();
        assert!(!err.contains("86311475"), "{err}");
        assert!(err.starts_with(&format!("line {}:", text.lines().count())), "{err}");
    }

    #[test]
    fn round_trips_through_text() {
        let settings = Settings::parse(SAMPLE).unwrap();
        let text = toml::to_string(&settings).unwrap();
        let again = Settings::parse(&text).unwrap();
        assert_eq!(settings.profile("prod").unwrap(), again.profile("prod").unwrap());
    }

    #[test]
    fn unknown_profile_lists_known_ones() {
        let settings = Settings::parse(SAMPLE).unwrap();
        let err = settings.profile("dev").unwrap_err();
        assert!(err.hint().unwrap().contains("prod"));
    }
}

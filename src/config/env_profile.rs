//! A whole profile from environment variables, for CI jobs and containers that have no
//! keychain: `SFCRED_CLIENT_ID`, `SFCRED_USERNAME`, `SFCRED_PRIVATE_KEY` (PEM text) or
//! `SFCRED_PRIVATE_KEY_FILE`, and `SFCRED_LOGIN_URL` or `SFCRED_SANDBOX=1`. When
//! `SFCRED_CLIENT_ID` is set, it is the profile; the settings file is not read.

use secrecy::{ExposeSecret, SecretString};

use crate::config::context::EnvironmentProfile;
use crate::config::env_vars;
use crate::config::profile::{
    self, CacheKind, InvalidSetting, LoginUrl, PRODUCTION_LOGIN_URL, Profile, SANDBOX_LOGIN_URL, StoreKind,
};
use crate::keys::private_key::{self, KeyError, RsaPrivateKey};
use crate::keys::signer::{KeyOrigin, SoftwareKey};

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{name} is not set")]
    Missing { name: &'static str },
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl EnvironmentError {
    pub fn hint(&self) -> Option<String> {
        match self {
            EnvironmentError::Missing { name } => Some(format!(
                "set {name} too: a profile from the environment needs SFCRED_CLIENT_ID, SFCRED_USERNAME and \
                 SFCRED_PRIVATE_KEY, SFCRED_PRIVATE_KEY_FILE or SFCRED_PKCS11_URI (docs/ci.md)"
            )),
            EnvironmentError::Invalid(e) => Some(e.hint()),
            EnvironmentError::Key(e) => e.hint(),
        }
    }
}

/// The environment's profile.
pub fn profile(vars: &EnvironmentProfile) -> Result<Profile, EnvironmentError> {
    let username =
        vars.username.clone().ok_or(EnvironmentError::Missing { name: env_vars::USERNAME.name })?;
    let login_url = match (&vars.login_url, vars.sandbox) {
        (Some(url), _) => LoginUrl::parse(url)?,
        (None, true) => LoginUrl::parse(SANDBOX_LOGIN_URL)?,
        (None, false) => LoginUrl::parse(PRODUCTION_LOGIN_URL)?,
    };
    let audience = profile::default_audience(&login_url).to_owned();
    let pkcs11 = match &vars.pkcs11_uri {
        Some(text) => Some(profile::parse_pkcs11_uri("SFCRED_PKCS11_URI", &text.0)?),
        None => None,
    };
    // Named after who, where and for which app, so that a changed environment (another
    // job's app on the same runner, say) never reuses another's token.
    let client_id = vars.client_id.as_ref().map(|id| secrecy::ExposeSecret::expose_secret(id).to_owned());
    let name = identity_name(&[&username, login_url.as_str(), &audience, client_id.as_deref().unwrap_or("")]);
    Ok(Profile {
        name,
        username,
        login_url,
        audience,
        ttl: profile::DEFAULT_TTL,
        store: StoreKind::Environment,
        pkcs11,
        cache: CacheKind::File,
        cache_url: None,
        instance_url: None,
        connect_timeout: profile::DEFAULT_CONNECT_TIMEOUT,
        request_timeout: profile::DEFAULT_REQUEST_TIMEOUT,
        rotation_grace: profile::DEFAULT_ROTATION_GRACE,
    })
}

/// The consumer key from the environment.
pub fn client_id(vars: &EnvironmentProfile) -> Result<SecretString, EnvironmentError> {
    vars.client_id.clone().ok_or(EnvironmentError::Missing { name: env_vars::CLIENT_ID.name })
}

/// The environment's key, as a signer.
pub fn signer(vars: &EnvironmentProfile) -> Result<SoftwareKey, EnvironmentError> {
    let (key, variable) = match (&vars.private_key, &vars.private_key_file) {
        (Some(pem), _) => {
            let name = env_vars::PRIVATE_KEY.name;
            (RsaPrivateKey::from_pem(pem.expose_secret().as_bytes(), name)?, name)
        }
        (None, Some(path)) => (private_key::read_key_file(path)?, env_vars::PRIVATE_KEY_FILE.name),
        (None, None) => {
            return Err(EnvironmentError::Missing {
                name: "SFCRED_PRIVATE_KEY or SFCRED_PRIVATE_KEY_FILE (or SFCRED_PKCS11_URI)",
            });
        }
    };
    Ok(SoftwareKey::new(key, KeyOrigin::Environment(variable)))
}

/// `env-` and [`crate::base::digest::fields_hex`] of the fields.
fn identity_name(fields: &[&str]) -> String {
    format!("env-{}", crate::base::digest::fields_hex(fields))
}

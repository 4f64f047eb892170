//! A whole profile from environment variables, for CI jobs and containers that have no
//! keychain: `SFCRED_CLIENT_ID`, `SFCRED_USERNAME`, `SFCRED_PRIVATE_KEY` (PEM text) or
//! `SFCRED_PRIVATE_KEY_FILE`, and `SFCRED_LOGIN_URL` or `SFCRED_SANDBOX=1`. When
//! `SFCRED_CLIENT_ID` is set, it is the profile; the settings file is not read.

use std::path::Path;

use secrecy::SecretString;

use crate::cache::CacheKind;
use crate::error::Error;
use crate::keychain::{ProfileSecrets, StoreKind};
use crate::private_key::RsaPrivateKey;
use crate::profile::{self, LoginUrl, PRODUCTION_LOGIN_URL, Profile, SANDBOX_LOGIN_URL};

pub const CLIENT_ID: &str = "SFCRED_CLIENT_ID";
pub const USERNAME: &str = "SFCRED_USERNAME";
pub const PRIVATE_KEY: &str = "SFCRED_PRIVATE_KEY";
pub const PRIVATE_KEY_FILE: &str = "SFCRED_PRIVATE_KEY_FILE";
pub const LOGIN_URL: &str = "SFCRED_LOGIN_URL";
pub const SANDBOX: &str = "SFCRED_SANDBOX";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The environment's profile, when `SFCRED_CLIENT_ID` is set.
pub fn profile() -> Result<Option<Profile>, Error> {
    if var(CLIENT_ID).is_none() {
        return Ok(None);
    }
    let username = var(USERNAME).ok_or(Error::MissingEnv { name: USERNAME })?;
    let sandbox = var(SANDBOX).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let login_url = match (var(LOGIN_URL), sandbox) {
        (Some(url), _) => LoginUrl::parse(&url)?,
        (None, true) => LoginUrl::parse(SANDBOX_LOGIN_URL)?,
        (None, false) => LoginUrl::parse(PRODUCTION_LOGIN_URL)?,
    };
    let audience = profile::default_audience(&login_url).to_owned();
    // Named after who and where, so that a changed environment never reuses a token.
    let name = format!("env-{:016x}", fnv1a(&format!("{username}\n{login_url}\n{audience}")));
    Ok(Some(Profile {
        name,
        username,
        login_url,
        audience,
        ttl: profile::DEFAULT_TTL,
        store: StoreKind::Environment,
        cache: CacheKind::File,
        instance_url: None,
        connect_timeout: profile::DEFAULT_CONNECT_TIMEOUT,
        request_timeout: profile::DEFAULT_REQUEST_TIMEOUT,
    }))
}

/// The consumer key and private key from the environment.
pub fn secrets() -> Result<ProfileSecrets, Error> {
    let client_id = var(CLIENT_ID).ok_or(Error::MissingEnv { name: CLIENT_ID })?;
    let private_key = match (var(PRIVATE_KEY), var(PRIVATE_KEY_FILE)) {
        (Some(pem), _) => RsaPrivateKey::from_pem(pem.as_bytes(), PRIVATE_KEY)?,
        (None, Some(path)) => crate::login::read_key_file(Path::new(&path))?,
        (None, None) => {
            return Err(Error::MissingEnv { name: "SFCRED_PRIVATE_KEY or SFCRED_PRIVATE_KEY_FILE" });
        }
    };
    Ok(ProfileSecrets { private_key, client_id: SecretString::from(client_id.trim().to_owned()) })
}

/// FNV-1a: a stable, dependency-free hash for naming, not for security.
fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_is_stable() {
        assert_eq!(super::fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}

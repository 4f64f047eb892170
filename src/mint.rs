//! Minting: the keychain's secrets signed into an assertion and exchanged for a token.

use std::time::SystemTime;

use secrecy::ExposeSecret;

use crate::assertion::{Claims, random_jti};
use crate::error::Error;
use crate::exchange;
use crate::keychain::ProfileSecrets;
use crate::profile::Profile;
use crate::token::Token;

pub fn mint(profile: &Profile, secrets: &ProfileSecrets, now: SystemTime) -> Result<Token, Error> {
    crate::diag::verbose(|| {
        format!(
            "minting for profile {:?}: sub={} aud={} login={}",
            profile.name, profile.username, profile.audience, profile.login_url
        )
    });
    if let (Ok(settings_dir), Ok(cache_dir)) = (crate::settings::settings_dir(), crate::cache::cache_dir()) {
        crate::certificate::warn_if_expiring(&settings_dir, &cache_dir, &profile.name, now);
    }
    let claims = Claims::new(
        secrets.client_id.expose_secret(),
        &profile.username,
        &profile.audience,
        now,
        random_jti(),
    );
    let assertion = claims.sign(&secrets.private_key).map_err(Error::Sign)?;
    let response = exchange::request_token(profile, &assertion)?;
    Ok(Token::from_response(response, profile, now))
}

/// Mints a token for a saved profile, reading its secrets from its keychain.
pub fn mint_for_profile(profile: &Profile, now: SystemTime) -> Result<Token, Error> {
    let secrets = match crate::keychain::StoreKind::from_env_or(profile.store)? {
        crate::keychain::StoreKind::Environment => crate::environment::secrets()?,
        store => crate::keychain::Keychain::open(store)?.read(&profile.name)?,
    };
    mint(profile, &secrets, now)
}

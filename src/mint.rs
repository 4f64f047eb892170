//! Minting: a profile's credentials signed into an assertion and exchanged for a token.
//! During a key rotation, an assertion Salesforce refuses as invalid is signed again with
//! the rotation's other key.

use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::assertion::{Claims, random_jti};
use crate::context::Context;
use crate::error::Error;
use crate::exchange::{self, TokenResponse};
use crate::profile::Profile;
use crate::rotation::{Rotation, Slot};
use crate::signer::Signer;
use crate::token::Token;

/// Signs an assertion for `profile` with `signer` and exchanges it for a token.
pub fn mint(
    ctx: &Context,
    profile: &Profile,
    client_id: &SecretString,
    signer: &dyn Signer,
    now: SystemTime,
) -> Result<Token, Error> {
    crate::diag::verbose(|| {
        format!(
            "minting for profile {:?}: sub={} aud={} login={} key in {}",
            profile.name,
            profile.username,
            profile.audience,
            profile.login_url,
            signer.location()
        )
    });
    if let (Ok(settings_dir), Ok(cache_dir)) = (ctx.config_dir(), ctx.cache_dir()) {
        crate::certificate::warn_if_expiring(settings_dir, cache_dir, &profile.name, now);
    }
    let claims =
        Claims::new(client_id.expose_secret(), &profile.username, &profile.audience, now, random_jti());
    let assertion = claims.sign(signer)?;
    let response = exchange::request_token(profile, &ctx.trust, &assertion)?;
    Ok(token_from(response, profile, now))
}

/// A token, and which of the profile's keys Salesforce accepted for it.
pub struct Minted {
    pub token: Token,
    pub key: Slot,
    /// The profile's rotation as it was when minting began.
    pub rotation: Option<Rotation>,
}

/// Mints with the profile's own credentials (its keychain, the environment, or a token),
/// trying a rotation's other key when Salesforce refuses the current one's assertion.
pub fn mint_for_profile(ctx: &Context, profile: &Profile, now: SystemTime) -> Result<Minted, Error> {
    let credentials = crate::credentials::for_profile(ctx, profile)?;
    let rotation = credentials.rotation;
    match mint(ctx, profile, &credentials.client_id, credentials.signer.as_ref(), now) {
        Ok(token) => Ok(Minted { token, key: Slot::Current, rotation }),
        Err(error) if error.is_invalid_assertion() => {
            let Some(slot) = rotation.as_ref().and_then(|r| r.fallback(now)) else { return Err(error) };
            crate::diag::verbose(|| format!("{error}; signing again with the {} key", slot.name()));
            let keychain = credentials.keychain.as_ref();
            let signer = crate::credentials::signer_in(ctx, profile, rotation.as_ref(), keychain, slot)?;
            let token = mint(ctx, profile, &credentials.client_id, signer.as_ref(), now)?;
            Ok(Minted { token, key: slot, rotation })
        }
        Err(error) => Err(error),
    }
}

/// `requested_at` is taken before the request, so the expiry estimate errs early.
fn token_from(response: TokenResponse, profile: &Profile, requested_at: SystemTime) -> Token {
    Token {
        access_token: response.access_token,
        token_type: response.token_type,
        instance_url: response.instance_url,
        id: response.id,
        scope: response.scope,
        issued_at: requested_at,
        expires_at: requested_at + profile.ttl,
        username: profile.username.clone(),
        profile: profile.name.clone(),
    }
}

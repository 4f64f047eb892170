//! Minting: a profile's credentials signed into an assertion and exchanged for a token.

use std::time::SystemTime;

use secrecy::ExposeSecret;

use crate::assertion::{Claims, random_jti};
use crate::context::Context;
use secrecy::SecretString;

use crate::error::Error;
use crate::exchange::{self, TokenResponse};
use crate::profile::Profile;
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
    let response = exchange::request_token(profile, &assertion)?;
    Ok(token_from(response, profile, now))
}

/// Mints with the profile's own credentials (its keychain, or the environment).
pub fn mint_for_profile(ctx: &Context, profile: &Profile, now: SystemTime) -> Result<Token, Error> {
    let credentials = crate::credentials::for_profile(ctx, profile)?;
    mint(ctx, profile, &credentials.client_id, credentials.signer.as_ref(), now)
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

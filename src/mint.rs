//! Minting: a profile's credentials signed into an assertion and exchanged for a token,
//! once. Trying a rotation's other key is the rotation's business ([`crate::rotation::txn`]).

use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::config::context::Context;
use crate::config::profile::Profile;
use crate::error::Error;
use crate::keys::signer::Signer;
use crate::salesforce::assertion::{Claims, random_jti};
use crate::salesforce::exchange::{self, TokenResponse};
use crate::token::{Binding, Token};

/// A token, and Salesforce's clock when it issued it (if it said).
pub struct Minted {
    pub token: Token,
    pub salesforce_time: Option<SystemTime>,
}

/// Signs an assertion for `profile` with `signer` and exchanges it for a token.
pub fn mint(
    ctx: &Context,
    profile: &Profile,
    client_id: &SecretString,
    signer: &dyn Signer,
    now: SystemTime,
) -> Result<Minted, Error> {
    crate::base::diag::verbose(|| {
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
        crate::keys::certificate::warn_if_expiring(settings_dir, cache_dir, &profile.name, now);
    }
    let claims =
        Claims::new(client_id.expose_secret(), &profile.username, &profile.audience, now, random_jti());
    let assertion = claims.sign(signer)?;
    let response = exchange::request_token(profile, &ctx.trust, &assertion)?;
    let salesforce_time = response.salesforce_time();
    Ok(Minted { token: token_from(response, profile, client_id, now), salesforce_time })
}

/// `requested_at` is taken before the request, so the expiry estimate errs early.
fn token_from(
    response: TokenResponse,
    profile: &Profile,
    client_id: &SecretString,
    requested_at: SystemTime,
) -> Token {
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
        binding: binding(profile, client_id.expose_secret()),
    }
}

/// What a token for `profile` and this consumer key is bound to.
pub fn binding(profile: &Profile, client_id: &str) -> Binding {
    Binding {
        login_url: profile.login_url.as_str().to_owned(),
        client_digest: crate::base::digest::client_digest(client_id),
    }
}

//! Minting: a profile's credentials signed into an assertion and exchanged for a token,
//! once. Trying a rotation's other key is the rotation's business ([`crate::rotation::txn`]).

use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::config::context::Context;
use crate::config::profile::Profile;
use crate::error::Error;
use crate::keys::signer::Signer;
use crate::salesforce::access_token;
use crate::salesforce::assertion::{Claims, random_jti};
use crate::salesforce::exchange::{self, TokenResponse};
use crate::token::{Binding, Expiry, Format, Token};

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
    let response = exchange::request_token(profile, &ctx.trust, &assertion);
    // Salesforce counts every login it answers, refused ones too.
    if matches!(&response, Ok(_) | Err(exchange::ExchangeError::Rejected { .. })) {
        count_login(ctx, profile, client_id, now);
    }
    let response = response?;
    let salesforce_time = response.salesforce_time();
    Ok(Minted { token: token_from(response, profile, client_id, now, salesforce_time), salesforce_time })
}

/// Counts the login in the profile's user's budget; says the count with `-v`, and warns
/// past 80 % of Salesforce's hourly limit. A count that cannot be kept stops no mint.
fn count_login(ctx: &Context, profile: &Profile, client_id: &SecretString, now: SystemTime) {
    use crate::stores::login_budget::{LOGIN_LIMIT, record};
    let Ok(cache_dir) = ctx.cache_dir() else { return };
    let fleet = fleet_logins(ctx, profile, client_id, now);
    let whose = if fleet.is_some() { "the fleet" } else { "this machine" };
    match record(cache_dir, &profile.username, profile.login_url.as_str(), now, fleet) {
        Ok((count, warn)) => {
            crate::base::diag::verbose(|| {
                format!(
                    "logins this hour for {} at {} from {whose}: {count} of {LOGIN_LIMIT}",
                    profile.username, profile.login_url
                )
            });
            if warn {
                crate::base::diag::warn(&format!(
                    "{count} logins this hour for {} at {} from {whose}, of the {LOGIN_LIMIT} Salesforce \
                     allows: past that it refuses every login (LOGIN_RATE_EXCEEDED) for up to an hour; look for a \
                     loop, or callers that do not share the cache",
                    profile.username, profile.login_url
                ));
            }
        }
        Err(e) => crate::base::diag::verbose(|| format!("the login was not counted: {e}")),
    }
}

/// The fleet's logins this hour, counted in its shared cache, when it has one that answers.
fn fleet_logins(ctx: &Context, profile: &Profile, client_id: &SecretString, now: SystemTime) -> Option<u32> {
    use crate::stores::shared::{Identity, Keys, Shared};
    let config = crate::credentials::shared_cache(ctx, profile).ok()??;
    let mut shared = Shared::connect(&config).ok()?;
    let keys = Keys::of(&Identity {
        login_url: profile.login_url.as_str(),
        client_id: client_id.expose_secret(),
        username: &profile.username,
        audience: &profile.audience,
    });
    shared.count_login(&keys, now).map_err(|e| crate::base::diag::verbose(|| format!("{e}"))).ok()
}

/// `requested_at` is taken before the request, so the expiry errs early.
fn token_from(
    response: TokenResponse,
    profile: &Profile,
    client_id: &SecretString,
    requested_at: SystemTime,
    salesforce_time: Option<SystemTime>,
) -> Token {
    let times = access_token::times(response.access_token.expose_secret(), response.token_format.as_deref());
    let (expires_at, expiry) = access_token::expiry(times, salesforce_time, requested_at, profile.ttl);
    if times.is_some() && expiry == Expiry::Estimated {
        crate::base::diag::warn(&format!(
            "Salesforce issued a JWT-based token whose exp is not after its issue; trusting it for the \
             profile's ttl ({}) instead",
            crate::config::profile::format_duration(profile.ttl)
        ));
    }
    crate::base::diag::verbose(|| match expiry {
        Expiry::Token => {
            format!("a JWT-based token: it expires at {} by its exp", crate::token::rfc3339(expires_at))
        }
        Expiry::Estimated => format!(
            "an opaque token: trusted for the profile's ttl ({})",
            crate::config::profile::format_duration(profile.ttl)
        ),
    });
    Token {
        access_token: response.access_token,
        token_type: response.token_type,
        instance_url: response.instance_url,
        id: response.id,
        scope: response.scope,
        issued_at: requested_at,
        expires_at,
        username: profile.username.clone(),
        profile: profile.name.clone(),
        format: Format {
            token_format: response.token_format,
            api_instance_url: response.api_instance_url,
            expiry,
        },
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

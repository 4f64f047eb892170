//! Where a token request starts: serve the cached token when it is good enough,
//! otherwise take the profile's lock, look again, and mint only if still needed, so
//! that any number of simultaneous callers cause one request to Salesforce.
//!
//! The hit path (file cache) checks the cache directory, reads the cache file and
//! returns: no keychain, no network, no async runtime. Everything heavier sits behind
//! the lock, in [`crate::mint`].

use std::time::{Duration, SystemTime};

use crate::config::context::Context;
use crate::config::profile::{Profile, StoreKind};
use crate::error::{Error, ErrorClass};
use crate::keys::pkcs11::Pkcs11Error;
use crate::rotation::txn::{ProfileLock, RotationTxn, lock_profile};
use secrecy::ExposeSecret;

use crate::stores::cache::{self, Failure, FileCache};
use crate::stores::shared::{Identity, Keys, Shared, SharedError};
use crate::stores::tokens::{minted_for, token_cache};
use crate::token::{Expiry, Need, Token, UnixMillis, rfc3339};

/// How long a failed mint is remembered: callers queued on the lock, and those arriving
/// just after, get its answer instead of each asking Salesforce again.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(5);
/// Salesforce counts logins per user per hour: after "login rate exceeded", wait longer.
pub const RATE_LIMIT_MEMORY: Duration = Duration::from_secs(5 * 60);

/// A token for `profile` that meets `need`. `clock` is read again after waiting.
///
/// When Salesforce or the network is unavailable (not when Salesforce refuses), a cached
/// token that has not expired is served with a warning, even if it is shorter-lived than
/// `need` asks; never for a forced refresh.
pub fn token(
    ctx: &Context,
    profile: &Profile,
    need: Need,
    clock: &dyn Fn() -> SystemTime,
) -> Result<Token, Error> {
    let asked_at = clock();
    // A forced refresh is satisfied by a token minted after the caller asked, so a crowd
    // of --refresh callers still causes one request.
    let not_before = need.refresh.then_some(asked_at);
    let usable = |token: &Token, now| cache::usable(token, now, need.min_valid, not_before, profile.ttl);
    let cache = token_cache(ctx, profile)?;
    let load = || -> Result<Option<Token>, Error> {
        Ok(match &cache {
            Some(cache) => cache.load(&profile.name)?.filter(|token| minted_for(ctx, profile, token)),
            None => None,
        })
    };
    let first = load()?;
    // When the profile's tokens are known to live no longer than min_valid, no mint can do
    // better, so none is spent.
    if let Some((lifetime, expiry)) =
        cache::known_lifetime(first.as_ref(), profile.ttl, asked_at, need.refresh, cache.is_some())
    {
        refuse_if_too_short(lifetime, expiry, profile, need.min_valid)?;
    }
    if let Some(token) = first
        && usable(&token, asked_at)
    {
        crate::base::diag::verbose(|| {
            let left = crate::config::profile::format_duration(Duration::from_secs(
                token.remaining(asked_at).as_secs(),
            ));
            format!("a cached token of profile {:?}, valid for {left} more", profile.name)
        });
        return Ok(token);
    }
    let files = FileCache::new(ctx.cache_dir()?.clone());
    let lock = lock_profile(ctx, &profile.name)?;
    let cached = load()?;
    let now = clock();
    if let Some(token) = &cached
        && usable(token, now)
    {
        return Ok(cached.expect("just matched"));
    }
    let fallback =
        |error| if need.refresh { Err(error) } else { serve_through_outage(profile, cached, now, error) };
    if !need.refresh
        && let Some(failure) = files.read_failure(&profile.name).filter(|f| f.stands_at(now))
    {
        return fallback(remembered(failure, now));
    }
    let mut rotating = false;
    let minted = {
        let mut mint = || mint_locked(ctx, profile, &lock, clock, &mut rotating);
        match fleet(ctx, profile) {
            Some((shared, keys)) => {
                through_fleet(ctx, profile, shared, &keys, &|t| usable(t, clock()), clock, mint)
            }
            None => mint(),
        }
    };
    match minted {
        Ok(token) => {
            files.clear_failure(&profile.name);
            if let Some(cache) = &cache
                && let Err(e) = cache.save(&token)
            {
                crate::base::diag::warn(&format!("the new token was not cached: {e}"));
            }
            // The new token may live shorter than the caller needs (a JWT-based token's own
            // lifetime, or the ttl): it is cached, so the next call refuses without a mint.
            if !usable(&token, clock()) {
                refuse_if_too_short(
                    cache::lifetime(&token, profile.ttl),
                    token.format.expiry,
                    profile,
                    need.min_valid,
                )?;
            }
            Ok(token)
        }
        Err(error) => {
            // During a rotation an invalid assertion is the certificate spreading: the next
            // caller may well succeed, so it is not kept from trying.
            if !(rotating && error.is_invalid_assertion())
                && let Some(failure) = failure_to_remember(&error, now)
                && let Err(e) = files.write_failure(&profile.name, &failure)
            {
                crate::base::diag::warn(&format!("the failure was not remembered: {e}"));
            }
            fallback(error)
        }
    }
}

/// A usage error when tokens that live `lifetime` (a JWT-based token's own, else the
/// profile's ttl) cannot stay valid for `min_valid`.
fn refuse_if_too_short(
    lifetime: Duration,
    expiry: Expiry,
    profile: &Profile,
    min_valid: Duration,
) -> Result<(), Error> {
    match cache::lifetime_serves(lifetime, min_valid) {
        true => Ok(()),
        false => Err(Error::MinValidTooLong {
            asked: format!("--min-valid {}", crate::config::profile::format_duration(min_valid)),
            min_valid,
            ttl: lifetime,
            profile: profile.name.clone(),
            by_exp: expiry == Expiry::Token,
        }),
    }
}

/// Drops the profile's cached token, for a caller that saw it rejected: this machine's copy,
/// and the fleet's when the fleet holds the same token.
pub fn invalidate(ctx: &Context, profile: &Profile) -> Result<(), Error> {
    // Read only where a fleet may hold it: reading a keychain cache can wait or prompt.
    let shares = ctx.shared_cache.is_some() || profile.cache == crate::config::profile::CacheKind::Redis;
    let dropped = shares.then(|| crate::stores::tokens::cached(ctx, profile).ok().flatten()).flatten();
    crate::stores::tokens::invalidate(ctx, profile)?;
    if let Some(token) = dropped {
        forget_in_fleet(ctx, profile, &token);
    }
    Ok(())
}

/// Takes `token` out of the fleet's shared cache, if it is the one held there, so that no
/// machine is served it again; a shared cache out of reach is a warning.
pub fn forget_in_fleet(ctx: &Context, profile: &Profile, token: &Token) {
    let Some((mut shared, keys)) = fleet(ctx, profile) else { return };
    if let Err(e) = shared.forget(&keys, token) {
        crate::base::diag::warn(&format!(
            "{e}; the fleet's copy of the token stays, and other machines are served it until it expires"
        ));
    }
}

/// The fleet's shared cache and this profile's keys in it, when `SFCRED_CACHE_URL` or the
/// profile names one and it answers; else a warning, and this machine goes on alone.
fn fleet(ctx: &Context, profile: &Profile) -> Option<(Shared, Keys)> {
    let config = match crate::credentials::shared_cache(ctx, profile) {
        Ok(config) => config?,
        Err(e) => {
            crate::base::diag::warn(&format!("the shared cache: {e}; going on without it"));
            return None;
        }
    };
    let client_id = crate::credentials::client_id(ctx, profile).ok()?;
    let identity = Identity {
        login_url: profile.login_url.as_str(),
        client_id: client_id.expose_secret(),
        username: &profile.username,
        audience: &profile.audience,
    };
    match Shared::connect(&config) {
        Ok(shared) => Some((shared, Keys::of(&identity))),
        Err(e) => {
            crate::base::diag::warn(&format!("{e}; going on without it"));
            None
        }
    }
}

/// The fleet's token if it has one that will do; else its lock, a look again and one mint
/// for the whole fleet, kept there sealed. Waiting for another machine's mint is bounded by
/// the lock wait; any failure of the shared cache is a warning, and this machine mints.
fn through_fleet(
    ctx: &Context,
    profile: &Profile,
    mut shared: Shared,
    keys: &Keys,
    usable: &dyn Fn(&Token) -> bool,
    clock: &dyn Fn() -> SystemTime,
    mint: impl FnOnce() -> Result<Token, Error>,
) -> Result<Token, Error> {
    let alone = |e: SharedError| crate::base::diag::warn(&format!("{e}; minting on this machine"));
    let served = |token: Token| {
        crate::base::diag::verbose(|| {
            format!("the fleet's token, from the shared cache (valid until {})", rfc3339(token.expires_at))
        });
        Ok(token)
    };
    let deadline = std::time::Instant::now() + ctx.lock_wait().unwrap_or(Duration::from_secs(60));
    // The lock outlives a mint that takes its whole request timeout, and frees itself if its holder dies.
    let hold = profile.request_timeout * 2 + Duration::from_secs(5);
    let mut pause = Duration::from_millis(20);
    loop {
        match shared.get(keys) {
            Ok(Some(token)) if usable(&token) => return served(token),
            Ok(_) => {}
            Err(e) => {
                alone(e);
                return mint();
            }
        }
        match shared.try_lock(keys, hold) {
            Ok(Some(holder)) => {
                // Another machine may have put a token between the look and the lock.
                if let Ok(Some(token)) = shared.get(keys)
                    && usable(&token)
                {
                    let _ = shared.unlock(keys, &holder);
                    return served(token);
                }
                let minted = mint();
                if let Ok(token) = &minted
                    && let Err(e) = shared.put(keys, token, clock())
                {
                    crate::base::diag::warn(&format!("the new token was not shared with the fleet: {e}"));
                }
                // Other machines would wait for the lock to expire: an ACL without EVAL says so here.
                if let Err(e) = shared.unlock(keys, &holder) {
                    crate::base::diag::warn(&format!(
                        "{e}; the fleet's lock stays until it frees itself, in {}s",
                        hold.as_secs()
                    ));
                }
                return minted;
            }
            Ok(None) if std::time::Instant::now() + pause < deadline => {
                crate::base::diag::verbose(|| "waiting for another machine's mint".to_owned());
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            Ok(None) => {
                alone(SharedError::Redis {
                    url: shared.shown_url.clone(),
                    reason: "another machine held the fleet's lock for the whole lock wait".into(),
                });
                return mint();
            }
            Err(e) => {
                alone(e);
                return mint();
            }
        }
    }
}

/// Mints under the profile's lock: an environment profile with its one key, a saved one
/// through its rotation's transaction (which tries a rotation's other key and keeps its
/// books). `rotating` says whether a rotation had two keys, so that a refusal is taken for
/// the certificate spreading.
pub fn mint_locked(
    ctx: &Context,
    profile: &Profile,
    lock: &ProfileLock,
    clock: &dyn Fn() -> SystemTime,
    rotating: &mut bool,
) -> Result<Token, Error> {
    if profile.store == StoreKind::Environment {
        let credentials = crate::credentials::for_profile(ctx, profile)?;
        let signer = credentials.signer.as_ref();
        return Ok(crate::mint::mint(ctx, profile, &credentials.client_id, signer, clock())?.token);
    }
    let mut txn = RotationTxn::for_mint(ctx, profile, lock)?;
    *rotating = txn.state().fallback().is_some();
    txn.mint(clock)
}

/// A cached token that has not expired, served through an outage with a warning; else the error.
fn serve_through_outage(
    profile: &Profile,
    cached: Option<Token>,
    now: SystemTime,
    error: Error,
) -> Result<Token, Error> {
    match cached {
        Some(token)
            if error.class() == ErrorClass::Unavailable
                && cache::usable(&token, now, Duration::ZERO, None, profile.ttl) =>
        {
            crate::base::diag::warn(&format!(
                "{error}; serving the cached token of profile {:?}, valid until {}",
                profile.name,
                rfc3339(token.expires_at)
            ));
            Ok(token)
        }
        _ => Err(error),
    }
}

/// What to remember of a failed mint: Salesforce's refusals and outages, which another
/// request would meet again; not a local fault (a locked keychain, a bad setting).
pub fn failure_to_remember(error: &Error, now: SystemTime) -> Option<Failure> {
    let class = error.class();
    // A token counts wrong PINs and locks itself after a few: each queued caller must not
    // spend one. Remembered as long as a rate limit; a person retries with --refresh.
    let wrong_pin =
        matches!(error, Error::Pkcs11(Pkcs11Error::PinIncorrect { .. } | Pkcs11Error::PinLocked { .. }));
    // An untrusted certificate is this machine's trust store, fixed here and retried at once.
    let local = matches!(
        error,
        Error::Exchange(
            crate::salesforce::exchange::ExchangeError::Untrusted { .. }
                | crate::salesforce::exchange::ExchangeError::TrustRoots { .. }
        )
    );
    if !wrong_pin && (local || !matches!(class, ErrorClass::Rejected | ErrorClass::Unavailable)) {
        return None;
    }
    let memory = if wrong_pin || error.is_login_rate_exceeded() { RATE_LIMIT_MEMORY } else { FAILURE_MEMORY };
    Some(Failure {
        at: UnixMillis::from(now),
        until: UnixMillis::from(now + memory),
        kind: class.kind().to_owned(),
        message: error.to_string(),
        hint: error.hint(),
    })
}

/// The error a remembered failure stands for.
pub fn remembered(failure: Failure, now: SystemTime) -> Error {
    let now_ms = UnixMillis::from(now).0;
    Error::Remembered {
        class: ErrorClass::from_kind(&failure.kind).unwrap_or(ErrorClass::Other),
        message: failure.message,
        hint: failure.hint,
        seconds_ago: now_ms.saturating_sub(failure.at.0) / 1000,
        retry_in: failure.until.0.saturating_sub(now_ms).div_ceil(1000),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::salesforce::exchange::ExchangeError;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn refused(description: &str) -> Error {
        Error::Exchange(ExchangeError::Rejected {
            error: "invalid_grant".into(),
            description: description.into(),
        })
    }

    #[test]
    fn refusals_and_outages_are_remembered_briefly_rate_limits_longer() {
        let failure = failure_to_remember(&refused("invalid assertion"), at(1000)).unwrap();
        assert!(failure.stands_at(at(1000)) && failure.stands_at(at(1004)));
        assert!(!failure.stands_at(at(1005)), "a few seconds only");
        assert!(!failure.stands_at(at(999)), "not from before it happened (a clock step)");
        let limited = failure_to_remember(&refused("login rate exceeded"), at(1000)).unwrap();
        assert!(limited.stands_at(at(1000 + 299)) && !limited.stands_at(at(1300)));
        let local = Error::MissingInput { what: "x", flag: "--x" };
        assert!(failure_to_remember(&local, at(1000)).is_none(), "a local fault is not Salesforce's answer");
    }

    #[test]
    fn a_remembered_failure_keeps_its_class_and_says_when_it_ends() {
        let failure = failure_to_remember(&refused("invalid assertion"), at(1000)).unwrap();
        let error = remembered(failure, at(1002));
        assert_eq!(error.class(), ErrorClass::Rejected);
        assert_eq!(
            error.to_string(),
            "Salesforce refused the token request: invalid_grant: invalid assertion (a request 2s ago; not asked again for 3s)"
        );
        assert!(error.hint().unwrap().ends_with("--refresh asks again at once"));
    }
}

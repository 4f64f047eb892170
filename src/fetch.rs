//! Where a token request starts: serve the cached token when it is good enough,
//! otherwise take the profile's lock, look again, and mint only if still needed, so
//! that any number of simultaneous callers cause one request to Salesforce.
//!
//! The hit path (file cache) checks the cache directory, reads the cache file and
//! returns: no keychain, no network, no async runtime. Everything heavier sits behind
//! the lock, in [`crate::mint`].

use std::time::{Duration, SystemTime};

use crate::cache::{self, Failure, FileCache, KeychainCache, TokenCache};
use crate::context::Context;
use crate::error::{Error, ErrorClass};
use crate::keychain::Keychain;
use crate::pkcs11::Pkcs11Error;
use crate::profile::{CacheKind, Profile};
use crate::rotation::{Accepted, Rotation, Slot};
use crate::settings::Settings;
use crate::token::{Need, Token, UnixMillis, rfc3339};

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
    if need.min_valid >= profile.ttl {
        return Err(Error::MinValidTooLong {
            min_valid: need.min_valid,
            ttl: profile.ttl,
            profile: profile.name.clone(),
        });
    }
    let asked_at = clock();
    // A forced refresh is satisfied by a token minted after the caller asked, so a crowd
    // of --refresh callers still causes one request.
    let not_before = need.refresh.then_some(asked_at);
    let usable = |token: &Token, now| cache::usable(token, now, need.min_valid, not_before, profile.ttl);
    let cache = token_cache(ctx, profile)?;
    if let Some(cache) = &cache
        && let Some(token) = cache.load(&profile.name)?
        && usable(&token, asked_at)
    {
        return Ok(token);
    }
    let files = FileCache::new(ctx.cache_dir()?.clone());
    let _lock = lock(ctx, &profile.name)?;
    let cached = match &cache {
        Some(cache) => cache.load(&profile.name)?,
        None => None,
    };
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
    match mint_and_rotate(ctx, profile, now) {
        Ok(token) => {
            files.clear_failure(&profile.name);
            if let Some(cache) = &cache
                && let Err(e) = cache.save(&token)
            {
                crate::diag::warn(&format!("the new token was not cached: {e}"));
            }
            Ok(token)
        }
        Err(error) => {
            // During a rotation an invalid assertion is the certificate spreading: the next
            // caller may well succeed, so it is not kept from trying.
            let rotating =
                error.is_invalid_assertion() && crate::credentials::rotation_of(ctx, profile).is_some();
            if !rotating
                && let Some(failure) = failure_to_remember(&error, now)
                && let Err(e) = files.write_failure(&profile.name, &failure)
            {
                crate::diag::warn(&format!("the failure was not remembered: {e}"));
            }
            fallback(error)
        }
    }
}

/// Mints, and keeps a key rotation's books: the replaced key goes once its grace is over,
/// the next key becomes the current one when Salesforce accepts it (said once, on
/// stderr), and the key Salesforce accepted is noted. The bookkeeping never costs the
/// caller a token Salesforce gave: its failures are warnings. The caller holds the lock.
pub fn mint_and_rotate(ctx: &Context, profile: &Profile, now: SystemTime) -> Result<Token, Error> {
    if let Some(rotation) = crate::credentials::rotation_of(ctx, profile).filter(|r| r.previous_expired(now))
    {
        match crate::credentials::drop_previous(ctx, profile, rotation) {
            Ok(_) => crate::diag::verbose(|| format!("deleted profile {:?}'s replaced key", profile.name)),
            Err(e) => {
                crate::diag::warn(&format!("the replaced key of profile {:?} stays: {e}", profile.name))
            }
        }
    }
    let minted = crate::mint::mint_for_profile(ctx, profile, now)?;
    if let Some(rotation) = minted.rotation {
        keep_books(ctx, profile, rotation, minted.key, now);
    }
    Ok(minted.token)
}

/// Takes the profile's lock: one process at a time mints, rotates or promotes for it.
pub fn lock(ctx: &Context, profile: &str) -> Result<std::fs::File, Error> {
    Ok(FileCache::new(ctx.cache_dir()?.clone()).lock(profile, ctx.lock_wait()?)?)
}

/// Says once, on stderr, that a rotation's next key became the current one.
pub fn announce_promotion(profile: &str, rotation: &Rotation, now: SystemTime) {
    let until = rotation.previous.as_ref().and_then(|p| p.until.to_time()).unwrap_or(now);
    crate::diag::status(&format!(
        "Salesforce accepted profile {profile:?}'s new key: it is now the current key; the old one stays a \
         fallback until {} and is deleted at the first mint after that",
        rfc3339(until)
    ));
}

/// After a mint during a rotation: promote the next key if it signed, and note which key
/// Salesforce accepted. Failures are warnings.
pub fn keep_books(ctx: &Context, profile: &Profile, mut rotation: Rotation, key: Slot, now: SystemTime) {
    let mut key = key;
    if key == Slot::Next {
        match crate::credentials::promote(ctx, profile, rotation.clone(), now) {
            Ok(promoted) => {
                rotation = promoted;
                key = Slot::Current;
                announce_promotion(&profile.name, &rotation, now);
            }
            Err(e) => {
                crate::diag::warn(&format!("profile {:?}'s new key was not made current: {e}", profile.name))
            }
        }
    }
    rotation.last_accepted = Some(Accepted { key, at: UnixMillis::from(now) });
    if let Err(e) =
        ctx.config_dir().map_err(Error::from).and_then(|dir| Ok(rotation.save(dir, &profile.name)?))
    {
        crate::diag::warn(&format!("the rotation's state was not updated: {e}"));
    }
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
            crate::diag::warn(&format!(
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
            crate::exchange::ExchangeError::Untrusted { .. }
                | crate::exchange::ExchangeError::TrustRoots { .. }
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

/// The profile a token is served for: the environment's (CI, containers), else the named one.
pub fn profile(ctx: &Context, name: &str) -> Result<Profile, Error> {
    if let Some(vars) = &ctx.environment_profile {
        return Ok(crate::environment::profile(vars)?);
    }
    Ok(Settings::load(ctx.config_dir()?)?.profile(name)?.clone())
}

/// Every profile a request may be for: the environment's alone, else the settings file's.
pub fn profiles(ctx: &Context) -> Result<Vec<Profile>, Error> {
    Ok(match &ctx.environment_profile {
        Some(vars) => vec![crate::environment::profile(vars)?],
        None => Settings::load(ctx.config_dir()?)?.profiles().cloned().collect(),
    })
}

/// The hosts a profile's tokens are for: its login host and its instance's, lower-cased.
pub fn hosts(ctx: &Context, profile: &Profile) -> Result<Vec<String>, Error> {
    let host_of = |url: &str| reqwest::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase);
    let cached_instance = cached(ctx, profile)?.map(|t| t.instance_url);
    let known = [
        Some(profile.login_url.host().to_ascii_lowercase()),
        profile.instance_url.as_deref().and_then(host_of),
        cached_instance.as_deref().and_then(host_of),
    ];
    Ok(known.into_iter().flatten().collect())
}

/// The profile whose instance (from its last token) or login host is `host`, if any.
pub fn profile_for_host(ctx: &Context, host: &str) -> Result<Option<Profile>, Error> {
    for profile in profiles(ctx)? {
        if hosts(ctx, &profile)?.iter().any(|known| known == host) {
            return Ok(Some(profile));
        }
    }
    Ok(None)
}

/// The cached token, valid or not, for display.
pub fn cached(ctx: &Context, profile: &Profile) -> Result<Option<Token>, Error> {
    match token_cache(ctx, profile)? {
        Some(cache) => Ok(cache.load(&profile.name)?),
        None => Ok(None),
    }
}

/// Caches a token minted elsewhere (by `login`'s check).
pub fn remember(ctx: &Context, profile: &Profile, token: &Token) -> Result<(), Error> {
    token_cache(ctx, profile)?.map_or(Ok(()), |cache| Ok(cache.save(token)?))
}

/// Revokes the profile's cached token at Salesforce, if there is one; whether one was
/// revoked. A failure is a warning: the caller removes the token locally all the same.
pub fn revoke_cached(ctx: &Context, profile: &Profile) -> bool {
    let token = match cached(ctx, profile) {
        Ok(Some(token)) => token,
        Ok(None) => return false,
        Err(e) => {
            crate::diag::warn(&format!("cannot read the cached token to revoke it: {e}"));
            return false;
        }
    };
    match crate::exchange::revoke(profile, &ctx.trust, &token.access_token) {
        Ok(crate::exchange::Revocation::Revoked) => {
            crate::diag::verbose(|| format!("revoked profile {:?}'s cached token", profile.name));
            true
        }
        Ok(crate::exchange::Revocation::AlreadyInvalid) => {
            crate::diag::verbose(|| format!("profile {:?}'s cached token was no longer valid", profile.name));
            false
        }
        Err(e) => {
            crate::diag::warn(&format!(
                "could not revoke profile {:?}'s cached token ({e}); it stays usable until {}",
                profile.name,
                crate::token::rfc3339(token.expires_at)
            ));
            false
        }
    }
}

/// Drops the profile's cached token, for a caller that saw it rejected.
pub fn invalidate(ctx: &Context, profile: &Profile) -> Result<(), Error> {
    token_cache(ctx, profile)?.map_or(Ok(()), |cache| Ok(cache.remove(&profile.name)?))
}

fn token_cache(ctx: &Context, profile: &Profile) -> Result<Option<Box<dyn TokenCache>>, Error> {
    Ok(match profile.cache {
        CacheKind::File => Some(Box::new(FileCache::new(ctx.cache_dir()?.clone()))),
        CacheKind::Keyring => {
            let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
            Some(Box::new(KeychainCache(keychain)))
        }
        CacheKind::None => None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::exchange::ExchangeError;

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

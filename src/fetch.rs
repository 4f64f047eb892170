//! Where a token request starts: serve the cached token when it is good enough,
//! otherwise take the profile's lock, look again, and mint only if still needed, so
//! that any number of simultaneous callers cause one request to Salesforce.
//!
//! The hit path (file cache) checks the cache directory, reads the cache file and
//! returns: no keychain, no network, no async runtime. Everything heavier sits behind
//! the lock, in [`crate::mint`].

use std::time::SystemTime;

use crate::cache::{self, FileCache, KeychainCache, TokenCache};
use crate::context::Context;
use crate::error::Error;
use crate::keychain::Keychain;
use crate::profile::{CacheKind, Profile};
use crate::settings::Settings;
use crate::token::{Need, Token};

/// A token for `profile` that meets `need`. `clock` is read again after waiting.
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
    let Some(cache) = token_cache(ctx, profile)? else {
        return crate::mint::mint_for_profile(ctx, profile, asked_at);
    };
    if let Some(token) = cache.load(&profile.name)?
        && usable(&token, asked_at)
    {
        return Ok(token);
    }
    let _lock = FileCache::new(ctx.cache_dir()?.clone()).lock(&profile.name, ctx.lock_wait()?)?;
    if let Some(token) = cache.load(&profile.name)?
        && usable(&token, clock())
    {
        return Ok(token);
    }
    let token = crate::mint::mint_for_profile(ctx, profile, clock())?;
    if let Err(e) = cache.save(&token) {
        crate::diag::warn(&format!("the new token was not cached: {e}"));
    }
    Ok(token)
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

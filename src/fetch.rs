//! Where a token request starts: serve the cached token when it is good enough,
//! otherwise take the profile's lock, look again, and mint only if still needed, so
//! that any number of simultaneous callers cause one request to Salesforce.
//!
//! The hit path (file cache) reads the cache file and returns: no keychain, no network,
//! no async runtime. Everything heavier sits behind the lock, in [`crate::mint`].

use std::time::{Duration, SystemTime};

use crate::cache::{self, CacheKind, FileCache, TokenStore};
use crate::error::Error;
use crate::keychain::Keychain;
use crate::profile::Profile;
use crate::token::Token;

pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(60);

/// What the caller needs of a token.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    /// The token must stay valid at least this long.
    pub min_valid: Duration,
    /// Mint a new token even if the cached one would do.
    pub refresh: bool,
}

impl Default for Need {
    fn default() -> Self {
        Need { min_valid: DEFAULT_MIN_VALID, refresh: false }
    }
}

/// A token for `profile` that meets `need`. `clock` is read again after waiting.
pub fn token(profile: &Profile, need: Need, clock: &dyn Fn() -> SystemTime) -> Result<Token, Error> {
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
    let Some(store) = token_store(profile)? else {
        return crate::mint::mint_for_profile(profile, asked_at);
    };
    if let Some(token) = store.load(&profile.name)
        && cache::usable(&token, asked_at, need.min_valid, not_before)
    {
        return Ok(token);
    }
    let files = FileCache::new(cache::cache_dir()?);
    let _lock = files.lock(&profile.name, FileCache::lock_wait()?)?;
    if let Some(token) = store.load(&profile.name)
        && cache::usable(&token, clock(), need.min_valid, not_before)
    {
        return Ok(token);
    }
    let token = crate::mint::mint_for_profile(profile, clock())?;
    if let Err(e) = store.save(&token) {
        crate::diag::warn(&format!("the new token was not cached: {e}"));
    }
    Ok(token)
}

/// The cached token, valid or not, for display.
pub fn cached(profile: &Profile) -> Result<Option<Token>, Error> {
    Ok(token_store(profile)?.and_then(|store| store.load(&profile.name)))
}

/// Caches a token minted elsewhere (by `login`'s check).
pub fn remember(profile: &Profile, token: &Token) -> Result<(), Error> {
    token_store(profile)?.map_or(Ok(()), |store| store.save(token))
}

/// Drops the profile's cached token, for a caller that saw it rejected.
pub fn invalidate(profile: &Profile) -> Result<(), Error> {
    token_store(profile)?.map_or(Ok(()), |store| store.remove(&profile.name))
}

fn token_store(profile: &Profile) -> Result<Option<Box<dyn TokenStore>>, Error> {
    Ok(match profile.cache {
        CacheKind::File => Some(Box::new(FileCache::new(cache::cache_dir()?))),
        CacheKind::Keyring => Some(Box::new(Keychain::for_profile(profile)?)),
        CacheKind::None => None,
    })
}

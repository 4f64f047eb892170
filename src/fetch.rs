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
use crate::settings::{Settings, settings_dir};
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

/// The profile a token is served for: the environment's (CI, containers), else the named one.
pub fn profile(name: &str) -> Result<Profile, Error> {
    if let Some(profile) = crate::environment::profile()? {
        return Ok(profile);
    }
    Ok(Settings::load(&settings_dir()?)?.profile(name)?.clone())
}

/// The profile whose instance (from its last token) or login host is git's host, if any.
pub fn profile_for_host(request: &crate::protocols::git::Request) -> Result<Option<Profile>, Error> {
    let Some(host) = request.host_name() else { return Ok(None) };
    if request.protocol.as_deref().is_some_and(|p| p != "https") {
        return Ok(None);
    }
    let host_of = |url: &str| reqwest::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase);
    let candidates: Vec<Profile> = match crate::environment::profile()? {
        Some(profile) => vec![profile],
        None => Settings::load(&settings_dir()?)?.profiles().cloned().collect(),
    };
    for profile in candidates {
        let cached_instance = cached(&profile)?.map(|t| t.instance_url);
        let known = [
            Some(profile.login_url.host().to_ascii_lowercase()),
            profile.instance_url.as_deref().and_then(host_of),
            cached_instance.as_deref().and_then(host_of),
        ];
        if known.iter().flatten().any(|known| *known == host) {
            return Ok(Some(profile));
        }
    }
    Ok(None)
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

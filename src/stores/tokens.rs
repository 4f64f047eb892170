//! A profile's cached token, whichever cache it has (file, keychain or none): read, kept,
//! dropped, and revoked at Salesforce.

use crate::config::context::Context;
use crate::config::profile::{CacheKind, Profile};
use crate::error::Error;
use crate::stores::cache::{FileCache, KeychainCache, TokenCache};
use crate::stores::keychain::Keychain;
use crate::token::Token;

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
            crate::base::diag::warn(&format!("cannot read the cached token to revoke it: {e}"));
            return false;
        }
    };
    match crate::salesforce::exchange::revoke(profile, &ctx.trust, &token.access_token) {
        Ok(crate::salesforce::exchange::Revocation::Revoked) => {
            crate::base::diag::verbose(|| format!("revoked profile {:?}'s cached token", profile.name));
            true
        }
        Ok(crate::salesforce::exchange::Revocation::AlreadyInvalid) => {
            crate::base::diag::verbose(|| {
                format!("profile {:?}'s cached token was no longer valid", profile.name)
            });
            false
        }
        Err(e) => {
            crate::base::diag::warn(&format!(
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

pub fn token_cache(ctx: &Context, profile: &Profile) -> Result<Option<Box<dyn TokenCache>>, Error> {
    Ok(match profile.cache {
        CacheKind::File => Some(Box::new(FileCache::new(ctx.cache_dir()?.clone()))),
        CacheKind::Keyring => {
            let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
            Some(Box::new(KeychainCache(keychain)))
        }
        CacheKind::None => None,
    })
}

//! A profile's cached token, whichever cache it has (file, keychain or none): read, kept,
//! dropped, and revoked at Salesforce.

use crate::config::context::Context;
use secrecy::ExposeSecret;

use crate::config::profile::{CacheKind, Profile, StoreKind};
use crate::error::Error;
use crate::stores::cache::{FileCache, KeychainCache, TokenCache};
use crate::stores::keychain::Keychain;
use crate::token::Token;

/// The cached token, valid or not, if it was minted for the profile as it is now.
pub fn cached(ctx: &Context, profile: &Profile) -> Result<Option<Token>, Error> {
    Ok(stored(ctx, profile)?.filter(|token| minted_for(ctx, profile, token)))
}

/// Whatever token the profile's cache holds, for whoever minted it.
fn stored(ctx: &Context, profile: &Profile) -> Result<Option<Token>, Error> {
    match token_cache(ctx, profile)? {
        Some(cache) => Ok(cache.load(&profile.name)?),
        None => Ok(None),
    }
}

/// Whether a cached token was minted for this profile's user, login URL and (where it is
/// known without the keychain, which the hit path never opens: an environment profile's)
/// consumer key. A profile's name alone does not say, as settings change under it; a saved
/// profile's consumer key changes only by a login, which replaces its cached token.
pub fn minted_for(ctx: &Context, profile: &Profile, token: &Token) -> bool {
    let client_digest = match (&ctx.environment_profile, profile.store) {
        (Some(vars), StoreKind::Environment) => {
            vars.client_id.as_ref().map(|id| crate::base::digest::client_digest(id.expose_secret()))
        }
        _ => None,
    };
    let bound = token.username == profile.username
        && token.binding.login_url == profile.login_url.as_str()
        && client_digest.is_none_or(|digest| token.binding.client_digest == digest);
    if !bound {
        crate::base::diag::verbose(|| {
            format!(
                "the cached token of profile {:?} was minted for another user, login URL or app",
                profile.name
            )
        });
    }
    bound
}

/// Caches a token minted elsewhere (by `login`'s check).
pub fn remember(ctx: &Context, profile: &Profile, token: &Token) -> Result<(), Error> {
    token_cache(ctx, profile)?.map_or(Ok(()), |cache| Ok(cache.save(token)?))
}

/// Revokes the profile's cached token at Salesforce, if there is one; whether one was
/// revoked. A failure is a warning: the caller removes the token locally all the same.
pub fn revoke_cached(ctx: &Context, profile: &Profile) -> bool {
    // A token minted before the settings changed is revoked too, where it was minted.
    let token = match stored(ctx, profile) {
        Ok(Some(token)) => token,
        Ok(None) => return false,
        Err(e) => {
            crate::base::diag::warn(&format!("cannot read the cached token to revoke it: {e}"));
            return false;
        }
    };
    let minted_at = match crate::config::profile::LoginUrl::parse(&token.binding.login_url) {
        Ok(login_url) => Profile { login_url, ..profile.clone() },
        Err(_) => profile.clone(),
    };
    match crate::salesforce::exchange::revoke(&minted_at, &ctx.trust, &token.access_token) {
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
        // The fleet's Redis is behind this machine's file (see crate::fetch).
        CacheKind::File | CacheKind::Redis => Some(Box::new(FileCache::new(ctx.cache_dir()?.clone()))),
        CacheKind::Keychain => {
            let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
            Some(Box::new(KeychainCache(keychain)))
        }
        CacheKind::None => None,
    })
}

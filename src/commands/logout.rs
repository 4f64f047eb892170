//! `sfcred logout`: revoke a profile's cached token, then remove everything sfcred kept
//! for it: secrets, cached token, certificate copies, rotation state, lock and failure
//! files, and its settings.

use crate::cache::FileCache;
use crate::context::Context;
use crate::error::Error;
use crate::fetch;
use crate::keychain::Keychain;
use crate::settings::Settings;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// Every profile, instead of one.
    pub all: bool,
    /// Revoke the cached token at Salesforce first.
    pub revoke: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let settings = Settings::load(dir)?;
    let names: Vec<String> = match options.all {
        true => settings.profiles().map(|p| p.name.clone()).collect(),
        false => vec![settings.profile(&options.profile)?.name.clone()],
    };
    let cache_dir = ctx.cache_dir()?;
    for name in &names {
        let profile = settings.profile(name)?;
        // A mint or promotion in flight finishes first, so that what it writes is removed too.
        let lock = fetch::lock(ctx, name)?;
        let revoked = options.revoke && fetch::revoke_cached(ctx, profile);
        // Secrets go first: settings without secrets can be logged into again,
        // secrets without settings would be forgotten in the keychain.
        fetch::invalidate(ctx, profile)?;
        Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?.delete(name)?;
        // A rotation's state names keys that are gone now.
        crate::rotation::Rotation::default().save(dir, name)?;
        crate::certificate::forget(dir, cache_dir, name)?;
        Settings::update(dir, |settings| settings.remove(name))?;
        drop(lock);
        FileCache::new(cache_dir.clone()).forget(name)?;
        let what = if revoked { "revoked its token and removed" } else { "removed" };
        crate::diag::status(&format!(
            "logged out profile {name:?}: {what} its secrets, cached token, certificate copies and settings"
        ));
    }
    if names.is_empty() {
        crate::diag::status("no profiles to log out");
    }
    Ok(super::Outcome::Done)
}

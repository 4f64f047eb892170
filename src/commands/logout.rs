//! `sfcred logout`: revoke a profile's cached token, then remove its secrets, cached
//! token and settings.

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
    for name in &names {
        let profile = settings.profile(name)?;
        if options.revoke {
            fetch::revoke_cached(ctx, profile);
        }
        // Secrets go first: settings without secrets can be logged into again,
        // secrets without settings would be forgotten in the keychain.
        fetch::invalidate(ctx, profile)?;
        Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?.delete(name)?;
        // A rotation's state names keys that are gone now.
        crate::rotation::Rotation::default().save(dir, name)?;
        Settings::update(dir, |settings| settings.remove(name))?;
        eprintln!("sfcred: logged out profile {name:?}");
    }
    if names.is_empty() {
        eprintln!("sfcred: no profiles to log out");
    }
    Ok(super::Outcome::Done)
}

//! `sfcred logout`: revoke a profile's cached token, then remove everything sfcred kept
//! for it: secrets, cached token, certificate copies, rotation state, lock and failure
//! files, and its settings.

use crate::config::context::Context;
use crate::error::Error;
use crate::rotation::txn::{RotationTxn, lock_profile};
use crate::stores::cache::FileCache;
use crate::stores::keychain::Keychain;
use crate::stores::settings::{KeyOnly, Settings};
use crate::stores::tokens;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// Every profile, instead of one.
    pub all: bool,
    /// Revoke the cached token at Salesforce first.
    pub revoke: bool,
    /// Do not ask before logging out of every profile.
    pub yes: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let settings = Settings::load(dir)?;
    let keys_only: Vec<(String, KeyOnly)> = settings
        .keys_only()
        .filter(|(name, _)| options.all || **name == options.profile)
        .map(|(name, key)| (name.clone(), key.clone()))
        .collect();
    let names: Vec<String> = match (options.all, keys_only.is_empty()) {
        (true, _) => settings.profiles().map(|p| p.name.clone()).collect(),
        (false, true) => vec![settings.profile(&options.profile)?.name.clone()],
        // Only a key keygen made: nothing is logged in.
        (false, false) => Vec::new(),
    };
    let person_at_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    if options.all && !options.yes && person_at_terminal && !super::can_prompt() {
        // A person is there, but the question would not show: they must say so.
        return Err(Error::MissingFlag {
            what: "a confirmation to log out of every profile (the question cannot show with stderr redirected)",
            flag: "--yes",
        });
    }
    if options.all && !options.yes && super::can_prompt() && !(names.is_empty() && keys_only.is_empty()) {
        let every: Vec<&str> =
            names.iter().map(String::as_str).chain(keys_only.iter().map(|(n, _)| n.as_str())).collect();
        let question = format!("Log out of {} and remove their keys and tokens?", every.join(", "));
        let asked = dialoguer::Confirm::new().with_prompt(question).default(false).interact();
        if !asked.map_err(|e| Error::Prompt { what: "a confirmation", reason: e.to_string() })? {
            crate::base::diag::status("nothing was logged out");
            return Ok(super::Outcome::Done);
        }
    }
    for (name, key) in &keys_only {
        match remove_key_only(ctx, dir, name, key) {
            // One keychain out of reach does not stop a logout of everything.
            Err(e) if options.all => crate::base::diag::warn(&format!("profile {name:?}'s key stays: {e}")),
            other => other?,
        }
    }
    let cache_dir = ctx.cache_dir()?;
    for name in &names {
        let profile = settings.profile(name)?;
        // A mint or promotion in flight finishes first, so that what it writes is removed too.
        let lock = lock_profile(ctx, name)?;
        let held = options.revoke.then(|| tokens::cached(ctx, profile).ok().flatten()).flatten();
        let revoked = options.revoke && tokens::revoke_cached(ctx, profile);
        // A revoked token is dead for the whole fleet: no machine gets it from Redis again.
        if let Some(token) = held.filter(|_| revoked) {
            crate::fetch::forget_in_fleet(ctx, profile, &token);
        }
        // Secrets go first: settings without secrets can be logged into again,
        // secrets without settings would be forgotten in the keychain.
        tokens::invalidate(ctx, profile)?;
        // A rotation's keys, on a token too, then the keychain's entries.
        let mut rotation = RotationTxn::for_mint(ctx, profile, &lock)?;
        // A key on a token that is gone now stays there; the logout goes on.
        if let Err(e) = rotation.drop_all() {
            crate::base::diag::warn(&format!("a key of profile {name:?}'s rotation stays where it is: {e}"));
        }
        rotation.keychain().delete(name)?;
        drop(rotation);
        // A state file that could not be read names nothing that is left.
        crate::rotation::txn::reset(dir, name)?;
        crate::keys::certificate::forget(dir, cache_dir, name)?;
        Settings::update(dir, |settings| settings.remove(name))?;
        // The lock file goes while it is held: a caller waiting on it then finds it gone and
        // takes a new one (stores/cache.rs), so no two ever hold different files.
        FileCache::new(cache_dir.clone()).forget(name)?;
        drop(lock);
        let what = if revoked { "revoked its token and removed" } else { "removed" };
        crate::base::diag::status(&format!(
            "logged out profile {name:?}: {what} its secrets, cached token, certificate copies and settings"
        ));
        if settings.default_profile() == Some(name.as_str()) {
            crate::base::diag::status(&format!(
                "{name:?} was the default profile: commands without --profile use \"{}\" now (sfcred use PROFILE \
                 chooses another)",
                crate::config::profile::DEFAULT_PROFILE
            ));
        }
    }
    if names.is_empty() && keys_only.is_empty() {
        crate::base::diag::status("no profiles to log out");
    }
    Ok(super::Outcome::Done)
}

/// A key keygen made for a profile never logged in to: its keychain entries (a key on a
/// token stays there: the device is the user's), its certificate copy and its record.
fn remove_key_only(ctx: &Context, dir: &std::path::Path, name: &str, key: &KeyOnly) -> Result<(), Error> {
    let _lock = lock_profile(ctx, name)?;
    let deleted =
        Keychain::open(ctx.store_for(key.store)?, ctx.keychain_timeout()?).and_then(|k| k.delete(name));
    match (deleted, &key.pkcs11) {
        (Ok(()), _) => {}
        // A key on a token keeps at most its PIN in the keychain: the record goes anyway.
        (Err(e), Some(_)) => {
            crate::base::diag::warn(&format!("profile {name:?}'s PIN may stay in the keychain: {e}"))
        }
        (Err(e), None) => return Err(e.into()),
    }
    crate::keys::certificate::forget(dir, ctx.cache_dir()?, name)?;
    Settings::update(dir, |settings| settings.remove(name))?;
    let what = match &key.pkcs11 {
        Some(uri) => format!("its record and certificate copy (the key stays on the token: {uri})"),
        None => format!("its key in the {} keychain and its certificate copy", key.store),
    };
    crate::base::diag::status(&format!("removed profile {name:?}, which was never logged in: {what}"));
    Ok(())
}

//! `sfcred certificate PATH`: records the app's certificate for a logged-in profile, as
//! `login --cert` does, without logging in again; doctor checks it and mints warn before it
//! expires.

use std::path::Path;

use crate::config::context::Context;
use crate::error::Error;
use crate::rotation::state::Slot;
use crate::stores::settings::Settings;

pub fn run(ctx: &Context, profile: &str, path: &Path) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let profile = Settings::load(dir)?.profile(profile)?.clone();
    // A key on a token may have its PIN in the keychain.
    let keychain = crate::credentials::keychain_for(ctx, &profile)?;
    let signer = crate::credentials::signer_in(ctx, &profile, None, Some(&keychain), Slot::Current)?;
    let certificate = super::login::certificate_of(path, signer.as_ref())?;
    crate::keys::certificate::save(dir, &profile.name, &certificate)?;
    crate::base::diag::status(&format!(
        "recorded the certificate of profile {:?}'s key (valid until {}); sfcred doctor checks it, and mints \
         warn 30 days before it expires",
        profile.name,
        crate::token::rfc3339(certificate.not_after)
    ));
    Ok(super::Outcome::Done)
}

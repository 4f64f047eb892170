//! `sfcred use PROFILE`: the default profile, kept in the settings file.

use crate::config::context::Context;
use crate::error::Error;
use crate::stores::settings::Settings;

pub fn run(ctx: &Context, name: &str) -> Result<super::Outcome, Error> {
    crate::config::profile::validate_profile_name(name)?;
    Settings::try_update(ctx.config_dir()?, |settings| settings.set_default(name))?;
    crate::base::diag::status(&format!(
        "profile {name:?} is the default now: commands use it without --profile (--profile or SFCRED_PROFILE \
         still choose another)"
    ));
    Ok(super::Outcome::Done)
}

//! `sfcred env`: the token variables of `exec`, as export lines for a shell.

use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::lookup;
use crate::error::Error;
use crate::fetch;
use crate::protocols::env::{self, Shell};
use crate::token::Need;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// By default the one `$SHELL` names.
    pub shell: Option<Shell>,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let token =
        fetch::token(ctx, &lookup::profile(ctx, &options.profile)?, Need::default(), &SystemTime::now)?;
    let shell = options.shell.unwrap_or_else(|| Shell::from_path(ctx.shell.as_deref()));
    super::print(&env::export_lines(shell, &env::variables(&token)))?;
    Ok(super::Outcome::Done)
}

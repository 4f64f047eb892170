//! `sfcred invalidate`: drop a profile's cached token, for a caller that saw it rejected.

use crate::context::Context;
use crate::error::Error;
use crate::fetch;

pub fn run(ctx: &Context, profile: &str) -> Result<super::Outcome, Error> {
    fetch::invalidate(ctx, &fetch::profile(ctx, profile)?)?;
    Ok(super::Outcome::Done)
}

//! `sfcred invalidate`: drop a profile's cached token, for a caller that saw it rejected
//! (and, with `--revoke`, revoke it at Salesforce first).

use crate::config::context::Context;
use crate::config::lookup;
use crate::error::Error;
use crate::stores::tokens;

pub fn run(ctx: &Context, profile: &str, revoke: bool) -> Result<super::Outcome, Error> {
    let profile = lookup::profile(ctx, profile)?;
    if revoke {
        tokens::revoke_cached(ctx, &profile);
    }
    crate::fetch::invalidate(ctx, &profile)?;
    Ok(super::Outcome::Done)
}

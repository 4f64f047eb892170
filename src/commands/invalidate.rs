//! `sfcred invalidate`: drop a profile's cached token, for a caller that saw it rejected
//! (and, with `--revoke`, revoke it at Salesforce first).

use crate::context::Context;
use crate::error::Error;
use crate::fetch;

pub fn run(ctx: &Context, profile: &str, revoke: bool) -> Result<super::Outcome, Error> {
    let profile = fetch::profile(ctx, profile)?;
    if revoke {
        fetch::revoke_cached(ctx, &profile);
    }
    fetch::invalidate(ctx, &profile)?;
    Ok(super::Outcome::Done)
}

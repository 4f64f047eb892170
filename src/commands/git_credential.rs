//! `sfcred git-credential`: git's credential-helper protocol.

use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::lookup;
use crate::error::Error;
use crate::fetch;
use crate::protocols::git::{self, Operation};
use crate::stores::tokens;
use crate::token::Need;

#[derive(Debug)]
pub struct Options {
    pub operation: Operation,
    /// Without one, the profile whose login or instance host is git's host answers.
    pub profile: Option<String>,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let request =
        git::read_request(std::io::stdin().lock()).map_err(|e| super::bad_request("git credential", e))?;
    if options.operation == Operation::Store {
        return Ok(super::Outcome::Done);
    }
    let profile = &match &options.profile {
        Some(name) => lookup::profile(ctx, name)?,
        // No profile for this host: say nothing, so git asks its next helper.
        None => match host_profile(ctx, &request)? {
            Some(profile) => profile,
            None => return Ok(super::Outcome::Done),
        },
    };
    if let Some(reason) = refusal(ctx, &request, profile)? {
        crate::base::diag::verbose(|| format!("not answering git for profile {:?}: {reason}", profile.name));
        return Ok(super::Outcome::Done);
    }
    if options.operation == Operation::Get {
        let token = fetch::token(ctx, profile, Need::default(), &SystemTime::now)?;
        super::print(&git::get_response(&request, &token))?;
        return Ok(super::Outcome::Done);
    }
    // Erase the token only if it is the one git saw fail, not a newer one.
    let git_saw_no_secret = request.password.is_none() && request.credential.is_none();
    if let Some(token) = tokens::cached(ctx, profile)?
        && (git_saw_no_secret || request.carries(&token))
    {
        crate::fetch::invalidate(ctx, profile)?;
    }
    Ok(super::Outcome::Done)
}

/// Why git's request must not get this profile's token: tokens go over https only, to
/// the profile's own login or instance host, for its own user.
fn refusal(
    ctx: &Context,
    request: &git::Request,
    profile: &crate::config::profile::Profile,
) -> Result<Option<String>, Error> {
    if request.protocol.as_deref() != Some("https") {
        let protocol = request.protocol.as_deref().unwrap_or("none");
        return Ok(Some(format!("git asks over {protocol:?}, and tokens go over https only")));
    }
    let host = request.host_name().unwrap_or_default();
    if !lookup::hosts(ctx, profile)?.contains(&host) {
        return Ok(Some(format!("{host:?} is neither the profile's login host nor its instance's")));
    }
    if !request.is_for_user(&profile.username) {
        return Ok(Some("git asks for another user than the profile's".into()));
    }
    Ok(None)
}

/// The profile for git's host, over https only.
fn host_profile(
    ctx: &Context,
    request: &git::Request,
) -> Result<Option<crate::config::profile::Profile>, Error> {
    let silent = |reason: String| {
        crate::base::diag::verbose(|| format!("not answering git: {reason}; git asks its next helper"));
        Ok(None)
    };
    let Some(host) = request.host_name() else { return silent("git's request names no host".into()) };
    if let Some(protocol) = request.protocol.as_deref().filter(|p| *p != "https") {
        return silent(format!("tokens go over https only, and git asks for {protocol}"));
    }
    match lookup::profile_for_host(ctx, &host)? {
        Some(profile) => Ok(Some(profile)),
        None => silent(format!("no profile's login or instance host is {host}")),
    }
}

//! Which profile a request is for: the environment's (CI, containers), else a saved one
//! by name, or by the host a token is for (git's credential helper).

use crate::config::context::Context;
use crate::config::profile::Profile;
use crate::error::Error;
use crate::stores::settings::Settings;

/// The profile a token is served for: the environment's (CI, containers), else the named one.
pub fn profile(ctx: &Context, name: &str) -> Result<Profile, Error> {
    if let Some(vars) = &ctx.environment_profile {
        return Ok(crate::config::env_profile::profile(vars)?);
    }
    // A name no profile can have is said to be one, not suggested for a login.
    crate::config::profile::validate_profile_name(name)?;
    Ok(settings(ctx)?.profile(name)?.clone())
}

/// The settings, read once per process for the lookups of this module: a command's
/// default profile and then its profile come from one read, on the hot path too. (A
/// process has one context, so one settings directory.) Commands
/// that change the settings read them again, under their lock (`Settings::update`).
fn settings(ctx: &Context) -> Result<&'static Settings, Error> {
    static READ: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
    if let Some(settings) = READ.get() {
        return Ok(settings);
    }
    let settings = Settings::load(ctx.config_dir()?)?;
    Ok(READ.get_or_init(|| settings))
}

/// The profile a command uses without `--profile`: the one `sfcred use` chose, else
/// `default`. Settings that cannot be read say so when the command reads them.
pub fn default_profile_name(ctx: &Context) -> String {
    settings(ctx)
        .ok()
        .and_then(|settings| settings.default_profile().map(str::to_owned))
        .unwrap_or_else(|| crate::config::profile::DEFAULT_PROFILE.to_owned())
}

/// Every profile a request may be for: the environment's alone, else the settings file's.
pub fn profiles(ctx: &Context) -> Result<Vec<Profile>, Error> {
    Ok(match &ctx.environment_profile {
        Some(vars) => vec![crate::config::env_profile::profile(vars)?],
        None => settings(ctx)?.profiles().cloned().collect(),
    })
}

/// The hosts a profile's tokens are for: its login host and its instance's, lower-cased.
pub fn hosts(ctx: &Context, profile: &Profile) -> Result<Vec<String>, Error> {
    let host_of = |url: &str| reqwest::Url::parse(url).ok().as_ref().and_then(authority);
    let cached_instance = crate::stores::tokens::cached(ctx, profile)?.map(|t| t.instance_url);
    let known = [
        authority(profile.login_url.url()),
        profile.instance_url.as_deref().and_then(host_of),
        cached_instance.as_deref().and_then(host_of),
    ];
    Ok(known.into_iter().flatten().collect())
}

/// A URL's host, lower-cased, with its port when it is not the scheme's own: another
/// port is another origin.
fn authority(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The profile whose instance (from its last token) or login host is `host`, if any.
pub fn profile_for_host(ctx: &Context, host: &str) -> Result<Option<Profile>, Error> {
    for profile in profiles(ctx)? {
        if hosts(ctx, &profile)?.iter().any(|known| known == host) {
            return Ok(Some(profile));
        }
    }
    Ok(None)
}

//! `sfcred open`: the org in a browser, through a single-use frontdoor URL from the
//! instance's UI Bridge API (`/services/oauth2/singleaccess`), as `sf org open` does. The
//! access token goes only in that request's Authorization header: never in a URL, the
//! browser's arguments or any output. A session that ended (401 or 403) gets one new token.

use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::config::context::Context;
use crate::config::lookup;
use crate::config::profile::{Accepts, InvalidSetting};
use crate::error::Error;
use crate::fetch;
use crate::salesforce::exchange::{self, ExchangeError, SingleAccess};
use crate::token::Need;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// A path on the org to land on, like `/lightning/setup/SetupOneHome/home`.
    pub path: Option<String>,
    /// Print the URL instead of opening it.
    pub url_only: bool,
    /// The command that opens the URL, instead of the platform's opener and `BROWSER`.
    pub browser: Option<String>,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let landing = options.path.as_deref().map(relative_path).transpose()?;
    let profile = lookup::profile(ctx, &options.profile)?;
    let ask = |token: &crate::token::Token| {
        exchange::single_access(&profile, &ctx.trust, &token.instance_url, &token.access_token, landing)
    };
    let token = fetch::token(ctx, &profile, Need::default(), &SystemTime::now)?;
    let url = match ask(&token)? {
        SingleAccess::Url(url) => url,
        SingleAccess::SessionEnded { status } => {
            crate::base::diag::verbose(|| {
                format!("HTTP {status}: the token's session ended; minting a new one")
            });
            let fresh = Need { refresh: true, ..Need::default() };
            match ask(&fetch::token(ctx, &profile, fresh, &SystemTime::now)?)? {
                SingleAccess::Url(url) => url,
                SingleAccess::SessionEnded { status } => {
                    return Err(ExchangeError::FrontdoorRefused { status }.into());
                }
            }
        }
    };
    if options.url_only {
        super::print_line(url.expose_secret())?;
        return Ok(super::Outcome::Done);
    }
    match &options.browser {
        Some(command) => run_browser(command, &url)?,
        None => webbrowser::open(url.expose_secret())
            .map_err(|e| Error::Browser { command: "the system's browser".into(), reason: e.to_string() })?,
    }
    crate::base::diag::status(&format!(
        "opened profile {:?}'s org in the browser, with a link that works once",
        profile.name
    ));
    Ok(super::Outcome::Done)
}

/// `--path`: a path on the org, never another site.
fn relative_path(path: &str) -> Result<&str, Error> {
    let invalid =
        |reason: &str| Error::Invalid(InvalidSetting::new("--path", Accepts::OrgPath, path, reason));
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(invalid("it does not start with a single /"));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("it holds spaces or control characters"));
    }
    Ok(path)
}

/// Runs `command` (its words split on white space) with the URL: in place of a `%s`
/// word, else as the last argument, as `BROWSER` is read. No shell reads the URL.
fn run_browser(command: &str, url: &SecretString) -> Result<(), Error> {
    let failed = |reason: String| Error::Browser { command: command.to_owned(), reason };
    let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    if words.is_empty() {
        return Err(failed("it is empty".into()));
    }
    match words.iter_mut().find(|word| word.contains("%s")) {
        Some(word) => *word = word.replace("%s", url.expose_secret()),
        None => words.push(url.expose_secret().to_owned()),
    }
    let status = std::process::Command::new(&words[0])
        .args(&words[1..])
        .status()
        .map_err(|e| failed(e.to_string()))?;
    match status.success() {
        true => Ok(()),
        false => Err(failed(format!("it exited with {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn a_path_stays_on_the_org() {
        assert!(relative_path("/lightning/setup/SetupOneHome/home").is_ok());
        for elsewhere in ["https://evil.example", "//evil.example/x", "lightning", "/a b", "/a\nb"] {
            assert!(relative_path(elsewhere).is_err(), "{elsewhere:?}");
        }
    }
}

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
use crate::token::{Expiry, Need};

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
    let asked_at = SystemTime::now();
    let token = fetch::token(ctx, &profile, Need::default(), &SystemTime::now)?;
    let refused = |status, said, token: &crate::token::Token| -> Error {
        let jwt_based = token.format.expiry == Expiry::Token;
        ExchangeError::FrontdoorRefused { status, said, jwt_based }.into()
    };
    let url = match ask(&token)? {
        SingleAccess::Url(url) => url,
        // A token minted for this call has not timed out: another would be refused too.
        SingleAccess::SessionEnded { status, said } if token.issued_at >= asked_at => {
            return Err(refused(status, said, &token));
        }
        SingleAccess::SessionEnded { status, said } => {
            crate::base::diag::verbose(|| {
                format!("HTTP {status}, {said}: the token's session ended; minting a new one")
            });
            let fresh =
                fetch::token(ctx, &profile, Need { refresh: true, ..Need::default() }, &SystemTime::now)?;
            match ask(&fresh)? {
                SingleAccess::Url(url) => url,
                SingleAccess::SessionEnded { status, said } => return Err(refused(status, said, &fresh)),
            }
        }
    };
    if options.url_only {
        super::print_line(url.expose_secret())?;
        return Ok(super::Outcome::Done);
    }
    match (&options.browser, &ctx.browser) {
        (Some(command), _) => match run_browser(command, &url)? {
            Ran::Done => {}
            Ran::NotFound(error) => return Err(error),
        },
        (None, Some(list)) => run_first_browser(list, &url)?,
        (None, None) => webbrowser::open(url.expose_secret())
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
    // Browsers read a backslash as a slash: `/\evil.example` would leave the org.
    if path.contains('\\') {
        return Err(invalid("it holds a backslash"));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("it holds spaces or control characters"));
    }
    Ok(path)
}

/// How a browser command went, when it did not fail outright.
enum Ran {
    Done,
    /// Its program does not exist: `BROWSER` goes on to its next command.
    NotFound(Error),
}

/// `BROWSER`: on Unix a `:`-separated list, as Python's webbrowser and xdg-utils read it, of
/// which the first command whose program exists is run; on Windows, where `:` is in paths,
/// one command.
fn run_first_browser(list: &str, url: &SecretString) -> Result<(), Error> {
    let mut not_found = None;
    let commands: Vec<&str> = match cfg!(unix) {
        true => list.split(':').collect(),
        false => vec![list],
    };
    for command in commands.into_iter().filter(|c| !c.trim().is_empty()) {
        match run_browser(command, url)? {
            Ran::Done => return Ok(()),
            Ran::NotFound(error) => not_found = Some(error),
        }
    }
    Err(not_found
        .unwrap_or_else(|| Error::Browser { command: list.to_owned(), reason: "it is empty".into() }))
}

/// Runs `command` with the URL: in place of `%s`, else as the last argument. No shell reads
/// the URL.
fn run_browser(command: &str, url: &SecretString) -> Result<Ran, Error> {
    let failed = |reason: String| Error::Browser { command: command.to_owned(), reason };
    let mut words = browser_words(command, |path| std::path::Path::new(path).is_file()).map_err(failed)?;
    if words[0].contains("%s") {
        return Err(failed("the link would be the program: give the browser before %s".into()));
    }
    match words.iter_mut().find(|word| word.contains("%s")) {
        Some(word) => *word = word.replace("%s", url.expose_secret()),
        None => words.push(url.expose_secret().to_owned()),
    }
    let status = match std::process::Command::new(&words[0]).args(&words[1..]).status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Ran::NotFound(failed(e.to_string())));
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    match status.success() {
        true => Ok(Ran::Done),
        false => Err(failed(format!("it exited with {status}"))),
    }
}

/// The words of a browser command: the whole text when it names a program (a path with
/// spaces, such as `C:\\Program Files\\...\\firefox.exe`), else split into words, so that a
/// quoted path with spaces is one word.
fn browser_words(command: &str, is_program: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    if is_program(command) {
        return Ok(vec![command.to_owned()]);
    }
    match split_words(command) {
        Ok(words) if words.is_empty() => Err("it is empty".into()),
        Ok(words) => Ok(words),
        Err(e) => Err(format!("it cannot be split into words: {e}")),
    }
}

/// Words as a POSIX shell splits them (quotes group, a backslash escapes).
#[cfg(not(windows))]
fn split_words(command: &str) -> Result<Vec<String>, String> {
    shell_words::split(command).map_err(|e| e.to_string())
}

/// Words as Windows programs are named: white space splits, double quotes group, and a
/// backslash is a path's separator, never an escape.
#[cfg(any(windows, test))]
fn windows_words(command: &str) -> Result<Vec<String>, String> {
    let (mut words, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    for c in command.chars() {
        match c {
            '"' => (quoted, started) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err("a double quote is not closed".into());
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

#[cfg(windows)]
use windows_words as split_words;

#[cfg(test)]
mod tests {
    use super::{relative_path, windows_words};

    #[test]
    fn windows_commands_keep_their_backslashes() {
        assert_eq!(
            windows_words(r#"C:\Tools\chrome.exe --new-window "%s""#).unwrap(),
            [r"C:\Tools\chrome.exe", "--new-window", "%s"]
        );
        assert_eq!(
            windows_words(r#""C:\Program Files\Mozilla Firefox\firefox.exe"  -new-tab"#).unwrap(),
            [r"C:\Program Files\Mozilla Firefox\firefox.exe", "-new-tab"]
        );
        assert_eq!(windows_words(r#"a "" b"#).unwrap(), ["a", "", "b"]);
        assert!(windows_words(r#""C:\x"#).is_err());
    }

    #[cfg(not(windows))]
    #[test]
    fn a_browser_command_is_one_program_and_its_arguments() {
        use super::browser_words;
        let none = |_: &str| false;
        assert_eq!(browser_words("firefox --new-window", none).unwrap(), ["firefox", "--new-window"]);
        assert_eq!(
            browser_words("'/opt/My Browser/run' --url=%s", none).unwrap(),
            ["/opt/My Browser/run", "--url=%s"]
        );
        assert_eq!(
            browser_words(r#""C:\Program Files\Firefox\firefox.exe" -new-tab"#, none).unwrap(),
            [r"C:\Program Files\Firefox\firefox.exe", "-new-tab"]
        );
        let windows_path = r"C:\Program Files\Firefox\firefox.exe";
        assert_eq!(browser_words(windows_path, |p| p == windows_path).unwrap(), [windows_path]);
        assert!(browser_words("  ", none).is_err());
        assert!(browser_words("'unclosed", none).unwrap_err().contains("cannot be split"));
    }

    #[test]
    fn a_path_stays_on_the_org() {
        assert!(relative_path("/lightning/setup/SetupOneHome/home").is_ok());
        for elsewhere in [
            "https://evil.example",
            "//evil.example/x",
            "lightning",
            "/a b",
            "/a\nb",
            "/\\evil.example",
            "/a\\b",
        ] {
            assert!(relative_path(elsewhere).is_err(), "{elsewhere:?}");
        }
    }
}

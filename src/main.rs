//! The sfcred binary: parses the command line, runs the command, and turns errors
//! into messages on stderr and exit codes.

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Parser;
use sfcred::cli::{Cli, Command, LoginArgs, LogoutArgs, ProfilesArgs, TokenArgs, TokenFormat};
use sfcred::keychain::{Keychain, StoreKind};
use sfcred::profile::format_duration;
use sfcred::settings::{Settings, settings_dir};
use sfcred::{Error, ErrorClass, login, mint};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Login(args) => run_login(args),
        Command::Token(args) => run_token(args),
        Command::Logout(args) => run_logout(args),
        Command::Profiles(args) => run_profiles(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Error(error)) => report(&error),
    }
}

/// The one place errors become messages and exit codes (documented in README).
fn report(error: &Error) -> ExitCode {
    let mut message = format!("sfcred: error: {error}\n");
    if let Some(hint) = error.hint() {
        message.push_str(&format!("  hint: {hint}\n"));
    }
    let _ = std::io::stderr().write_all(message.as_bytes());
    ExitCode::from(match error.class() {
        ErrorClass::Other => 1,
        ErrorClass::Usage => 2,
        ErrorClass::NotLoggedIn => 3,
        ErrorClass::Rejected => 4,
        ErrorClass::Unavailable => 5,
        ErrorClass::Keychain => 6,
    })
}

enum Failure {
    Error(Error),
    /// Whoever read our output went away: nothing left to say.
    BrokenPipe,
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Error(error.into())
    }
}

fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
        Err(e) => Err(Failure::Error(Error::Output(e))),
        Ok(()) => Ok(()),
    }
}

fn run_login(args: LoginArgs) -> Result<(), Failure> {
    let dir = settings_dir()?;
    let interactive = login::can_prompt(args.no_input, args.key_stdin);
    let new = login::resolve(&args, interactive)?;
    if new.profile.store == StoreKind::Keyutils {
        eprintln!(
            "sfcred: note: the kernel keyring (keyutils) forgets its keys at reboot; log in again after one"
        );
    }
    let (name, username, url) =
        (new.profile.name.clone(), new.profile.username.clone(), new.profile.login_url.clone());
    let verified = login::save(&dir, new, !args.no_verify, SystemTime::now())?;
    let check = match verified {
        Some(token) => format!("verified with {url}: instance {}", token.instance_url),
        None => "not verified (--no-verify)".to_owned(),
    };
    eprintln!("sfcred: logged in profile {name:?} as {username}; {check}");
    Ok(())
}

fn run_token(args: TokenArgs) -> Result<(), Failure> {
    let settings = Settings::load(&settings_dir()?)?;
    let profile = settings.profile(&args.profile.profile)?;
    let token = mint::mint_for_profile(profile, SystemTime::now())?;
    match args.format {
        TokenFormat::Json => print(&format!("{}\n", token.to_json())),
        TokenFormat::Token => {
            print(&format!("{}\n", secrecy::ExposeSecret::expose_secret(&token.access_token)))
        }
    }
}

fn run_logout(args: LogoutArgs) -> Result<(), Failure> {
    let dir = settings_dir()?;
    let mut settings = Settings::load(&dir)?;
    let names: Vec<String> = match args.all {
        true => settings.profiles().map(|p| p.name.clone()).collect(),
        false => vec![settings.profile(&args.profile.profile)?.name.clone()],
    };
    for name in &names {
        let profile = settings.profile(name)?;
        // Secrets go first: settings without secrets can be logged into again,
        // secrets without settings would be forgotten in the keychain.
        Keychain::open(StoreKind::from_env_or(profile.store)?)?.delete(name)?;
        settings.remove(name);
        settings.save(&dir)?;
        eprintln!("sfcred: logged out profile {name:?}");
    }
    if names.is_empty() {
        eprintln!("sfcred: no profiles to log out");
    }
    Ok(())
}

fn run_profiles(args: ProfilesArgs) -> Result<(), Failure> {
    let settings = Settings::load(&settings_dir()?)?;
    if args.json {
        let list: Vec<_> = settings.profiles().map(profile_json).collect();
        return print(&format!("{}\n", serde_json::Value::Array(list)));
    }
    let rows: Vec<[String; 6]> = settings
        .profiles()
        .map(|p| {
            [
                p.name.clone(),
                p.username.clone(),
                p.login_url.to_string(),
                p.audience.clone(),
                format_duration(p.ttl),
                p.store.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("sfcred: no profiles yet; add one with: sfcred login");
        return Ok(());
    }
    let header = ["PROFILE", "USERNAME", "LOGIN URL", "AUDIENCE", "TTL", "STORE"].map(String::from);
    print(&table(std::iter::once(header).chain(rows)))
}

fn profile_json(p: &sfcred::profile::Profile) -> serde_json::Value {
    serde_json::json!({
        "profile": p.name,
        "username": p.username,
        "login_url": p.login_url.as_str(),
        "audience": p.audience,
        "ttl": format_duration(p.ttl),
        "store": p.store.name(),
    })
}

fn table<const N: usize>(rows: impl Iterator<Item = [String; N]> + Clone) -> String {
    let mut widths = [0; N];
    for row in rows.clone() {
        for (width, cell) in widths.iter_mut().zip(&row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

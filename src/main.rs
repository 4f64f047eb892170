//! The sfcred binary: parses the command line, runs the command, and turns errors
//! into messages on stderr and exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Parser;
use sfcred::cli::{
    Cli, Command, CredentialArgs, DoctorArgs, EnvArgs, ExecArgs, GitCredentialArgs, GitOperation,
    InvalidateArgs, KeygenArgs, LoginArgs, LogoutArgs, ProfilesArgs, TokenArgs, TokenFormat,
};
use sfcred::diag::Progress;
use sfcred::doctor::{self, Status};
use sfcred::fetch::{self, Need};
use sfcred::keychain::{Keychain, StoreKind};
use sfcred::profile::{format_duration, parse_duration};
use sfcred::protocols::{env, exec_credential, git, json};
use sfcred::settings::{Settings, settings_dir};
use sfcred::token::rfc3339;
use sfcred::{Error, ErrorClass, login};

fn main() -> ExitCode {
    // Shells' TAB completion calls back here with COMPLETE set (see completions/).
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .bin("sfcred")
        .completer("sfcred")
        .complete();
    let cli = Cli::parse();
    sfcred::diag::set_verbose(cli.verbose);
    let result = match cli.command {
        Command::Login(args) => run_login(args),
        Command::Keygen(args) => run_keygen(args),
        Command::Doctor(args) => run_doctor(args),
        Command::Token(args) => run_token(args),
        Command::Invalidate(args) => run_invalidate(args),
        Command::Credential(args) => run_credential(args),
        Command::GitCredential(args) => run_git_credential(args),
        Command::Exec(args) => run_exec(args),
        Command::Env(args) => run_env(args),
        Command::Logout(args) => run_logout(args),
        Command::Profiles(args) => run_profiles(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Quiet(code)) => code,
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
    if let Error::Exec { source, .. } = error {
        // As env(1) and shells do: 127 when the command is not there, 126 when it cannot run.
        return ExitCode::from(if source.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 });
    }
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
    /// Already reported on stdout (doctor's failing checks): only the exit code is left.
    Quiet(ExitCode),
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
    let verified = {
        let _progress = (!args.no_verify).then(|| Progress::start(&format!("checking the setup with {url}")));
        login::save(&dir, new, !args.no_verify, SystemTime::now())?
    };
    let check = match verified {
        Some(token) => format!("verified with {url}: instance {}", token.instance_url),
        None => "not verified (--no-verify)".to_owned(),
    };
    eprintln!("sfcred: logged in profile {name:?} as {username}; {check}");
    Ok(())
}

fn run_keygen(args: KeygenArgs) -> Result<(), Failure> {
    let dir = settings_dir()?;
    let name = args.profile.profile;
    sfcred::profile::validate_profile_name(&name)?;
    let cert_out = args.cert_out.unwrap_or_else(|| format!("{name}.crt").into());
    let keychain = Keychain::open(args.store)?;
    if !args.force {
        match keychain.read_private_key(&name) {
            Err(e) if e.is_missing() => {}
            Err(e) => return Err(e.into()),
            Ok(_) => {
                return Err(
                    Error::WouldReplace { what: format!("the private key of profile {name:?}") }.into()
                );
            }
        }
    }
    let common_name = args.cn.unwrap_or_else(|| format!("sfcred {name}"));
    let pair = {
        let _progress = Progress::start(&format!("making a {}-bit RSA key", args.bits.bits()));
        sfcred::keygen::generate(args.bits, &common_name, args.days, SystemTime::now())
            .map_err(Error::Keygen)?
    };
    // Files first: if one cannot be written, the keychain keeps the key it had.
    write_keygen_file(&cert_out, pair.certificate.pem.as_bytes(), args.force, false)?;
    if let Some(key_out) = &args.key_out {
        let pem = secrecy::ExposeSecret::expose_secret(&pair.key_pem);
        write_keygen_file(key_out, pem.as_bytes(), args.force, true)?;
    }
    keychain.write_private_key(&name, &pair.key)?;
    sfcred::certificate::save(&dir, &name, &pair.certificate)?;
    if args.store == StoreKind::Keyutils {
        eprintln!("sfcred: note: the kernel keyring (keyutils) forgets its keys at reboot");
    }
    let until = rfc3339(pair.certificate.not_after);
    eprintln!(
        "sfcred: stored a new {}-bit key for profile {name:?} in the {} keychain{}\n\
         sfcred: wrote the certificate to {} (valid until {until})\n\n\
         Next:\n  \
         1. Upload {} to the connected app (Use digital signatures).\n  \
         2. Pre-authorize the user: Permitted Users = Admin approved users are pre-authorized,\n     \
            and add the user's profile or permission set.\n  \
         3. sfcred login --profile {name} --username USERNAME --client-id CONSUMER_KEY",
        args.bits.bits(),
        args.store,
        args.key_out.as_ref().map_or(String::new(), |p| format!(" (and a copy in {})", p.display())),
        cert_out.display(),
        cert_out.display(),
    );
    Ok(())
}

fn write_keygen_file(path: &std::path::Path, bytes: &[u8], force: bool, private: bool) -> Result<(), Error> {
    sfcred::fs::write_new(path, bytes, force, private).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => Error::WouldReplace { what: path.display().to_string() },
        _ => Error::Write { path: path.to_owned(), source },
    })
}

fn run_doctor(args: DoctorArgs) -> Result<(), Failure> {
    let dir = settings_dir()?;
    let progress = |step: &str| drop(Progress::start(step));
    let checks = doctor::run(&dir, &args.profile.profile, args.offline, &progress);
    if args.json {
        print(&format!("{}\n", serde_json::to_string(&checks).expect("checks serialize")))?;
    } else {
        let color = sfcred::diag::use_color(std::io::stdout().is_terminal());
        print(&doctor::render(&args.profile.profile, &checks, color))?;
    }
    match checks.iter().any(|c| c.status == Status::Fail) {
        true => Err(Failure::Quiet(ExitCode::from(1))),
        false => Ok(()),
    }
}

fn run_token(args: TokenArgs) -> Result<(), Failure> {
    let profile = &fetch::profile(&args.profile.profile)?;
    let need = Need { min_valid: parse_duration(&args.min_valid)?, refresh: args.refresh };
    // The caller's format is checked before any token is minted.
    let exec_info = match args.format {
        TokenFormat::ExecCredential => {
            let info = std::env::var("KUBERNETES_EXEC_INFO").ok();
            Some(
                exec_credential::parse_exec_info(info.as_deref())
                    .map_err(|e| bad_request("exec credential", e))?,
            )
        }
        _ => None,
    };
    let token = fetch::token(profile, need, &SystemTime::now)?;
    match exec_info {
        Some(info) => print(&format!("{}\n", exec_credential::exec_credential(&info, &token))),
        None if args.format == TokenFormat::Token => print(&format!("{}\n", token.secret())),
        None => print(&format!("{}\n", token.to_json())),
    }
}

fn bad_request(protocol: &'static str, reason: impl ToString) -> Error {
    Error::BadRequest { protocol, reason: reason.to_string() }
}

/// A request on stdin: callers send a few hundred bytes; more is not a request.
fn read_request(protocol: &'static str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    const LIMIT: u64 = 64 * 1024;
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(LIMIT + 1)
        .read_to_end(&mut input)
        .map_err(|e| bad_request(protocol, format!("cannot read standard input: {e}")))?;
    if input.len() as u64 > LIMIT {
        return Err(bad_request(protocol, format!("it is over {} KiB", LIMIT / 1024)));
    }
    Ok(input)
}

fn run_credential(args: CredentialArgs) -> Result<(), Failure> {
    let answer = || -> Result<sfcred::token::Token, Error> {
        let request = json::parse_request(&read_request("JSON")?).map_err(|e| bad_request("JSON", e))?;
        let profile = fetch::profile(request.profile.as_deref().unwrap_or(&args.profile.profile))?;
        fetch::token(&profile, request.need(), &SystemTime::now)
    };
    match answer() {
        Ok(token) => print(&format!("{}\n", json::token_response(&token))),
        Err(error) => {
            // The caller reads the error from stdout; a person reads it on stderr.
            print(&format!("{}\n", json::error_response_for(&error)))?;
            Err(Failure::Error(error))
        }
    }
}

fn run_git_credential(args: GitCredentialArgs) -> Result<(), Failure> {
    let protocol = "git credential";
    let request = git::parse_request(&read_request(protocol)?).map_err(|e| bad_request(protocol, e))?;
    if args.operation == GitOperation::Store {
        return Ok(());
    }
    let profile = &match &args.profile {
        Some(name) => fetch::profile(name)?,
        // No profile for this host: say nothing, so git asks its next helper.
        None => match fetch::profile_for_host(&request)? {
            Some(profile) => profile,
            None => return Ok(()),
        },
    };
    if args.operation == GitOperation::Get {
        let token = fetch::token(profile, Need::default(), &SystemTime::now)?;
        return print(&git::get_response(&request, &token));
    }
    // Erase the token only if it is the one git saw fail, not a newer one.
    let git_saw_no_secret = request.password.is_none() && request.credential.is_none();
    match fetch::cached(profile)? {
        Some(token) if git_saw_no_secret || request.carries(&token) => Ok(fetch::invalidate(profile)?),
        _ => Ok(()),
    }
}

fn run_exec(args: ExecArgs) -> Result<(), Failure> {
    let token = fetch::token(&fetch::profile(&args.profile.profile)?, Need::default(), &SystemTime::now)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = std::process::Command::new(program);
    command.args(rest).envs(env::variables(&token));
    let cannot_run = |source| Error::Exec { program: program.to_string_lossy().into_owned(), source };
    #[cfg(unix)]
    {
        // Replacing this process hands the command our pid: signals reach it, and its
        // exit code is ours.
        let source = std::os::unix::process::CommandExt::exec(&mut command);
        Err(cannot_run(source).into())
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(cannot_run)?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

fn run_env(args: EnvArgs) -> Result<(), Failure> {
    let token = fetch::token(&fetch::profile(&args.profile.profile)?, Need::default(), &SystemTime::now)?;
    let shell = args.shell.unwrap_or_else(env::Shell::from_env);
    print(&env::export_lines(shell, &env::variables(&token)))
}

fn run_invalidate(args: InvalidateArgs) -> Result<(), Failure> {
    fetch::invalidate(&fetch::profile(&args.profile.profile)?)?;
    Ok(())
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
        fetch::invalidate(profile)?;
        Keychain::for_profile(profile)?.delete(name)?;
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
    let now = SystemTime::now();
    let mut listed = Vec::new();
    for profile in settings.profiles() {
        let valid_until =
            fetch::cached(profile)?.filter(|t| !t.remaining(now).is_zero()).map(|t| t.expires_at);
        listed.push((profile, valid_until));
    }
    if args.json {
        let list: Vec<_> = listed.iter().map(|(p, until)| profile_json(p, *until)).collect();
        return print(&format!("{}\n", serde_json::Value::Array(list)));
    }
    let rows: Vec<[String; 7]> = listed
        .iter()
        .map(|(p, until)| {
            [
                p.name.clone(),
                p.username.clone(),
                p.login_url.to_string(),
                p.audience.clone(),
                format_duration(p.ttl),
                p.store.to_string(),
                until.map_or("none".into(), |t| format!("valid until {}", rfc3339(t))),
            ]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("sfcred: no profiles yet; add one with: sfcred login");
        return Ok(());
    }
    let header = ["PROFILE", "USERNAME", "LOGIN URL", "AUDIENCE", "TTL", "STORE", "TOKEN"].map(String::from);
    print(&table(std::iter::once(header).chain(rows)))
}

fn profile_json(p: &sfcred::profile::Profile, valid_until: Option<SystemTime>) -> serde_json::Value {
    serde_json::json!({
        "profile": p.name,
        "username": p.username,
        "login_url": p.login_url.as_str(),
        "audience": p.audience,
        "ttl": format_duration(p.ttl),
        "store": p.store.name(),
        "cache": p.cache,
        "token_valid_until": valid_until.map(rfc3339),
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

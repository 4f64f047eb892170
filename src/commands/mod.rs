//! One module per command: each takes plain options (built by `cli.rs` from the command
//! line), does its work, prints what its caller asked for, and returns how it ended.

pub mod certificate;
pub mod completions;
pub mod credential;
pub mod doctor;
pub mod eca;
pub mod env;
pub mod exec;
pub mod git_credential;
pub mod import;
pub mod invalidate;
pub mod keygen;
pub mod login;
pub mod logout;
pub mod man;
pub mod open;
pub mod profiles;
pub mod rotate;
pub mod token;
pub mod use_profile;

use std::io::Write;

use crate::error::Error;

/// How a command ended, when no error stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Doctor found a failing check; its report on stdout says which.
    ChecksFailed,
    /// The command `exec` ran exited with this code (where exec() cannot replace us).
    ChildExited(i32),
}

/// Writes what the caller asked for to stdout.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(Error::Output)
}

/// Writes `text` and a newline to stdout, for a token's outputs: the line is joined in a
/// buffer wiped when dropped, and written in one call, which stdout's line buffer passes
/// straight through, so no unwiped copy is made on the way.
pub fn print_line(text: &str) -> Result<(), Error> {
    let mut line = secrecy::zeroize::Zeroizing::new(String::with_capacity(text.len() + 1));
    line.push_str(text);
    line.push('\n');
    print(&line)
}

/// Writes a new file for the user, replacing one only when `replace`.
fn write_file(
    path: &std::path::Path,
    bytes: &[u8],
    replace: bool,
    readers: crate::stores::fs::Readers,
) -> Result<(), Error> {
    crate::stores::fs::write_new(path, bytes, replace, readers).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => Error::WouldReplace { what: path.display().to_string() },
        _ => Error::Write { path: path.to_owned(), source },
    })
}

/// Prompts only when a person is there to answer.
fn can_prompt() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for a secret on the terminal, without echo. Echo goes off before the prompt shows
/// (glibc's getpass order), so an answer typed as soon as the prompt appears is neither
/// echoed nor flushed; dialoguer's prompt turns echo off after showing it.
#[cfg(unix)]
fn ask_secret(what: &'static str) -> Result<secrecy::SecretString, Error> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let failed = |e: std::io::Error| Error::Prompt { what, reason: e.to_string() };
    let stdin = std::io::stdin();
    let fd = stdin.as_raw_fd();
    // SAFETY: termios is plain data that tcgetattr fills in.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut termios) } != 0 {
        return Err(failed(std::io::Error::last_os_error()));
    }
    let original = termios;
    termios.c_lflag &= !libc::ECHO;
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &termios) } != 0 {
        return Err(failed(std::io::Error::last_os_error()));
    }
    let mut stderr = std::io::stderr();
    let mut answer = secrecy::zeroize::Zeroizing::new(String::new());
    let read = write!(stderr, "{what}: ").and_then(|()| stdin.lock().read_line(&mut answer));
    unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, &original) };
    let _ = writeln!(stderr, "[hidden]");
    match read.map_err(failed)? {
        0 => Err(failed(std::io::ErrorKind::UnexpectedEof.into())),
        _ => Ok(secrecy::SecretString::from(answer.trim())),
    }
}

/// Asks for a secret on the terminal, without echo.
#[cfg(not(unix))]
fn ask_secret(what: &'static str) -> Result<secrecy::SecretString, Error> {
    dialoguer::Password::new()
        .with_prompt(what)
        .interact()
        .map(|s| secrecy::SecretString::from(secrecy::zeroize::Zeroizing::new(s).trim()))
        .map_err(|e| Error::Prompt { what, reason: e.to_string() })
}

/// A protocol request that could not be read or parsed.
fn bad_request(protocol: &'static str, reason: impl ToString) -> Error {
    Error::BadRequest { protocol, reason: reason.to_string() }
}

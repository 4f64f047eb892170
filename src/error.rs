//! The one error type the binary reports: each layer's error, wrapped, with its class
//! (which owns the exit code and the JSON protocol's `kind`) and the hint that tells the
//! user what to do next.

use std::time::Duration;

use crate::config::context::ContextError;
use crate::config::env_profile::EnvironmentError;
use crate::config::profile::{InvalidSetting, format_duration};
use crate::keys::certificate::CertificateError;
use crate::keys::pkcs11::Pkcs11Error;
use crate::keys::private_key::KeyError;
use crate::keys::signer::SignError;
use crate::rotation::state::RotationError;
use crate::salesforce::eca::EcaError;
use crate::salesforce::exchange::ExchangeError;
use crate::salesforce::sf_cli::SfCliError;
use crate::stores::cache::CacheError;
use crate::stores::keychain::KeychainError;
use crate::stores::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error(transparent)]
    Pkcs11(#[from] Pkcs11Error),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error("profile {profile:?} is logged in with the key keygen would replace")]
    LiveKey { profile: String },
    #[error(transparent)]
    Eca(#[from] EcaError),
    #[error("profile {profile:?} has no certificate and no key to make one with")]
    NoCertificate { profile: String },
    #[error(transparent)]
    SfCli(#[from] SfCliError),
    #[error("the key file {path} that the Salesforce CLI's login {org:?} names is gone")]
    KeyFileGone { path: std::path::PathBuf, org: String, profile: String },
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error("cannot open the browser ({command}): {reason}")]
    Browser { command: String, reason: String },
    /// `asked`: the request as the caller gave it (`--min-valid 1h`, `min_valid_secs 3600`);
    /// `by_exp`: the lifetime is a JWT-based token's own, not the profile's ttl.
    #[error("{asked} is not shorter than profile {profile:?}'s token lifetime ({})", format_duration(*ttl))]
    MinValidTooLong { asked: String, min_valid: Duration, ttl: Duration, profile: String, by_exp: bool },
    /// `what` is the prompt's text, for a terminal; the message names the flag.
    #[error("{flag} is missing, and sfcred may not ask for it here")]
    MissingInput { what: &'static str, flag: &'static str },
    /// A value no prompt asks for: only its flag gives it.
    #[error("missing {what}")]
    MissingFlag { what: &'static str, flag: &'static str },
    #[error("the fleet key is {bytes} bytes; a fleet key has {min} at least")]
    ShortFleetKey { bytes: usize, min: usize },
    #[error("cannot make a key pair: {0}")]
    Keygen(String),
    #[error("bad {protocol} request: {reason}")]
    BadRequest { protocol: &'static str, reason: String },
    #[error("cannot run {program}: {source}")]
    Exec { program: String, source: std::io::Error },
    #[error("{what} exists already")]
    WouldReplace { what: String },
    #[error("cannot write {path}: {source}")]
    Write { path: std::path::PathBuf, source: std::io::Error },
    #[error("the key does not match the certificate {path}")]
    KeyCertificateMismatch { path: std::path::PathBuf },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    #[error("cannot ask for {what}: {reason}")]
    Prompt { what: &'static str, reason: String },
    /// A failure another caller met moments ago, answered without asking Salesforce again.
    #[error("{message} (a request {seconds_ago}s ago; not asked again for {retry_in}s)")]
    Remembered { class: ErrorClass, message: String, hint: Option<String>, seconds_ago: u64, retry_in: u64 },
}

/// What kind of failure: each class has its own exit code and JSON `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad flags, settings or input files.
    Usage,
    /// The profile does not exist or its secrets are gone.
    NotLoggedIn,
    /// Salesforce refused the assertion.
    Rejected,
    /// The network or the server failed.
    Unavailable,
    /// The keychain could not be used.
    Keychain,
    Other,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::Usage,
        ErrorClass::NotLoggedIn,
        ErrorClass::Rejected,
        ErrorClass::Unavailable,
        ErrorClass::Keychain,
        ErrorClass::Other,
    ];

    /// The class whose `kind` this is.
    pub fn from_kind(kind: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|class| class.kind() == kind)
    }

    /// The exit code docs/reference.md documents for the class.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::Other => 1,
            ErrorClass::Usage => 2,
            ErrorClass::NotLoggedIn => 3,
            ErrorClass::Rejected => 4,
            ErrorClass::Unavailable => 5,
            ErrorClass::Keychain => 6,
        }
    }

    /// The `kind` of the JSON protocol's error object; stable across versions.
    pub fn kind(self) -> &'static str {
        match self {
            ErrorClass::Usage => "bad_request",
            ErrorClass::NotLoggedIn => "not_logged_in",
            ErrorClass::Rejected => "rejected",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Keychain => "keychain",
            ErrorClass::Other => "other",
        }
    }
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Context(ContextError::NoCacheDir) => ErrorClass::Other,
            Error::Context(_) => ErrorClass::Usage,
            Error::Settings(SettingsError::UnknownProfile { .. }) => ErrorClass::NotLoggedIn,
            Error::Settings(SettingsError::Parse { .. } | SettingsError::Untrusted { .. }) => {
                ErrorClass::Usage
            }
            Error::Settings(_) => ErrorClass::Other,
            Error::Keychain(e) | Error::Cache(CacheError::Keychain(e)) => keychain_class(e),
            Error::Key(_)
            | Error::Invalid(_)
            | Error::Environment(_)
            | Error::MissingInput { .. }
            | Error::MissingFlag { .. }
            | Error::ShortFleetKey { .. } => ErrorClass::Usage,
            Error::BadRequest { .. } | Error::Exec { .. } => ErrorClass::Usage,
            Error::WouldReplace { .. } | Error::Certificate(_) | Error::KeyCertificateMismatch { .. } => {
                ErrorClass::Usage
            }
            Error::Write { .. } => ErrorClass::Other,
            Error::MinValidTooLong { .. } => ErrorClass::Usage,
            Error::Browser { .. } => ErrorClass::Other,
            Error::Cache(CacheError::LockTimeout { .. }) => ErrorClass::Unavailable,
            Error::Cache(_) => ErrorClass::Other,
            Error::Exchange(
                ExchangeError::Rejected { .. }
                | ExchangeError::RevokeRefused { .. }
                | ExchangeError::FrontdoorRefused { .. },
            ) => ErrorClass::Rejected,
            Error::Exchange(ExchangeError::FrontdoorBadAnswer { status, .. })
                if crate::salesforce::exchange::is_refusal(*status) =>
            {
                ErrorClass::Rejected
            }
            Error::Exchange(ExchangeError::BadInstanceUrl { .. }) => ErrorClass::Other,
            Error::Exchange(ExchangeError::TrustRoots { .. }) => ErrorClass::Usage,
            Error::Exchange(_) => ErrorClass::Unavailable,
            Error::Pkcs11(e) => pkcs11_class(e),
            Error::Sign(e) if e.device_failed => ErrorClass::Keychain,
            Error::Sign(_) | Error::Keygen(_) | Error::Output(_) | Error::Prompt { .. } => ErrorClass::Other,
            Error::Remembered { class, .. } => *class,
            Error::Rotation(RotationError::NotAccepted { .. } | RotationError::BothRefused { .. }) => {
                ErrorClass::Rejected
            }
            Error::Rotation(RotationError::Read { .. } | RotationError::Write { .. }) => ErrorClass::Other,
            Error::Rotation(_) | Error::LiveKey { .. } | Error::Eca(_) => ErrorClass::Usage,
            Error::NoCertificate { .. } => ErrorClass::NotLoggedIn,
            Error::SfCli(SfCliError::Unknown { .. }) => ErrorClass::NotLoggedIn,
            Error::SfCli(SfCliError::Unreadable { .. }) => ErrorClass::Other,
            Error::SfCli(SfCliError::NotJwt { .. }) | Error::KeyFileGone { .. } => ErrorClass::Usage,
        }
    }

    /// The process's exit code: the class's, except for a command `exec` could not run,
    /// which exits as env(1) and shells do (127: not found, 126: cannot run).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            Error::Exec { .. } => 126,
            _ => self.class().exit_code(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Context(e) => e.hint(),
            Error::Settings(e) => e.hint(),
            Error::Keychain(e) => e.hint(),
            Error::Key(e) => e.hint(),
            Error::Environment(e) => e.hint(),
            Error::Exchange(e) => e.hint(),
            Error::Cache(e) => e.hint(),
            Error::MinValidTooLong { profile, min_valid, by_exp: false, .. } => {
                // The next whole hour above what was asked, when a ttl can be that long.
                let ttl = Duration::from_secs((min_valid.as_secs() / 3600 + 1) * 3600);
                Some(match ttl <= crate::config::profile::MAX_DURATION {
                    true => format!(
                        "ask for less, or log in again with a longer --ttl: sfcred login --profile {profile} --ttl {}",
                        format_duration(ttl)
                    ),
                    false => "ask for less: a profile's tokens are trusted 24h at most".into(),
                })
            }
            Error::Browser { .. } => Some(
                "sfcred open --url-only prints the link instead; --browser CMD or BROWSER names the browser"
                    .into(),
            ),
            Error::MinValidTooLong { min_valid, by_exp: true, .. } => {
                Some(match crate::salesforce::eca::jwt_timeout_longer_than(*min_valid) {
                    Some(timeout) => format!(
                        "ask for less, or give the app's JWT-based tokens a longer timeout (sfcred eca --jwt-tokens \
                         --jwt-timeout {}, deploy it, then sfcred token --refresh)",
                        format_duration(timeout)
                    ),
                    None => "ask for less: Salesforce's JWT-based tokens live 12h at most".into(),
                })
            }
            Error::Invalid(e) => Some(e.hint()),
            Error::Output(_) => None,
            Error::BadRequest { protocol, .. } => {
                Some(format!("docs/protocols.md describes the {protocol} protocol"))
            }
            Error::Exec { .. } => Some("check the command's name and your PATH".into()),
            Error::WouldReplace { .. } => {
                Some("pass --force to replace it, or choose another path or profile".into())
            }
            Error::Write { .. } => Some("check the path's directory and permissions".into()),
            Error::Certificate(e) => e.hint(),
            Error::KeyCertificateMismatch { .. } => {
                Some("give the certificate uploaded for this key, or the key of this certificate".into())
            }
            Error::MissingFlag { flag, .. } => Some(format!("pass {flag}")),
            Error::MissingInput { flag, .. } => {
                Some(format!("pass {flag}, or run in a terminal without --no-input to be asked"))
            }
            Error::Pkcs11(e) => e.hint(),
            Error::Sign(e) => Some(e.hint.clone()),
            Error::Keygen(_) => {
                Some("try again; if it persists, make the key elsewhere and log in with --key-file".into())
            }
            Error::Prompt { .. } => Some("pass the value as a flag".into()),
            Error::ShortFleetKey { .. } => Some(
                "make one with openssl rand -base64 32, give every machine of the fleet the same (in \
                 SFCRED_CACHE_KEY, or at login's prompt), and log in again"
                    .into(),
            ),
            Error::Rotation(e) => e.hint(),
            Error::Eca(e) => e.hint(),
            Error::SfCli(e) => e.hint(),
            Error::KeyFileGone { org, profile, .. } => Some(format!(
                "give the key another way: sfcred import --from-sf {org} --profile {profile} --key-file PATH"
            )),
            Error::NoCertificate { profile } => Some(format!(
                "make a key and its certificate first: sfcred keygen --profile {profile} (or sfcred keygen --profile \
                 {profile} --pkcs11 URI), or log in with the certificate you have: sfcred login --cert PATH"
            )),
            Error::LiveKey { profile } => Some(format!(
                "replacing a live key breaks the profile until Salesforce has the new certificate; rotation does it \
                 without an outage: sfcred rotate start --profile {profile} (--force is for profiles not logged in)"
            )),
            Error::Remembered { hint, .. } => Some(match hint {
                Some(hint) => format!("{hint}; --refresh asks again at once"),
                None => "--refresh asks again at once".into(),
            }),
        }
    }

    /// Salesforce refused the assertion's signature: the key is not the app's certificate's.
    pub fn is_invalid_assertion(&self) -> bool {
        matches!(self, Error::Exchange(ExchangeError::Rejected { description, .. })
            if description.to_ascii_lowercase().contains("invalid assertion"))
    }

    /// Salesforce's answer to too many logins: it stays for a while.
    pub fn is_login_rate_exceeded(&self) -> bool {
        matches!(self, Error::Exchange(ExchangeError::Rejected { error, description })
            if error.eq_ignore_ascii_case("login_rate_exceeded")
                || description.to_ascii_lowercase().contains("login rate exceeded"))
    }

    /// Salesforce does not know the consumer key (a typo, or an app too new to be known yet).
    pub fn is_invalid_client_id(&self) -> bool {
        matches!(self, Error::Exchange(ExchangeError::Rejected { error, .. }) if error == "invalid_client_id")
    }

    /// Whoever read our output went away: nothing is left to say, and nothing failed.
    pub fn is_broken_pipe(&self) -> bool {
        // Windows says ERROR_NO_DATA (std's BrokenPipe) for a reader that went away; wine,
        // and Windows for a pipe never connected, ERROR_PIPE_NOT_CONNECTED (233).
        const ERROR_PIPE_NOT_CONNECTED: i32 = 233;
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe
            || (cfg!(windows) && e.raw_os_error() == Some(ERROR_PIPE_NOT_CONNECTED)))
    }
}

/// A token is a keychain in hardware: its faults are keychain faults; a key that is not
/// there is "not logged in"; a URI that names several keys, or an unfit key, is usage.
fn pkcs11_class(error: &Pkcs11Error) -> ErrorClass {
    match error {
        Pkcs11Error::NoKey { .. } => ErrorClass::NotLoggedIn,
        Pkcs11Error::SeveralKeys { .. }
        | Pkcs11Error::Unusable { .. }
        | Pkcs11Error::Exists { .. }
        | Pkcs11Error::PinSource { .. } => ErrorClass::Usage,
        _ => ErrorClass::Keychain,
    }
}

fn keychain_class(error: &KeychainError) -> ErrorClass {
    match error {
        KeychainError::Missing { .. } | KeychainError::Damaged { .. } => ErrorClass::NotLoggedIn,
        _ => ErrorClass::Keychain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_documented_code_and_kind() {
        let classes = [
            (ErrorClass::Other, 1, "other"),
            (ErrorClass::Usage, 2, "bad_request"),
            (ErrorClass::NotLoggedIn, 3, "not_logged_in"),
            (ErrorClass::Rejected, 4, "rejected"),
            (ErrorClass::Unavailable, 5, "unavailable"),
            (ErrorClass::Keychain, 6, "keychain"),
        ];
        for (class, code, kind) in classes {
            assert_eq!((class.exit_code(), class.kind()), (code, kind));
        }
    }
}

//! The one error type the binary reports, its class (which picks the exit code) and
//! the hint that tells the user what to do next.

use std::time::Duration;

use crate::cache::CacheError;
use crate::exchange::ExchangeError;
use crate::keychain::KeychainError;
use crate::private_key::KeyError;
use crate::profile::{InvalidSetting, format_duration};
use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error("--min-valid {} is not shorter than profile {profile:?}'s token lifetime ({})", format_duration(*min_valid), format_duration(*ttl))]
    MinValidTooLong { min_valid: Duration, ttl: Duration, profile: String },
    #[error("missing {what}")]
    MissingInput { what: &'static str, flag: &'static str },
    #[error("{name} is not set")]
    MissingEnv { name: &'static str },
    #[error("cannot sign the assertion: {0}")]
    Sign(String),
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
    #[error(transparent)]
    Certificate(#[from] crate::certificate::CertificateError),
    #[error("the key does not match the certificate {path}")]
    KeyCertificateMismatch { path: std::path::PathBuf },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    #[error("cannot ask for {what}: {reason}")]
    Prompt { what: &'static str, reason: String },
}

/// What kind of failure: each class has its own exit code.
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

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Settings(SettingsError::UnknownProfile { .. }) => ErrorClass::NotLoggedIn,
            Error::Settings(SettingsError::Parse { .. } | SettingsError::NoDirectory) => ErrorClass::Usage,
            Error::Settings(_) => ErrorClass::Other,
            Error::Keychain(KeychainError::Missing { .. } | KeychainError::Damaged { .. }) => {
                ErrorClass::NotLoggedIn
            }
            Error::Keychain(KeychainError::UnknownStore { .. } | KeychainError::BadTimeout { .. }) => {
                ErrorClass::Usage
            }
            Error::Keychain(_) => ErrorClass::Keychain,
            Error::Key(_) | Error::Invalid(_) | Error::MissingInput { .. } | Error::MissingEnv { .. } => {
                ErrorClass::Usage
            }
            Error::BadRequest { .. } | Error::Exec { .. } => ErrorClass::Usage,
            Error::WouldReplace { .. } | Error::Certificate(_) | Error::KeyCertificateMismatch { .. } => {
                ErrorClass::Usage
            }
            Error::Write { .. } => ErrorClass::Other,
            Error::MinValidTooLong { .. } | Error::Cache(CacheError::BadLockWait { .. }) => ErrorClass::Usage,
            Error::Cache(CacheError::LockTimeout { .. }) => ErrorClass::Unavailable,
            Error::Cache(_) => ErrorClass::Other,
            Error::Exchange(ExchangeError::Rejected { .. }) => ErrorClass::Rejected,
            Error::Exchange(_) => ErrorClass::Unavailable,
            Error::Sign(_) | Error::Keygen(_) | Error::Output(_) | Error::Prompt { .. } => ErrorClass::Other,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Settings(e) => e.hint(),
            Error::Keychain(e) => e.hint(),
            Error::Key(e) => e.hint(),
            Error::Exchange(e) => e.hint(),
            Error::Cache(e) => e.hint(),
            Error::MinValidTooLong { profile, .. } => Some(format!(
                "ask for less, or log in again with a longer --ttl: sfcred login --profile {profile} --ttl 2h"
            )),
            Error::Invalid(_) => Some("see the accepted values in sfcred help COMMAND".into()),
            Error::Output(_) => None,
            Error::BadRequest { protocol, .. } => {
                Some(format!("README's \"Serving tokens to other tools\" describes the {protocol} protocol"))
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
            Error::MissingEnv { name } => Some(format!(
                "set {name} too: a profile from the environment needs SFCRED_CLIENT_ID, SFCRED_USERNAME and \
                 SFCRED_PRIVATE_KEY or SFCRED_PRIVATE_KEY_FILE (README: CI jobs and containers)"
            )),
            Error::MissingInput { flag, .. } => {
                Some(format!("pass {flag}, or run in a terminal to be asked"))
            }
            Error::Sign(_) => Some("log in again to store the key afresh".into()),
            Error::Keygen(_) => {
                Some("try again; if it persists, make the key elsewhere and log in with --key-file".into())
            }
            Error::Prompt { .. } => Some("pass the value as a flag".into()),
        }
    }
}

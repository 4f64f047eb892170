//! sfcred: Salesforce access tokens from the OAuth 2.0 JWT bearer flow, with the private
//! key and consumer key kept in the OS keychain.
//!
//! A token request starts in [`mint`], which reads the [`keychain`], signs an
//! [`assertion`], and sends it through [`exchange`]; the result is a [`token::Token`].
//! Profiles ([`profile`]) are kept in the [`settings`] file.

pub mod assertion;
pub mod cli;
pub mod error;
pub mod exchange;
pub mod fs;
pub mod keychain;
pub mod login;
pub mod mint;
pub mod private_key;
pub mod profile;
pub mod settings;
pub mod token;

pub use error::{Error, ErrorClass};

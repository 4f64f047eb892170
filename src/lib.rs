//! sfcred: Salesforce access tokens from the OAuth 2.0 JWT bearer flow, with the private
//! key and consumer key kept in the OS keychain.
//!
//! A token request starts in [`fetch`], which serves it from the [`cache`] or, under a
//! per-profile lock, has [`mint`] read the [`keychain`], sign an [`assertion`] and send it
//! through [`exchange`]; the result is a [`token::Token`], cached for the next caller.
//! Profiles ([`profile`]) are kept in the [`settings`] file.

pub mod assertion;
pub mod cache;
pub mod certificate;
pub mod cli;
pub mod diag;
pub mod doctor;
pub mod environment;
pub mod error;
pub mod exchange;
pub mod fetch;
pub mod fs;
pub mod keychain;
pub mod keygen;
pub mod login;
pub mod mint;
pub mod private_key;
pub mod profile;
pub mod protocols;
pub mod settings;
pub mod token;

pub use error::{Error, ErrorClass};

//! sfcred: Salesforce access tokens from the OAuth 2.0 JWT bearer flow, with the private
//! key and consumer key kept in the OS keychain.
//!
//! A token request starts in [`fetch`], which serves it from the [`stores::cache`] or,
//! under the profile's lock, opens the profile's [`rotation::txn`], which has [`mint`] take
//! a [`keys::signer`] and the consumer key (from the [`stores::keychain`] or the
//! [`config::env_profile`]), sign a [`salesforce::assertion`] and send it through
//! [`salesforce::exchange`]; the [`token`] is cached for the next caller and printed by a
//! [`commands`] module. docs/ARCHITECTURE.md draws the layers; the folders follow them.

pub mod base;
pub mod config;
pub mod keys;
pub mod protocols;
pub mod rotation;
pub mod salesforce;
pub mod stores;
pub mod token;

// Errors of every layer below, then what signs, mints and fetches.
pub mod credentials;
pub mod error;
pub mod fetch;
pub mod mint;

// The commands, and the command line on top.
pub mod cli;
pub mod commands;

pub use error::{Error, ErrorClass};

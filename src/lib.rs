//! sfcred: Salesforce access tokens from the OAuth 2.0 JWT bearer flow, with the private
//! key and consumer key kept in the OS keychain.
//!
//! A token request starts in [`fetch`], which serves it from the [`cache`] or, under a
//! per-profile lock, has [`mint`] take the profile's [`credentials`] (a [`signer`] and the
//! consumer key, from the [`keychain`] or the [`environment`]), sign an [`assertion`] and
//! send it through [`exchange`]; the [`token`] is cached for the next caller and printed
//! by a [`commands`] module. docs/ARCHITECTURE.md draws the layers.

// Ground: plain data and helpers that import nothing else of sfcred (but diag).
pub mod choice;
pub mod diag;
pub mod env_vars;
pub mod fs;
pub mod pkcs11_uri;
pub mod profile;
pub mod token;

// What the environment and the files say.
pub mod context;
pub mod rotation;
pub mod settings;
pub mod sf_cli;

// Keys, certificates, keychains, the token cache, the wire, the formats.
pub mod assertion;
pub mod cache;
pub mod certificate;
pub mod eca;
pub mod environment;
pub mod exchange;
pub mod keychain;
pub mod keygen;
pub mod private_key;
pub mod protocols;
pub mod signer;

// Keys on hardware tokens, behind the same seam.
pub mod pkcs11;

// Errors of every layer below, then minting and fetching.
pub mod credentials;
pub mod error;
pub mod fetch;
pub mod mint;

// The commands, and the command line on top.
pub mod cli;
pub mod commands;

pub use error::{Error, ErrorClass};

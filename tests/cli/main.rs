//! sfcred's integration tests: the built binary, run in a temporary home against a
//! real keychain and the Salesforce stand-in on loopback.
//! They need D-Bus, GNOME Keyring and keyutils, so they are built on Linux alone.
#![cfg(target_os = "linux")]

#[path = "../common/run.rs"]
mod run;
mod support;

mod cache;
mod daily;
mod defects;
mod error_snapshots;
mod errors;
mod faults;
mod first_hour;
mod fleet;
mod generated;
mod hardening;
mod jwt_tokens;
mod layers;
mod lifecycle;
mod login_and_token;
mod open;
mod pkcs11;
mod protocols;
mod recipes;
mod rotation;
mod salesforce_cli;
mod third_round;
mod tpm;

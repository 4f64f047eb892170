//! sfcred's integration tests: the built binary, run in a temporary home against a
//! real keychain and the Salesforce stand-in on loopback.

mod support;

mod cache;
mod daily;
mod defects;
mod error_snapshots;
mod errors;
mod faults;
mod generated;
mod hardening;
mod layers;
mod login_and_token;
mod protocols;

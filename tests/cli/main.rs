//! sfcred's integration tests: the built binary, run in a temporary home against a
//! real keychain and the Salesforce stand-in on loopback.

mod support;

mod cache;
mod errors;
mod login_and_token;
mod protocols;

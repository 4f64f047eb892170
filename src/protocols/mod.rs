//! The formats other programs ask for tokens in. Each is pure: bytes or values in,
//! text out; the binary does the reading and printing.

pub mod env;
pub mod exec_credential;
pub mod git;
pub mod json;

//! Where sfcred keeps things: files that never half-happen, the settings file, the OS
//! keychain, and the token cache with its per-profile lock.

pub mod cache;
pub mod fs;
pub mod keychain;
pub mod settings;
pub mod tokens;

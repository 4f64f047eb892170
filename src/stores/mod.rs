//! Where sfcred keeps things: files that never half-happen, the settings file, the OS
//! keychain, the token cache with its per-profile lock, and the login budget's counts.

pub mod cache;
pub mod fs;
pub mod keychain;
pub mod login_budget;
pub mod settings;
pub mod shared;
pub mod tokens;

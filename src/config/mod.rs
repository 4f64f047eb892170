//! What the user configured: the environment variables (one registry), the environment
//! read once into a context, a profile's values, and a profile made of SFCRED_* variables.

pub mod context;
pub mod env_profile;
pub mod env_vars;
pub mod lookup;
pub mod profile;

//! Ground: helpers every layer may use, which import nothing of sfcred but each other.

pub mod bounded;
pub mod choice;
pub mod core_dumps;
pub mod diag;
pub mod digest;
pub mod failpoint;

//! Diagnostics on stderr: warnings that do not stop a command.

use std::io::Write;

pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "sfcred: warning: {message}");
}

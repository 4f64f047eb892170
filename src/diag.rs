//! Diagnostics on stderr: warnings, verbose traces (`-v`), and progress on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "sfcred: warning: {message}");
}

/// A `-v` trace line. Callers pass text that holds no secret.
pub fn verbose(message: impl FnOnce() -> String) {
    if VERBOSE.load(Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr().lock(), "sfcred: debug: {}", message());
    }
}

/// Colour only for a terminal, and never when NO_COLOR is set (no-color.org).
pub fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A "doing something..." line on stderr while a slow step runs, when stderr is a
/// terminal; nothing otherwise. The line is cleared when the guard drops.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn start(step: &str) -> Progress {
        let shown = std::io::stderr().is_terminal();
        if shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2Ksfcred: {step}...");
        }
        Progress { shown }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

//! Failure points: named places between the writes of a multi-write step, where a test can
//! kill the process (`SFCRED_FAILPOINT=NAME`, SIGKILL: nothing is flushed or undone) to
//! check that every state a crash leaves is one the next call finishes. With
//! `SFCRED_FAILPOINT=trace` each point says its name on stderr as it passes, so tests find
//! them all. Only debug builds have them (the tests run those); in a release build `hit`
//! is empty.

/// Passes the point `name`, or dies there if a test asked for it.
#[inline]
pub fn hit(name: &str) {
    #[cfg(debug_assertions)]
    if let Some(wanted) = std::env::var_os("SFCRED_FAILPOINT") {
        if wanted == "trace" {
            crate::base::diag::status(&format!("failpoint {name}"));
        } else if wanted == name {
            die();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(all(debug_assertions, unix))]
fn die() {
    // SAFETY: kill has no memory effects; the signal is for this process alone.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

#[cfg(all(debug_assertions, not(unix)))]
fn die() {
    std::process::abort();
}

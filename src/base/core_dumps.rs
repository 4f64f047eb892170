//! No core dumps: a crash must not write the key, the PIN or a token to disk. The soft
//! limit goes to 0 at start; `exec` puts it back for the command it runs, whose memory is
//! its own business.

#[cfg(unix)]
static SOFT_LIMIT: std::sync::OnceLock<libc::rlim_t> = std::sync::OnceLock::new();

/// Sets the soft core-file limit to 0, remembering what it was.
pub fn forbid() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit write and read the struct passed, nothing else.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                let _ = SOFT_LIMIT.set(limit.rlim_cur);
                limit.rlim_cur = 0;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
        }
    }
}

/// Puts the soft limit back as it was before [`forbid`].
pub fn allow_again() {
    #[cfg(unix)]
    if let Some(&soft) = SOFT_LIMIT.get() {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: as in forbid.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                limit.rlim_cur = soft;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
        }
    }
}

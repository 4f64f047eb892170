//! The login budget: Salesforce refuses more than 3,600 logins per user per hour
//! (`LOGIN_RATE_EXCEEDED`), so sfcred counts its own, per user and login host, over a
//! rolling hour, in a small user-only file beside the token cache, and warns before the
//! limit. The count is this machine's: other machines' logins are not in it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Salesforce's limit: logins per user per hour.
pub const LOGIN_LIMIT: u32 = 3600;
/// Past this many logins in an hour, each mint warns (at most once a minute).
pub const WARN_ABOVE: u32 = LOGIN_LIMIT / 5 * 4;
/// How long a mint waits for another process's count before it goes on without counting.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Logins per minute over the last hour, and when the last warning was given.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logins {
    v: u32,
    /// (minute since the epoch, logins in it), oldest first.
    minutes: Vec<(u64, u32)>,
    /// Seconds since the epoch. (Files of the first version held `warned_minute`, which
    /// let two warnings come a second apart; it is ignored.)
    #[serde(default)]
    warned_at: Option<u64>,
}

impl Logins {
    /// Logins in the hour up to `minute`, that minute included.
    pub fn in_the_hour_to(&self, minute: u64) -> u32 {
        // Saturating: the file is the user's, and a doctored count must not overflow.
        self.minutes
            .iter()
            .filter(|(m, _)| m.saturating_add(60) > minute && *m <= minute)
            .fold(0, |sum, (_, n)| sum.saturating_add(*n))
    }

    /// Counts one login at `now` (seconds since the epoch); forgets minutes older than an
    /// hour. Returns the hour's count (the fleet's, when a shared cache counted it: `fleet`),
    /// and whether to warn of it now: past [`WARN_ABOVE`], and a minute or more after the
    /// last warning on this machine (or when the clock stepped back past it).
    pub fn record(&mut self, now: u64, fleet: Option<u32>) -> (u32, bool) {
        let minute = now / 60;
        self.minutes.retain(|(m, _)| m.saturating_add(60) > minute && *m <= minute);
        match self.minutes.last_mut() {
            Some((m, n)) if *m == minute => *n = n.saturating_add(1),
            _ => self.minutes.push((minute, 1)),
        }
        let count = fleet.unwrap_or_else(|| self.in_the_hour_to(minute));
        let quiet = self.warned_at.is_some_and(|at| at <= now && now - at < 60);
        let warn = count > WARN_ABOVE && !quiet;
        if warn {
            self.warned_at = Some(now);
        }
        (count, warn)
    }
}

fn seconds_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The file that counts `username`'s logins at `login_url` (named by a digest: the
/// username is not in the file name).
fn path(cache_dir: &Path, username: &str, login_url: &str) -> PathBuf {
    cache_dir.join(format!("logins-{}.json", crate::base::digest::fields_hex(&[username, login_url])))
}

fn read(path: &Path) -> Logins {
    let bytes = crate::stores::fs::read_regular(path, 64 * 1024).ok().flatten();
    bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

/// The logins counted in the last hour.
pub fn count(cache_dir: &Path, username: &str, login_url: &str, now: SystemTime) -> u32 {
    read(&path(cache_dir, username, login_url)).in_the_hour_to(seconds_of(now) / 60)
}

/// Counts one login, under a lock beside the file so that concurrent mints of profiles of
/// one user lose no count. Returns the hour's count and whether to warn now.
pub fn record(
    cache_dir: &Path,
    username: &str,
    login_url: &str,
    now: SystemTime,
    fleet: Option<u32>,
) -> std::io::Result<(u32, bool)> {
    crate::stores::fs::create_private_dir(cache_dir)?;
    let path = path(cache_dir, username, login_url);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let lock = options.open(path.with_extension("lock"))?;
    let _lock = crate::stores::fs::lock_within(lock, LOCK_WAIT, || {}).map_err(|e| match e {
        crate::stores::fs::LockWait::Failed(e) => e,
        crate::stores::fs::LockWait::TimedOut => std::io::ErrorKind::TimedOut.into(),
    })?;
    let mut logins = read(&path);
    let counted = logins.record(seconds_of(now), fleet);
    logins.v = 1;
    crate::stores::fs::write_atomically(&path, &serde_json::to_vec(&logins).expect("counts serialize"))?;
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60;

    #[test]
    fn an_hour_rolls_by_the_minute() {
        let mut logins = Logins::default();
        assert_eq!(logins.record(1000 * MINUTE, None), (1, false));
        assert_eq!(logins.record(1000 * MINUTE + 59, None), (2, false));
        assert_eq!(logins.record(1030 * MINUTE, None), (3, false));
        assert_eq!(logins.in_the_hour_to(1059), 3);
        assert_eq!(logins.in_the_hour_to(1060), 1, "minute 1000 is an hour old");
        assert_eq!(logins.record(1089 * MINUTE, None), (2, false), "minute 1030 is still in");
        assert_eq!(logins.minutes, [(1030, 1), (1089, 1)], "older minutes are forgotten");
        assert_eq!(logins.in_the_hour_to(999), 0, "a clock stepped back counts nothing ahead of it");
    }

    #[test]
    fn past_four_fifths_of_the_limit_it_warns_once_a_minute() {
        let mut logins = Logins { v: 1, minutes: vec![(1000, WARN_ABOVE - 1)], warned_at: None };
        let at = 1001 * MINUTE + 59;
        assert_eq!(logins.record(at, None), (WARN_ABOVE, false), "at 80 % exactly: not yet");
        assert_eq!(logins.record(at, None), (WARN_ABOVE + 1, true));
        assert_eq!(
            logins.record(at + 1, None),
            (WARN_ABOVE + 2, false),
            "a second later, in the next minute"
        );
        assert_eq!(logins.record(at + 59, None), (WARN_ABOVE + 3, false), "59 s later");
        assert_eq!(logins.record(at + 60, None), (WARN_ABOVE + 4, true), "a minute later");
        assert_eq!(logins.record(at + 90, Some(10)), (10, false), "the fleet's count, when there is one");
        assert_eq!(logins.record(at + 120, Some(WARN_ABOVE + 1)), (WARN_ABOVE + 1, true));
        assert_eq!(logins.record(at, Some(WARN_ABOVE + 1)), (WARN_ABOVE + 1, true), "the clock stepped back");
    }

    #[test]
    fn a_doctored_count_saturates() {
        let mut logins = Logins { v: 1, minutes: vec![(999, u32::MAX), (1000, u32::MAX)], warned_at: None };
        assert_eq!(logins.record(1000 * MINUTE, None), (u32::MAX, true));
        assert_eq!(logins.minutes, [(999, u32::MAX), (1000, u32::MAX)]);
        let mut far = Logins { v: 1, minutes: vec![(u64::MAX, 1)], warned_at: None };
        assert_eq!(far.record(1000 * MINUTE, None), (1, false), "a minute from the far future is forgotten");
    }
}

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

/// Logins per minute over the last hour, and the minute of the last warning.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logins {
    v: u32,
    /// (minute since the epoch, logins in it), oldest first.
    minutes: Vec<(u64, u32)>,
    #[serde(default)]
    warned_minute: Option<u64>,
}

impl Logins {
    /// Logins in the hour up to `minute`, that minute included.
    pub fn in_the_hour_to(&self, minute: u64) -> u32 {
        self.minutes.iter().filter(|(m, _)| *m + 60 > minute && *m <= minute).map(|(_, n)| n).sum()
    }

    /// Counts one login in `minute`; forgets minutes older than an hour. Returns the hour's
    /// count (the fleet's, when a shared cache counted it: `fleet`), and whether to warn of
    /// it now (past [`WARN_ABOVE`], once a minute on this machine).
    pub fn record(&mut self, minute: u64, fleet: Option<u32>) -> (u32, bool) {
        self.minutes.retain(|(m, _)| *m + 60 > minute && *m <= minute);
        match self.minutes.last_mut() {
            Some((m, n)) if *m == minute => *n += 1,
            _ => self.minutes.push((minute, 1)),
        }
        let count = fleet.unwrap_or_else(|| self.in_the_hour_to(minute));
        let warn = count > WARN_ABOVE && self.warned_minute != Some(minute);
        if warn {
            self.warned_minute = Some(minute);
        }
        (count, warn)
    }
}

fn minute_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60
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
    read(&path(cache_dir, username, login_url)).in_the_hour_to(minute_of(now))
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
    let counted = logins.record(minute_of(now), fleet);
    logins.v = 1;
    crate::stores::fs::write_atomically(&path, &serde_json::to_vec(&logins).expect("counts serialize"))?;
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_rolls_by_the_minute() {
        let mut logins = Logins::default();
        assert_eq!(logins.record(1000, None), (1, false));
        assert_eq!(logins.record(1000, None), (2, false));
        assert_eq!(logins.record(1030, None), (3, false));
        assert_eq!(logins.in_the_hour_to(1059), 3);
        assert_eq!(logins.in_the_hour_to(1060), 1, "minute 1000 is an hour old");
        assert_eq!(logins.record(1089, None), (2, false), "minute 1030 is still in");
        assert_eq!(logins.minutes, [(1030, 1), (1089, 1)], "older minutes are forgotten");
        assert_eq!(logins.in_the_hour_to(999), 0, "a clock stepped back counts nothing ahead of it");
    }

    #[test]
    fn past_four_fifths_of_the_limit_it_warns_once_a_minute() {
        let mut logins = Logins { v: 1, minutes: vec![(1000, WARN_ABOVE - 1)], warned_minute: None };
        assert_eq!(logins.record(1001, None), (WARN_ABOVE, false), "at 80 % exactly: not yet");
        assert_eq!(logins.record(1001, None), (WARN_ABOVE + 1, true));
        assert_eq!(logins.record(1001, None), (WARN_ABOVE + 2, false), "said this minute already");
        assert_eq!(logins.record(1002, None), (WARN_ABOVE + 3, true), "and again the next");
        assert_eq!(logins.record(1003, Some(10)), (10, false), "the fleet's count, when there is one");
        assert_eq!(logins.record(1003, Some(WARN_ABOVE + 1)), (WARN_ABOVE + 1, true));
    }
}

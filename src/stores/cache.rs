//! The token cache: one small user-only file per profile, written atomically, and a
//! per-profile lock file so that one process mints while the others wait and read.
//!
//! Reading the cache is the hot path: it checks the directory and reads one file.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroizing;

use crate::config::profile::MAX_DURATION;
use crate::stores::fs::LockWait;
use crate::stores::keychain::{Keychain, KeychainError};
use crate::token::{Binding, Expiry, Token, TokenOf, UnixMillis, Versioned};

static WARNED_OF_DAMAGE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A cached token is a few hundred bytes; a larger file is not ours.
const MAX_FILE_BYTES: u64 = 64 * 1024;
/// 2 added the binding (login URL, consumer key digest); an entry of 1 is replaced.
const FORMAT_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the cache directory {path} is unsafe: {reason}")]
    UnsafeDirectory { path: PathBuf, reason: String },
    #[error("cannot use the cache directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not sfcred's: {reason}")]
    UnsafeFile { path: PathBuf, reason: String },
    #[error("another sfcred process has been refreshing profile {profile:?} for over {}s", waited.as_secs())]
    LockTimeout { profile: String, waited: Duration },
    #[error(transparent)]
    Keychain(#[from] KeychainError),
}

impl CacheError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CacheError::UnsafeDirectory { path, .. } => format!(
                "sfcred keeps tokens only in a directory that is yours alone (mode 0700, not a symlink): \
                 remove {} and let sfcred create it, or set SFCRED_CACHE_DIR",
                path.display()
            ),
            CacheError::Io { .. } => "check the directory's permissions and free space".into(),
            CacheError::UnsafeFile { path, .. } => {
                format!("remove {}; sfcred makes its own in its place", path.display())
            }
            CacheError::LockTimeout { .. } => {
                "the token endpoint may be slow or hung; try again (SFCRED_LOCK_TIMEOUT sets the wait)".into()
            }
            CacheError::Keychain(e) => return e.hint(),
        })
    }
}

/// A cached token and what it is bound to, which the token's printed forms leave out.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    #[serde(flatten)]
    token: TokenOf<UnixMillis>,
    #[serde(flatten)]
    binding: Binding,
}

/// The entry's bytes: the token, its times in milliseconds, and its binding, after a
/// format version.
pub fn encode(token: &Token) -> Zeroizing<Vec<u8>> {
    let token = token.clone().map_times(UnixMillis::from);
    let entry = Versioned { v: FORMAT_VERSION, body: Entry { binding: token.binding.clone(), token } };
    let mut json = crate::token::secret_json(&entry);
    Zeroizing::new(std::mem::take(&mut *json).into_bytes())
}

/// Decodes a cache entry; anything unexpected is a reason to treat it as a miss.
pub fn decode(bytes: &[u8]) -> Result<Token, String> {
    #[derive(serde::Deserialize)]
    struct Version {
        v: u32,
    }
    let version: Version = serde_json::from_slice(bytes).map_err(|_| "not a cache entry")?;
    if version.v != FORMAT_VERSION {
        return Err(format!("format version {} is not {FORMAT_VERSION}", version.v));
    }
    let Entry { token: mut entry, binding } =
        serde_json::from_slice(bytes).map_err(|_| "a damaged cache entry")?;
    entry.binding = binding;
    if entry.access_token.expose_secret().is_empty() {
        return Err("an entry without a token".into());
    }
    let (issued_at, expires_at) = (entry.issued_at.to_time(), entry.expires_at.to_time());
    let lifetime = issued_at.zip(expires_at).and_then(|(i, e)| e.duration_since(i).ok());
    if lifetime.is_none_or(|lifetime| lifetime > MAX_DURATION) {
        return Err("an entry with impossible times".into());
    }
    Ok(entry.map_times(|t| t.to_time().expect("checked above")))
}

/// How long tokens like `token` live: a JWT-based one from its issue to its exp, an opaque
/// one for the profile's `ttl` (which may have changed since it was minted).
pub fn lifetime(token: &Token, ttl: Duration) -> Duration {
    match token.format.expiry {
        Expiry::Estimated => ttl,
        Expiry::Token => token.expires_at.duration_since(token.issued_at).unwrap_or_default(),
    }
}

/// How long a mint's token would live, as far as is known before the mint, and whether that
/// is a JWT-based token's own lifetime. An opaque cached token says the profile's tokens live
/// the ttl. An unexpired JWT-based one says its own lifetime, unless a refresh is asked for;
/// an expired one says nothing, since the app's timeout may have changed since. With nothing
/// cached: the ttl when no cache keeps a token to learn from (`kept` false), else unknown
/// until one mint tells.
pub fn known_lifetime(
    cached: Option<&Token>,
    ttl: Duration,
    now: SystemTime,
    refresh: bool,
    kept: bool,
) -> Option<(Duration, Expiry)> {
    match cached {
        Some(token) if token.format.expiry == Expiry::Estimated => Some((ttl, Expiry::Estimated)),
        Some(token) if !refresh && !token.remaining(now).is_zero() => {
            Some((lifetime(token, ttl), Expiry::Token))
        }
        Some(_) => None,
        None if !kept => Some((ttl, Expiry::Estimated)),
        None => None,
    }
}

/// Whether a token that lives `lifetime` is ever valid for `min_valid` more: only one that
/// lives longer, since some time passes between its mint and its first use.
pub fn lifetime_serves(lifetime: Duration, min_valid: Duration) -> bool {
    min_valid < lifetime
}

/// A token may be served when it stays valid for `min_valid` after `now` and, when the
/// caller wants a fresh one, was issued no earlier than `not_before`. A token issued after
/// `now` was minted before the clock stepped back: its age is unknown, so it is never
/// served; and no opaque token is trusted for longer than the profile's `ttl` from now (a
/// JWT-based one, for as long as its `exp` says).
pub fn usable(
    token: &Token,
    now: SystemTime,
    min_valid: Duration,
    not_before: Option<SystemTime>,
    ttl: Duration,
) -> bool {
    if token.issued_at > now {
        return false;
    }
    let cap = match token.format.expiry {
        Expiry::Estimated => ttl,
        Expiry::Token => MAX_DURATION,
    };
    let remaining = token.remaining(now).min(cap);
    !remaining.is_zero() && remaining >= min_valid && not_before.is_none_or(|t| token.issued_at >= t)
}

/// A failed mint, remembered for a short while so that the callers queued behind it (and
/// those arriving just after) get its answer instead of asking Salesforce again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub at: UnixMillis,
    /// Not asked again before this (unless a caller forces it).
    pub until: UnixMillis,
    /// The error class's `kind`.
    pub kind: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    /// Whether the failure still stands at `now`.
    pub fn stands_at(&self, now: SystemTime) -> bool {
        let now = UnixMillis::from(now).0;
        self.at.0 <= now && now < self.until.0
    }
}

/// Where tokens are kept between calls: a file, or the keychain.
pub trait TokenCache {
    /// The cached token, if any; a refused or damaged entry is a miss, with a warning.
    fn load(&self, profile: &str) -> Result<Option<Token>, CacheError>;
    fn save(&self, token: &Token) -> Result<(), CacheError>;
    fn remove(&self, profile: &str) -> Result<(), CacheError>;
}

/// The per-user cache directory.
pub struct FileCache {
    dir: PathBuf,
}

/// Why a cache file was passed over; the caller says so and mints.
#[derive(Debug)]
pub struct Refused {
    pub path: PathBuf,
    pub reason: String,
}

impl FileCache {
    pub fn new(dir: PathBuf) -> FileCache {
        FileCache { dir }
    }

    fn token_path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.token"))
    }

    /// The cached token, if there is a trustworthy one. `Ok(Err)` says why a file was
    /// refused; `Err` is a directory that must not be used at all.
    pub fn read(&self, profile: &str) -> Result<Result<Option<Token>, Refused>, CacheError> {
        match self.check_dir()? {
            DirState::Missing => return Ok(Ok(None)),
            DirState::Safe => {}
        }
        Ok(self.read_file(profile))
    }

    fn read_file(&self, profile: &str) -> Result<Option<Token>, Refused> {
        let path = self.token_path(profile);
        let refused = |reason: String| Refused { path: path.clone(), reason };
        let mut file = match crate::stores::fs::open_for_reading(&path, false) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(refused(e.to_string())),
        };
        let meta = file.metadata().map_err(|e| refused(e.to_string()))?;
        check_private(&meta, false, current_uid()).map_err(refused)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(refused("it is too large to be a cached token".into()));
        }
        // Room for the file and read_to_end's probe past its end, so the entry never moves.
        let room = Vec::with_capacity(meta.len() as usize + 64);
        let bytes = Zeroizing::new(
            crate::stores::fs::read_bounded_into(&mut file, MAX_FILE_BYTES, room)
                .map_err(|e| refused(e.to_string()))?,
        );
        let token = decode(&bytes).map_err(refused)?;
        if token.profile != profile {
            return Err(refused(format!("it holds profile {:?}", token.profile)));
        }
        Ok(Some(token))
    }

    fn lock_path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.lock"))
    }

    /// Removes every file the cache keeps for the profile (token, failure, lock), for a
    /// logout. The caller holds the lock, and gives it up before this runs.
    pub fn forget(&self, profile: &str) -> Result<(), CacheError> {
        for path in [self.token_path(profile), self.failure_path(profile), self.lock_path(profile)] {
            crate::stores::fs::remove_if_present(&path).map_err(|source| CacheError::Io { path, source })?;
        }
        Ok(())
    }

    fn failure_path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.failure"))
    }

    /// The profile's remembered failure, if a trustworthy file holds one.
    pub fn read_failure(&self, profile: &str) -> Option<Failure> {
        let path = self.failure_path(profile);
        let mut file = crate::stores::fs::open_for_reading(&path, false).ok()?;
        let meta = file.metadata().ok()?;
        check_private(&meta, false, current_uid()).ok()?;
        let bytes = crate::stores::fs::read_bounded(&mut file, MAX_FILE_BYTES).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write_failure(&self, profile: &str, failure: &Failure) -> Result<(), CacheError> {
        self.ensure_dir()?;
        let path = self.failure_path(profile);
        let bytes = serde_json::to_vec(failure).expect("a failure serializes");
        crate::stores::fs::write_atomically(&path, &bytes).map_err(|source| CacheError::Io { path, source })
    }

    /// Forgets the profile's failure: a mint went through.
    pub fn clear_failure(&self, profile: &str) {
        let _ = std::fs::remove_file(self.failure_path(profile));
    }

    pub fn write(&self, token: &Token) -> Result<(), CacheError> {
        self.ensure_dir()?;
        let path = self.token_path(&token.profile);
        crate::stores::fs::write_atomically(&path, &encode(token))
            .map_err(|source| CacheError::Io { path, source })
    }

    /// Takes the profile's refresh lock, waiting at most `wait`. The OS releases it when
    /// the holder exits, even if it is killed.
    pub fn lock(&self, profile: &str, wait: Duration) -> Result<File, CacheError> {
        self.ensure_dir()?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            let file = self.open_lock(profile)?;
            let remaining = deadline.saturating_duration_since(std::time::Instant::now());
            let waiting = || {
                crate::base::diag::verbose(|| {
                    format!("waiting for another sfcred call of profile {profile:?}")
                })
            };
            let file = match crate::stores::fs::lock_within(file, remaining, waiting) {
                Ok(file) => file,
                Err(LockWait::Failed(source)) => {
                    return Err(CacheError::Io { path: self.dir.clone(), source });
                }
                Err(LockWait::TimedOut) => {
                    return Err(CacheError::LockTimeout { profile: profile.to_owned(), waited: wait });
                }
            };
            // A logout removes the lock file, maybe while we waited on it: a lock on a file
            // that is no longer at the path keeps no one out, so take the one there now.
            if self.still_at_path(&file, profile) {
                return Ok(file);
            }
        }
    }

    fn open_lock(&self, profile: &str) -> Result<File, CacheError> {
        let path = self.lock_path(profile);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // A symbolic link planted at the lock's path must not create or open its target.
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let unsafe_file =
            |reason: &str| CacheError::UnsafeFile { path: path.clone(), reason: reason.to_owned() };
        let file = match options.open(&path) {
            Ok(file) => file,
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(unsafe_file("it is a symbolic link"));
            }
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        let meta = file.metadata().map_err(|source| CacheError::Io { path: path.clone(), source })?;
        if !meta.is_file() {
            return Err(unsafe_file("it is not a regular file"));
        }
        Ok(file)
    }

    #[cfg(unix)]
    fn still_at_path(&self, file: &File, profile: &str) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(self.lock_path(profile))) {
            (Ok(held), Ok(there)) => (held.dev(), held.ino()) == (there.dev(), there.ino()),
            _ => false,
        }
    }

    /// Not checked on Windows (std has no stable file identity there): a caller that waited
    /// through a logout may mint once beside another, and both tokens are for a profile
    /// that is gone.
    #[cfg(not(unix))]
    fn still_at_path(&self, _file: &File, _profile: &str) -> bool {
        true
    }

    /// Whether the directory exists and is safe: one `lstat`, on the hot path too.
    fn check_dir(&self) -> Result<DirState, CacheError> {
        let unsafe_dir = |reason: String| CacheError::UnsafeDirectory { path: self.dir.clone(), reason };
        match std::fs::symlink_metadata(&self.dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(unsafe_dir("it is a symbolic link".into())),
            Ok(meta) => {
                check_private(&meta, true, current_uid()).map(|()| DirState::Safe).map_err(unsafe_dir)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DirState::Missing),
            Err(source) => Err(CacheError::Io { path: self.dir.clone(), source }),
        }
    }

    /// Creates the directory user-only, or checks that an existing one is safe.
    fn ensure_dir(&self) -> Result<(), CacheError> {
        match self.check_dir()? {
            DirState::Safe => Ok(()),
            DirState::Missing => crate::stores::fs::create_private_dir(&self.dir)
                .map_err(|source| CacheError::Io { path: self.dir.clone(), source }),
        }
    }
}

enum DirState {
    Missing,
    Safe,
}

impl TokenCache for FileCache {
    fn load(&self, profile: &str) -> Result<Option<Token>, CacheError> {
        Ok(self.read(profile)?.unwrap_or_else(|r| {
            // Reported once per process, though read more than once (before and after the lock).
            if !WARNED_OF_DAMAGE.swap(true, std::sync::atomic::Ordering::Relaxed) {
                let path = r.path.display();
                crate::base::diag::warn(&format!(
                    "ignoring the cached token {path}: {}; it will be replaced",
                    r.reason
                ));
            }
            None
        }))
    }

    fn save(&self, token: &Token) -> Result<(), CacheError> {
        self.write(token)
    }

    /// Drops the profile's cached token; none there is fine.
    fn remove(&self, profile: &str) -> Result<(), CacheError> {
        let path = self.token_path(profile);
        crate::stores::fs::remove_if_present(&path).map_err(|source| CacheError::Io { path, source })
    }
}

/// Tokens kept in the profile's keychain (`cache = "keychain"`).
pub struct KeychainCache(pub Keychain);

impl TokenCache for KeychainCache {
    fn load(&self, profile: &str) -> Result<Option<Token>, CacheError> {
        let bytes = match self.0.read_token(profile) {
            Ok(bytes) => bytes,
            Err(e) => {
                crate::base::diag::warn(&format!("cannot read the cached token from the keychain: {e}"));
                return Ok(None);
            }
        };
        Ok(bytes.and_then(|bytes| {
            decode(&bytes)
                .inspect_err(|reason| {
                    crate::base::diag::warn(&format!("ignoring the token in the keychain: {reason}"))
                })
                .ok()
                .filter(|token| token.profile == profile)
        }))
    }

    fn save(&self, token: &Token) -> Result<(), CacheError> {
        Ok(self.0.write_token(&token.profile, encode(token))?)
    }

    fn remove(&self, profile: &str) -> Result<(), CacheError> {
        Ok(self.0.delete_token(profile)?)
    }
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// Owned by user `uid` and closed to everyone else.
#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata, is_dir: bool, uid: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if meta.uid() != uid {
        return Err(format!("it belongs to user id {}, not to you ({uid})", meta.uid()));
    }
    if (is_dir && !meta.is_dir()) || (!is_dir && !meta.is_file()) {
        return Err(if is_dir { "it is not a directory" } else { "it is not a regular file" }.into());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!("others may use it (mode {:04o})", meta.mode() & 0o7777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &std::fs::Metadata, _is_dir: bool, _uid: u32) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use secrecy::SecretString;

    use super::*;

    const TTL: Duration = Duration::from_secs(1800);

    fn token(issued_secs: u64, ttl_secs: u64) -> Token {
        let issued_at = UNIX_EPOCH + Duration::from_secs(issued_secs);
        Token {
            access_token: SecretString::from("00Dxx!secret"),
            token_type: "Bearer".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
            id: "https://login.salesforce.com/id/00D/005".into(),
            scope: Some("api".into()),
            issued_at,
            expires_at: issued_at + Duration::from_secs(ttl_secs),
            username: "u@acme.com".into(),
            profile: "prod".into(),
            format: Default::default(),
            binding: Binding {
                login_url: "https://login.salesforce.com".into(),
                client_digest: "c0ffee".into(),
            },
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn served_while_valid_for_min_valid_and_not_a_moment_less() {
        let t = token(1000, 1800); // expires at 2800
        let min = Duration::from_secs(60);
        assert!(usable(&t, at(1000), min, None, TTL));
        assert!(usable(&t, at(2740), min, None, TTL), "exactly min_valid left");
        assert!(!usable(&t, at(2741), min, None, TTL), "one second short");
        assert!(usable(&t, at(2799), Duration::ZERO, None, TTL));
        assert!(!usable(&t, at(2800), Duration::ZERO, None, TTL), "expired, even when no margin is asked");
        assert!(!usable(&t, at(3000), Duration::ZERO, None, TTL));
        assert!(usable(&t, at(1500), Duration::from_secs(1300), None, TTL));
        assert!(!usable(&t, at(1500), Duration::from_secs(1301), None, TTL));
    }

    #[test]
    fn a_forced_refresh_accepts_only_tokens_issued_since() {
        let t = token(1000, 1800);
        assert!(usable(&t, at(1001), Duration::ZERO, Some(at(1000)), TTL));
        assert!(!usable(&t, at(1001), Duration::ZERO, Some(at(1001)), TTL));
    }

    #[test]
    fn a_token_from_before_a_clock_step_back_is_never_served() {
        let t = token(1000, 1800);
        assert!(!usable(&t, at(999), Duration::ZERO, None, TTL), "issued in the future");
        assert!(!usable(&t, at(400), Duration::ZERO, Some(at(400)), TTL), "no proof of a refresh");
        let short = Duration::from_secs(600);
        assert!(usable(&t, at(1000), short, None, short), "trusted for the ttl");
        assert!(
            !usable(&t, at(1000), short + Duration::from_secs(1), None, short),
            "never longer than the ttl"
        );
    }

    #[test]
    fn entries_round_trip_and_pin_their_json() {
        let t = token(1_700_000_000, 1800);
        let bytes = encode(&t);
        assert_eq!(
            String::from_utf8(bytes.to_vec()).unwrap(),
            r#"{"v":2,"access_token":"00Dxx!secret","token_type":"Bearer","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","scope":"api","issued_at":1700000000000,"expires_at":1700001800000,"username":"u@acme.com","profile":"prod","expiry":"estimated","login_url":"https://login.salesforce.com","client_digest":"c0ffee"}"#
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(back.access_token.expose_secret(), "00Dxx!secret");
        assert_eq!((back.issued_at, back.expires_at), (t.issued_at, t.expires_at));
        assert_eq!(back.binding, t.binding);
    }

    #[test]
    #[cfg(unix)]
    fn only_private_files_of_this_user_are_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let me = current_uid();
        assert_eq!(check_private(&meta, false, me), Ok(()));
        let other = check_private(&meta, false, me + 1).unwrap_err();
        assert!(other.contains("belongs to user id"), "{other}");
        assert!(check_private(&meta, true, me).unwrap_err().contains("not a directory"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let open = check_private(&std::fs::metadata(&path).unwrap(), false, me).unwrap_err();
        assert!(open.contains("others may use it (mode 0640)"), "{open}");
    }

    #[test]
    fn damaged_or_foreign_entries_are_misses() {
        let good = String::from_utf8(encode(&token(1, 2)).to_vec()).unwrap();
        assert!(decode(good.as_bytes()).is_ok());
        for bad in [
            "",
            "{",
            "not json",
            &good[..good.len() / 2],
            &good.replace("\"v\":2", "\"v\":1"),
            &good.replace("\"v\":2", "\"v\":3"),
            &good.replace(",\"client_digest\":\"c0ffee\"", ""),
            &good.replace("00Dxx!secret", ""),
            r#"{"v":2}"#,
            &good.replace("\"expires_at\":3000", "\"expires_at\":18446744073709551615"),
            &good.replace("\"issued_at\":1000", "\"issued_at\":5000"),
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

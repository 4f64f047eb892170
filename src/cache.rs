//! The token cache: one small user-only file per profile, written atomically, and a
//! per-profile lock file so that one process mints while the others wait and read.
//!
//! Reading the cache is the hot path: it opens one file and decodes it, nothing more.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::token::Token;

/// A cached token is a few hundred bytes; a larger file is not ours.
const MAX_FILE_BYTES: u64 = 64 * 1024;
const FORMAT_VERSION: u32 = 1;
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Where a profile's token is kept between calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CacheKind {
    /// A user-only file in the runtime (or cache) directory.
    #[default]
    File,
    /// The profile's keychain.
    Keyring,
    /// No caching: every call mints.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: none of SFCRED_CACHE_DIR, XDG_RUNTIME_DIR, XDG_CACHE_HOME or HOME is set")]
    NoDirectory,
    #[error("the cache directory {path} is unsafe: {reason}")]
    UnsafeDirectory { path: PathBuf, reason: String },
    #[error("cannot use the cache directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("another sfcred process has been refreshing profile {profile:?} for over {}s", waited.as_secs())]
    LockTimeout { profile: String, waited: Duration },
    #[error("SFCRED_LOCK_TIMEOUT={value:?} is not a duration")]
    BadLockWait { value: String },
}

impl CacheError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CacheError::NoDirectory => "set SFCRED_CACHE_DIR to a directory of your own".into(),
            CacheError::UnsafeDirectory { path, .. } => format!(
                "sfcred keeps tokens only in a directory that is yours alone (mode 0700, not a symlink): \
                 remove {} and let sfcred create it, or set SFCRED_CACHE_DIR",
                path.display()
            ),
            CacheError::Io { .. } => "check the directory's permissions and free space".into(),
            CacheError::LockTimeout { .. } => {
                "the token endpoint may be slow or hung; try again (SFCRED_LOCK_TIMEOUT sets the wait)".into()
            }
            CacheError::BadLockWait { .. } => "write it like 30s or 2m".into(),
        })
    }
}

/// The cache directory: `SFCRED_CACHE_DIR`, else `$XDG_RUNTIME_DIR/sfcred` (memory-backed,
/// per login), else the XDG cache directory.
pub fn cache_dir() -> Result<PathBuf, CacheError> {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = from_env("SFCRED_CACHE_DIR") {
        return Ok(dir);
    }
    let base = from_env("XDG_RUNTIME_DIR")
        .or_else(|| from_env("XDG_CACHE_HOME"))
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .ok_or(CacheError::NoDirectory)?;
    Ok(base.join("sfcred"))
}

/// What is on disk: the token and what `sfcred token` prints with it.
#[derive(Serialize, Deserialize)]
struct Entry<'a> {
    v: u32,
    access_token: &'a str,
    token_type: &'a str,
    instance_url: &'a str,
    id: &'a str,
    scope: Option<&'a str>,
    /// Milliseconds since the epoch.
    issued_at: u64,
    expires_at: u64,
    username: &'a str,
    profile: &'a str,
}

pub fn encode(token: &Token) -> Vec<u8> {
    let entry = Entry {
        v: FORMAT_VERSION,
        access_token: token.access_token.expose_secret(),
        token_type: &token.token_type,
        instance_url: &token.instance_url,
        id: &token.id,
        scope: token.scope.as_deref(),
        issued_at: unix_millis(token.issued_at),
        expires_at: unix_millis(token.expires_at),
        username: &token.username,
        profile: &token.profile,
    };
    serde_json::to_vec(&entry).expect("a cache entry serializes")
}

/// Decodes a cache entry; anything unexpected is a reason to treat it as a miss.
pub fn decode(bytes: &[u8]) -> Result<Token, String> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let version: Version = serde_json::from_slice(bytes).map_err(|_| "not a cache entry")?;
    if version.v != FORMAT_VERSION {
        return Err(format!("format version {} is not {FORMAT_VERSION}", version.v));
    }
    let entry: Entry = serde_json::from_slice(bytes).map_err(|_| "a damaged cache entry")?;
    if entry.access_token.is_empty() {
        return Err("an entry without a token".into());
    }
    Ok(Token {
        access_token: SecretString::from(entry.access_token),
        token_type: entry.token_type.to_owned(),
        instance_url: entry.instance_url.to_owned(),
        id: entry.id.to_owned(),
        scope: entry.scope.map(str::to_owned),
        issued_at: UNIX_EPOCH + Duration::from_millis(entry.issued_at),
        expires_at: UNIX_EPOCH + Duration::from_millis(entry.expires_at),
        username: entry.username.to_owned(),
        profile: entry.profile.to_owned(),
    })
}

fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A token may be served when it stays valid for `min_valid` after `now` and, when the
/// caller wants a fresh one, was issued no earlier than `not_before`.
pub fn usable(token: &Token, now: SystemTime, min_valid: Duration, not_before: Option<SystemTime>) -> bool {
    let remaining = token.remaining(now);
    !remaining.is_zero() && remaining >= min_valid && not_before.is_none_or(|t| token.issued_at >= t)
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

    /// The cached token, if there is a trustworthy one. `Err` says why a file was refused.
    pub fn read(&self, profile: &str) -> Result<Option<Token>, Refused> {
        let path = self.token_path(profile);
        let refused = |reason: String| Refused { path: path.clone(), reason };
        let mut file = match open_no_follow(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(refused(e.to_string())),
        };
        let meta = file.metadata().map_err(|e| refused(e.to_string()))?;
        check_private(&meta, false, current_uid()).map_err(refused)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(refused("it is too large to be a cached token".into()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes).map_err(|e| refused(e.to_string()))?;
        let token = decode(&bytes).map_err(refused)?;
        if token.profile != profile {
            return Err(refused(format!("it holds profile {:?}", token.profile)));
        }
        Ok(Some(token))
    }

    pub fn write(&self, token: &Token) -> Result<(), CacheError> {
        self.ensure_dir()?;
        let path = self.token_path(&token.profile);
        crate::fs::write_atomically(&path, &encode(token)).map_err(|source| CacheError::Io { path, source })
    }

    /// Drops the profile's cached token; none there is fine.
    pub fn remove(&self, profile: &str) -> Result<(), CacheError> {
        let path = self.token_path(profile);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CacheError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    /// Takes the profile's refresh lock, waiting at most `wait`. The OS releases it when
    /// the holder exits, even if it is killed.
    pub fn lock(&self, profile: &str, wait: Duration) -> Result<File, CacheError> {
        self.ensure_dir()?;
        let path = self.dir.join(format!("{profile}.lock"));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|source| CacheError::Io { path, source })?;
        if file.try_lock().is_ok() {
            return Ok(file);
        }
        // Blocking lock() on a helper thread gives a bounded wait without polling.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::spawn(move || {
            let locked = file.lock().map(|()| file);
            let _ = tx.send(locked);
        });
        match rx.recv_timeout(wait) {
            Ok(Ok(file)) => Ok(file),
            Ok(Err(source)) => Err(CacheError::Io { path: self.dir.clone(), source }),
            Err(_) => Err(CacheError::LockTimeout { profile: profile.to_owned(), waited: wait }),
        }
    }

    /// The wait for another process's refresh: `SFCRED_LOCK_TIMEOUT`, else 60 s.
    pub fn lock_wait() -> Result<Duration, CacheError> {
        match std::env::var("SFCRED_LOCK_TIMEOUT") {
            Ok(value) if !value.is_empty() => {
                crate::profile::parse_duration(&value).map_err(|_| CacheError::BadLockWait { value })
            }
            _ => Ok(DEFAULT_LOCK_WAIT),
        }
    }

    /// Creates the directory user-only, or checks that an existing one is safe.
    fn ensure_dir(&self) -> Result<(), CacheError> {
        let unsafe_dir = |reason: String| CacheError::UnsafeDirectory { path: self.dir.clone(), reason };
        match std::fs::symlink_metadata(&self.dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(unsafe_dir("it is a symbolic link".into())),
            Ok(meta) => check_private(&meta, true, current_uid()).map_err(unsafe_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::fs::create_private_dir(&self.dir)
                .map_err(|source| CacheError::Io { path: self.dir.clone(), source }),
            Err(source) => Err(CacheError::Io { path: self.dir.clone(), source }),
        }
    }
}

/// Where tokens are kept: a file, or the keychain.
pub trait TokenStore {
    /// The cached token, if any; a refused or damaged entry is a miss, with a warning.
    fn load(&self, profile: &str) -> Option<Token>;
    fn save(&self, token: &Token) -> Result<(), crate::Error>;
    fn remove(&self, profile: &str) -> Result<(), crate::Error>;
}

impl TokenStore for FileCache {
    fn load(&self, profile: &str) -> Option<Token> {
        self.read(profile).unwrap_or_else(|r| {
            let warning =
                format!("ignoring the cached token {}: {}; it will be replaced", r.path.display(), r.reason);
            crate::diag::warn(&warning);
            None
        })
    }

    fn save(&self, token: &Token) -> Result<(), crate::Error> {
        Ok(self.write(token)?)
    }

    fn remove(&self, profile: &str) -> Result<(), crate::Error> {
        Ok(FileCache::remove(self, profile)?)
    }
}

impl TokenStore for crate::keychain::Keychain {
    fn load(&self, profile: &str) -> Option<Token> {
        let bytes = match self.read_token(profile) {
            Ok(bytes) => bytes?,
            Err(e) => {
                crate::diag::warn(&format!("cannot read the cached token from the keychain: {e}"));
                return None;
            }
        };
        decode(&bytes)
            .inspect_err(|reason| crate::diag::warn(&format!("ignoring the token in the keychain: {reason}")))
            .ok()
            .filter(|token| token.profile == profile)
    }

    fn save(&self, token: &Token) -> Result<(), crate::Error> {
        Ok(self.write_token(&token.profile, encode(token))?)
    }

    fn remove(&self, profile: &str) -> Result<(), crate::Error> {
        Ok(self.delete_token(profile)?)
    }
}

fn open_no_follow(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
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
    if is_dir != meta.is_dir() {
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
    use super::*;

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
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn served_while_valid_for_min_valid_and_not_a_moment_less() {
        let t = token(1000, 1800); // expires at 2800
        let min = Duration::from_secs(60);
        assert!(usable(&t, at(1000), min, None));
        assert!(usable(&t, at(2740), min, None), "exactly min_valid left");
        assert!(!usable(&t, at(2741), min, None), "one second short");
        assert!(usable(&t, at(2799), Duration::ZERO, None));
        assert!(!usable(&t, at(2800), Duration::ZERO, None), "expired, even when no margin is asked");
        assert!(!usable(&t, at(3000), Duration::ZERO, None));
        assert!(usable(&t, at(1500), Duration::from_secs(1300), None));
        assert!(!usable(&t, at(1500), Duration::from_secs(1301), None));
    }

    #[test]
    fn a_forced_refresh_accepts_only_tokens_issued_since() {
        let t = token(1000, 1800);
        assert!(usable(&t, at(1001), Duration::ZERO, Some(at(1000))));
        assert!(!usable(&t, at(1001), Duration::ZERO, Some(at(1001))));
    }

    #[test]
    fn entries_round_trip_and_pin_their_json() {
        let t = token(1_700_000_000, 1800);
        let bytes = encode(&t);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"v":1,"access_token":"00Dxx!secret","token_type":"Bearer","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","scope":"api","issued_at":1700000000000,"expires_at":1700001800000,"username":"u@acme.com","profile":"prod"}"#
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(back.access_token.expose_secret(), "00Dxx!secret");
        assert_eq!((back.issued_at, back.expires_at), (t.issued_at, t.expires_at));
    }

    #[test]
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
        let good = String::from_utf8(encode(&token(1, 2))).unwrap();
        for bad in [
            "",
            "{",
            "not json",
            &good[..good.len() / 2],
            &good.replace("\"v\":1", "\"v\":2"),
            &good.replace("00Dxx!secret", ""),
            r#"{"v":1}"#,
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

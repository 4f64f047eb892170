//! The fleet's shared cache on Redis (a single server, or a Redis Cluster), behind each
//! machine's own cache: one mint per fleet, under a lock in Redis, and the token sealed
//! (AES-256-GCM, its key stretched with HKDF from the fleet's secret) so that Redis, its
//! operators, backups and replicas hold nothing usable.
//!
//! Every failure here is the caller's cue to go on alone, with a warning: an outage of the
//! cache is never an outage of tokens. Each Redis call is bounded by [`TIMEOUT`].

use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretString};

use crate::config::context::SharedCacheConfig;
use crate::token::Token;

/// The longest any one Redis call may take.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Set when the shared cache failed in this process: a later connection (the login count
/// after a mint) goes on alone at once instead of waiting out another [`TIMEOUT`].
static FAILED_IN_THIS_PROCESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Set once a value that does not open has been warned about in this process.
static SEALED_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The fleet's secret is at least this long.
pub const MIN_KEY_BYTES: usize = 32;
/// A sealed value starts with this, then the nonce, then the ciphertext and its tag.
const SEALED_PREFIX: &[u8] = b"sfcred-sealed-1:";

/// What the shared cache could not do, said as a warning.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("SFCRED_CACHE_KEY is not set: the shared cache needs the fleet's secret")]
    NoKey,
    #[error(
        "SFCRED_CACHE_KEY is {0} bytes: the fleet's secret is {MIN_KEY_BYTES} at least (openssl rand -base64 32)"
    )]
    ShortKey(usize),
    #[error("the shared cache {url}: {reason}")]
    Redis { url: String, reason: String },
}

/// Who a token is for: every machine with the same identity shares its token.
pub struct Identity<'a> {
    pub login_url: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    pub audience: &'a str,
}

/// The Redis keys of one identity: named by a digest (no username or consumer key in
/// Redis), all in one hash slot (the braces), so a cluster serves them from one node.
pub struct Keys {
    pub token: String,
    pub lock: String,
    /// The logins of the minute `m` are counted at `logins:m`.
    logins: String,
}

impl Keys {
    pub fn of(identity: &Identity) -> Keys {
        let digest = crate::base::digest::fields_hex(&[
            identity.login_url,
            identity.client_id,
            identity.username,
            identity.audience,
        ]);
        let base = format!("sfcred:{{{digest}}}");
        Keys {
            token: format!("{base}:token"),
            lock: format!("{base}:lock"),
            logins: format!("{base}:logins:"),
        }
    }

    fn logins_in(&self, minute: u64) -> String {
        format!("{}{minute}", self.logins)
    }
}

/// The fleet's key, from its secret.
pub struct FleetKey(LessSafeKey);

impl FleetKey {
    pub fn from_secret(secret: &SecretString) -> Result<FleetKey, SharedError> {
        let bytes = secret.expose_secret().trim().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(SharedError::ShortKey(bytes.len()));
        }
        let salt = aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, b"sfcred fleet cache");
        let prk = salt.extract(bytes);
        let okm = prk.expand(&[b"sfcred token seal v1"], &AES_256_GCM).expect("a 32-byte key");
        Ok(FleetKey(LessSafeKey::new(UnboundKey::from(okm))))
    }

    /// `plain` sealed for `key` (the Redis key: a value moved to another key does not open).
    pub fn seal(&self, key: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system's random numbers");
        let mut sealed = secrecy::zeroize::Zeroizing::new(plain.to_vec());
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(key.as_bytes()),
                &mut *sealed,
            )
            .expect("sealing a small value");
        [SEALED_PREFIX, &nonce, &sealed].concat()
    }

    /// The plain text of a value sealed for `key`; `None` when it does not open (another
    /// fleet's key, damage, or not a value of sfcred's).
    pub fn open(&self, key: &str, value: &[u8]) -> Option<secrecy::zeroize::Zeroizing<Vec<u8>>> {
        let rest = value.strip_prefix(SEALED_PREFIX)?;
        let (nonce, sealed) = (rest.get(..NONCE_LEN)?, rest.get(NONCE_LEN..)?);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = secrecy::zeroize::Zeroizing::new(sealed.to_vec());
        let plain_len = self.0.open_in_place(nonce, Aad::from(key.as_bytes()), &mut buffer).ok()?.len();
        buffer.truncate(plain_len);
        Some(buffer)
    }
}

/// What the shared cache holds for an identity.
pub enum Held {
    Nothing,
    Token(Box<Token>),
    /// A value that does not open with this fleet key: another fleet's, or damaged.
    Sealed,
}

/// A connection to the shared cache, single server or cluster.
pub struct Shared {
    connection: Box<dyn redis::ConnectionLike>,
    /// For messages: the first URL, its password left out.
    pub shown_url: String,
    key: FleetKey,
}

/// A URL with its password left out, for every message and listing.
pub fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

/// URLs (a cluster's nodes), comma-separated, each without its password.
pub fn redacted_urls<'a>(urls: impl Iterator<Item = &'a str>) -> String {
    urls.map(|url| redacted_url(url.trim())).collect::<Vec<_>>().join(",")
}

impl Shared {
    /// Connects, within [`TIMEOUT`]. Several URLs are a cluster's nodes.
    pub fn connect(config: &SharedCacheConfig) -> Result<Shared, SharedError> {
        let secret = config.key.as_ref().ok_or(SharedError::NoKey)?;
        let key = FleetKey::from_secret(secret)?;
        let shown_url = redacted_urls(config.urls.iter().map(String::as_str));
        if FAILED_IN_THIS_PROCESS.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(SharedError::Redis {
                url: shown_url,
                reason: "it failed earlier in this call".into(),
            });
        }
        let failed = |e: redis::RedisError| failure(&shown_url, &e);
        let connection: Box<dyn redis::ConnectionLike> = match config.urls.as_slice() {
            [] => return Err(SharedError::Redis { url: shown_url, reason: "no URL".into() }),
            [one] => {
                let connection = redis::Client::open(one.as_str())
                    .and_then(|c| c.get_connection_with_timeout(TIMEOUT))
                    .map_err(failed)?;
                connection.set_read_timeout(Some(TIMEOUT)).map_err(failed)?;
                connection.set_write_timeout(Some(TIMEOUT)).map_err(failed)?;
                Box::new(connection)
            }
            nodes => Box::new(
                redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(TIMEOUT)
                    .response_timeout(TIMEOUT)
                    .retries(1)
                    .build()
                    .and_then(|client| client.get_connection())
                    .map_err(failed)?,
            ),
        };
        Ok(Shared { connection, shown_url, key })
    }

    fn failed(&self, e: redis::RedisError) -> SharedError {
        failure(&self.shown_url, &e)
    }

    /// The round trip of a PING.
    pub fn ping(&mut self) -> Result<Duration, SharedError> {
        let started = Instant::now();
        redis::cmd("PING").query::<String>(&mut *self.connection).map_err(|e| self.failed(e))?;
        Ok(started.elapsed())
    }

    /// What the fleet holds for `keys`, opened with this machine's fleet key.
    pub fn held(&mut self, keys: &Keys) -> Result<Held, SharedError> {
        let value: Option<Vec<u8>> =
            redis::cmd("GET").arg(&keys.token).query(&mut *self.connection).map_err(|e| self.failed(e))?;
        let Some(value) = value else { return Ok(Held::Nothing) };
        let opened =
            self.key.open(&keys.token, &value).and_then(|plain| crate::stores::cache::decode(&plain).ok());
        Ok(opened.map_or(Held::Sealed, |token| Held::Token(Box::new(token))))
    }

    /// The fleet's token: `Ok(None)` when there is none, or one that does not open (said
    /// with a warning: another fleet key, or damage).
    pub fn get(&mut self, keys: &Keys) -> Result<Option<Token>, SharedError> {
        match self.held(keys)? {
            Held::Token(token) => Ok(Some(*token)),
            Held::Nothing => Ok(None),
            // Said once: the look under the lock sees the same value.
            Held::Sealed if SEALED_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) => Ok(None),
            Held::Sealed => {
                crate::base::diag::warn(&format!(
                    "the shared cache's token does not open with this fleet key (SFCRED_CACHE_KEY, or the \
                     one login kept; another fleet's key, or damage): minting instead ({})",
                    self.shown_url
                ));
                Ok(None)
            }
        }
    }

    /// Keeps the token for the fleet, sealed, until it expires.
    pub fn put(&mut self, keys: &Keys, token: &Token, now: SystemTime) -> Result<(), SharedError> {
        let left = token.expires_at.duration_since(now).unwrap_or_default().as_millis().max(1) as u64;
        let sealed = self.key.seal(&keys.token, &crate::stores::cache::encode(token));
        redis::cmd("SET")
            .arg(&keys.token)
            .arg(sealed)
            .arg("PX")
            .arg(left)
            .query::<()>(&mut *self.connection)
            .map_err(|e| self.failed(e))
    }

    /// Takes the fleet's lock for `hold` (it frees itself then, if its holder died);
    /// `Some(secret)` names this holder for [`Shared::unlock`].
    pub fn try_lock(&mut self, keys: &Keys, hold: Duration) -> Result<Option<String>, SharedError> {
        let mut holder = [0u8; 16];
        aws_lc_rs::rand::fill(&mut holder).expect("the system's random numbers");
        let holder: String = holder.iter().map(|b| format!("{b:02x}")).collect();
        let taken: Option<String> = redis::cmd("SET")
            .arg(&keys.lock)
            .arg(&holder)
            .arg("NX")
            .arg("PX")
            .arg(hold.as_millis() as u64)
            .query(&mut *self.connection)
            .map_err(|e| self.failed(e))?;
        Ok(taken.map(|_| holder))
    }

    /// Frees the lock if this holder still has it.
    pub fn unlock(&mut self, keys: &Keys, holder: &str) -> Result<(), SharedError> {
        self.delete_if(&keys.lock, holder.as_bytes())
    }

    /// Takes `token` out of the fleet's cache (a caller saw it rejected, or it was revoked),
    /// if it is the token held there: a newer one another machine put there stays.
    pub fn forget(&mut self, keys: &Keys, token: &Token) -> Result<(), SharedError> {
        let value: Option<Vec<u8>> =
            redis::cmd("GET").arg(&keys.token).query(&mut *self.connection).map_err(|e| self.failed(e))?;
        let Some(value) = value else { return Ok(()) };
        let held =
            self.key.open(&keys.token, &value).and_then(|plain| crate::stores::cache::decode(&plain).ok());
        match held {
            Some(held) if held.access_token.expose_secret() == token.access_token.expose_secret() => {
                self.delete_if(&keys.token, &value)
            }
            _ => Ok(()),
        }
    }

    /// Deletes `key` if it still holds `expected` (compare and delete, in one step).
    fn delete_if(&mut self, key: &str, expected: &[u8]) -> Result<(), SharedError> {
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        script.key(key).arg(expected).invoke::<i64>(&mut *self.connection).map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// Counts one login of the fleet in this minute; returns the hour's count.
    pub fn count_login(&mut self, keys: &Keys, now: SystemTime) -> Result<u32, SharedError> {
        let minute = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() / 60;
        let this_minute = keys.logins_in(minute);
        redis::pipe()
            .cmd("INCR")
            .arg(&this_minute)
            .ignore()
            .cmd("EXPIRE")
            .arg(&this_minute)
            .arg(3700)
            .ignore()
            .query::<()>(&mut *self.connection)
            .map_err(|e| self.failed(e))?;
        let hour: Vec<String> = (minute.saturating_sub(59)..=minute).map(|m| keys.logins_in(m)).collect();
        let counts: Vec<Option<u32>> =
            redis::cmd("MGET").arg(&hour).query(&mut *self.connection).map_err(|e| self.failed(e))?;
        Ok(counts.into_iter().flatten().sum())
    }
}

/// Redis's error, without the URL (it is named beside) or anything of the request.
/// A failure of the shared cache, remembered for the rest of the process.
fn failure(shown_url: &str, e: &redis::RedisError) -> SharedError {
    FAILED_IN_THIS_PROCESS.store(true, std::sync::atomic::Ordering::Relaxed);
    SharedError::Redis {
        url: shown_url.to_owned(),
        reason: crate::base::diag::printable(&e.to_string(), 200),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> FleetKey {
        FleetKey::from_secret(&SecretString::from(secret)).unwrap()
    }

    const SECRET: &str = "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=";

    #[test]
    fn a_sealed_value_opens_only_with_its_fleet_key_and_redis_key() {
        let fleet = key(SECRET);
        let sealed = fleet.seal("sfcred:{a}:token", b"00Dxx!token");
        assert!(!sealed.windows(5).any(|w| w == b"00Dxx"), "no token text in the value");
        assert_eq!(
            fleet.open("sfcred:{a}:token", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"00Dxx!token"[..])
        );
        assert!(fleet.open("sfcred:{b}:token", &sealed).is_none(), "moved to another key");
        assert!(key(&SECRET.replace('k', "K")).open("sfcred:{a}:token", &sealed).is_none(), "another fleet");
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(fleet.open("sfcred:{a}:token", &damaged).is_none());
        assert!(fleet.open("sfcred:{a}:token", b"plain").is_none());
        assert_ne!(fleet.seal("k", b"x"), fleet.seal("k", b"x"), "a nonce of its own each time");
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(matches!(FleetKey::from_secret(&SecretString::from("short")), Err(SharedError::ShortKey(5))));
    }

    #[test]
    fn keys_share_a_slot_and_name_no_one() {
        let keys = Keys::of(&Identity {
            login_url: "https://login.salesforce.com",
            client_id: "3MVG9",
            username: "ops@acme.com",
            audience: "https://login.salesforce.com",
        });
        let tag = |k: &str| k.split('{').nth(1).unwrap().split('}').next().unwrap().to_owned();
        assert_eq!(tag(&keys.token), tag(&keys.lock));
        assert_eq!(tag(&keys.token), tag(&keys.logins_in(7)));
        assert!(!keys.token.contains("ops@acme.com") && !keys.token.contains("3MVG9"));
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(redacted_url("redis://:hunter2@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(
            redacted_url("rediss://app:hunter2@r.example:6380/0"),
            "rediss://app:***@r.example:6380/0"
        );
        assert_eq!(redacted_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}

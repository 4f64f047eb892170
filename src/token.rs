//! A minted access token, declared once and written in two time formats: RFC 3339 for
//! what callers read (`sfcred token`, the JSON protocol), milliseconds for the cache.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(60);

/// A token and what sfcred knows of it. `T` is how its times are written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenOf<T> {
    /// Exposed only when a token is written out: to stdout or the cache.
    #[serde(serialize_with = "expose")]
    pub access_token: SecretString,
    pub token_type: String,
    pub instance_url: String,
    pub id: String,
    pub scope: Option<String>,
    pub issued_at: T,
    /// The token's own `exp` for a JWT-based token; else an estimate, the issue time plus
    /// the profile's ttl (`format.expiry` says which).
    pub expires_at: T,
    pub username: String,
    pub profile: String,
    #[serde(flatten)]
    pub format: Format,
    /// Kept in the cache beside the token, never printed.
    #[serde(skip)]
    pub binding: Binding,
}

/// What a token was minted for besides its user and profile, kept with it in the cache and
/// checked on a hit, so that a token is served only where it was minted for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub login_url: String,
    /// The consumer key's digest (`base::digest`): the key cannot be read back from it.
    pub client_digest: String,
}

/// What kind of token Salesforce issued: opaque, or a JWT that carries its expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Format {
    /// `jwt` for a JWT-based token, as Salesforce's answer says; absent for an opaque one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_format: Option<String>,
    /// The API host Salesforce names beside a JWT-based token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_instance_url: Option<String>,
    #[serde(default)]
    pub expiry: Expiry,
}

/// Where a token's `expires_at` comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    /// The profile's ttl after the mint: an opaque token does not say.
    #[default]
    Estimated,
    /// The JWT-based token's own `exp`.
    Token,
}

pub type Token = TokenOf<SystemTime>;

fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

impl<T> TokenOf<T> {
    pub fn map_times<U>(self, f: impl Fn(T) -> U) -> TokenOf<U> {
        TokenOf {
            access_token: self.access_token,
            token_type: self.token_type,
            instance_url: self.instance_url,
            id: self.id,
            scope: self.scope,
            issued_at: f(self.issued_at),
            expires_at: f(self.expires_at),
            username: self.username,
            profile: self.profile,
            format: self.format,
            binding: self.binding,
        }
    }
}

impl Token {
    /// The token itself, for the outputs that hand it to a caller.
    pub fn secret(&self) -> &str {
        self.access_token.expose_secret()
    }

    /// How long the token stays valid after `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }

    /// The token as callers read it. It holds the token: stdout only.
    pub fn for_output(&self) -> TokenOf<Rfc3339> {
        self.clone().map_times(Rfc3339)
    }

    /// The JSON object `sfcred token` prints.
    pub fn to_json(&self) -> Zeroizing<String> {
        secret_json(&self.for_output())
    }
}

/// `value` as JSON, in a buffer wiped when dropped: for every object that holds a token.
/// The size is counted first, so that the buffer never grows and leaves a copy behind.
pub fn secret_json(value: &impl Serialize) -> Zeroizing<String> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("a token's object serializes");
    // One byte more, for the newline a caller may add.
    let mut bytes = Zeroizing::new(Vec::with_capacity(count.0 + 1));
    serde_json::to_writer(&mut *bytes, value).expect("a token's object serializes");
    Zeroizing::new(String::from_utf8(std::mem::take(&mut *bytes)).expect("serde_json writes UTF-8"))
}

/// A protocol or file version ahead of a token's fields: `{"v":1,"access_token":...}`.
#[derive(Serialize)]
pub struct Versioned<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

/// What the caller needs of a token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    /// The token must stay valid at least this long.
    pub min_valid: Duration,
    /// Mint a new token even if the cached one would do.
    pub refresh: bool,
}

impl Default for Need {
    fn default() -> Self {
        Need { min_valid: DEFAULT_MIN_VALID, refresh: false }
    }
}

/// A time written as RFC 3339, to the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfc3339(pub SystemTime);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

/// A time written as milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnixMillis(pub u64);

impl From<SystemTime> for UnixMillis {
    fn from(time: SystemTime) -> UnixMillis {
        UnixMillis(
            time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

impl UnixMillis {
    /// The time, unless it is past what a calendar date can show (year 9999).
    pub fn to_time(self) -> Option<SystemTime> {
        const YEAR_10000_MS: u64 = 253_402_300_800_000;
        (self.0 < YEAR_10000_MS).then(|| UNIX_EPOCH + Duration::from_millis(self.0))
    }
}

impl Serialize for UnixMillis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for UnixMillis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(UnixMillis)
    }
}

/// RFC 3339 to the second; a time past year 9999 (which no valid token has) is shown as
/// the last second of that year rather than failing.
pub fn rfc3339(time: SystemTime) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    match write!(out, "{}", humantime::format_rfc3339_seconds(time)) {
        Ok(()) => out,
        Err(_) => "9999-12-31T23:59:59Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_past_the_calendar_print_without_failing() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(UnixMillis(u64::MAX).to_time(), None);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = TokenOf {
            access_token: SecretString::from("00D!secret"),
            token_type: "Bearer".into(),
            instance_url: "https://i".into(),
            id: "id".into(),
            scope: None,
            issued_at: UNIX_EPOCH,
            expires_at: UNIX_EPOCH,
            username: "u".into(),
            profile: "p".into(),
            format: Format::default(),
            binding: Binding::default(),
        };
        assert!(!format!("{token:?}").contains("secret"));
        let json = token.to_json();
        assert!(json.starts_with(r#"{"access_token":"00D!secret","token_type":"Bearer""#));
        assert_eq!(json.capacity(), json.len() + 1, "written without growing, so no unwiped copy was left");
    }
}

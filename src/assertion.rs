//! The JWT bearer assertion: claims from a profile and a clock, signed RS256.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::Serialize;

use crate::private_key::RsaPrivateKey;

/// Salesforce wants `exp` within 3 minutes of now.
pub const LIFETIME: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claims {
    /// The connected app's consumer key.
    pub iss: String,
    /// The Salesforce username.
    pub sub: String,
    /// The authorization server: login or test, by org type.
    pub aud: String,
    /// Seconds since the epoch.
    pub exp: u64,
    pub iat: u64,
    /// A random id, so no two assertions are the same.
    pub jti: String,
}

impl Claims {
    pub fn new(client_id: &str, username: &str, audience: &str, now: SystemTime, jti: String) -> Claims {
        let iat = unix_seconds(now);
        Claims {
            iss: client_id.to_owned(),
            sub: username.to_owned(),
            aud: audience.to_owned(),
            exp: iat + LIFETIME.as_secs(),
            iat,
            jti,
        }
    }

    // The claims name the consumer key, so they are never printed.
    pub fn sign(&self, key: &RsaPrivateKey) -> Result<SecretString, String> {
        let key = EncodingKey::from_rsa_der(key.expose_der());
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), self, &key)
            .map(SecretString::from)
            .map_err(|e| e.to_string())
    }
}

/// 128 random bits as hex, for `jti`.
pub fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_seconds_and_expire_within_three_minutes() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        let claims = Claims::new("CK", "u@x.com", "https://test.salesforce.com", now, "j1".into());
        let json = serde_json::to_string(&claims).unwrap();
        assert_eq!(
            json,
            r#"{"iss":"CK","sub":"u@x.com","aud":"https://test.salesforce.com","exp":1700000180,"iat":1700000000,"jti":"j1"}"#
        );
    }

    #[test]
    fn jti_is_random_hex() {
        let (a, b) = (random_jti(), random_jti());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

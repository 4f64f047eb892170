//! The JWT bearer assertion: claims from a profile and a clock, signed RS256 by a
//! [`Signer`]. This module builds the signing input and never sees key bytes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use secrecy::SecretString;
use serde::Serialize;

use crate::keys::signer::{SignError, Signer};

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

    /// `header.claims`, base64url: what the signature covers.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", encoded_part(&Header::new(Algorithm::RS256)), encoded_part(self))
    }

    // The claims name the consumer key, so the assertion is a secret too.
    pub fn sign(&self, signer: &dyn Signer) -> Result<SecretString, SignError> {
        let input = self.signing_input();
        let signature = signer.sign_rs256(input.as_bytes())?;
        Ok(SecretString::from(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))))
    }
}

fn encoded_part(part: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(part).expect("a JWT part serializes"))
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
    use secrecy::ExposeSecret;

    use super::*;
    use crate::keys::signer::{KeyOrigin, SoftwareKey};

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
    fn a_signed_assertion_verifies_with_the_public_key() {
        let pair =
            crate::keys::keygen::generate(crate::keys::keygen::KeyBits::Rsa2048, "t", 1, SystemTime::now())
                .unwrap();
        let public_der = pair.certificate.public_key.clone();
        let signer = SoftwareKey::new(pair.key, KeyOrigin::Environment("TEST"));
        let now = SystemTime::now();
        let claims = Claims::new("CK", "u@x.com", "https://login.salesforce.com", now, random_jti());
        let assertion = claims.sign(&signer).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&["https://login.salesforce.com"]);
        let key = jsonwebtoken::DecodingKey::from_rsa_der(&public_der);
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(assertion.expose_secret(), &key, &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "u@x.com");
        assert_eq!(decoded.header.alg, Algorithm::RS256);
    }

    #[test]
    fn jti_is_random_hex() {
        let (a, b) = (random_jti(), random_jti());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

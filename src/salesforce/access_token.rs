//! What an access token says of itself. A JWT-based token (its header's `tty` is
//! `sfdc-core-token`) carries `exp` and `iat`; an opaque one says nothing, and is trusted
//! for the profile's ttl. The signature is not checked: the token came over TLS from the
//! login host, and only its lifetime is read, never trusted for anything else.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::config::profile::MAX_DURATION;
use crate::token::Expiry;

/// The header type Salesforce gives its JWT-based access tokens.
pub const SALESFORCE_TOKEN_TYPE: &str = "sfdc-core-token";

/// The times a JWT-based token carries, in Salesforce's clock (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    pub exp: u64,
    pub iat: Option<u64>,
}

/// The times of a JWT-based token: one whose answer said `token_format: "jwt"` or whose
/// header says `tty: sfdc-core-token`. `None` for an opaque token, or a JWT without `exp`.
pub fn times(access_token: &str, token_format: Option<&str>) -> Option<TokenTimes> {
    #[derive(Deserialize)]
    struct Header {
        #[serde(default)]
        tty: Option<String>,
    }
    #[derive(Deserialize)]
    struct Payload {
        exp: u64,
        #[serde(default)]
        iat: Option<u64>,
    }
    let mut parts = access_token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
    let header: Header = serde_json::from_slice(&decode(header)?).ok()?;
    if token_format != Some("jwt") && header.tty.as_deref() != Some(SALESFORCE_TOKEN_TYPE) {
        return None;
    }
    let payload: Payload = serde_json::from_slice(&decode(payload)?).ok()?;
    Some(TokenTimes { exp: payload.exp, iat: payload.iat })
}

/// When a token minted at `requested_at` (this machine's clock) expires, and whence that
/// comes. A JWT-based token lives from its `iat` (else Salesforce's answer time, else the
/// request) to its `exp`: that lifetime, counted from `requested_at`, errs early and does
/// not depend on the two clocks agreeing. It is bounded to 24 hours, the longest session
/// Salesforce has. An opaque token is trusted for `ttl`, and so is a JWT whose `exp` is not
/// after its issue: that says nothing true of its lifetime, and taking it for 0 would have
/// every call mint again.
pub fn expiry(
    times: Option<TokenTimes>,
    salesforce_time: Option<SystemTime>,
    requested_at: SystemTime,
    ttl: Duration,
) -> (SystemTime, Expiry) {
    let Some(times) = times else { return (requested_at + ttl, Expiry::Estimated) };
    let exp = SystemTime::UNIX_EPOCH + Duration::from_secs(times.exp);
    let issued = times.iat.map(|iat| SystemTime::UNIX_EPOCH + Duration::from_secs(iat));
    let from = issued.or(salesforce_time).unwrap_or(requested_at);
    match exp.duration_since(from) {
        Ok(lifetime) if !lifetime.is_zero() => (requested_at + lifetime.min(MAX_DURATION), Expiry::Token),
        _ => (requested_at + ttl, Expiry::Estimated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload))
    }

    const SALESFORCE_HEADER: &str =
        r#"{"alg":"RS256","typ":"JWT","kid":"k","tty":"sfdc-core-token","tnk":"core/prod/00D","ver":"1.0"}"#;

    #[test]
    fn a_salesforce_jwt_says_when_it_expires() {
        let token =
            jwt(SALESFORCE_HEADER, r#"{"scp":"api","sub":"uid:005","exp":1700000900,"iat":1700000000}"#);
        assert_eq!(times(&token, None), Some(TokenTimes { exp: 1_700_000_900, iat: Some(1_700_000_000) }));
        let plain_header = jwt(r#"{"alg":"RS256"}"#, r#"{"exp":1700000900}"#);
        assert_eq!(
            times(&plain_header, Some("jwt")).map(|t| t.exp),
            Some(1_700_000_900),
            "the answer said jwt"
        );
        assert_eq!(times(&plain_header, None), None, "another JWT is not taken for Salesforce's");
    }

    #[test]
    fn an_opaque_or_damaged_token_says_nothing() {
        assert_eq!(times("00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.dy3Bpsu", Some("jwt")), None);
        assert_eq!(times(&jwt(SALESFORCE_HEADER, r#"{"iat":1}"#), None), None, "no exp");
        assert_eq!(times(&jwt(SALESFORCE_HEADER, "not json"), None), None);
        assert_eq!(times("a.b.c.d", Some("jwt")), None);
    }

    #[test]
    fn a_jwt_lifetime_counts_from_the_request_and_is_bounded() {
        let requested = SystemTime::UNIX_EPOCH + Duration::from_secs(5_000);
        let ttl = Duration::from_secs(1800);
        let times = |exp, iat| Some(TokenTimes { exp, iat });
        // Salesforce's clock 200 s behind this machine's: the lifetime is what counts.
        assert_eq!(
            expiry(times(4_800 + 600, Some(4_800)), None, requested, ttl),
            (requested + Duration::from_secs(600), Expiry::Token)
        );
        let answered = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(4_900));
        assert_eq!(
            expiry(times(5_500, None), answered, requested, ttl).0,
            requested + Duration::from_secs(600)
        );
        assert_eq!(expiry(times(5_300, None), None, requested, ttl).0, requested + Duration::from_secs(300));
        for (exp, iat) in [(1, 5_000), (5_000, 5_000)] {
            assert_eq!(
                expiry(times(exp, Some(iat)), None, requested, ttl),
                (requested + ttl, Expiry::Estimated),
                "an exp not after its issue says nothing: the ttl"
            );
        }
        assert_eq!(expiry(times(u64::MAX / 2, Some(0)), None, requested, ttl).0, requested + MAX_DURATION);
        assert_eq!(expiry(None, answered, requested, ttl), (requested + ttl, Expiry::Estimated));
    }
}

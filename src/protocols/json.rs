//! `sfcred credential`: sfcred's own versioned JSON protocol. One request on stdin, one
//! response on stdout. Version 1 is stable: fields may be added, never changed or removed.
//!
//! Request (every field optional; empty input means all defaults):
//! `{"v":1,"profile":"prod","min_valid_secs":300,"refresh":false}`
//!
//! Response: `{"v":1,"access_token":...}` with the fields of `sfcred token`, or
//! `{"v":1,"error":{"kind":"not_logged_in","message":"...","hint":"..."}}`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorClass};
use crate::fetch::{DEFAULT_MIN_VALID, Need};
use crate::token::{Token, TokenOutput};

pub const VERSION: u32 = 1;
pub const SUPPORTED_VERSIONS: &[u32] = &[VERSION];

/// A parsed request: which profile, and what the caller needs of the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub profile: Option<String>,
    pub min_valid: Duration,
    pub refresh: bool,
}

impl Request {
    pub fn need(&self) -> Need {
        Need { min_valid: self.min_valid, refresh: self.refresh }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadRequest {
    #[error("the request is not valid JSON: {0}")]
    NotJson(String),
    #[error("protocol version {0} is not supported; this sfcred speaks version {list}", list = supported())]
    Version(u64),
}

fn supported() -> String {
    SUPPORTED_VERSIONS.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Reads a request; unknown fields are ignored so that newer callers keep working.
pub fn parse_request(input: &[u8]) -> Result<Request, BadRequest> {
    #[derive(Deserialize)]
    struct Wire {
        v: Option<u64>,
        profile: Option<String>,
        min_valid_secs: Option<u64>,
        refresh: Option<bool>,
    }
    let text = std::str::from_utf8(input).map_err(|_| BadRequest::NotJson("it is not UTF-8".into()))?;
    let wire: Wire = if text.trim().is_empty() {
        Wire { v: None, profile: None, min_valid_secs: None, refresh: None }
    } else {
        serde_json::from_str(text).map_err(|e| BadRequest::NotJson(e.to_string()))?
    };
    match wire.v {
        None | Some(1) => {}
        Some(other) => return Err(BadRequest::Version(other)),
    }
    Ok(Request {
        profile: wire.profile,
        min_valid: wire.min_valid_secs.map_or(DEFAULT_MIN_VALID, Duration::from_secs),
        refresh: wire.refresh.unwrap_or(false),
    })
}

/// The success response: `v` and the token's fields, as `sfcred token` prints them.
pub fn token_response(token: &Token) -> String {
    #[derive(Serialize)]
    struct Response<'a> {
        v: u32,
        #[serde(flatten)]
        token: TokenOutput<'a>,
    }
    serde_json::to_string(&Response { v: VERSION, token: token.output() }).expect("a response serializes")
}

/// Error kinds, stable across versions; callers branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadRequest,
    NotLoggedIn,
    Rejected,
    Unavailable,
    Keychain,
    Other,
}

impl From<ErrorClass> for ErrorKind {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::Usage => ErrorKind::BadRequest,
            ErrorClass::NotLoggedIn => ErrorKind::NotLoggedIn,
            ErrorClass::Rejected => ErrorKind::Rejected,
            ErrorClass::Unavailable => ErrorKind::Unavailable,
            ErrorClass::Keychain => ErrorKind::Keychain,
            ErrorClass::Other => ErrorKind::Other,
        }
    }
}

pub fn error_response(kind: ErrorKind, message: &str, hint: Option<&str>) -> String {
    #[derive(Serialize)]
    struct Response<'a> {
        v: u32,
        error: Body<'a>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        kind: ErrorKind,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<&'a str>,
    }
    let response = Response { v: VERSION, error: Body { kind, message, hint } };
    serde_json::to_string(&response).expect("a response serializes")
}

pub fn error_response_for(error: &Error) -> String {
    error_response(error.class().into(), &error.to_string(), error.hint().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_means_defaults() {
        let defaults = Request { profile: None, min_valid: DEFAULT_MIN_VALID, refresh: false };
        assert_eq!(parse_request(b"").unwrap(), defaults);
        assert_eq!(parse_request(b" \n").unwrap(), defaults);
        assert_eq!(parse_request(b"{}").unwrap(), defaults);
    }

    #[test]
    fn fields_are_read_and_unknown_ones_ignored() {
        let request = parse_request(
            br#"{"v":1,"profile":"prod","min_valid_secs":300,"refresh":true,"future":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            request,
            Request { profile: Some("prod".into()), min_valid: Duration::from_secs(300), refresh: true }
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert_eq!(
            parse_request(br#"{"v":2}"#).unwrap_err().to_string(),
            "protocol version 2 is not supported; this sfcred speaks version 1"
        );
        assert!(matches!(parse_request(b"{\"v\":1"), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse_request(b"[1,2]"), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse_request(br#"{"min_valid_secs":-5}"#), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse_request(b"\xff\xfe"), Err(BadRequest::NotJson(_))));
    }

    #[test]
    fn error_responses_pin_their_json() {
        assert_eq!(
            error_response(ErrorKind::NotLoggedIn, "no profile named \"x\"", Some("log in")),
            r#"{"v":1,"error":{"kind":"not_logged_in","message":"no profile named \"x\"","hint":"log in"}}"#
        );
        assert_eq!(
            error_response(ErrorKind::BadRequest, "bad", None),
            r#"{"v":1,"error":{"kind":"bad_request","message":"bad"}}"#
        );
    }
}

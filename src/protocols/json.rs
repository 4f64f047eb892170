//! `sfcred credential`: sfcred's own versioned JSON protocol. One request on stdin, one
//! response on stdout. Version 1 is stable: fields may be added, never changed or removed.
//!
//! Request (every field optional; empty input means all defaults):
//! `{"v":1,"profile":"prod","min_valid_secs":300,"refresh":false}`
//!
//! Response: `{"v":1,"access_token":...}` with the fields of `sfcred token`, or
//! `{"v":1,"error":{"kind":"not_logged_in","message":"...","hint":"..."}}`.

use std::io::Read;
use std::time::Duration;

use secrecy::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};

use crate::token::{DEFAULT_MIN_VALID, Need, Token, Versioned};

pub const VERSION: u32 = 1;
pub const SUPPORTED_VERSIONS: &[u32] = &[VERSION];
/// Callers send a few hundred bytes; more is not a request.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// A parsed request: which profile, and what the caller needs of the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub profile: Option<String>,
    pub need: Need,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadRequest {
    #[error("the request is not valid JSON: {0}")]
    NotJson(String),
    #[error("protocol version {0} is not supported; this sfcred speaks version {list}", list = supported())]
    Version(u64),
    #[error("it is over {} KiB", MAX_REQUEST_BYTES / 1024)]
    TooLarge,
    #[error("cannot read standard input: {0}")]
    Unreadable(String),
    #[error("something follows the request's JSON value")]
    Trailing,
}

fn supported() -> String {
    SUPPORTED_VERSIONS.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

#[derive(Default, Deserialize)]
struct Wire {
    v: Option<u64>,
    profile: Option<String>,
    min_valid_secs: Option<u64>,
    refresh: Option<bool>,
}

/// Reads one request: one JSON value, or nothing before end of input. It stops at the
/// end of the value, so a caller that keeps the pipe open gets its answer.
pub fn read_request(input: impl Read) -> Result<Request, BadRequest> {
    let mut counted = Counted { inner: std::io::BufReader::new(input), read: 0 };
    let wire = serde_json::Deserializer::from_reader(&mut counted).into_iter::<Wire>().next();
    if counted.read > MAX_REQUEST_BYTES {
        return Err(BadRequest::TooLarge);
    }
    // What the writer sent with the request is in the buffer already; a caller that keeps
    // the pipe open is not waited for.
    if wire.as_ref().is_some_and(|w| w.is_ok()) && !counted.inner.buffer().iter().all(u8::is_ascii_whitespace)
    {
        return Err(BadRequest::Trailing);
    }
    let wire = match wire {
        None => Wire::default(),
        Some(Ok(wire)) => wire,
        Some(Err(e)) if e.is_io() => return Err(BadRequest::Unreadable(e.to_string())),
        Some(Err(e)) => return Err(BadRequest::NotJson(e.to_string())),
    };
    match wire.v {
        Some(v) if !SUPPORTED_VERSIONS.iter().any(|&supported| u64::from(supported) == v) => {
            return Err(BadRequest::Version(v));
        }
        _ => {}
    }
    Ok(Request {
        profile: wire.profile,
        need: Need {
            min_valid: wire.min_valid_secs.map_or(DEFAULT_MIN_VALID, Duration::from_secs),
            refresh: wire.refresh.unwrap_or(false),
        },
    })
}

/// A reader that stops (as at end of input) once it has given more than the request limit.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read > MAX_REQUEST_BYTES {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The success response: `v` and the token's fields, as `sfcred token` prints them.
pub fn token_response(token: &Token) -> Zeroizing<String> {
    crate::token::secret_json(&Versioned { v: VERSION, body: token.for_output() })
}

/// The failure response; `kind` is the error class's (stable across versions).
pub fn error_response(kind: &str, message: &str, hint: Option<&str>) -> String {
    #[derive(Serialize)]
    struct Response<'a> {
        v: u32,
        error: Body<'a>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        kind: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<&'a str>,
    }
    let response = Response { v: VERSION, error: Body { kind, message, hint } };
    serde_json::to_string(&response).expect("a response serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Request, BadRequest> {
        read_request(bytes)
    }

    #[test]
    fn data_after_the_request_is_a_bad_request() {
        assert_eq!(parse(br#"{"profile":"p"} trailing"#).unwrap_err(), BadRequest::Trailing);
        assert_eq!(parse(br#"{"profile":"p"}{"profile":"q"}"#).unwrap_err(), BadRequest::Trailing);
        assert!(parse(b"{\"profile\":\"p\"}\n  \n").is_ok(), "white space is not data");
    }

    #[test]
    fn empty_input_means_defaults() {
        let defaults = Request { profile: None, need: Need::default() };
        assert_eq!(parse(b"").unwrap(), defaults);
        assert_eq!(parse(b" \n").unwrap(), defaults);
        assert_eq!(parse(b"{}").unwrap(), defaults);
    }

    #[test]
    fn fields_are_read_and_unknown_ones_ignored() {
        let request =
            parse(br#"{"v":1,"profile":"prod","min_valid_secs":300,"refresh":true,"future":{"x":1}}"#)
                .unwrap();
        let need = Need { min_valid: Duration::from_secs(300), refresh: true };
        assert_eq!(request, Request { profile: Some("prod".into()), need });
    }

    #[test]
    fn one_value_is_read_and_what_follows_is_not() {
        struct ThenHang<'a>(&'a [u8]);
        impl Read for ThenHang<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                assert!(
                    !self.0.is_empty(),
                    "read past the request: a caller keeping the pipe open would hang"
                );
                self.0.read(buf)
            }
        }
        let request = read_request(ThenHang(br#"{"profile":"prod"}"#)).unwrap();
        assert_eq!(request.profile.as_deref(), Some("prod"));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert_eq!(
            parse(br#"{"v":2}"#).unwrap_err().to_string(),
            "protocol version 2 is not supported; this sfcred speaks version 1"
        );
        assert!(matches!(parse(b"{\"v\":1"), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse(b"[1,2]"), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse(br#"{"min_valid_secs":-5}"#), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse(b"\xff\xfe"), Err(BadRequest::NotJson(_))));
        let huge = format!("{{\"profile\":\"{}\"}}", "x".repeat(70_000));
        assert_eq!(parse(huge.as_bytes()), Err(BadRequest::TooLarge));
    }

    #[test]
    fn error_responses_pin_their_json() {
        assert_eq!(
            error_response("not_logged_in", "no profile named \"x\"", Some("log in")),
            r#"{"v":1,"error":{"kind":"not_logged_in","message":"no profile named \"x\"","hint":"log in"}}"#
        );
        assert_eq!(
            error_response("bad_request", "bad", None),
            r#"{"v":1,"error":{"kind":"bad_request","message":"bad"}}"#
        );
    }
}

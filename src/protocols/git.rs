//! git's credential-helper protocol (gitcredentials(7), git-credential(1)): `key=value`
//! lines on stdin ending with a blank line or end of input; `key[]=value` repeats.

use std::io::BufRead;

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::base::choice::choice_enum;
use crate::token::Token;

/// A request is a few lines; more is not one.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;

choice_enum! {
    /// What git asks a helper to do.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Operation {
        Get => "get", "Answer with a token for the host git asks about";
        Store => "store", "Nothing to do: sfcred mints its own tokens";
        Erase => "erase", "Drop the cached token (git saw it rejected)";
    }
}

/// What git tells a helper. Unknown keys are kept out: git adds keys over time.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub username: Option<String>,
    /// The token git used, when it reports one rejected.
    pub password: Option<SecretString>,
    pub credential: Option<SecretString>,
    pub capabilities: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadRequest {
    #[error("line {line} of git's request has no '=': {text:?}")]
    NoEquals { line: usize, text: String },
    #[error("git's request holds a NUL byte")]
    Nul,
    #[error("git's request is not UTF-8")]
    NotUtf8,
    #[error("git's request is over {} KiB", MAX_REQUEST_BYTES / 1024)]
    TooLarge,
    #[error("cannot read standard input: {0}")]
    Unreadable(String),
}

/// Reads git's request up to its blank line (or end of input), so a caller that keeps
/// the pipe open gets its answer.
pub fn read_request(input: impl std::io::BufRead) -> Result<Request, BadRequest> {
    let mut reader = input.take(MAX_REQUEST_BYTES + 1);
    // One allocation, wiped when dropped: the request may carry the token git used.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_REQUEST_BYTES as usize + 1));
    loop {
        let start = bytes.len();
        let n = reader.read_until(b'\n', &mut bytes).map_err(|e| BadRequest::Unreadable(e.to_string()))?;
        if bytes.len() as u64 > MAX_REQUEST_BYTES {
            return Err(BadRequest::TooLarge);
        }
        if n == 0 || bytes[start..].strip_suffix(b"\n").is_some_and(|line| line.is_empty() || line == b"\r") {
            break;
        }
    }
    parse_request(&bytes)
}

pub fn parse_request(input: &[u8]) -> Result<Request, BadRequest> {
    if input.contains(&0) {
        return Err(BadRequest::Nul);
    }
    let text = std::str::from_utf8(input).map_err(|_| BadRequest::NotUtf8)?;
    let mut request = Request::default();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once('=') else {
            let shown: String = line.chars().take(40).collect();
            return Err(BadRequest::NoEquals { line: index + 1, text: shown });
        };
        let value = Some(value.to_owned());
        match key {
            "protocol" => request.protocol = value,
            "host" => request.host = value,
            "username" => request.username = value,
            "password" => request.password = value.map(SecretString::from),
            "credential" => request.credential = value.map(SecretString::from),
            "capability[]" => request.capabilities.extend(value),
            _ => {}
        }
    }
    Ok(request)
}

impl Request {
    /// The host and port as profiles record them: lower-cased, with a port only when it is
    /// not https's 443 (another port is another origin); none for an empty port.
    pub fn host_name(&self) -> Option<String> {
        let host = self.host.as_deref()?;
        let name = match host.rsplit_once(':') {
            Some((name, "443")) => name,
            Some((_, "")) => return None,
            _ => host,
        };
        Some(name.to_ascii_lowercase())
    }

    /// Whether git asks for this `username`'s credentials, or for anyone's.
    pub fn is_for_user(&self, username: &str) -> bool {
        self.username.as_deref().is_none_or(|asked| asked.is_empty() || asked == username)
    }

    fn wants_authtype(&self) -> bool {
        self.capabilities.iter().any(|c| c == "authtype")
    }

    /// Whether the secret git saw rejected is `token` (so erasing drops nothing newer).
    pub fn carries(&self, token: &Token) -> bool {
        let token = token.secret();
        [&self.password, &self.credential]
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s.expose_secret() == token))
    }
}

/// The answer to `get`: the token as a password, or as a Bearer credential when git
/// can take one.
pub fn get_response(request: &Request, token: &Token) -> Zeroizing<String> {
    use std::fmt::Write;
    let secret = token.secret();
    let expiry = token.expires_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Room for it all at once, so that no growth leaves an unwiped copy of the token.
    let mut out = Zeroizing::new(String::with_capacity(256 + token.username.len() + 2 * secret.len()));
    if request.wants_authtype() {
        out.push_str("capability[]=authtype\n");
        let _ = write!(out, "authtype=Bearer\ncredential={secret}\nephemeral=true\n");
    }
    let _ = write!(out, "username={}\npassword={secret}\npassword_expiry_utc={expiry}\n", token.username);
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use secrecy::SecretString;

    use super::*;

    fn token() -> Token {
        Token {
            access_token: SecretString::from("00D!tok"),
            token_type: "Bearer".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
            id: "id".into(),
            scope: None,
            issued_at: UNIX_EPOCH,
            expires_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            username: "u@acme.com".into(),
            profile: "prod".into(),
            format: Default::default(),
            binding: Default::default(),
        }
    }

    #[test]
    fn reads_keys_until_the_blank_line() {
        let input = b"protocol=https\nhost=Acme.My.Salesforce.com:443\ncapability[]=authtype\ncapability[]=state\nwwwauth[]=Bearer\n\nhost=ignored\n";
        let request = parse_request(input).unwrap();
        assert_eq!(request.protocol.as_deref(), Some("https"));
        assert_eq!(request.host_name().as_deref(), Some("acme.my.salesforce.com"));
        assert_eq!(request.capabilities, ["authtype", "state"]);
        let empty = parse_request(b"").unwrap();
        assert!(empty.protocol.is_none() && empty.host.is_none() && empty.capabilities.is_empty());
        let password = parse_request(b"password=a=b\n").unwrap().password.unwrap();
        assert_eq!(password.expose_secret(), "a=b");
    }

    #[test]
    fn reading_stops_at_the_blank_line() {
        struct ThenHang<'a>(&'a [u8]);
        impl std::io::Read for ThenHang<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                assert!(!self.0.is_empty(), "read past the blank line");
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let request = read_request(std::io::BufReader::new(ThenHang(b"protocol=https\nhost=h\n\n"))).unwrap();
        assert_eq!(request.host.as_deref(), Some("h"));
        assert_eq!(
            read_request(&b"host=h"[..]).unwrap().host.as_deref(),
            Some("h"),
            "end of input ends it too"
        );
        let huge = format!("host={}\n", "x".repeat(70_000));
        assert_eq!(read_request(huge.as_bytes()).unwrap_err(), BadRequest::TooLarge);
    }

    #[test]
    fn only_the_profiles_user_or_anyone_is_answered() {
        let anyone = parse_request(b"host=h\n").unwrap();
        assert!(anyone.is_for_user("u@acme.com"));
        assert!(parse_request(b"host=h\nusername=u@acme.com\n").unwrap().is_for_user("u@acme.com"));
        assert!(!parse_request(b"host=h\nusername=mallory\n").unwrap().is_for_user("u@acme.com"));
    }

    #[test]
    fn another_port_is_another_origin() {
        let host =
            |line: &str| parse_request(format!("protocol=https\n{line}\n").as_bytes()).unwrap().host_name();
        assert_eq!(host("host=Acme.my.salesforce.com").as_deref(), Some("acme.my.salesforce.com"));
        assert_eq!(host("host=acme.my.salesforce.com:443").as_deref(), Some("acme.my.salesforce.com"));
        assert_eq!(host("host=acme.my.salesforce.com:8443").as_deref(), Some("acme.my.salesforce.com:8443"));
        assert_eq!(host("host=acme.my.salesforce.com:"), None);
    }

    #[test]
    fn hostile_input_is_refused() {
        assert_eq!(
            parse_request(b"protocol=https\nnonsense\n").unwrap_err(),
            BadRequest::NoEquals { line: 2, text: "nonsense".into() }
        );
        assert_eq!(parse_request(b"host=a\0b\n").unwrap_err(), BadRequest::Nul);
        assert_eq!(parse_request(b"host=\xff\n").unwrap_err(), BadRequest::NotUtf8);
    }

    #[test]
    fn get_answers_pin_their_lines() {
        let plain = parse_request(b"protocol=https\nhost=acme.my.salesforce.com\n").unwrap();
        assert_eq!(
            *get_response(&plain, &token()),
            "username=u@acme.com\npassword=00D!tok\npassword_expiry_utc=1700000000\n"
        );
        let modern = parse_request(b"host=h\ncapability[]=authtype\n").unwrap();
        assert_eq!(
            *get_response(&modern, &token()),
            "capability[]=authtype\nauthtype=Bearer\ncredential=00D!tok\nephemeral=true\n\
             username=u@acme.com\npassword=00D!tok\npassword_expiry_utc=1700000000\n"
        );
    }

    #[test]
    fn erase_matches_only_the_token_git_saw() {
        let seen = parse_request(b"host=h\npassword=00D!tok\n").unwrap();
        assert!(seen.carries(&token()));
        let other = parse_request(b"host=h\npassword=older\n").unwrap();
        assert!(!other.carries(&token()));
    }
}

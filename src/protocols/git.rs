//! git's credential-helper protocol (gitcredentials(7), git-credential(1)): `key=value`
//! lines on stdin ending with a blank line or end of input; `key[]=value` repeats.

use crate::token::Token;

#[derive(Debug, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    /// Answer with a token for the host git asks about
    Get,
    /// Nothing to do: sfcred mints its own tokens
    Store,
    /// Drop the cached token (git saw it rejected)
    Erase,
}

/// What git tells a helper. Unknown keys are kept out: git adds keys over time.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub credential: Option<String>,
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
            "password" => request.password = value,
            "credential" => request.credential = value,
            "capability[]" => request.capabilities.extend(value),
            _ => {}
        }
    }
    Ok(request)
}

impl Request {
    /// The host without a port, lower-cased, as profiles record it.
    pub fn host_name(&self) -> Option<String> {
        let host = self.host.as_deref()?;
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
        Some(name.to_ascii_lowercase())
    }

    fn wants_authtype(&self) -> bool {
        self.capabilities.iter().any(|c| c == "authtype")
    }

    /// Whether the secret git saw rejected is `token` (so erasing drops nothing newer).
    pub fn carries(&self, token: &Token) -> bool {
        let token = token.secret();
        [&self.password, &self.credential].iter().any(|s| s.as_deref() == Some(token))
    }
}

/// The answer to `get`: the token as a password, or as a Bearer credential when git
/// can take one.
pub fn get_response(request: &Request, token: &Token) -> String {
    let secret = token.secret();
    let expiry = token.expires_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut out = String::new();
    if request.wants_authtype() {
        out.push_str("capability[]=authtype\n");
        out.push_str(&format!("authtype=Bearer\ncredential={secret}\nephemeral=true\n"));
    }
    out.push_str(&format!("username={}\npassword={secret}\npassword_expiry_utc={expiry}\n", token.username));
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
        }
    }

    #[test]
    fn reads_keys_until_the_blank_line() {
        let input = b"protocol=https\nhost=Acme.My.Salesforce.com:443\ncapability[]=authtype\ncapability[]=state\nwwwauth[]=Bearer\n\nhost=ignored\n";
        let request = parse_request(input).unwrap();
        assert_eq!(request.protocol.as_deref(), Some("https"));
        assert_eq!(request.host_name().as_deref(), Some("acme.my.salesforce.com"));
        assert_eq!(request.capabilities, ["authtype", "state"]);
        assert_eq!(parse_request(b"").unwrap(), Request::default());
        assert_eq!(parse_request(b"password=a=b\n").unwrap().password.as_deref(), Some("a=b"));
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
            get_response(&plain, &token()),
            "username=u@acme.com\npassword=00D!tok\npassword_expiry_utc=1700000000\n"
        );
        let modern = parse_request(b"host=h\ncapability[]=authtype\n").unwrap();
        assert_eq!(
            get_response(&modern, &token()),
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

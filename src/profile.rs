//! A profile names one org user: who signs in, where, and for how long a token is
//! trusted. Only non-secret settings live here; secrets are in [`crate::keychain`].

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::cache::CacheKind;
use crate::keychain::StoreKind;

pub const DEFAULT_PROFILE: &str = "default";
pub const PRODUCTION_LOGIN_URL: &str = "https://login.salesforce.com";
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings of one profile, as stored in the settings file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip)]
    pub name: String,
    /// The Salesforce username: the JWT `sub` claim.
    pub username: String,
    /// Where the assertion is posted.
    pub login_url: LoginUrl,
    /// The JWT `aud` claim: the authorization server by org type.
    pub audience: String,
    /// How long a minted token is trusted; Salesforce does not say.
    #[serde(with = "duration_text")]
    pub ttl: Duration,
    /// Which keychain holds this profile's secrets.
    pub store: StoreKind,
    /// Where minted tokens are kept until they expire.
    #[serde(default)]
    pub cache: CacheKind,
    /// The org's instance, as the last verified login answered; matched against git's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    #[serde(with = "duration_text", default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    #[serde(with = "duration_text", default = "default_request_timeout")]
    pub request_timeout: Duration,
}

fn default_connect_timeout() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}

fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}

/// The audience Salesforce expects for a login host: by org type, never a My Domain.
pub fn default_audience(login_url: &LoginUrl) -> &'static str {
    if is_sandbox_host(login_url.host()) { SANDBOX_LOGIN_URL } else { PRODUCTION_LOGIN_URL }
}

fn is_sandbox_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com")
}

/// An explicit audience: an absolute http(s) URL (an Experience Cloud site may have a path).
pub fn validate_audience(text: &str) -> Result<String, InvalidSetting> {
    let text = text.trim();
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => {
            Ok(text.to_owned())
        }
        _ => Err(InvalidSetting {
            what: "audience",
            value: text.to_owned(),
            reason: format!("use a URL such as {PRODUCTION_LOGIN_URL} or {SANDBOX_LOGIN_URL}"),
        }),
    }
}

/// A profile name is used in file names and keychain accounts, so it is kept plain.
pub fn validate_profile_name(name: &str) -> Result<(), InvalidSetting> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(plain) || name.starts_with('.') {
        return Err(InvalidSetting {
            what: "profile name",
            value: name.to_owned(),
            reason: "use 1 to 64 letters, digits, '-', '_' or '.' (not starting with '.')".into(),
        });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidSetting {
    pub what: &'static str,
    pub value: String,
    pub reason: String,
}

/// The base URL a token request goes to. Only https, except plain http to a loopback
/// address, so the assertion never crosses a network in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoginUrl(Url);

impl LoginUrl {
    pub fn parse(text: &str) -> Result<Self, InvalidSetting> {
        let invalid = |reason: &str| InvalidSetting {
            what: "login URL",
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(text.trim())
            .map_err(|e| invalid(&format!("{e}; expected e.g. {PRODUCTION_LOGIN_URL}")))?;
        let Some(host) = url.host_str() else {
            return Err(invalid("it has no host"));
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(invalid("plain http is allowed only for loopback hosts; use https")),
            _ => return Err(invalid("use an https:// URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
            return Err(invalid("give only scheme and host, e.g. https://acme.my.salesforce.com"));
        }
        Ok(LoginUrl(url))
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Salesforce's token endpoint under this login URL.
    pub fn token_endpoint(&self) -> Url {
        self.0.join("/services/oauth2/token").expect("a fixed path joins any base URL")
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

impl TryFrom<String> for LoginUrl {
    type Error = InvalidSetting;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        LoginUrl::parse(&text)
    }
}

impl From<LoginUrl> for String {
    fn from(url: LoginUrl) -> String {
        url.as_str().to_owned()
    }
}

impl std::fmt::Display for LoginUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Durations read and write like `90s`, `30m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidSetting> {
    humantime::parse_duration(text.trim()).map_err(|e| InvalidSetting {
        what: "duration",
        value: text.to_owned(),
        reason: format!("{e}; write it like 90s, 30m or 2h"),
    })
}

pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string().replace(' ', "")
}

mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience_for(url: &str) -> &'static str {
        default_audience(&LoginUrl::parse(url).unwrap())
    }

    #[test]
    fn audience_follows_org_type_not_host() {
        assert_eq!(audience_for("https://login.salesforce.com"), PRODUCTION_LOGIN_URL);
        assert_eq!(audience_for("https://acme.my.salesforce.com"), PRODUCTION_LOGIN_URL);
        assert_eq!(audience_for("https://test.salesforce.com/"), SANDBOX_LOGIN_URL);
        assert_eq!(audience_for("https://acme--uat.sandbox.my.salesforce.com"), SANDBOX_LOGIN_URL);
        assert_eq!(audience_for("https://ACME--UAT.Sandbox.My.Salesforce.com"), SANDBOX_LOGIN_URL);
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in ["http://127.0.0.1:8080", "http://127.3.4.5", "http://[::1]:9", "http://localhost:1"] {
            assert!(LoginUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in
            ["http://login.salesforce.com", "http://10.0.0.1", "ftp://x", "https://u:p@h", "https://h/x"]
        {
            assert!(LoginUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_endpoint_and_text_form() {
        let url = LoginUrl::parse("https://acme.my.salesforce.com/").unwrap();
        assert_eq!(url.as_str(), "https://acme.my.salesforce.com");
        assert_eq!(url.token_endpoint().as_str(), "https://acme.my.salesforce.com/services/oauth2/token");
    }

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(format_duration(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn profile_names_stay_plain() {
        assert!(validate_profile_name("prod-eu_1.x").is_ok());
        for bad in ["", "a/b", "..", ".hidden", "a b", &"x".repeat(65)] {
            assert!(validate_profile_name(bad).is_err(), "{bad}");
        }
    }
}

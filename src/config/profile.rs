//! A profile names one org user: who signs in, where, for how long a token is trusted,
//! which keychain holds its secrets (or which token its key), and where its tokens are
//! cached. Plain data with the rules for its values, over the ground layer alone.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::base::choice::choice_enum;
use crate::keys::pkcs11_uri::Pkcs11Uri;

pub const DEFAULT_PROFILE: &str = "default";
pub const PRODUCTION_LOGIN_URL: &str = "https://login.salesforce.com";
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Salesforce's servers take 2 to 10 minutes to agree on a new certificate.
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(3600);
/// No duration sfcred takes is longer: Salesforce's longest session timeout is 24 hours,
/// and a bound keeps every time computed from a duration in range.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

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
    #[serde(serialize_with = "duration_text::serialize", deserialize_with = "duration_text::ttl")]
    pub ttl: Duration,
    /// Which keychain holds this profile's secrets (the private key too, unless `pkcs11`).
    pub store: StoreKind,
    /// The private key on a PKCS#11 token, instead of in the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Uri>,
    /// Where minted tokens are kept until they expire.
    #[serde(default)]
    pub cache: CacheKind,
    /// The Redis a fleet shares, for `cache = "redis"` ([`CacheUrl`], checked where it is
    /// used: a bad one fails no other profile); its password is in the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_url: Option<String>,
    /// The org's instance, as the last verified login answered; matched against git's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    #[serde(with = "duration_text", default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    #[serde(with = "duration_text", default = "default_request_timeout")]
    pub request_timeout: Duration,
    /// How long a rotation keeps the replaced key as a fallback once the new one is accepted.
    #[serde(
        with = "duration_text",
        default = "default_rotation_grace",
        skip_serializing_if = "is_default_grace"
    )]
    pub rotation_grace: Duration,
}

fn default_rotation_grace() -> Duration {
    DEFAULT_ROTATION_GRACE
}

fn is_default_grace(grace: &Duration) -> bool {
    *grace == DEFAULT_ROTATION_GRACE
}

fn default_connect_timeout() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}

fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}

/// Which keychain a profile's secrets live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// Secret Service over D-Bus (GNOME Keyring, KWallet): the Linux default.
    SecretService,
    /// The Linux kernel key retention service: needs no daemon, forgets everything at reboot.
    Keyutils,
    /// The macOS login keychain.
    MacosKeychain,
    /// Windows Credential Manager.
    WindowsCredentialManager,
    /// No store: the secrets come from SFCRED_* environment variables (CI, containers).
    Environment,
}

impl StoreKind {
    /// The stores a user can choose (the environment is not chosen, it is set).
    pub const CHOICES: [StoreKind; 4] = [
        StoreKind::SecretService,
        StoreKind::Keyutils,
        StoreKind::MacosKeychain,
        StoreKind::WindowsCredentialManager,
    ];

    pub fn platform_default() -> StoreKind {
        if cfg!(target_os = "macos") {
            StoreKind::MacosKeychain
        } else if cfg!(windows) {
            StoreKind::WindowsCredentialManager
        } else {
            StoreKind::SecretService
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StoreKind::SecretService => "secret-service",
            StoreKind::Keyutils => "keyutils",
            StoreKind::MacosKeychain => "macos-keychain",
            StoreKind::WindowsCredentialManager => "windows-credential-manager",
            StoreKind::Environment => "environment",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            StoreKind::SecretService => {
                "Secret Service over D-Bus (GNOME Keyring, KWallet): the Linux default"
            }
            StoreKind::Keyutils => {
                "The Linux kernel key retention service: needs no daemon, forgets everything at reboot"
            }
            StoreKind::MacosKeychain => "The macOS login keychain",
            StoreKind::WindowsCredentialManager => "Windows Credential Manager",
            StoreKind::Environment => "SFCRED_* environment variables",
        }
    }
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StoreKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let names = || StoreKind::CHOICES.map(StoreKind::name).join(", ");
        StoreKind::CHOICES
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("use one of: {}", names()))
    }
}

choice_enum! {
    /// Where a profile's token is kept between calls.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum CacheKind {
        #[default]
        File => "file", "A user-only file in the runtime (or cache) directory";
        /// `keyring`, its name before, is still read.
        #[serde(alias = "keyring")]
        Keychain => "keychain", "The profile's keychain";
        None => "none", "No caching: every call mints";
        Redis => "redis", "A user-only file, in front of a Redis the fleet shares (--cache-url)";
    }
}

/// The Redis a fleet shares: `redis://` or `rediss://` (TLS) URLs, several (comma-separated)
/// for a cluster's nodes, each without its password (that is in the keychain, or with
/// `SFCRED_CACHE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheUrl(Vec<Url>);

impl CacheUrl {
    /// `text` as given: the URLs, and the password they carry (decoded), if any: the same in
    /// each, as a cluster's nodes share their users. The text is never shown, as it may
    /// hold a password.
    pub fn with_password(
        what: &'static str,
        text: &str,
    ) -> Result<(CacheUrl, Option<String>), InvalidSetting> {
        let invalid = |reason: &str| InvalidSetting::new(what, Accepts::CacheUrl, "(not shown)", reason);
        let mut password = None;
        let mut urls = Vec::new();
        for one in text.split(',').map(str::trim).filter(|one| !one.is_empty()) {
            let mut url =
                Url::parse(one).map_err(|e| invalid(&format!("a URL that does not parse ({e})")))?;
            if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none_or(str::is_empty) {
                return Err(invalid("it is not a redis:// or rediss:// URL with a host"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(invalid("give only scheme, user, host, port and database number"));
            }
            let given = match url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8()) {
                Some(Ok(password)) => Some(password.into_owned()),
                Some(Err(_)) => return Err(invalid("its password is not UTF-8 once decoded")),
                None => None,
            };
            if given.is_some() && password.is_some() && given != password {
                return Err(invalid("a cluster's nodes share one password: give each URL the same"));
            }
            password = password.or(given);
            let _ = url.set_password(None);
            urls.push(url);
        }
        if urls.is_empty() {
            return Err(invalid("it names no Redis"));
        }
        Ok((CacheUrl(urls), password))
    }

    /// URLs given where a password must not be (the command line, a visible prompt, the
    /// settings file); `why` says why it must not.
    pub fn without_password(what: &'static str, text: &str, why: &str) -> Result<CacheUrl, InvalidSetting> {
        match CacheUrl::with_password(what, text)? {
            (url, None) => Ok(url),
            (url, Some(_)) => {
                Err(InvalidSetting::new(what, Accepts::CacheUrlWithoutPassword, &url.to_string(), why))
            }
        }
    }

    /// A `cache_url` as the settings keep it: one holding a password is refused.
    pub fn parse_setting(text: &str) -> Result<CacheUrl, InvalidSetting> {
        CacheUrl::without_password(
            "cache_url",
            text,
            "the settings file holds its password: remove it from the file",
        )
    }

    /// Each URL with `password` put in, as Redis is reached.
    pub fn urls_with(&self, password: Option<&str>) -> Vec<String> {
        self.0
            .iter()
            .map(|url| {
                let mut url = url.clone();
                if let Some(password) = password {
                    // Every byte but letters and digits escaped: Redis's client decodes them all.
                    let encoded =
                        percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC);
                    let _ = url.set_password(Some(&encoded.to_string()));
                }
                url.into()
            })
            .collect()
    }
}

impl std::fmt::Display for CacheUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<&str> = self.0.iter().map(Url::as_str).collect();
        f.write_str(&urls.join(","))
    }
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
        _ => Err(InvalidSetting::new(
            "audience",
            Accepts::Audience,
            text,
            format!("use a URL such as {PRODUCTION_LOGIN_URL} or {SANDBOX_LOGIN_URL}"),
        )),
    }
}

/// A PKCS#11 URI as a user gives it; a bad one is named without its PIN.
pub fn parse_pkcs11_uri(what: &'static str, text: &str) -> Result<Pkcs11Uri, InvalidSetting> {
    text.parse().map_err(|e: crate::keys::pkcs11_uri::UriError| {
        InvalidSetting::new(what, Accepts::Pkcs11Uri, &Pkcs11Uri::redacted(text), e.reason)
    })
}

/// A `--pkcs11` URI from the command line: any local user reads a command line
/// (`/proc/PID/cmdline`, `ps`) while it runs, so it may not carry a `pin-value`.
pub fn parse_pkcs11_flag(text: &str) -> Result<Pkcs11Uri, InvalidSetting> {
    let uri = parse_pkcs11_uri("--pkcs11", text)?;
    if uri.pin_value.is_some() {
        return Err(InvalidSetting::new(
            "--pkcs11",
            Accepts::Pkcs11UriWithoutPin,
            &Pkcs11Uri::redacted(text),
            "a pin-value on the command line is readable by every local user: give the PIN with \
             pin-source=FILE in the URI, SFCRED_PKCS11_PIN, or at the prompt",
        ));
    }
    Ok(uri)
}

/// A profile name is used in file names and keychain accounts, so it is kept plain.
pub fn validate_profile_name(name: &str) -> Result<(), InvalidSetting> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(plain) || name.starts_with('.') {
        return Err(InvalidSetting::new(
            "profile name",
            Accepts::ProfileName,
            name,
            "use 1 to 64 letters, digits, '-', '_' or '.' (not starting with '.')",
        ));
    }
    Ok(())
}

/// A value that breaks a rule. The value is kept as it will be shown: credentials in a
/// URL redacted, and cut to a printable length.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidSetting {
    /// The flag, variable or setting, as the user wrote it.
    pub what: &'static str,
    pub value: String,
    pub reason: String,
    pub accepts: Accepts,
}

/// What kind of value a setting takes, for the hint that names the accepted values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Accepts {
    Duration,
    /// A duration from [`MIN_TTL`] to [`MAX_DURATION`].
    Ttl,
    LoginUrl,
    Audience,
    ProfileName,
    Pkcs11Uri,
    /// A PKCS#11 URI that must not carry its PIN.
    Pkcs11UriWithoutPin,
    /// A path on the org, like `/lightning/setup/SetupOneHome/home`.
    OrgPath,
    /// A shared cache's Redis URLs.
    CacheUrl,
    /// Redis URLs that must not carry their password.
    CacheUrlWithoutPassword,
}

impl InvalidSetting {
    pub fn new(
        what: &'static str,
        accepts: Accepts,
        value: &str,
        reason: impl Into<String>,
    ) -> InvalidSetting {
        InvalidSetting { what, value: crate::base::diag::shown_value(value), reason: reason.into(), accepts }
    }

    /// The accepted values, with examples.
    pub fn hint(&self) -> String {
        match self.accepts {
            Accepts::Duration => {
                format!("give {} a number and a unit, like 90s, 30m or 2h (24h at most)", self.what)
            }
            Accepts::Ttl => format!(
                "give {} a number and a unit, like 5m, 30m or 2h ({} to {}h)",
                self.what,
                format_duration(MIN_TTL),
                MAX_DURATION.as_secs() / 3600
            ),
            Accepts::LoginUrl => format!(
                "give the whole URL, https:// included: {PRODUCTION_LOGIN_URL} (production), {SANDBOX_LOGIN_URL} \
                 (a sandbox, or --sandbox) or https://MYDOMAIN.my.salesforce.com; plain http is only for \
                 127.0.0.1 and localhost"
            ),
            Accepts::Audience => format!(
                "leave {} out unless Salesforce wants another audience: it follows the login URL \
                 ({PRODUCTION_LOGIN_URL} or {SANDBOX_LOGIN_URL})",
                self.what
            ),
            Accepts::ProfileName => "name profiles like prod, acme-uat or ci.main".into(),
            Accepts::CacheUrl => format!(
                "give {} a Redis URL, like rediss://redis.internal:6380 (TLS) or redis://127.0.0.1:6379, \
                 an ACL user's name and an @ before the host, a cluster's nodes comma-separated; the password \
                 is typed at login's prompt or comes with SFCRED_CACHE_URL",
                self.what
            ),
            Accepts::CacheUrlWithoutPassword => format!(
                "leave the password out of {} and type it at login's prompt, or give the whole URL in \
                 SFCRED_CACHE_URL; login keeps the password in the keychain",
                self.what
            ),
            Accepts::OrgPath => {
                format!("give {} a path on the org, like /lightning/setup/SetupOneHome/home", self.what)
            }
            Accepts::Pkcs11UriWithoutPin => "put the PIN in a file only you can read and name it in the URI \
                 (pin-source=/path/to/pin), or export SFCRED_PKCS11_PIN"
                .into(),
            Accepts::Pkcs11Uri => format!(
                "give {} an RFC 7512 URI, like 'pkcs11:token=LABEL;object=KEY?module-path=/usr/lib/softhsm/libsofthsm2.so' \
                 (pkcs11-tool --module MODULE --list-tokens shows the labels)",
                self.what
            ),
        }
    }
}

/// The base URL a token request goes to. Only https, except plain http to a loopback
/// address, so the assertion never crosses a network in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoginUrl(Url);

impl LoginUrl {
    pub fn parse(text: &str) -> Result<Self, InvalidSetting> {
        let invalid = |reason: &str| InvalidSetting::new("login URL", Accepts::LoginUrl, text, reason);
        // A host typed bare (acme.my.salesforce.com:443) would parse with its name as the scheme.
        if !text.contains("://") {
            return Err(invalid("it has no scheme: write https:// before the host"));
        }
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

    /// Salesforce's revocation endpoint under this login URL.
    pub fn revoke_endpoint(&self) -> Url {
        self.0.join("/services/oauth2/revoke").expect("a fixed path joins any base URL")
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

impl FromStr for LoginUrl {
    type Err = InvalidSetting;
    fn from_str(text: &str) -> Result<Self, InvalidSetting> {
        LoginUrl::parse(text)
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

pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Durations read and write like `90s`, `30m`, `2h`, and are at most [`MAX_DURATION`].
/// A duration `what` (a flag, variable or setting) is given as.
pub fn parse_duration(what: &'static str, text: &str) -> Result<Duration, InvalidSetting> {
    let invalid = |reason: String| InvalidSetting::new(what, Accepts::Duration, text, reason);
    let duration = humantime::parse_duration(text.trim()).map_err(|e| {
        invalid(match e {
            humantime::DurationError::NumberExpected(_) => "it does not start with a number".into(),
            humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => "it has no unit".into(),
            humantime::DurationError::UnknownUnit { .. } => "its unit is not one sfcred knows".into(),
            humantime::DurationError::NumberOverflow => "it is too long".into(),
            humantime::DurationError::Empty => "it is empty".into(),
            humantime::DurationError::InvalidCharacter(_) => {
                "it holds a character a duration does not have".into()
            }
        })
    })?;
    if duration > MAX_DURATION {
        return Err(invalid("it is over 24h, the longest session Salesforce has".into()));
    }
    Ok(duration)
}

/// The shortest ttl: a token must outlive the default `--min-valid` by a margin, or every
/// call would mint.
pub const MIN_TTL: Duration = Duration::from_secs(3 * 60);

/// A ttl: login's `--ttl`, or a profile's `ttl` in the settings.
pub fn parse_ttl(what: &'static str, text: &str) -> Result<Duration, InvalidSetting> {
    let ttl = parse_duration(what, text).map_err(|e| InvalidSetting { accepts: Accepts::Ttl, ..e })?;
    if ttl < MIN_TTL {
        return Err(InvalidSetting::new(
            what,
            Accepts::Ttl,
            text,
            format!(
                "a token must be trusted for {} at least: sfcred hands out tokens with 60s left at least \
                 (--min-valid), and mints again before that",
                format_duration(MIN_TTL)
            ),
        ));
    }
    Ok(ttl)
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
        super::parse_duration("duration", &text).map_err(serde::de::Error::custom)
    }

    /// A ttl in the settings is held to the same bounds as login's `--ttl`.
    pub fn ttl<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_ttl("ttl", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_url_s_password_is_taken_out_and_put_back_as_redis_reads_it() {
        let (url, password) =
            CacheUrl::with_password("x", "redis://app:p%2541%40s%2F@h:1, redis://app:p%2541%40s%2F@g:2")
                .unwrap();
        assert_eq!(url.to_string(), "redis://app@h:1,redis://app@g:2");
        assert_eq!(password.as_deref(), Some("p%41@s/"), "decoded");
        assert_eq!(url.urls_with(password.as_deref())[0], "redis://app:p%2541%40s%2F@h:1", "encoded once");
        assert_eq!(url.urls_with(None)[1], "redis://app@g:2");
        let refused = |text: &str| CacheUrl::with_password("x", text).unwrap_err();
        assert!(refused("redis://:a@h:1,redis://:b@g:2").reason.contains("share one password"));
        assert!(refused("https://h").reason.contains("redis://"));
        assert!(refused(" , ").reason.contains("names no Redis"));
        assert!(
            refused("redis://:%FF@h:1").reason.contains("not UTF-8"),
            "never a password changed in passing"
        );
        let unparsed = refused("redis://u:ab/cd@h:1");
        assert_eq!(unparsed.value, "(not shown)", "a URL that may hold a password is never shown");
        assert!(
            CacheUrl::parse_setting("redis://:pw@h:1").unwrap_err().reason.contains("holds its password")
        );
        assert!(CacheUrl::parse_setting("rediss://app@h:6380").is_ok());
    }

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
    fn credentials_in_a_refused_url_are_not_repeated() {
        let err = LoginUrl::parse("https://alice:hunter2@acme.my.salesforce.com").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("it must not carry credentials"), "{err}");
    }

    #[test]
    fn token_endpoint_and_text_form() {
        let url = LoginUrl::parse("https://acme.my.salesforce.com/").unwrap();
        assert_eq!(url.as_str(), "https://acme.my.salesforce.com");
        assert_eq!(url.token_endpoint().as_str(), "https://acme.my.salesforce.com/services/oauth2/token");
    }

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("--ttl", "90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("--ttl", "2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(format_duration(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert!(parse_duration("--ttl", "soon").is_err());
    }

    #[test]
    fn a_bad_duration_is_quoted_short() {
        let err = parse_duration("--ttl", &format!("1{}", "\u{1c}".repeat(5000))).unwrap_err().to_string();
        assert!(err.len() < 4096, "{} bytes", err.len());
    }

    #[test]
    fn durations_are_bounded_by_a_day() {
        assert_eq!(parse_duration("--ttl", "24h").unwrap(), MAX_DURATION);
        for huge in ["24h1s", "100000h", "8000years", "18446744073709551615s"] {
            let err = parse_duration("--ttl", huge).unwrap_err();
            assert!(err.reason.contains("over 24h") || err.reason.contains("90s"), "{huge}: {err}");
        }
    }

    #[test]
    fn stores_and_caches_read_and_write_their_names() {
        for kind in StoreKind::CHOICES {
            assert_eq!(kind.name().parse::<StoreKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
        assert!("environment".parse::<StoreKind>().is_err(), "the environment is not a choice");
        for &kind in CacheKind::ALL {
            assert_eq!(kind.to_string().parse::<CacheKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }

    #[test]
    fn profile_names_stay_plain() {
        assert!(validate_profile_name("prod-eu_1.x").is_ok());
        for bad in ["", "a/b", "..", ".hidden", "a b", &"x".repeat(65)] {
            assert!(validate_profile_name(bad).is_err(), "{bad}");
        }
    }
}

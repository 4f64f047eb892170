//! Sends a signed assertion to Salesforce's token endpoint and reads the answer.
//! The network part is a thin shell around [`parse_response`], which is pure.

use std::time::Duration;

pub use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::context::TrustRoots;
use crate::config::profile::Profile;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("Salesforce refused the token request: {error}: {description}")]
    Rejected { error: String, description: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: Url, reason: String },
    #[error("{url} did not answer within {}s", timeout.as_secs())]
    TimedOut { url: Url, timeout: Duration },
    #[error("{url} answered HTTP {status} with {what}, not a token")]
    BadAnswer { url: Url, status: u16, what: String },
    #[error("{url} is not trusted: {reason}")]
    Untrusted {
        url: Url,
        reason: String,
        /// SSL_CERT_FILE or SSL_CERT_DIR replaced the OS trust store.
        own_roots: bool,
    },
    #[error("{url} redirected the token request to {location}")]
    Redirected { url: Url, location: String },
    #[error("cannot read the trusted certificates in {path}: {reason}")]
    TrustRoots { path: std::path::PathBuf, reason: String },
    #[error("Salesforce refused to revoke the token: {error}: {description}")]
    RevokeRefused { error: String, description: String },
    #[error("{url} answered the revocation with HTTP {status} and {what}")]
    RevokeBadAnswer { url: Url, status: u16, what: String },
    #[error("{url} answered HTTP {status} with {what}, not a frontdoor URL")]
    FrontdoorBadAnswer {
        url: Url,
        status: u16,
        what: String,
        /// A landing path (`--path`) was sent.
        with_path: bool,
    },
    #[error("Salesforce refused a frontdoor URL again after a new token: HTTP {status}, {said}")]
    FrontdoorRefused {
        status: u16,
        /// Salesforce's error, printable.
        said: String,
        /// The token was JWT-based, which Salesforce documents for REST APIs only.
        jwt_based: bool,
    },
    #[error("the token's instance URL {instance_url} cannot be used: {reason}")]
    BadInstanceUrl { instance_url: String, reason: String },
}

impl ExchangeError {
    /// Notes whether the trust store that refused a certificate was the user's own.
    fn seen_with(self, trust: &TrustRoots) -> ExchangeError {
        match self {
            ExchangeError::Untrusted { url, reason, .. } => ExchangeError::Untrusted {
                url,
                reason,
                own_roots: trust.file.is_some() || trust.dir.is_some(),
            },
            other => other,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ExchangeError::Rejected { error, description } => {
                rejection_hint(error, description).map(str::to_owned)
            }
            ExchangeError::Unreachable { .. } => Some(
                "check the login URL and your network; proxies come from HTTPS_PROXY and NO_PROXY".into(),
            ),
            ExchangeError::Untrusted { own_roots: true, .. } => Some(
                "SSL_CERT_FILE or SSL_CERT_DIR replaces the OS trust store, and no CA certificate there \
                 vouches for this server: add its CA's certificate to them, or unset both to use the OS \
                 trust store"
                    .into(),
            ),
            ExchangeError::Untrusted { .. } => Some(format!(
                "this machine does not trust the server's certificate. Behind a TLS-inspecting proxy or with \
                 a private CA, {ADD_TO_TRUST_STORE}, or point SSL_CERT_FILE at a PEM bundle that holds it \
                 (it then replaces the OS trust store)"
            )),
            ExchangeError::TrustRoots { .. } => Some(
                "SSL_CERT_FILE must name a PEM file of CA certificates, and SSL_CERT_DIR a directory of \
                 them; fix or unset the variable to use the OS trust store"
                    .into(),
            ),
            ExchangeError::TimedOut { .. } => Some(
                "try again; connect_timeout and request_timeout in the profile's settings set the waits"
                    .into(),
            ),
            ExchangeError::BadAnswer { status, .. } if *status >= 500 => {
                Some("Salesforce had a problem; try again in a minute".into())
            }
            ExchangeError::BadAnswer { .. } => {
                Some("is the login URL a Salesforce login host (e.g. https://login.salesforce.com)?".into())
            }
            ExchangeError::Redirected { .. } => Some(
                "sfcred sends the assertion only to the login URL; log in again with the URL redirected to"
                    .into(),
            ),
            ExchangeError::FrontdoorBadAnswer { with_path: true, status, .. } if is_refusal(*status) => Some(
                "check --path: a path on the org, like /lightning/setup/SetupOneHome/home; without it, sfcred \
                 open lands on the org's home page"
                    .into(),
            ),
            ExchangeError::FrontdoorBadAnswer { .. } => {
                Some("try again; if it persists, open the org from its login page".into())
            }
            ExchangeError::FrontdoorRefused { jwt_based: true, .. } => Some(
                "the profile's tokens are JWT-based, which Salesforce serves to REST APIs only: its UI Bridge API \
                 may refuse them. Open the org with an app that issues opaque tokens (sfcred eca without \
                 --jwt-tokens), or from its login page"
                    .into(),
            ),
            ExchangeError::FrontdoorRefused { .. } => Some(
                "the user may lack the API or the session a frontdoor needs; sfcred doctor checks the profile"
                    .into(),
            ),
            ExchangeError::BadInstanceUrl { .. } => {
                Some("sfcred token --refresh gets a new token, with the instance URL Salesforce gives".into())
            }
            ExchangeError::RevokeRefused { .. } | ExchangeError::RevokeBadAnswer { .. } => Some(
                "the token may still be valid until it expires; revoke it in Setup (Session Management), or \
                 try again"
                    .into(),
            ),
        }
    }
}

/// What to tell a user about each refusal Salesforce is known to give.
pub fn rejection_hint(error: &str, description: &str) -> Option<&'static str> {
    let description = description.to_ascii_lowercase();
    let hint = match error {
        _ if description.contains("hasn't approved this consumer") => {
            "pre-authorize the user: in the app's policies (connected app: Manage → Edit Policies; External Client \
             App: Policies → App Policies) set Permitted Users to \"Admin approved users are pre-authorized\" and \
             assign the user's profile or permission set; also check production vs sandbox (--sandbox)"
        }
        _ if description.contains("not admin approved") => {
            "assign the user's profile or permission set to the connected app or External Client App"
        }
        _ if description.contains("audience is invalid") => {
            "the audience must be https://login.salesforce.com for production and https://test.salesforce.com \
             for sandboxes, never a My Domain URL; log in again with --sandbox or --audience"
        }
        _ if description.contains("invalid assertion") => {
            "the private key does not match the certificate in the connected app or External Client App: \
             upload the matching certificate, or log in again with the matching key"
        }
        _ if description.contains("expired authorization code") => {
            "the assertion arrived expired: check this machine's clock (timedatectl)"
        }
        _ if description.contains("login rate exceeded") => {
            "Salesforce limits logins per user per hour; wait, and let sfcred reuse tokens"
        }
        "invalid_client_id" => {
            "check the consumer key, and production vs sandbox (the app must live in the org you log in to); \
             a new connected app or External Client App takes 2 to 10 minutes to be usable"
        }
        "invalid_client" => {
            "check production vs sandbox: try the other environment (--sandbox or --login-url)"
        }
        "unsupported_grant_type" => "this is a bug in sfcred: please report it",
        _ => return None,
    };
    Some(hint)
}

/// A successful answer. Salesforce sends no expiry and no refresh token.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub instance_url: String,
    pub id: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default)]
    pub scope: Option<String>,
    /// When Salesforce issued the token (milliseconds, as a string), if it says.
    #[serde(default)]
    issued_at: Option<String>,
    /// `jwt` when the app issues JWT-based tokens.
    #[serde(default)]
    pub token_format: Option<String>,
    /// The API host, which Salesforce names beside a JWT-based token.
    #[serde(default)]
    pub api_instance_url: Option<String>,
    /// The HTTP answer's `Date`.
    #[serde(skip)]
    date: Option<std::time::SystemTime>,
}

impl TokenResponse {
    /// Salesforce's clock when it answered: `issued_at`, else the answer's `Date`.
    pub fn salesforce_time(&self) -> Option<std::time::SystemTime> {
        let issued = self.issued_at.as_deref().and_then(|ms| ms.parse::<u64>().ok());
        issued.map(|ms| std::time::UNIX_EPOCH + Duration::from_millis(ms)).or(self.date)
    }
}

fn bearer() -> String {
    "Bearer".into()
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Reads the token endpoint's answer; `url` names it in errors.
pub fn parse_response(url: &Url, status: u16, body: &[u8]) -> Result<TokenResponse, ExchangeError> {
    let bad = |what: String| ExchangeError::BadAnswer { url: url.clone(), status, what };
    if status == 200 {
        let token: TokenResponse =
            serde_json::from_slice(body).map_err(|e| bad(describe_body(body, Some(&e))))?;
        if token.access_token.expose_secret().is_empty() {
            return Err(bad("an empty access_token".into()));
        }
        let instance_url = instance_url_of("instance_url", &token.instance_url).map_err(bad)?;
        let api_instance_url =
            token.api_instance_url.as_deref().map(|url| instance_url_of("api_instance_url", url)).transpose();
        return Ok(TokenResponse { instance_url, api_instance_url: api_instance_url.map_err(bad)?, ..token });
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if (400..500).contains(&status) => {
            Err(ExchangeError::Rejected { error: e.error, description: e.error_description })
        }
        Ok(e) => Err(bad(format!("the error {}: {}", e.error, e.error_description))),
        Err(_) => Err(bad(describe_body(body, None))),
    }
}

/// An instance URL of the answer's, as it is kept: it is saved, printed and matched against
/// git's hosts, so only an https URL with a host (plain http only for loopback, as login
/// URLs), and the URL as parsed, its control characters escaped, not the raw text.
fn instance_url_of(field: &str, text: &str) -> Result<String, String> {
    let instance = Url::parse(text).ok().filter(|instance| match instance.scheme() {
        "https" => instance.host_str().is_some(),
        "http" => instance.host_str().is_some_and(crate::config::profile::is_loopback),
        _ => false,
    });
    let Some(instance) = instance else {
        let shown = crate::base::diag::printable(text, 80);
        return Err(format!("an {field} that is not an https URL ({shown:?})"));
    };
    let parsed = instance.as_str();
    Ok(match instance.path() == "/" && !text.ends_with('/') {
        true => parsed.trim_end_matches('/').to_owned(),
        false => parsed.to_owned(),
    })
}

fn describe_body(body: &[u8], json_error: Option<&serde_json::Error>) -> String {
    let text = String::from_utf8_lossy(body);
    let start = text.trim_start().to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "an HTML page".into()
    } else if body.is_empty() {
        "an empty body".into()
    } else if let Some(e) = json_error.filter(|_| start.starts_with('{')) {
        format!("JSON without a usable token ({e})")
    } else {
        "a body that is not JSON".into()
    }
}

/// How a user adds a CA to this platform's trust store, for the untrusted-server hint.
const ADD_TO_TRUST_STORE: &str = if cfg!(windows) {
    "import that CA's certificate into Trusted Root Certification Authorities \
     (certutil -user -addstore Root CA.crt)"
} else if cfg!(target_os = "macos") {
    "add that CA's certificate to your keychain as trusted \
     (security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db CA.crt)"
} else {
    "add that CA's certificate to the OS trust store (on Debian and Ubuntu: copy it to \
     /usr/local/share/ca-certificates/ and run update-ca-certificates)"
};

/// Posts the assertion to the profile's token endpoint, and nowhere else.
pub fn request_token(
    profile: &Profile,
    trust: &TrustRoots,
    assertion: &SecretString,
) -> Result<TokenResponse, ExchangeError> {
    let url = profile.login_url.token_endpoint();
    block_on(&url, post(profile, trust, &url, assertion)).map_err(|e| e.seen_with(trust))
}

/// The HTTP client for one profile: its timeouts, no redirects, no proxy for plain http,
/// and TLS only for https, against the OS trust store unless `trust` replaces it.
fn client(profile: &Profile, trust: &TrustRoots, url: &Url) -> Result<reqwest::Client, ExchangeError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("sfcred/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(profile.connect_timeout)
        .timeout(profile.request_timeout);
    if url.scheme() == "http" {
        // Plain http (loopback only) never shakes hands: skip loading the OS trust store. Nor
        // does it go through a proxy, which would carry the assertion off the machine unencrypted.
        builder =
            builder.no_proxy().tls_backend_preconfigured(tls_with_roots(rustls::RootCertStore::empty()));
    } else if trust.file.is_some() || trust.dir.is_some() {
        builder = builder.tls_backend_preconfigured(tls_with_roots(load_roots(trust)?));
    }
    builder.build().map_err(|e| network_error(url, profile.request_timeout, e))
}

/// The CA certificates of `SSL_CERT_FILE` and every PEM file in `SSL_CERT_DIR`.
fn load_roots(trust: &TrustRoots) -> Result<rustls::RootCertStore, ExchangeError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let unreadable =
        |path: &std::path::Path, reason: String| ExchangeError::TrustRoots { path: path.to_owned(), reason };
    let mut files = Vec::new();
    files.extend(trust.file.clone());
    // SSL_CERT_DIR is a list of directories, as OpenSSL reads it (`:`, or `;` on Windows).
    let dirs: Vec<std::path::PathBuf> = trust.dir.iter().flat_map(std::env::split_paths).collect();
    let mut in_dirs = Vec::new();
    for dir in &dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e.to_string()))?;
        let mut found: Vec<_> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
        // OpenSSL's hashed links (abcd1234.0) sit beside the files they name; duplicates are harmless.
        found.retain(|path| path.is_file());
        found.sort();
        in_dirs.extend(found);
    }
    let mut roots = rustls::RootCertStore::empty();
    let named = files.len();
    for (index, path) in files.iter().chain(&in_dirs).enumerate() {
        let certificates = match CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        {
            Ok(certificates) => certificates,
            Err(e) if index < named => return Err(unreadable(path, e.to_string())),
            // One bad file among a directory's many is skipped, as OpenSSL does.
            Err(e) => {
                crate::base::diag::warn(&format!("skipping {}: {e}", path.display()));
                continue;
            }
        };
        for certificate in certificates {
            // A bundle may hold certificates rustls cannot use as anchors; skip those, as OpenSSL does.
            let _ = roots.add(certificate);
        }
    }
    if roots.is_empty() {
        let path = trust.file.as_ref().or(trust.dir.as_ref()).expect("one of them is set");
        return Err(unreadable(path, "it holds no PEM certificate".into()));
    }
    Ok(roots)
}

fn block_on<T>(
    url: &Url,
    work: impl std::future::Future<Output = Result<T, ExchangeError>>,
) -> Result<T, ExchangeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExchangeError::Unreachable { url: url.clone(), reason: e.to_string() })?;
    runtime.block_on(work)
}

/// What a plain GET of the login URL showed: that it answers, and the server's clock.
#[derive(Debug)]
pub struct Probe {
    pub status: u16,
    pub elapsed: Duration,
    pub server_date: Option<std::time::SystemTime>,
    /// This machine's clock when the answer came.
    pub local_date: std::time::SystemTime,
}

/// GETs the login URL: any HTTP answer means it is reachable. Sends no secret.
pub fn probe(profile: &Profile, trust: &TrustRoots) -> Result<Probe, ExchangeError> {
    let url = Url::parse(profile.login_url.as_str()).expect("a login URL is a URL");
    block_on(&url, async {
        let started = std::time::Instant::now();
        let response = client(profile, trust, &url)?
            .get(url.clone())
            .send()
            .await
            .map_err(|e| network_error(&url, profile.request_timeout, e))?;
        let date = response.headers().get(reqwest::header::DATE).and_then(|d| d.to_str().ok());
        Ok(Probe {
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
            server_date: date.and_then(|d| httpdate::parse_http_date(d).ok()),
            local_date: std::time::SystemTime::now(),
        })
    })
    .map_err(|e| e.seen_with(trust))
}

/// Whether an HTTP status refuses the request itself: a 4xx, but for a timeout (408) or too
/// many requests (429), which may pass when tried again.
pub fn is_refusal(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 408 | 429)
}

/// Connection failures, timeouts and 5xx answers are retried this many times at most;
/// Salesforce's refusals (4xx) never are.
const MAX_RETRIES: u32 = 2;

/// Whether a failed attempt may succeed if tried again.
pub fn is_transient(error: &ExchangeError) -> bool {
    match error {
        ExchangeError::Unreachable { .. } | ExchangeError::TimedOut { .. } => true,
        ExchangeError::BadAnswer { status, .. } => *status >= 500,
        ExchangeError::Rejected { .. }
        | ExchangeError::Redirected { .. }
        | ExchangeError::Untrusted { .. }
        | ExchangeError::TrustRoots { .. }
        | ExchangeError::RevokeRefused { .. }
        | ExchangeError::RevokeBadAnswer { .. }
        | ExchangeError::FrontdoorBadAnswer { .. }
        | ExchangeError::FrontdoorRefused { .. }
        | ExchangeError::BadInstanceUrl { .. } => false,
    }
}

/// Exponential backoff from 200 ms, spread by `jitter` (0 to 1) so that many callers
/// do not retry in step.
pub fn retry_delay(attempt: u32, jitter: f64) -> Duration {
    Duration::from_millis(200 << attempt).mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

/// A random number from 0 to 1, for spreading retries.
pub fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    aws_lc_rs::rand::fill(&mut byte).map_or(0.5, |()| f64::from(byte[0]) / 255.0)
}

/// Posts the assertion, retrying transient failures while the request timeout allows.
async fn post(
    profile: &Profile,
    trust: &TrustRoots,
    url: &Url,
    assertion: &SecretString,
) -> Result<TokenResponse, ExchangeError> {
    let client = client(profile, trust, url)?;
    let deadline = std::time::Instant::now() + profile.request_timeout;
    let mut attempt = 0;
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let outcome = post_once(&client, profile, url, assertion, remaining).await;
        let delay = retry_delay(attempt, jitter());
        match outcome {
            Err(e)
                if is_transient(&e)
                    && attempt < MAX_RETRIES
                    && std::time::Instant::now() + delay < deadline =>
            {
                crate::base::diag::verbose(|| format!("{e}; retrying in {} ms", delay.as_millis()));
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

async fn post_once(
    client: &reqwest::Client,
    profile: &Profile,
    url: &Url,
    assertion: &SecretString,
    timeout: Duration,
) -> Result<TokenResponse, ExchangeError> {
    let form = [("grant_type", GRANT_TYPE), ("assertion", assertion.expose_secret())];
    let size = assertion.expose_secret().len();
    let shown = format!("grant_type={GRANT_TYPE}, assertion: {size} bytes, not shown");
    let (status, body, date) = post_form(client, profile, url, &form, &shown, timeout, None).await?;
    parse_response(url, status, &body).map(|response| TokenResponse { date, ..response })
}

/// One POST of `form` (described for `-v` by `shown`), no redirects followed: the status,
/// the body (bounded in size) and the answer's `Date`.
async fn post_form(
    client: &reqwest::Client,
    profile: &Profile,
    url: &Url,
    form: &[(&str, &str)],
    shown: &str,
    timeout: Duration,
    bearer: Option<&SecretString>,
) -> Result<(u16, Vec<u8>, Option<std::time::SystemTime>), ExchangeError> {
    let network = |e: reqwest::Error| network_error(url, profile.request_timeout, e);
    if timeout.is_zero() {
        return Err(ExchangeError::TimedOut { url: url.clone(), timeout: profile.request_timeout });
    }
    let started = std::time::Instant::now();
    crate::base::diag::verbose(|| format!("POST {url} ({shown})"));
    let mut request = client.post(url.clone()).form(form).timeout(timeout);
    if let Some(token) = bearer {
        request = request.bearer_auth(token.expose_secret());
    }
    let mut response = request.send().await.map_err(network)?;
    let status = response.status();
    if status.is_redirection() {
        let location = response.headers().get(reqwest::header::LOCATION);
        let location = location.and_then(|l| l.to_str().ok()).unwrap_or("(no Location)").to_owned();
        return Err(ExchangeError::Redirected { url: url.clone(), location });
    }
    let date = response.headers().get(reqwest::header::DATE).and_then(|d| d.to_str().ok());
    let date = date.and_then(|d| httpdate::parse_http_date(d).ok());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > MAX_BODY {
            let what = format!("a body over {} KiB", MAX_BODY / 1024);
            return Err(ExchangeError::BadAnswer { url: url.clone(), status: status.as_u16(), what });
        }
        body.extend_from_slice(&chunk);
    }
    crate::base::diag::verbose(|| {
        let elapsed = started.elapsed().as_millis();
        format!("HTTP {} in {elapsed} ms, {} bytes: {}", status.as_u16(), body.len(), redacted(&body))
    });
    Ok((status.as_u16(), body, date))
}

/// What a revocation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// Salesforce no longer knew the token (`invalid_token`): it was dead already.
    AlreadyInvalid,
}

/// Revokes `token` at the login host's `/services/oauth2/revoke`, within the profile's
/// request timeout (one attempt: a revocation is worth a try, not a wait).
pub fn revoke(
    profile: &Profile,
    trust: &TrustRoots,
    token: &SecretString,
) -> Result<Revocation, ExchangeError> {
    let url = profile.login_url.revoke_endpoint();
    block_on(&url, async {
        let client = client(profile, trust, &url)?;
        let form = [("token", token.expose_secret())];
        match post_form(&client, profile, &url, &form, "token: not shown", profile.request_timeout, None)
            .await
        {
            Ok((status, body, _)) => revocation_answer(&url, status, &body),
            // A 200 is the answer, however long the body that came with it.
            Err(ExchangeError::BadAnswer { status: 200, .. }) => Ok(Revocation::Revoked),
            Err(ExchangeError::BadAnswer { url, status, what }) => {
                Err(ExchangeError::RevokeBadAnswer { url, status, what })
            }
            Err(other) => Err(other),
        }
    })
    .map_err(|e| e.seen_with(trust))
}

/// Reads the revoke endpoint's answer: 200, or 400 `invalid_token` for a dead token.
pub fn revocation_answer(url: &Url, status: u16, body: &[u8]) -> Result<Revocation, ExchangeError> {
    if status == 200 {
        return Ok(Revocation::Revoked);
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if status == 400 && e.error == "invalid_token" => Ok(Revocation::AlreadyInvalid),
        Ok(e) if (400..500).contains(&status) => {
            Err(ExchangeError::RevokeRefused { error: e.error, description: e.error_description })
        }
        _ => {
            Err(ExchangeError::RevokeBadAnswer { url: url.clone(), status, what: describe_body(body, None) })
        }
    }
}

/// What Salesforce's UI Bridge API answered a token.
pub enum SingleAccess {
    /// A frontdoor URL that opens a session once; it holds a one-time code, not the token.
    Url(SecretString),
    /// 401 or 403: the token's session ended; `said` is Salesforce's error, printable.
    SessionEnded { status: u16, said: String },
}

/// Asks the instance for a single-use frontdoor URL (`/services/oauth2/singleaccess`), the
/// token in the Authorization header only; `landing` is the relative path to open.
pub fn single_access(
    profile: &Profile,
    trust: &TrustRoots,
    instance_url: &str,
    token: &SecretString,
    landing: Option<&str>,
) -> Result<SingleAccess, ExchangeError> {
    let url = Url::parse(instance_url)
        .and_then(|instance| instance.join("/services/oauth2/singleaccess"))
        .map_err(|e| ExchangeError::BadInstanceUrl {
            instance_url: crate::base::diag::printable(instance_url, 200),
            reason: e.to_string(),
        })?;
    block_on(&url, async {
        let client = client(profile, trust, &url)?;
        let form: Vec<(&str, &str)> = landing.map(|path| ("redirect_uri", path)).into_iter().collect();
        let shown =
            format!("token in the Authorization header, not shown; redirect_uri={}", landing.unwrap_or("/"));
        let (status, body, _) =
            post_form(&client, profile, &url, &form, &shown, profile.request_timeout, Some(token)).await?;
        single_access_answer(&url, status, &body, landing.is_some())
    })
    .map_err(|e| e.seen_with(trust))
}

/// Reads the UI Bridge API's answer: `{"frontdoor_uri": ...}`, or a session that ended.
pub fn single_access_answer(
    url: &Url,
    status: u16,
    body: &[u8],
    with_path: bool,
) -> Result<SingleAccess, ExchangeError> {
    #[derive(Deserialize)]
    struct Answer {
        frontdoor_uri: SecretString,
    }
    let bad = |what: String| ExchangeError::FrontdoorBadAnswer { url: url.clone(), status, what, with_path };
    match status {
        200 => {
            let answer: Answer = serde_json::from_slice(body).map_err(|_| bad(describe_body(body, None)))?;
            // Handed to a browser: only an https URL (plain http for loopback). Its text holds
            // a one-time code, so an error does not show it.
            let parsed = Url::parse(answer.frontdoor_uri.expose_secret()).ok();
            let host = parsed.as_ref().and_then(Url::host_str);
            match (parsed.as_ref().map(Url::scheme), host) {
                (Some("https"), Some(_)) => Ok(SingleAccess::Url(answer.frontdoor_uri)),
                (Some("http"), Some(host)) if crate::config::profile::is_loopback(host) => {
                    Ok(SingleAccess::Url(answer.frontdoor_uri))
                }
                _ => Err(bad("a frontdoor_uri that is not an https URL".into())),
            }
        }
        401 | 403 => Ok(SingleAccess::SessionEnded { status, said: salesforce_said(body) }),
        _ => Err(bad(salesforce_said(body))),
    }
}

/// What Salesforce said in an error body, quoted and made printable: a REST API's
/// `[{"errorCode": ..., "message": ...}]`, or OAuth's `{"error": ..., "error_description": ...}`;
/// any other body is described.
fn salesforce_said(body: &[u8]) -> String {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Said {
        Rest(Vec<RestError>),
        OAuth(ErrorBody),
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RestError {
        error_code: String,
        #[serde(default)]
        message: String,
    }
    let said = |code: &str, message: &str| match message.is_empty() {
        true => code.to_owned(),
        false => format!("{code}: {message}"),
    };
    let text = match serde_json::from_slice(body) {
        Ok(Said::Rest(errors)) => {
            errors.iter().map(|e| said(&e.error_code, &e.message)).collect::<Vec<_>>().join("; ")
        }
        Ok(Said::OAuth(e)) => said(&e.error, &e.error_description),
        Err(_) => String::new(),
    };
    // Cut, then quoted as Rust quotes a string: newlines, quotes, control and bidi
    // characters come out escaped, so the text cannot pose as another line of ours.
    const SHOWN_CHARS: usize = 300;
    match text.is_empty() {
        true => describe_body(body, None),
        false if text.chars().count() > SHOWN_CHARS => {
            format!("{:?} (cut)", text.chars().take(SHOWN_CHARS).collect::<String>())
        }
        false => format!("{text:?}"),
    }
}

/// A response body for `-v`: JSON with the token's value hidden, else a description.
/// Only fields known to hold no secret are shown: the access token, an `id_token` (the
/// openid scope) or a `signature`, and whatever Salesforce adds one day, are not.
fn redacted(body: &[u8]) -> String {
    const SHOWN: &[&str] = &[
        "instance_url",
        "id",
        "token_type",
        "scope",
        "issued_at",
        "token_format",
        "api_instance_url",
        "error",
        "error_description",
    ];
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            for (name, value) in fields.iter_mut() {
                if !SHOWN.contains(&name.as_str()) {
                    *value = "<redacted>".into();
                }
            }
            serde_json::Value::Object(fields).to_string()
        }
        _ => describe_body(body, None),
    }
}

fn tls_with_roots(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn network_error(url: &Url, timeout: Duration, error: reqwest::Error) -> ExchangeError {
    if error.is_timeout() {
        return ExchangeError::TimedOut { url: url.clone(), timeout };
    }
    // reqwest's own message is generic; the innermost cause says what happened.
    let mut reason = error.to_string();
    let mut untrusted = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason = cause.to_string();
        untrusted |= is_certificate_error(cause);
        source = cause.source();
    }
    match untrusted {
        true => ExchangeError::Untrusted { url: url.clone(), reason, own_roots: false },
        false => ExchangeError::Unreachable { url: url.clone(), reason },
    }
}

/// A TLS handshake that failed on the server's certificate. rustls's error arrives
/// inside io::Errors, whose `source()` skips what they wrap, so they are opened here.
fn is_certificate_error(cause: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(cause);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        let inner = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        current = inner.map(|inner| inner as &(dyn std::error::Error + 'static));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_bridge_api_s_errors_show_what_salesforce_said() {
        let url = Url::parse("https://acme.my.salesforce.com/services/oauth2/singleaccess").unwrap();
        let ended = br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        for status in [401, 403] {
            match single_access_answer(&url, status, ended, false) {
                Ok(SingleAccess::SessionEnded { status: seen, said }) => assert_eq!(
                    (seen, said.as_str()),
                    (status, "\"INVALID_SESSION_ID: Session expired or invalid\"")
                ),
                _ => panic!("HTTP {status} is a session that ended"),
            }
        }
        let said = |status: u16, body: &[u8]| match single_access_answer(&url, status, body, false) {
            Err(ExchangeError::FrontdoorBadAnswer { what, .. }) => what,
            _ => panic!("HTTP {status} is an error"),
        };
        let hostile =
            br#"[{"errorCode":"X\u001b]2;PWNED\u0007","message":"m\nsfcred: error: \"forged\"\u202e"}]"#;
        assert_eq!(said(400, hostile), r#""X\u{1b}]2;PWNED\u{7}: m\nsfcred: error: \"forged\"\u{202e}""#);
        assert_eq!(
            said(500, br#"{"error":"server_error","error_description":"down"}"#),
            "\"server_error: down\""
        );
        assert_eq!(said(500, br#"{"error":"server_error"}"#), "\"server_error\"");
        let long = format!(r#"[{{"errorCode":"E","message":"{}"}}]"#, "a".repeat(400));
        assert!(said(400, long.as_bytes()).ends_with("aaa\" (cut)"));
        assert_eq!(said(502, b"<html>Bad gateway</html>"), "an HTML page");
    }

    #[test]
    fn a_ui_bridge_refusal_is_told_from_a_request_to_try_again() {
        assert!(is_refusal(400) && is_refusal(404));
        assert!(!is_refusal(408) && !is_refusal(429) && !is_refusal(500));
    }

    fn url() -> Url {
        Url::parse("https://login.salesforce.com/services/oauth2/token").unwrap()
    }

    #[test]
    fn success_body_is_read_and_unknown_fields_ignored() {
        let body = br#"{"access_token":"00Dxx!AR8","scope":"web openid api id","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1700000000000","signature":"x"}"#;
        let token = parse_response(&url(), 200, body).unwrap();
        assert_eq!(token.access_token.expose_secret(), "00Dxx!AR8");
        assert_eq!(token.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(token.scope.as_deref(), Some("web openid api id"));
        assert!(!format!("{token:?}").contains("AR8"));
    }

    #[test]
    fn an_instance_url_must_be_an_https_url() {
        let answer = |instance: &str| {
            let body = serde_json::json!({"access_token": "00D!x", "instance_url": instance, "id": "i"});
            parse_response(&url(), 200, body.to_string().as_bytes())
        };
        assert!(answer("https://acme.my.salesforce.com").is_ok());
        assert!(answer("http://127.0.0.1:8080").is_ok(), "plain http for loopback only");
        for bad in
            ["not a url at all", "http://acme.my.salesforce.com", "javascript:alert(1)", "https://\u{1b}]2;x"]
        {
            let error = answer(bad).unwrap_err().to_string();
            assert!(error.contains("an instance_url that is not an https URL"), "{bad}: {error}");
            assert!(!error.contains('\u{1b}'), "escaped: {error:?}");
        }
        // The salesforce_time of an answer: issued_at, as milliseconds.
        let body = br#"{"access_token":"a","instance_url":"https://a.my.salesforce.com","id":"i","issued_at":"1700000000123"}"#;
        let time = parse_response(&url(), 200, body).unwrap().salesforce_time().unwrap();
        assert_eq!(time, std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
    }

    #[test]
    fn verbose_output_shows_only_fields_known_to_hold_no_secret() {
        let body = br#"{"access_token":"00D!secret","id_token":"eyJ.secret","signature":"c2ln","instance_url":"https://a.my.salesforce.com","scope":"openid api","new_field":"who knows"}"#;
        let shown = redacted(body);
        for secret in ["00D!secret", "eyJ.secret", "c2ln", "who knows"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("https://a.my.salesforce.com") && shown.contains("openid api"), "{shown}");
    }

    #[test]
    fn salesforce_refusals_keep_their_words_and_get_a_hint() {
        let body = br#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#;
        let err = parse_response(&url(), 400, body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Salesforce refused the token request: invalid_grant: user hasn't approved this consumer"
        );
        assert!(err.hint().unwrap().contains("pre-authorized"));
        let body = br#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#;
        assert!(parse_response(&url(), 400, body).unwrap_err().hint().unwrap().contains("consumer key"));
    }

    #[test]
    fn every_documented_refusal_has_a_hint() {
        for (error, description) in [
            ("invalid_grant", "user hasn't approved this consumer"),
            ("invalid_grant", "audience is invalid"),
            ("invalid_grant", "invalid assertion"),
            ("invalid_grant", "expired authorization code"),
            ("invalid_client_id", "client identifier invalid"),
            ("invalid_client", "invalid client credentials"),
            ("invalid_grant", "user is not admin approved to access this app"),
            ("unsupported_grant_type", "grant type not supported"),
            ("invalid_grant", "login rate exceeded"),
        ] {
            assert!(rejection_hint(error, description).is_some(), "{error} / {description}");
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let bad = |status| ExchangeError::BadAnswer { url: url(), status, what: String::new() };
        assert!(is_transient(&bad(503)) && is_transient(&bad(500)));
        assert!(!is_transient(&bad(200)) && !is_transient(&bad(404)));
        let rejected = ExchangeError::Rejected { error: "invalid_grant".into(), description: String::new() };
        assert!(!is_transient(&rejected));
        assert!(is_transient(&ExchangeError::Unreachable { url: url(), reason: String::new() }));
        assert!(is_transient(&ExchangeError::TimedOut { url: url(), timeout: Duration::from_secs(1) }));
    }

    #[test]
    fn a_dead_token_is_as_good_as_revoked() {
        let url = Url::parse("https://login.salesforce.com/services/oauth2/revoke").unwrap();
        assert!(matches!(revocation_answer(&url, 200, b""), Ok(Revocation::Revoked)));
        let dead = br#"{"error":"invalid_token","error_description":"invalid token"}"#;
        assert!(matches!(revocation_answer(&url, 400, dead), Ok(Revocation::AlreadyInvalid)));
        let other = br#"{"error":"unsupported_token_type","error_description":"x"}"#;
        assert!(matches!(revocation_answer(&url, 400, other), Err(ExchangeError::RevokeRefused { .. })));
        let refused = revocation_answer(&url, 503, b"<html>").unwrap_err();
        assert!(matches!(refused, ExchangeError::RevokeBadAnswer { .. }));
        assert!(refused.to_string().contains("answered the revocation with HTTP 503"), "{refused}");
        let refused = revocation_answer(&url, 400, other).unwrap_err().to_string();
        assert!(refused.starts_with("Salesforce refused to revoke the token"), "{refused}");
    }

    #[test]
    fn backoff_doubles_and_jitters() {
        assert_eq!(retry_delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(retry_delay(0, 1.0), Duration::from_millis(300));
        assert_eq!(retry_delay(1, 0.5), Duration::from_millis(400));
        assert_eq!(retry_delay(1, 7.0), Duration::from_millis(600), "jitter is clamped");
    }

    #[test]
    fn odd_answers_are_described_not_dumped() {
        let html = b"<!DOCTYPE html><html><body>Maintenance</body></html>";
        let err = parse_response(&url(), 503, html).unwrap_err().to_string();
        assert!(err.ends_with("answered HTTP 503 with an HTML page, not a token"), "{err}");
        let err = parse_response(&url(), 200, br#"{"instance_url":"x"}"#).unwrap_err().to_string();
        assert!(err.contains("JSON without a usable token"), "{err}");
        let err = parse_response(&url(), 200, br#"{"access_token":"x","instance_url":"h","id":"i"#);
        assert!(matches!(err, Err(ExchangeError::BadAnswer { .. })));
        let err = parse_response(&url(), 500, br#"{"error":"server_error","error_description":"boom"}"#);
        assert!(matches!(err, Err(ExchangeError::BadAnswer { status: 500, .. })));
    }
}

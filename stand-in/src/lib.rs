//! A stand-in for Salesforce's OAuth token endpoint, on loopback. It checks what
//! Salesforce checks (the RS256 signature against the connected app's certificate,
//! iss, sub, aud, exp) and answers with Salesforce's own bodies, so sfcred's tests,
//! demo and benchmark exercise the real flow with no org.

#[cfg(target_os = "linux")]
pub mod keyring;
pub mod tls;

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tiny_http::{Header, Response, Server};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const PRODUCTION_AUDIENCE: &str = "https://login.salesforce.com";

/// A connected app: its consumer key, the certificate uploaded to it, and the users
/// pre-authorized for it.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub consumer_key: String,
    pub certificate_pem: String,
    pub approved_users: Vec<String>,
}

/// How the stand-in answers token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Like Salesforce: check the assertion and answer.
    Salesforce,
    /// A maintenance page: HTTP 503 with HTML.
    MaintenancePage,
    /// Accept the request and never answer (until the stand-in is dropped).
    Hang,
    /// An internal error page: HTTP 500 with HTML.
    ServerErrorPage,
    /// HTTP 200 with a token body cut off half way.
    TruncatedJson,
    /// HTTP 200 with JSON that has no access_token.
    NoAccessToken,
    /// Salesforce's refusal once a user logged in too often: `login rate exceeded`.
    RateLimited,
    /// Like Salesforce, but only once [`StandIn::open_gate`] is called: a request in flight
    /// for as long as a test needs. The stand-in answers nothing else meanwhile.
    Gated,
}

/// What the stand-in saw in a token request, for tests to check.
#[derive(Debug, Clone, Deserialize)]
pub struct SeenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default)]
    pub iat: Option<u64>,
    #[serde(default)]
    pub jti: Option<String>,
}

struct State {
    apps: HashMap<String, (ConnectedApp, DecodingKey)>,
    audience: String,
    /// Audiences accepted besides `audience` (the Salesforce CLI tries the login URL first).
    other_audiences: Vec<String>,
    /// The instance URL tokens name; by default a host that only exists in tests.
    instance_url: String,
    behaviour: Behaviour,
    /// Behaviours for the next requests, before `behaviour` applies again.
    queued: std::collections::VecDeque<Behaviour>,
    seen: Vec<SeenClaims>,
    /// Every assertion received, as sent: tests look for them where they must not be.
    assertions: Vec<String>,
    token_requests: usize,
    /// How long each answered token request took the stand-in, from its arrival to the answer.
    handling: Vec<std::time::Duration>,
    /// Requests left unanswered by [`Behaviour::Hang`]; dropping one closes its connection.
    held: Vec<tiny_http::Request>,
    /// Certificates still spreading: (consumer key, the old certificate's key, requests
    /// left during which every other request still sees the old one).
    spreading: Vec<(String, DecodingKey, usize)>,
    /// Which servers a spreading certificate's requests meet (xorshift64*).
    rng: u64,
    gate_open: bool,
    /// Tokens issued, and whether each is revoked (or its session ended).
    issued: HashMap<String, bool>,
    revocations: usize,
    /// When set, every revocation gets this answer (status, body) and revokes nothing.
    revocation_answer: Option<(u16, String)>,
    /// When set, tokens are JWT-based: they live this long and are signed with this key.
    jwt_tokens: Option<(u64, jsonwebtoken::EncodingKey)>,
    /// The status the UI Bridge API answers a token whose session ended: 401 or 403 at
    /// random unless set, as Salesforce answers either.
    ended_session_status: Option<u16>,
    /// The UI Bridge API refuses JWT-based tokens, which Salesforce documents for REST APIs
    /// only.
    ui_bridge_refuses_jwt_tokens: bool,
    /// Single-use frontdoor codes handed out, and whether each was used.
    frontdoor_codes: HashMap<String, bool>,
    /// Each visit of the frontdoor: its landing path, and whether the code was accepted.
    frontdoor_visits: Vec<(String, bool)>,
}

pub struct StandIn {
    url: String,
    state: Arc<(Mutex<State>, Condvar)>,
    server: Arc<Server>,
}

impl StandIn {
    /// Starts serving on `127.0.0.1:port` (0 picks a free port) for a production org.
    pub fn start(port: u16, apps: Vec<ConnectedApp>) -> Result<StandIn, String> {
        let mut by_key = HashMap::new();
        for app in apps {
            let key = public_key_of(&app.certificate_pem)?;
            by_key.insert(app.consumer_key.clone(), (app, key));
        }
        let server = Server::http(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        let url = format!("http://{}", server.server_addr().to_ip().ok_or("not an IP listener")?);
        let state = Arc::new((
            Mutex::new(State {
                apps: by_key,
                audience: PRODUCTION_AUDIENCE.to_owned(),
                other_audiences: Vec::new(),
                instance_url: "https://standin.my.salesforce.com".to_owned(),
                behaviour: Behaviour::Salesforce,
                queued: Default::default(),
                seen: Vec::new(),
                assertions: Vec::new(),
                token_requests: 0,
                handling: Vec::new(),
                held: Vec::new(),
                spreading: Vec::new(),
                rng: seed(),
                gate_open: false,
                issued: HashMap::new(),
                revocation_answer: None,
                revocations: 0,
                jwt_tokens: None,
                ended_session_status: None,
                ui_bridge_refuses_jwt_tokens: false,
                frontdoor_codes: HashMap::new(),
                frontdoor_visits: Vec::new(),
            }),
            Condvar::new(),
        ));
        let server = Arc::new(server);
        let (srv, st) = (server.clone(), state.clone());
        std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let arrived_at = std::time::Instant::now();
                let mut body = Vec::new();
                let _ = request.as_reader().take(1 << 20).read_to_end(&mut body);
                let is_post = *request.method() == tiny_http::Method::Post;
                let is_token = request.url() == "/services/oauth2/token" && is_post;
                let bearer = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_owned));
                let (lock, arrived) = &*st;
                let mut state = lock.lock().unwrap();
                let (status, content_type, text) = if request.url() == "/services/oauth2/revoke" && is_post {
                    revoke(&mut state, &body)
                } else if request.url() == "/services/oauth2/singleaccess" && is_post {
                    let url = format!("http://{}", srv.server_addr().to_ip().expect("an IP listener"));
                    single_access(&mut state, &url, bearer.as_deref(), &body)
                } else if request.url().starts_with("/secur/frontdoor.jsp") {
                    frontdoor(&mut state, request.url())
                } else if request.url().starts_with("/services/data") {
                    rest_call(&state, request.url(), bearer.as_deref())
                } else if !is_token {
                    (404, "text/html", "<html><body>Not Found</body></html>".to_owned())
                } else {
                    state.token_requests += 1;
                    arrived.notify_all();
                    let behaviour = state.queued.pop_front().unwrap_or(state.behaviour);
                    if behaviour == Behaviour::Hang {
                        state.held.push(request);
                        continue;
                    }
                    if behaviour == Behaviour::Gated {
                        state = arrived.wait_while(state, |state| !state.gate_open).unwrap();
                    }
                    answer(&mut state, behaviour, &body)
                };
                drop(state);
                let header = Header::from_bytes("Content-Type", content_type).unwrap();
                let _ =
                    request.respond(Response::from_string(text).with_status_code(status).with_header(header));
                if is_token {
                    lock.lock().unwrap().handling.push(arrived_at.elapsed());
                }
            }
        });
        Ok(StandIn { url, state, server })
    }

    /// Issues JWT-based access tokens from now on, as an app with "Issue JSON Web Token
    /// (JWT)-based access tokens" does: each lives `lifetime` by its `exp`. Each answer comes
    /// from a server whose clock is up to two minutes off, at random.
    pub fn issue_jwt_tokens(&self, lifetime: std::time::Duration) {
        let (key, _) = key_and_certificate("stand-in token signer");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).expect("a key just made");
        self.state().jwt_tokens = Some((lifetime.as_secs(), key));
    }

    /// Ends the session of every token issued so far, as a session timeout does.
    pub fn end_sessions(&self) {
        self.state().issued.values_mut().for_each(|ended| *ended = true);
    }

    /// Answers a session that ended with `status` (401 or 403) from now on, not either at random.
    pub fn answer_ended_sessions_with(&self, status: u16) {
        self.state().ended_session_status = Some(status);
    }

    /// Answers every revocation from now on with `status` and `body`, revoking nothing.
    pub fn answer_revocations_with(&self, status: u16, body: &str) {
        self.state().revocation_answer = Some((status, body.to_owned()));
    }

    /// Refuses JWT-based tokens at the UI Bridge API from now on, as a session that ended.
    pub fn refuse_jwt_tokens_at_the_ui_bridge(&self) {
        self.state().ui_bridge_refuses_jwt_tokens = true;
    }

    /// Each visit of the frontdoor: the path it was to land on, and whether its code was good.
    pub fn frontdoor_visits(&self) -> Vec<(String, bool)> {
        self.state().frontdoor_visits.clone()
    }

    /// Adds a connected app, as an admin does in Setup.
    pub fn add_app(&self, app: ConnectedApp) -> Result<(), String> {
        let key = public_key_of(&app.certificate_pem)?;
        self.state.0.lock().unwrap().apps.insert(app.consumer_key.clone(), (app, key));
        Ok(())
    }

    /// Uploads a certificate that takes `spread` requests to reach every server: during
    /// them, each token request meets a server with the old certificate or the new one, at
    /// random, as Salesforce's app servers disagree while a change spreads.
    pub fn upload_certificate_spreading(
        &self,
        consumer_key: &str,
        certificate_pem: &str,
        spread: usize,
    ) -> Result<(), String> {
        let old = {
            let state = self.state.0.lock().unwrap();
            state.apps.get(consumer_key).map(|(_, key)| key.clone()).ok_or("no such connected app")?
        };
        self.upload_certificate(consumer_key, certificate_pem)?;
        self.state.0.lock().unwrap().spreading.push((consumer_key.to_owned(), old, spread));
        Ok(())
    }

    /// Lets requests held by [`Behaviour::Gated`] through, and every later one.
    pub fn open_gate(&self) {
        let (lock, arrived) = &*self.state;
        lock.lock().unwrap().gate_open = true;
        arrived.notify_all();
    }

    /// How many revocation requests arrived.
    pub fn revocations(&self) -> usize {
        self.state.0.lock().unwrap().revocations
    }

    /// What a REST call with `token` gets over HTTP: 200 while it lives, 401 once revoked.
    pub fn rest_status(&self, token: &str) -> u16 {
        use std::io::Write;
        let address = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("the stand-in listens");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let request = format!(
            "GET /services/data/v62.0/ HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("an HTTP status line")
    }

    /// Uploads a certificate to the connected app `consumer_key`, as an admin does in
    /// Setup: its key signs for the app's approved users from the next request on.
    pub fn upload_certificate(&self, consumer_key: &str, certificate_pem: &str) -> Result<(), String> {
        let key = public_key_of(certificate_pem)?;
        let mut state = self.state.0.lock().unwrap();
        let (app, decoding) =
            state.apps.get_mut(consumer_key).ok_or_else(|| format!("no connected app {consumer_key}"))?;
        app.certificate_pem = certificate_pem.to_owned();
        *decoding = key;
        Ok(())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.0.lock().unwrap()
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        self.state().token_requests
    }

    /// Blocks until at least `count` token requests have arrived; panics after `within`.
    pub fn wait_for_token_requests(&self, count: usize, within: std::time::Duration) {
        let (lock, arrived) = &*self.state;
        let (state, _) =
            arrived.wait_timeout_while(lock.lock().unwrap(), within, |s| s.token_requests < count).unwrap();
        let seen = state.token_requests;
        drop(state);
        assert!(seen >= count, "{seen} of {count} token requests arrived within {within:?}");
    }

    /// How long the stand-in took to answer each token request, oldest first.
    pub fn handling_times(&self) -> Vec<std::time::Duration> {
        self.state().handling.clone()
    }

    /// The claims of every well-formed assertion received, oldest first.
    pub fn seen_claims(&self) -> Vec<SeenClaims> {
        self.state().seen.clone()
    }

    /// Behaves as the org's own instance too, as the Salesforce CLI needs: accepts its own
    /// URL as the audience, names itself as the instance, and answers the CLI's queries.
    pub fn serve_as_instance(&self) {
        let mut state = self.state();
        state.other_audiences.extend([self.url.clone(), format!("{}/", self.url)]);
        state.instance_url = self.url.clone();
    }

    /// Acts as a sandbox (audience test.salesforce.com) or production org.
    pub fn set_audience(&self, audience: &str) {
        self.state().audience = audience.to_owned();
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().behaviour = behaviour;
    }

    /// Answers the next requests with `behaviours`, one each, then as before.
    pub fn queue_behaviours(&self, behaviours: &[Behaviour]) {
        self.state().queued.extend(behaviours);
    }

    /// Every assertion received, as sent.
    pub fn assertions(&self) -> Vec<String> {
        self.state().assertions.clone()
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        loop {
            std::thread::park();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

impl State {
    fn random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn coin_flip(&mut self) -> bool {
        self.random() >> 63 == 1
    }
}

/// A seed that differs per stand-in: each run meets another order of servers.
fn seed() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1
}

fn public_key_of(certificate_pem: &str) -> Result<DecodingKey, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes()).map_err(|e| e.to_string())?;
    let cert = pem.parse_x509().map_err(|e| e.to_string())?;
    Ok(DecodingKey::from_rsa_der(&cert.public_key().subject_public_key.data))
}

/// `POST /services/oauth2/revoke`: 200 for a live token, 400 `invalid_token` otherwise.
fn revoke(state: &mut State, body: &[u8]) -> (u16, &'static str, String) {
    state.revocations += 1;
    if let Some((status, body)) = &state.revocation_answer {
        return (*status, "application/json;charset=UTF-8", body.clone());
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    match form.get("token").and_then(|token| state.issued.get_mut(token)) {
        Some(revoked) if !*revoked => {
            *revoked = true;
            (200, "text/html", String::new())
        }
        _ => {
            let body = serde_json::json!({ "error": "invalid_token", "error_description": "invalid token" });
            (400, "application/json;charset=UTF-8", body.to_string())
        }
    }
}

/// The REST calls the Salesforce CLI makes after a login, answered as a Developer Edition
/// org that is not a Dev Hub; anything else as far as a token's validity goes.
fn rest_call(state: &State, url: &str, bearer: Option<&str>) -> (u16, &'static str, String) {
    let json = "application/json;charset=UTF-8";
    if !matches!(bearer.and_then(|token| state.issued.get(token)), Some(false)) {
        return rest(state, bearer);
    }
    if url == "/services/data" || url == "/services/data/" {
        return (
            200,
            json,
            r#"[{"label":"Winter '25","url":"/services/data/v62.0","version":"62.0"}]"#.into(),
        );
    }
    if url.contains("ScratchOrgInfo") {
        let body =
            r#"[{"message":"sObject type 'ScratchOrgInfo' is not supported.","errorCode":"INVALID_TYPE"}]"#;
        return (400, json, body.into());
    }
    if url.contains("SandboxProcess") {
        let body = r#"{"size":0,"totalSize":0,"done":true,"queryLocator":null,"entityTypeName":"SandboxProcess","records":[]}"#;
        return (200, json, body.into());
    }
    if url.contains("Organization") {
        let body = r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Organization","url":"/services/data/v62.0/sobjects/Organization/00DSTANDIN000001EAY"},"Name":"sfcred stand-in","InstanceName":"NA1","IsSandbox":false,"TrialExpirationDate":null,"NamespacePrefix":null,"OrganizationType":"Developer Edition"}]}"#;
        return (200, json, body.into());
    }
    rest(state, bearer)
}

/// The REST API, as far as a token's validity goes: 200 for a live token, else Salesforce's 401.
fn rest(state: &State, bearer: Option<&str>) -> (u16, &'static str, String) {
    match bearer.and_then(|token| state.issued.get(token)) {
        Some(false) => {
            (200, "application/json;charset=UTF-8", r#"{"sobjects":"/services/data/v62.0/sobjects"}"#.into())
        }
        _ => (
            401,
            "application/json;charset=UTF-8",
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#.into(),
        ),
    }
}

fn salesforce_error(error: &str, description: &str) -> (u16, &'static str, String) {
    let body = serde_json::json!({ "error": error, "error_description": description });
    (400, "application/json;charset=UTF-8", body.to_string())
}

fn answer(state: &mut State, behaviour: Behaviour, body: &[u8]) -> (u16, &'static str, String) {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    if let Some(assertion) = form.get("assertion") {
        state.assertions.push(assertion.clone());
    }
    let json = "application/json;charset=UTF-8";
    match behaviour {
        Behaviour::Salesforce | Behaviour::Hang | Behaviour::Gated => {}
        Behaviour::MaintenancePage => {
            let page = "<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body>Salesforce is down for maintenance.</body></html>";
            return (503, "text/html", page.to_owned());
        }
        Behaviour::ServerErrorPage => {
            return (
                500,
                "text/html",
                "<html><body><h1>An internal server error occurred</h1></body></html>".into(),
            );
        }
        Behaviour::TruncatedJson => {
            return (
                200,
                json,
                r#"{"access_token":"00DSTANDIN000001!ARtrunc","instance_url":"https://stan"#.into(),
            );
        }
        Behaviour::NoAccessToken => {
            let body =
                r#"{"instance_url":"https://standin.my.salesforce.com","id":"x","token_type":"Bearer"}"#;
            return (200, json, body.into());
        }
        Behaviour::RateLimited => return salesforce_error("invalid_grant", "login rate exceeded"),
    }
    if form.get("grant_type").map(String::as_str) != Some(GRANT_TYPE) {
        return salesforce_error("unsupported_grant_type", "grant type not supported");
    }
    let Some(assertion) = form.get("assertion") else {
        return salesforce_error("invalid_grant", "invalid assertion");
    };
    let Ok(claims) = jsonwebtoken::dangerous::insecure_decode::<SeenClaims>(assertion) else {
        return salesforce_error("invalid_grant", "invalid assertion");
    };
    let claims = claims.claims;
    state.seen.push(claims.clone());
    // While a new certificate spreads, each request reaches a server that has the old one
    // or the new one, at random.
    let old_server = state.coin_flip();
    let old_key = state.spreading.iter_mut().find(|(ck, _, left)| *ck == claims.iss && *left > 0).and_then(
        |(_, old, left)| {
            *left -= 1;
            old_server.then(|| old.clone())
        },
    );
    let Some((app, key)) = state.apps.get(&claims.iss) else {
        return salesforce_error("invalid_client_id", "client identifier invalid");
    };
    let key = old_key.as_ref().unwrap_or(key);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    if jsonwebtoken::decode::<SeenClaims>(assertion, key, &validation).is_err() {
        return salesforce_error("invalid_grant", "invalid assertion");
    }
    if claims.aud != state.audience && !state.other_audiences.contains(&claims.aud) {
        return salesforce_error("invalid_grant", "audience is invalid");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if claims.exp < now {
        return salesforce_error("invalid_grant", "expired authorization code");
    }
    if !app.approved_users.contains(&claims.sub) {
        return salesforce_error("invalid_grant", "user hasn't approved this consumer");
    }
    let n = state.seen.len();
    let opaque = format!("00DSTANDIN000001!AR{n:04}.{}", claims.jti.as_deref().unwrap_or("x"));
    let (access_token, format) = match jwt_token(state, &claims, now) {
        Some(jwt) => (jwt, Some("jwt")),
        None => (opaque, None),
    };
    state.issued.insert(access_token.clone(), false);
    let mut body = serde_json::json!({
        "access_token": access_token,
        "scope": "web openid api id",
        "instance_url": state.instance_url,
        "id": "https://login.salesforce.com/id/00DSTANDIN000001EAY/005STANDIN00001AAS",
        "token_type": "Bearer",
        "issued_at": format!("{}", now * 1000),
        "signature": "c3RhbmQtaW4=",
        // Salesforce adds an ID token whenever the scope holds openid, as this one does.
        "id_token": format!("eyJraWQiOiJzdGFuZC1pbiJ9.eyJzdWIiOiJpZC10b2tlbiJ9.SECRET-ID-TOKEN-{n:04}"),
    });
    if let Some(format) = format {
        body["token_format"] = format.into();
        body["api_instance_url"] = format!("{}/", state.instance_url).into();
    }
    (200, "application/json;charset=UTF-8", body.to_string())
}

/// A JWT-based token as Salesforce makes one (its header and claims), when they are on.
fn jwt_token(state: &mut State, claims: &SeenClaims, now: u64) -> Option<String> {
    // This server's clock: up to two minutes either way.
    let skew = (state.random() % 241) as i64 - 120;
    let (lifetime, key) = state.jwt_tokens.as_ref()?;
    let iat = now.saturating_add_signed(skew);
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some("CORE_ATJWT.00DSTANDIN000001.1700000000000".into());
    let mut header = serde_json::to_value(&header).unwrap();
    header["tty"] = "sfdc-core-token".into();
    header["tnk"] = "core/prod/00DSTANDIN000001EAY".into();
    header["ver"] = "1.0".into();
    let payload = serde_json::json!({
        "scp": "api", "aud": ["https://standin.my.salesforce.com"], "sub": "uid:005STANDIN00001AAS",
        "nbf": iat, "mty": "oauth", "sfi": "stand-in", "roles": [], "iss": "https://standin.my.salesforce.com",
        "hsc": false, "exp": iat + lifetime, "iat": iat, "client_id": claims.iss,
    });
    let b64 = |value: &serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let signing_input = format!("{}.{}", b64(&header), b64(&payload));
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), key, Algorithm::RS256).ok()?;
    Some(format!("{signing_input}.{signature}"))
}

/// `POST /services/oauth2/singleaccess`: a single-use frontdoor URL for a live token; for a
/// dead one Salesforce's 403 (or, at random, the REST API's 401, which sfcred must take the
/// same way).
fn single_access(
    state: &mut State,
    url: &str,
    bearer: Option<&str>,
    body: &[u8],
) -> (u16, &'static str, String) {
    let json = "application/json;charset=UTF-8";
    let jwt_based = bearer.is_some_and(|token| token.matches('.').count() == 2);
    let refused = state.ui_bridge_refuses_jwt_tokens && jwt_based;
    if refused || !matches!(bearer.and_then(|token| state.issued.get(token)), Some(false)) {
        let at_random = if state.coin_flip() { 403 } else { 401 };
        let status = state.ended_session_status.unwrap_or(at_random);
        return (
            status,
            json,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#.into(),
        );
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let landing = form.get("redirect_uri").cloned().unwrap_or_else(|| "/".into());
    if !landing.starts_with('/') || landing.starts_with("//") {
        let body =
            r#"[{"message":"redirect_uri must be a relative path","errorCode":"INVALID_REDIRECT_URI"}]"#;
        return (400, json, body.into());
    }
    let code = format!("OTP{:016x}", state.random());
    state.frontdoor_codes.insert(code.clone(), false);
    let start: String = form_urlencoded::byte_serialize(landing.as_bytes()).collect();
    let frontdoor_uri = format!("{url}/secur/frontdoor.jsp?otp={code}&startURL={start}");
    (200, json, serde_json::json!({ "frontdoor_uri": frontdoor_uri }).to_string())
}

/// `GET /secur/frontdoor.jsp?otp=...`: each code opens a session once.
fn frontdoor(state: &mut State, url: &str) -> (u16, &'static str, String) {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let fields: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let landing = fields.get("startURL").cloned().unwrap_or_default();
    let fresh = fields.get("otp").and_then(|code| state.frontdoor_codes.get_mut(code)).is_some_and(|used| {
        let fresh = !*used;
        *used = true;
        fresh
    });
    state.frontdoor_visits.push((landing.clone(), fresh));
    match fresh {
        true => (200, "text/html", format!("<html><body>sfcred stand-in org, at {landing}</body></html>")),
        false => (400, "text/html", "<html><body>This link is invalid or has expired.</body></html>".into()),
    }
}

/// A fresh RSA key (PKCS#8 PEM) and a self-signed certificate for it (PEM), as a
/// user would make for a connected app.
/// A certificate for a public key made elsewhere (a PKCS#11 token's, given as DER
/// SubjectPublicKeyInfo), signed by a throwaway issuer: only its public key matters here.
pub fn certificate_for_public_key(spki_der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    let (_, spki) =
        x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).expect("a DER SubjectPublicKeyInfo");
    let public_key = RsaPublicKey(spki.subject_public_key.data.to_vec());
    let issuer_key = rcgen::KeyPair::generate().expect("an issuer key");
    let issuer = rcgen::CertifiedIssuer::self_signed(rcgen::CertificateParams::default(), issuer_key)
        .expect("an issuer certificate");
    let params = rcgen::CertificateParams::new(vec!["token key".to_owned()]).expect("certificate params");
    params.signed_by(&public_key, &issuer).expect("a certificate").pem()
}

/// An RSA public key (PKCS#1 DER), as rcgen takes one to certify.
struct RsaPublicKey(Vec<u8>);

impl rcgen::PublicKeyData for RsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

pub fn key_and_certificate(common_name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key generation");
    let params = rcgen::CertificateParams::new(vec![common_name.to_owned()]).expect("certificate params");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    (key.serialize_pem(), cert.pem())
}

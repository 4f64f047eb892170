//! `sfcred login`: gather a profile's settings and secrets (from flags, else prompts),
//! check them with Salesforce, and only then save them.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::base::diag::Progress;
use crate::config::context::{Context, SharedCacheConfig};
use crate::config::profile::{
    self, Accepts, CacheKind, CacheUrl, InvalidSetting, LoginUrl, PRODUCTION_LOGIN_URL, Profile,
    SANDBOX_LOGIN_URL, StoreKind,
};
use crate::credentials::PinOrigin;
use crate::error::Error;
use crate::keys::certificate::Certificate;
use crate::keys::pkcs11::Pkcs11Key;
use crate::keys::pkcs11_uri::{Pkcs11Uri, UriText};
use crate::keys::private_key::{self, RsaPrivateKey};
use crate::keys::signer::{KeyOrigin, Signer, SoftwareKey};
use crate::stores::keychain::{FleetSecret, Keychain};
use crate::stores::settings::Settings;
use crate::token::Token;

/// Where the private key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    File(PathBuf),
    Stdin,
    /// The key `sfcred keygen` stored for the profile, else asked for.
    Stored,
    /// A key on a PKCS#11 token (its URI), which stays there.
    Pkcs11(UriText),
}

/// The key a login checks and saves.
#[derive(Debug)]
pub enum LoginKey {
    /// Stored in the keychain.
    Software(SoftwareKey),
    /// Left on its token; the PIN is stored when it was given rather than on file.
    Pkcs11 { key: Pkcs11Key, pin_to_store: Option<SecretString> },
}

impl LoginKey {
    fn signer(&self) -> &dyn Signer {
        match self {
            LoginKey::Software(key) => key,
            LoginKey::Pkcs11 { key, .. } => key,
        }
    }
}

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    pub username: Option<String>,
    pub client_id: Option<SecretString>,
    pub key: KeySource,
    /// The connected app's certificate, so that doctor can check expiry and key match.
    pub cert: Option<PathBuf>,
    pub sandbox: bool,
    pub login_url: Option<String>,
    pub audience: Option<String>,
    /// Like `30m`: parsed here, so a bad value is reported as sfcred reports errors.
    pub ttl: String,
    pub store: StoreKind,
    pub cache: CacheKind,
    /// For `cache = redis`: the fleet's Redis, without its password (that is asked for, or
    /// comes with `SFCRED_CACHE_URL`).
    pub cache_url: Option<String>,
    /// Check the setup with Salesforce before saving.
    pub verify: bool,
    pub no_input: bool,
}

/// Everything `login` saves.
#[derive(Debug)]
pub struct NewProfile {
    pub profile: Profile,
    pub client_id: SecretString,
    pub key: LoginKey,
    /// The connected app's certificate, when given with --cert.
    pub certificate: Option<Certificate>,
    /// For `cache = redis`: the secrets the keychain keeps for the shared cache.
    pub fleet: Option<FleetSecrets>,
}

/// The Redis a profile with `cache = redis` shares, and what it reaches it with.
#[derive(Debug)]
pub struct FleetSecrets {
    pub url: CacheUrl,
    pub redis_password: Option<SecretString>,
    pub fleet_key: SecretString,
}

impl FleetSecrets {
    fn config(&self) -> SharedCacheConfig {
        SharedCacheConfig {
            urls: self.url.urls_with(self.redis_password.as_ref().map(|p| p.expose_secret())),
            key: Some(self.fleet_key.clone()),
        }
    }
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let interactive = can_prompt(options.no_input, options.key == KeySource::Stdin);
    let verify = options.verify;
    let client_id_asked = interactive && options.client_id.is_none();
    let mut new = resolve(ctx, options, interactive)?;
    if new.profile.store == StoreKind::Keyutils {
        crate::base::diag::status(
            "note: the kernel keyring (keyutils) forgets its keys at reboot; log in again after one",
        );
    }
    let (name, username, url) =
        (new.profile.name.clone(), new.profile.username.clone(), new.profile.login_url.clone());
    Settings::load(dir)?;
    // The check's login is counted in the Redis this profile will share, which must answer.
    let with_fleet;
    let ctx = match &new.fleet {
        Some(fleet) if verify => {
            let config = fleet.config();
            warn_unless_answers(&config);
            with_fleet = Context { shared_cache: Some(config), ..ctx.clone() };
            &with_fleet
        }
        _ => ctx,
    };
    let token = match verify {
        false => None,
        true => Some(loop {
            let checked = {
                let _progress = Progress::start(&format!("checking the setup with {url}"));
                check(ctx, &new, SystemTime::now())
            };
            match checked {
                // A consumer key typed at the prompt that Salesforce does not know is asked again.
                Err(e) if client_id_asked && e.is_invalid_client_id() => {
                    crate::base::diag::warn(&format!(
                        "{e}: Salesforce does not know this consumer key (a new app takes 2 to 10 minutes before \
                         it does); give it again, or press Ctrl-C and try later"
                    ));
                    new.client_id = super::ask_secret("Consumer key of the app")?;
                }
                other => break other?,
            }
        }),
    };
    let verified = save(ctx, dir, new, token)?;
    let check = match verified {
        Some(token) => format!("verified with {url}: instance {}", token.instance_url),
        None => "not verified (--no-verify)".to_owned(),
    };
    crate::base::diag::status(&format!("logged in profile {name:?} as {username}; {check}"));
    crate::base::diag::status(&format!(
        "next: sfcred token --profile {name} prints a token; eval \"$(sfcred env --profile {name})\" sets \
         SF_ACCESS_TOKEN and SF_ORG_INSTANCE_URL; sfcred doctor --profile {name} checks the setup"
    ));
    Ok(super::Outcome::Done)
}

/// A warning, with what to check, when the shared cache a login sets up does not answer:
/// the profile is saved all the same (tokens are minted per machine until it does).
fn warn_unless_answers(config: &SharedCacheConfig) {
    if let Err(e) = crate::stores::shared::Shared::connect(config).and_then(|mut shared| shared.ping()) {
        crate::base::diag::warn(&format!(
            "{e}: this machine mints for itself until it answers; check the URL, the password and the fleet key, \
             then log in again"
        ));
    }
}

/// Builds the profile from the options, asking for what is missing when `interactive`.
pub fn resolve(ctx: &Context, options: Options, interactive: bool) -> Result<NewProfile, Error> {
    let name = options.profile;
    profile::validate_profile_name(&name)?;
    let current = match interactive {
        true => Settings::load(ctx.config_dir()?).ok().and_then(|s| s.profile(&name).ok().cloned()),
        false => None,
    };
    let ask = Ask { interactive, current, home: ctx.home.clone() };

    let username = match options.username {
        Some(username) => username,
        None => {
            ask.text("Salesforce username", "--username", ask.current.as_ref().map(|p| p.username.as_str()))?
        }
    };
    let login_url = match (&options.login_url, options.sandbox) {
        (Some(url), _) => LoginUrl::parse(url)?,
        (None, true) => LoginUrl::parse(SANDBOX_LOGIN_URL)?,
        (None, false) if ask.interactive => ask.environment()?,
        (None, false) => LoginUrl::parse(PRODUCTION_LOGIN_URL)?,
    };
    let audience = match &options.audience {
        Some(audience) => profile::validate_audience(audience)?,
        None => profile::default_audience(&login_url).to_owned(),
    };
    let client_id = match options.client_id {
        Some(id) => id,
        None => ask.secret("Consumer key of the app", "--client-id")?,
    };
    let software = |key| LoginKey::Software(SoftwareKey::new(key, KeyOrigin::Keychain(options.store)));
    let (key, pkcs11) = match options.key {
        KeySource::Stdin => {
            (software(private_key::read_key(std::io::stdin().lock(), "standard input")?), None)
        }
        KeySource::File(path) => (software(private_key::read_key_file(&path)?), None),
        KeySource::Stored => (software(stored_or_asked_key(ctx, &name, options.store, &ask)?), None),
        KeySource::Pkcs11(text) => {
            let given = profile::parse_pkcs11_flag(&text.0)?;
            let key = token_key(ctx, &given, &name, options.store, &ask)?;
            // The profile records the key's own URI (its label and id), never a PIN.
            let own = match &key {
                LoginKey::Pkcs11 { key, .. } => key.uri().parse().ok(),
                LoginKey::Software(_) => None,
            };
            (key, own.or(Some(given)))
        }
    };
    let certificate = match &options.cert {
        Some(path) => Some(certificate_of(path, key.signer())?),
        None => None,
    };
    let (cache_url, fleet) = match options.cache {
        CacheKind::Redis => {
            let secrets = shared_cache(ctx, options.cache_url.as_deref(), &ask)?;
            (Some(secrets.url.to_string()), Some(secrets))
        }
        _ if options.cache_url.is_some() => {
            return Err(InvalidSetting::new(
                "--cache-url",
                Accepts::CacheUrl,
                "(not shown)",
                format!("it is for --cache redis, not --cache {}", options.cache),
            )
            .into());
        }
        _ => (None, None),
    };
    let profile = Profile {
        name,
        username,
        login_url,
        audience,
        ttl: profile::parse_ttl("--ttl", &options.ttl)?,
        store: options.store,
        pkcs11,
        cache: options.cache,
        cache_url,
        instance_url: None,
        connect_timeout: profile::DEFAULT_CONNECT_TIMEOUT,
        request_timeout: profile::DEFAULT_REQUEST_TIMEOUT,
        rotation_grace: profile::DEFAULT_ROTATION_GRACE,
    };
    Ok(NewProfile { profile, client_id, key, certificate, fleet })
}

/// The fleet's Redis and the secrets to reach it: the URL from `--cache-url` or
/// `SFCRED_CACHE_URL`, else asked for (neither the command line, which every local user
/// reads, nor the visible prompt may hold the password); the password from
/// `SFCRED_CACHE_URL`'s URL, else asked for, hidden; the fleet key from `SFCRED_CACHE_KEY`,
/// else asked for, hidden.
fn shared_cache(ctx: &Context, flag: Option<&str>, ask: &Ask) -> Result<FleetSecrets, Error> {
    let without_password = |what: &'static str, text: &str| {
        let why = "it holds the password, which would be readable by every local user (or on the screen)";
        Ok::<_, Error>(CacheUrl::without_password(what, text, why)?)
    };
    let from_env = || match &ctx.shared_cache {
        Some(config) => CacheUrl::with_password("SFCRED_CACHE_URL", &config.urls.join(",")).map(Some),
        None => Ok(None),
    };
    let (url, env_password) = match flag {
        // The variable's password only goes to the Redis it names.
        Some(text) => {
            let url = without_password("--cache-url", text)?;
            let env = from_env().ok().flatten().filter(|(env_url, _)| *env_url == url);
            (url, env.and_then(|(_, password)| password))
        }
        None => match from_env()? {
            Some((url, password)) => (url, password),
            None => {
                let url =
                    ask.checked("Redis URL of the fleet's shared cache", "--cache-url", None, |text| {
                        without_password("the Redis URL", text)
                    })?;
                (url, None)
            }
        },
    };
    let redis_password = match env_password {
        Some(password) => Some(SecretString::from(password)),
        None if ask.interactive => {
            let typed = ask.secret("Password of the Redis user (Enter for none)", "SFCRED_CACHE_URL")?;
            Some(typed).filter(|p| !p.expose_secret().is_empty())
        }
        None => None,
    };
    let fleet_key = match &ctx.cache_key {
        Some(key) => key.clone(),
        None => {
            ask.secret("Fleet key of the shared cache (the same on every machine)", "SFCRED_CACHE_KEY")?
        }
    };
    if let Err(crate::stores::shared::SharedError::ShortKey(bytes)) =
        crate::stores::shared::FleetKey::from_secret(&fleet_key)
    {
        return Err(Error::ShortFleetKey { bytes, min: crate::stores::shared::MIN_KEY_BYTES });
    }
    Ok(FleetSecrets { url, redis_password, fleet_key })
}

/// The key on a token, opened with its PIN: the URI's, `SFCRED_PKCS11_PIN`, one stored
/// by an earlier login, or asked for.
fn token_key(
    ctx: &Context,
    uri: &Pkcs11Uri,
    name: &str,
    store: StoreKind,
    ask: &Ask,
) -> Result<LoginKey, Error> {
    let keychain = Keychain::open(store, ctx.keychain_timeout()?).ok();
    let pin = match crate::credentials::pkcs11_pin(ctx, uri, keychain.as_ref(), name)? {
        Some(pin) => Some(pin),
        None if ask.interactive => {
            Some((ask.secret("PIN of the PKCS#11 token", "SFCRED_PKCS11_PIN")?, PinOrigin::Given))
        }
        None => None,
    };
    let key = Pkcs11Key::open(uri, pin.as_ref().map(|(pin, _)| pin), ctx.keychain_timeout()?)?;
    let pin_to_store = pin.filter(|(_, origin)| *origin == PinOrigin::Given).map(|(pin, _)| pin);
    Ok(LoginKey::Pkcs11 { key, pin_to_store })
}

/// A key that `sfcred keygen` stored for this profile, else one asked for.
fn stored_or_asked_key(
    ctx: &Context,
    name: &str,
    store: StoreKind,
    ask: &Ask,
) -> Result<RsaPrivateKey, Error> {
    match Keychain::open(store, ctx.keychain_timeout()?)?.read_private_key(name) {
        Ok(key) => Ok(key),
        Err(e) if e.is_missing() => {
            // A path typed with ~ or a file that is not a key is asked for again.
            let what = "Path to the RSA private key (PEM)";
            ask.checked_with(what, "--key-file or --key-stdin", None, Some(&PathCompletion(ask)), |typed| {
                Ok(private_key::read_key_file(&ask.path(typed))?)
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The certificate at `path`, if it is the one of `signer`'s key.
pub fn certificate_of(path: &Path, signer: &dyn Signer) -> Result<Certificate, Error> {
    let certificate = Certificate::read(path)?;
    if !certificate.matches_public_key(&signer.public_key()?) {
        return Err(Error::KeyCertificateMismatch { path: path.to_owned() });
    }
    Ok(certificate)
}

/// The live mint that shows the setup works.
fn check(ctx: &Context, new: &NewProfile, now: SystemTime) -> Result<Token, Error> {
    Ok(crate::mint::mint(ctx, &new.profile, &new.client_id, new.key.signer(), now)?.token)
}

/// Saves a profile whose setup `token` (if any) was minted with, replacing any profile of
/// the same name. On failure nothing is saved: every write made before the failure is
/// undone, the keychain's entries included.
fn save(
    ctx: &Context,
    dir: &Path,
    mut new: NewProfile,
    token: Option<Token>,
) -> Result<Option<Token>, Error> {
    new.profile.instance_url = token.as_ref().map(|t| t.instance_url.clone());
    let timeout = ctx.keychain_timeout()?;
    let keychain = Keychain::open(new.profile.store, timeout)?;
    // One process at a time changes a profile: a mint in flight for the profile this login
    // replaces finishes first, and its token is replaced below.
    let _lock = crate::rotation::txn::lock_profile(ctx, &new.profile.name)?;
    let name = new.profile.name.clone();
    let mut undo = Undo::default();
    // The settings file is the commit: until it names the profile, every write can be undone.
    let committed = stage(ctx, dir, &keychain, &new, token.as_ref(), &mut undo)
        .and_then(|()| Ok(Settings::update(dir, |settings| settings.put(new.profile))?));
    let replaced = match committed {
        Ok(replaced) => replaced,
        Err(e) => {
            undo.run();
            return Err(e);
        }
    };
    // Cleaning up after the commit: what is left behind here is a warning, not a failed login.
    let leftover = |what: &str, result: Result<(), Error>| {
        if let Err(e) = result {
            crate::base::diag::warn(&format!("profile {name:?}'s {what} stays: {e}"));
        }
    };
    // Secrets left in a store the profile no longer uses would outlive a logout.
    if let Some(old) = replaced.filter(|old| old.store != keychain.kind()) {
        leftover(
            &format!("entries in the {} keychain", old.store),
            Keychain::open(old.store, timeout).and_then(|k| k.delete(&old.name)).map_err(Error::from),
        );
    }
    // A rotation of the replaced profile is over: its keys and certificates go.
    for slot in [crate::rotation::state::Slot::Next, crate::rotation::state::Slot::Previous] {
        leftover(&format!("{} key", slot.name()), keychain.delete_key_in(&name, slot).map_err(Error::from));
        let path = crate::keys::certificate::path_in(dir, &name, slot);
        leftover(&format!("{} certificate", slot.name()), remove_if_there(&path));
    }
    Ok(token)
}

/// Every write of a login before its commit, each paired in `undo` with its inverse.
fn stage<'a>(
    ctx: &'a Context,
    dir: &'a Path,
    keychain: &'a Keychain,
    new: &NewProfile,
    token: Option<&Token>,
    undo: &mut Undo<'a>,
) -> Result<(), Error> {
    let name = new.profile.name.clone();
    let snapshot = keychain.snapshot(&name)?;
    undo.push("the keychain's entries", move || Ok(keychain.restore(snapshot)?));
    // The profile keeps one key: a copy left in the keychain after moving to a token would
    // defeat the token, and a token's PIN has no use beside a keychain key.
    match &new.key {
        LoginKey::Software(key) => {
            keychain.write_private_key(&name, key.key())?;
            keychain.delete_pkcs11_pin(&name)?;
        }
        LoginKey::Pkcs11 { pin_to_store, .. } => {
            match pin_to_store {
                Some(pin) => keychain.write_pkcs11_pin(&name, pin)?,
                None => keychain.delete_pkcs11_pin(&name)?,
            }
            keychain.delete_key_in(&name, crate::rotation::state::Slot::Current)?;
        }
    }
    keychain.write_client_id(&name, &new.client_id)?;
    let fleet = new.fleet.as_ref();
    keychain.write_fleet_secret(
        &name,
        FleetSecret::RedisPassword,
        fleet.and_then(|f| f.redis_password.as_ref()),
    )?;
    keychain.write_fleet_secret(&name, FleetSecret::FleetKey, fleet.map(|f| &f.fleet_key))?;
    if let Some(certificate) = &new.certificate {
        let path = crate::keys::certificate::path_for(dir, &name);
        // A copy that cannot be read cannot be put back: the login stops before replacing it.
        let old = crate::stores::fs::read_regular(&path, 1 << 20).map_err(|e| {
            crate::keys::certificate::CertificateError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
        undo.push("the certificate copy", move || match old {
            Some(bytes) => crate::stores::fs::write_atomically(&path, &bytes)
                .map_err(|source| Error::Write { path, source }),
            None => remove_if_there(&path),
        });
        crate::keys::certificate::save(dir, &name, certificate)?;
    }
    // A rotation under way belonged to the profile this login replaces. A damaged state
    // file has nothing worth putting back.
    let old = crate::rotation::txn::reset(dir, &name)?;
    let profile_name = name.clone();
    undo.push("the key rotation's state", move || crate::rotation::txn::restore(dir, &profile_name, old));
    // The replaced profile's token may be another user's: it must not be served.
    let old_token = crate::stores::tokens::cached(ctx, &new.profile).ok().flatten();
    let profile = new.profile.clone();
    undo.push("the cached token", move || match old_token {
        Some(old) => crate::stores::tokens::remember(ctx, &profile, &old),
        None => crate::stores::tokens::invalidate(ctx, &profile),
    });
    match token {
        Some(token) => crate::stores::tokens::remember(ctx, &new.profile, token),
        None => crate::stores::tokens::invalidate(ctx, &new.profile),
    }
}

fn remove_if_there(path: &Path) -> Result<(), Error> {
    crate::stores::fs::remove_if_present(path)
        .map_err(|source| Error::Write { path: path.to_owned(), source })
}

/// A step that takes one write back.
type UndoStep<'a> = Box<dyn FnOnce() -> Result<(), Error> + 'a>;

/// The writes made so far, each with the step that takes it back.
#[derive(Default)]
struct Undo<'a> {
    steps: Vec<(&'static str, UndoStep<'a>)>,
}

impl<'a> Undo<'a> {
    fn push(&mut self, what: &'static str, step: impl FnOnce() -> Result<(), Error> + 'a) {
        self.steps.push((what, Box::new(step)));
    }

    /// Takes back every write, the last first.
    fn run(self) {
        for (what, step) in self.steps.into_iter().rev() {
            if let Err(e) = step() {
                crate::base::diag::warn(&format!("could not put back {what}: {e}"));
            }
        }
    }
}

/// TAB at a path prompt completes the path, as a shell does.
struct PathCompletion<'a>(&'a Ask);

impl dialoguer::Completion for PathCompletion<'_> {
    fn get(&self, typed: &str) -> Option<String> {
        complete_path(typed, |dir| {
            let dir = match dir {
                "" => std::path::PathBuf::from("."),
                dir => self.0.path(dir),
            };
            let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
            entries
                .filter_map(|entry| {
                    let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
                    entry.file_name().into_string().ok().map(|name| (name, is_dir))
                })
                .collect()
        })
    }
}

/// `typed` completed from the entries (name, is a directory) of the directory it names:
/// the one match in full (a directory with its `/`), else the matches' longest common start.
/// Hidden entries are offered only for a `.` typed.
fn complete_path(typed: &str, entries_of: impl Fn(&str) -> Vec<(String, bool)>) -> Option<String> {
    let split = typed.rfind(['/', std::path::MAIN_SEPARATOR]).map_or(0, |at| at + 1);
    let (dir, start) = typed.split_at(split);
    let matches: Vec<(String, bool)> = entries_of(dir)
        .into_iter()
        .filter(|(name, _)| name.starts_with(start) && (start.starts_with('.') || !name.starts_with('.')))
        .collect();
    let completed = match matches.as_slice() {
        [] => return None,
        [(name, true)] => format!("{name}/"),
        [(name, false)] => name.clone(),
        [(first, _), rest @ ..] => {
            let common = rest.iter().fold(first.len(), |len, (name, _)| {
                first.chars().zip(name.chars()).take_while(|(a, b)| a == b).count().min(len)
            });
            first.chars().take(common).collect()
        }
    };
    (completed.len() > start.len()).then(|| format!("{dir}{completed}"))
}

/// Prompts on the terminal, or explains which flag was missing.
struct Ask {
    interactive: bool,
    /// The profile as it is now, when logging in again: its values are offered.
    current: Option<Profile>,
    home: Option<std::path::PathBuf>,
}

impl Ask {
    fn text(&self, what: &'static str, flag: &'static str, default: Option<&str>) -> Result<String, Error> {
        self.checked(what, flag, default, |text| Ok(text.to_owned()))
    }

    /// Asks until an answer passes `check`, saying under the prompt why each one that did
    /// not; `default` is offered (Enter takes it).
    fn checked<T>(
        &self,
        what: &'static str,
        flag: &'static str,
        default: Option<&str>,
        check: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.checked_with(what, flag, default, None::<&PathCompletion>, check)
    }

    /// [`Ask::checked`], with TAB completing the answer.
    fn checked_with<T>(
        &self,
        what: &'static str,
        flag: &'static str,
        default: Option<&str>,
        completion: Option<&impl dialoguer::Completion>,
        check: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.check(what, flag)?;
        let accepted = std::cell::RefCell::new(None);
        let mut input = dialoguer::Input::<String>::new().with_prompt(what);
        if let Some(default) = default {
            input = input.default(default.to_owned());
        }
        if let Some(completion) = completion {
            input = input.completion_with(completion);
        }
        input
            .validate_with(|text: &String| match check(text.trim()) {
                Ok(value) => {
                    *accepted.borrow_mut() = Some(value);
                    Ok(())
                }
                Err(e) => Err(crate::base::diag::printable_message(&e.to_string())),
            })
            .interact_text()
            .map_err(|e| Error::Prompt { what, reason: e.to_string() })?;
        Ok(accepted.into_inner().expect("an answer that passed its check"))
    }

    /// A path as typed, with a leading `~` for the home directory, as a shell reads it.
    fn path(&self, typed: &str) -> std::path::PathBuf {
        match (typed.strip_prefix('~'), &self.home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with(['/', '\\']) => {
                home.join(rest.trim_start_matches(['/', '\\']))
            }
            _ => typed.into(),
        }
    }

    fn secret(&self, what: &'static str, flag: &'static str) -> Result<SecretString, Error> {
        self.check(what, flag)?;
        super::ask_secret(what)
    }

    fn environment(&self) -> Result<LoginUrl, Error> {
        let what = "the environment";
        let current = self.current.as_ref().map(|p| p.login_url.as_str().to_owned());
        let default = match current.as_deref() {
            None | Some(PRODUCTION_LOGIN_URL) => 0,
            Some(SANDBOX_LOGIN_URL) => 1,
            Some(_) => 2,
        };
        let choice = dialoguer::Select::new()
            .with_prompt("Environment")
            .items(["Production (login.salesforce.com)", "Sandbox (test.salesforce.com)", "My Domain URL"])
            .default(default)
            .interact()
            .map_err(|e| Error::Prompt { what, reason: e.to_string() })?;
        match choice {
            0 => Ok(LoginUrl::parse(PRODUCTION_LOGIN_URL)?),
            1 => Ok(LoginUrl::parse(SANDBOX_LOGIN_URL)?),
            _ => {
                let offered = current.filter(|_| default == 2);
                self.checked("My Domain URL", "--login-url", offered.as_deref(), |text| {
                    Ok(LoginUrl::parse(text)?)
                })
            }
        }
    }

    fn check(&self, what: &'static str, flag: &'static str) -> Result<(), Error> {
        match self.interactive {
            true => Ok(()),
            false => Err(Error::MissingInput { what, flag }),
        }
    }
}

/// Prompts only when asked to and a person is there to answer.
fn can_prompt(no_input: bool, key_from_stdin: bool) -> bool {
    !no_input && !key_from_stdin && super::can_prompt()
}

#[cfg(test)]
mod tests {
    use super::complete_path;

    fn in_home(dir: &str) -> Vec<(String, bool)> {
        let entries: &[(&str, bool)] = match dir {
            "~/" => &[("salesforce.key", false), ("sales", true), (".ssh", true), ("notes.txt", false)],
            "~/sales/" => &[("prod.key", false)],
            _ => &[],
        };
        entries.iter().map(|(name, is_dir)| (name.to_string(), *is_dir)).collect()
    }

    #[test]
    fn tab_completes_a_path_as_a_shell_does() {
        assert_eq!(complete_path("~/n", in_home).as_deref(), Some("~/notes.txt"));
        assert_eq!(complete_path("~/sa", in_home).as_deref(), Some("~/sales"), "the common start");
        assert_eq!(complete_path("~/sales", in_home), None, "nothing more in common");
        assert_eq!(complete_path("~/salesf", in_home).as_deref(), Some("~/salesforce.key"));
        assert_eq!(complete_path("~/sales/", in_home).as_deref(), Some("~/sales/prod.key"));
        assert_eq!(complete_path("~/.s", in_home).as_deref(), Some("~/.ssh/"), "a directory gets its /");
        assert_eq!(complete_path("~/x", in_home), None);
        assert_eq!(complete_path("~/", in_home), None, "several, hidden ones left out, nothing in common");
    }
}

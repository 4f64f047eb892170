//! `sfcred login`: gather a profile's settings and secrets (from flags, else prompts),
//! check them with Salesforce, and only then save them.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::SystemTime;

use secrecy::SecretString;

use crate::certificate::Certificate;
use crate::cli::LoginArgs;
use crate::error::Error;
use crate::keychain::{Keychain, ProfileSecrets};
use crate::private_key::{KeyError, RsaPrivateKey};
use crate::profile::{self, LoginUrl, PRODUCTION_LOGIN_URL, Profile, SANDBOX_LOGIN_URL};
use crate::settings::Settings;
use crate::token::Token;

/// A key file is a few KiB; anything much larger is not one.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Everything `login` saves.
#[derive(Debug)]
pub struct NewProfile {
    pub profile: Profile,
    pub secrets: ProfileSecrets,
    /// The connected app's certificate, when given with --cert.
    pub certificate: Option<Certificate>,
}

/// Builds the profile from the flags, asking for what is missing when `interactive`.
pub fn resolve(args: &LoginArgs, interactive: bool) -> Result<NewProfile, Error> {
    let name = args.profile.profile.clone();
    profile::validate_profile_name(&name)?;
    let ask = Ask { interactive };

    let username = match &args.username {
        Some(username) => username.clone(),
        None => ask.text("Salesforce username", "--username")?,
    };
    let login_url = match (&args.login_url, args.sandbox) {
        (Some(url), _) => LoginUrl::parse(url)?,
        (None, true) => LoginUrl::parse(SANDBOX_LOGIN_URL)?,
        (None, false) if ask.interactive => ask.environment()?,
        (None, false) => LoginUrl::parse(PRODUCTION_LOGIN_URL)?,
    };
    let audience = match &args.audience {
        Some(audience) => profile::validate_audience(audience)?,
        None => profile::default_audience(&login_url).to_owned(),
    };
    let client_id = match &args.client_id {
        Some(id) => SecretString::from(id.trim().to_owned()),
        None => ask.secret("Consumer key of the connected app", "--client-id")?,
    };
    let private_key = match (&args.key_file, args.key_stdin) {
        (_, true) => read_key(std::io::stdin().lock(), "standard input")?,
        (Some(path), false) => read_key_file(path)?,
        // A key that `sfcred keygen` stored for this profile.
        (None, false) => match Keychain::open(args.store)?.read_private_key(&name) {
            Ok(key) => key,
            Err(e) if e.is_missing() => {
                let path = ask.text("Path to the RSA private key (PEM)", "--key-file or --key-stdin")?;
                read_key_file(Path::new(&path))?
            }
            Err(e) => return Err(e.into()),
        },
    };
    let certificate = match &args.cert {
        Some(path) if !Certificate::read(path)?.matches(&private_key) => {
            return Err(Error::KeyCertificateMismatch { path: path.clone() });
        }
        Some(path) => Some(Certificate::read(path)?),
        None => None,
    };
    let profile = Profile {
        name,
        username,
        login_url,
        audience,
        ttl: profile::parse_duration(&args.ttl)?,
        store: args.store,
        cache: args.cache,
        instance_url: None,
        connect_timeout: profile::DEFAULT_CONNECT_TIMEOUT,
        request_timeout: profile::DEFAULT_REQUEST_TIMEOUT,
    };
    Ok(NewProfile { profile, secrets: ProfileSecrets { private_key, client_id }, certificate })
}

/// Checks the setup with Salesforce (unless `verify` is false), then saves it,
/// replacing any profile of the same name. On failure nothing is saved.
pub fn save(dir: &Path, mut new: NewProfile, verify: bool, now: SystemTime) -> Result<Option<Token>, Error> {
    let mut settings = Settings::load(dir)?;
    let token = match verify {
        true => Some(crate::mint::mint(&new.profile, &new.secrets, now)?),
        false => None,
    };
    new.profile.instance_url = token.as_ref().map(|t| t.instance_url.clone());
    let keychain = Keychain::open(new.profile.store)?;
    keychain.write(&new.profile.name, &new.secrets)?;
    // The replaced profile's token may be another user's: it must not be served.
    match &token {
        Some(token) => crate::fetch::remember(&new.profile, token)?,
        None => crate::fetch::invalidate(&new.profile)?,
    }
    if let Some(certificate) = &new.certificate {
        crate::certificate::save(dir, &new.profile.name, certificate)?;
    }
    let replaced = settings.put(new.profile);
    settings.save(dir)?;
    // Secrets left in a store the profile no longer uses would outlive a logout.
    if let Some(old) = replaced.filter(|old| old.store != keychain.kind()) {
        let _ = Keychain::open(old.store).and_then(|k| k.delete(&old.name));
    }
    Ok(token)
}

pub fn read_key_file(path: &Path) -> Result<RsaPrivateKey, Error> {
    let unreadable = |reason: String| KeyError::Unreadable { path: path.display().to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    Ok(read_key(file, &path.display().to_string())?)
}

fn read_key(source: impl Read, name: &str) -> Result<RsaPrivateKey, KeyError> {
    let mut bytes = Vec::new();
    source
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| KeyError::Unreadable { path: name.to_owned(), reason: e.to_string() })?;
    if bytes.len() as u64 > MAX_KEY_BYTES {
        let reason = format!("it is over {} KiB, too large for a key", MAX_KEY_BYTES / 1024);
        return Err(KeyError::Unreadable { path: name.to_owned(), reason });
    }
    let key = RsaPrivateKey::from_pem(&bytes, name);
    secrecy::zeroize::Zeroize::zeroize(&mut bytes);
    key
}

/// Prompts on the terminal, or explains which flag was missing.
struct Ask {
    interactive: bool,
}

impl Ask {
    fn text(&self, what: &'static str, flag: &'static str) -> Result<String, Error> {
        self.check(what, flag)?;
        dialoguer::Input::<String>::new()
            .with_prompt(what)
            .interact_text()
            .map(|s| s.trim().to_owned())
            .map_err(|e| Error::Prompt { what, reason: e.to_string() })
    }

    fn secret(&self, what: &'static str, flag: &'static str) -> Result<SecretString, Error> {
        self.check(what, flag)?;
        dialoguer::Password::new()
            .with_prompt(what)
            .interact()
            .map(|s| SecretString::from(s.trim().to_owned()))
            .map_err(|e| Error::Prompt { what, reason: e.to_string() })
    }

    fn environment(&self) -> Result<LoginUrl, Error> {
        let what = "the environment";
        let choice = dialoguer::Select::new()
            .with_prompt("Environment")
            .items(["Production (login.salesforce.com)", "Sandbox (test.salesforce.com)", "My Domain URL"])
            .default(0)
            .interact()
            .map_err(|e| Error::Prompt { what, reason: e.to_string() })?;
        match choice {
            0 => Ok(LoginUrl::parse(PRODUCTION_LOGIN_URL)?),
            1 => Ok(LoginUrl::parse(SANDBOX_LOGIN_URL)?),
            _ => Ok(LoginUrl::parse(&self.text("My Domain URL", "--login-url")?)?),
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
pub fn can_prompt(no_input: bool, key_from_stdin: bool) -> bool {
    !no_input && !key_from_stdin && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_key_input_is_refused_without_parsing() {
        let huge = vec![b'A'; (MAX_KEY_BYTES + 10) as usize];
        let err = read_key(&huge[..], "stdin").unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }
}

//! `sfcred keygen`: a new RSA key straight into the keychain, and its certificate
//! written out for upload to the connected app.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use secrecy::ExposeSecret;

use crate::base::diag::Progress;
use crate::config::context::Context;
use crate::config::profile::{StoreKind, validate_profile_name};
use crate::error::Error;
use crate::keys::keygen::KeyBits;
use crate::keys::pkcs11::Pkcs11Key;
use crate::keys::pkcs11_uri::UriText;
use crate::stores::fs::Readers;
use crate::stores::keychain::Keychain;
use crate::stores::settings::{KeyOnly, Settings};
use crate::token::rfc3339;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    pub bits: KeyBits,
    /// How many days the certificate is valid.
    pub days: u32,
    /// The certificate's common name; by default `sfcred PROFILE`.
    pub common_name: Option<String>,
    /// By default `PROFILE.crt` in the current directory.
    pub cert_out: Option<PathBuf>,
    /// Also write the private key here (0600).
    pub key_out: Option<PathBuf>,
    pub store: StoreKind,
    /// Make the key on this PKCS#11 token (an RFC 7512 URI) instead of in the keychain.
    pub pkcs11: Option<UriText>,
    /// Replace a key the profile already has.
    pub force: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let name = &options.profile;
    validate_profile_name(name)?;
    let cert_out = options.cert_out.clone().unwrap_or_else(|| format!("{name}.crt").into());
    // Under the profile's lock: a login or logout of the profile waits, and so does this.
    let _lock = crate::rotation::txn::lock_profile(ctx, name)?;
    // Replacing the key of a logged-in profile is what rotation is for; --force is not.
    if crate::rotation::txn::has_live_key(ctx, name, options.store)? {
        return Err(Error::LiveKey { profile: name.clone() });
    }
    // Settings that cannot be read fail the keygen before a key is made that none records.
    let settings = Settings::load(dir)?;
    if let Some(uri) = &options.pkcs11 {
        return on_token(ctx, &options, &settings, &uri.0, &cert_out);
    }
    // A key keygen made before in another keychain: --force moves the profile's key.
    let replaced_elsewhere = settings
        .keys_only()
        .find(|(other, key)| *other == name && key.pkcs11.is_none() && key.store != options.store)
        .map(|(_, key)| key.store);
    let keychain = Keychain::open(options.store, ctx.keychain_timeout()?)?;
    if let (Some(store), false) = (replaced_elsewhere, options.force) {
        return Err(Error::WouldReplace { what: format!("profile {name:?}'s key in the {store} keychain") });
    }
    if !options.force {
        match keychain.read_private_key(name) {
            Err(e) if e.is_missing() => {}
            Err(e) => return Err(e.into()),
            Ok(_) => {
                return Err(Error::WouldReplace { what: format!("the private key of profile {name:?}") });
            }
        }
    }
    let common_name = options.common_name.clone().unwrap_or_else(|| format!("sfcred {name}"));
    let pair = {
        let _progress = Progress::start(&format!("making a {}-bit RSA key", options.bits));
        crate::keys::keygen::generate(options.bits, &common_name, options.days, SystemTime::now())
            .map_err(Error::Keygen)?
    };
    // Files first: if one cannot be written, the keychain keeps the key it had.
    super::write_file(&cert_out, pair.certificate.pem.as_bytes(), options.force, Readers::Anyone)?;
    if let Some(key_out) = &options.key_out {
        super::write_file(key_out, pair.key_pem.expose_secret().as_bytes(), options.force, Readers::User)?;
    }
    keychain.write_private_key(name, &pair.key)?;
    crate::keys::certificate::save(dir, name, &pair.certificate)?;
    record_key_only(dir, name, KeyOnly { store: options.store, pkcs11: None })?;
    if let Some(store) = replaced_elsewhere {
        let removed = Keychain::open(store, ctx.keychain_timeout()?).and_then(|k| k.delete(name));
        if let Err(e) = removed {
            crate::base::diag::warn(&format!("the key replaced in the {store} keychain stays there: {e}"));
        }
    }
    if options.store == StoreKind::Keyutils {
        crate::base::diag::status("note: the kernel keyring (keyutils) forgets its keys at reboot");
    }
    let until = rfc3339(pair.certificate.not_after);
    crate::base::diag::status(&format!(
        "stored a new {}-bit key for profile {name:?} in the {} keychain{}\n\
         sfcred: wrote the certificate to {} (valid until {until})\n\n{}",
        options.bits,
        options.store,
        options.key_out.as_ref().map_or(String::new(), |p| format!(" (and a copy in {})", p.display())),
        cert_out.display(),
        next_steps(name, &cert_out, ""),
    ));
    Ok(super::Outcome::Done)
}

/// The key pair made on a PKCS#11 token, and its certificate signed there.
fn on_token(
    ctx: &Context,
    options: &Options,
    settings: &Settings,
    uri: &str,
    cert_out: &Path,
) -> Result<super::Outcome, Error> {
    let name = &options.profile;
    let uri = crate::config::profile::parse_pkcs11_flag(uri)?;
    if !options.force && cert_out.exists() {
        return Err(Error::WouldReplace { what: cert_out.display().to_string() });
    }
    // The label may be another profile's key on the same token: --force must not take it.
    let label = uri.object.clone().unwrap_or_else(|| format!("sfcred-{name}"));
    for other in settings.profiles().filter(|p| p.name != *name) {
        if other
            .pkcs11
            .as_ref()
            .is_some_and(|o| o.token == uri.token && o.object.as_deref() == Some(label.as_str()))
        {
            return Err(Error::LiveKey { profile: other.name.clone() });
        }
    }
    let keychain = Keychain::open(options.store, ctx.keychain_timeout()?).ok();
    let pin = match crate::credentials::pkcs11_pin(ctx, &uri, keychain.as_ref(), name)? {
        Some((pin, _)) => Some(pin),
        None if super::can_prompt() => Some(super::ask_secret("PIN of the PKCS#11 token")?),
        None => None,
    };
    let now = SystemTime::now();
    let common_name = options.common_name.clone().unwrap_or_else(|| format!("sfcred {name}"));
    let (key, certificate) = {
        let _progress = Progress::start(&format!("making a {}-bit RSA key on the token", options.bits));
        let key = Pkcs11Key::generate(
            &uri,
            pin.as_ref(),
            &format!("sfcred-{name}"),
            options.bits.bits(),
            options.force,
            ctx.keychain_timeout()?,
        )?;
        let certificate = crate::keys::keygen::certificate_for(&key, &common_name, options.days, now)
            .map_err(Error::Keygen)?;
        (key, certificate)
    };
    super::write_file(cert_out, certificate.pem.as_bytes(), options.force, Readers::Anyone)?;
    crate::keys::certificate::save(ctx.config_dir()?, name, &certificate)?;
    let made = crate::config::profile::parse_pkcs11_uri("the new key's URI", key.uri())?;
    record_key_only(ctx.config_dir()?, name, KeyOnly { store: options.store, pkcs11: Some(made) })?;
    let until = rfc3339(certificate.not_after);
    crate::base::diag::status(&format!(
        "made a new {}-bit key on the token: {}\n\
         sfcred: it cannot be copied off the token (sensitive, not extractable); the token signed its certificate\n\
         sfcred: wrote the certificate to {} (valid until {until})\n\n{}",
        options.bits,
        key.uri(),
        cert_out.display(),
        next_steps(name, cert_out, &format!(" --pkcs11 '{}'", key.uri())),
    ));
    Ok(super::Outcome::Done)
}

/// Records the key in the settings, until a login uses it, so that `profiles` lists it and
/// `logout` removes it.
fn record_key_only(dir: &Path, name: &str, key: KeyOnly) -> Result<(), Error> {
    Ok(Settings::update(dir, |settings| settings.put_key_only(name, key))?)
}

/// What is left after keygen: the app that holds the certificate, then login.
fn next_steps(name: &str, cert_out: &Path, login_key: &str) -> String {
    let cert = cert_out.display();
    format!(
        "Next:\n  \
         1. Put {cert} in the app that signs the user in:\n     \
            - an External Client App (what Salesforce recommends today): sfcred eca --profile {name} --name APP_NAME\n       \
              writes it as a project and says how to deploy it;\n     \
            - or, where an org still uses one, a connected app: Upload {cert} (Use digital signatures).\n  \
         2. Pre-authorize the user: Permitted Users = Admin approved users are pre-authorized,\n     \
            and add the user's profile or permission set.\n  \
         3. sfcred login --profile {name}{login_key} --username USERNAME --client-id CONSUMER_KEY"
    )
}

//! `sfcred keygen`: a new RSA key straight into the keychain, and its certificate
//! written out for upload to the connected app.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use secrecy::ExposeSecret;

use crate::context::Context;
use crate::diag::Progress;
use crate::error::Error;
use crate::fs::Readers;
use crate::keychain::Keychain;
use crate::keygen::KeyBits;
use crate::profile::{StoreKind, validate_profile_name};
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
    /// Replace a key the profile already has.
    pub force: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let name = &options.profile;
    validate_profile_name(name)?;
    let cert_out = options.cert_out.clone().unwrap_or_else(|| format!("{name}.crt").into());
    let keychain = Keychain::open(options.store, ctx.keychain_timeout()?)?;
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
        crate::keygen::generate(options.bits, &common_name, options.days, SystemTime::now())
            .map_err(Error::Keygen)?
    };
    // Files first: if one cannot be written, the keychain keeps the key it had.
    write_file(&cert_out, pair.certificate.pem.as_bytes(), options.force, Readers::Anyone)?;
    if let Some(key_out) = &options.key_out {
        write_file(key_out, pair.key_pem.expose_secret().as_bytes(), options.force, Readers::User)?;
    }
    keychain.write_private_key(name, &pair.key)?;
    crate::certificate::save(dir, name, &pair.certificate)?;
    if options.store == StoreKind::Keyutils {
        eprintln!("sfcred: note: the kernel keyring (keyutils) forgets its keys at reboot");
    }
    let until = rfc3339(pair.certificate.not_after);
    eprintln!(
        "sfcred: stored a new {}-bit key for profile {name:?} in the {} keychain{}\n\
         sfcred: wrote the certificate to {} (valid until {until})\n\n\
         Next:\n  \
         1. Upload {} to the connected app (Use digital signatures).\n  \
         2. Pre-authorize the user: Permitted Users = Admin approved users are pre-authorized,\n     \
            and add the user's profile or permission set.\n  \
         3. sfcred login --profile {name} --username USERNAME --client-id CONSUMER_KEY",
        options.bits,
        options.store,
        options.key_out.as_ref().map_or(String::new(), |p| format!(" (and a copy in {})", p.display())),
        cert_out.display(),
        cert_out.display(),
    );
    Ok(super::Outcome::Done)
}

fn write_file(path: &Path, bytes: &[u8], force: bool, readers: Readers) -> Result<(), Error> {
    crate::fs::write_new(path, bytes, force, readers).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => Error::WouldReplace { what: path.display().to_string() },
        _ => Error::Write { path: path.to_owned(), source },
    })
}

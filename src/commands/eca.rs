//! `sfcred eca`: an External Client App for a profile, as a Salesforce DX project to
//! deploy with the Salesforce CLI, and what is left to do by hand.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::profile::{StoreKind, validate_profile_name};
use crate::error::Error;
use crate::keys::certificate::{self, Certificate};
use crate::keys::signer::{KeyOrigin, SoftwareKey};
use crate::salesforce::eca::{self, EcaSpec};
use crate::stores::fs::Readers;
use crate::stores::keychain::Keychain;
use crate::stores::settings::Settings;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// The app's API name.
    pub name: String,
    /// The project directory; by default `NAME` here.
    pub out: Option<PathBuf>,
    pub scopes: String,
    /// By default the profile's username.
    pub contact_email: Option<String>,
    /// The keychain where `keygen` stored a key for a profile not logged in yet.
    pub store: StoreKind,
    /// Replace the app's files if they exist.
    pub force: bool,
    /// Issue JWT-based access tokens, which say when they expire.
    pub jwt_tokens: bool,
    /// How long those live, like `30m`; by default the user's session.
    pub jwt_timeout: Option<String>,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    validate_profile_name(&options.profile)?;
    eca::validate_name(&options.name)?;
    let scopes = eca::scopes(&options.scopes)?;
    let dir = ctx.config_dir()?;
    let profile = Settings::load(dir)?.profile(&options.profile).ok().cloned();
    let contact_email = match (&options.contact_email, &profile) {
        (Some(email), _) => email.clone(),
        (None, Some(profile)) => profile.username.clone(),
        (None, None) => {
            return Err(Error::MissingFlag { what: "the app's contact email", flag: "--contact-email" });
        }
    };
    eca::validate_email(&contact_email)?;
    let jwt_tokens = match (&options.jwt_timeout, options.jwt_tokens) {
        (Some(text), _) => {
            Some(eca::jwt_timeout(crate::config::profile::parse_duration("--jwt-timeout", text)?)?)
        }
        (None, true) => Some(eca::JwtTokens::UserSession),
        (None, false) => None,
    };
    let certificate = profile_certificate(ctx, &options)?;
    let spec = EcaSpec {
        name: options.name.clone(),
        contact_email,
        scopes,
        certificate_pem: certificate.pem,
        jwt_tokens,
    };

    let out = options.out.clone().unwrap_or_else(|| PathBuf::from(&options.name));
    std::fs::create_dir_all(&out).map_err(|source| Error::Write { path: out.clone(), source })?;
    let project = out.join("sfdx-project.json");
    let package = match std::fs::read_to_string(&project) {
        Ok(json) => {
            if let Some(older) = eca::older_api_version(&json, spec.api_version()) {
                crate::base::diag::warn(&format!(
                    "{} says sourceApiVersion {older}; the app's files need {}: raise it before the deploy",
                    project.display(),
                    spec.api_version()
                ));
            }
            eca::default_package_directory(&json)?.unwrap_or_else(|| "force-app".into())
        }
        Err(_) => {
            super::write_file(
                &project,
                eca::sfdx_project_json(&options.name, spec.api_version()).as_bytes(),
                false,
                Readers::Anyone,
            )?;
            "force-app".into()
        }
    };
    let base = out.join(&package).join("main").join("default");
    let files = eca::files(&spec);
    for (relative, _) in &files {
        let path = base.join(relative);
        if path.exists() && !options.force {
            return Err(Error::WouldReplace { what: path.display().to_string() });
        }
    }
    let project_root = out.canonicalize().map_err(|source| Error::Write { path: out.clone(), source })?;
    for (relative, text) in &files {
        let path = base.join(relative);
        if let Some(parent) = path.parent() {
            // A folder on the way may be a symbolic link out of the project (a cloned
            // repository's): the deepest one that exists is checked before anything is made.
            let existing = parent.ancestors().find(|dir| dir.exists()).unwrap_or(parent);
            inside_project(existing, &project_root)?;
            std::fs::create_dir_all(parent)
                .map_err(|source| Error::Write { path: parent.to_owned(), source })?;
            inside_project(parent, &project_root)?;
        }
        super::write_file(&path, text.as_bytes(), options.force, Readers::Anyone)?;
    }
    let name = &options.name;
    let profile_name = &options.profile;
    crate::base::diag::status(&format!(
        "wrote External Client App {name:?} (JWT bearer flow with profile {profile_name:?}'s certificate, \
         admin-approved users pre-authorized) to {}\n\n\
         Next:\n  \
         1. In the org, as an admin: Setup → External Client App Settings: turn on \"Allow access to External Client \
         App consumer secrets via REST API\" / \"Allow Access to OAuth Consumer Secrets via Metadata API\"\n     \
         (the Metadata API needs it for the certificate in the global OAuth settings).\n  \
         2. Deploy it:\n       cd {} && sf project deploy start --source-dir {} --target-org ADMIN\n  \
         3. Setup → External Client App Manager → {name} → Policies: add the user's profile or permission set.\n  \
         4. Settings → OAuth Settings → Consumer Key and Secret: copy the consumer key.\n  \
         5. sfcred login --profile {profile_name} --username USERNAME --client-id CONSUMER_KEY",
        base.display(),
        out.display(),
        Path::new(&package).display(),
    ));
    Ok(super::Outcome::Done)
}

/// The certificate `keygen` or `login --cert` recorded, else one the profile's key (in the
/// keychain or on a token) signs now and records.
fn profile_certificate(ctx: &Context, options: &Options) -> Result<Certificate, Error> {
    let dir = ctx.config_dir()?;
    let name = &options.profile;
    if let Some(certificate) = certificate::load(dir, name)? {
        return Ok(certificate);
    }
    let no_certificate = || Error::NoCertificate { profile: name.clone() };
    let signer: Box<dyn crate::keys::signer::Signer> = match Settings::load(dir)?.profile(name) {
        Ok(profile) => crate::credentials::for_profile(ctx, profile).map_err(|_| no_certificate())?.signer,
        Err(_) => {
            let keychain = Keychain::open(ctx.store_for(options.store)?, ctx.keychain_timeout()?)?;
            let key = keychain.read_private_key(name).map_err(|_| no_certificate())?;
            Box::new(SoftwareKey::new(key, KeyOrigin::Keychain(keychain.kind())))
        }
    };
    let certificate = crate::keys::keygen::certificate_for(
        signer.as_ref(),
        &format!("sfcred {name}"),
        365,
        SystemTime::now(),
    )
    .map_err(Error::Keygen)?;
    certificate::save(dir, name, &certificate)?;
    Ok(certificate)
}

/// `dir`, with every symbolic link followed, is inside the project.
fn inside_project(dir: &Path, project_root: &Path) -> Result<(), Error> {
    let real = dir.canonicalize().map_err(|source| Error::Write { path: dir.to_owned(), source })?;
    match real.starts_with(project_root) {
        true => Ok(()),
        false => {
            let shown = crate::base::diag::printable(&real.display().to_string(), 120);
            Err(eca::EcaError::OutsideProject { path: shown }.into())
        }
    }
}

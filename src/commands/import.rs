//! `sfcred import --from-sf ORG`: a Salesforce CLI JWT login becomes an sfcred profile.
//! The key file the CLI remembers is read once into the keychain and checked with a live
//! mint, as `login` does; after that the file may go.

use std::path::PathBuf;

use crate::config::context::Context;
use crate::config::profile::{CacheKind, StoreKind, validate_profile_name};
use crate::error::Error;
use crate::salesforce::sf_cli;

use super::login::{self, KeySource};

#[derive(Debug)]
pub struct Options {
    /// An alias or username the Salesforce CLI knows.
    pub from_sf: String,
    /// By default the alias.
    pub profile: Option<String>,
    /// The key, when the file the CLI remembers is gone.
    pub key_file: Option<PathBuf>,
    pub store: StoreKind,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let sfdx_dir = ctx.home.as_ref().ok_or(crate::config::context::ContextError::NoHome)?.join(".sfdx");
    let org = sf_cli::find(&sfdx_dir, &options.from_sf)?;
    let profile = match (&options.profile, &org.alias) {
        (Some(profile), _) => profile.clone(),
        (None, Some(alias)) if validate_profile_name(alias).is_ok() => alias.clone(),
        _ => return Err(Error::MissingFlag { what: "the profile to import into", flag: "--profile" }),
    };
    let key_file = options.key_file.clone().unwrap_or_else(|| org.key_file.clone());
    if !key_file.exists() {
        return Err(Error::KeyFileGone { path: key_file, org: options.from_sf.clone(), profile });
    }
    crate::base::diag::status(&format!(
        "importing the Salesforce CLI's JWT login {:?} ({}) as profile {profile:?}",
        options.from_sf,
        crate::base::diag::printable_message(&org.username)
    ));
    login::run(
        ctx,
        login::Options {
            profile,
            username: Some(org.username),
            client_id: Some(org.client_id),
            key: KeySource::File(key_file),
            cert: None,
            sandbox: false,
            login_url: Some(org.login_url),
            audience: None,
            ttl: "30m".into(),
            store: options.store,
            cache: CacheKind::File,
            cache_url: None,
            verify: true,
            no_input: true,
        },
    )
}

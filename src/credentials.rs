//! What signs for a profile: its consumer key and its [`Signer`], from the profile's
//! keychain, or from the environment for an environment profile.

use secrecy::SecretString;

use crate::context::Context;
use crate::error::Error;
use crate::keychain::Keychain;
use crate::profile::{Profile, StoreKind};
use crate::signer::{KeyOrigin, Signer, SoftwareKey};

/// A profile's secrets, as minting uses them: the key behind a signer.
pub struct Credentials {
    /// The connected app's consumer key: the JWT `iss` claim.
    pub client_id: SecretString,
    pub signer: Box<dyn Signer>,
}

/// The credentials of a saved or environment profile.
pub fn for_profile(ctx: &Context, profile: &Profile) -> Result<Credentials, Error> {
    if let (StoreKind::Environment, Some(vars)) = (profile.store, &ctx.environment_profile) {
        return Ok(Credentials {
            client_id: crate::environment::client_id(vars)?,
            signer: Box::new(crate::environment::signer(vars)?),
        });
    }
    let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
    let key = keychain.read_private_key(&profile.name)?;
    let client_id = keychain.read_client_id(&profile.name)?;
    Ok(Credentials {
        client_id,
        signer: Box::new(SoftwareKey::new(key, KeyOrigin::Keychain(keychain.kind()))),
    })
}

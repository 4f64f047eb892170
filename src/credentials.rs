//! What signs for a profile: its consumer key and its [`Signer`]: the keychain's key,
//! the environment's, or a key on a PKCS#11 token.

use secrecy::SecretString;

use crate::context::Context;
use crate::error::Error;
use crate::keychain::Keychain;
use crate::pkcs11::{self, Pkcs11Key};
use crate::pkcs11_uri::Pkcs11Uri;
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
    let environment = match profile.store {
        StoreKind::Environment => ctx.environment_profile.as_ref(),
        _ => None,
    };
    let keychain = match environment {
        Some(_) => None,
        None => Some(Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?),
    };
    // The key first: a profile without one is "not logged in" for its key, which says more.
    let signer: Box<dyn Signer> = match (&profile.pkcs11, environment, &keychain) {
        (Some(uri), _, _) => {
            let pin = pkcs11_pin(ctx, uri, keychain.as_ref(), &profile.name)?;
            Box::new(Pkcs11Key::open(uri, pin.map(|(pin, _)| pin).as_ref())?)
        }
        (None, Some(vars), _) => Box::new(crate::environment::signer(vars)?),
        (None, None, Some(keychain)) => {
            let key = keychain.read_private_key(&profile.name)?;
            Box::new(SoftwareKey::new(key, KeyOrigin::Keychain(keychain.kind())))
        }
        (None, None, None) => unreachable!("a profile has its key in the environment or a keychain"),
    };
    let client_id = match (environment, &keychain) {
        (Some(vars), _) => crate::environment::client_id(vars)?,
        (None, Some(keychain)) => keychain.read_client_id(&profile.name)?,
        (None, None) => unreachable!("a profile has its secrets in the environment or a keychain"),
    };
    Ok(Credentials { client_id, signer })
}

/// Where a PIN came from: login keeps one that was given, not one that is on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOrigin {
    /// `pin-value` in the URI, or `SFCRED_PKCS11_PIN`: login stores it.
    Given,
    /// `pin-source` in the URI, or the keychain: already kept somewhere.
    OnFile,
}

/// The token's PIN: the URI's `pin-value` or `pin-source`, else `SFCRED_PKCS11_PIN`, else
/// the one login stored in the profile's keychain.
pub fn pkcs11_pin(
    ctx: &Context,
    uri: &Pkcs11Uri,
    keychain: Option<&Keychain>,
    profile: &str,
) -> Result<Option<(SecretString, PinOrigin)>, Error> {
    if let Some(pin) = &uri.pin_value {
        return Ok(Some((pin.clone(), PinOrigin::Given)));
    }
    if let Some(pin) = pkcs11::pin_from_uri(uri)? {
        return Ok(Some((pin, PinOrigin::OnFile)));
    }
    if let Some(pin) = &ctx.pkcs11_pin {
        return Ok(Some((pin.clone(), PinOrigin::Given)));
    }
    match keychain {
        Some(keychain) => Ok(keychain.read_pkcs11_pin(profile)?.map(|pin| (pin, PinOrigin::OnFile))),
        None => Ok(None),
    }
}

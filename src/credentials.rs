//! What signs for a profile: its consumer key and its [`Signer`] (the keychain's key, the
//! environment's, or a key on a PKCS#11 token), and the keys of a rotation: where each
//! lives, and how the next key becomes the current one.

use std::path::Path;
use std::time::SystemTime;

use secrecy::SecretString;

use crate::context::Context;
use crate::error::Error;
use crate::keychain::Keychain;
use crate::pkcs11::{self, Pkcs11Key};
use crate::pkcs11_uri::Pkcs11Uri;
use crate::profile::{Profile, StoreKind};
use crate::rotation::{PreviousKey, Rotation, Slot};
use crate::settings::Settings;
use crate::signer::{KeyOrigin, Signer, SoftwareKey};
use crate::token::UnixMillis;

/// A profile's secrets, as minting uses them: the key behind a signer.
pub struct Credentials {
    /// The connected app's consumer key: the JWT `iss` claim.
    pub client_id: SecretString,
    pub signer: Box<dyn Signer>,
    /// The profile's rotation, if one is under way (never for an environment profile).
    pub rotation: Option<Rotation>,
    /// The profile's keychain (none for an environment profile), for a rotation's other key.
    pub keychain: Option<Keychain>,
}

/// Where one of a profile's keys lives.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPlace {
    Keychain(StoreKind),
    Environment,
    Token(Box<Pkcs11Uri>),
}

impl std::fmt::Display for KeyPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPlace::Keychain(store) => write!(f, "the {store} keychain"),
            KeyPlace::Environment => f.write_str("the environment"),
            KeyPlace::Token(uri) => write!(f, "{uri}"),
        }
    }
}

/// Where the profile's key in `slot` lives.
pub fn place(
    ctx: &Context,
    profile: &Profile,
    rotation: Option<&Rotation>,
    slot: Slot,
) -> Result<KeyPlace, Error> {
    let token = match slot {
        Slot::Current => profile.pkcs11.clone(),
        Slot::Next => rotation.and_then(|r| r.next.as_ref()).and_then(|n| n.pkcs11.clone()),
        Slot::Previous => rotation.and_then(|r| r.previous.as_ref()).and_then(|p| p.pkcs11.clone()),
    };
    Ok(match (token, profile.store) {
        (Some(uri), _) => KeyPlace::Token(Box::new(uri)),
        (None, StoreKind::Environment) => KeyPlace::Environment,
        (None, store) => KeyPlace::Keychain(ctx.store_for(store)?),
    })
}

/// The credentials of a saved or environment profile.
pub fn for_profile(ctx: &Context, profile: &Profile) -> Result<Credentials, Error> {
    let environment = match profile.store {
        StoreKind::Environment => ctx.environment_profile.as_ref(),
        _ => None,
    };
    let (keychain, rotation) = match environment {
        Some(_) => (None, None),
        None => (
            Some(Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?),
            rotation_of(ctx, profile),
        ),
    };
    // The key first: a profile without one is "not logged in" for its key, which says more.
    let signer: Box<dyn Signer> = match environment {
        Some(vars) if profile.pkcs11.is_none() => Box::new(crate::environment::signer(vars)?),
        _ => signer_in(ctx, profile, rotation.as_ref(), keychain.as_ref(), Slot::Current)?,
    };
    let client_id = match (environment, &keychain) {
        (Some(vars), _) => crate::environment::client_id(vars)?,
        (None, Some(keychain)) => keychain.read_client_id(&profile.name)?,
        (None, None) => unreachable!("a profile has its secrets in the environment or a keychain"),
    };
    Ok(Credentials { client_id, signer, rotation, keychain })
}

/// A saved profile's rotation, if one is under way. An environment profile has none; a
/// state file that cannot be read is a warning, never a reason to refuse a token.
pub fn rotation_of(ctx: &Context, profile: &Profile) -> Option<Rotation> {
    if profile.store == StoreKind::Environment {
        return None;
    }
    let dir = ctx.config_dir().ok()?;
    Rotation::load(dir, &profile.name)
        .inspect_err(|e| crate::diag::warn(&format!("ignoring the key rotation's state: {e}")))
        .ok()
        .flatten()
}

/// The signer of the profile's key in `slot`.
pub fn signer_in(
    ctx: &Context,
    profile: &Profile,
    rotation: Option<&Rotation>,
    keychain: Option<&Keychain>,
    slot: Slot,
) -> Result<Box<dyn Signer>, Error> {
    match place(ctx, profile, rotation, slot)? {
        KeyPlace::Token(uri) => {
            let pin = pkcs11_pin(ctx, &uri, keychain, &profile.name)?;
            Ok(Box::new(Pkcs11Key::open(&uri, pin.map(|(pin, _)| pin).as_ref())?))
        }
        KeyPlace::Keychain(store) => {
            let opened;
            let keychain = match keychain {
                Some(keychain) => keychain,
                None => {
                    opened = Keychain::open(store, ctx.keychain_timeout()?)?;
                    &opened
                }
            };
            let key = keychain.read_key_in(&profile.name, slot)?;
            Ok(Box::new(SoftwareKey::new(key, KeyOrigin::Keychain(keychain.kind()))))
        }
        KeyPlace::Environment => match &ctx.environment_profile {
            Some(vars) => Ok(Box::new(crate::environment::signer(vars)?)),
            None => Err(crate::environment::EnvironmentError::Missing { name: "SFCRED_CLIENT_ID" }.into()),
        },
    }
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

/// Makes the next key the current one, and the current one the previous one, kept as a
/// fallback for the profile's grace period. The caller holds the profile's lock.
pub fn promote(
    ctx: &Context,
    profile: &Profile,
    mut rotation: Rotation,
    now: SystemTime,
) -> Result<Rotation, Error> {
    let dir = ctx.config_dir()?;
    let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
    if rotation.previous.is_some() {
        rotation = drop_previous(ctx, profile, rotation)?;
    }
    let current = place(ctx, profile, Some(&rotation), Slot::Current)?;
    let next = place(ctx, profile, Some(&rotation), Slot::Next)?;
    // Each step leaves a key that Salesforce accepts where the settings look for it.
    if let KeyPlace::Keychain(_) = current {
        keychain.write_key_in(&profile.name, Slot::Previous, &keychain.read_private_key(&profile.name)?)?;
    }
    match &next {
        KeyPlace::Keychain(_) => keychain.write_key_in(
            &profile.name,
            Slot::Current,
            &keychain.read_key_in(&profile.name, Slot::Next)?,
        )?,
        KeyPlace::Token(_) | KeyPlace::Environment => {}
    }
    let next_uri = match next {
        KeyPlace::Token(uri) => Some(*uri),
        _ => None,
    };
    // A keychain key replaced by a token's lives on as the previous key only.
    let drop_keychain_copy = matches!(current, KeyPlace::Keychain(_)) && next_uri.is_some();
    if next_uri != profile.pkcs11 {
        Settings::update(dir, |settings| -> Result<(), Error> {
            let mut updated = settings.profile(&profile.name)?.clone();
            updated.pkcs11 = next_uri;
            settings.put(updated);
            Ok(())
        })??;
    }
    move_certificate(dir, &profile.name, Slot::Current, Slot::Previous)?;
    move_certificate(dir, &profile.name, Slot::Next, Slot::Current)?;
    rotation.next = None;
    rotation.previous = Some(PreviousKey {
        until: UnixMillis::from(now + profile.rotation_grace),
        pkcs11: match current {
            KeyPlace::Token(uri) => Some(*uri),
            _ => None,
        },
    });
    rotation.save(dir, &profile.name)?;
    keychain.delete_key_in(&profile.name, Slot::Next)?;
    if drop_keychain_copy {
        keychain.delete_key_in(&profile.name, Slot::Current)?;
    }
    Ok(rotation)
}

/// Deletes the previous key (its grace is over, or a new promotion replaces it).
pub fn drop_previous(ctx: &Context, profile: &Profile, mut rotation: Rotation) -> Result<Rotation, Error> {
    drop_key(ctx, profile, &rotation, Slot::Previous)?;
    rotation.previous = None;
    rotation.save(ctx.config_dir()?, &profile.name)?;
    Ok(rotation)
}

/// Deletes the next key (a rotation given up).
pub fn drop_next(ctx: &Context, profile: &Profile, mut rotation: Rotation) -> Result<Rotation, Error> {
    drop_key(ctx, profile, &rotation, Slot::Next)?;
    rotation.next = None;
    rotation.save(ctx.config_dir()?, &profile.name)?;
    Ok(rotation)
}

fn drop_key(ctx: &Context, profile: &Profile, rotation: &Rotation, slot: Slot) -> Result<(), Error> {
    let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
    let doomed = place(ctx, profile, Some(rotation), slot)?;
    // Never a token key the profile signs with now, whatever the state file says (keychain
    // slots are separate entries by construction).
    let current = place(ctx, profile, Some(rotation), Slot::Current)?;
    if matches!(doomed, KeyPlace::Token(_)) && doomed.to_string() == current.to_string() {
        crate::diag::warn(&format!(
            "kept profile {:?}'s {} key: it is the current key",
            profile.name,
            slot.name()
        ));
        return Ok(());
    }
    match doomed {
        KeyPlace::Token(uri) => {
            let pin = pkcs11_pin(ctx, &uri, Some(&keychain), &profile.name)?;
            Pkcs11Key::destroy(&uri, pin.map(|(pin, _)| pin).as_ref())?;
        }
        KeyPlace::Keychain(_) => keychain.delete_key_in(&profile.name, slot)?,
        KeyPlace::Environment => {}
    }
    let path = crate::certificate::path_in(ctx.config_dir()?, &profile.name, slot);
    crate::fs::remove_if_present(&path).map_err(|source| Error::Write { path, source })
}

fn move_certificate(dir: &Path, profile: &str, from: Slot, to: Slot) -> Result<(), Error> {
    let (from, to) =
        (crate::certificate::path_in(dir, profile, from), crate::certificate::path_in(dir, profile, to));
    match std::fs::rename(&from, &to) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_file(&to);
            Ok(())
        }
        Err(source) => Err(Error::Write { path: to, source }),
        Ok(()) => Ok(()),
    }
}

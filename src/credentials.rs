//! What signs for a profile: its consumer key and its [`Signer`] (the keychain's key, the
//! environment's, or a key on a PKCS#11 token), and where each of its keys lives.

use secrecy::{ExposeSecret, SecretString};

use crate::config::context::{Context, SharedCacheConfig};
use crate::config::profile::{Accepts, CacheKind, CacheUrl, InvalidSetting, Profile, StoreKind};
use crate::error::Error;
use crate::keys::pkcs11::{self, Pkcs11Key};
use crate::keys::pkcs11_uri::Pkcs11Uri;
use crate::keys::signer::{KeyOrigin, Signer, SoftwareKey};
use crate::rotation::state::{Rotation, Slot};
use crate::stores::keychain::{FleetSecret, Keychain, KeychainError};

/// A profile's secrets, as minting uses them: the key behind a signer.
pub struct Credentials {
    /// The connected app's consumer key: the JWT `iss` claim.
    pub client_id: SecretString,
    pub signer: Box<dyn Signer>,
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

/// The profile's keychain: one per call, passed down to whatever reads it.
pub fn keychain_for(ctx: &Context, profile: &Profile) -> Result<Keychain, Error> {
    Ok(Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?)
}

/// The current key's credentials of a saved or environment profile, outside a rotation's
/// transaction (an environment profile has none).
pub fn for_profile(ctx: &Context, profile: &Profile) -> Result<Credentials, Error> {
    let environment = match profile.store {
        StoreKind::Environment => ctx.environment_profile.as_ref(),
        _ => None,
    };
    let keychain = match environment {
        Some(_) => None,
        None => Some(keychain_for(ctx, profile)?),
    };
    // The key first: a profile without one is "not logged in" for its key, which says more.
    let signer: Box<dyn Signer> = match environment {
        Some(vars) if profile.pkcs11.is_none() => Box::new(crate::config::env_profile::signer(vars)?),
        _ => signer_in(ctx, profile, None, keychain.as_ref(), Slot::Current)?,
    };
    let client_id = match (environment, &keychain) {
        (Some(vars), _) => crate::config::env_profile::client_id(vars)?,
        (None, Some(keychain)) => keychain.read_client_id(&profile.name)?,
        (None, None) => unreachable!("a profile has its secrets in the environment or a keychain"),
    };
    Ok(Credentials { client_id, signer })
}

/// The profile's consumer key alone (the environment's, or the keychain's): what the
/// fleet's cache is keyed by, with no key opened.
pub fn client_id(ctx: &Context, profile: &Profile) -> Result<SecretString, Error> {
    match (&ctx.environment_profile, profile.store) {
        (Some(vars), StoreKind::Environment) => Ok(crate::config::env_profile::client_id(vars)?),
        _ => Ok(keychain_for(ctx, profile)?.read_client_id(&profile.name)?),
    }
}

/// The fleet's shared cache that the profile's tokens go through: `SFCRED_CACHE_URL`'s, for
/// every profile, else the profile's own (`cache = "redis"`), reached with the password
/// login kept. Its fleet key is `SFCRED_CACHE_KEY`, else the one login kept.
pub fn shared_cache(ctx: &Context, profile: &Profile) -> Result<Option<SharedCacheConfig>, Error> {
    let own = profile.cache == CacheKind::Redis && profile.store != StoreKind::Environment;
    if !own || ctx.shared_cache.as_ref().is_some_and(|config| config.key.is_some()) {
        return Ok(ctx.shared_cache.clone());
    }
    let keychain = keychain_for(ctx, profile)?;
    let urls = match (&ctx.shared_cache, &profile.cache_url) {
        (Some(config), _) => config.urls.clone(),
        (None, Some(text)) => {
            let url = CacheUrl::parse_setting(text)?;
            let password = keychain.read_fleet_secret(&profile.name, FleetSecret::RedisPassword)?;
            url.urls_with(password.as_ref().map(|p| p.expose_secret()))
        }
        (None, None) => {
            let why = format!("profile {:?} has cache = \"redis\" and names no Redis to share", profile.name);
            return Err(InvalidSetting::new("cache_url", Accepts::CacheUrl, "(none)", why).into());
        }
    };
    let key = match &ctx.cache_key {
        Some(key) => key.clone(),
        None => keychain.read_fleet_secret(&profile.name, FleetSecret::FleetKey)?.ok_or_else(|| {
            KeychainError::Missing {
                store: keychain.kind(),
                profile: profile.name.clone(),
                what: "shared cache's fleet key",
            }
        })?,
    };
    Ok(Some(SharedCacheConfig { urls, key: Some(key) }))
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
            Ok(Box::new(Pkcs11Key::open(&uri, pin.map(|(pin, _)| pin).as_ref(), ctx.keychain_timeout()?)?))
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
            Some(vars) => Ok(Box::new(crate::config::env_profile::signer(vars)?)),
            None => {
                Err(crate::config::env_profile::EnvironmentError::Missing { name: "SFCRED_CLIENT_ID" }.into())
            }
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

//! The OS keychain holding each profile's private key and consumer key, through the
//! keyring-rs store crates. Every call is bounded in time: a hung keychain daemon
//! never hangs the caller.

use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::config::profile::StoreKind;
use crate::keys::private_key::RsaPrivateKey;
use crate::rotation::state::Slot;

const SERVICE: &str = "sfcred";

/// Opens the keyring-core store behind `kind`.
fn open_store(kind: StoreKind) -> Result<Arc<CredentialStore>, String> {
    let unsupported = || Err(format!("the {kind} store is not available on this system"));
    match kind {
        StoreKind::Environment => Err("the environment holds secrets, it does not store them".into()),
        #[cfg(target_os = "linux")]
        StoreKind::SecretService => zbus_secret_service_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string()),
        #[cfg(target_os = "linux")]
        StoreKind::Keyutils => linux_keyutils_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string()),
        #[cfg(target_os = "macos")]
        StoreKind::MacosKeychain => apple_native_keyring_store::keychain::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string()),
        #[cfg(windows)]
        StoreKind::WindowsCredentialManager => windows_native_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string()),
        #[allow(unreachable_patterns)]
        _ => unsupported(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("the {store} keychain is unavailable: {reason}")]
    Unavailable { store: StoreKind, reason: String },
    #[error("the {store} keychain did not answer within {}s while {action}", timeout.as_secs())]
    TimedOut { store: StoreKind, action: String, timeout: Duration },
    #[error("the {store} keychain has no {what} for profile {profile:?}")]
    Missing { store: StoreKind, profile: String, what: &'static str },
    #[error("the {what} of profile {profile:?} in the {store} keychain is damaged: {reason}")]
    Damaged { store: StoreKind, profile: String, what: &'static str, reason: String },
    #[error("the {store} keychain failed while {action}: {reason}")]
    Failed { store: StoreKind, action: String, reason: String },
}

impl KeychainError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            KeychainError::Unavailable { store: StoreKind::SecretService, .. } => {
                "start a Secret Service (GNOME Keyring or KWallet) in your D-Bus session; or use the kernel \
                 keyring, which needs no daemon but forgets keys at reboot: sfcred login --store keyutils; \
                 or, in CI and containers, give the profile in SFCRED_CLIENT_ID, SFCRED_USERNAME and \
                 SFCRED_PRIVATE_KEY (see docs/ci.md)"
                    .into()
            }
            KeychainError::Unavailable { store: StoreKind::Environment, .. } => {
                "set SFCRED_CLIENT_ID, SFCRED_USERNAME and SFCRED_PRIVATE_KEY instead of storing secrets".into()
            }
            KeychainError::Unavailable { .. } => "choose another store with --store or SFCRED_STORE".into(),
            KeychainError::TimedOut { .. } => {
                "the keychain daemon may be waiting for an unlock prompt or be stuck; unlock or restart it \
                 (SFCRED_KEYCHAIN_TIMEOUT sets the wait)"
                    .into()
            }
            KeychainError::Missing { profile, .. } | KeychainError::Damaged { profile, .. } => {
                format!("log in again: sfcred login --profile {profile}")
            }
            KeychainError::Failed { store: StoreKind::Keyutils, .. } => {
                "keyutils needs a session keyring of your own (pam_keyinit gives one at login); in a container \
                 or CI job, run inside one: keyctl session - COMMAND"
                    .into()
            }
            KeychainError::Failed { .. } => "is the keychain locked? unlock it and try again".into(),
        })
    }

    /// Whether the profile was simply never stored (as opposed to a keychain fault).
    pub fn is_missing(&self) -> bool {
        matches!(self, KeychainError::Missing { .. })
    }
}

const KEY_ACCOUNT: &str = "private-key";
/// A rotation's next key, and the replaced key during its grace period.
const NEXT_KEY_ACCOUNT: &str = "next-private-key";
const PREVIOUS_KEY_ACCOUNT: &str = "previous-private-key";

fn key_account(slot: Slot) -> &'static str {
    match slot {
        Slot::Current => KEY_ACCOUNT,
        Slot::Next => NEXT_KEY_ACCOUNT,
        Slot::Previous => PREVIOUS_KEY_ACCOUNT,
    }
}
const CLIENT_ID_ACCOUNT: &str = "client-id";
/// The cached token, for profiles with `cache = "keychain"`.
const TOKEN_ACCOUNT: &str = "token";
/// The PIN of a profile's PKCS#11 token, when given at login.
const PIN_ACCOUNT: &str = "pkcs11-pin";
/// For `cache = "redis"`: the password of the fleet's Redis, and the fleet's secret.
const REDIS_PASSWORD_ACCOUNT: &str = "redis-password";
const FLEET_KEY_ACCOUNT: &str = "fleet-key";

/// A secret of the fleet's shared cache, kept per profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetSecret {
    /// The password of the Redis user, from the URL given at login.
    RedisPassword,
    /// The secret the tokens are sealed under.
    FleetKey,
}

impl FleetSecret {
    fn account(self) -> &'static str {
        match self {
            FleetSecret::RedisPassword => REDIS_PASSWORD_ACCOUNT,
            FleetSecret::FleetKey => FLEET_KEY_ACCOUNT,
        }
    }
}

/// Every entry a login writes, as [`Keychain::snapshot`] keeps them.
const LOGIN_ACCOUNTS: [&str; 5] =
    [KEY_ACCOUNT, CLIENT_ID_ACCOUNT, PIN_ACCOUNT, REDIS_PASSWORD_ACCOUNT, FLEET_KEY_ACCOUNT];

/// A profile's login entries as they were, raw (see [`Keychain::snapshot`]).
pub struct Snapshot {
    profile: String,
    entries: Vec<(&'static str, Option<secrecy::SecretSlice<u8>>)>,
}

/// An open keychain store.
pub struct Keychain {
    store: Arc<CredentialStore>,
    kind: StoreKind,
    timeout: Duration,
}

impl Keychain {
    /// Connects to the `kind` keychain; no call, this one included, waits over `timeout`.
    pub fn open(kind: StoreKind, timeout: Duration) -> Result<Keychain, KeychainError> {
        let store = bounded(kind, timeout, "connecting", move || open_store(kind))?
            .map_err(|reason| KeychainError::Unavailable { store: kind, reason })?;
        Ok(Keychain { store, kind, timeout })
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    pub fn read_client_id(&self, profile: &str) -> Result<SecretString, KeychainError> {
        let id = self.call(profile, CLIENT_ID_ACCOUNT, "reading the consumer key", |e| e.get_password())?;
        Ok(id.into())
    }

    pub fn read_private_key(&self, profile: &str) -> Result<RsaPrivateKey, KeychainError> {
        self.read_key_in(profile, Slot::Current)
    }

    /// The profile's key in `slot` (its current key, or a rotation's next or previous).
    pub fn read_key_in(&self, profile: &str, slot: Slot) -> Result<RsaPrivateKey, KeychainError> {
        let account = key_account(slot);
        // Wiped when dropped: the key lives on only in its SecretBox.
        let key_der =
            Zeroizing::new(self.call(profile, account, "reading the private key", |e| e.get_secret())?);
        RsaPrivateKey::from_der(&key_der).map_err(|reason| KeychainError::Damaged {
            store: self.kind,
            profile: profile.to_owned(),
            what: "private key",
            reason,
        })
    }

    pub fn write_key_in(&self, profile: &str, slot: Slot, key: &RsaPrivateKey) -> Result<(), KeychainError> {
        let der = secrecy::SecretSlice::from(key.expose_der().to_vec());
        self.call(profile, key_account(slot), "storing the private key", move |e| {
            e.set_secret(der.expose_secret())
        })
    }

    /// Removes the key in `slot`; none there is fine.
    pub fn delete_key_in(&self, profile: &str, slot: Slot) -> Result<(), KeychainError> {
        self.delete_account(profile, key_account(slot))
    }

    pub fn write_client_id(&self, profile: &str, client_id: &SecretString) -> Result<(), KeychainError> {
        let client_id = client_id.expose_secret().to_owned();
        self.call(profile, CLIENT_ID_ACCOUNT, "storing the consumer key", move |e| e.set_password(&client_id))
    }

    pub fn write_private_key(&self, profile: &str, key: &RsaPrivateKey) -> Result<(), KeychainError> {
        self.write_key_in(profile, Slot::Current, key)
    }

    /// Writes, reads back and deletes a probe entry: the keychain works end to end.
    pub fn round_trip(&self) -> Result<(), KeychainError> {
        let probe = "sfcred-doctor-probe";
        self.call("doctor", "probe", "writing a probe entry", move |e| e.set_password(probe))?;
        let read = self.call("doctor", "probe", "reading the probe entry", |e| e.get_password())?;
        self.delete_account("doctor", "probe")?;
        match read == probe {
            true => Ok(()),
            false => Err(KeychainError::Failed {
                store: self.kind,
                action: "reading the probe entry".into(),
                reason: "it read back something else".into(),
            }),
        }
    }

    /// Removes the profile's secrets and cached token; what is already gone is not an error.
    pub fn delete(&self, profile: &str) -> Result<(), KeychainError> {
        for account in [
            KEY_ACCOUNT,
            NEXT_KEY_ACCOUNT,
            PREVIOUS_KEY_ACCOUNT,
            CLIENT_ID_ACCOUNT,
            TOKEN_ACCOUNT,
            PIN_ACCOUNT,
            REDIS_PASSWORD_ACCOUNT,
            FLEET_KEY_ACCOUNT,
        ] {
            self.delete_account(profile, account)?;
        }
        Ok(())
    }

    /// What the profile's login entries (current key, consumer key, PIN, the shared cache's
    /// secrets) hold now, so that a change that fails part-way can put them back with
    /// [`Keychain::restore`].
    pub fn snapshot(&self, profile: &str) -> Result<Snapshot, KeychainError> {
        let mut entries = Vec::new();
        for account in LOGIN_ACCOUNTS {
            let value = match self.call(profile, account, "reading secrets", |e| e.get_secret()) {
                Ok(bytes) => Some(secrecy::SecretSlice::from(bytes)),
                Err(KeychainError::Missing { .. }) => None,
                Err(e) => return Err(e),
            };
            entries.push((account, value));
        }
        Ok(Snapshot { profile: profile.to_owned(), entries })
    }

    /// Puts back what `snapshot` saw: each entry rewritten as it was, or deleted if there was none.
    /// Every entry is tried, whatever the others do; the first failure is returned.
    pub fn restore(&self, snapshot: Snapshot) -> Result<(), KeychainError> {
        let mut first_failure = None;
        for (account, value) in snapshot.entries {
            let restored = match value {
                Some(bytes) => self.call(&snapshot.profile, account, "restoring secrets", move |e| {
                    e.set_secret(bytes.expose_secret())
                }),
                None => self.delete_account(&snapshot.profile, account),
            };
            if let Err(e) = restored {
                first_failure.get_or_insert(e);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    /// The cached token entry (see [`crate::stores::cache`]), if there is one.
    pub fn read_token(&self, profile: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeychainError> {
        match self.call(profile, TOKEN_ACCOUNT, "reading the cached token", |e| e.get_secret()) {
            Err(KeychainError::Missing { .. }) => Ok(None),
            other => other.map(|bytes| Some(Zeroizing::new(bytes))),
        }
    }

    pub fn write_token(&self, profile: &str, entry: Zeroizing<Vec<u8>>) -> Result<(), KeychainError> {
        self.call(profile, TOKEN_ACCOUNT, "storing the token", move |e| e.set_secret(&entry))
    }

    pub fn delete_token(&self, profile: &str) -> Result<(), KeychainError> {
        self.delete_account(profile, TOKEN_ACCOUNT)
    }

    /// The PIN of the profile's PKCS#11 token, if login stored one.
    pub fn read_pkcs11_pin(&self, profile: &str) -> Result<Option<SecretString>, KeychainError> {
        match self.call(profile, PIN_ACCOUNT, "reading the token's PIN", |e| e.get_password()) {
            Err(KeychainError::Missing { .. }) => Ok(None),
            other => other.map(|pin| Some(pin.into())),
        }
    }

    pub fn delete_pkcs11_pin(&self, profile: &str) -> Result<(), KeychainError> {
        self.delete_account(profile, PIN_ACCOUNT)
    }

    pub fn write_pkcs11_pin(&self, profile: &str, pin: &SecretString) -> Result<(), KeychainError> {
        let pin = pin.expose_secret().to_owned();
        self.call(profile, PIN_ACCOUNT, "storing the token's PIN", move |e| e.set_password(&pin))
    }

    /// One of the profile's shared cache secrets, if login stored it.
    pub fn read_fleet_secret(
        &self,
        profile: &str,
        secret: FleetSecret,
    ) -> Result<Option<SecretString>, KeychainError> {
        match self.call(profile, secret.account(), "reading the shared cache's secrets", |e| e.get_password())
        {
            Err(KeychainError::Missing { .. }) => Ok(None),
            other => other.map(|text| Some(text.into())),
        }
    }

    /// Stores one of the profile's shared cache secrets; `None` removes it.
    pub fn write_fleet_secret(
        &self,
        profile: &str,
        secret: FleetSecret,
        value: Option<&SecretString>,
    ) -> Result<(), KeychainError> {
        match value {
            Some(value) => {
                let value = Zeroizing::new(value.expose_secret().to_owned());
                self.call(profile, secret.account(), "storing the shared cache's secrets", move |e| {
                    e.set_password(&value)
                })
            }
            None => self.delete_account(profile, secret.account()),
        }
    }

    fn delete_account(&self, profile: &str, account: &'static str) -> Result<(), KeychainError> {
        match self.call(profile, account, "deleting secrets", |e| e.delete_credential()) {
            Err(KeychainError::Missing { .. }) => Ok(()),
            other => other,
        }
    }

    fn call<T: Send + 'static>(
        &self,
        profile: &str,
        account: &'static str,
        action: &str,
        op: impl FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let store = self.store.clone();
        let user = format!("{profile}/{account}");
        let result = bounded(self.kind, self.timeout, action, move || {
            Entry::new_in_store(&store, SERVICE, &user).and_then(|entry| op(&entry))
        })?;
        let what = match account {
            KEY_ACCOUNT => "private key",
            NEXT_KEY_ACCOUNT => "next private key",
            PREVIOUS_KEY_ACCOUNT => "previous private key",
            CLIENT_ID_ACCOUNT => "consumer key",
            TOKEN_ACCOUNT => "cached token",
            PIN_ACCOUNT => "PKCS#11 PIN",
            REDIS_PASSWORD_ACCOUNT => "shared cache's password",
            FLEET_KEY_ACCOUNT => "shared cache's fleet key",
            _ => "probe entry",
        };
        result.map_err(|e| match e {
            keyring_core::Error::NoEntry => {
                KeychainError::Missing { store: self.kind, profile: profile.to_owned(), what }
            }
            keyring_core::Error::BadEncoding(_) | keyring_core::Error::BadDataFormat(..) => {
                KeychainError::Damaged {
                    store: self.kind,
                    profile: profile.to_owned(),
                    what,
                    reason: "it is not in the form sfcred stores".into(),
                }
            }
            other => KeychainError::Failed {
                store: self.kind,
                action: action.to_owned(),
                reason: other.to_string(),
            },
        })
    }
}

/// Runs `op` within the keychain's `timeout`.
fn bounded<T: Send + 'static>(
    store: StoreKind,
    timeout: Duration,
    action: &str,
    op: impl FnOnce() -> T + Send + 'static,
) -> Result<T, KeychainError> {
    crate::base::bounded::within(timeout, op).ok_or_else(|| KeychainError::TimedOut {
        store,
        action: action.to_owned(),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hung_operation_times_out() {
        let (_keep, never) = std::sync::mpsc::channel::<()>();
        let err = bounded(StoreKind::Keyutils, Duration::from_millis(1), "testing", move || never.recv())
            .unwrap_err();
        assert!(matches!(err, KeychainError::TimedOut { .. }), "{err}");
    }
}

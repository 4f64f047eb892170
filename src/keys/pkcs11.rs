//! Keys that never leave hardware: a private key on a PKCS#11 token (a YubiKey through
//! ykcs11, a TPM through tpm2-pkcs11, an HSM, SoftHSM2), found by its RFC 7512 URI and
//! used through the module the URI names. The module is loaded at run time, only when a
//! PKCS#11 key signs; the cache-hit path never loads it.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;

use crate::keys::pkcs11_uri::Pkcs11Uri;
use crate::keys::signer::{SignError, Signer};

/// The least time a key generation is given, whatever the wait for other calls.
const KEY_GENERATION_WAIT: Duration = Duration::from_secs(120);

/// A PIN file is a line; more is not one.
const MAX_PIN_FILE_BYTES: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    #[error("cannot load the PKCS#11 module {path}: {reason}")]
    Module { path: String, reason: String },
    #[error("the PKCS#11 module {path} loaded, but could not start (C_Initialize: {reason})")]
    Initialize { path: String, reason: String },
    #[error("no PKCS#11 token matches {uri}{}", present_tokens(.present))]
    NoToken { uri: String, present: Vec<String> },
    #[error("no private key on the token matches {uri}")]
    NoKey { uri: String },
    #[error("{count} private keys on the token match {uri}")]
    SeveralKeys { uri: String, count: usize },
    #[error("the token's PIN was refused for {uri}")]
    PinIncorrect { uri: String },
    #[error("the token's PIN is locked for {uri}")]
    PinLocked { uri: String, tpm: bool },
    #[error("no PIN for the token of {uri}")]
    NoPin { uri: String },
    #[error("cannot read the PIN from {source_path}: {reason}")]
    PinSource { source_path: String, reason: String },
    #[error("the key {uri} cannot sign with RS256: {reason}")]
    Unusable { uri: String, reason: String },
    #[error("the PKCS#11 token of {uri} went away while {action}")]
    Removed { uri: String, action: &'static str },
    #[error("the PKCS#11 module failed while {action} for {uri}: {reason}")]
    Failed { uri: String, action: &'static str, reason: String },
    #[error("a key labelled {label:?} exists on the token already")]
    Exists { label: String },
    #[error("the PKCS#11 token of {uri} did not answer within {}s while {action}", timeout.as_secs())]
    TimedOut { uri: String, action: &'static str, timeout: Duration },
}

fn present_tokens(present: &[String]) -> String {
    match present.is_empty() {
        true => " (the module sees no token at all)".into(),
        false => format!(" (the module sees: {})", present.join(", ")),
    }
}

impl Pkcs11Error {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Pkcs11Error::Module { .. } => {
                "check module-path in the URI: the module's file must exist and be a PKCS#11 module for this \
                 machine (e.g. /usr/lib/softhsm/libsofthsm2.so, /usr/lib/x86_64-linux-gnu/libykcs11.so)"
                    .into()
            }
            Pkcs11Error::Initialize { path, .. } if is_tpm_module(path) => {
                "the module cannot reach the TPM: check that the TPM is there and that its resource manager \
                 (tpm2-abrmd) runs, and TPM2_PKCS11_TCTI if it is set; then try again"
                    .into()
            }
            Pkcs11Error::Initialize { .. } => {
                "the module cannot reach its device or service: check that the device is plugged in, or the \
                 network HSM's client configuration and connection; then try again"
                    .into()
            }
            Pkcs11Error::NoToken { .. } => {
                "plug the device in, or fix token= in the URI (pkcs11-tool --module MODULE --list-tokens lists them)"
                    .into()
            }
            Pkcs11Error::NoKey { .. } => {
                "fix object= or id= in the URI (pkcs11-tool --module MODULE --login --list-objects --type privkey), \
                 or make the key: sfcred keygen --pkcs11 URI"
                    .into()
            }
            Pkcs11Error::SeveralKeys { .. } => "add object= or id= to the URI to name one key".into(),
            Pkcs11Error::PinIncorrect { .. } => {
                "give the right PIN: SFCRED_PKCS11_PIN, pin-source= in the URI, or log in again to store it; \
                 a token locks itself after a few wrong PINs"
                    .into()
            }
            Pkcs11Error::PinLocked { tpm: true, .. } => {
                "the TPM locked itself after too many wrong PINs (dictionary-attack lockout): wait for its \
                 recovery time, or clear the lockout with tpm2_dictionarylockout --clear-lockout (it asks for the \
                 TPM's lockout password, if one is set); then give the right PIN"
                    .into()
            }
            Pkcs11Error::PinLocked { .. } => {
                "unlock the PIN with the device's own tool (its PUK or SO PIN), then log in again".into()
            }
            Pkcs11Error::NoPin { .. } => {
                "set SFCRED_PKCS11_PIN, add pin-source=FILE to the URI, or log in again on a terminal to store \
                 the PIN in the keychain"
                    .into()
            }
            Pkcs11Error::PinSource { .. } => "check pin-source= in the URI: a file holding the PIN".into(),
            Pkcs11Error::Unusable { .. } => {
                "Salesforce's JWT bearer flow signs with RS256: use an RSA key of at least 2048 bits whose CKA_SIGN \
                 is true"
                    .into()
            }
            Pkcs11Error::Removed { .. } => "plug the device back in and try again".into(),
            Pkcs11Error::Failed { .. } => "try again; if it persists, check the module's own logs".into(),
            Pkcs11Error::TimedOut { .. } => {
                "if the device waits for a touch (its light blinks), touch it and try again; a network HSM may be \
                 unreachable: check its client's connection. SFCRED_KEYCHAIN_TIMEOUT sets the wait"
                    .into()
            }
            Pkcs11Error::Exists { .. } => {
                "pass --force to replace it (its certificate stops working), or name another object= in the URI"
                    .into()
            }
        })
    }
}

/// Whether the key can be copied off the token, as its attributes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    pub extractable: bool,
    pub sensitive: bool,
}

/// An RSA private key on a token, logged in and ready to sign. Every call into the module
/// runs on a thread of its own and is given up after `timeout`, so a device waiting for a
/// touch, or a hung network HSM, never holds the profile's lock for ever.
pub struct Pkcs11Key {
    /// Taken by `drop`, which closes the session on a bounded thread too.
    held: Option<Arc<Mutex<Held>>>,
    /// The URI without its PIN, for messages.
    shown: String,
    timeout: Duration,
}

/// What an open key holds, lent to one call's thread at a time.
struct Held {
    // Dropped in this order: the session closes before the module is finalized.
    session: Session,
    key: ObjectHandle,
    _module: Arc<Module>,
}

/// A loaded and initialized module, shared by every key of this process that uses it:
/// `C_Finalize` ends every session of the module, so it runs when the last key is dropped,
/// and only if this process's `C_Initialize` was the one that started it.
struct Module {
    library: Pkcs11,
    /// Atomic because it moves to the registered module when two threads loaded one at once.
    initialized_here: std::sync::atomic::AtomicBool,
}

impl Drop for Module {
    fn drop(&mut self) {
        if *self.initialized_here.get_mut() {
            // Nothing is left to tell: a failure to finalize is the module's to log.
            let _ = self.library.clone().finalize();
        }
    }
}

/// The modules keys of this process hold, by canonical path (two spellings of one library
/// are one module).
static MODULES: Mutex<Vec<(std::path::PathBuf, std::sync::Weak<Module>)>> = Mutex::new(Vec::new());

impl Module {
    /// The module at `path`, initialized: the one a key holds already, else loaded now.
    fn load(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
        let module_error = |reason: String| Pkcs11Error::Module { path: path.display().to_string(), reason };
        check_module(path).map_err(module_error)?;
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let held = || {
            let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
            modules.retain(|(_, module)| module.strong_count() > 0);
            modules.iter().find(|(at, _)| *at == canonical).and_then(|(_, module)| module.upgrade())
        };
        if let Some(module) = held() {
            return Ok(module);
        }
        // Loaded and started outside the registry's lock, so that a module that hangs here
        // holds up no other.
        let library = Pkcs11::new(path).map_err(|e| module_error(e.to_string()))?;
        let initialized_here = match library.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        {
            Ok(()) => true,
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
            // The library is there and is a PKCS#11 module; what it drives is not answering.
            Err(e) => {
                return Err(Pkcs11Error::Initialize {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let mut module = Module { library, initialized_here: initialized_here.into() };
        let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded it meanwhile: theirs is kept, with the duty to
        // finalize if this load was the one that initialized it.
        let theirs = modules.iter().find(|(at, _)| *at == canonical).and_then(|(_, module)| module.upgrade());
        if let Some(theirs) = theirs {
            if std::mem::take(module.initialized_here.get_mut()) {
                theirs.initialized_here.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            return Ok(theirs);
        }
        let module = Arc::new(module);
        modules.push((canonical, Arc::downgrade(&module)));
        Ok(module)
    }
}

/// Runs `op` within `timeout`, or says which call on `uri` did not answer.
fn bounded<T: Send + 'static>(
    uri: &str,
    action: &'static str,
    timeout: Duration,
    op: impl FnOnce() -> Result<T, Pkcs11Error> + Send + 'static,
) -> Result<T, Pkcs11Error> {
    crate::base::bounded::within(timeout, op)
        .unwrap_or_else(|| Err(Pkcs11Error::TimedOut { uri: uri.to_owned(), action, timeout }))
}

impl Drop for Pkcs11Key {
    fn drop(&mut self) {
        // Closing the session (and finalizing the module, for the last key) calls into the
        // module as well: it is given up after the same wait as every other call.
        if let Some(held) = self.held.take() {
            let _ = crate::base::bounded::within(self.timeout, move || drop(held));
        }
    }
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pkcs11Key({})", self.shown)
    }
}

/// The PIN in the file the URI's `pin-source` names.
pub fn pin_from_uri(uri: &Pkcs11Uri) -> Result<Option<SecretString>, Pkcs11Error> {
    let Some(source) = &uri.pin_source else { return Ok(None) };
    let path = source.strip_prefix("file://").or_else(|| source.strip_prefix("file:")).unwrap_or(source);
    let unreadable = |reason: String| Pkcs11Error::PinSource { source_path: path.to_owned(), reason };
    let bytes = crate::stores::fs::read_regular(Path::new(path), MAX_PIN_FILE_BYTES)
        .map_err(|e| unreadable(e.to_string()))?
        .ok_or_else(|| unreadable("there is no such file".into()))?;
    let pin = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
    Ok(Some(SecretString::from(pin.trim_end_matches(['\r', '\n']).to_owned())))
}

/// An open token: the module, the slot the URI names, a logged-in session.
struct OpenToken {
    session: Session,
    module: Arc<Module>,
    shown: String,
}

impl OpenToken {
    fn open(uri: &Pkcs11Uri, pin: Option<&SecretString>, read_write: bool) -> Result<OpenToken, Pkcs11Error> {
        let shown = uri.to_string();
        let path = uri.module_path.as_deref().unwrap_or(Path::new(""));
        let module = Module::load(path)?;
        let failed = |action| {
            let shown = &shown;
            move |e: CkError| classify(e, shown, action)
        };
        let library = &module.library;
        let slot = find_slot(library, uri)?;
        let info = library.get_token_info(slot).map_err(failed("reading the token's information"))?;
        let session = match read_write {
            true => library.open_rw_session(slot),
            false => library.open_ro_session(slot),
        }
        .map_err(failed("opening a session"))?;
        if info.login_required() {
            let pin = pin.ok_or_else(|| Pkcs11Error::NoPin { uri: shown.clone() })?;
            match session.login(UserType::User, Some(pin)) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(e) => return Err(classify(e, &shown, "logging in")),
            }
        }
        Ok(OpenToken { session, module, shown })
    }

    /// The private keys the URI's object and id name.
    fn private_keys(&self, uri: &Pkcs11Uri) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        template.extend(uri.object.as_ref().map(|label| Attribute::Label(label.as_bytes().to_vec())));
        template.extend(uri.id.as_ref().map(|id| Attribute::Id(id.clone())));
        self.session.find_objects(&template).map_err(|e| classify(e, &self.shown, "looking for the key"))
    }
}

/// The slot whose token the URI names (every given attribute must match).
fn find_slot(module: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, Pkcs11Error> {
    let shown = uri.to_string();
    let slots = module.get_slots_with_token().map_err(|e| classify(e, &shown, "listing the tokens"))?;
    let mut present = Vec::new();
    for slot in slots {
        let Ok(info) = module.get_token_info(slot) else { continue };
        let fits =
            |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual.trim());
        let matches = fits(&uri.token, info.label())
            && fits(&uri.manufacturer, info.manufacturer_id())
            && fits(&uri.serial, info.serial_number())
            && fits(&uri.model, info.model())
            && uri.slot_id.is_none_or(|id| id == slot.id());
        if matches {
            return Ok(slot);
        }
        present.push(format!("token={}", info.label().trim()));
    }
    Err(Pkcs11Error::NoToken { uri: shown, present })
}

/// A module is code sfcred runs: it must be named by an absolute path (a relative one loads
/// what the current directory holds, a repository's when git runs the helper there), and on
/// Unix be a file that not everyone may write.
fn check_module(path: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err("module-path must be an absolute path, e.g. /usr/lib/softhsm/libsofthsm2.so".into());
    }
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        if meta.mode() & 0o002 != 0 {
            return Err(format!(
                "anyone may write it (mode {:o}), so sfcred does not load it",
                meta.mode() & 0o777
            ));
        }
    }
    Ok(())
}

/// Whether a module path (or a URI naming one) is tpm2-pkcs11's, whose PIN lockout and
/// start-up failures are the TPM's and are mended with tpm2-tools.
fn is_tpm_module(path_or_uri: &str) -> bool {
    path_or_uri.contains("libtpm2_pkcs11")
}

/// PKCS#11's return values, as what they mean to a user.
fn classify(error: CkError, uri: &str, action: &'static str) -> Pkcs11Error {
    let uri = uri.to_owned();
    match error {
        CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _) => {
            Pkcs11Error::PinIncorrect { uri }
        }
        CkError::Pkcs11(RvError::PinLocked | RvError::PinExpired, _) => {
            let tpm = is_tpm_module(&uri);
            Pkcs11Error::PinLocked { uri, tpm }
        }
        CkError::Pkcs11(
            RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::DeviceError,
            _,
        ) => Pkcs11Error::Removed { uri, action },
        CkError::Pkcs11(
            RvError::KeyTypeInconsistent
            | RvError::KeyFunctionNotPermitted
            | RvError::MechanismInvalid
            | RvError::KeyHandleInvalid,
            _,
        ) => Pkcs11Error::Unusable { uri, reason: error.to_string() },
        other => Pkcs11Error::Failed { uri, action, reason: other.to_string() },
    }
}

impl Pkcs11Key {
    /// Opens the module, finds the token and the one RSA private key the URI names,
    /// and logs in with `pin` when the token wants one; no call waits over `timeout`.
    pub fn open(
        uri: &Pkcs11Uri,
        pin: Option<&SecretString>,
        timeout: Duration,
    ) -> Result<Pkcs11Key, Pkcs11Error> {
        let (uri, pin) = (uri.clone(), pin.cloned());
        bounded(&uri.to_string(), "opening the key", timeout, move || {
            let token = OpenToken::open(&uri, pin.as_ref(), false)?;
            let key = match token.private_keys(&uri)?.as_slice() {
                [] => return Err(Pkcs11Error::NoKey { uri: token.shown }),
                [key] => *key,
                several => return Err(Pkcs11Error::SeveralKeys { uri: token.shown, count: several.len() }),
            };
            check_usable(&token.session, key, &token.shown)?;
            let shown = own_uri(&token.session, key, &uri, &token.shown)?.to_string();
            let held = Held { session: token.session, key, _module: token.module };
            Ok(Pkcs11Key { held: Some(Arc::new(Mutex::new(held))), shown, timeout })
        })
    }

    /// Runs `op` on the key's session, on a thread of its own, within the key's timeout.
    fn call<T: Send + 'static>(
        &self,
        action: &'static str,
        op: impl FnOnce(&Session, ObjectHandle) -> Result<T, CkError> + Send + 'static,
    ) -> Result<T, Pkcs11Error> {
        let held = Arc::clone(self.held.as_ref().expect("held until dropped"));
        let shown = self.shown.clone();
        bounded(&self.shown, action, self.timeout, move || {
            let held = held.lock().unwrap_or_else(PoisonError::into_inner);
            op(&held.session, held.key).map_err(|e| classify(e, &shown, action))
        })
    }

    /// Generates an RSA key pair on the token that the URI names: the private half
    /// sensitive and not extractable, labelled and identified by the URI (or `label`).
    pub fn generate(
        uri: &Pkcs11Uri,
        pin: Option<&SecretString>,
        label: &str,
        bits: u32,
        replace: bool,
        timeout: Duration,
    ) -> Result<Pkcs11Key, Pkcs11Error> {
        let (uri, pin, label) = (uri.clone(), pin.cloned(), label.to_owned());
        // Making an RSA key in hardware can take a minute (a 4096-bit one on a smart card).
        let wait = timeout.max(KEY_GENERATION_WAIT);
        bounded(&uri.to_string(), "generating a key pair", wait, move || {
            let (uri, pin, label) = (&uri, pin.as_ref(), label.as_str());
            let token = OpenToken::open(uri, pin, true)?;
            let label = uri.object.clone().unwrap_or_else(|| label.to_owned());
            let named = Pkcs11Uri { object: Some(label.clone()), pin_value: None, ..uri.clone() }.to_string();
            let fail = |action| {
                let named = &named;
                move |e: CkError| classify(e, named, action)
            };
            let existing = [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY]
                .into_iter()
                .map(|class| {
                    token
                        .session
                        .find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())])
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail("looking for an existing key"))?
                .concat();
            if !existing.is_empty() && !replace {
                return Err(Pkcs11Error::Exists { label });
            }
            let id = match &uri.id {
                Some(id) => id.clone(),
                None => token.session.generate_random_vec(16).map_err(fail("making a key id"))?,
            };
            let common = [
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ];
            let public = [
                &common[..],
                &[
                    Attribute::Private(false),
                    Attribute::Verify(true),
                    Attribute::ModulusBits(std::ffi::c_ulong::from(bits).into()),
                    Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                ],
            ]
            .concat();
            let private = [
                &common[..],
                &[
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                    Attribute::KeyType(KeyType::RSA),
                ],
            ]
            .concat();
            let (_, key) = token
                .session
                .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
                .map_err(fail("generating the key pair"))?;
            // The old objects go only once the new pair exists.
            for object in existing {
                token.session.destroy_object(object).map_err(fail("removing the replaced key"))?;
            }
            let shown =
                Pkcs11Uri { object: Some(label), id: Some(id), pin_value: None, ..uri.clone() }.to_string();
            let held = Held { session: token.session, key, _module: token.module };
            Ok(Pkcs11Key { held: Some(Arc::new(Mutex::new(held))), shown, timeout })
        })
    }

    /// Removes the key pair the URI names from its token (a rotation's replaced key).
    pub fn destroy(
        uri: &Pkcs11Uri,
        pin: Option<&SecretString>,
        timeout: Duration,
    ) -> Result<(), Pkcs11Error> {
        let (uri, pin) = (uri.clone(), pin.cloned());
        bounded(&uri.to_string(), "removing the key", timeout, move || Self::destroy_now(&uri, pin.as_ref()))
    }

    fn destroy_now(uri: &Pkcs11Uri, pin: Option<&SecretString>) -> Result<(), Pkcs11Error> {
        let token = OpenToken::open(uri, pin, true)?;
        let mut template = Vec::new();
        template.extend(uri.object.as_ref().map(|label| Attribute::Label(label.as_bytes().to_vec())));
        template.extend(uri.id.as_ref().map(|id| Attribute::Id(id.clone())));
        if template.is_empty() {
            return Err(Pkcs11Error::Unusable {
                uri: token.shown,
                reason: "it names no one key to remove".into(),
            });
        }
        let fail = |e| classify(e, &token.shown, "removing the key");
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let objects = token
                .session
                .find_objects(&[&[Attribute::Class(class)], &template[..]].concat())
                .map_err(fail)?;
            for object in objects {
                token.session.destroy_object(object).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// Whether the key could be copied off the token.
    pub fn protection(&self) -> Result<Protection, Pkcs11Error> {
        let attributes = self.call("reading the key's attributes", |session, key| {
            session.get_attributes(key, &[AttributeType::Extractable, AttributeType::Sensitive])
        })?;
        let mut protection = Protection { extractable: true, sensitive: false };
        for attribute in attributes {
            match attribute {
                Attribute::Extractable(value) => protection.extractable = value,
                Attribute::Sensitive(value) => protection.sensitive = value,
                _ => {}
            }
        }
        Ok(protection)
    }

    /// The URI of the key, without its PIN.
    pub fn uri(&self) -> &str {
        &self.shown
    }

    fn sign_error(&self, error: Pkcs11Error) -> SignError {
        SignError {
            location: self.shown.clone(),
            reason: error.to_string(),
            hint: error.hint().unwrap_or_default(),
            device_failed: matches!(
                error,
                Pkcs11Error::Removed { .. } | Pkcs11Error::Failed { .. } | Pkcs11Error::TimedOut { .. }
            ),
        }
    }

    /// PKCS#1 RSAPublicKey DER, from the private key object's modulus and exponent.
    fn rsa_public_key(&self) -> Result<Vec<u8>, Pkcs11Error> {
        let attributes = self.call("reading the public key", |session, key| {
            session.get_attributes(key, &[AttributeType::Modulus, AttributeType::PublicExponent])
        })?;
        let (mut modulus, mut exponent) = (None, None);
        for attribute in attributes {
            match attribute {
                Attribute::Modulus(value) => modulus = Some(value),
                Attribute::PublicExponent(value) => exponent = Some(value),
                _ => {}
            }
        }
        match (modulus, exponent) {
            (Some(n), Some(e)) => Ok(rsa_public_key_der(&n, &e)),
            _ => Err(Pkcs11Error::Unusable {
                uri: self.shown.clone(),
                reason: "the token does not show the key's modulus and exponent".into(),
            }),
        }
    }
}

impl Signer for Pkcs11Key {
    fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let message = message.to_vec();
        self.call("signing", move |session, key| session.sign(&Mechanism::Sha256RsaPkcs, key, &message))
            .map_err(|e| self.sign_error(e))
    }

    fn public_key(&self) -> Result<Vec<u8>, SignError> {
        self.rsa_public_key().map_err(|e| self.sign_error(e))
    }

    fn location(&self) -> String {
        self.shown.clone()
    }
}

/// An RSA key that may sign, or the reason it cannot.
fn check_usable(session: &Session, key: ObjectHandle, shown: &str) -> Result<(), Pkcs11Error> {
    let attributes = session
        .get_attributes(key, &[AttributeType::KeyType, AttributeType::Sign, AttributeType::Modulus])
        .map_err(|e| classify(e, shown, "reading the key's attributes"))?;
    let unusable = |reason: &str| Pkcs11Error::Unusable { uri: shown.to_owned(), reason: reason.into() };
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(kind) if kind != KeyType::RSA => {
                return Err(unusable(&format!("it is a {kind} key, not RSA")));
            }
            Attribute::Sign(false) => return Err(unusable("its CKA_SIGN is false")),
            // The same bounds as a key in the keychain.
            Attribute::Modulus(modulus) => {
                let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
                let bits = significant * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(unusable(&format!("it is an RSA key of {bits} bits; use 2048 to 8192")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `uri` narrowed to this key alone, by its label and id: the URI stays true when a
/// second key (a rotation's next one) joins it on the token.
fn own_uri(
    session: &Session,
    key: ObjectHandle,
    uri: &Pkcs11Uri,
    shown: &str,
) -> Result<Pkcs11Uri, Pkcs11Error> {
    let attributes = session
        .get_attributes(key, &[AttributeType::Label, AttributeType::Id])
        .map_err(|e| classify(e, shown, "reading the key's label and id"))?;
    let mut own = Pkcs11Uri { pin_value: None, ..uri.clone() };
    for attribute in attributes {
        match attribute {
            Attribute::Label(label) if !label.is_empty() => {
                own.object = String::from_utf8(label).ok().or(own.object);
            }
            Attribute::Id(id) if !id.is_empty() => own.id = Some(id),
            _ => {}
        }
    }
    Ok(own)
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017).
pub fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let body = [der_integer(modulus), der_integer(exponent)].concat();
    der_tlv(0x30, &body)
}

fn der_integer(unsigned: &[u8]) -> Vec<u8> {
    let start = unsigned.iter().position(|&b| b != 0).unwrap_or(unsigned.len().saturating_sub(1));
    let digits = &unsigned[start..];
    let mut value = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(digits);
    der_tlv(0x02, &value)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        len @ 0..0x80 => out.push(len as u8),
        len => {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_encode_as_pkcs1_der() {
        assert_eq!(
            rsa_public_key_der(&[0x00, 0x81], &[0x01, 0x00, 0x01]),
            [0x30, 0x09, 0x02, 0x02, 0x00, 0x81, 0x02, 0x03, 0x01, 0x00, 0x01]
        );
        let long = rsa_public_key_der(&[0x7f; 256], &[3]);
        assert_eq!(&long[..4], &[0x30, 0x82, 0x01, 0x07]);
        assert_eq!(&long[4..8], &[0x02, 0x82, 0x01, 0x00]);
    }

    #[test]
    fn the_public_key_of_a_software_key_encodes_alike() {
        use aws_lc_rs::signature::KeyPair;
        let pair = crate::keys::keygen::generate(
            crate::keys::keygen::KeyBits::Rsa2048,
            "t",
            1,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let rsa = aws_lc_rs::signature::RsaKeyPair::from_der(pair.key.expose_der()).unwrap();
        let components = rsa.public_key();
        let parsed = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(components);
        assert_eq!(rsa_public_key_der(&parsed.n, &parsed.e), components.as_ref());
    }
}

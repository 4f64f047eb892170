//! The seam between an assertion and the key that signs it: an assertion hands its
//! signing input to a [`Signer`] and never sees key bytes. Where the key lives (the
//! keychain, the environment, and later hardware) is the signer's business alone.

use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

use crate::config::profile::StoreKind;
use crate::keys::private_key::RsaPrivateKey;

/// Signs JWT signing inputs with RS256, the one algorithm Salesforce's JWT bearer flow takes.
pub trait Signer {
    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The public half, PKCS#1 RSAPublicKey DER: to match a certificate, or make one.
    fn public_key(&self) -> Result<Vec<u8>, SignError>;
    /// Where the key lives, for messages; never a secret.
    fn location(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign the assertion with the key in {location}: {reason}")]
pub struct SignError {
    pub location: String,
    pub reason: String,
    /// What to do about it.
    pub hint: String,
    /// The device holding the key failed or went away (rather than the key itself).
    pub device_failed: bool,
}

impl SignError {
    /// A key in memory that will not sign: it was stored damaged.
    fn of_software_key(location: String, reason: String) -> SignError {
        SignError {
            location,
            reason,
            hint: "log in again to store the key afresh".into(),
            device_failed: false,
        }
    }
}

/// Where a key held in memory came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    Keychain(StoreKind),
    /// The variable that held the key (or named its file).
    Environment(&'static str),
}

/// An RSA key read into this process: the keychain's, or the environment's.
#[derive(Debug)]
pub struct SoftwareKey {
    key: RsaPrivateKey,
    origin: KeyOrigin,
}

impl SoftwareKey {
    pub fn new(key: RsaPrivateKey, origin: KeyOrigin) -> SoftwareKey {
        SoftwareKey { key, origin }
    }

    /// The key itself: for storing it, and for matching it with a certificate.
    pub fn key(&self) -> &RsaPrivateKey {
        &self.key
    }

    pub fn into_key(self) -> RsaPrivateKey {
        self.key
    }
}

impl Signer for SoftwareKey {
    fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let failed = |reason: String| SignError::of_software_key(self.location(), reason);
        let pair = RsaKeyPair::from_der(self.key.expose_der()).map_err(|e| failed(e.to_string()))?;
        let mut signature = vec![0; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature).map_err(|e| failed(e.to_string()))?;
        Ok(signature)
    }

    fn public_key(&self) -> Result<Vec<u8>, SignError> {
        let pair = RsaKeyPair::from_der(self.key.expose_der())
            .map_err(|e| SignError::of_software_key(self.location(), e.to_string()))?;
        Ok(pair.public_key().as_ref().to_vec())
    }

    fn location(&self) -> String {
        match &self.origin {
            KeyOrigin::Keychain(store) => format!("the {store} keychain"),
            KeyOrigin::Environment(variable) => variable.to_string(),
        }
    }
}

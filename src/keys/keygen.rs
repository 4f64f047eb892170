//! A new RSA key and its self-signed certificate, made in-process (rcgen on aws-lc).

use std::time::{Duration, SystemTime};

use crate::keys::certificate::Certificate;
use crate::keys::private_key::RsaPrivateKey;
use crate::keys::signer::{KeyOrigin, Signer, SoftwareKey};

crate::base::choice::choice_enum! {
    /// The size of a new RSA key.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyBits {
        Rsa2048 => "2048", "the default";
        Rsa3072 => "3072", "slower to make and to sign with";
        Rsa4096 => "4096", "slowest to make and to sign with";
    }
}

impl KeyBits {
    pub fn bits(self) -> u32 {
        self.name().parse().expect("a size is a number")
    }

    fn rcgen(self) -> rcgen::RsaKeySize {
        match self {
            KeyBits::Rsa2048 => rcgen::RsaKeySize::_2048,
            KeyBits::Rsa3072 => rcgen::RsaKeySize::_3072,
            KeyBits::Rsa4096 => rcgen::RsaKeySize::_4096,
        }
    }
}

/// A new key pair: the key for the keychain, and its certificate.
#[derive(Debug)]
pub struct KeyPair {
    pub key: RsaPrivateKey,
    /// PKCS#8 PEM, only for `--key-out`.
    pub key_pem: secrecy::SecretString,
    pub certificate: Certificate,
}

/// Makes a key of `bits` and a certificate for `common_name`, valid from `now` for `days`.
pub fn generate(bits: KeyBits, common_name: &str, days: u32, now: SystemTime) -> Result<KeyPair, String> {
    let pair =
        rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, bits.rcgen()).map_err(|e| e.to_string())?;
    let pkcs8 = secrecy::SecretSlice::from(pair.serialize_der());
    let key = RsaPrivateKey::from_pkcs8_der(secrecy::ExposeSecret::expose_secret(&pkcs8))?;
    let signer =
        SoftwareKey::new(key, KeyOrigin::Keychain(crate::config::profile::StoreKind::platform_default()));
    let certificate = certificate_for(&signer, common_name, days, now)?;
    Ok(KeyPair { key: signer.into_key(), key_pem: pair.serialize_pem().into(), certificate })
}

/// A self-signed certificate for the key behind `signer`, which signs it: the key never
/// has to leave where it lives (a PKCS#11 token signs its own certificate).
pub fn certificate_for(
    signer: &dyn Signer,
    common_name: &str,
    days: u32,
    now: SystemTime,
) -> Result<Certificate, String> {
    let key = RcgenKey { public_key: signer.public_key().map_err(|e| e.to_string())?, signer };
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.not_before = time::OffsetDateTime::from(now);
    params.not_after = time::OffsetDateTime::from(now + Duration::from_secs(u64::from(days) * 86_400));
    let certificate = params.self_signed(&key).map_err(|e| e.to_string())?;
    Certificate::parse(&certificate.pem())
}

/// rcgen's view of a [`Signer`]: RS256 over its public key.
struct RcgenKey<'a> {
    public_key: Vec<u8>,
    signer: &'a dyn Signer,
}

impl rcgen::PublicKeyData for RcgenKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RcgenKey<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signer.sign_rs256(message).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_holds_the_keys_public_half_and_the_asked_validity() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let pair = generate(KeyBits::Rsa2048, "sfcred test", 10, now).unwrap();
        assert!(pair.certificate.matches(&pair.key));
        assert_eq!(pair.key.bits(), 2048);
        assert_eq!(pair.certificate.not_after, now + Duration::from_secs(10 * 86_400));
        let other = generate(KeyBits::Rsa2048, "other", 10, now).unwrap();
        assert!(!pair.certificate.matches(&other.key));
    }
}

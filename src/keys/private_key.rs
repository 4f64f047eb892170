//! The RSA private key that signs assertions, read from PEM once at login and kept as
//! PKCS#1 DER: compact enough for every keychain (Windows caps a secret at 2560 bytes).

use std::io::Read;
use std::path::Path;

use aws_lc_rs::signature::RsaKeyPair;
use secrecy::{ExposeSecret, SecretBox, SecretSlice};

/// What [`RsaPrivateKey::from_der`] says of a key under aws-lc's 2048-bit minimum.
const TOO_SMALL: &str = "an RSA key of under 2048 bits";

/// A key file is a few KiB; anything much larger is not one.
const MAX_KEY_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{source_name} is not a PEM file (no -----BEGIN ...----- block)")]
    NotPem { source_name: String },
    #[error("{source_name} holds an encrypted private key")]
    Encrypted { source_name: String },
    #[error("{source_name} holds {found}, not an RSA private key")]
    NotRsa { source_name: String, found: String },
    #[error("{source_name} holds an RSA key that cannot sign: {reason}")]
    Unusable { source_name: String, reason: String },
    #[error("{source_name} holds an RSA key of under 2048 bits, too small to sign with")]
    TooSmall { source_name: String },
    #[error("cannot read the key file {path}: {reason}")]
    Unreadable { path: String, reason: String },
}

impl KeyError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            KeyError::NotPem { .. } => {
                "give the private key PEM file (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into()
            }
            KeyError::Encrypted { .. } => {
                "decrypt it first: openssl pkey -in KEY -out KEY.plain (then log in and delete KEY.plain)"
                    .into()
            }
            KeyError::NotRsa { .. } => {
                "Salesforce's JWT bearer flow signs with RS256: use an RSA key of at least 2048 bits".into()
            }
            KeyError::Unusable { .. } => "use an RSA key of 2048 to 8192 bits".into(),
            KeyError::TooSmall { .. } => {
                "Salesforce and sfcred need an RSA key of at least 2048 bits: make one with sfcred keygen (or \
                 openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) and upload its certificate"
                    .into()
            }
            KeyError::Unreadable { .. } => "check the path, or pipe the key in with --key-stdin".into(),
        })
    }
}

/// An RSA private key, PKCS#1 DER, checked to be usable for RS256.
pub struct RsaPrivateKey {
    der: SecretSlice<u8>,
    bits: usize,
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPrivateKey({} bits, REDACTED)", self.bits)
    }
}

impl RsaPrivateKey {
    /// Reads a PEM private key (PKCS#1 or PKCS#8). `source_name` names it in errors.
    pub fn from_pem(pem_bytes: &[u8], source_name: &str) -> Result<Self, KeyError> {
        let source_name = source_name.to_owned();
        let blocks = pem::parse_many(pem_bytes).unwrap_or_default();
        let Some(block) = blocks.iter().find(|b| b.tag().contains("PRIVATE KEY")) else {
            return Err(match blocks.first() {
                Some(other) => KeyError::NotRsa { source_name, found: format!("a {:?} block", other.tag()) },
                None => KeyError::NotPem { source_name },
            });
        };
        let encrypted_pkcs1 = block.headers().get("Proc-Type").is_some_and(|v| v.contains("ENCRYPTED"));
        match block.tag() {
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted { source_name }),
            "RSA PRIVATE KEY" if encrypted_pkcs1 => return Err(KeyError::Encrypted { source_name }),
            "RSA PRIVATE KEY" | "PRIVATE KEY" => {}
            other => return Err(KeyError::NotRsa { source_name, found: format!("a {other:?} key") }),
        }
        let too_small = |reason: &str| reason == TOO_SMALL;
        if block.tag() == "PRIVATE KEY" {
            return Self::from_pkcs8_der(block.contents()).map_err(|found| match too_small(&found) {
                true => KeyError::TooSmall { source_name },
                false => KeyError::NotRsa { source_name, found },
            });
        }
        Self::from_der(block.contents()).map_err(|reason| match too_small(&reason) {
            true => KeyError::TooSmall { source_name },
            false => KeyError::Unusable { source_name, reason },
        })
    }

    /// Reads a PKCS#8 PrivateKeyInfo holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        let pkcs1 = pkcs8_rsa_inner(der).ok_or("a PKCS#8 key of another algorithm")?;
        Self::from_der(pkcs1)
    }

    /// Checks PKCS#1 DER bytes, as kept in the keychain.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let pair = RsaKeyPair::from_der(der).map_err(|e| match e.description_() {
            "TooSmall" => TOO_SMALL.to_owned(),
            other => other.to_owned(),
        })?;
        let bits = pair.public_modulus_len() * 8;
        Ok(RsaPrivateKey { der: SecretBox::from(der.to_vec()), bits })
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The PKCS#1 DER bytes: for signing and for the keychain only.
    pub fn expose_der(&self) -> &[u8] {
        self.der.expose_secret()
    }
}

/// Reads a PEM key file. A pipe is fine (`--key-file <(vault read ...)`).
pub fn read_key_file(path: &Path) -> Result<RsaPrivateKey, KeyError> {
    let unreadable = |reason: String| KeyError::Unreadable { path: path.display().to_string(), reason };
    let mut bytes =
        crate::stores::fs::read_file_or_pipe(path, MAX_KEY_BYTES).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => unreadable(format!("{e}, too large for a key")),
            _ => unreadable(e.to_string()),
        })?;
    let key = RsaPrivateKey::from_pem(&bytes, &path.display().to_string());
    secrecy::zeroize::Zeroize::zeroize(&mut bytes);
    key
}

/// Reads a PEM key from `source` (`name` names it in errors); the bytes read are zeroized.
pub fn read_key(source: impl Read, name: &str) -> Result<RsaPrivateKey, KeyError> {
    let mut bytes = Vec::new();
    source
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| KeyError::Unreadable { path: name.to_owned(), reason: e.to_string() })?;
    if bytes.len() as u64 > MAX_KEY_BYTES {
        let reason = format!("it is over {} KiB, too large for a key", MAX_KEY_BYTES / 1024);
        return Err(KeyError::Unreadable { path: name.to_owned(), reason });
    }
    let key = RsaPrivateKey::from_pem(&bytes, name);
    secrecy::zeroize::Zeroize::zeroize(&mut bytes);
    key
}

/// The PKCS#1 key inside a PKCS#8 PrivateKeyInfo whose algorithm is rsaEncryption.
fn pkcs8_rsa_inner(der: &[u8]) -> Option<&[u8]> {
    const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (tag, info, _) = der_element(der)?;
    (tag == 0x30).then_some(())?;
    let (tag, _version, rest) = der_element(info)?;
    (tag == 0x02).then_some(())?;
    let (tag, algorithm, rest) = der_element(rest)?;
    (tag == 0x30).then_some(())?;
    let (tag, oid, _) = der_element(algorithm)?;
    (tag == 0x06 && oid == RSA_ENCRYPTION_OID).then_some(())?;
    let (tag, key, _) = der_element(rest)?;
    (tag == 0x04).then_some(key)
}

/// Splits one DER element off `input`: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (len_bytes, rest) = input.split_at(count);
        input = rest;
        len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    (input.len() >= len).then(|| (tag, &input[..len], &input[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_under_2048_bits_is_called_too_small() {
        // Throwaway 1024-bit keys, made with openssl genpkey for this test alone.
        for file in ["rsa-1024-pkcs8.pem", "rsa-1024-pkcs1.pem"] {
            let pem = std::fs::read(format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let error = RsaPrivateKey::from_pem(&pem, "small.key").unwrap_err();
            assert_eq!(
                error.to_string(),
                "small.key holds an RSA key of under 2048 bits, too small to sign with"
            );
            assert!(error.hint().unwrap().contains("at least 2048 bits"), "{file}");
        }
    }

    #[test]
    fn der_elements_split_short_and_long_lengths() {
        assert_eq!(der_element(&[0x04, 0x02, 1, 2, 9]), Some((0x04, &[1u8, 2][..], &[9u8][..])));
        let long: Vec<u8> = [0x04, 0x81, 0x80].into_iter().chain([7u8; 0x80]).collect();
        assert_eq!(der_element(&long).map(|(t, c, r)| (t, c.len(), r.len())), Some((0x04, 0x80, 0)));
        assert_eq!(der_element(&[0x04, 0x05, 1]), None);
        assert_eq!(der_element(&[0x04, 0x80]), None);
    }

    #[test]
    fn non_pem_and_foreign_blocks_are_named() {
        assert!(matches!(RsaPrivateKey::from_pem(b"hello", "k"), Err(KeyError::NotPem { .. })));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(RsaPrivateKey::from_pem(cert.as_bytes(), "k"), Err(KeyError::NotRsa { .. })));
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert!(matches!(RsaPrivateKey::from_pem(ec.as_bytes(), "k"), Err(KeyError::NotRsa { .. })));
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(RsaPrivateKey::from_pem(enc.as_bytes(), "k"), Err(KeyError::Encrypted { .. })));
    }

    #[test]
    fn oversized_key_input_is_refused_without_parsing() {
        let huge = vec![b'A'; (MAX_KEY_BYTES + 10) as usize];
        let err = read_key(&huge[..], "stdin").unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = RsaPrivateKey { der: SecretBox::from(vec![0x42; 4]), bits: 2048 };
        assert_eq!(format!("{key:?}"), "RsaPrivateKey(2048 bits, REDACTED)");
    }
}

//! The connected app's certificate: the public half of a profile's key. sfcred keeps a
//! copy per profile (from `keygen` or `login --cert`) to check expiry and key match.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{KeyPair, RsaKeyPair};

use crate::keys::private_key::RsaPrivateKey;
use crate::rotation::state::Slot;

/// A certificate is a few KiB.
const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Warn this long before a certificate expires.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read the certificate {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path} is not a PEM X.509 certificate: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot save the certificate to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl CertificateError {
    pub fn hint(&self) -> Option<String> {
        Some("give the certificate uploaded to the connected app or External Client App (PEM, BEGIN CERTIFICATE)".into())
    }
}

/// What sfcred needs to know of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub pem: String,
    pub not_after: SystemTime,
    /// The subject public key, PKCS#1 RSAPublicKey DER.
    pub public_key: Vec<u8>,
}

impl Certificate {
    pub fn parse(pem: &str) -> Result<Certificate, String> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let cert = block.parse_x509().map_err(|e| e.to_string())?;
        let not_after = cert.validity().not_after.timestamp();
        let not_after = UNIX_EPOCH + Duration::from_secs(u64::try_from(not_after).unwrap_or(0));
        let public_key = cert.public_key().subject_public_key.data.to_vec();
        Ok(Certificate { pem: pem.to_owned(), not_after, public_key })
    }

    pub fn read(path: &Path) -> Result<Certificate, CertificateError> {
        let unreadable = |reason: String| CertificateError::Unreadable { path: path.to_owned(), reason };
        let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(unreadable("it is too large to be a certificate".into()));
        }
        let pem = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        Certificate::parse(&pem).map_err(|reason| CertificateError::Invalid { path: path.to_owned(), reason })
    }

    /// Whether `key` is the private half of this certificate.
    pub fn matches(&self, key: &RsaPrivateKey) -> bool {
        RsaKeyPair::from_der(key.expose_der())
            .is_ok_and(|pair| self.matches_public_key(pair.public_key().as_ref()))
    }

    /// Whether `public_key` (PKCS#1 RSAPublicKey DER) is this certificate's.
    pub fn matches_public_key(&self, public_key: &[u8]) -> bool {
        self.public_key == public_key
    }

    /// SHA-256 of the certificate's DER, as Salesforce's Setup and openssl show it.
    pub fn fingerprint(&self) -> String {
        let der = pem::parse(&self.pem).map(pem::Pem::into_contents).unwrap_or_default();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
    }

    pub fn expires_within(&self, now: SystemTime, window: Duration) -> bool {
        self.not_after <= now + window
    }
}

/// Where a profile's certificate copy lives: beside the settings, public.
pub fn path_for(settings_dir: &Path, profile: &str) -> PathBuf {
    path_in(settings_dir, profile, Slot::Current)
}

/// The certificate of the profile's key in `slot`.
pub fn path_in(settings_dir: &Path, profile: &str, slot: Slot) -> PathBuf {
    let name = match slot {
        Slot::Current => format!("{profile}.pem"),
        Slot::Next => format!("{profile}.next.pem"),
        Slot::Previous => format!("{profile}.previous.pem"),
    };
    settings_dir.join("certificates").join(name)
}

/// The profile's certificate, if sfcred knows it.
pub fn load(settings_dir: &Path, profile: &str) -> Result<Option<Certificate>, CertificateError> {
    load_in(settings_dir, profile, Slot::Current)
}

pub fn load_in(
    settings_dir: &Path,
    profile: &str,
    slot: Slot,
) -> Result<Option<Certificate>, CertificateError> {
    let path = path_in(settings_dir, profile, slot);
    let unreadable = |reason: String| CertificateError::Unreadable { path: path.clone(), reason };
    let Some(bytes) =
        crate::stores::fs::read_regular(&path, MAX_FILE_BYTES).map_err(|e| unreadable(e.to_string()))?
    else {
        return Ok(None);
    };
    let pem = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
    Certificate::parse(&pem)
        .map(Some)
        .map_err(|reason| CertificateError::Invalid { path: path.clone(), reason })
}

pub fn save(settings_dir: &Path, profile: &str, certificate: &Certificate) -> Result<(), CertificateError> {
    save_in(settings_dir, profile, Slot::Current, certificate)
}

pub fn save_in(
    settings_dir: &Path,
    profile: &str,
    slot: Slot,
    certificate: &Certificate,
) -> Result<(), CertificateError> {
    let path = path_in(settings_dir, profile, slot);
    crate::stores::fs::write_atomically(&path, certificate.pem.as_bytes())
        .map_err(|source| CertificateError::Write { path, source })
}

/// The file that says on which day the expiry warning was last given.
fn warning_marker(cache_dir: &Path, profile: &str) -> PathBuf {
    cache_dir.join(format!("{profile}.certificate-warned"))
}

/// Removes every certificate copy of the profile and its warning's marker, for a logout.
pub fn forget(settings_dir: &Path, cache_dir: &Path, profile: &str) -> Result<(), CertificateError> {
    let slots = [Slot::Current, Slot::Next, Slot::Previous].map(|slot| path_in(settings_dir, profile, slot));
    for path in slots.into_iter().chain([warning_marker(cache_dir, profile)]) {
        crate::stores::fs::remove_if_present(&path)
            .map_err(|source| CertificateError::Write { path, source })?;
    }
    Ok(())
}

/// Says on stderr, at most once a day per profile, that the certificate expires soon.
pub fn warn_if_expiring(settings_dir: &Path, cache_dir: &Path, profile: &str, now: SystemTime) {
    let Ok(Some(certificate)) = load(settings_dir, profile) else { return };
    if !certificate.expires_within(now, EXPIRY_WARNING) {
        return;
    }
    let today = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / 86_400;
    let marker = warning_marker(cache_dir, profile);
    let marked = crate::stores::fs::read_regular(&marker, 64).ok().flatten();
    if marked.is_some_and(|day| String::from_utf8_lossy(&day).trim() == today.to_string()) {
        return;
    }
    let when = crate::token::rfc3339(certificate.not_after);
    let verb = if certificate.not_after <= now { "expired" } else { "expires" };
    crate::base::diag::warn(&format!(
        "the certificate of profile {profile:?} {verb} on {when}: replace its key with no outage: \
         sfcred rotate start --profile {profile}"
    ));
    let _ = crate::stores::fs::write_atomically(&marker, today.to_string().as_bytes());
}

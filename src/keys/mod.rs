//! Keys and certificates: RSA keys (PEM and DER read and written in one place), the
//! `Signer` seam, keys on PKCS#11 tokens, key and certificate generation, and the
//! connected app's certificate.

pub mod certificate;
pub mod keygen;
pub mod pkcs11;
pub mod pkcs11_uri;
pub mod private_key;
pub mod signer;

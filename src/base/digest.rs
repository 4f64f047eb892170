//! Names and fingerprints that must not reveal what they are made of.

/// The first 16 bytes of the SHA-256 of `fields`, in hex, each field after its length so
/// that no two lists of fields hash alike. A consumer key hashed here cannot be read back.
pub fn fields_hex(fields: &[&str]) -> String {
    let mut hash = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for field in fields {
        hash.update(&(field.len() as u64).to_le_bytes());
        hash.update(field.as_bytes());
    }
    hash.finish().as_ref()[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digest of a consumer key kept with each cached token (`Binding::client_digest`).
pub fn client_digest(consumer_key: &str) -> String {
    fields_hex(&[consumer_key])
}

#[cfg(test)]
mod tests {
    use super::fields_hex;

    #[test]
    fn every_field_changes_the_digest() {
        let base = ["u@acme.com", "https://login.salesforce.com", "https://login.salesforce.com", "3MVG9A"];
        let digest = fields_hex(&base);
        assert_eq!(digest.len(), 32);
        assert_eq!(digest, fields_hex(&base), "stable");
        for changed in 0..base.len() {
            let mut other = base;
            other[changed] = "x";
            assert_ne!(fields_hex(&other), digest, "field {changed}");
        }
        // Fields are kept apart: moving text from one to the next is another identity.
        assert_ne!(fields_hex(&["ab", "c"]), fields_hex(&["a", "bc"]));
    }
}

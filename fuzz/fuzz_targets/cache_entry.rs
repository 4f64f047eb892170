#![no_main]
//! Cache files: never a panic; an entry that decodes prints and re-encodes to itself.
use libfuzzer_sys::fuzz_target;
use sfcred::cache::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = decode(data) {
        let _ = token.to_json();
        let _ = token.remaining(std::time::SystemTime::now());
        let again = decode(&encode(&token)).expect("an encoded entry decodes");
        assert_eq!((again.issued_at, again.expires_at), (token.issued_at, token.expires_at));
    }
});

#![no_main]
//! Key files: never a panic, and an error never quotes the key material.
use libfuzzer_sys::fuzz_target;
use sfcred::private_key::RsaPrivateKey;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = RsaPrivateKey::from_pem(data, "fuzz.key") {
        let message = error.to_string();
        assert!(message.len() < 512, "errors stay short: {message}");
    }
});

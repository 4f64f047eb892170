#![no_main]
//! The JSON protocol's request: never a panic; a bad request always has a message.
use libfuzzer_sys::fuzz_target;
use sfcred::protocols::json::parse_request;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(request) => {
            let _ = request.need();
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});

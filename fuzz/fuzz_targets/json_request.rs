#![no_main]
//! The JSON protocol's request: never a panic; a bad request always has a message.
use libfuzzer_sys::fuzz_target;
use sfcred::protocols::json::read_request;

fuzz_target!(|data: &[u8]| {
    match read_request(data) {
        Ok(request) => {
            let _ = sfcred::profile::format_duration(request.need.min_valid);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});

#![no_main]
//! git's key=value request: never a panic; what parses answers with its own host.
use libfuzzer_sys::fuzz_target;
use sfcred::protocols::git::parse_request;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_request(data) {
        if let Some(host) = request.host_name() {
            assert!(!host.contains('\n'), "a host never spans lines");
        }
    }
});

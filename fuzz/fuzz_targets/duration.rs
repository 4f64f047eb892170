#![no_main]
//! Durations as users write them: never a panic; what parses is at most a day and
//! reads back as itself from its own text.
use libfuzzer_sys::fuzz_target;
use sfcred::profile::{MAX_DURATION, format_duration, parse_duration};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_duration("duration", text) {
        Ok(duration) => {
            assert!(duration <= MAX_DURATION);
            assert_eq!(parse_duration("duration", &format_duration(duration)).expect("its own text parses"), duration);
        }
        // A value is cut to 200 characters; escaping a control character takes up to 10 bytes.
        Err(error) => assert!(error.to_string().len() < 4096, "errors stay short"),
    }
});

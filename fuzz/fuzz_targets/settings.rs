#![no_main]
//! The settings file: never a panic; what parses round-trips through its own text, and
//! every duration in it stays in range for the times computed from it.
use libfuzzer_sys::fuzz_target;
use sfcred::profile::{MAX_DURATION, format_duration};
use sfcred::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(settings) = Settings::parse(text) {
        let again = Settings::parse(&settings.to_text()).expect("saved settings parse");
        assert_eq!(settings.profiles().count(), again.profiles().count());
        for profile in settings.profiles() {
            for duration in [profile.ttl, profile.connect_timeout, profile.request_timeout] {
                assert!(duration <= MAX_DURATION);
                let _ = format_duration(duration);
                let expires = std::time::SystemTime::now().checked_add(duration).expect("in range");
                let _ = sfcred::token::rfc3339(expires);
            }
        }
    }
});

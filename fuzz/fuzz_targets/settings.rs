#![no_main]
//! The settings file: never a panic; what parses round-trips through its own text.
use libfuzzer_sys::fuzz_target;
use sfcred::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(settings) = Settings::parse(text) {
        let again = Settings::parse(&settings.to_text()).expect("saved settings parse");
        assert_eq!(settings.profiles().count(), again.profiles().count());
    }
});

#![no_main]
//! The token endpoint's answer: never a panic, and neither Debug output nor an error
//! shows the access token.
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use sfcred::exchange::parse_response;

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else { return };
    let status = [200, 400, 401, 500, 503][usize::from(status) % 5];
    let url = sfcred::exchange::Url::parse("https://login.salesforce.com/services/oauth2/token").unwrap();
    match parse_response(&url, status, body) {
        Ok(token) => {
            let secret = token.access_token.expose_secret();
            assert!(!secret.is_empty());
            assert!(secret.len() < 4 || !format!("{token:?}").contains(secret));
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.len() < 1024, "errors describe answers, not dump them");
        }
    }
});

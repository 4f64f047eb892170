#![no_main]
//! The token endpoint's answer: never a panic; the Debug output of a parsed answer does
//! not depend on its access token (so it cannot show it); errors stay short.
use libfuzzer_sys::fuzz_target;
use secrecy::{ExposeSecret, SecretString};
use sfcred::exchange::{TokenResponse, Url, parse_response};

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else { return };
    let status = [200, 400, 401, 500, 503][usize::from(status) % 5];
    let url = Url::parse("https://login.salesforce.com/services/oauth2/token").unwrap();
    match parse_response(&url, status, body) {
        Ok(token) => {
            assert!(!token.access_token.expose_secret().is_empty());
            let other = TokenResponse {
                access_token: SecretString::from("another token"),
                instance_url: token.instance_url.clone(),
                id: token.id.clone(),
                token_type: token.token_type.clone(),
                scope: token.scope.clone(),
            };
            assert_eq!(format!("{token:?}"), format!("{other:?}"));
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.len() < 1024, "errors describe answers, not dump them");
        }
    }
});

//! A minted access token and the JSON that `sfcred token` prints.

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::exchange::TokenResponse;
use crate::profile::Profile;

#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: SecretString,
    pub token_type: String,
    pub instance_url: String,
    pub id: String,
    pub scope: Option<String>,
    pub issued_at: SystemTime,
    /// An estimate: Salesforce does not say, so it is issue time plus the profile's ttl.
    pub expires_at: SystemTime,
    pub username: String,
    pub profile: String,
}

impl Token {
    /// `requested_at` is taken before the request, so the estimate errs early.
    pub fn from_response(response: TokenResponse, profile: &Profile, requested_at: SystemTime) -> Token {
        Token {
            access_token: response.access_token,
            token_type: response.token_type,
            instance_url: response.instance_url,
            id: response.id,
            scope: response.scope,
            issued_at: requested_at,
            expires_at: requested_at + profile.ttl,
            username: profile.username.clone(),
            profile: profile.name.clone(),
        }
    }

    /// The token itself, for the outputs that hand it to a caller.
    pub fn secret(&self) -> &str {
        self.access_token.expose_secret()
    }

    /// How long the token stays valid after `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }

    /// The JSON object `sfcred token` prints. It holds the token: stdout only.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.output()).expect("token output serializes")
    }

    /// The fields `sfcred token` prints, for protocols that print them too.
    pub fn output(&self) -> TokenOutput<'_> {
        TokenOutput {
            access_token: self.access_token.expose_secret(),
            token_type: &self.token_type,
            instance_url: &self.instance_url,
            id: &self.id,
            scope: self.scope.as_deref(),
            issued_at: rfc3339(self.issued_at),
            expires_at: rfc3339(self.expires_at),
            username: &self.username,
            profile: &self.profile,
        }
    }
}

/// Field order is what a reader scanning the output expects first.
#[derive(Serialize)]
pub struct TokenOutput<'a> {
    access_token: &'a str,
    token_type: &'a str,
    instance_url: &'a str,
    id: &'a str,
    scope: Option<&'a str>,
    issued_at: String,
    expires_at: String,
    username: &'a str,
    profile: &'a str,
}

pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

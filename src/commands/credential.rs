//! `sfcred credential`: one JSON request on stdin, one JSON response on stdout.

use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::lookup;
use crate::error::Error;
use crate::fetch;
use crate::protocols::json;
use crate::token::Token;

/// `default_profile` answers a request that names none.
pub fn run(ctx: &Context, default_profile: &str) -> Result<super::Outcome, Error> {
    let answer = || -> Result<Token, Error> {
        let request =
            json::read_request(std::io::stdin().lock()).map_err(|e| super::bad_request("JSON", e))?;
        let profile = lookup::profile(ctx, request.profile.as_deref().unwrap_or(default_profile))?;
        // The protocol's own field is named, not the flag `token` has for it.
        fetch::token(ctx, &profile, request.need, &SystemTime::now).map_err(|e| match e {
            Error::MinValidTooLong { min_valid, ttl, profile, by_exp, .. } => Error::MinValidTooLong {
                asked: format!("min_valid_secs {}", min_valid.as_secs()),
                min_valid,
                ttl,
                profile,
                by_exp,
            },
            e => e,
        })
    };
    match answer() {
        Ok(token) => super::print_line(&json::token_response(&token)).map(|()| super::Outcome::Done),
        Err(error) => {
            // The caller reads the error from stdout; a person reads it on stderr.
            let hint = error.hint();
            super::print(&format!(
                "{}\n",
                json::error_response(error.class().kind(), &error.to_string(), hint.as_deref())
            ))?;
            Err(error)
        }
    }
}

//! `sfcred token`: print a token, as JSON, bare, or as a Kubernetes ExecCredential.

use std::time::SystemTime;

use crate::base::choice::choice_enum;
use crate::config::context::Context;
use crate::config::lookup;
use crate::config::profile::parse_duration;
use crate::error::Error;
use crate::fetch;
use crate::protocols::exec_credential;
use crate::token::Need;

choice_enum! {
    /// What `sfcred token` prints.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format {
        Json => "json", "One JSON object with the token and its details";
        Token => "token", "The bare access token";
        ExecCredential => "exec-credential", "A Kubernetes-style ExecCredential (apiVersion from KUBERNETES_EXEC_INFO)";
    }
}

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    pub format: Format,
    /// Like `60s`: parsed here, so a bad value is reported as sfcred reports errors.
    pub min_valid: String,
    pub refresh: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let profile = &lookup::profile(ctx, &options.profile)?;
    let need =
        Need { min_valid: parse_duration("--min-valid", &options.min_valid)?, refresh: options.refresh };
    // The caller's format is checked before any token is minted.
    let exec_info = match options.format {
        Format::ExecCredential => Some(
            exec_credential::parse_exec_info(ctx.exec_info.as_deref())
                .map_err(|e| super::bad_request("exec credential", e))?,
        ),
        _ => None,
    };
    let token = fetch::token(ctx, profile, need, &SystemTime::now)?;
    match (exec_info, options.format) {
        (Some(info), _) => super::print_line(&exec_credential::exec_credential(&info, &token))?,
        (None, Format::Token) => super::print_line(token.secret())?,
        (None, _) => super::print_line(&token.to_json())?,
    }
    Ok(super::Outcome::Done)
}

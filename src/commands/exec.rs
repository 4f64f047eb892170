//! `sfcred exec`: run a command with the token in its environment.

use std::ffi::OsString;
use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::lookup;
use crate::error::Error;
use crate::fetch;
use crate::protocols::env;
use crate::token::Need;

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// The program and its arguments; never empty.
    pub command: Vec<OsString>,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let token =
        fetch::token(ctx, &lookup::profile(ctx, &options.profile)?, Need::default(), &SystemTime::now)?;
    let (program, rest) = options.command.split_first().expect("the command line requires a command");
    let mut command = std::process::Command::new(program);
    let variables = env::variables(&token);
    command.args(rest).envs(variables.iter().map(|(name, value)| (name, value.as_str())));
    // The child gets the token, not what made it.
    for secret in crate::config::env_vars::SECRETS {
        command.env_remove(secret.name);
    }
    crate::base::core_dumps::allow_again();
    let cannot_run = |source| Error::Exec { program: program.to_string_lossy().into_owned(), source };
    #[cfg(unix)]
    {
        // Replacing this process hands the command our pid: signals reach it, and its
        // exit code is ours.
        let source = std::os::unix::process::CommandExt::exec(&mut command);
        Err(cannot_run(source))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(cannot_run)?;
        Ok(super::Outcome::ChildExited(status.code().unwrap_or(1)))
    }
}

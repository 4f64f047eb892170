//! `sfcred completions SHELL`: the script `COMPLETE=SHELL sfcred` prints, which shells
//! source to complete commands, flags and profile names (asking sfcred at each TAB).

use clap_complete::env::EnvCompleter;

use crate::error::Error;

pub fn run(shell: &dyn EnvCompleter) -> Result<super::Outcome, Error> {
    let mut script = Vec::new();
    // The variable, names and completer CompleteEnv registers in main.
    shell.write_registration("COMPLETE", "sfcred", "sfcred", "sfcred", &mut script).map_err(Error::Output)?;
    super::print(&String::from_utf8_lossy(&script))?;
    Ok(super::Outcome::Done)
}

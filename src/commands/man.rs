//! `sfcred man [--out DIR]`: the man pages, from the same definition as the parser.

use std::path::Path;

use crate::error::Error;

pub fn run(command: clap::Command, out: Option<&Path>) -> Result<super::Outcome, Error> {
    match out {
        Some(dir) => {
            let write_error = |source| Error::Write { path: dir.to_owned(), source };
            std::fs::create_dir_all(dir).map_err(write_error)?;
            clap_mangen::generate_to(command, dir).map_err(write_error)?;
            crate::base::diag::status(&format!("wrote the man pages to {}", dir.display()));
        }
        None => {
            // As generate_to builds it, so the page is the one installed.
            let mut command = command.disable_help_subcommand(true);
            command.build();
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page).map_err(Error::Output)?;
            super::print(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(super::Outcome::Done)
}

//! The sfcred binary: parses the command line, runs the command, and turns its result
//! into messages on stderr and an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sfcred::Error;
use sfcred::cli::{Cli, Command, RotateCommand};
use sfcred::commands::{self, Outcome};
use sfcred::config::context::Context;

fn main() -> ExitCode {
    sfcred::base::core_dumps::forbid();
    // Shells' TAB completion calls back here with COMPLETE set (see completions/).
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .bin("sfcred")
        .completer("sfcred")
        .shells(sfcred::cli::COMPLETION_SHELLS)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap's usage errors wear sfcred's prefix, as every other error does; help shown
        // for a missing subcommand is not an error message.
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("sfcred: {}", e.render()).as_bytes(),
            );
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    sfcred::base::diag::set_verbose(cli.verbose);
    let ctx = &Context::from_env();
    let mut cli = cli;
    // The commands that set a profile up (key, app, login) make `default`; so do those that
    // serve the environment's profile, which has no name (and its settings are not read).
    // The others use the one `sfcred use` chose.
    let makes_profile = matches!(cli.command, Command::Login(_) | Command::Keygen(_) | Command::Eca(_));
    let serves_environment = ctx.environment_profile.is_some()
        && matches!(
            cli.command,
            Command::Token(_)
                | Command::Credential(_)
                | Command::Exec(_)
                | Command::Env(_)
                | Command::Open(_)
                | Command::Invalidate(_)
                | Command::Doctor(_)
        );
    if let Some(arg) = cli.command.profile_arg()
        && arg.profile.is_none()
    {
        arg.profile = Some(match makes_profile || serves_environment {
            true => sfcred::config::profile::DEFAULT_PROFILE.to_owned(),
            false => sfcred::config::lookup::default_profile_name(ctx),
        });
    }
    let result = match cli.command {
        Command::Login(args) => commands::login::run(ctx, args.into()),
        Command::Keygen(args) => commands::keygen::run(ctx, args.into()),
        Command::Doctor(args) => commands::doctor::run(ctx, args.into()),
        Command::Eca(args) => commands::eca::run(ctx, args.into()),
        Command::Import(args) => commands::import::run(ctx, args.into()),
        Command::Rotate(RotateCommand::Start(args)) => commands::rotate::start(ctx, args.into()),
        Command::Rotate(RotateCommand::Status(args)) => {
            commands::rotate::status(ctx, args.profile.as_deref(), args.json)
        }
        Command::Rotate(RotateCommand::Finish(args)) => commands::rotate::finish(ctx, &args.profile.name()),
        Command::Rotate(RotateCommand::Abort(args)) => commands::rotate::abort(ctx, &args.profile.name()),
        Command::Token(args) => commands::token::run(ctx, args.into()),
        Command::Invalidate(args) => commands::invalidate::run(ctx, &args.profile.name(), args.revoke),
        Command::Credential(args) => commands::credential::run(ctx, &args.profile.name()),
        Command::GitCredential(args) => commands::git_credential::run(ctx, args.into()),
        Command::Exec(args) => commands::exec::run(ctx, args.into()),
        Command::Env(args) => commands::env::run(ctx, args.into()),
        Command::Open(args) => commands::open::run(ctx, args.into()),
        Command::Logout(args) => commands::logout::run(ctx, args.into()),
        Command::Profiles(args) => commands::profiles::run(ctx, args.json),
        Command::Use(args) => commands::use_profile::run(ctx, &args.profile),
        Command::Certificate(args) => commands::certificate::run(ctx, &args.profile.name(), &args.path),
        Command::Completions(args) => commands::completions::run(sfcred::cli::completer(&args.shell)),
        Command::Man(args) => {
            commands::man::run(<Cli as clap::CommandFactory>::command(), args.out.as_deref())
        }
    };
    report(result)
}

/// The one place a command's result becomes a message and an exit code (docs/reference.md's table).
fn report(result: Result<Outcome, Error>) -> ExitCode {
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        // Doctor's report on stdout already says what failed.
        Ok(Outcome::ChecksFailed) => ExitCode::FAILURE,
        Ok(Outcome::ChildExited(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            let printable = sfcred::base::diag::printable_message;
            let mut message = format!("sfcred: error: {}\n", printable(&error.to_string()));
            if let Some(hint) = error.hint() {
                message.push_str(&format!("  hint: {}\n", printable(&hint)));
            }
            let _ = std::io::stderr().write_all(message.as_bytes());
            ExitCode::from(error.exit_code())
        }
    }
}

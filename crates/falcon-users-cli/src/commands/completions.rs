//! `completions SHELL`: a shell completion script generated from the command-line grammar.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::failure::Outcome;

/// Prints the completion script for `args.shell` to stdout.
pub fn run(args: &CompletionsArgs) -> Outcome {
    let mut command = Cli::command();
    // Generated into memory first: the generator panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "falcon-users", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

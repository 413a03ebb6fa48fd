//! `man`: manual pages (roff) generated from the command-line grammar.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::console;

/// Prints the main page to stdout, or writes every page into `--out`.
pub fn run(args: &ManArgs) -> Outcome {
    let command = Cli::command();
    match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command, dir))
                .map_err(|e| {
                    Failure::Exit(
                        exit::LOCAL,
                        format!("could not write the man pages into {}: {e}", dir.display()),
                    )
                })?;
            console::line(format_args!("man pages written to {}", dir.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

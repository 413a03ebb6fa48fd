//! `falcon-users`: user lifecycle work on CrowdStrike Falcon from the command line.

mod cli;
mod commands;
mod confirm;
mod connect;
mod exit;
mod output;
mod records;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::{Ctx, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Failure::Sdk(err)) => {
            eprintln!("error: {err}");
            exit::for_error(&err)
        }
        Err(Failure::Io(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(err)) => {
            eprintln!("error: could not write the output: {err}");
            ExitCode::FAILURE
        }
        Err(Failure::Exit(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let command = match cli.command {
        Command::Sim(args) => return commands::sim::run(args, cli.global.sim_users).await,
        other => other,
    };
    let connection = connect::connect(&cli.global).await?;
    let ctx = Ctx {
        falcon: connection.falcon.clone(),
        format: output::resolve(cli.global.format),
        yes: cli.global.yes,
    };
    match command {
        Command::Users(c) => commands::users::run(&ctx, c).await,
        Command::Roles(c) => commands::roles::run(&ctx, c).await,
        Command::Grants(c) => commands::grants::run(&ctx, c).await,
        Command::Provision(a) => commands::lifecycle::provision(&ctx, a).await,
        Command::Offboard(a) => commands::lifecycle::offboard(&ctx, a).await,
        Command::Inventory(a) => commands::inventory::run(&ctx, a).await,
        Command::Auth(c) => commands::auth::run(&ctx, c).await,
        Command::Sim(_) => Err(Failure::Exit(
            exit::USAGE,
            "`sim` takes no connection".into(),
        )),
    }
}

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

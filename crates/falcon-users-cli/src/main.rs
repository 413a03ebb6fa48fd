//! `falcon-users`: user lifecycle work on CrowdStrike Falcon from the command line.

// Every byte for stdout or stderr goes through `output` or `console`, which escape API data
// and survive closed pipes; the print macros do neither.
#![deny(clippy::print_stdout, clippy::print_stderr)]

// Layers, bottom first (imports point down; `tests/tests/integration/layers.rs` checks it):
// how a run ends (`exit`, `failure`); escaping, files and the one rendering path (`output`);
// the grammar (`cli`); secrets, profiles, the connection and each command's typed job (`jobs`);
// the bulk machinery; the commands, which never import each other; and this file, which
// parses, connects, runs and exits.
mod base_dir;
mod bulk;
mod cli;
mod commands;
mod confirm;
mod connect;
mod ctx;
mod exit;
mod expiry;
mod failure;
mod history_file;
mod input;
mod interrupt;
mod jobs;
mod journal_file;
mod list_file;
mod member_cids;
mod output;
mod profile;
mod questions;
mod records;
mod roster_file;
mod secret_source;
#[cfg(feature = "simulator")]
mod sim_state;
mod summary;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, Global, ReviewAction, ReviewArgs};
use crate::ctx::Ctx;
use crate::failure::{Failure, Outcome};
use crate::interrupt::{Changes, Signals};
use crate::jobs::Job;
use crate::output::FormatArg;
use crate::output::console;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let Cli { global, command } = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(global.verbose);
    console::set_quiet(global.quiet);
    let summary_to = global.summary_json.clone();
    if summary_to.is_some() {
        summary::start(command_path(&matches));
    }
    let code = run_main(global, command);
    match summary_to {
        Some(path) => write_summary(&path, code),
        None => code,
    }
}

/// The subcommands as typed, joined by spaces (`review apply`).
fn command_path(matches: &clap::ArgMatches) -> String {
    let mut names = Vec::new();
    let mut at = matches;
    while let Some((name, sub)) = at.subcommand() {
        names.push(name);
        at = sub;
    }
    names.join(" ")
}

/// Writes the run's summary to `path`, all or nothing; a summary that cannot be written turns
/// a success into exit 7 (a failure keeps its own code: it is the news).
fn write_summary(path: &std::path::Path, code: ExitCode) -> ExitCode {
    let Some(summary) = summary::finish() else {
        return code;
    };
    match output::file::OutputFile::write_json(path, &summary) {
        Ok(()) => code,
        Err(e) => {
            console::line(format_args!(
                "error: could not write the summary to {}: {e}",
                path.display()
            ));
            if summary.exit_code == 0 {
                ExitCode::from(exit::LOCAL)
            } else {
                code
            }
        }
    }
}

fn run_main(global: Global, command: Command) -> ExitCode {
    // A page is a review's; every other command prints records.
    let reviews = matches!(command, Command::Review(ReviewArgs { action: None, .. }));
    if global.format == Some(FormatArg::Html) && !reviews {
        return report(Err(Failure::Exit(
            exit::USAGE,
            "-f html: only `review` writes a page; the others print table, json or csv".into(),
        )));
    }
    #[cfg(not(feature = "simulator"))]
    if let Some(flag) = global.sim.given() {
        return report(Err(connect::no_simulator(flag)));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Err(not_started("the async runtime", &e))),
    };
    let code = runtime.block_on(async {
        // Commands that connect nowhere.
        let command = match command {
            Command::Sim(args) => return report(commands::sim::run(args, &global.sim).await),
            Command::Config(c) => return report(commands::config::run(&global, &c)),
            Command::Completions(a) => return report(commands::completions::run(&a)),
            Command::Man(a) => return report(commands::man::run(&a)),
            Command::History(c) => return report(commands::history::run(&global, c)),
            Command::Review(ReviewArgs {
                action: Some(ReviewAction::Verify(a)),
                ..
            }) => {
                let json = global.format.and_then(FormatArg::records) == Some(output::Format::Json);
                return report(commands::review::verify(&a, json));
            }
            command => command,
        };
        let mut signals = match Signals::install() {
            Ok(signals) => signals,
            Err(e) => return report(Err(not_started("the signal handlers", &e))),
        };
        let changes = Changes::default();
        let work = run(global, command, changes.clone());
        report(interrupt::supervise(work, &changes, &mut signals, interrupt::GRACE).await)
    });
    // A prompt abandoned by a signal still blocks a thread on stdin: do not wait for it.
    runtime.shutdown_background();
    code
}

fn not_started(what: &str, err: &std::io::Error) -> Failure {
    Failure::Exit(exit::LOCAL, format!("could not start {what}: {err}"))
}

/// The exit code of an outcome, after printing its error (and noting both for the summary).
fn report(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(code) => {
            summary::ended(exit::code_of(code), None);
            code
        }
        // A reader that stopped early (`| head`) is a normal end.
        Err(Failure::Io(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            summary::ended(0, None);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            console::line(format_args!("error: {failure}"));
            summary::ended(failure.exit_code(), Some(failure.to_string()));
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(global: Global, command: Command, changes: Changes) -> Outcome {
    // The job first: a bad argument is refused before any credential is read or request sent.
    let mut job = Job::try_from(command)?;
    let records = global.format.and_then(FormatArg::records);
    // Found before connecting; a place that cannot be found fails the recording, not the run.
    let history = history_file::for_job(&global, &job);
    let mut connection = connect::connect(&global).await?;
    // The fleet once, before any command reads or changes anything.
    if let Some((members, use_, flag)) = job.member_cids_mut() {
        members.resolve(&connection.falcon, use_, flag).await?;
    }
    let ctx = Ctx {
        falcon: connection.falcon.clone(),
        format: output::resolve(records),
        explicit_format: records,
        html: global.format == Some(FormatArg::Html),
        yes: global.yes,
        changes,
        settle: ctx::settle(global.settle),
        history,
        map: connection.map.clone(),
    };
    let outcome = match job {
        Job::Users(c) => commands::users::run(&ctx, c).await,
        Job::Roles(c) => commands::roles::run(&ctx, c).await,
        Job::Grants(job) => commands::grants::run(&ctx, job).await,
        Job::Provision(job) => commands::lifecycle::provision(&ctx, job).await,
        Job::Offboard(job) => commands::lifecycle::offboard(&ctx, job).await,
        Job::Inventory(a) => commands::inventory::run(&ctx, a).await,
        Job::Children => commands::children::run(&ctx).await,
        Job::Access(job) => commands::access::run(&ctx, job).await,
        Job::Review(a) => commands::review::run(&ctx, a).await,
        Job::ReviewApply(a) => commands::decisions::apply(&ctx, a).await,
        Job::Roster(a) => commands::reconcile::export(&ctx, a).await,
        Job::Plan(a) => commands::reconcile::plan(&ctx, a).await,
        Job::Apply(a) => commands::reconcile::apply(&ctx, a).await,
        Job::Fleet(c) => commands::fleet::run(&ctx, &ctx.falcon, c).await,
        Job::Auth(c) => commands::auth::run(&ctx, c).await,
    };
    summary::requests(&connection.falcon.stats());
    // Saved whatever the outcome: a command that failed half way may have changed the tenant.
    let saved = connection.save();
    match (outcome, saved) {
        (outcome, Ok(())) => outcome,
        (Ok(_), Err(failure)) => Err(failure),
        (Err(failure), Err(not_saved)) => {
            console::line(format_args!("error: {not_saved}"));
            Err(failure)
        }
    }
}

/// Logs go to stderr (through [`console::Stderr`]: a closed pipe is not a crash), every value
/// and message escaped as the tables are ([`console::LogFields`]) at every level; `-v` raises
/// the level, `RUST_LOG` overrides it.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The certificate verifier logs each refusal as an error of its own; the command's
        // error already names it (below -vv, once is enough).
        let quiet = if verbose < 2 {
            ",rustls_platform_verifier=off"
        } else {
            ""
        };
        tracing_subscriber::EnvFilter::new(format!("{level}{quiet}"))
    });
    let _ = tracing_subscriber::fmt()
        .fmt_fields(console::LogFields)
        .with_env_filter(filter)
        .with_writer(|| console::Stderr)
        .with_ansi(colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .try_init();
}

/// Colours only for a person: a log captured in a file or a pipe stays plain text, and a
/// non-empty `NO_COLOR` (no-color.org) turns them off on a terminal too.
fn colours(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        let cases = [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, None, false),
            (false, Some("1"), false),
        ];
        for (terminal, no_color, want) in cases {
            assert_eq!(
                super::colours(terminal, no_color.map(OsStr::new)),
                want,
                "{terminal} {no_color:?}"
            );
        }
    }
}

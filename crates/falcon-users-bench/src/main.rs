//! `falcon-users-bench`: measures falcon-users against its performance targets (BENCHMARKS.md)
//! and against FalconPy, on the simulator (always on 127.0.0.1), and prints each scenario as a table
//! and all of them as JSON.
//!
//! ```text
//! cargo run --release -p falcon-users-bench -- all
//! cargo run --release -p falcon-users-bench -- overhead --calls 2000
//! ```

mod defaults;
mod measure;
mod peer;
mod report;
mod scenarios;
mod sim_process;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::defaults::defaults;
use crate::peer::Peer;
use crate::report::Report;
use crate::scenarios::{
    build_cost, bulk_provision, cold_start, fleet, flight, history, inventory, lag, memory,
    overhead, page, reconcile,
};
use crate::sim_process::SimSpec;

/// Benchmarks of falcon-users: per-call cost, bulk inventory, memory, cold start, build cost.
#[derive(Parser)]
#[command(name = "falcon-users-bench")]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Do not run FalconPy (peers are skipped with a note).
    #[arg(long, global = true)]
    no_peers: bool,
    /// Where to write the JSON results (default: target/bench/results.json).
    #[arg(long, global = true)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every scenario with its default settings, those BENCHMARKS.md reports (the default).
    All,
    /// 1. Client CPU per sequential `queryUserV1` call.
    Overhead(OverheadArgs),
    /// 2. Bulk inventory under latency and a binding rate limit.
    Inventory(inventory::Settings),
    /// 3. Peak memory of a streaming inventory at two sizes.
    Memory(MemoryArgs),
    /// 4. Process start to first successful call.
    ColdStart(ColdStartArgs),
    /// 5. Clean release build of a minimal consumer.
    Build,
    /// 6. A roster that changes 1 % of a tenant, planned and applied in one go.
    Reconcile(reconcile::Settings),
    /// 7. Bulk provisioning of a roster of new users.
    BulkProvision(bulk_provision::Settings),
    /// 8. A Flight Control fleet's inventory, every child at once.
    Fleet(fleet::Settings),
    /// 9. A roster change against reads that lag writes, and without the lag.
    Lag(lag::Settings),
    /// 10. A large tenant's review as a page and as JSON, and the page in headless Chromium.
    Page(page::Settings),
    /// 11. Who has access to which child, and why, over 200 children (links and direct grants).
    Flight(flight::Settings),
    /// 12. A 100,000-user review recorded into the history, twice, and the diff of the two.
    History(HistoryArgs),
    /// (internal) Runs the simulator until stdin closes.
    #[command(hide = true)]
    Serve(SimSpec),
    /// (internal) Streams an inventory and reports peak memory.
    #[command(hide = true)]
    Stream {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        out: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// (internal) Inventories child CIDs at once and reports peak memory.
    #[command(hide = true)]
    FleetStream {
        #[arg(long)]
        base_url: String,
        /// Comma-separated.
        #[arg(long)]
        cids: String,
        /// Children worked at once.
        #[arg(long)]
        at_once: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// (internal) Discovery and the parent users' effective access; reports its figures.
    #[command(hide = true)]
    FlightStream {
        #[arg(long)]
        base_url: String,
        /// Children worked at once.
        #[arg(long)]
        at_once: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// (internal) One call against a server whose answer never ends; reports peak memory.
    #[command(hide = true)]
    FloodCall {
        #[arg(long)]
        base_url: String,
    },
    /// (internal) One token and one call.
    #[command(hide = true)]
    FirstCall {
        #[arg(long)]
        base_url: String,
    },
    /// (internal) Runs a command and reports its wall time and peak memory.
    #[command(hide = true)]
    Peak {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// (internal) One review recorded into a history; reports wall time and peak memory.
    #[command(hide = true)]
    HistoryRecord {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Leave every Nth user out of the snapshot (0: none).
        #[arg(long, default_value_t = 0)]
        skip_every: usize,
        /// Review without recording (the baseline).
        #[arg(long)]
        no_record: bool,
    },
    /// (internal) The diff of a history's last two snapshots; reports wall time and peak memory.
    #[command(hide = true)]
    HistoryDiff {
        #[arg(long)]
        db: String,
    },
    /// (internal) Builds the consumer and reports wall time and peak memory.
    #[command(hide = true)]
    BuildProbe {
        #[arg(long)]
        workspace: PathBuf,
    },
}

#[derive(clap::Args)]
struct OverheadArgs {
    /// Sequential calls measured.
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
}

#[derive(clap::Args)]
struct MemoryArgs {
    /// The smaller tenant.
    #[arg(long, default_value_t = 10_000)]
    small: usize,
    /// The larger tenant.
    #[arg(long, default_value_t = 100_000)]
    large: usize,
    /// Grants listings in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[derive(clap::Args)]
struct HistoryArgs {
    /// Users in the tenant.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Grants listings in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[derive(clap::Args)]
struct ColdStartArgs {
    /// Processes started per client (the median is reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

fn run(args: Args) -> Result<ExitCode> {
    let command = args.command.unwrap_or(Cmd::All);
    // The internal commands run in child processes and answer on stdout.
    match command {
        Cmd::Serve(spec) => {
            return tokio_main(sim_process::serve(spec)).map(|()| ExitCode::SUCCESS);
        }
        Cmd::Stream {
            base_url,
            out,
            concurrency,
        } => {
            return tokio_main(memory::stream(&base_url, &out, concurrency))
                .map(|()| ExitCode::SUCCESS);
        }
        Cmd::FleetStream {
            base_url,
            cids,
            at_once,
            concurrency,
        } => {
            return tokio_main(fleet::stream(&base_url, &cids, at_once, concurrency))
                .map(|()| ExitCode::SUCCESS);
        }
        Cmd::FlightStream {
            base_url,
            at_once,
            concurrency,
        } => {
            return tokio_main(flight::stream(&base_url, at_once, concurrency))
                .map(|()| ExitCode::SUCCESS);
        }
        Cmd::FloodCall { base_url } => {
            return tokio_main(memory::flood_call(&base_url)).map(|()| ExitCode::SUCCESS);
        }
        Cmd::FirstCall { base_url } => {
            return tokio_main(cold_start::first_call(&base_url)).map(|()| ExitCode::SUCCESS);
        }
        Cmd::HistoryRecord {
            base_url,
            db,
            concurrency,
            skip_every,
            no_record,
        } => {
            return tokio_main(history::record(
                &base_url,
                &db,
                concurrency,
                skip_every,
                !no_record,
            ))
            .map(|()| ExitCode::SUCCESS);
        }
        Cmd::HistoryDiff { db } => {
            return history::diff(&db).map(|()| ExitCode::SUCCESS);
        }
        Cmd::BuildProbe { workspace } => {
            return build_cost::probe(&workspace).map(|()| ExitCode::SUCCESS);
        }
        Cmd::Peak { command } => {
            return page::peak(&command).map(|()| ExitCode::SUCCESS);
        }
        _ => {}
    }
    let workspace = workspace();
    let needs_peer = !matches!(
        command,
        Cmd::Memory(_)
            | Cmd::Build
            | Cmd::Fleet(_)
            | Cmd::Page(_)
            | Cmd::Flight(_)
            | Cmd::History(_)
    );
    let peer = if needs_peer {
        Peer::setup(&workspace, !args.no_peers)
    } else {
        Peer::Skipped("not used".into())
    };
    let mut reports: Vec<Result<Report>> = Vec::new();
    let mut show = |r: Result<Report>| {
        match &r {
            Ok(report) => println!("{}\n", report.table()),
            Err(e) => println!("scenario failed: {e:#}\n"),
        }
        reports.push(r);
    };
    let scenarios = match command {
        Cmd::All => vec![
            Cmd::Overhead(defaults()?),
            Cmd::Inventory(defaults()?),
            Cmd::Memory(defaults()?),
            Cmd::ColdStart(defaults()?),
            Cmd::Build,
            Cmd::Reconcile(defaults()?),
            Cmd::BulkProvision(defaults()?),
            Cmd::Fleet(defaults()?),
            Cmd::Lag(defaults()?),
            Cmd::Page(defaults()?),
            Cmd::Flight(defaults()?),
            Cmd::History(defaults()?),
        ],
        one => vec![one],
    };
    for scenario in scenarios {
        show(run_scenario(scenario, &peer, &workspace));
    }
    let json: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| match r {
            Ok(report) => serde_json::to_value(report).unwrap_or_default(),
            Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
        })
        .collect();
    let text = serde_json::to_string_pretty(&json)?;
    let path = args
        .json
        .unwrap_or_else(|| workspace.join("target/bench/results.json"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &text)?;
    println!("{text}");
    let failed = reports.iter().filter(|r| r.is_err()).count();
    let short: Vec<&str> = reports
        .iter()
        .flatten()
        .filter(|r| !r.met())
        .map(|r| r.scenario)
        .collect();
    eprintln!(
        "written to {}; {failed} scenario(s) failed; targets missed in: {}",
        path.display(),
        if short.is_empty() {
            "none".to_owned()
        } else {
            short.join(", ")
        }
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs one scenario.
fn run_scenario(scenario: Cmd, peer: &Peer, workspace: &Path) -> Result<Report> {
    match scenario {
        Cmd::Overhead(a) => overhead::run(peer, a.calls),
        Cmd::Inventory(settings) => inventory::run(peer, &settings),
        Cmd::Memory(a) => memory::run([a.small, a.large], a.concurrency),
        Cmd::ColdStart(a) => cold_start::run(peer, a.runs),
        Cmd::Build => build_cost::run(workspace),
        Cmd::Reconcile(settings) => reconcile::run(&settings),
        Cmd::Lag(settings) => lag::run(&settings),
        Cmd::BulkProvision(settings) => bulk_provision::run(&settings),
        Cmd::Fleet(settings) => fleet::run(&settings),
        Cmd::Page(settings) => page::run(&settings),
        Cmd::Flight(settings) => flight::run(&settings),
        Cmd::History(a) => history::run(a.users, a.concurrency),
        Cmd::All
        | Cmd::Serve(_)
        | Cmd::Stream { .. }
        | Cmd::FleetStream { .. }
        | Cmd::FlightStream { .. }
        | Cmd::FloodCall { .. }
        | Cmd::FirstCall { .. }
        | Cmd::HistoryRecord { .. }
        | Cmd::HistoryDiff { .. }
        | Cmd::BuildProbe { .. }
        | Cmd::Peak { .. } => anyhow::bail!("not a scenario"),
    }
}

fn tokio_main<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    tokio::runtime::Runtime::new()?.block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_attributes_values() {
        let settings: inventory::Settings = defaults().unwrap();
        assert_eq!(settings.users, 10_000);
        assert_eq!(settings.rate_per_minute, 60_000);
        assert_eq!(defaults::<MemoryArgs>().unwrap().large, 100_000);
        let spec = SimSpec::unlimited(5).unwrap();
        assert_eq!((spec.users, spec.latency_ms), (5, 0));
        assert_eq!((spec.rate_per_minute, spec.burst), (100_000_000, None));
    }
}

//! `falcon-users-bench`: measures falcon-users against the targets of the performance issue and
//! against FalconPy, on the simulator (always on 127.0.0.1), and prints each scenario as a table
//! and all of them as JSON.
//!
//! ```text
//! cargo run --release -p falcon-users-bench -- all
//! cargo run --release -p falcon-users-bench -- overhead --calls 2000
//! ```

mod measure;
mod peer;
mod report;
mod scenarios;
mod sim_process;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::peer::Peer;
use crate::report::Report;
use crate::scenarios::{build_cost, cold_start, inventory, memory, overhead};
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
    /// All five scenarios with the issue's settings (the default).
    All,
    /// 1. Client CPU per sequential `queryUserV1` call.
    Overhead(OverheadArgs),
    /// 2. Bulk inventory under latency and a binding rate limit.
    Inventory(InventoryArgs),
    /// 3. Peak memory of a streaming inventory at two sizes.
    Memory(MemoryArgs),
    /// 4. Process start to first successful call.
    ColdStart(ColdStartArgs),
    /// 5. Clean release build of a minimal consumer.
    Build,
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
    /// (internal) One token and one call.
    #[command(hide = true)]
    FirstCall {
        #[arg(long)]
        base_url: String,
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
struct InventoryArgs {
    /// Users in the tenant.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Custom roles per CID.
    #[arg(long, default_value_t = 200)]
    roles: usize,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    /// Simulator rate limit, requests per minute.
    #[arg(long, default_value_t = 60_000)]
    rate_per_minute: u32,
    /// Grants listings in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Longest the sequential FalconPy loop may run, seconds.
    #[arg(long, default_value_t = 600)]
    peer_max_seconds: u64,
}

impl Default for InventoryArgs {
    fn default() -> Self {
        Self {
            users: 10_000,
            roles: 200,
            latency_ms: 10,
            rate_per_minute: 60_000,
            concurrency: 16,
            peer_max_seconds: 600,
        }
    }
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
        Cmd::FirstCall { base_url } => {
            return tokio_main(cold_start::first_call(&base_url)).map(|()| ExitCode::SUCCESS);
        }
        Cmd::BuildProbe { workspace } => {
            return build_cost::probe(&workspace).map(|()| ExitCode::SUCCESS);
        }
        _ => {}
    }
    let workspace = workspace();
    let needs_peer = !matches!(command, Cmd::Memory(_) | Cmd::Build);
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
    match command {
        Cmd::All => {
            show(overhead::run(&peer, 2_000));
            show(inventory::run(&peer, &InventoryArgs::default().into()));
            show(memory::run([10_000, 100_000], 16));
            show(cold_start::run(&peer, 7));
            show(build_cost::run(&workspace));
        }
        Cmd::Overhead(a) => show(overhead::run(&peer, a.calls)),
        Cmd::Inventory(a) => show(inventory::run(&peer, &a.into())),
        Cmd::Memory(a) => show(memory::run([a.small, a.large], a.concurrency)),
        Cmd::ColdStart(a) => show(cold_start::run(&peer, a.runs)),
        Cmd::Build => show(build_cost::run(&workspace)),
        Cmd::Serve(_) | Cmd::Stream { .. } | Cmd::FirstCall { .. } | Cmd::BuildProbe { .. } => {
            unreachable!("handled above")
        }
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

impl From<InventoryArgs> for inventory::Settings {
    fn from(a: InventoryArgs) -> Self {
        Self {
            users: a.users,
            roles: a.roles,
            latency_ms: a.latency_ms,
            rate_per_minute: a.rate_per_minute,
            concurrency: a.concurrency,
            peer_max_seconds: a.peer_max_seconds,
        }
    }
}

fn tokio_main<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    tokio::runtime::Runtime::new()?.block_on(future)
}

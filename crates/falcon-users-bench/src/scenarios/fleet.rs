//! Scenario 8: a Flight Control fleet inventoried through `Falcon::fleet_inventory`, each child
//! with its own token and rate budget (the service counts requests per CID). Three runs on one
//! simulator, each in a fresh process that reports its own peak resident set: the small fleet
//! and the full fleet with every child at once (the budgets are used in parallel when both take
//! about one child's bound), and the full fleet worked as few at once as the small one (memory
//! is set by the children in flight, each holding one batch of users and its requests, never by
//! the fleet: the peak must match the small fleet's).

use std::time::Instant;

use anyhow::{Result, bail};
use falcon_users::workflows::InventoryOptions;
use falcon_users::{Cid, UserQuery};
use futures::StreamExt;
use serde_json::json;

use crate::measure::{mib, own_peak_rss};
use crate::report::Report;
use crate::scenarios::inventory;
use crate::sim_process::{SimProcess, SimSpec};

/// The scenario's settings (the defaults are those BENCHMARKS.md reports: 20 children of 2,000 users).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Child CIDs of the full fleet (at most 20, the simulator's bound).
    #[arg(long, default_value_t = 20)]
    pub children: usize,
    /// Child CIDs of the small fleet the full one is compared with.
    #[arg(long, default_value_t = 5)]
    pub small_fleet: usize,
    /// Users in each child.
    #[arg(long, default_value_t = 2_000)]
    pub users_per_child: usize,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Each CID's budget, requests per minute (the service's is 6,000).
    #[arg(long, default_value_t = 6_000)]
    pub rate_per_minute: u32,
    /// Grants listings in flight per child.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

impl Settings {
    /// One child's inventory as a one-CID inventory scenario (its minimum and bound).
    fn one_child(&self) -> inventory::Settings {
        inventory::Settings {
            users: self.users_per_child,
            roles: 20,
            latency_ms: self.latency_ms,
            rate_per_minute: self.rate_per_minute,
            concurrency: self.concurrency,
            peer_max_seconds: 0,
        }
    }
}

/// Runs the small and the full fleet on one simulator.
pub fn run(settings: &Settings) -> Result<Report> {
    if settings.small_fleet == 0 || settings.small_fleet >= settings.children {
        bail!("--small-fleet must be at least 1 and less than --children");
    }
    // Each child's budget binds from the start.
    let spec = SimSpec {
        child_cids: settings.children,
        users_per_child: settings.users_per_child,
        ..SimSpec::rate_bound(50, 20, settings.latency_ms, settings.rate_per_minute)
    };
    let sim = SimProcess::start(&spec)?;
    if sim.child_cids.len() != settings.children {
        bail!(
            "the simulator has {} children, not {}",
            sim.child_cids.len(),
            settings.children
        );
    }
    let one = settings.one_child();
    let per_child_minimum = one.minimum_requests();
    let bound = one.bound_secs(per_child_minimum);
    let mut report = Report::new("fleet");
    report.figure("one child's bound", bound, "s");
    let (small, full) = (settings.small_fleet, settings.children);
    // (fleet, children at once): every child at once for the time and the budgets; then the
    // full fleet worked as few at once as the small one, which must need no more memory.
    let mut peaks = Vec::new();
    for (fleet, at_once) in [(small, small), (full, full), (full, small)] {
        let run = Run::new(&sim, settings, fleet, at_once)?;
        let label = format!("{fleet} children, {at_once} at once");
        report.figure(format!("wall, {label}"), run.wall, "s");
        report.figure(format!("requests, {label}"), run.requests as f64, "req");
        report.figure(format!("peak RSS, {label}"), run.peak, "MiB");
        report.at_most(
            format!("requests / minimum, {label}"),
            run.requests as f64 / (per_child_minimum * fleet as u64) as f64,
            1.02,
        );
        // Children worked in turns take a bound each turn.
        let turns = fleet.div_ceil(at_once) as f64;
        report.at_most(
            format!("wall / (one child's bound × {turns}), {label}"),
            run.wall / (bound * turns),
            1.25,
        );
        peaks.push(run.peak);
    }
    report.figure(
        "peak RSS per child at once",
        (peaks[1] - peaks[0]) / (full - small) as f64,
        "MiB",
    );
    report.at_most(
        format!("peak RSS difference, {full} vs {small} children, {small} at once"),
        (peaks[2] - peaks[0]).abs() / peaks[0],
        0.15,
    );
    Ok(report)
}

/// One fleet inventory in a child process.
struct Run {
    wall: f64,
    requests: u64,
    peak: f64,
}

impl Run {
    /// The first `fleet` children of `sim`, `at_once` at a time; every row must arrive.
    fn new(sim: &SimProcess, settings: &Settings, fleet: usize, at_once: usize) -> Result<Run> {
        let cids = sim.child_cids[..fleet].join(",");
        let answer = super::child(&[
            "fleet-stream",
            "--base-url",
            &sim.base_url,
            "--cids",
            &cids,
            "--at-once",
            &at_once.to_string(),
            "--concurrency",
            &settings.concurrency.to_string(),
        ])?;
        let rows = answer["rows"].as_u64().unwrap_or(0);
        let failed = answer["failed"].as_u64().unwrap_or(0);
        let expected = (fleet * settings.users_per_child) as u64;
        if failed > 0 || rows != expected {
            bail!("{fleet} children: {rows} rows of {expected}, {failed} children failed");
        }
        Ok(Run {
            wall: answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            requests: answer["requests"].as_u64().unwrap_or(0),
            peak: mib(answer["peak_rss"].as_u64().unwrap_or(0)),
        })
    }
}

/// The child: the fleet's inventory, `at_once` children at a time, rows serialized and dropped
/// as they come (what `inventory --member-cids` does on its way to a file); prints its figures.
pub async fn stream(base_url: &str, cids: &str, at_once: usize, concurrency: usize) -> Result<()> {
    let cids: Vec<Cid> = cids
        .split(',')
        .map(str::parse)
        .collect::<falcon_users::Result<_>>()?;
    let started = Instant::now();
    let falcon = super::client(base_url)?;
    let options = InventoryOptions::new()
        .children(at_once)
        .concurrency(concurrency);
    let mut items = falcon.fleet_inventory(&cids, UserQuery::new(), options);
    let (mut rows, mut failed, mut bytes) = (0u64, 0u64, 0usize);
    while let Some(item) = items.next().await {
        match item.outcome {
            Ok(row) => {
                let line = serde_json::to_vec(&json!({
                    "cid": item.cid.as_str(),
                    "user": row.user,
                    "grants": row.grants,
                }))?;
                bytes += line.len();
                rows += 1;
            }
            Err(err) => {
                eprintln!("{}: {err}", item.cid);
                failed += 1;
            }
        }
    }
    let stats = falcon.stats();
    println!(
        "{}",
        json!({
            "rows": rows,
            "failed": failed,
            "bytes": bytes,
            "peak_rss": own_peak_rss()?,
            "wall_s": started.elapsed().as_secs_f64(),
            "requests": stats.requests, // the token requests included
        })
    );
    Ok(())
}

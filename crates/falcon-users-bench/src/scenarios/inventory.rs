//! Scenario 2: Bulk inventory under latency and a binding rate limit: requests against the minimum, wall
//! time against the bound the limit and the latency set, 429s that reached the caller.

use std::time::Instant;

use anyhow::Result;
use falcon_users::UserQuery;
use falcon_users::workflows::InventoryOptions;
use futures::StreamExt;

use crate::peer::Peer;
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// The scenario's settings (also its command-line arguments; the defaults are those BENCHMARKS.md reports).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Users in the tenant.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Custom roles per CID.
    #[arg(long, default_value_t = 200)]
    pub roles: usize,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Simulator rate limit, requests per minute.
    #[arg(long, default_value_t = 60_000)]
    pub rate_per_minute: u32,
    /// Grants listings in flight (also the client's `max_concurrency`).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Longest the sequential FalconPy loop may run, seconds.
    #[arg(long, default_value_t = 600)]
    pub peer_max_seconds: u64,
}

/// Ids per page and per entity batch the inventory uses (the API allows 500 and 5,000).
const PAGE: usize = 500;

impl Settings {
    /// Pages + entity batches + one grants listing per user + one token.
    pub fn minimum_requests(&self) -> u64 {
        let pages = self.users.div_ceil(PAGE).max(1);
        let batches = self.users.div_ceil(PAGE);
        (pages + batches + self.users + 1) as u64
    }

    /// `max(requests / rate, requests × latency / concurrency)`, in seconds.
    pub fn bound_secs(&self, requests: u64) -> f64 {
        super::bound_secs(
            requests,
            self.rate_per_minute,
            self.latency_ms,
            self.concurrency,
        )
    }
}

/// Runs the inventory with falcon-users, then the sequential FalconPy loop, on fresh simulators.
pub fn run(peer: &Peer, settings: &Settings) -> Result<Report> {
    let spec = SimSpec::rate_bound(
        settings.users,
        settings.roles,
        settings.latency_ms,
        settings.rate_per_minute,
    );
    let mut report = Report::new("inventory");
    let sim = SimProcess::start(&spec)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (users, grants, surfaced_429, other_errors, wall, stats) = runtime.block_on(async {
        let falcon = super::client(&sim.base_url)?;
        let started = Instant::now();
        let mut stream = falcon.inventory(
            UserQuery::new().page_size(PAGE as u64),
            InventoryOptions::new().concurrency(settings.concurrency),
        );
        let (mut users, mut grants, mut surfaced_429, mut other_errors) = (0u64, 0u64, 0u64, 0u64);
        while let Some(item) = stream.next().await {
            match item {
                Ok(u) => {
                    users += 1;
                    grants += u.grants.len() as u64;
                }
                Err(falcon_users::Error::RateLimited { .. }) => surfaced_429 += 1,
                Err(e) => {
                    eprintln!("inventory error: {e}");
                    other_errors += 1;
                }
            }
        }
        let wall = started.elapsed();
        anyhow::Ok((
            users,
            grants,
            surfaced_429,
            other_errors,
            wall,
            falcon.stats(),
        ))
    })?;
    drop(sim);
    // `requests` counts the token requests too.
    let requests = stats.requests;
    let minimum = settings.minimum_requests();
    let bound = settings.bound_secs(requests);
    report.figure("users listed", users as f64, "");
    report.figure("grants listed", grants as f64, "");
    report.figure("requests sent (incl. token)", requests as f64, "");
    report.figure("minimum requests", minimum as f64, "");
    report.figure("429s absorbed (retried)", stats.rate_limited as f64, "");
    report.figure("wall time", wall.as_secs_f64(), "s");
    report.figure("bound", bound, "s");
    report.at_most(
        "users missing",
        (settings.users as u64 - users.min(settings.users as u64)) as f64,
        0.0,
    );
    report.at_most("requests / minimum", requests as f64 / minimum as f64, 1.02);
    report.at_most("wall / bound", wall.as_secs_f64() / bound, 1.25);
    report.at_most("429s surfaced to the caller", surfaced_429 as f64, 0.0);
    report.at_most("other errors surfaced", other_errors as f64, 0.0);

    let sim = SimProcess::start(&spec)?;
    let max = settings.peer_max_seconds.to_string();
    match peer.run("inventory", &sim.base_url, &["--max-seconds", &max])? {
        Some(py) => {
            let label = peer.label();
            let py_wall = py["wall_s"].as_f64().unwrap_or(f64::NAN);
            let py_users = py["users"].as_f64().unwrap_or(f64::NAN);
            report.figure(format!("{label} sequential loop: users"), py_users, "");
            report.figure(
                format!("{label} sequential loop: requests"),
                py["requests"].as_f64().unwrap_or(f64::NAN),
                "",
            );
            report.figure(format!("{label} sequential loop: wall"), py_wall, "s");
            if py["truncated"].as_bool() == Some(true) {
                // Stopped early: compare throughput (users per second) instead of totals.
                report.note(format!(
                    "{label} stopped after {max} s; the speedup compares users per second"
                ));
            }
            let ours = users as f64 / wall.as_secs_f64();
            let theirs = py_users / py_wall;
            report.figure(
                format!("speedup over {label} (users/s)"),
                ours / theirs,
                "×",
            );
        }
        None => report.note(peer.skipped().unwrap_or_default().to_owned()),
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(users: usize) -> Settings {
        Settings {
            users,
            roles: 200,
            latency_ms: 10,
            rate_per_minute: 60_000,
            concurrency: 16,
            peer_max_seconds: 1,
        }
    }

    #[test]
    fn the_minimum_counts_pages_batches_grants_and_the_token() {
        assert_eq!(settings(10_000).minimum_requests(), 20 + 20 + 10_000 + 1);
        assert_eq!(settings(501).minimum_requests(), 2 + 2 + 501 + 1);
        // An empty tenant still takes one page to learn it is empty.
        assert_eq!(settings(0).minimum_requests(), 2);
    }

    #[test]
    fn the_bound_is_whichever_of_rate_and_latency_binds() {
        // 1,000 req/s binds over 16 × 100 req/s of latency.
        assert!((settings(0).bound_secs(10_000) - 10.0).abs() < 1e-9);
        let slow = Settings {
            latency_ms: 100,
            ..settings(0)
        };
        assert!((slow.bound_secs(10_000) - 62.5).abs() < 1e-9);
    }
}

//! Scenario 1, per-call overhead: sequential `queryUserV1` calls on loopback, no added latency.
//!
//! The simulator runs in another process, so this process's CPU time is the client's alone.
//! Sequential calls are measured on a current-thread runtime (`#[tokio::main(flavor =
//! "current_thread")]`, what a script of one-at-a-time calls should use) and, for reference, on
//! the default multi-thread runtime, where each call also pays for handing the connection's
//! work between threads. A bare `reqwest` loop on the same runtime gives the floor any Rust
//! client pays.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Result;
use falcon_users::UserQuery;
use tokio::runtime::{Builder, Runtime};

use crate::measure::own_cpu;
use crate::peer::Peer;
use crate::report::Report;
use crate::sim_process::{CLIENT_ID, CLIENT_SECRET, SimProcess, SimSpec};

/// Ids per answer, the same for every client (the service's default page).
const PAGE: u64 = 100;
const WARM_UP: usize = 20;

/// CPU and wall time of a measured loop.
struct Loop {
    cpu: Duration,
    wall: Duration,
}

impl Loop {
    fn cpu_per_call_us(&self, calls: usize) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / calls as f64
    }
}

/// Runs `calls` calls with each client and compares CPU per call.
pub fn run(peer: &Peer, calls: usize) -> Result<Report> {
    let sim = SimProcess::start(&SimSpec::unlimited(1_000))?;
    let mut report = Report::new("overhead");
    let current = Builder::new_current_thread().enable_all().build()?;
    let ours = current.block_on(ours(&sim.base_url, calls))?;
    let floor = current.block_on(bare_reqwest(&sim.base_url, calls))?;
    let multi = Runtime::new()?.block_on(ours_multi(&sim.base_url, calls))?;
    let ours_us = ours.cpu_per_call_us(calls);
    report.figure("calls", calls as f64, "");
    report.figure("falcon-users CPU per call", ours_us, "µs");
    report.figure(
        "falcon-users calls/s",
        calls as f64 / ours.wall.as_secs_f64(),
        "/s",
    );
    report.figure(
        "bare reqwest CPU per call (floor)",
        floor.cpu_per_call_us(calls),
        "µs",
    );
    report.figure(
        "falcon-users CPU per call, multi-thread runtime",
        multi.cpu_per_call_us(calls),
        "µs",
    );
    let limit = PAGE.to_string();
    let calls_arg = calls.to_string();
    let args = ["--calls", &calls_arg, "--limit", &limit];
    match peer.run("overhead", &sim.base_url, &args)? {
        Some(py) => {
            let py_us = py["cpu_per_call_us"].as_f64().unwrap_or(f64::NAN);
            let label = peer.label();
            report.figure(format!("{label} CPU per call"), py_us, "µs");
            report.figure(
                format!("{label} calls/s"),
                py["calls_per_s"].as_f64().unwrap_or(f64::NAN),
                "/s",
            );
            report.figure(
                format!("{label} / falcon-users, multi-thread runtime"),
                py_us / multi.cpu_per_call_us(calls),
                "×",
            );
            report.at_least(
                format!("{label} CPU / falcon-users CPU per call"),
                py_us / ours_us,
                20.0,
            );
        }
        None => report.note(peer.skipped().unwrap_or_default().to_owned()),
    }
    Ok(report)
}

async fn ours(base_url: &str, calls: usize) -> Result<Loop> {
    let falcon = super::client(base_url)?;
    let query = UserQuery::new().page_size(PAGE);
    for _ in 0..WARM_UP {
        falcon.query_user_ids(&query, 0).await?;
    }
    let (cpu0, t0) = (own_cpu()?, Instant::now());
    for _ in 0..calls {
        black_box(falcon.query_user_ids(&query, 0).await?);
    }
    Ok(Loop {
        cpu: own_cpu()? - cpu0,
        wall: t0.elapsed(),
    })
}

/// The same loop as a task on the multi-thread runtime's workers (how a service runs it).
async fn ours_multi(base_url: &str, calls: usize) -> Result<Loop> {
    let base_url = base_url.to_owned();
    tokio::spawn(async move { ours(&base_url, calls).await }).await?
}

/// The same calls with a bare `reqwest::Client` and a JSON decode: what any Rust client pays.
async fn bare_reqwest(base_url: &str, calls: usize) -> Result<Loop> {
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base_url}/oauth2/token"))
        .form(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
        .send()
        .await?
        .json()
        .await?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );
    let url = format!("{base_url}/user-management/queries/users/v1?offset=0&limit={PAGE}");
    let call = || async {
        let page: serde_json::Value = http
            .get(&url)
            .header("authorization", &bearer)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::Ok(page)
    };
    for _ in 0..WARM_UP {
        call().await?;
    }
    let (cpu0, t0) = (own_cpu()?, Instant::now());
    for _ in 0..calls {
        black_box(call().await?);
    }
    Ok(Loop {
        cpu: own_cpu()? - cpu0,
        wall: t0.elapsed(),
    })
}

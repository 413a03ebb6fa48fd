//! Scenario 1, per-call overhead: sequential `queryUserV1` calls on loopback, no added latency.
//!
//! The simulator runs in another process, so this process's CPU time is the client's alone.
//! Sequential calls are measured on a current-thread runtime (`#[tokio::main(flavor =
//! "current_thread")]`, what a script of one-at-a-time calls should use) and, for reference, on
//! the default multi-thread runtime, where each call also pays for handing the connection's
//! work between threads. A bare `reqwest` loop on the same runtime gives the floor any Rust
//! client pays. The two sides run in turns of [`SLICE`] calls within each round, and the ratio
//! of their CPU is taken per round: on a shared machine the ratio is steadier than either side.

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
const WARM_UP: usize = 200;
/// Rounds of each loop, interleaved; the median round is reported (noise only ever adds CPU).
const ROUNDS: usize = 5;
/// Calls in one slice of a round: each side runs a slice in turn.
const SLICE: usize = 100;

/// Runs `calls` calls per round with each client and compares CPU per call.
pub fn run(peer: &Peer, calls: usize) -> Result<Report> {
    let sim = SimProcess::start(&SimSpec::unlimited(1_000)?)?;
    let mut report = Report::new("overhead");
    let current = Builder::new_current_thread().enable_all().build()?;
    let multi = Runtime::new()?;
    let ours_ct = current.block_on(Ours::ready(&sim.base_url))?;
    let bare = current.block_on(Bare::ready(&sim.base_url))?;
    let ours_mt = multi.block_on(Ours::ready(&sim.base_url))?;
    let (mut ct, mut floor, mut mt, mut walls) = (vec![], vec![], vec![], vec![]);
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let [mut ours, mut bare_cpu, mut multi_cpu, mut wall] = [Duration::ZERO; 4];
        // In slices taken in turn (the order alternating), so that a burst of load on a shared
        // machine falls on both sides of the ratio instead of on one round of one side.
        for (i, n) in slices(calls).enumerate() {
            let mut run_ours = || -> Result<()> {
                let (cpu, w) = current.block_on(ours_ct.measure(n))?;
                (ours, wall) = (ours + cpu, wall + w);
                Ok(())
            };
            let mut run_bare = || -> Result<()> {
                bare_cpu += current.block_on(bare.measure(n))?;
                Ok(())
            };
            if (round + i) % 2 == 0 {
                run_ours()?;
                run_bare()?;
            } else {
                run_bare()?;
                run_ours()?;
            }
            // On the workers, as a service runs it (not in `block_on` on the main thread).
            let on_worker = ours_mt.clone();
            let cpu = multi.block_on(async move {
                tokio::spawn(async move { on_worker.measure(n).await }).await?
            })?;
            multi_cpu += cpu.0;
        }
        ct.push(per_call_us(ours, calls));
        walls.push(calls as f64 / wall.as_secs_f64());
        floor.push(per_call_us(bare_cpu, calls));
        mt.push(per_call_us(multi_cpu, calls));
        ratios.push(ours.as_secs_f64() / bare_cpu.as_secs_f64());
    }
    let ours_us = super::median(ct);
    let multi_us = super::median(mt);
    report.figure("calls per round × rounds", (calls * ROUNDS) as f64, "");
    report.figure("falcon-users CPU per call", ours_us, "µs");
    report.figure("falcon-users calls/s", super::median(walls), "/s");
    report.figure(
        "bare reqwest CPU per call (floor)",
        super::median(floor),
        "µs",
    );
    report.figure(
        "falcon-users CPU per call, multi-thread runtime",
        multi_us,
        "µs",
    );
    report.at_most(
        "falcon-users CPU / bare reqwest CPU per call (median round)",
        super::median(ratios),
        1.1,
    );
    let limit = PAGE.to_string();
    let calls_arg = calls.to_string();
    let args = ["--calls", &calls_arg, "--limit", &limit];
    let mut peer_us = Vec::new();
    let mut peer_rate = Vec::new();
    for _ in 0..3 {
        let Some(py) = peer.run("overhead", &sim.base_url, &args)? else {
            break;
        };
        peer_us.push(py["cpu_per_call_us"].as_f64().unwrap_or(f64::NAN));
        peer_rate.push(py["calls_per_s"].as_f64().unwrap_or(f64::NAN));
    }
    if peer_us.is_empty() {
        report.note(peer.skipped().unwrap_or_default().to_owned());
        return Ok(report);
    }
    let py_us = super::median(peer_us);
    let label = peer.label();
    report.figure(format!("{label} CPU per call (median of 3)"), py_us, "µs");
    report.figure(format!("{label} calls/s"), super::median(peer_rate), "/s");
    report.figure(
        format!("{label} / falcon-users, multi-thread runtime"),
        py_us / multi_us,
        "×",
    );
    report.at_least(
        format!("{label} CPU / falcon-users CPU per call"),
        py_us / ours_us,
        20.0,
    );
    Ok(report)
}

/// `calls` in slices of at most [`SLICE`].
fn slices(calls: usize) -> impl Iterator<Item = usize> {
    (0..calls)
        .step_by(SLICE)
        .map(move |start| SLICE.min(calls - start))
}

fn per_call_us(cpu: Duration, calls: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / calls as f64
}

/// falcon-users, warmed up.
#[derive(Clone)]
struct Ours {
    falcon: falcon_users::Falcon,
    query: UserQuery,
}

impl Ours {
    async fn ready(base_url: &str) -> Result<Self> {
        let ours = Self {
            falcon: super::client(base_url)?,
            query: UserQuery::new().page_size(PAGE),
        };
        for _ in 0..WARM_UP {
            ours.falcon.query_user_ids(&ours.query, 0).await?;
        }
        Ok(ours)
    }

    async fn measure(&self, calls: usize) -> Result<(Duration, Duration)> {
        let (cpu0, t0) = (own_cpu()?, Instant::now());
        for _ in 0..calls {
            black_box(self.falcon.query_user_ids(&self.query, 0).await?);
        }
        Ok((own_cpu()? - cpu0, t0.elapsed()))
    }
}

/// The same calls with a bare `reqwest::Client` and a JSON decode: what any Rust client pays.
struct Bare {
    http: reqwest::Client,
    bearer: String,
    url: String,
}

impl Bare {
    async fn ready(base_url: &str) -> Result<Self> {
        let http = reqwest::Client::new();
        let token: serde_json::Value = http
            .post(format!("{base_url}/oauth2/token"))
            .form(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
            .send()
            .await?
            .json()
            .await?;
        let bare = Self {
            http,
            bearer: format!(
                "Bearer {}",
                token["access_token"].as_str().unwrap_or_default()
            ),
            url: format!("{base_url}/user-management/queries/users/v1?offset=0&limit={PAGE}"),
        };
        for _ in 0..WARM_UP {
            bare.call().await?;
        }
        Ok(bare)
    }

    async fn call(&self) -> Result<serde_json::Value> {
        Ok(self
            .http
            .get(&self.url)
            .header("authorization", &self.bearer)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn measure(&self, calls: usize) -> Result<Duration> {
        let cpu0 = own_cpu()?;
        for _ in 0..calls {
            black_box(self.call().await?);
        }
        Ok(own_cpu()? - cpu0)
    }
}

//! Scenario 1: Per-call overhead: sequential `queryUserV1` calls on loopback, no added latency. The
//! simulator runs in another process, so this process's CPU time is the client's alone.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use falcon_users::UserQuery;

use crate::measure::own_cpu;
use crate::peer::Peer;
use crate::report::Report;
use crate::sim_process::{CLIENT_ID, CLIENT_SECRET, SimProcess, SimSpec};

/// Ids per answer, the same for both clients (the service's default page).
const PAGE: u64 = 100;
const WARM_UP: usize = 20;

/// Runs `calls` calls with each client and compares CPU per call.
pub fn run(peer: &Peer, calls: usize) -> Result<Report> {
    let sim = SimProcess::start(&SimSpec::unlimited(1_000))?;
    let mut report = Report::new("overhead");
    let runtime = if std::env::var_os("BENCH_CURRENT_THREAD").is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Runtime::new()?
    };
    let (cpu, wall) = runtime.block_on(async {
        let falcon = super::client(&sim.base_url)?;
        let query = UserQuery::new().page_size(PAGE);
        for _ in 0..WARM_UP {
            falcon.query_user_ids(&query, 0).await?;
        }
        let (cpu0, t0) = (own_cpu()?, Instant::now());
        for _ in 0..calls {
            black_box(falcon.query_user_ids(&query, 0).await?);
        }
        anyhow::Ok((own_cpu()? - cpu0, t0.elapsed()))
    })?;
    let floor = runtime.block_on(raw_floor(&sim.base_url, calls))?;
    let per_call_us = cpu.as_secs_f64() * 1e6 / calls as f64;
    report.figure("calls", calls as f64, "");
    report.figure("falcon-users CPU per call", per_call_us, "µs");
    report.figure(
        "falcon-users calls/s",
        calls as f64 / wall.as_secs_f64(),
        "/s",
    );
    report.figure(
        "bare reqwest CPU per call (floor)",
        floor.as_secs_f64() * 1e6 / calls as f64,
        "µs",
    );
    let limit = PAGE.to_string();
    let calls_arg = calls.to_string();
    match peer.run(
        "overhead",
        &sim.base_url,
        &["--calls", &calls_arg, "--limit", &limit],
    )? {
        Some(py) => {
            let py_us = py["cpu_per_call_us"].as_f64().unwrap_or(f64::NAN);
            let label = peer.label();
            report.figure(format!("{label} CPU per call"), py_us, "µs");
            report.figure(
                format!("{label} calls/s"),
                py["calls_per_s"].as_f64().unwrap_or(f64::NAN),
                "/s",
            );
            report.at_least(
                format!("{label} CPU / falcon-users CPU per call"),
                py_us / per_call_us,
                20.0,
            );
        }
        None => report.note(peer.skipped().unwrap_or_default().to_owned()),
    }
    Ok(report)
}

/// The same calls with a bare `reqwest::Client` and a JSON decode: what any Rust client pays.
async fn raw_floor(base_url: &str, calls: usize) -> Result<std::time::Duration> {
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
    let cpu0 = own_cpu()?;
    for _ in 0..calls {
        black_box(call().await?);
    }
    Ok(own_cpu()? - cpu0)
}

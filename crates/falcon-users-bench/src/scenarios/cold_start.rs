//! Scenario 4: Cold start: process start to the first successful call, token included, measured from
//! outside (spawn to exit) for both clients, median of several runs.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use falcon_users::UserQuery;

use crate::peer::Peer;
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// Spawns `runs` fresh processes of each client.
pub fn run(peer: &Peer, runs: usize) -> Result<Report> {
    let sim = SimProcess::start(&SimSpec::unlimited(1_000)?)?;
    let mut report = Report::new("cold-start");
    let exe = std::env::current_exe()?;
    let ours = sample(runs, || {
        let mut cmd = Command::new(&exe);
        cmd.args(["first-call", "--base-url", &sim.base_url]);
        cmd
    })?;
    report.figure("falcon-users start → first call (median)", ours, "ms");
    match peer.command("cold-start", &sim.base_url) {
        Some(_) => {
            let theirs = sample(runs, || {
                peer.command("cold-start", &sim.base_url)
                    .expect("checked just above")
            })?;
            let label = peer.label();
            report.figure(
                format!("{label} import → first call (median)"),
                theirs,
                "ms",
            );
            report.figure(format!("{label} / falcon-users"), theirs / ours, "×");
        }
        None => report.note(peer.skipped().unwrap_or_default().to_owned()),
    }
    Ok(report)
}

/// Median wall time in milliseconds of `runs` runs of the command `make` builds.
fn sample(runs: usize, make: impl Fn() -> Command) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut cmd = make();
        let started = Instant::now();
        let status = cmd
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {cmd:?}"))?;
        let elapsed = started.elapsed();
        if !status.success() {
            bail!("{cmd:?} failed ({status})");
        }
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    Ok(super::median(times))
}

/// The child: one token and one call, then exit.
pub async fn first_call(base_url: &str) -> Result<()> {
    let falcon = super::client(base_url)?;
    falcon
        .query_user_ids(&UserQuery::new().page_size(1), 0)
        .await?;
    Ok(())
}

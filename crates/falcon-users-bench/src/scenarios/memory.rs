//! Scenario 3: Memory: a streaming inventory written to `/dev/null`, at two tenant sizes, each in a fresh
//! process that reports its own peak resident set. Constant memory means the two peaks agree.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use falcon_users::UserQuery;
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::measure::{mib, own_peak_rss};
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// Streams an inventory of `sizes[0]` and `sizes[1]` users in child processes.
pub fn run(sizes: [usize; 2], concurrency: usize) -> Result<Report> {
    let mut report = Report::new("memory");
    let mut peaks = Vec::new();
    for users in sizes {
        let sim = SimProcess::start(&SimSpec::unlimited(users)?)?;
        let exe = std::env::current_exe()?;
        let output = Command::new(exe)
            .args(["stream", "--base-url", &sim.base_url, "--out", "/dev/null"])
            .args(["--concurrency", &concurrency.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .context("running the streaming child")?;
        if !output.status.success() {
            bail!("the streaming child failed ({})", output.status);
        }
        let answer: Value = serde_json::from_slice(&output.stdout)
            .context("the streaming child's answer is not JSON")?;
        let streamed = answer["users"].as_u64().unwrap_or(0);
        if streamed != users as u64 {
            bail!("streamed {streamed} users of {users}");
        }
        let peak = mib(answer["peak_rss"].as_u64().unwrap_or(0));
        report.figure(format!("peak RSS, {users} users"), peak, "MiB");
        report.figure(
            format!("wall, {users} users"),
            answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            "s",
        );
        report.at_most(format!("peak RSS MiB, {users} users"), peak, 64.0);
        peaks.push(peak);
    }
    let growth = (peaks[1] - peaks[0]).abs() / peaks[0];
    report.at_most(
        format!("peak RSS difference {} vs {} users", sizes[1], sizes[0]),
        growth,
        0.15,
    );
    Ok(report)
}

/// The child: streams the inventory as JSON lines to `out`, then prints its peak RSS.
pub async fn stream(base_url: &str, out: &str, concurrency: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let falcon = super::client(base_url)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("opening {out}"))?;
    let mut sink = std::io::BufWriter::new(file);
    let mut stream = falcon.inventory(UserQuery::new(), concurrency);
    let mut users = 0u64;
    while let Some(item) = stream.try_next().await? {
        serde_json::to_writer(
            &mut sink,
            &json!({"user": item.user, "grants": item.grants}),
        )?;
        sink.write_all(b"\n")?;
        users += 1;
    }
    sink.flush()?;
    let stats = falcon.stats();
    println!(
        "{}",
        json!({
            "users": users,
            "peak_rss": own_peak_rss()?,
            "wall_s": started.elapsed().as_secs_f64(),
            "requests": stats.requests + stats.token_requests,
        })
    );
    Ok(())
}

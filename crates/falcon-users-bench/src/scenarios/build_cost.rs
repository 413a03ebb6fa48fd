//! Scenario 5: Consumer build cost: a clean `cargo build --release` of a minimal program that uses
//! `falcon-users`, in a fresh target directory. Wall time and the peak memory of the largest
//! compiler process, compared with the reported figures for `rusty_falcon` 0.7.1 (not measured here).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::measure::{children_peak_rss, mib};
use crate::report::Report;

/// `rusty_falcon` 0.7.1 on this machine kind: 6 min 50 s, 7 GB peak (reported, not measured here).
const PEER_WALL: Duration = Duration::from_secs(6 * 60 + 50);
const PEER_PEAK_GB: f64 = 7.0;

const MAIN_RS: &str = r#"use falcon_users::{Falcon, UserQuery};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let falcon = Falcon::from_env()?;
    let page = falcon.query_user_ids(&UserQuery::new(), 0).await?;
    println!("{:?}", page.resources);
    Ok(())
}
"#;

/// Builds the consumer in a child process (so that its memory figure is the build's alone).
pub fn run(workspace: &Path) -> Result<Report> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .arg("build-probe")
        .arg("--workspace")
        .arg(workspace)
        .stderr(Stdio::inherit())
        .output()
        .context("running the build probe")?;
    if !output.status.success() {
        bail!("the build probe failed ({})", output.status);
    }
    let answer: Value =
        serde_json::from_slice(&output.stdout).context("the build probe's answer")?;
    let wall = answer["wall_s"].as_f64().unwrap_or(f64::NAN);
    let peak_mib = mib(answer["peak_rss"].as_u64().unwrap_or(0));
    let mut report = Report::new("build");
    report.figure("clean release build, wall", wall, "s");
    report.figure("largest compiler process, peak RSS", peak_mib, "MiB");
    report.at_most(
        "wall / rusty_falcon's 410 s",
        wall / PEER_WALL.as_secs_f64(),
        0.2,
    );
    report.at_most(
        "peak RSS / rusty_falcon's 7 GB",
        peak_mib / (PEER_PEAK_GB * 1024.0),
        0.2,
    );
    Ok(report)
}

/// The probe: writes the consumer project to a temporary directory and builds it.
pub fn probe(workspace: &Path) -> Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let crate_path = workspace.join("crates/falcon-users");
    let manifest = format!(
        "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nfalcon-users = {{ path = {:?} }}\n\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n\
         [workspace]\n",
        crate_path.display().to_string()
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest)?;
    std::fs::create_dir(dir.path().join("src"))?;
    std::fs::write(dir.path().join("src/main.rs"), MAIN_RS)?;
    // The workspace's lock file pins the same versions (and needs no registry update).
    std::fs::copy(workspace.join("Cargo.lock"), dir.path().join("Cargo.lock"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .stdout(Stdio::null())
        .status()
        .context("running cargo")?;
    let wall = started.elapsed();
    if !status.success() {
        bail!("the consumer did not build ({status})");
    }
    println!(
        "{}",
        json!({"wall_s": wall.as_secs_f64(), "peak_rss": children_peak_rss()?})
    );
    Ok(())
}

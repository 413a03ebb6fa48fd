//! FalconPy, run by `bench/peers/falconpy_bench.py` against the same simulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::sim_process::{CLIENT_ID, CLIENT_SECRET};

/// A FalconPy install ready to run, or why there is none.
pub enum Peer {
    /// The venv's python and the script.
    Ready {
        /// Python inside the script's venv.
        python: PathBuf,
        /// The bench script.
        script: PathBuf,
        /// Installed FalconPy version.
        version: String,
    },
    /// Not available; the reason is printed in the report.
    Skipped(String),
}

impl Peer {
    /// Makes sure the venv exists (the script installs FalconPy into it on first use).
    pub fn setup(workspace: &Path, enabled: bool) -> Self {
        if !enabled {
            return Self::Skipped("peers disabled (--no-peers)".into());
        }
        let script = workspace.join("bench/peers/falconpy_bench.py");
        if !script.exists() {
            return Self::Skipped(format!("{} is missing", script.display()));
        }
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let answer = match run_json(Command::new(&python).arg(&script).arg("setup")) {
            Ok(answer) => answer,
            Err(e) => return Self::Skipped(format!("FalconPy unavailable: {e:#}")),
        };
        if let Some(reason) = answer.get("skipped").and_then(Value::as_str) {
            return Self::Skipped(format!("FalconPy skipped: {reason}"));
        }
        match (
            answer["python"].as_str(),
            answer["falconpy_version"].as_str(),
        ) {
            (Some(python), Some(version)) => Self::Ready {
                python: python.into(),
                script,
                version: version.to_owned(),
            },
            _ => Self::Skipped(format!("unexpected setup answer: {answer}")),
        }
    }

    /// The command that runs `scenario` against `base_url`, if FalconPy is ready.
    pub fn command(&self, scenario: &str, base_url: &str) -> Option<Command> {
        let Self::Ready { python, script, .. } = self else {
            return None;
        };
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg(scenario)
            .args(["--base-url", base_url])
            .args(["--client-id", CLIENT_ID])
            .args(["--client-secret", CLIENT_SECRET]);
        Some(cmd)
    }

    /// Runs `scenario` and returns its JSON answer; `Ok(None)` when FalconPy is not available.
    pub fn run(&self, scenario: &str, base_url: &str, extra: &[&str]) -> Result<Option<Value>> {
        let Some(mut cmd) = self.command(scenario, base_url) else {
            return Ok(None);
        };
        cmd.args(extra);
        run_json(&mut cmd).map(Some)
    }

    /// Why FalconPy is missing, for the report.
    pub fn skipped(&self) -> Option<&str> {
        match self {
            Self::Skipped(reason) => Some(reason),
            Self::Ready { .. } => None,
        }
    }

    /// `FalconPy <version>`, or `FalconPy` when not installed.
    pub fn label(&self) -> String {
        match self {
            Self::Ready { version, .. } => format!("FalconPy {version}"),
            Self::Skipped(_) => "FalconPy".into(),
        }
    }
}

/// Runs a command and parses the last line of its stdout as JSON.
fn run_json(cmd: &mut Command) -> Result<Value> {
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let answer: Value = match last {
        Some(line) => serde_json::from_str(line)
            .with_context(|| format!("the peer printed {line:?}, not JSON"))?,
        None => bail!("the peer printed nothing ({})", output.status),
    };
    if let Some(error) = answer.get("error") {
        bail!("the peer failed: {error}");
    }
    Ok(answer)
}

//! The simulator in its own process, so that the client's CPU time and memory are its own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use falcon_users_sim::{Faults, SimConfig, Simulator};

/// How the benchmark's simulator is set up (also the arguments of the hidden `serve` command).
#[derive(Debug, Clone, clap::Args)]
pub struct SimSpec {
    /// Users in the parent CID.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Custom roles per CID.
    #[arg(long, default_value_t = 20)]
    pub roles: usize,
    /// Latency added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests per minute per client.
    #[arg(long, default_value_t = 100_000_000)]
    pub rate_per_minute: u32,
    /// Requests allowed at once before the rate binds (default: a minute's worth).
    #[arg(long)]
    pub burst: Option<u32>,
    /// Flight Control child CIDs under the parent.
    #[arg(long, default_value_t = 0)]
    pub child_cids: usize,
    /// Users in each child CID.
    #[arg(long, default_value_t = 0)]
    pub users_per_child: usize,
}

impl SimSpec {
    /// `users` in one CID (no children) behind `latency_ms` and a limit of `rate_per_minute`
    /// that binds from the start: the bucket holds one second's worth, not a minute's.
    pub fn rate_bound(users: usize, roles: usize, latency_ms: u64, rate_per_minute: u32) -> Self {
        Self {
            users,
            roles,
            latency_ms,
            rate_per_minute,
            burst: Some((rate_per_minute / 60).max(1)),
            child_cids: 0,
            users_per_child: 0,
        }
    }

    /// No latency, a limit that never binds (the `serve` defaults): the client's own cost.
    pub fn unlimited(users: usize) -> Result<Self> {
        Ok(Self {
            users,
            ..crate::defaults::defaults()?
        })
    }

    fn config(&self) -> SimConfig {
        SimConfig {
            users: self.users,
            users_per_child: Some(self.users_per_child),
            roles: self.roles,
            child_cids: self.child_cids,
            seed: 7,
            port: 0,
            // No real region: FalconPy would follow a real one's `X-Cs-Region` to crowdstrike.com.
            region: "local-1".into(),
            rate_limit_per_minute: self.rate_per_minute,
            rate_limit_burst: self.burst,
            // Inventories of 100k users page past the service's usual ceiling.
            offset_ceiling: u64::MAX,
            faults: Faults {
                latency: Duration::from_millis(self.latency_ms),
                ..Faults::default()
            },
            ..SimConfig::default()
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--users".to_owned(),
            self.users.to_string(),
            "--roles".to_owned(),
            self.roles.to_string(),
            "--latency-ms".to_owned(),
            self.latency_ms.to_string(),
            "--rate-per-minute".to_owned(),
            self.rate_per_minute.to_string(),
            "--child-cids".to_owned(),
            self.child_cids.to_string(),
            "--users-per-child".to_owned(),
            self.users_per_child.to_string(),
        ];
        if let Some(burst) = self.burst {
            args.extend(["--burst".to_owned(), burst.to_string()]);
        }
        args
    }
}

/// A simulator running in a child process; killed when dropped.
pub struct SimProcess {
    child: Child,
    /// Its base URL on 127.0.0.1.
    pub base_url: String,
    /// Its Flight Control child CIDs.
    pub child_cids: Vec<String>,
}

/// The simulator's read-write credentials (fixed by the simulator).
pub const CLIENT_ID: &str = "sim-rw-client";
/// See [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "sim-rw-secret";

impl SimProcess {
    /// Starts `falcon-users-bench serve` with `spec` and waits until it listens.
    pub fn start(spec: &SimSpec) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the bench binary")?;
        let mut child = Command::new(exe)
            .arg("serve")
            .args(spec.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the simulator process")?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the simulator's address")?;
        // `READY <base URL> <child CIDs, comma-separated>`
        let mut words = line.split_whitespace();
        let (Some("READY"), Some(base_url)) = (words.next(), words.next()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the simulator did not start (said {line:?})");
        };
        let child_cids = words
            .next()
            .map(|list| list.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            base_url: base_url.to_owned(),
            child_cids,
            child,
        })
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `serve` command: runs the simulator until stdin closes (the parent went away).
pub async fn serve(spec: SimSpec) -> Result<()> {
    let sim = Simulator::start(spec.config())
        .await
        .context("starting the simulator")?;
    println!(
        "READY {} {}",
        sim.base_url_str(),
        sim.child_cids().join(",")
    );
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut stdin, &mut sink).await;
    Ok(())
}

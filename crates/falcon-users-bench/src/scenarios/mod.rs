//! The scenarios of the benchmark, one module each.

pub mod build_cost;
pub mod bulk_provision;
pub mod cold_start;
pub mod fleet;
pub mod flight;
pub mod history;
pub mod inventory;
pub mod lag;
pub mod memory;
pub mod overhead;
pub mod page;
pub mod reconcile;

use anyhow::{Context, Result};
use falcon_users::{Cloud, Falcon};
use url::Url;

use crate::sim_process::{CLIENT_ID, CLIENT_SECRET};

/// The client as a user would build it, pointed at the simulator.
pub fn client(base_url: &str) -> Result<Falcon> {
    let url = Url::parse(base_url).context("simulator URL")?;
    Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .cloud(Cloud::Custom(url))
        .build()
        .context("building the client")
}

/// The time `requests` take at best: `max(requests / rate, requests × latency / concurrency)`,
/// in seconds (what the rate limit and the latency allow, whichever binds).
pub fn bound_secs(requests: u64, rate_per_minute: u32, latency_ms: u64, concurrency: usize) -> f64 {
    let rate = f64::from(rate_per_minute) / 60.0;
    let by_rate = requests as f64 / rate;
    let by_latency = requests as f64 * (latency_ms as f64 / 1000.0) / concurrency.max(1) as f64;
    by_rate.max(by_latency)
}

/// Runs this binary with `args` (one of its hidden child commands, in a fresh process so that
/// its peak memory is its own) and reads the JSON answer it prints.
pub fn child(args: &[&str]) -> Result<serde_json::Value> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running the {} child", args[0]))?;
    if !output.status.success() {
        anyhow::bail!("the {} child failed ({})", args[0], output.status);
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("the {} child's answer is not JSON", args[0]))
}

/// Median of a non-empty sample.
pub fn median(mut sample: Vec<f64>) -> f64 {
    sample.sort_by(f64::total_cmp);
    let n = sample.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sample[n / 2]
    } else {
        (sample[n / 2 - 1] + sample[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }
}

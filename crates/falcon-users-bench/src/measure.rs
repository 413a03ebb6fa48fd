//! CPU time and peak memory, from the kernel's own accounting (`getrusage`, `/proc`).

use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::resource::{UsageWho, getrusage};

/// CPU time (user + system) this process has used so far, all threads.
pub fn own_cpu() -> Result<Duration> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage(self)")?;
    Ok(to_duration(usage.user_time()) + to_duration(usage.system_time()))
}

/// Peak resident set of the largest descendant this process has waited for, in bytes.
///
/// The kernel folds grandchildren in when their parents waited for them (cargo waits for
/// rustc), so this is the largest single compiler process of a build.
pub fn children_peak_rss() -> Result<u64> {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage(children)")?;
    // Linux reports kilobytes.
    Ok(u64::try_from(usage.max_rss()).unwrap_or(0) * 1024)
}

/// Peak resident set of this process (`VmHWM`), in bytes.
pub fn own_peak_rss() -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    vm_hwm(&status).context("no VmHWM line in /proc/self/status")
}

fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn to_duration(t: nix::sys::time::TimeVal) -> Duration {
    Duration::new(
        u64::try_from(t.tv_sec()).unwrap_or(0),
        u32::try_from(t.tv_usec()).unwrap_or(0) * 1000,
    )
}

/// Bytes to MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(vm_hwm(status), Some(2048 * 1024));
        assert_eq!(vm_hwm("Name: x"), None);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = own_cpu().unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(own_cpu().unwrap() > before, "{x}");
        assert!(own_peak_rss().unwrap() > 0);
    }
}

//! The record of one run that `--summary-json FILE` writes for a monitoring system: the
//! command, when it ran, how it ended (the exit code and its reason), the requests it made and
//! the counts its renderers saw (a plan's changes, each change's outcome, the findings). One per
//! process, like stderr: every renderer adds to it without the record passing through each
//! command's signature.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use falcon_users::StatsSnapshot;
use serde::Serialize;

use crate::exit;

/// What a monitoring system reads after a run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `falcon-users`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// The command as typed, subcommands joined by spaces (`review apply`).
    pub command: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The process's exit code.
    pub exit_code: u8,
    /// The exit code in a word (`ok`, `partial`, `findings`, ...; see the README's table).
    pub exit_reason: &'static str,
    /// The error printed, for a run that failed.
    pub message: Option<String>,
    /// What the client sent, for a command that connected.
    pub requests: Option<Requests>,
    /// The counts the command's output showed, by name (`plan.create`, `result.done`,
    /// `findings.privileged`, ...); a count the command shows is present even when 0.
    pub counts: BTreeMap<String, u64>,
}

/// The requests of a run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Requests {
    /// Every request sent (tokens included).
    pub total: u64,
    /// Sent again after a retryable failure.
    pub retried: u64,
    /// Answered 429.
    pub rate_limited: u64,
}

struct Run {
    command: String,
    started: DateTime<Utc>,
    counts: BTreeMap<String, u64>,
    requests: Option<Requests>,
    /// The exit code and error message, once the outcome is known.
    ended: Option<(u8, Option<String>)>,
}

/// The run being recorded; `None` when `--summary-json` was not given (every call is then a
/// no-op).
static RUN: Mutex<Option<Run>> = Mutex::new(None);

/// The record's slot. A renderer that panicked mid-count poisons nothing worth refusing: the
/// counts are taken as they are.
fn slot() -> MutexGuard<'static, Option<Run>> {
    RUN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn with_run(f: impl FnOnce(&mut Run)) {
    if let Some(run) = slot().as_mut() {
        f(run);
    }
}

/// Starts recording a run of `command`.
pub fn start(command: String) {
    *slot() = Some(Run {
        command,
        started: Utc::now(),
        counts: BTreeMap::new(),
        requests: None,
        ended: None,
    });
}

/// Adds `n` to the count `name` (created at 0, so a count shown as zero is in the record).
pub fn count(name: impl Into<String>, n: u64) {
    let name = name.into();
    with_run(|run| *run.counts.entry(name).or_insert(0) += n);
}

/// Records what the client sent (the last reading wins).
pub fn requests(stats: &StatsSnapshot) {
    let requests = Requests {
        total: stats.requests,
        retried: stats.retries,
        rate_limited: stats.rate_limited,
    };
    with_run(|run| run.requests = Some(requests));
}

/// Notes how the run ended: its exit code and the error printed, if any.
pub fn ended(exit_code: u8, message: Option<String>) {
    with_run(|run| run.ended = Some((exit_code, message)));
}

/// Takes the record, ended as [`ended`] said; `None` when none was started.
pub fn finish() -> Option<Summary> {
    let run = slot().take()?;
    let finished = Utc::now();
    let (exit_code, message) = run.ended.unwrap_or((0, None));
    Some(Summary {
        tool: "falcon-users",
        version: env!("CARGO_PKG_VERSION"),
        command: run.command,
        started_at: run.started.to_rfc3339_opts(SecondsFormat::Millis, true),
        finished_at: finished.to_rfc3339_opts(SecondsFormat::Millis, true),
        duration_ms: u64::try_from((finished - run.started).num_milliseconds()).unwrap_or(0),
        exit_code,
        exit_reason: exit::reason(exit_code),
        message,
        requests: run.requests,
        counts: run.counts,
    })
}

//! Scenario 10: History: a review of a 100,000-user tenant recorded into the history (each row
//! handed to the history as it is judged), a second one recorded with every hundredth user left
//! out (1,000 leavers, their roles lost), and the diff of the two; each in a fresh process that
//! reports its own peak resident set. A review of the same tenant recording nothing is the
//! baseline the recording's cost is read against.

use anyhow::{Result, bail};
use falcon_users::history::{History, SnapshotKind, SnapshotMeta};
use falcon_users::workflows::review::Review;
use serde_json::json;

use crate::measure::{mib, own_peak_rss};
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// Reviews (and records) a `users`-user tenant twice, then diffs the two snapshots.
pub fn run(users: usize, concurrency: usize) -> Result<Report> {
    let mut report = Report::new("history");
    let sim = SimProcess::start(&SimSpec::unlimited(users)?)?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("history.sqlite");
    let db = db.to_str().unwrap_or_default().to_owned();
    let concurrency = concurrency.to_string();
    let review = |skip_every: &str, record: bool| {
        let mut args = vec![
            "history-record",
            "--base-url",
            &sim.base_url,
            "--db",
            &db,
            "--concurrency",
            &concurrency,
            "--skip-every",
            skip_every,
        ];
        if !record {
            args.push("--no-record");
        }
        super::child(&args)
    };
    let baseline = review("0", false)?;
    let first = review("0", true)?;
    let second = review("100", true)?;
    for (name, answer) in [
        ("review, not recorded", &baseline),
        ("review recorded (1st snapshot)", &first),
        ("review recorded (2nd snapshot)", &second),
    ] {
        if answer["users"].as_u64() != Some(users as u64) {
            bail!("{name}: reviewed {} users of {users}", answer["users"]);
        }
        report.figure(
            format!("wall, {name}"),
            answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            "s",
        );
        report.figure(
            format!("peak RSS, {name}"),
            mib(answer["peak_rss"].as_u64().unwrap_or(0)),
            "MiB",
        );
    }
    report.figure(
        "commit of the 1st snapshot (one transaction)",
        first["commit_s"].as_f64().unwrap_or(f64::NAN),
        "s",
    );
    let diff = super::child(&["history-diff", "--db", &db])?;
    let leavers = diff["leavers"].as_u64().unwrap_or(0);
    if leavers != (users / 100) as u64 {
        bail!("the diff found {leavers} leavers, not {}", users / 100);
    }
    let diff_wall = diff["wall_s"].as_f64().unwrap_or(f64::NAN);
    report.figure("wall, diff of the two snapshots", diff_wall, "s");
    let diff_peak = mib(diff["peak_rss"].as_u64().unwrap_or(0));
    report.figure("peak RSS, diff", diff_peak, "MiB");
    report.figure(
        "changes in the diff",
        diff["changes"].as_f64().unwrap_or(f64::NAN),
        "",
    );
    report.figure(
        "history file",
        mib(std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)),
        "MiB",
    );
    let recorded_peak = mib(first["peak_rss"].as_u64().unwrap_or(0));
    let baseline_peak = mib(baseline["peak_rss"].as_u64().unwrap_or(0));
    report.at_most(
        "peak RSS MiB added by recording",
        recorded_peak - baseline_peak,
        16.0,
    );
    report.at_most("peak RSS MiB, diff", diff_peak, 64.0);
    report.at_most(
        "diff wall / recorded review wall",
        diff_wall / first["wall_s"].as_f64().unwrap_or(f64::NAN),
        0.25,
    );
    Ok(report)
}

/// The child: one review of the tenant at `base_url`, each row recorded into the history at
/// `db` unless `record` is false (every `skip_every`th user left out of the snapshot when not
/// 0); prints users, wall time, the commit's time and its peak RSS.
pub async fn record(
    base_url: &str,
    db: &str,
    concurrency: usize,
    skip_every: usize,
    record: bool,
) -> Result<()> {
    let started = std::time::Instant::now();
    let falcon = super::client(base_url)?;
    let mut history = History::open(std::path::Path::new(db))?;
    let mut writer = if record { Some(history.begin()?) } else { None };
    let mut seen = 0usize;
    let mut failed = None;
    let review = Review::new().concurrency(concurrency);
    let report = falcon
        .review_observed(&review, |_, row, book| {
            seen += 1;
            if skip_every > 0 && seen.is_multiple_of(skip_every) {
                return;
            }
            if let Some(w) = writer.as_mut()
                && let Err(e) = w.reviewed(row.user.cid.as_deref().unwrap_or_default(), row, book)
            {
                failed = Some(e);
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let mut commit_s = 0.0;
    if let Some(mut w) = writer {
        for finding in &report.findings {
            w.finding(finding)?;
        }
        let committing = std::time::Instant::now();
        let meta = SnapshotMeta::from_evidence(
            SnapshotKind::Review,
            &falcon.evidence("review", &[]).await,
        );
        w.commit(meta)?;
        commit_s = committing.elapsed().as_secs_f64();
    }
    println!(
        "{}",
        json!({
            "users": report.summary.users,
            "wall_s": started.elapsed().as_secs_f64(),
            "commit_s": commit_s,
            "peak_rss": own_peak_rss()?,
        })
    );
    Ok(())
}

/// The child: the diff of the history's last two snapshots, every change read and counted;
/// prints the counts, wall time and peak RSS.
pub fn diff(db: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let history = History::open(std::path::Path::new(db))?;
    let (a, b) = history.last_two()?;
    let mut changes = 0u64;
    let summary = history.diff(a.id, b.id, |_| {
        changes += 1;
        Ok(())
    })?;
    println!(
        "{}",
        json!({
            "leavers": summary.total.leavers,
            "changes": changes,
            "wall_s": started.elapsed().as_secs_f64(),
            "peak_rss": own_peak_rss()?,
        })
    );
    Ok(())
}

//! `history list | show | diff | who-had`: the review history, read from its database without
//! connecting anywhere. Rows go through the output module (table, CSV, JSON lines), each
//! streamed from the database as it is read; the summary goes to stderr.

use std::io::{self, Write};
use std::process::ExitCode;

use chrono::SecondsFormat;
use falcon_users::history::{DiffCounts, History, SignOff, Snapshot};
use serde::Serialize;

use crate::cli::{Global, HistoryCommand, HistoryFile};
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::history_file;
use crate::output::escape::for_terminal;
use crate::output::{self, Format, JsonLayout, Layout, RowWriter, console};
use crate::records::{ChangeRow, HoldingRow, SignedDecisionRow, SnapshotRow};

/// Runs `history ...`.
pub fn run(global: &Global, command: HistoryCommand) -> Outcome {
    let layout = Layout {
        format: output::resolve(global.format.and_then(output::FormatArg::records)),
        json: JsonLayout::Lines,
    };
    match command {
        HistoryCommand::List(file) => {
            let history = open(global, &file)?;
            let rows: Vec<SnapshotRow> = history
                .list()
                .map_err(history_file::failure)?
                .into_iter()
                .map(SnapshotRow)
                .collect();
            output::print_all(layout.format, &rows)?;
        }
        HistoryCommand::Show { id, file } => {
            let history = open(global, &file)?;
            let review = history.snapshot(id).map_err(history_file::failure)?;
            let sign_offs = history.sign_offs(id).map_err(history_file::failure)?;
            show(layout.format, &review, &sign_offs)?;
        }
        HistoryCommand::Diff { from, to, file } => {
            let history = open(global, &file)?;
            let (from, to) = match (from, to) {
                (Some(a), Some(b)) => (a, b),
                (Some(a), None) => (a, history.last_two().map_err(history_file::failure)?.1.id),
                _ => {
                    let (a, b) = history.last_two().map_err(history_file::failure)?;
                    (a.id, b.id)
                }
            };
            let mut writer =
                RowWriter::<ChangeRow, _>::new(io::BufWriter::new(io::stdout().lock()), layout)?;
            let summary = history
                .diff(from, to, |change| writer.write(&ChangeRow(change)))
                .map_err(history_file::failure)?;
            writer.finish()?.flush()?;
            let (a, b) = (snapshot_time(&history, from)?, snapshot_time(&history, to)?);
            console::line(format_args!(
                "history diff {from} ({a}) → {to} ({b}): {}",
                counts(&summary.total)
            ));
            if summary.per_cid.len() > 1 {
                for (cid, n) in &summary.per_cid {
                    console::line(format_args!("  {cid}: {}", counts(n)));
                }
            }
        }
        HistoryCommand::WhoHad {
            role,
            on,
            cid,
            file,
        } => {
            let history = open(global, &file)?;
            let mut writer =
                RowWriter::<HoldingRow, _>::new(io::BufWriter::new(io::stdout().lock()), layout)?;
            let answer = history
                .who_had(&role, on.from, on.to, cid.as_deref(), |holding| {
                    writer.write(&HoldingRow::from(holding))
                })
                .map_err(history_file::failure)?;
            writer.finish()?.flush()?;
            let side = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("none".to_owned(), |t| {
                    t.to_rfc3339_opts(SecondsFormat::Secs, true)
                })
            };
            console::line(format_args!(
                "{} ({}): {} holders, {} for sure; snapshots around the date: before {}, after {}",
                role,
                answer.role_ids.join(", "),
                answer.holders,
                answer.sure,
                side(answer.before),
                side(answer.after)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The history to read: it must exist (reading never creates one).
fn open(global: &Global, file: &HistoryFile) -> Result<History, Failure> {
    let (path, _) = history_file::path(global, file.history.as_deref())?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Failure::Exit(
            exit::USAGE,
            format!(
                "no history at {}: `review` records one (or give --history FILE)",
                path.display()
            ),
        ));
    }
    History::open(&path).map_err(history_file::failure)
}

fn snapshot_time(history: &History, id: i64) -> Result<String, Failure> {
    Ok(history
        .snapshot(id)
        .map_err(history_file::failure)?
        .taken_at
        .to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// `2 joiners, 1 leaver, 3 roles gained (1 privileged), 0 lost`.
fn counts(n: &DiffCounts) -> String {
    format!(
        "{} joiners, {} leavers, {} roles gained ({} privileged), {} roles lost",
        n.joiners, n.leavers, n.roles_gained, n.privileged_gained, n.roles_lost
    )
}

/// `history show`: the review and each of its sign-offs, as one JSON document, or as lines
/// and a table of the decisions (CSV: the decisions alone, the rest on stderr).
fn show(format: Format, review: &Snapshot, sign_offs: &[SignOff]) -> Result<(), Failure> {
    #[derive(Serialize)]
    struct Shown<'a> {
        review: &'a Snapshot,
        sign_offs: &'a [SignOff],
    }
    if format == Format::Json {
        output::print_json(&Shown { review, sign_offs })?;
        return Ok(());
    }
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut lines = vec![format!(
        "{} {}: {}, CID {}, cloud {}: {} users, {} findings (sha256:{})",
        review.kind,
        review.id,
        stamp(review.taken_at),
        review.cid,
        review.cloud,
        review.users,
        review.findings,
        review.digest
    )];
    if sign_offs.is_empty() {
        lines.push("not signed off (`review apply` signs a review off)".to_owned());
    }
    let say = |lines: &[String]| -> Result<(), Failure> {
        if format == Format::Csv {
            for line in lines {
                console::line(format_args!("{}", for_terminal(line)));
            }
            Ok(())
        } else {
            Ok(output::print_lines(lines)?)
        }
    };
    say(&lines)?;
    for s in sign_offs {
        let decided = |d: &str| s.decisions.iter().filter(|x| x.decision == d).count();
        let lines = vec![
            format!(
                "sign-off {}: by {} at {}; {} rows: {} kept, {} revoked, {} offboarded, {} skipped; {}",
                s.id,
                s.reviewer,
                stamp(s.signed_at),
                s.decisions.len(),
                decided("keep"),
                decided("revoke"),
                decided("offboard"),
                decided(""),
                if s.complete {
                    "every change done"
                } else {
                    "NOT every change done (see each result)"
                }
            ),
            format!("  sheet: {} (sha256:{})", s.sheet, s.sheet_sha256),
            match s.after {
                Some(after) => format!(
                    "  snapshot after: {after} (`history diff {} {after}` shows the changes)",
                    s.review
                ),
                None => "  snapshot after: none could be recorded".to_owned(),
            },
        ];
        say(&lines)?;
        let rows: Vec<SignedDecisionRow> =
            s.decisions.iter().cloned().map(SignedDecisionRow).collect();
        output::print_all(format, &rows)?;
    }
    Ok(())
}

//! `review`: the access review. One inventory read (and the roles with their permissions once
//! per CID), then the findings: a summary (per kind, per role) and a row per finding, as a
//! table, CSV or JSON, to stdout or a file written all or nothing. `--fail-on` turns findings
//! of the named kinds into exit 8 for scheduled jobs. `--decisions` also writes the sheet a
//! reviewer fills in (`review apply` carries it out: the `decisions` command).

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, SubsecRound, Utc};
use falcon_users::history::Snapshot;
use falcon_users::workflows::evidence::{self, Verdict};
use falcon_users::workflows::review::decisions::{DecisionRow, EVIDENCE_KIND};
use falcon_users::workflows::review::{Basis, FindingKind, Review, ReviewReport, ReviewSummary};
use serde::Serialize;

use crate::cli::{ReviewArgs, VerifyArgs};
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::history_file::{Recording, commit_review, review_evidence, stage};
use crate::output::Format;
use crate::output::console;
use crate::output::escape::EscapedJson;
use crate::output::escape::for_terminal;
use crate::output::evidence::{EvidenceFile, verdict_json, verdict_lines, write_sealed, written};
use crate::output::file::OutputFile;
use crate::output::page;
use crate::output::requests_summary;
use crate::output::{self, JsonLayout, Layout, RowWriter, table};
use crate::records::{DecisionRecord, FindingRow};
use crate::summary;

/// Runs `review`.
pub async fn run(ctx: &Ctx, args: ReviewArgs) -> Outcome {
    // A page: `-f html`, or no -f and a file named .html.
    let page = ctx.html
        || (ctx.explicit_format.is_none()
            && args.output.as_deref().is_some_and(output::names_a_page));
    // A review is one document, not a stream: JSON is one object unless a .jsonl file asks
    // for lines.
    let layout = if page {
        None
    } else {
        Some(
            output::layout(
                ctx.explicit_format,
                args.output.as_deref(),
                JsonLayout::Document,
            )
            .map_err(|why| Failure::Exit(exit::USAGE, why))?,
        )
    };
    let member_cids = args.member_cids.clone().map(|m| m.0).unwrap_or_default();
    // Judged at one stated time, which the evidence records.
    let mut review = Review::new()
        .stale_days(args.stale_days)
        .expiring_days(args.expiring_days)
        .now(DateTime::<Utc>::from(ctx.falcon.clock().now()).trunc_subsecs(0))
        .member_cids(member_cids.clone())
        .concurrency(args.concurrency)
        .children(args.children);
    if let Some(roles) = args.privileged_roles.clone() {
        review = review.privileged_roles(roles);
    }
    // Opened before the review; a history that cannot be used is reported after the output.
    let mut recording = Recording::default();
    let mut history = recording.open(ctx);
    let mut writer = history
        .as_mut()
        .and_then(|h| h.begin().map_err(|e| recording.fail(e)).ok());
    let report = ctx
        .falcon
        .review_observed(&review, |cid, row, book| {
            stage(&mut writer, &mut recording, cid, row, book);
        })
        .await?;
    for (cid, err) in &report.failed {
        console::line(format_args!("error: child CID {cid}: {err}"));
    }
    count_review(&report.summary, report.failed.len());
    let links_unread = report
        .links_unread
        .as_ref()
        .map(falcon_users::workflows::LinkReach::unread_note);
    if let Some(note) = &links_unread {
        console::line(format_args!("note: {note}"));
    }
    let mut kept_evidence = None;
    match (layout, &args.output) {
        // The page is evidence wherever it goes.
        (None, output) => {
            let evidence = review_evidence(&ctx.falcon, &review, &args.fail_on, &report).await;
            kept_evidence = Some(evidence.clone());
            match output {
                Some(path) => {
                    let file = OutputFile::create(path)?;
                    let (file, digest) = page::write(file, &document(&report), evidence)?;
                    file.commit()?;
                    written(path, &digest);
                }
                None => {
                    let out = io::BufWriter::new(io::stdout().lock());
                    page::write(out, &document(&report), evidence)?.0.flush()?;
                }
            }
        }
        (Some(layout), Some(path)) => {
            // A table is for people; every other file is evidence.
            let evidence = match layout.format {
                Format::Table => None,
                _ => {
                    let evidence =
                        review_evidence(&ctx.falcon, &review, &args.fail_on, &report).await;
                    kept_evidence = Some(evidence.clone());
                    Some(evidence)
                }
            };
            match (layout.format, layout.json, evidence) {
                // The document carries its evidence, written as it is serialized.
                (Format::Json, JsonLayout::Document, Some(evidence)) => {
                    let file = OutputFile::create(path)?;
                    let (file, digest) = write_sealed(file, &document(&report), evidence)?;
                    file.commit()?;
                    written(path, &digest);
                }
                (_, _, evidence) => {
                    let mut file = EvidenceFile::create(path)?;
                    write(&mut file, layout, &report)?;
                    file.commit(evidence)?;
                }
            }
        }
        (Some(layout), None) => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            write(&mut out, layout, &report)?;
            out.flush()?;
        }
    }
    // The summary goes on stderr unless the table on stdout already shows it.
    if args.output.is_some() || layout.is_none_or(|l| l.format != Format::Table) {
        for line in summary_lines(&report.summary) {
            console::line(format_args!("{line}"));
        }
    }
    console::line(format_args!("{}", basis_line(&report)));
    console::line(requests_summary(&ctx.falcon.stats()));
    // Recorded once the output is written: a history that fails never costs the review.
    let mut recorded = None;
    if let Some(writer) = writer {
        let evidence = match kept_evidence {
            Some(evidence) => evidence,
            None => review_evidence(&ctx.falcon, &review, &args.fail_on, &report).await,
        };
        let snapshot = commit_review(writer, &report, &evidence);
        recorded = snapshot.as_ref().ok().cloned();
        recording.recorded(snapshot);
    }
    // The sheet names the review's snapshot: written once it is recorded.
    if let Some(path) = &args.decisions {
        match &recorded {
            Some(snapshot) => {
                write_sheet(ctx, path, &review, &args.fail_on, &report, snapshot).await?;
            }
            None => console::line(format_args!(
                "error: the decision sheet {} was not written: it names the review's snapshot, which is not in the history",
                for_terminal(&path.display().to_string())
            )),
        }
    }
    if let Some(code) = recording.report("review") {
        return Ok(code);
    }
    // The handle's own CID was reviewed (its failure ends the review); a child that could
    // not be is a partial review, whatever else was found.
    if !report.failed.is_empty() {
        return Ok(ExitCode::from(exit::PARTIAL));
    }
    let hits: Vec<String> = args
        .fail_on
        .iter()
        .filter(|kind| report.summary.findings.get(kind).copied().unwrap_or(0) > 0)
        .map(|kind| format!("{kind} ({})", report.summary.findings[kind]))
        .collect();
    if hits.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        console::line(format_args!(
            "warning: --fail-on: found {}",
            hits.join(", ")
        ));
        Ok(ExitCode::from(exit::FINDINGS))
    }
}

/// Writes the decision sheet of `report` (recorded as `snapshot`) to `path`, with its evidence
/// (the review's, naming the snapshot and its digest) beside it.
async fn write_sheet(
    ctx: &Ctx,
    path: &Path,
    review: &Review,
    fail_on: &[FindingKind],
    report: &ReviewReport,
    snapshot: &Snapshot,
) -> Result<(), Failure> {
    let rows = DecisionRow::of_findings(&report.findings);
    let mut evidence = review_evidence(&ctx.falcon, review, fail_on, report)
        .await
        .option("review_snapshot", snapshot.id)
        .option("review_snapshot_digest", &snapshot.digest);
    evidence.kind = EVIDENCE_KIND.to_owned();
    let csv = Layout {
        format: Format::Csv,
        json: JsonLayout::Lines,
    };
    let mut file = EvidenceFile::create(path)?;
    let mut writer = RowWriter::<DecisionRecord, _>::new(&mut file, csv)?;
    for row in &rows {
        writer.write(&DecisionRecord(row.clone()))?;
    }
    writer.finish()?;
    file.commit(Some(evidence))?;
    let shown = for_terminal(&path.display().to_string()).into_owned();
    console::line(format_args!(
        "decision sheet: {shown} ({} rows, review {}): fill in `decision` (keep, revoke or \
         offboard) and `comment`, then `falcon-users review apply {shown}`",
        rows.len(),
        snapshot.id
    ));
    Ok(())
}

/// The whole JSON document.
#[derive(Serialize)]
struct Document<'a> {
    summary: &'a ReviewSummary,
    findings: &'a [falcon_users::workflows::review::Finding],
    roles: &'a [falcon_users::workflows::review::RoleVerdict],
    deleted_during_review: u64,
}

/// The report as one JSON document.
fn document(report: &ReviewReport) -> Document<'_> {
    Document {
        summary: &report.summary,
        findings: &report.findings,
        roles: &report.roles,
        deleted_during_review: report.deleted,
    }
}

/// Writes the report in `layout`: a table is the summary and then the findings; CSV the
/// findings; JSON one document (summary, findings, role verdicts) or, as lines, a finding a
/// line.
fn write<W: Write>(out: &mut W, layout: Layout, report: &ReviewReport) -> io::Result<()> {
    match (layout.format, layout.json) {
        (Format::Json, JsonLayout::Document) => {
            let out = EscapedJson::new(out).serialize(&document(report), true)?;
            writeln!(out)
        }
        (Format::Table, _) => {
            for line in summary_lines(&report.summary) {
                writeln!(out, "{}", for_terminal(&line))?;
            }
            writeln!(out, "{}", role_table(&report.summary))?;
            rows(out, layout, report)
        }
        _ => rows(out, layout, report),
    }
}

fn rows<W: Write>(out: &mut W, layout: Layout, report: &ReviewReport) -> io::Result<()> {
    let mut writer = RowWriter::<FindingRow, _>::new(out, layout)?;
    for finding in &report.findings {
        writer.write(&FindingRow(finding.clone()))?;
    }
    writer.finish().map(drop)
}

/// `review: 200 users; 171 findings: no-roles 25, privileged 30, ...`.
/// The review's counts for the run's summary: users, findings in all and by kind (each kind
/// present, 0 included), the CIDs that could not be reviewed.
fn count_review(review: &ReviewSummary, failed_cids: usize) {
    summary::count("review.users", review.users);
    summary::count("review.failed_cids", failed_cids as u64);
    summary::count("findings.total", review.findings.values().sum::<u64>());
    for kind in FindingKind::ALL {
        let n = review.findings.get(&kind).copied().unwrap_or(0);
        summary::count(format!("findings.{kind}"), n);
    }
}

fn summary_lines(summary: &ReviewSummary) -> Vec<String> {
    let total: u64 = summary.findings.values().sum();
    let kinds: Vec<String> = FindingKind::ALL
        .iter()
        .map(|kind| {
            format!(
                "{kind} {}",
                summary.findings.get(kind).copied().unwrap_or(0)
            )
        })
        .collect();
    vec![format!(
        "review: {} users; {total} findings: {}",
        summary.users,
        kinds.join(", ")
    )]
}

/// The roles held, with how many hold each and the findings that name it: privileged roles
/// first, then by name.
fn role_table(summary: &ReviewSummary) -> comfy_table::Table {
    let mut roles: Vec<_> = summary.roles.iter().collect();
    roles.sort_by(|a, b| {
        (!a.privileged, &a.role_name, &a.role_id).cmp(&(!b.privileged, &b.role_name, &b.role_id))
    });
    let rows = roles.into_iter().map(|role| {
        let findings: Vec<String> = role
            .findings
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        [
            role.role_id.clone(),
            role.role_name.clone(),
            if role.privileged { "yes" } else { "" }.to_owned(),
            role.holders.to_string(),
            findings.join(", "),
        ]
        .into_iter()
        .map(|cell| for_terminal(&cell).into_owned())
        .collect::<Vec<String>>()
    });
    table(
        vec!["role", "role_name", "privileged", "holders", "findings"],
        rows,
    )
}

/// How privilege was judged, said once.
fn basis_line(report: &ReviewReport) -> String {
    let count = |basis| report.roles.iter().filter(|r| r.basis == basis).count();
    let privileged: Vec<&str> = report
        .roles
        .iter()
        .filter(|r| r.privileged)
        .map(|r| r.role_id.as_str())
        .collect();
    let how = match (count(Basis::Override), count(Basis::Fallback)) {
        (n, _) if n > 0 => "as --privileged-roles names them".to_owned(),
        (_, 0) => "from the permissions of each role".to_owned(),
        (_, n) if n == report.roles.len() => {
            "from the built-in administrator roles (the role permissions could not be read)"
                .to_owned()
        }
        (_, n) => format!(
            "from the permissions of each role ({n} roles without known permissions: from the \
             built-in administrator roles)"
        ),
    };
    format!(
        "privileged roles, judged {how}: {}",
        if privileged.is_empty() {
            "none".to_owned()
        } else {
            for_terminal(&privileged.join(", ")).into_owned()
        }
    )
}

/// Runs `review verify FILE`: reads the file (and its sidecar, or the data file beside a
/// sidecar), says whether it is intact and what it covers. Exit 0 intact, 9 altered, 2 not
/// evidence (or not readable).
pub fn verify(args: &VerifyArgs, json: bool) -> Outcome {
    let given = &args.file;
    let name = given.to_string_lossy();
    let (data_path, sidecar_path) = match name.strip_suffix(evidence::SIDECAR_SUFFIX) {
        Some(data) => (std::path::PathBuf::from(data), given.clone()),
        None => (given.clone(), output::evidence::sidecar_path(given)),
    };
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| {
            Failure::Exit(
                exit::USAGE,
                format!(
                    "cannot read {}: {e}",
                    for_terminal(&path.display().to_string())
                ),
            )
        })
    };
    let data = read(&data_path)?;
    // A sidecar named on the command line must be there; beside a data file, it may not be.
    let sidecar = if sidecar_path.exists() || &sidecar_path == given {
        Some(read(&sidecar_path)?)
    } else {
        None
    };
    let verdict = evidence::verify(&data, sidecar.as_deref());
    let shown = data_path.display().to_string();
    match &verdict {
        Verdict::NotEvidence(why) => Err(Failure::Exit(
            exit::USAGE,
            format!(
                "{} is not evidence: {why}; CSV and JSON lines carry theirs in {}",
                for_terminal(&shown),
                for_terminal(&sidecar_path.display().to_string())
            ),
        )),
        Verdict::Intact(_) | Verdict::Altered { .. } => {
            if json {
                output::print_json(&verdict_json(&shown, &verdict))?;
            } else {
                output::print_lines(&verdict_lines(&shown, &verdict))?;
            }
            Ok(if matches!(verdict, Verdict::Intact(_)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::ALTERED)
            })
        }
    }
}

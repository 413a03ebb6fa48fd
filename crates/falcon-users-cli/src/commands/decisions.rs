//! `review apply FILE`: the decision loop's second half (`review --decisions FILE` writes the
//! sheet). Reads the sheet back, binds it to its review in the history (its evidence names the
//! review's snapshot) and to this tenant, plans it against the users as they are now
//! ([`plan_decisions`]), carries the plan out through the bulk commands' apply, and signs the
//! review off in the history with a snapshot taken after, recorded as a review records one.

use std::path::Path;

use chrono::{DateTime, SubsecRound, Utc};
use falcon_users::history::{History, SignOff, SignedDecision, Snapshot};
use falcon_users::workflows::evidence::{self, Evidence};
use falcon_users::workflows::review::decisions::{
    Decided, DecidedReview, Decision, DecisionOptions, DecisionSheet, EVIDENCE_KIND, plan_decisions,
};
use falcon_users::workflows::roster::{
    ApplyReport, BulkPlan, ChangeOutcome, Guardrails, MAX_BYTES, PlanOptions,
};

use crate::bulk::{self, How};
use crate::cli::ReviewApplyArgs;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::history_file::{self, Recording, commit_review, review_evidence, stage};
use crate::input;
use crate::journal_file;
use crate::output::console;
use crate::output::escape::for_terminal;
use crate::output::evidence::sidecar_path;
use crate::output::plan::Verb;

/// Runs `review apply FILE`.
pub async fn apply(ctx: &Ctx, args: ReviewApplyArgs) -> Outcome {
    let reviewer = reviewer(args.reviewer.as_deref())?;
    let file = &args.file;
    let shown = for_terminal(&file.display().to_string()).into_owned();
    let (bytes, evidence) = read_sheet(file)?;
    let sheet = DecisionSheet::from_csv(bytes.as_slice())?;
    let mut history = open_history(ctx)?;
    let decided_on = decided_review(&history, &evidence, &shown)?;

    let targets = sheet.targets(&decided_on);
    let mut state = ctx
        .falcon
        .targeted_state(&targets, &PlanOptions::new().concurrency(args.concurrency))
        .await?;
    if state.origin.cid.is_none() {
        // No user read in the handle's own CID named it: read it, to bind the sheet to it.
        state.origin.cid = ctx.falcon.acting_cid().await?;
    }
    let guardrails = Guardrails::new()
        .max_offboard(args.max_offboard)
        .max_strip(args.max_strip);
    let journal = journal_file::path_for(file, args.journal.clone(), "review apply")?;
    // What an earlier, interrupted run of this sheet did is done, not stale.
    let done_before = journal_file::entries(&journal)?;
    let options = DecisionOptions::new()
        .skip_undecided(args.skip_undecided)
        .guardrails(guardrails)
        .done_before(&done_before);
    let planned = plan_decisions(&sheet, &decided_on, &state, &options, Utc::now())?;
    let how = How {
        fleet: false,
        looked_up: true,
        dry_run: args.dry_run,
        missing_ok: false,
        concurrency: args.concurrency,
        journal: Some(&journal),
        guardrails,
    };
    let bulk = BulkPlan {
        plan: planned.plan,
        unchanged: Vec::new(),
        absent: Vec::new(),
    };
    let what = format!("carry out the decisions of review {}", decided_on.snapshot);
    let (report, outcome) = bulk::carry_out(ctx, bulk, &how, &what).await;
    let Some(report) = report else {
        // A dry run, or nothing done: nothing to sign off.
        return outcome;
    };

    // The tenant as the decisions left it, recorded as the review recorded it; not after a
    // run that was stopped (a whole review read is not what Ctrl-C asks for): running the
    // sheet again finishes it, and records it then.
    let mut recording = Recording::default();
    let (_, _, _, not_started) = report.counts();
    let after = if not_started == 0 {
        snapshot_after(ctx, &evidence, &mut history, &mut recording).await
    } else {
        None
    };
    let signoff = SignOff::new(
        decided_on.snapshot,
        &reviewer,
        DateTime::<Utc>::from(ctx.falcon.clock().now()).trunc_subsecs(0),
        &file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        &evidence::sha256(&bytes),
        signed(&planned.decided, &report),
    )
    .after(after.as_ref().map(|s| s.id))
    .complete(report.is_complete());
    match history.sign_off(&signoff) {
        Ok(signed) => {
            console::line(format_args!(
                "history: review {} signed off by {} (sign-off {}){}",
                signed.review,
                for_terminal(&signed.reviewer),
                signed.id,
                after.as_ref().map_or(String::new(), |a| format!(
                    "; snapshot {} recorded after it: `falcon-users history show {}`, \
                     `falcon-users history diff {} {}`",
                    a.id, signed.review, signed.review, a.id
                ))
            ));
        }
        Err(e) => recording.fail(e),
    }
    if let Some(code) = recording.report("review apply") {
        return Ok(code);
    }
    outcome
}

/// Who signs off: `--reviewer`, else the user name the environment gives.
fn reviewer(given: Option<&str>) -> Result<String, Failure> {
    let from_env = || {
        ["USER", "LOGNAME"]
            .into_iter()
            .filter_map(std::env::var_os)
            .map(|v| v.to_string_lossy().trim().to_owned())
            .find(|v| !v.is_empty())
    };
    given
        .map(|g| g.trim().to_owned())
        .filter(|g| !g.is_empty())
        .or_else(from_env)
        .ok_or_else(|| {
            Failure::Exit(
                exit::USAGE,
                "who signs the review off? give --reviewer NAME (neither $USER nor $LOGNAME is \
                 set)"
                    .into(),
            )
        })
}

/// The sheet's bytes (at most the roster's size bound) and the evidence of its sidecar: the
/// sidecar must be intact and a decision sheet's (the sheet itself has been filled in since).
fn read_sheet(file: &Path) -> Result<(Vec<u8>, Evidence), Failure> {
    let shown = for_terminal(&file.display().to_string()).into_owned();
    let refused = |why: String| Failure::Exit(exit::USAGE, why);
    let (bytes, _) = input::read_bounded(file, MAX_BYTES, "decision sheet").map_err(refused)?;
    let sidecar_file = sidecar_path(file);
    let side_shown = for_terminal(&sidecar_file.display().to_string()).into_owned();
    let sidecar = std::fs::read(&sidecar_file).map_err(|e| {
        refused(format!(
            "cannot read {side_shown} ({e}): a decision sheet's evidence names the review it \
             decides on; write the sheet with `review --decisions {shown}` and keep the two \
             together"
        ))
    })?;
    // The sheet has been filled in since it was written, as it should be; its evidence must
    // still be as written.
    let Some(evidence) = evidence::sidecar_evidence(&sidecar) else {
        return Err(refused(format!(
            "{side_shown} was altered since it was written, or is not evidence: it no longer \
             vouches for the review the sheet decides on"
        )));
    };
    if evidence.kind != EVIDENCE_KIND {
        return Err(refused(format!(
            "{shown} is not a decision sheet: its evidence is of a {} (`review --decisions FILE` \
             writes one)",
            evidence.kind
        )));
    }
    Ok((bytes, evidence))
}

/// The history holding the review: it must exist (`review` recorded the review in it).
fn open_history(ctx: &Ctx) -> Result<History, Failure> {
    let (path, _) = match &ctx.history {
        Some(Ok(place)) => place.clone(),
        Some(Err(why)) => return Err(Failure::Exit(exit::USAGE, why.clone())),
        None => return Err(Failure::Exit(exit::USAGE, "no history".into())),
    };
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Failure::Exit(
            exit::USAGE,
            format!(
                "no history at {}: the sheet's review is in the history `review` recorded it in \
                 (give it with --history FILE)",
                for_terminal(&path.display().to_string())
            ),
        ));
    }
    History::open(&path).map_err(history_file::failure)
}

/// The review the sheet's evidence names, as the history recorded it: the same snapshot (its
/// digest, so that another history's snapshot of the same number is not taken for it).
fn decided_review(
    history: &History,
    evidence: &Evidence,
    shown: &str,
) -> Result<DecidedReview, Failure> {
    let refused = |why: String| Failure::Exit(exit::USAGE, why);
    let id = evidence
        .options
        .get("review_snapshot")
        .and_then(serde_json::Value::as_i64);
    let digest = evidence
        .options
        .get("review_snapshot_digest")
        .and_then(serde_json::Value::as_str);
    let (Some(id), Some(digest)) = (id, digest) else {
        return Err(refused(format!(
            "{shown}: its evidence names no review snapshot"
        )));
    };
    let snapshot = history.snapshot(id).map_err(history_file::failure)?;
    if snapshot.digest != digest {
        return Err(refused(format!(
            "snapshot {id} of {} is not the review {shown} was made from (another history? \
             give the review's with --history FILE)",
            for_terminal(&history.path().display().to_string())
        )));
    }
    let findings = history.findings(id).map_err(history_file::failure)?;
    Ok(DecidedReview::new(
        id,
        &snapshot.cloud,
        &snapshot.cid,
        &snapshot.member_cids,
        &findings,
    ))
}

/// Reviews the tenant again, with the decided review's options, and records the snapshot as a
/// review does: `history diff REVIEW AFTER` then shows exactly what the decisions changed.
/// `None` when it could not be recorded (the failure kept in `recording`).
async fn snapshot_after(
    ctx: &Ctx,
    evidence: &Evidence,
    history: &mut History,
    recording: &mut Recording,
) -> Option<Snapshot> {
    // The sheet's review's thresholds, privileged roles and member CIDs, judged now.
    let review = evidence
        .recorded_review()
        .now(DateTime::<Utc>::from(ctx.falcon.clock().now()).trunc_subsecs(0));
    let mut writer = history.begin().map_err(|e| recording.fail(e)).ok();
    let report = match ctx
        .falcon
        .review_observed(&review, |cid, row, book| {
            stage(&mut writer, recording, cid, row, book);
        })
        .await
    {
        Ok(report) => report,
        Err(e) => {
            console::line(format_args!(
                "error: the review after the decisions could not be read: {e}"
            ));
            return None;
        }
    };
    let writer = writer?;
    let evidence = review_evidence(&ctx.falcon, &review, &[], &report).await;
    match commit_review(writer, &report, &evidence) {
        Ok(snapshot) => Some(snapshot),
        Err(e) => {
            recording.fail(e);
            None
        }
    }
}

/// Each row of the sheet with its decision and what became of it.
fn signed(decided: &[Decided], report: &ApplyReport) -> Vec<SignedDecision> {
    decided
        .iter()
        .map(|d| {
            let result = match (d.decision, d.change) {
                _ if d.already_done => Verb::AlreadyDone.as_str().to_owned(),
                (None, _) => "skipped".to_owned(),
                (Some(Decision::Keep), _) => "kept".to_owned(),
                (Some(_), Some(change)) => report
                    .results
                    .iter()
                    .find(|r| r.index == change)
                    .map_or(Verb::NotStarted.as_str().to_owned(), |r| match &r.outcome {
                        ChangeOutcome::Failed { action, error, .. } => {
                            format!("{}: {action}: {error}", Verb::Failed.as_str())
                        }
                        outcome => Verb::of(outcome).as_str().to_owned(),
                    }),
                (Some(_), None) => Verb::NotStarted.as_str().to_owned(),
            };
            let row = &d.row;
            SignedDecision {
                row: row.row,
                uid: row.uid.clone(),
                user_uuid: row.user_uuid.clone(),
                cid: row.cid.clone(),
                role: row.role.clone(),
                finding: row.finding.clone(),
                why: row.why.clone(),
                decision: d.decision.map(|d| d.name().to_owned()).unwrap_or_default(),
                comment: row.comment.clone(),
                result,
            }
        })
        .collect()
}

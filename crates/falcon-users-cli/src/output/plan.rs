//! A roster plan and the outcome of applying it, as printed: the one rendering of plans that
//! `plan`, `apply` and the bulk commands share.

use falcon_users::Falcon;
use falcon_users::workflows::roster::{Action, ApplyReport, Change, ChangeOutcome, Plan};
use serde::Serialize;

use super::console;
use super::{Column, Format, Record, print_all, print_json};
use crate::failure::Failure;
use crate::summary;

/// Prints the plan: `plan` prints it in its format (the plan document itself as JSON); `apply`
/// shows the rows on a terminal table only, so that its JSON or CSV is the results alone.
/// `looked_up` false: the users were not read first (a provisioning run creates each and
/// completes a login found taken), so a `create` is said to be that.
pub fn show_plan(
    format: Format,
    plan: &Plan,
    document: bool,
    looked_up: bool,
) -> Result<(), Failure> {
    let (create, update, offboard) = plan.counts();
    for (name, n) in [
        ("plan.create", create),
        ("plan.update", update),
        ("plan.offboard", offboard),
        ("plan.unchanged", plan.unchanged),
    ] {
        summary::count(name, n as u64);
    }
    let rows = || {
        let mut rows = plan_rows(plan);
        if !looked_up {
            for row in rows.iter_mut().filter(|r| r.change == "create") {
                row.change = "create or complete";
            }
        }
        rows
    };
    match format {
        Format::Json if document => print_json(plan)?,
        Format::Csv if document => print_all(format, &rows())?,
        Format::Table if !plan.is_empty() => print_all(format, &rows())?,
        _ => {}
    }
    if looked_up {
        console::line(format_args!(
            "plan: {create} to create, {update} to update, {offboard} to offboard; {} already match",
            plan.unchanged
        ));
    } else {
        console::line(format_args!(
            "plan: {create} to create, or to complete where the login exists (not looked up \
             first: --dry-run looks each up)"
        ));
    }
    Ok(())
}

fn plan_rows(plan: &Plan) -> Vec<PlanRow> {
    plan.changes.iter().map(PlanRow::from).collect()
}

/// Prints each change's outcome, then `more` rows (the users a bulk command left alone), each
/// with the CID it went to ([`print_results`]).
pub async fn show_report(
    falcon: &Falcon,
    format: Format,
    plan: &Plan,
    report: &ApplyReport,
    more: Vec<ResultRow>,
) -> Result<(), Failure> {
    let mut rows: Vec<ResultRow> = report
        .results
        .iter()
        .map(|r| ResultRow {
            // Where the actions went, as read from the tenant; the plan's word only when unknown.
            cid: r
                .acted_in
                .as_ref()
                .map_or_else(|| cid_label(&plan.changes[r.index]), ToString::to_string),
            uid: r.uid.clone(),
            outcome: Verb::of(&r.outcome),
            detail: match &r.outcome {
                ChangeOutcome::Done { actions } => join(actions),
                ChangeOutcome::AlreadyDone | ChangeOutcome::NotStarted => String::new(),
                ChangeOutcome::Failed {
                    done,
                    action,
                    error,
                } => {
                    let before = if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (done: {})", join(done))
                    };
                    format!("{action}: {error}{before}")
                }
            },
        })
        .collect();
    rows.extend(more);
    print_results(falcon, format, rows).await
}

/// The CID of a result row whose change went to the handle's own CID, until it is named
/// ([`print_results`]); plans keep the word (a plan document is read back by `apply`).
pub const OWN_CID: &str = "own";

/// Prints result rows, each naming the CID it went to: a row in the handle's own CID
/// ([`OWN_CID`]) gets the CID itself, read once when some row needs it (the member CID of a
/// member handle; else the service's answer, which needs the scope "Sensor Download: Read":
/// without it the rows keep `own`, and a note says why).
pub async fn print_results(
    falcon: &Falcon,
    format: Format,
    mut rows: Vec<ResultRow>,
) -> Result<(), Failure> {
    if rows.iter().any(|r| r.cid == OWN_CID) {
        let own = match falcon.member_cid() {
            Some(cid) => Some(cid.to_string()),
            None => match falcon.own_cid().await {
                Ok(own) => Some(own.cid.to_string()),
                Err(err) => {
                    console::line(format_args!(
                        "note: the own CID could not be read ({err}): its rows say `own`"
                    ));
                    None
                }
            },
        };
        if let Some(own) = own {
            for row in rows.iter_mut().filter(|r| r.cid == OWN_CID) {
                row.cid.clone_from(&own);
            }
        }
    }
    count_outcomes(rows.iter().map(|r| r.outcome));
    print_all(format, &rows)?;
    Ok(())
}

/// What became of one change: the one vocabulary of every command's results (the `outcome`
/// of `apply`, the bulk commands, `grants --cid`, `fleet apply` and `provision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Made now.
    Done,
    /// Found made already: nothing sent.
    AlreadyDone,
    /// Not part of the change (a bulk command's user who needs nothing).
    Unchanged,
    /// The user does not exist (`--missing-ok`).
    Absent,
    /// Tried, and refused or cut short.
    Failed,
    /// Not tried (an earlier failure, or a stop).
    NotStarted,
}

impl Verb {
    /// What became of a change of a roster plan.
    pub fn of(outcome: &ChangeOutcome) -> Self {
        match outcome {
            ChangeOutcome::Done { .. } => Verb::Done,
            ChangeOutcome::AlreadyDone => Verb::AlreadyDone,
            ChangeOutcome::Failed { .. } => Verb::Failed,
            ChangeOutcome::NotStarted => Verb::NotStarted,
        }
    }

    /// As printed: `done`, `already done`, `unchanged`, `absent`, `failed`, `not started`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Done => "done",
            Verb::AlreadyDone => "already done",
            Verb::Unchanged => "unchanged",
            Verb::Absent => "absent",
            Verb::Failed => "failed",
            Verb::NotStarted => "not started",
        }
    }
}

/// Counts each result's outcome for the run's summary (`result.done`, `result.already_done`,
/// ...): the words the result rows show.
pub fn count_outcomes(outcomes: impl IntoIterator<Item = Verb>) {
    for outcome in outcomes {
        summary::count(format!("result.{}", outcome.as_str().replace(' ', "_")), 1);
    }
}

impl Serialize for Verb {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

fn join(actions: &[Action]) -> String {
    actions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn cid_label(change: &Change) -> String {
    change
        .cid
        .as_ref()
        .map_or_else(|| OWN_CID.to_owned(), ToString::to_string)
}

/// One change of a plan, as printed.
#[derive(Serialize)]
struct PlanRow {
    cid: String,
    uid: String,
    change: &'static str,
    actions: String,
}

impl From<&Change> for PlanRow {
    fn from(c: &Change) -> Self {
        PlanRow {
            cid: cid_label(c),
            uid: c.uid.clone(),
            change: c.kind(),
            actions: join(&c.actions()),
        }
    }
}

impl Record for PlanRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "cid",
                cell: |r| r.cid.clone(),
            },
            Column {
                name: "uid",
                cell: |r| r.uid.clone(),
            },
            Column {
                name: "change",
                cell: |r| r.change.to_owned(),
            },
            Column {
                name: "actions",
                cell: |r| r.actions.clone(),
            },
        ]
    }
}

/// One change's outcome, as printed.
#[derive(Serialize)]
pub struct ResultRow {
    /// The CID ([`OWN_CID`] until [`print_results`] names it; `-` for a user found in no
    /// CID of a fleet).
    pub cid: String,
    /// The user's login.
    pub uid: String,
    /// What became of the change.
    pub outcome: Verb,
    /// The actions done, or what failed and why.
    pub detail: String,
}

impl Record for ResultRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "cid",
                cell: |r| r.cid.clone(),
            },
            Column {
                name: "uid",
                cell: |r| r.uid.clone(),
            },
            Column {
                name: "outcome",
                cell: |r| r.outcome.as_str().to_owned(),
            },
            Column {
                name: "detail",
                cell: |r| r.detail.clone(),
            },
        ]
    }
}

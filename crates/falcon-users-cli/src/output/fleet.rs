//! A fleet plan (`fleet plan`, `fleet apply`) and the outcome of applying it, as printed: the
//! steps, then who gains and who loses which role in which child.

use falcon_users::workflows::flight_control::{
    AccessChange, FleetApplyReport, FleetPlan, StepOutcome,
};
use serde::Serialize;

use super::console;
use super::plan::Verb;
use super::{Column, Format, Record, print_all, print_json};
use crate::failure::Failure;

/// Prints the plan: `fleet plan` prints it in its format (the plan document itself as JSON,
/// the access rows as CSV); `fleet apply` shows the tables on a terminal only, so that its JSON
/// or CSV is the results alone. A summary goes to stderr.
pub fn show_fleet_plan(format: Format, plan: &FleetPlan, document: bool) -> Result<(), Failure> {
    match format {
        Format::Json if document => print_json(plan)?,
        Format::Csv if document => print_all(format, &access_rows(plan))?,
        Format::Table if !plan.is_empty() => {
            print_all(format, &step_rows(plan))?;
            if !plan.effect.is_empty() {
                print_all(format, &access_rows(plan))?;
            }
        }
        _ => {}
    }
    crate::summary::count("plan.steps", plan.steps.len() as u64);
    console::line(summary(plan));
    Ok(())
}

/// `plan: 3 steps; 2 users gain access, 1 loses access` (or `plan: no change`).
pub fn summary(plan: &FleetPlan) -> String {
    if plan.is_empty() {
        return "plan: no change".into();
    }
    let gaining = plan
        .effect
        .iter()
        .filter(|c| !c.gained.is_empty())
        .map(|c| c.user.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    format!(
        "plan: {} steps; {gaining} users gain access, {} lose access",
        plan.steps.len(),
        plan.losing()
    )
}

fn step_rows(plan: &FleetPlan) -> Vec<StepRow> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepRow {
            step: i + 1,
            change: s.to_string(),
        })
        .collect()
}

fn access_rows(plan: &FleetPlan) -> Vec<AccessRow> {
    let roles = |ids: &[String]| {
        ids.iter()
            .map(|id| plan.roles.name(id).unwrap_or(id).to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    };
    plan.effect
        .iter()
        .map(|c: &AccessChange| AccessRow {
            user: c.user.clone(),
            cid: c.cid.to_string(),
            child: plan
                .children
                .get(c.cid.as_str())
                .cloned()
                .unwrap_or_default(),
            gains: roles(&c.gained),
            loses: roles(&c.lost),
        })
        .collect()
}

/// Prints each step's outcome.
pub fn show_fleet_report(format: Format, report: &FleetApplyReport) -> Result<(), Failure> {
    let rows: Vec<ResultRow> = report
        .results
        .iter()
        .map(|r| ResultRow {
            step: r.step.to_string(),
            outcome: match r.outcome {
                StepOutcome::Done => Verb::Done,
                StepOutcome::Failed(_) => Verb::Failed,
                StepOutcome::NotStarted => Verb::NotStarted,
            },
            detail: match &r.outcome {
                StepOutcome::Failed(e) => e.to_string(),
                _ => String::new(),
            },
        })
        .collect();
    super::plan::count_outcomes(rows.iter().map(|r| r.outcome));
    if !rows.is_empty() || format != Format::Table {
        print_all(format, &rows)?;
    }
    Ok(())
}

/// One step of a plan, as printed.
#[derive(Serialize)]
struct StepRow {
    step: usize,
    change: String,
}

impl Record for StepRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "step",
                cell: |r| r.step.to_string(),
            },
            Column {
                name: "change",
                cell: |r| r.change.clone(),
            },
        ]
    }
}

/// One user in one child, as the plan changes their access.
#[derive(Serialize)]
struct AccessRow {
    user: String,
    cid: String,
    child: String,
    gains: String,
    loses: String,
}

impl Record for AccessRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "user",
                cell: |r| r.user.clone(),
            },
            Column {
                name: "cid",
                cell: |r| r.cid.clone(),
            },
            Column {
                name: "child",
                cell: |r| r.child.clone(),
            },
            Column {
                name: "gains",
                cell: |r| r.gains.clone(),
            },
            Column {
                name: "loses",
                cell: |r| r.loses.clone(),
            },
        ]
    }
}

/// One step's outcome, as printed.
#[derive(Serialize)]
struct ResultRow {
    step: String,
    outcome: Verb,
    detail: String,
}

impl Record for ResultRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "step",
                cell: |r| r.step.clone(),
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

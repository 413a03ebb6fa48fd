//! `roster`, `plan` and `apply`: a tenant reconciled with a roster. `roster` writes the tenant as
//! one; `plan` reads a roster and the tenant and prints (and saves) the changes; `apply` carries
//! out a saved plan, or plans a roster and carries it out, after confirmation, journaling every
//! action. Running `apply` again after an interruption finishes what is left.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use falcon_users::Error;
use falcon_users::workflows::roster::{
    ApplyOptions, COLUMNS, Guardrails, Mode, Plan, PlanOptions, Roster,
};
use serde::Serialize;

use crate::cli::{ApplyArgs, ModeArg, PlanArgs, PlanningArgs, RosterArgs};
use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::journal_file::{self, JournalFile};
use crate::output::Format;
use crate::output::console;
use crate::output::file::OutputFile;
use crate::output::plan::{show_plan, show_report};
use crate::output::{Column, JsonLayout, Layout, Record, RowWriter};
use crate::roster_file::{self, Reading};

/// Runs `roster`: the tenant as a roster CSV.
pub async fn export(ctx: &Ctx, args: RosterArgs) -> Outcome {
    let mut cids = vec![None];
    if let Some(members) = &args.member_cids {
        cids.extend(members.0.iter().cloned().map(Some));
    }
    let state = ctx
        .falcon
        .roster_state(&cids, &PlanOptions::new().concurrency(args.concurrency))
        .await?;
    let roster = Roster::from_state(&state);
    match &args.output {
        Some(path) => write_roster(&roster, OutputFile::create(path)?)?.commit()?,
        None => drop(write_roster(&roster, io::stdout().lock())?),
    }
    console::line(format_args!(
        "{} users written as a roster",
        roster.entries().len()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Writes `roster` as CSV through the writer of every other CSV (cells escaped, formulas
/// neutralised: people open this file to edit it), and hands back `out`.
fn write_roster<W: Write>(roster: &Roster, out: W) -> io::Result<W> {
    let csv = Layout {
        format: Format::Csv,
        json: JsonLayout::Lines,
    };
    let mut writer = RowWriter::new(out, csv)?;
    for row in roster.rows() {
        writer.write(&RosterRow(row))?;
    }
    writer.finish()
}

/// Runs `plan`.
pub async fn plan(ctx: &Ctx, args: PlanArgs) -> Outcome {
    let plan = make_plan(ctx, &args.roster, &args.planning).await?;
    show_plan(ctx.format, &plan, true, true)?;
    if let Some(path) = &args.output {
        save(&plan, path)?;
        console::line(format_args!(
            "plan saved to {}; run `falcon-users apply {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `apply`.
pub async fn apply(ctx: &Ctx, args: ApplyArgs) -> Outcome {
    // Before the plan: an input from standard input without `--journal` is refused at once.
    let journal_path = journal_file::path_for(&args.file, args.journal.clone(), "apply")?;
    let guardrails = guardrails_of(&args.planning);
    let (plan, verify) = match saved_plan(&args.file)? {
        Some(plan) => {
            as_planned(&plan, &args.planning)?;
            (plan, true)
        }
        None => (make_plan(ctx, &args.file, &args.planning).await?, false),
    };
    show_plan(ctx.format, &plan, false, true)?;
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // Checked again by the apply against the users as read then; here so that a plan over
    // this run's limits is refused before the question.
    guardrails.check(
        plan.changes
            .iter()
            .map(|c| (c.before.as_ref(), c.after.as_ref())),
    )?;
    let (create, update, offboard) = plan.counts();
    let what = format!(
        "apply {} changes ({create} to create, {update} to update, {offboard} to offboard)",
        plan.changes.len()
    );
    if !confirm(ctx.yes, &what).await {
        return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
    }
    let journal = JournalFile::open(&journal_path)?;
    let options = ApplyOptions::new()
        .concurrency(args.planning.concurrency)
        .verify(verify)
        .guardrails(guardrails)
        .settle(ctx.settle.clone())
        .stop_on(ctx.changes.begin());
    let report = ctx.falcon.apply(&plan, &options, &journal.journal).await?;
    show_report(&ctx.falcon, ctx.format, &plan, &report, Vec::new()).await?;
    let (done, already, failed, not_started) = report.counts();
    let stats = ctx.falcon.stats();
    console::line(format_args!(
        "{done} done, {already} already done, {failed} failed, {not_started} not started; \
         {} requests ({} retried); journal: {}",
        stats.requests,
        stats.retries,
        journal_path.display()
    ));
    journal.check()?;
    if report.is_complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Exit(
            exit::PARTIAL,
            format!(
                "{failed} changes failed and {not_started} were not started; run the same \
                 `apply` again to finish (what is done is not repeated)"
            ),
        ))
    }
}

/// Refuses planning flags given to `apply` with a saved plan that the plan was not made with
/// (they would otherwise be silently ignored). Flags left out take the plan's.
fn as_planned(plan: &Plan, args: &PlanningArgs) -> Result<(), Failure> {
    let made = &plan.options;
    let mut differ = Vec::new();
    if let Some(mode) = args.mode.map(mode_of)
        && mode != made.mode
    {
        differ.push(format!(
            "--mode {} (the plan was made with --mode {})",
            mode_name(mode),
            mode_name(made.mode)
        ));
    }
    if args.prune && !made.prune {
        differ.push("--prune (the plan was made without it)".to_owned());
    }
    if let Some(scope) = &args.scope
        && made.scope.as_ref() != Some(scope)
    {
        differ.push(format!(
            "--scope {scope:?} (the plan was made with {})",
            made.scope
                .as_ref()
                .map_or("no scope".to_owned(), |s| format!("{s:?}"))
        ));
    }
    if let Some(members) = &args.member_cids {
        let given: std::collections::BTreeSet<_> = members.0.iter().collect();
        let planned: std::collections::BTreeSet<_> = made.member_cids.iter().collect();
        if given != planned {
            differ.push("--member-cids (the plan was made with other member CIDs)".to_owned());
        }
    }
    if args.map.is_some() {
        differ.push("--map (the plan's roster was read when it was made)".to_owned());
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(Failure::Sdk(Error::PlanRefused {
        reason: format!(
            "{} differs from the saved plan; plan again with the options wanted, or leave them out",
            differ.join(", ")
        ),
    }))
}

fn mode_of(arg: ModeArg) -> Mode {
    match arg {
        ModeArg::Additive => Mode::Additive,
        ModeArg::Exact => Mode::Exact,
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Additive => "additive",
        Mode::Exact => "exact",
    }
}

/// Reads the roster and the tenant, and plans.
async fn make_plan(ctx: &Ctx, roster: &Path, args: &PlanningArgs) -> Result<Plan, Failure> {
    let reading = Reading {
        map: args.map.as_ref(),
        standing: ctx.map.as_ref(),
        default_roles: &[],
    };
    let roster = roster_file::roster(roster, reading)?;
    let options = PlanOptions::new()
        .mode(args.mode.map_or(Mode::Additive, mode_of))
        .prune(args.prune)
        .scope(args.scope.clone())
        .guardrails(guardrails_of(args))
        .member_cids(args.member_cids.iter().flat_map(|m| m.0.iter().cloned()))
        .concurrency(args.concurrency);
    Ok(ctx.falcon.plan_roster(&roster, &options).await?)
}

/// The limits `--max-offboard` and `--max-strip` set.
fn guardrails_of(args: &PlanningArgs) -> Guardrails {
    Guardrails::new()
        .max_offboard(args.max_offboard)
        .max_strip(args.max_strip)
}

/// A plan saved by `plan -o`, told from a JSON roster by its `plan_version`; `None` for a
/// roster.
fn saved_plan(path: &Path) -> Result<Option<Plan>, Failure> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Sdk(Error::InvalidInput {
            field: "file",
            reason: format!("cannot read {}: {e}", path.display()),
        })
    })?;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        // Not JSON at all: the roster reader says what is wrong with it.
        Err(_) => return Ok(None),
    };
    if value.get("plan_version").is_none() {
        return Ok(None);
    }
    serde_json::from_value(value).map(Some).map_err(|e| {
        Failure::Sdk(Error::PlanRefused {
            reason: format!(
                "{} is not a plan this release can read: {e}",
                path.display()
            ),
        })
    })
}

fn save(plan: &Plan, path: &Path) -> Result<(), Failure> {
    Ok(OutputFile::write_json(path, plan)?)
}

/// One roster row, as `roster` writes it: the cells of [`Roster::rows`], under the roster's
/// columns ([`COLUMNS`]).
#[derive(Serialize)]
struct RosterRow([String; COLUMNS.len()]);

impl Record for RosterRow {
    fn columns() -> Vec<Column<Self>> {
        let cells: [fn(&Self) -> String; COLUMNS.len()] = [
            |r| r.0[0].clone(),
            |r| r.0[1].clone(),
            |r| r.0[2].clone(),
            |r| r.0[3].clone(),
            |r| r.0[4].clone(),
            |r| r.0[5].clone(),
        ];
        COLUMNS
            .into_iter()
            .zip(cells)
            .map(|(name, cell)| Column { name, cell })
            .collect()
    }
}

//! `fleet export`, `fleet plan` and `fleet apply`: Flight Control access as code. `export`
//! writes the parent's groups and links as an access file; `plan` reads one and the tenant and
//! prints (and saves) the steps and who gains and loses what; `apply` carries out a saved plan,
//! or plans a file and carries it out, after confirmation, journaling every step. Running
//! `apply` again after an interruption finishes what is left. Flags and exit codes follow
//! `plan` and `apply` of a roster.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use falcon_users::Error;
use falcon_users::workflows::flight_control::{
    self, FleetApi, FleetApplyOptions, FleetFile, FleetPlan, Step,
};
use falcon_users::workflows::roster::Guardrails;

use crate::cli::{FleetCommand, FleetLimits};
use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::journal_file::JournalFile;
use crate::output::console;
use crate::output::file::OutputFile;
use crate::output::fleet::{show_fleet_plan, show_fleet_report};

/// Runs `fleet ...` against `api` (the connected client).
pub async fn run<A: FleetApi>(ctx: &Ctx, api: &A, command: FleetCommand) -> Outcome {
    match command {
        FleetCommand::Export { output } => export(api, output.as_deref()).await,
        FleetCommand::Plan {
            file,
            output,
            limits,
        } => plan(ctx, api, &file, output.as_deref(), &limits).await,
        FleetCommand::Apply {
            file,
            limits,
            journal,
        } => apply(ctx, api, &file, &limits, journal).await,
    }
}

async fn export<A: FleetApi>(api: &A, output: Option<&Path>) -> Outcome {
    let state = api.fleet_state().await?;
    let text = FleetFile::render(&state.model()?, &state.children);
    match output {
        Some(path) => {
            let mut file = OutputFile::create(path)?;
            file.write_all(text.as_bytes())?;
            file.commit()?;
        }
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    console::line(format_args!(
        "{} user groups, {} CID groups, {} links written",
        state.user_groups.len(),
        state.cid_groups.len(),
        state.links.len()
    ));
    Ok(ExitCode::SUCCESS)
}

async fn plan<A: FleetApi>(
    ctx: &Ctx,
    api: &A,
    file: &Path,
    output: Option<&Path>,
    limits: &FleetLimits,
) -> Outcome {
    let plan = make_plan(api, file, limits).await?;
    show_fleet_plan(ctx.format, &plan, true)?;
    if let Some(path) = output {
        save(&plan, path)?;
        console::line(format_args!(
            "plan saved to {}; run `falcon-users fleet apply {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply<A: FleetApi>(
    ctx: &Ctx,
    api: &A,
    file: &Path,
    limits: &FleetLimits,
    journal: Option<PathBuf>,
) -> Outcome {
    let guardrails = guardrails_of(limits);
    let plan = match saved_plan(file)? {
        Some(plan) => plan,
        None => make_plan(api, file, limits).await?,
    };
    show_fleet_plan(ctx.format, &plan, false)?;
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // Checked again by the apply against the state as read then; here so that a plan over
    // this run's limit is refused before the question.
    guardrails.check_removals(plan.losing())?;
    let what = format!(
        "apply {} Flight Control steps ({} users lose access)",
        plan.steps.len(),
        plan.losing()
    );
    if !confirm(ctx.yes, &what).await {
        return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
    }
    let journal_path = journal.unwrap_or_else(|| journal_beside(file));
    let journal = JournalFile::<Step>::open(&journal_path)?;
    let options = FleetApplyOptions::new()
        .guardrails(guardrails)
        .stop_on(ctx.changes.begin());
    let report = flight_control::apply(api, &plan, &options, &journal.journal).await?;
    show_fleet_report(ctx.format, &report)?;
    let (done, failed, not_started) = report.counts();
    // A complete apply is waited on until the service shows it, so a `fleet plan` right after
    // sees it (`--settle`); an incomplete one is run again, which reads the state anyway.
    if done > 0 && report.is_complete() {
        ctx.falcon.settle_fleet(&plan, &ctx.settle).await;
    }
    console::line(format_args!(
        "{done} done, {failed} failed, {not_started} not started{}; journal: {}",
        match report.resolved.len() {
            0 => String::new(),
            n => format!(", {n} left in flight by an earlier run resolved"),
        },
        journal_path.display()
    ));
    journal.check()?;
    if report.is_complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Exit(
            exit::PARTIAL,
            format!(
                "{failed} steps failed and {not_started} were not started; run the same \
                 `fleet apply` again to finish (what is done is not repeated)"
            ),
        ))
    }
}

/// Reads the access file and the tenant, and plans.
async fn make_plan<A: FleetApi>(
    api: &A,
    file: &Path,
    limits: &FleetLimits,
) -> Result<FleetPlan, Failure> {
    let parsed = FleetFile::from_path(file)?;
    let state = api.fleet_state().await?;
    Ok(flight_control::plan(
        &parsed,
        &file.display().to_string(),
        &state,
        guardrails_of(limits),
        Utc::now(),
    )?)
}

fn guardrails_of(limits: &FleetLimits) -> Guardrails {
    Guardrails::new().max_removals(limits.max_removals)
}

/// A plan saved by `fleet plan -o` (a `.json` file); `None` for an access file.
fn saved_plan(path: &Path) -> Result<Option<FleetPlan>, Failure> {
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
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::Sdk(Error::PlanRefused {
            reason: format!(
                "{} is not a fleet plan this release can read: {e}",
                path.display()
            ),
        })
    })
}

fn save(plan: &FleetPlan, path: &Path) -> Result<(), Failure> {
    let mut file = OutputFile::create(path)?;
    serde_json::to_writer_pretty(&mut file, plan).map_err(io::Error::other)?;
    file.write_all(b"\n")?;
    file.commit()?;
    Ok(())
}

/// `fleet.toml` → `fleet.toml.journal.jsonl`.
fn journal_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".journal.jsonl");
    PathBuf::from(name)
}

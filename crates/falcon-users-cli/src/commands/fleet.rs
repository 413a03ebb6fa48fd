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
use crate::input;
use crate::journal_file::{self, JournalFile};
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
    let (text, name) = read_text(file, flight_control::MAX_BYTES, "access file")?;
    let access = FleetFile::parse(&text, &name)?;
    let plan = make_plan(api, &access, &name, limits).await?;
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
    let journal_path = journal_file::path_for(file, journal, "fleet apply")?;
    let guardrails = guardrails_of(limits);
    let plan = match read_input(file)? {
        FleetInput::Plan(plan) => *plan,
        FleetInput::Access(access, name) => make_plan(api, &access, &name, limits).await?,
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

/// Reads the tenant, and plans `access` (named `name` in problems).
async fn make_plan<A: FleetApi>(
    api: &A,
    access: &FleetFile,
    name: &str,
    limits: &FleetLimits,
) -> Result<FleetPlan, Failure> {
    let state = api.fleet_state().await?;
    Ok(flight_control::plan(
        access,
        name,
        &state,
        guardrails_of(limits),
        Utc::now(),
    )?)
}

fn guardrails_of(limits: &FleetLimits) -> Guardrails {
    Guardrails::new().max_removals(limits.max_removals)
}

/// What `fleet plan` and `fleet apply` read: an access file (with its name for problems), or
/// a plan saved by `fleet plan -o`.
enum FleetInput {
    Access(FleetFile, String),
    Plan(Box<FleetPlan>),
}

/// The most a saved plan may be: both ends of an access file at its limit, and the steps.
const MAX_PLAN_BYTES: u64 = 4 * flight_control::MAX_BYTES;

/// Reads what `fleet apply` is given (`-`: standard input): a saved plan when the file is a
/// `.json` (from standard input: when it starts with `{`), else an access file (TOML).
fn read_input(path: &Path) -> Result<FleetInput, Failure> {
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let (text, name) = read_text(path, MAX_PLAN_BYTES, "plan or access file")?;
    let is_plan = json || (input::is_stdin(path) && text.trim_start().starts_with('{'));
    if !is_plan {
        if text.len() as u64 > flight_control::MAX_BYTES {
            return Err(Failure::Exit(
                exit::USAGE,
                format!(
                    "{name}: larger than {} MiB, the most the access file may be",
                    flight_control::MAX_BYTES >> 20
                ),
            ));
        }
        return Ok(FleetInput::Access(FleetFile::parse(&text, &name)?, name));
    }
    serde_json::from_str(&text)
        .map(|plan| FleetInput::Plan(Box::new(plan)))
        .map_err(|e| {
            Failure::Sdk(Error::PlanRefused {
                reason: format!("{name} is not a fleet plan this release can read: {e}"),
            })
        })
}

/// The text of `path` (`-`: standard input) and how to name it, refused past `limit` bytes.
fn read_text(path: &Path, limit: u64, what: &str) -> Result<(String, String), Failure> {
    let usage = |why: String| Failure::Exit(exit::USAGE, why);
    let (bytes, name) = input::read_bounded(path, limit, what).map_err(usage)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        usage(format!(
            "cannot read the {what} {name}: not UTF-8 text: {e}"
        ))
    })?;
    Ok((text, name))
}

fn save(plan: &FleetPlan, path: &Path) -> Result<(), Failure> {
    Ok(OutputFile::write_json(path, plan)?)
}

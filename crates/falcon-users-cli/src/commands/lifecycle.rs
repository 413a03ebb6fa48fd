//! `provision` and `offboard`. Both hand the run's stop to the workflow, so that a signal ends
//! them between steps with an account of what exists (see `crate::interrupt`).

use std::process::ExitCode;

use falcon_users::workflows::{Offboard, OnGrantFailure, Provision, ProvisionOutcome};
use serde_json::json;

use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::jobs::{self, ProvisionOne};
use crate::output::Format;
use crate::output::console;
use crate::output::plan::{Verb, count_outcomes};
use crate::output::{print_all, print_json};
use crate::records::{GrantRow, UserRow};

/// Runs `provision`.
pub async fn provision(ctx: &Ctx, job: jobs::Provision) -> Outcome {
    match job {
        jobs::Provision::One(one) => provision_one(ctx, one).await,
        jobs::Provision::FromFile(job) => crate::bulk::provision(ctx, &job).await,
    }
}

async fn provision_one(ctx: &Ctx, args: ProvisionOne) -> Outcome {
    let uid = args.uid;
    // Roles as written: the workflow resolves names once, before its first change.
    let mut job = Provision::new(&uid, args.roles)
        .settle(ctx.settle.clone())
        .legacy_create(args.legacy)
        .on_grant_failure(if args.keep_on_failure {
            OnGrantFailure::Report
        } else {
            OnGrantFailure::RollBack
        });
    if let Some((first, last)) = &args.names {
        job = job.names(first, last);
    }
    // The workflow reads and checks before its first change; the stop covers all of it.
    let job = job.stop_on(ctx.changes.begin());
    let outcome = ctx.falcon.provision(&job).await?;
    let (status, user, granted) = (outcome.label(), outcome.user(), outcome.granted());
    count_outcomes([match outcome {
        ProvisionOutcome::AlreadyProvisioned { .. } => Verb::AlreadyDone,
        _ => Verb::Done,
    }]);
    match ctx.format {
        // `outcome` in the words of every command's results; `status` says which change.
        Format::Json => print_json(&json!({
            "outcome": match outcome {
                ProvisionOutcome::AlreadyProvisioned { .. } => Verb::AlreadyDone,
                _ => Verb::Done,
            },
            "status": status,
            "user": user,
            "granted": granted,
        }))?,
        _ => {
            let list = if granted.is_empty() {
                "-".to_owned()
            } else {
                granted.join(", ")
            };
            console::line(format_args!("{status}: {uid} (granted: {list})"));
            print_all(ctx.format, &[UserRow(user.clone())])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `offboard`.
pub async fn offboard(ctx: &Ctx, job: jobs::Offboard) -> Outcome {
    let (user, dry_run) = match job {
        jobs::Offboard::One { user, dry_run } => (user, dry_run),
        jobs::Offboard::Many(job) => return crate::bulk::offboard(ctx, &job).await,
    };
    let plan = ctx
        .falcon
        .offboard(&Offboard::new(user.as_str()).dry_run(true))
        .await?
        .plan;
    let uid = plan.user.uid.clone().unwrap_or_default();
    let show = |executed: bool| -> Result<(), Failure> {
        match ctx.format {
            Format::Json => print_json(&json!({
                "executed": executed, "user": plan.user, "revoke": plan.revoke, "grants": plan.grants
            }))?,
            _ => {
                console::line(format_args!(
                    "{} {uid}: revoke {} grant(s) in {} CID(s), then delete the user",
                    if executed { "offboarded" } else { "plan for" },
                    plan.grants.len(),
                    plan.revoke.len()
                ));
                let rows: Vec<GrantRow> = plan
                    .grants
                    .iter()
                    .map(|g| GrantRow::of(&uid, g.clone()))
                    .collect();
                print_all(ctx.format, &rows)?;
            }
        }
        Ok(())
    };
    if dry_run {
        show(false)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !confirm(
        ctx.yes,
        &format!("revoke every grant of {uid} and delete the user permanently"),
    )
    .await
    {
        return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
    }
    let stop = ctx.changes.begin();
    let done = ctx
        .falcon
        .offboard(
            &Offboard::new(user.as_str())
                .stop_on(stop)
                .settle(ctx.settle.clone()),
        )
        .await?;
    if done.executed {
        count_outcomes([Verb::Done]);
    }
    show(done.executed)?;
    Ok(ExitCode::SUCCESS)
}

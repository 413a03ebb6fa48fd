//! Bulk changes, shared by `provision --from`, `offboard` of several users,
//! `grants grant|revoke|set` of many and `review apply`: planned from targeted reads and carried
//! out by the roster engine's apply (each change once, one result table, exit 5 when some rows
//! failed).

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use falcon_users::workflows::roster::{
    ApplyOptions, ApplyReport, BulkPlan, ColumnMap, Guardrails, Journal, PlanOptions, RoleEdit,
    Targets, TenantState, edit_plan, locate, offboard_plan, plan,
};
use falcon_users::{Cid, UserRef};

use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::jobs::{EditRoles, OffboardMany, ProvisionFromFile, Users};
use crate::journal_file::JournalFile;
use crate::member_cids::MemberCids;
use crate::output::console;
use crate::output::plan::{OWN_CID, ResultRow, Verb, print_results, show_plan, show_report};
use crate::roster_file::{self, Reading};

/// Runs `provision --from FILE`: one roles read per CID, then for each row a create without a
/// lookup first (a login found taken is completed instead) and a grant.
pub async fn provision(ctx: &Ctx, args: &ProvisionFromFile) -> Outcome {
    let reading = Reading {
        map: args.map.as_ref(),
        standing: ctx.map.as_ref(),
        default_roles: &args.roles,
    };
    let roster = roster_file::roster(&args.file, reading)?;
    let options = PlanOptions::new()
        .member_cids(args.member_cids.iter().flat_map(|m| m.0.iter().cloned()))
        .concurrency(args.concurrency);
    let targets = if args.dry_run {
        // A dry run looks each login up, to tell what exists from what would be created.
        Targets::Logins(
            roster
                .entries()
                .iter()
                .map(|e| (e.cid.clone(), e.uid.clone()))
                .collect(),
        )
    } else {
        Targets::Nobody(options.cids_to_read(&roster))
    };
    let state = ctx.falcon.targeted_state(&targets, &options).await?;
    let plan = plan(&roster, &state, &options, chrono::Utc::now())?;
    let bulk = BulkPlan {
        plan,
        unchanged: Vec::new(),
        absent: Vec::new(),
    };
    let how = How {
        fleet: false,
        looked_up: args.dry_run,
        dry_run: args.dry_run,
        missing_ok: false,
        concurrency: args.concurrency,
        journal: args.journal.as_deref(),
        // Each row was named and the batch confirmed as a whole.
        guardrails: Guardrails::unlimited(),
    };
    run(ctx, bulk, &how, "provision").await
}

/// Runs `offboard` of several users, or of `--from FILE`.
pub async fn offboard(ctx: &Ctx, args: &OffboardMany) -> Outcome {
    let mut named: Vec<String> = args.users.clone();
    if let Some(file) = &args.from {
        named.extend(roster_file::users(
            file,
            users_reading(ctx, args.map.as_ref()),
        )?);
    }
    let members = args.member_cids.as_ref();
    let (state, named, nowhere) = read_logins(
        ctx,
        logins_of(ctx, named, members).await?,
        members,
        args.concurrency,
    )
    .await?;
    let mut bulk = offboard_plan(&state, &named);
    bulk.absent.extend(nowhere);
    let how = How {
        fleet: members.is_some(),
        looked_up: true,
        dry_run: args.dry_run,
        missing_ok: args.missing_ok,
        concurrency: args.concurrency,
        journal: args.journal.as_deref(),
        guardrails: Guardrails::unlimited(),
    };
    run(ctx, bulk, &how, "offboard (revoke every role, then delete)").await
}

/// Runs `grants grant|revoke|set --users-from FILE | --filter FQL`: the users read (one lookup
/// each, or the filtered listing with grants), the roles resolved by id or display name, and
/// only the users whose roles differ changed.
pub async fn edit_roles(ctx: &Ctx, job: &EditRoles) -> Outcome {
    let members = job.member_cids.as_ref();
    let (state, named, nowhere) = match &job.users {
        Users::File(file) => {
            let users = roster_file::users(file, users_reading(ctx, job.map.as_ref()))?;
            let logins = logins_of(ctx, users, members).await?;
            read_logins(ctx, logins, members, job.concurrency).await?
        }
        Users::Filter(fql) => {
            let targets = Targets::Filter {
                fql: fql.clone(),
                cids: cids_of(members),
            };
            let state = ctx
                .falcon
                .targeted_state(&targets, &PlanOptions::new().concurrency(job.concurrency))
                .await?;
            (state, Vec::new(), Vec::new())
        }
    };
    let roles = &job.roles;
    let mut bulk = edit_plan(&state, &named, job.edit, roles)?;
    bulk.absent.extend(nowhere);
    let what = match job.edit {
        RoleEdit::Grant => format!("grant {}", roles.join(", ")),
        RoleEdit::Revoke => format!("revoke {}", roles.join(", ")),
        RoleEdit::Set => format!("set the roles to exactly {}", roles.join(", ")),
    };
    let how = How {
        fleet: members.is_some(),
        looked_up: true,
        dry_run: job.dry_run,
        missing_ok: false,
        concurrency: job.concurrency,
        journal: job.journal.as_deref(),
        guardrails: Guardrails::unlimited(),
    };
    run(ctx, bulk, &how, &what).await
}

/// The CIDs a bulk command works in: the member CIDs given, or the handle's own (`None`).
fn cids_of(members: Option<&MemberCids>) -> Vec<Option<Cid>> {
    match members {
        Some(members) => members.0.iter().cloned().map(Some).collect(),
        None => vec![None],
    }
}

/// Reads `logins` in each CID the command works in: the state, the (CID, login) pairs found
/// and, as absent rows, the logins found in none of them. In the handle's own CID every login
/// is a pair of its own (one found nowhere is reported there); across member CIDs each login
/// is looked for in every one (a login is one account, homed in one CID).
async fn read_logins(
    ctx: &Ctx,
    logins: Vec<String>,
    members: Option<&MemberCids>,
    concurrency: usize,
) -> Result<Named, Failure> {
    let cids = cids_of(members);
    let pairs: Vec<(Option<Cid>, String)> = cids
        .iter()
        .flat_map(|cid| logins.iter().map(move |uid| (cid.clone(), uid.clone())))
        .collect();
    let state = ctx
        .falcon
        .targeted_state(
            &Targets::Logins(pairs.clone()),
            &PlanOptions::new().concurrency(concurrency),
        )
        .await?;
    if members.is_none() {
        return Ok((state, pairs, Vec::new()));
    }
    let (found, nowhere) = locate(&state, &logins);
    let nowhere = nowhere.into_iter().map(|uid| (None, uid)).collect();
    Ok((state, found, nowhere))
}

/// The state read, the users named in it, and the users found nowhere.
type Named = (
    TenantState,
    Vec<(Option<Cid>, String)>,
    Vec<(Option<Cid>, String)>,
);

/// The users named, by login: UUIDs (anything without `@`) are looked up in one request; a
/// UUID no user has stays as written, and is then reported absent. Across member CIDs a UUID
/// names one account in one CID, not a person in each, so there only logins are taken.
async fn logins_of(
    ctx: &Ctx,
    named: Vec<String>,
    members: Option<&MemberCids>,
) -> Result<Vec<String>, Failure> {
    let ids: Vec<UserRef> = named
        .iter()
        .map(UserRef::from)
        .filter(|n| !n.is_login())
        .collect();
    if ids.is_empty() {
        return Ok(named);
    }
    if members.is_some() {
        let ids: Vec<&str> = ids.iter().map(UserRef::as_str).collect();
        return Err(Failure::Exit(
            exit::USAGE,
            format!(
                "with --member-cids name users by login (a UUID is one account in one CID): {}",
                ids.join(", ")
            ),
        ));
    }
    let (found, _) = ctx.falcon.resolve_users(ids).await?;
    // By UUID in a map: a lookup per name, not a scan of the users found.
    let logins: HashMap<String, String> = found
        .resources
        .into_iter()
        .filter_map(|u| Some((u.uuid?, u.uid?)))
        .collect();
    Ok(named
        .into_iter()
        .map(|n| logins.get(n.trim()).cloned().unwrap_or(n))
        .collect())
}

/// How a list of users is read: its login column as `--map` names it, else as the profile's.
fn users_reading<'a>(ctx: &'a Ctx, map: Option<&'a ColumnMap>) -> Reading<'a> {
    Reading {
        map,
        standing: ctx.map.as_ref(),
        default_roles: &[],
    }
}

/// How a bulk command runs.
pub struct How<'a> {
    /// The users were looked for across member CIDs.
    pub fleet: bool,
    /// The users were read (a provisioning run creates without looking first).
    pub looked_up: bool,
    /// Show the plan, change nothing.
    pub dry_run: bool,
    /// An absent user is not a failure.
    pub missing_ok: bool,
    /// Changes in flight.
    pub concurrency: usize,
    /// Append a JSON line per action here.
    pub journal: Option<&'a Path>,
    /// The limits the apply holds the plan to (unlimited for users named one by one).
    pub guardrails: Guardrails,
}

/// [`carry_out`], the outcome alone.
async fn run(ctx: &Ctx, bulk: BulkPlan, how: &How<'_>, what: &str) -> Outcome {
    carry_out(ctx, bulk, how, what).await.1
}

/// Shows the plan; unless a dry run, confirms it once, applies it (the state was read just
/// now: no second read) within `how`'s guardrails, journals each action when asked, and prints
/// one table: every change's outcome, then the users left alone. Exit 5 when a change failed,
/// or a user was absent without `missing_ok`; 7 when the journal could not be written (no
/// further change started). With the outcome, the apply's report when it ran (not for a dry
/// run, an empty plan, or one not confirmed or refused).
pub async fn carry_out(
    ctx: &Ctx,
    bulk: BulkPlan,
    how: &How<'_>,
    what: &str,
) -> (Option<ApplyReport>, Outcome) {
    let mut applied = None;
    let outcome = apply_bulk(ctx, bulk, how, what, &mut applied).await;
    (applied, outcome)
}

async fn apply_bulk(
    ctx: &Ctx,
    bulk: BulkPlan,
    how: &How<'_>,
    what: &str,
    applied: &mut Option<ApplyReport>,
) -> Outcome {
    let How {
        fleet,
        looked_up,
        dry_run,
        missing_ok,
        concurrency,
        journal,
        guardrails,
    } = *how;
    let BulkPlan {
        plan,
        unchanged,
        absent,
    } = bulk;
    // A dry run in JSON prints the plan document (what `plan -f json` prints).
    show_plan(ctx.format, &plan, dry_run, looked_up)?;
    let label = |cid: &Option<Cid>| {
        cid.as_ref()
            .map_or_else(|| OWN_CID.to_owned(), Cid::to_string)
    };
    // In a fleet, an absent user with no CID was looked for in every member CID, found in none.
    let absent_label = |cid: &Option<Cid>| match cid {
        None if fleet => "-".to_owned(),
        other => label(other),
    };
    let mut left_alone: Vec<ResultRow> = unchanged
        .iter()
        .map(|(cid, uid)| ResultRow {
            cid: label(cid),
            uid: uid.clone(),
            outcome: Verb::Unchanged,
            detail: String::new(),
        })
        .collect();
    left_alone.extend(absent.iter().map(|(cid, uid)| ResultRow {
        cid: absent_label(cid),
        uid: uid.clone(),
        outcome: if missing_ok {
            Verb::Absent
        } else {
            Verb::Failed
        },
        detail: "no such user".to_owned(),
    }));
    let absent_failed = if missing_ok { 0 } else { absent.len() };
    let report = if dry_run || plan.is_empty() {
        if !dry_run {
            // Nothing to change is an apply that did it all.
            *applied = Some(ApplyReport::default());
        }
        ApplyReport::default()
    } else {
        let question = format!("{what}: {} users", plan.changes.len());
        if !confirm(ctx.yes, &question).await {
            return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
        }
        let journal = journal.map(JournalFile::open).transpose()?;
        let off = Journal::off();
        let options = ApplyOptions::new()
            .concurrency(concurrency)
            .verify(false)
            .guardrails(guardrails)
            .settle(ctx.settle.clone())
            .stop_on(ctx.changes.begin());
        let sink = journal.as_ref().map_or(&off, |j| &j.journal);
        let report = ctx.falcon.apply(&plan, &options, sink).await?;
        *applied = Some(report.clone());
        if let Some(Err(failed)) = journal.as_ref().map(JournalFile::check) {
            show_report(&ctx.falcon, ctx.format, &plan, &report, Vec::new()).await?;
            return Err(failed);
        }
        report
    };
    if dry_run {
        console::line(format_args!("dry run: nothing was changed"));
        if !left_alone.is_empty() {
            print_results(&ctx.falcon, ctx.format, left_alone).await?;
        }
    } else {
        show_report(&ctx.falcon, ctx.format, &plan, &report, left_alone).await?;
    }
    let (done, already, failed, not_started) = report.counts();
    // One outcome per user: an absent user is `absent` with --missing-ok, else `failed`.
    let failed = failed + absent_failed;
    console::line(format_args!(
        "{done} done, {already} already done, {} unchanged, {} absent, {failed} failed, \
         {not_started} not started; {} requests",
        unchanged.len(),
        absent.len() - absent_failed,
        ctx.falcon.stats().requests
    ));
    if failed + not_started == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Exit(
            exit::PARTIAL,
            format!("{failed} failed and {not_started} not started"),
        ))
    }
}

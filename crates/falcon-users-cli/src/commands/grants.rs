//! `grants list|grant|revoke`; with `--cid` naming several children (or `all`), the same in
//! each, with one summary.

use std::process::ExitCode;

use falcon_users::types::CombinedUserRolesV2Sort;
use falcon_users::workflows::{AcrossOptions, AcrossOutcome, RoleChange};
use falcon_users::{Cid, Falcon, GrantQuery, User, UserInfo, UserRef};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::bulk::edit_roles;
use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::expiry;
use crate::failure::{Failure, Outcome};
use crate::jobs::Grants;
use crate::member_cids::MemberCids;
use crate::output::console;
use crate::output::plan::{ResultRow, Verb, count_outcomes};
use crate::output::print_all;
use crate::records::GrantRow;

/// Runs a `grants` subcommand.
pub async fn run(ctx: &Ctx, job: Grants) -> Outcome {
    let falcon = &ctx.falcon;
    match job {
        Grants::List { user, cids, sort } => {
            let cid = match one_cid(cids) {
                Ok(cid) => cid,
                Err(cids) => return list_many(ctx, &user, &cids, sort).await,
            };
            let mut query = GrantQuery::new();
            if let Some(cid) = cid {
                query = query.cid(cid);
            }
            if let Some(sort) = sort {
                query = query.sort(sort);
            }
            let who = whose(falcon, &user).await?;
            let rows: Vec<GrantRow> = falcon
                .grants(UserRef::Uuid(who.uuid.clone()), query)
                .map_ok(|g| GrantRow::of(&who.uid, g))
                .try_collect()
                .await?;
            print_all(ctx.format, &rows)?;
        }
        Grants::Many(job) => return edit_roles(ctx, &job).await,
        Grants::Grant {
            user,
            roles,
            expires_in_hours,
            expires_at,
            cids,
        } => {
            no_roles(&roles)?;
            let expires_at = expires_at
                .or_else(|| expires_in_hours.map(|h| expiry::in_hours(h, chrono::Utc::now())));
            let change = RoleChange::Grant { expires_at };
            match one_cid(cids) {
                Ok(cid) => return change_one(ctx, change, &user, &roles, cid).await,
                Err(cids) => return change_many(ctx, change, &user, &roles, &cids).await,
            }
        }
        Grants::Revoke { user, roles, cids } => {
            no_roles(&roles)?;
            let change = RoleChange::Revoke;
            match one_cid(cids) {
                Ok(cid) => return change_one(ctx, change, &user, &roles, cid).await,
                Err(cids) => return change_many(ctx, change, &user, &roles, &cids).await,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `grants grant|revoke USER ROLE...` in one CID (`None`: the handle's own): what is already
/// as asked is said and left, the rest changed (a revoke once confirmed).
async fn change_one(
    ctx: &Ctx,
    change: RoleChange,
    user: &str,
    roles: &[String],
    cid: Option<Cid>,
) -> Outcome {
    let falcon = &ctx.falcon;
    let plan = falcon
        .plan_role_change(user, roles, change, cid.as_ref())
        .await?;
    let who = user.trim();
    let in_cid = in_cid(cid.as_ref());
    for role in &plan.leave {
        match change {
            RoleChange::Grant { .. } => console::line(format_args!(
                "already held: {who} holds {role}{in_cid}; nothing to grant"
            )),
            RoleChange::Revoke => console::line(format_args!(
                "not held: {who} does not hold {role}{in_cid}; nothing to revoke"
            )),
        }
    }
    if plan.is_empty() {
        count_outcomes([Verb::AlreadyDone]);
        return Ok(ExitCode::SUCCESS);
    }
    let changed = plan.roles.join(", ");
    if change == RoleChange::Revoke
        && !confirm(ctx.yes, &format!("revoke {changed} from {who}")).await
    {
        return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
    }
    ctx.changes.begin();
    falcon.carry_out_role_change(&plan).await?;
    count_outcomes([Verb::Done]);
    match change {
        RoleChange::Grant {
            expires_at: Some(at),
        } => console::line(format_args!(
            "granted {changed} to {who} until {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
        RoleChange::Grant { expires_at: None } => {
            console::line(format_args!("granted {changed} to {who}{in_cid}"))
        }
        RoleChange::Revoke => console::line(format_args!("revoked {changed} from {who}{in_cid}")),
    }
    Ok(ExitCode::SUCCESS)
}

/// The one CID `--cid` names (`None`: not given), or the CIDs when it names several or `all`.
/// `all` is worked as a fleet however many children there are.
fn one_cid(cids: Option<MemberCids>) -> Result<Option<Cid>, Vec<Cid>> {
    match cids {
        None => Ok(None),
        Some(mut one) if one.0.len() == 1 && !one.is_all() => Ok(one.0.pop()),
        Some(many) => Err(many.0),
    }
}

/// `grants list USER --cid A,B|all`: the user's grants in each CID, one listing per CID;
/// a CID that cannot be read is reported and the others' grants printed (exit 5).
async fn list_many(
    ctx: &Ctx,
    user: &str,
    cids: &[Cid],
    sort: Option<CombinedUserRolesV2Sort>,
) -> Outcome {
    let falcon = &ctx.falcon;
    let who = whose(falcon, user).await?;
    let listed: Vec<(Cid, falcon_users::Result<Vec<GrantRow>>)> = stream::iter(cids.to_vec())
        .map(|cid| {
            let mut query = GrantQuery::new().cid(cid.clone());
            if let Some(sort) = sort {
                query = query.sort(sort);
            }
            let rows = falcon
                .grants(UserRef::Uuid(who.uuid.clone()), query)
                .map_ok(|g| GrantRow::of(&who.uid, g))
                .try_collect();
            async move { (cid, rows.await) }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (cid, outcome) in listed {
        match outcome {
            Ok(found) => rows.extend(found),
            Err(err) => {
                console::line(format_args!("error: child CID {cid}: {err}"));
                failed.push(exit::for_error(&err));
            }
        }
    }
    print_all(ctx.format, &rows)?;
    console::line(format_args!(
        "{} grants in {} CIDs{}",
        rows.len(),
        cids.len() - failed.len(),
        match failed.len() {
            0 => String::new(),
            n => format!("; {n} could not be read"),
        }
    ));
    exit_of(&failed, cids.len())
}

/// The user whose grants are listed, named by login or UUID: the UUID as before (a login
/// nobody has is refused naming it), then the user read for the login the rows show beside
/// it. A UUID the service does not know keeps an empty login: its grants listing says why.
async fn whose(falcon: &Falcon, user: &str) -> Result<UserInfo, Failure> {
    let uuid = falcon.user_uuid(user).await?;
    let found = falcon.find_user(UserRef::Uuid(uuid.clone())).await?;
    Ok(found.map_or_else(
        || {
            UserInfo::from(User {
                uuid: Some(uuid),
                ..User::default()
            })
        },
        UserInfo::from,
    ))
}

/// Children worked at once by the `--cid` forms over several CIDs.
const IN_FLIGHT: usize = 8;

/// `grants grant|revoke USER ROLE... --cid A,B|all`: every CID read first (the roles resolved
/// in it, what the user holds there), then, after one confirmation for a revoke, the changes;
/// one result row per CID, a summary, exit 5 when some CIDs failed (their own code when all
/// did).
async fn change_many(
    ctx: &Ctx,
    change: RoleChange,
    user: &str,
    roles: &[String],
    cids: &[Cid],
) -> Outcome {
    let falcon = &ctx.falcon;
    let who = user.trim();
    let options = AcrossOptions::new().concurrency(IN_FLIGHT);
    let plan = falcon
        .plan_role_change_across(user, roles, change, cids, &options)
        .await?;
    let to_change = plan.to_change();
    if matches!(change, RoleChange::Revoke) && to_change > 0 {
        let question = format!("revoke roles from {who} in {to_change} CIDs");
        if !confirm(ctx.yes, &question).await {
            return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
        }
    }
    if to_change > 0 {
        ctx.changes.begin();
    }
    let outcomes = falcon.carry_out_across(plan, &options).await;
    let failed: Vec<u8> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(exit::for_error))
        .collect();
    let rows: Vec<ResultRow> = outcomes.iter().map(|o| result_row(who, o)).collect();
    let count = |verb: Verb| rows.iter().filter(|r| r.outcome == verb).count();
    let (done, already) = (count(Verb::Done), count(Verb::AlreadyDone));
    count_outcomes(rows.iter().map(|r| r.outcome));
    print_all(ctx.format, &rows)?;
    // The words of every command's results (`Verb`).
    console::line(format_args!(
        "{} {who} in {} CIDs: {done} done, {already} already done, {} failed",
        match change {
            RoleChange::Grant { .. } => "granted to",
            RoleChange::Revoke => "revoked from",
        },
        cids.len(),
        failed.len()
    ));
    exit_of(&failed, cids.len())
}

/// One CID's result row: done (the roles changed, and those left), already done, or failed.
fn result_row(who: &str, outcome: &AcrossOutcome) -> ResultRow {
    let cid = outcome.cid.to_string();
    let row = |verb: Verb, detail: String| ResultRow {
        cid: cid.clone(),
        uid: who.to_owned(),
        outcome: verb,
        detail,
    };
    let plan = match &outcome.result {
        Ok(plan) => plan,
        Err(err) => return row(Verb::Failed, err.to_string()),
    };
    let left = match (plan.change, plan.leave.is_empty()) {
        (_, true) => String::new(),
        (RoleChange::Grant { .. }, false) => format!("already held: {}", plan.leave.join(", ")),
        (RoleChange::Revoke, false) => format!("not held: {}", plan.leave.join(", ")),
    };
    if plan.is_empty() {
        return row(Verb::AlreadyDone, left);
    }
    let verb = match plan.change {
        RoleChange::Grant { .. } => "granted",
        RoleChange::Revoke => "revoked",
    };
    let mut detail = format!("{verb} {}", plan.roles.join(", "));
    if !left.is_empty() {
        detail.push_str(&format!("; {left}"));
    }
    row(Verb::Done, detail)
}

/// Success when nothing failed; every CID failing: the first failure's own code; some: 5.
fn exit_of(failed: &[u8], of: usize) -> Outcome {
    match failed.first() {
        None => Ok(ExitCode::SUCCESS),
        Some(code) if failed.len() == of => {
            Err(Failure::Exit(*code, format!("every CID failed ({of})")))
        }
        Some(_) => Ok(ExitCode::from(exit::PARTIAL)),
    }
}

/// ` in CID x` for a change made in a child CID, nothing otherwise.
fn in_cid(cid: Option<&falcon_users::Cid>) -> String {
    cid.map(|c| format!(" in CID {c}")).unwrap_or_default()
}

/// The single-user form needs at least one role (the bulk forms take the first from `user`).
fn no_roles(roles: &[String]) -> Result<(), Failure> {
    if roles.is_empty() {
        return Err(Failure::Exit(exit::USAGE, "name at least one role".into()));
    }
    Ok(())
}

//! `grants list|grant|revoke`; with `--cid` naming several children (or `all`), the same in
//! each, with one summary.

use std::collections::BTreeSet;
use std::process::ExitCode;

use falcon_users::types::CombinedUserRolesV2Sort;
use falcon_users::{
    Cid, Falcon, GrantOptions, GrantQuery, GrantView, RevokeOptions, User, UserInfo, UserRef,
};
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
            let cid = match one_cid(cids) {
                Ok(cid) => cid,
                Err(cids) => {
                    let edit = Edit::Grant(expires_at);
                    return change_many(ctx, edit, &user, &roles, &cids).await;
                }
            };
            let uuid = falcon.user_uuid(&user).await?;
            let roles = falcon.resolve_roles_for(&roles, cid.as_ref()).await?;
            let mut options = GrantOptions::new();
            if let Some(cid) = cid.clone() {
                options = options.cid(cid);
            }
            if let Some(at) = expires_at {
                options = options.expires_at(at);
            }
            let held = held(falcon, &uuid, cid.as_ref()).await?;
            let (roles, already) = split_granted(&roles, &held, expires_at);
            let who = user.trim();
            for role in &already {
                console::line(format_args!(
                    "already held: {who} holds {role}{}; nothing to grant",
                    in_cid(cid.as_ref())
                ));
            }
            if roles.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            ctx.changes.begin();
            falcon
                .grant_roles(UserRef::Uuid(uuid), roles.clone(), options)
                .await?;
            match expires_at {
                Some(at) => console::line(format_args!(
                    "granted {} to {who} until {}",
                    roles.join(", "),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
                None => console::line(format_args!(
                    "granted {} to {who}{}",
                    roles.join(", "),
                    in_cid(cid.as_ref())
                )),
            }
        }
        Grants::Revoke { user, roles, cids } => {
            no_roles(&roles)?;
            let cid = match one_cid(cids) {
                Ok(cid) => cid,
                Err(cids) => return change_many(ctx, Edit::Revoke, &user, &roles, &cids).await,
            };
            let uuid = falcon.user_uuid(&user).await?;
            let roles = falcon.resolve_roles_for(&roles, cid.as_ref()).await?;
            let held: BTreeSet<String> = held(falcon, &uuid, cid.as_ref())
                .await?
                .into_iter()
                .map(|(role, _)| role)
                .collect();
            let (revoke, not_held) = split_held(&roles, &held);
            let who = user.trim();
            for role in &not_held {
                console::line(format_args!(
                    "not held: {who} does not hold {role}{}; nothing to revoke",
                    in_cid(cid.as_ref())
                ));
            }
            if revoke.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            if !confirm(ctx.yes, &format!("revoke {} from {who}", revoke.join(", "))).await {
                return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
            }
            let mut options = RevokeOptions::new();
            if let Some(cid) = cid.clone() {
                options = options.cid(cid);
            }
            ctx.changes.begin();
            falcon
                .revoke_roles(UserRef::Uuid(uuid), revoke.clone(), options)
                .await?;
            console::line(format_args!(
                "revoked {} from {who}{}",
                revoke.join(", "),
                in_cid(cid.as_ref())
            ));
        }
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

/// A change `grants grant|revoke --cid A,B|all` makes in each CID.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// Grant, until when (`None`: permanently).
    Grant(Option<chrono::DateTime<chrono::Utc>>),
    /// Revoke.
    Revoke,
}

/// What one CID needs: the roles to change, and those left as they are (already held as
/// asked, or not held).
struct CidPlan {
    change: Vec<String>,
    leave: Vec<String>,
}

/// `grants grant|revoke USER ROLE... --cid A,B|all`: every CID read first (the roles resolved
/// in it, what the user holds there), then, after one confirmation for a revoke, the changes;
/// one result row per CID, a summary, exit 5 when some CIDs failed (their own code when all
/// did).
async fn change_many(ctx: &Ctx, edit: Edit, user: &str, roles: &[String], cids: &[Cid]) -> Outcome {
    let falcon = &ctx.falcon;
    let who = user.trim();
    let uuid = falcon.user_uuid(user).await?;
    let plans: Vec<(Cid, falcon_users::Result<CidPlan>)> = stream::iter(cids.to_vec())
        .map(|cid| {
            let uuid = uuid.clone();
            async move {
                let plan = async {
                    let roles = falcon.resolve_roles_for(roles, Some(&cid)).await?;
                    let held = held(falcon, &uuid, Some(&cid)).await?;
                    let (change, leave) = match edit {
                        Edit::Grant(end) => split_granted(&roles, &held, end),
                        Edit::Revoke => {
                            let held: BTreeSet<String> = held.into_iter().map(|(r, _)| r).collect();
                            split_held(&roles, &held)
                        }
                    };
                    Ok(CidPlan { change, leave })
                };
                (cid.clone(), plan.await)
            }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let to_change = plans
        .iter()
        .filter(|(_, p)| p.as_ref().is_ok_and(|p| !p.change.is_empty()))
        .count();
    if matches!(edit, Edit::Revoke) && to_change > 0 {
        let question = format!("revoke roles from {who} in {to_change} CIDs");
        if !confirm(ctx.yes, &question).await {
            return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
        }
    }
    if to_change > 0 {
        ctx.changes.begin();
    }
    let rows: Vec<(ResultRow, Option<u8>)> = stream::iter(plans)
        .map(|(cid, plan)| {
            let uuid = uuid.clone();
            async move { change_in(falcon, edit, who, &uuid, &cid, plan).await }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let failed: Vec<u8> = rows.iter().filter_map(|(_, code)| *code).collect();
    let count = |verb: Verb| rows.iter().filter(|(r, _)| r.outcome == verb).count();
    let (done, already) = (count(Verb::Done), count(Verb::AlreadyDone));
    let rows: Vec<ResultRow> = rows.into_iter().map(|(row, _)| row).collect();
    count_outcomes(rows.iter().map(|r| r.outcome));
    print_all(ctx.format, &rows)?;
    // The words of every command's results (`Verb`).
    console::line(format_args!(
        "{} {who} in {} CIDs: {done} done, {already} already done, {} failed",
        match edit {
            Edit::Grant(_) => "granted to",
            Edit::Revoke => "revoked from",
        },
        cids.len(),
        failed.len()
    ));
    exit_of(&failed, cids.len())
}

/// Carries out one CID's plan: its result row, and the exit code of its failure.
async fn change_in(
    falcon: &falcon_users::Falcon,
    edit: Edit,
    who: &str,
    uuid: &str,
    cid: &Cid,
    plan: falcon_users::Result<CidPlan>,
) -> (ResultRow, Option<u8>) {
    let row = |outcome: Verb, detail: String| ResultRow {
        cid: cid.to_string(),
        uid: who.to_owned(),
        outcome,
        detail,
    };
    let left = |plan: &CidPlan| match (edit, plan.leave.is_empty()) {
        (_, true) => String::new(),
        (Edit::Grant(_), false) => format!("already held: {}", plan.leave.join(", ")),
        (Edit::Revoke, false) => format!("not held: {}", plan.leave.join(", ")),
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(err) => {
            let code = exit::for_error(&err);
            return (row(Verb::Failed, err.to_string()), Some(code));
        }
    };
    if plan.change.is_empty() {
        return (row(Verb::AlreadyDone, left(&plan)), None);
    }
    let user = UserRef::Uuid(uuid.to_owned());
    let done = match edit {
        Edit::Grant(end) => {
            let mut options = GrantOptions::new().cid(cid.clone());
            if let Some(at) = end {
                options = options.expires_at(at);
            }
            falcon.grant_roles(user, plan.change.clone(), options).await
        }
        Edit::Revoke => {
            let options = RevokeOptions::new().cid(cid.clone());
            falcon
                .revoke_roles(user, plan.change.clone(), options)
                .await
        }
    };
    match done {
        Ok(()) => {
            let verb = match edit {
                Edit::Grant(_) => "granted",
                Edit::Revoke => "revoked",
            };
            let mut detail = format!("{verb} {}", plan.change.join(", "));
            if !plan.leave.is_empty() {
                detail.push_str(&format!("; {}", left(&plan)));
            }
            (row(Verb::Done, detail), None)
        }
        Err(err) => {
            let code = exit::for_error(&err);
            (row(Verb::Failed, err.to_string()), Some(code))
        }
    }
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

/// The roles `uuid` holds (in `cid`, when given), each with its end (`None`: permanent).
async fn held(
    falcon: &falcon_users::Falcon,
    uuid: &str,
    cid: Option<&falcon_users::Cid>,
) -> falcon_users::Result<Vec<(String, Option<chrono::DateTime<chrono::Utc>>)>> {
    let mut query = GrantQuery::new();
    if let Some(cid) = cid {
        query = query.cid(cid.clone());
    }
    falcon
        .grants(UserRef::Uuid(uuid.to_owned()), query)
        .map_ok(|g| (g.role_id.clone(), g.expires_at()))
        .try_collect()
        .await
}

/// ` in CID x` for a change made in a child CID, nothing otherwise.
fn in_cid(cid: Option<&falcon_users::Cid>) -> String {
    cid.map(|c| format!(" in CID {c}")).unwrap_or_default()
}

/// The roles to revoke (those held) and those the user does not hold, each in the order named.
fn split_held(roles: &[String], held: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    roles.iter().cloned().partition(|r| held.contains(r))
}

/// The roles to grant and those already held as asked (permanent, or ending when asked,
/// to the second the service keeps), each in the order named. A role held with another end is
/// granted again: that sets its end.
fn split_granted(
    roles: &[String],
    held: &[(String, Option<chrono::DateTime<chrono::Utc>>)],
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> (Vec<String>, Vec<String>) {
    let as_asked = |have: &Option<chrono::DateTime<chrono::Utc>>| match (have, end) {
        (None, None) => true,
        (Some(have), Some(end)) => have.timestamp() == end.timestamp(),
        _ => false,
    };
    roles
        .iter()
        .cloned()
        .partition(|r| !held.iter().any(|(id, have)| id == r && as_asked(have)))
}

/// The single-user form needs at least one role (the bulk forms take the first from `user`).
fn no_roles(roles: &[String]) -> Result<(), Failure> {
    if roles.is_empty() {
        return Err(Failure::Exit(exit::USAGE, "name at least one role".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (named, held with their ends in hours from t, asked end, granted, already held)
    #[test]
    fn roles_held_as_asked_are_not_granted_again() {
        let t = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |h: i64| Some(t + chrono::Duration::hours(h));
        type Held = Vec<(&'static str, Option<i64>)>;
        type Case = (
            Vec<&'static str>,
            Held,
            Option<i64>,
            Vec<&'static str>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                vec!["a", "b"],
                vec![("a", None)],
                None,
                vec!["b"],
                vec!["a"],
            ),
            (vec!["a"], vec![], None, vec!["a"], vec![]),
            (vec!["a"], vec![("a", Some(2))], Some(2), vec![], vec!["a"]),
            // Another end: granting again sets it.
            (vec!["a"], vec![("a", Some(2))], Some(3), vec!["a"], vec![]),
            (vec!["a"], vec![("a", Some(2))], None, vec!["a"], vec![]),
            (vec!["a"], vec![("a", None)], Some(2), vec!["a"], vec![]),
        ];
        for (named, held, end, grant, already) in cases {
            let named: Vec<String> = named.iter().map(|r| r.to_string()).collect();
            let held: Vec<_> = held
                .iter()
                .map(|(r, h)| (r.to_string(), h.and_then(at)))
                .collect();
            let (g, a) = split_granted(&named, &held, end.and_then(at));
            assert_eq!(
                (g, a),
                (
                    grant.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    already.iter().map(|r| r.to_string()).collect::<Vec<_>>()
                ),
                "{named:?} {held:?} {end:?}"
            );
        }
    }

    #[test]
    fn only_held_roles_are_revoked() {
        let held: BTreeSet<String> = ["a", "c"].map(String::from).into();
        let cases: [(&[&str], &[&str], &[&str]); 4] = [
            (&["a", "c"], &["a", "c"], &[]),
            (&["b"], &[], &["b"]),
            (&["b", "a", "d"], &["a"], &["b", "d"]),
            (&[], &[], &[]),
        ];
        for (named, revoked, not_held) in cases {
            let named: Vec<String> = named.iter().map(|r| r.to_string()).collect();
            let (r, n) = split_held(&named, &held);
            assert_eq!(r, revoked, "revoked of {named:?}");
            assert_eq!(n, not_held, "not held of {named:?}");
        }
    }
}

//! `grants list|grant|revoke`.

use std::collections::BTreeSet;
use std::process::ExitCode;

use falcon_users::{GrantOptions, GrantQuery, GrantView, RevokeOptions, UserRef};
use futures::TryStreamExt;

use crate::bulk::edit_roles;
use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::expiry;
use crate::failure::{Failure, Outcome};
use crate::jobs::Grants;
use crate::output::console;
use crate::output::print_all;
use crate::records::GrantRow;

/// Runs a `grants` subcommand.
pub async fn run(ctx: &Ctx, job: Grants) -> Outcome {
    let falcon = &ctx.falcon;
    match job {
        Grants::List { user, cid, sort } => {
            let mut query = GrantQuery::new();
            if let Some(cid) = cid {
                query = query.cid(cid);
            }
            if let Some(sort) = sort {
                query = query.sort(sort);
            }
            let rows: Vec<GrantRow> = falcon
                .grants(&user, query)
                .map_ok(GrantRow)
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
            cid,
        } => {
            no_roles(&roles)?;
            let uuid = falcon.user_uuid(&user).await?;
            let roles = falcon.resolve_roles_for(&roles, cid.as_ref()).await?;
            let expires_at = expires_at
                .or_else(|| expires_in_hours.map(|h| expiry::in_hours(h, chrono::Utc::now())));
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
        Grants::Revoke { user, roles, cid } => {
            no_roles(&roles)?;
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

/// The roles `uuid` holds (in `cid`, when given), each with its end (`None`: permanent).
async fn held(
    falcon: &falcon_users::Falcon,
    uuid: &str,
    cid: Option<&falcon_users::Cid>,
) -> Result<Vec<(String, Option<chrono::DateTime<chrono::Utc>>)>, Failure> {
    let mut query = GrantQuery::new();
    if let Some(cid) = cid {
        query = query.cid(cid.clone());
    }
    Ok(falcon
        .grants(UserRef::Uuid(uuid.to_owned()), query)
        .map_ok(|g| (g.role_id.clone(), g.expires_at()))
        .try_collect()
        .await?)
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

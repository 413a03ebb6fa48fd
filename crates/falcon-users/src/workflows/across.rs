//! One user's role change in one CID or in several: each CID read first (the roles resolved
//! there, what the user holds there), split by a pure rule into what to change and what is
//! already as asked, then carried out, one outcome per CID.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::model::role_ref::RoleRef;
use crate::model::user_ref::UserRef;
use crate::model::views::GrantView;
use crate::ops::grants::GrantQuery;
use crate::workflows::bulk::RoleChange;

/// What a role change of one user needs in one CID: the roles to change, and those left as
/// they are (already held as asked by a grant; not held, for a revoke), each in the order named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidRoleChange {
    /// The user's UUID.
    pub user_uuid: String,
    /// The CID (`None`: the handle's own, or the user's home CID).
    pub cid: Option<Cid>,
    /// Grant or revoke.
    pub change: RoleChange,
    /// The role ids to change.
    pub roles: Vec<String>,
    /// The role ids left as they are.
    pub leave: Vec<String>,
}

impl CidRoleChange {
    /// Whether nothing is to change (every role already as asked).
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

/// How many CIDs [`Falcon::plan_role_change_across`] and [`Falcon::carry_out_across`] work at
/// once.
///
/// ```
/// let options = falcon_users::workflows::AcrossOptions::new().concurrency(4);
/// assert_eq!(options.concurrency, 4);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcrossOptions {
    /// CIDs worked at once (default 8; 0 counts as 1).
    pub concurrency: usize,
}

impl Default for AcrossOptions {
    fn default() -> Self {
        Self { concurrency: 8 }
    }
}

impl AcrossOptions {
    /// Eight CIDs at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// CIDs worked at once (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
}

/// A role change of one user planned in each of several CIDs: a CID that could not be read
/// keeps its error, and the others their plan.
#[derive(Debug)]
pub struct AcrossPlan {
    /// Each CID, in the order given, with what it needs or why it could not be read.
    pub cids: Vec<(Cid, Result<CidRoleChange>)>,
}

impl AcrossPlan {
    /// How many CIDs have something to change.
    pub fn to_change(&self) -> usize {
        self.cids
            .iter()
            .filter(|(_, p)| p.as_ref().is_ok_and(|p| !p.is_empty()))
            .count()
    }
}

/// What became of one CID of an [`AcrossPlan`]: its plan once carried out (nothing to change:
/// already as asked), or the error of its read or of its change.
#[derive(Debug)]
pub struct AcrossOutcome {
    /// The CID.
    pub cid: Cid,
    /// The plan carried out, or why it was not.
    pub result: Result<CidRoleChange>,
}

/// Splits the named roles into those to change and those left as they are, each in the order
/// named. A grant leaves a role held as asked (permanently, or ending when asked, to the
/// second the service keeps); a role held with another end is granted again, which sets its
/// end. A revoke leaves a role not held.
pub fn split_roles(
    change: RoleChange,
    roles: &[String],
    held: &[(String, Option<DateTime<Utc>>)],
) -> (Vec<String>, Vec<String>) {
    match change {
        RoleChange::Grant { expires_at: end } => {
            let as_asked = |have: &Option<DateTime<Utc>>| match (have, end) {
                (None, None) => true,
                (Some(have), Some(end)) => have.timestamp() == end.timestamp(),
                _ => false,
            };
            roles
                .iter()
                .cloned()
                .partition(|r| !held.iter().any(|(id, have)| id == r && as_asked(have)))
        }
        RoleChange::Revoke => {
            let held: BTreeSet<&str> = held.iter().map(|(r, _)| r.as_str()).collect();
            roles
                .iter()
                .cloned()
                .partition(|r| held.contains(r.as_str()))
        }
    }
}

impl Falcon {
    /// Plans `change` of `roles` (by id or display name, resolved against `cid`'s roles) for
    /// `user` in `cid` (`None`: the handle's own): what the user holds there is read, and the
    /// roles split by [`split_roles`]. Nothing changes.
    pub async fn plan_role_change<R: Into<RoleRef> + Clone>(
        &self,
        user: impl Into<UserRef>,
        roles: &[R],
        change: RoleChange,
        cid: Option<&Cid>,
    ) -> Result<CidRoleChange> {
        let user_uuid = self.user_uuid(user).await?;
        self.plan_for_uuid(user_uuid, roles, change, cid).await
    }

    /// [`Falcon::plan_role_change`] in each of `cids`, [`AcrossOptions::concurrency`] at a
    /// time: the user is looked up once (a login nobody has fails the whole plan), and a CID
    /// that cannot be read keeps its error while the others are planned.
    pub async fn plan_role_change_across<R: Into<RoleRef> + Clone + Sync>(
        &self,
        user: impl Into<UserRef>,
        roles: &[R],
        change: RoleChange,
        cids: &[Cid],
        options: &AcrossOptions,
    ) -> Result<AcrossPlan> {
        let user_uuid = self.user_uuid(user).await?;
        let cids = stream::iter(cids.iter().cloned())
            .map(|cid| {
                let user_uuid = user_uuid.clone();
                async move {
                    let plan = self
                        .plan_for_uuid(user_uuid, roles, change, Some(&cid))
                        .await;
                    (cid, plan)
                }
            })
            .buffered(options.concurrency.max(1))
            .collect()
            .await;
        Ok(AcrossPlan { cids })
    }

    /// Carries out one CID's plan (nothing is sent when it is empty).
    pub async fn carry_out_role_change(&self, plan: &CidRoleChange) -> Result<()> {
        if plan.is_empty() {
            return Ok(());
        }
        self.change_roles(
            UserRef::Uuid(plan.user_uuid.clone()),
            plan.roles.clone(),
            plan.change,
            plan.cid.clone(),
        )
        .await
    }

    /// Carries out each CID of `plan`, [`AcrossOptions::concurrency`] at a time; every CID
    /// gets an outcome, in the plan's order, and one failure does not stop the others.
    pub async fn carry_out_across(
        &self,
        plan: AcrossPlan,
        options: &AcrossOptions,
    ) -> Vec<AcrossOutcome> {
        stream::iter(plan.cids)
            .map(|(cid, planned)| async move {
                let result = match planned {
                    Ok(planned) => self.carry_out_role_change(&planned).await.map(|()| planned),
                    Err(e) => Err(e),
                };
                AcrossOutcome { cid, result }
            })
            .buffered(options.concurrency.max(1))
            .collect()
            .await
    }

    async fn plan_for_uuid<R: Into<RoleRef> + Clone>(
        &self,
        user_uuid: String,
        roles: &[R],
        change: RoleChange,
        cid: Option<&Cid>,
    ) -> Result<CidRoleChange> {
        let roles = self.resolve_roles_for(roles.iter().cloned(), cid).await?;
        let mut query = GrantQuery::new();
        if let Some(cid) = cid {
            query = query.cid(cid.clone());
        }
        let held: Vec<(String, Option<DateTime<Utc>>)> = self
            .grants(UserRef::Uuid(user_uuid.clone()), query)
            .map_ok(|g| {
                let end = g.expires_at();
                (g.role_id, end)
            })
            .try_collect()
            .await?;
        let (change_roles, leave) = split_roles(change, &roles, &held);
        Ok(CidRoleChange {
            user_uuid,
            cid: cid.cloned(),
            change,
            roles: change_roles,
            leave,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (named, held with their ends in hours from t, asked end, granted, already held)
    #[test]
    fn roles_held_as_asked_are_not_granted_again() {
        let t = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
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
            let change = RoleChange::Grant {
                expires_at: end.and_then(at),
            };
            let (g, a) = split_roles(change, &named, &held);
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
        let held: Vec<(String, Option<DateTime<Utc>>)> =
            vec![("a".into(), None), ("c".into(), None)];
        let cases: [(&[&str], &[&str], &[&str]); 4] = [
            (&["a", "c"], &["a", "c"], &[]),
            (&["b"], &[], &["b"]),
            (&["b", "a", "d"], &["a"], &["b", "d"]),
            (&[], &[], &[]),
        ];
        for (named, revoked, not_held) in cases {
            let named: Vec<String> = named.iter().map(|r| r.to_string()).collect();
            let (r, n) = split_roles(RoleChange::Revoke, &named, &held);
            assert_eq!(r, revoked, "revoked of {named:?}");
            assert_eq!(n, not_held, "not held of {named:?}");
        }
    }
}

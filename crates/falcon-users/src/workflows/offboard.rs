//! Offboarding: find the user, revoke every grant, then delete; with a dry run that only plans.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use tracing::info;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::model::user_ref::UserRef;
use crate::model::views::{Grant, User};
use crate::ops::grants::{GrantQuery, RevokeOptions};
use crate::workflows::stop::Stop;

/// What offboarding will do (or did): the user, the grants to revoke by CID, then the delete.
#[derive(Debug, Clone, PartialEq)]
pub struct OffboardPlan {
    /// The user found.
    pub user: User,
    /// Grants to revoke.
    pub grants: Vec<Grant>,
    /// Role ids to revoke, per CID.
    pub revoke: BTreeMap<String, Vec<String>>,
}

/// The result of [`Falcon::offboard`].
#[derive(Debug, Clone, PartialEq)]
pub struct OffboardReport {
    /// What was (or, in a dry run, would be) done.
    pub plan: OffboardPlan,
    /// Whether the changes were made (false for a dry run).
    pub executed: bool,
}

impl Falcon {
    /// Revokes every grant of a user and deletes them. With `dry_run`, returns the plan and
    /// changes nothing. Deletion is irreversible: nothing is deleted unless every revoke worked.
    pub async fn offboard(&self, who: impl Into<UserRef>, dry_run: bool) -> Result<OffboardReport> {
        self.offboard_with_stop(who, dry_run, &Stop::new()).await
    }

    /// [`Falcon::offboard`] that checks `stop` before each step (each CID's revoke, then the
    /// delete): once it is raised, the step in flight finishes and [`Error::Stopped`] lists the
    /// steps done (grants revoked so far) and not done (the user then still exists).
    pub async fn offboard_with_stop(
        &self,
        who: impl Into<UserRef>,
        dry_run: bool,
        stop: &Stop,
    ) -> Result<OffboardReport> {
        let who = who.into();
        let user = self
            .find_user(&who)
            .await?
            .ok_or_else(|| Error::invalid("user", format!("no user {who} in this CID")))?;
        let uuid = user.uuid.clone().unwrap_or_default();
        let grants: Vec<_> = self.grants(&uuid, GrantQuery::new()).try_collect().await?;
        let mut revoke: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let home = user.cid.clone().unwrap_or_default();
        for grant in &grants {
            let cid = grant
                .cid
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| home.clone());
            let roles = revoke.entry(cid).or_default();
            if !roles.contains(&grant.role_id) {
                roles.push(grant.role_id.clone());
            }
        }
        let plan = OffboardPlan {
            user,
            grants,
            revoke,
        };
        if dry_run {
            return Ok(OffboardReport {
                plan,
                executed: false,
            });
        }
        let steps: Vec<String> = plan
            .revoke
            .iter()
            .map(|(cid, roles)| format!("revoke {} in CID {cid}", roles.join(", ")))
            .chain([format!("delete user {uuid}")])
            .collect();
        for (next, (cid, roles)) in plan.revoke.iter().enumerate() {
            stop.before("offboarding", &steps, next)?;
            let cid: Option<Cid> = cid.parse().ok();
            self.revoke_roles(UserRef::Uuid(uuid.clone()), roles, RevokeOptions { cid })
                .await?;
        }
        stop.before("offboarding", &steps, plan.revoke.len())?;
        self.delete_user(UserRef::Uuid(uuid.clone())).await?;
        info!(uuid = %uuid, grants = plan.grants.len(), "offboarded");
        Ok(OffboardReport {
            plan,
            executed: true,
        })
    }
}

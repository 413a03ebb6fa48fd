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
use crate::workflows::settle::{Settle, Settled};
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
    /// Whether the service showed the user gone before the offboarding returned.
    pub settled: Settled,
}

/// A user to offboard (by login or UUID), and how.
///
/// ```
/// use falcon_users::workflows::{Offboard, Stop};
/// let stop = Stop::new();
/// let job = Offboard::new("ann@example.com").dry_run(true).stop_on(stop.clone());
/// assert!(job.is_dry_run());
/// ```
#[derive(Debug, Clone)]
pub struct Offboard {
    who: UserRef,
    dry_run: bool,
    stop: Stop,
    settle: Settle,
}

impl Offboard {
    /// Offboard `who` for real, never stopped.
    pub fn new(who: impl Into<UserRef>) -> Self {
        Self {
            who: who.into(),
            dry_run: false,
            stop: Stop::new(),
            settle: Settle::new(),
        }
    }

    /// Only plan: find the user and their grants, change nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Check `stop` before each step (each CID's revoke, then the delete): once it is raised,
    /// the step in flight finishes and [`Error::Stopped`] lists the steps done (grants revoked
    /// so far) and not done (the user then still exists).
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// How long to wait, once the user is deleted, for the service to show them gone (default
    /// [`Settle::new`]: up to 90 s), so that a lookup right after does not find them.
    pub fn settle(mut self, settle: Settle) -> Self {
        self.settle = settle;
        self
    }

    /// Whether this job only plans.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The user this job offboards.
    pub fn who(&self) -> &UserRef {
        &self.who
    }
}

impl Falcon {
    /// Revokes every grant of a user and deletes them ([`Offboard`] says who and how). A dry run
    /// returns the plan and changes nothing. Deletion is irreversible: nothing is deleted
    /// unless every revoke worked.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::Offboard;
    /// let report = falcon.offboard(&Offboard::new("ann@example.com")).await?;
    /// println!("{} grants revoked", report.plan.grants.len());
    /// # Ok(()) }
    /// ```
    pub async fn offboard(&self, job: &Offboard) -> Result<OffboardReport> {
        let (who, dry_run, stop) = (&job.who, job.dry_run, &job.stop);
        let user = self
            .find_user(who.clone())
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
                settled: Settled::NotChecked,
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
        let settled = self
            .settle(
                &job.settle,
                &plan.user.uid.clone().unwrap_or_default(),
                || async { Ok(self.find_user(UserRef::Uuid(uuid.clone())).await?.is_none()) },
            )
            .await;
        Ok(OffboardReport {
            plan,
            executed: true,
            settled,
        })
    }
}

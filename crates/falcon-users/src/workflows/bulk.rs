//! One role change applied to many users, with a result per user.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::model::ids::IdList;
use crate::model::role_ref::{RoleRef, check_roles};
use crate::model::user_ref::UserRef;
use crate::model::validation::check_expiry;
use crate::ops::grants::{GrantOptions, GrantQuery, RevokeOptions};
use crate::workflows::settle::Settle;

/// Grant or revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Grant the roles (optionally until a time 1 hour to 7 days ahead).
    Grant {
        /// When the grant ends.
        expires_at: Option<DateTime<Utc>>,
    },
    /// Revoke the roles.
    Revoke,
}

/// Where and how fast [`Falcon::change_roles_bulk`] works.
///
/// ```
/// use falcon_users::workflows::BulkOptions;
/// let options = BulkOptions::new().concurrency(4);
/// assert_eq!((options.concurrency, options.cid), (4, None));
/// assert_eq!(options.settle.limit.as_secs(), 90);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BulkOptions {
    /// The CID to change the roles in (`None`: the handle's own).
    pub cid: Option<Cid>,
    /// Users changed at once (default 8; 0 counts as 1).
    pub concurrency: usize,
    /// How long to wait, after the last change, for the service to show it.
    pub settle: Settle,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            cid: None,
            concurrency: 8,
            settle: Settle::new(),
        }
    }
}

impl BulkOptions {
    /// In the handle's own CID, eight users at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// The CID to change the roles in.
    pub fn cid(mut self, cid: Option<Cid>) -> Self {
        self.cid = cid;
        self
    }

    /// Users changed at once (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How long to wait, after the last change, for the service to show it (default
    /// [`Settle::new`]: up to 90 s), so that a read right after sees every change.
    pub fn settle(mut self, settle: Settle) -> Self {
        self.settle = settle;
        self
    }
}

/// The result for one user of a bulk change.
#[derive(Debug)]
pub struct BulkOutcome {
    /// The user's UUID.
    pub user_uuid: String,
    /// What happened to them.
    pub result: Result<()>,
}

impl Falcon {
    /// Grants or revokes (`change`) `roles` of `user` in `cid` (`None`: the handle's own, or
    /// the user's home CID): the one call both bulk forms make per user and per CID.
    pub(crate) async fn change_roles(
        &self,
        user: UserRef,
        roles: impl Into<IdList>,
        change: RoleChange,
        cid: Option<Cid>,
    ) -> Result<()> {
        match change {
            RoleChange::Grant { expires_at } => {
                self.grant_roles(user, roles, GrantOptions { cid, expires_at })
                    .await
            }
            RoleChange::Revoke => self.revoke_roles(user, roles, RevokeOptions { cid }).await,
        }
    }

    /// Applies `change` of `roles` to every user in `user_uuids`, [`BulkOptions::concurrency`]
    /// at a time, in [`BulkOptions::cid`].
    /// Every user gets an outcome; one failure does not stop the others.
    ///
    /// Roles are named by id or display name ([`RoleRef`]), resolved once, before any change,
    /// against the roles this handle's CID offers ([`Falcon::resolve_roles`]: one request, two
    /// for a display name); one that matches none is refused with the nearest. For a change in
    /// another CID, whose roles may differ, a role that matches nothing here is passed on as
    /// written for the service to judge.
    pub async fn change_roles_bulk(
        &self,
        user_uuids: impl Into<IdList>,
        roles: impl Into<IdList>,
        change: RoleChange,
        options: &BulkOptions,
    ) -> Result<Vec<BulkOutcome>> {
        let (cid, concurrency) = (options.cid.as_ref(), options.concurrency);
        let users = user_uuids.into();
        let roles: Vec<RoleRef> = roles
            .into()
            .into_vec()
            .into_iter()
            .map(RoleRef::from)
            .collect();
        users.validate("user_uuids")?;
        check_roles("role_ids", &roles)?;
        if let RoleChange::Grant {
            expires_at: Some(at),
        } = change
        {
            // Checked once here rather than failing every user the same way.
            check_expiry(at)?;
        }
        let roles = IdList::from(self.resolve_role_refs("role_ids", &roles, cid).await?);
        // The order the changes finish in: the last one is the last the service shows.
        let finished = AtomicUsize::new(0);
        let finished = &finished;
        let outcomes: Vec<(usize, BulkOutcome)> = stream::iter(users)
            .map(|uuid| {
                let roles = roles.clone();
                async move {
                    let result = self
                        .change_roles(UserRef::Uuid(uuid.clone()), roles, change, cid.cloned())
                        .await;
                    let order = finished.fetch_add(1, Ordering::Relaxed);
                    let outcome = BulkOutcome {
                        user_uuid: uuid,
                        result,
                    };
                    (order, outcome)
                }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        let last = outcomes
            .iter()
            .filter(|(_, o)| o.result.is_ok())
            .max_by_key(|(order, _)| *order);
        if let Some((_, last)) = last {
            let query = match cid {
                Some(cid) => GrantQuery::new().cid(cid.clone()),
                None => GrantQuery::new(),
            };
            let granting = matches!(change, RoleChange::Grant { .. });
            self.settle(&options.settle, "the role changes", || async {
                let held = self.held_role_ids(&last.user_uuid, query.clone()).await?;
                Ok(roles
                    .as_slice()
                    .iter()
                    .all(|r| held.contains(r) == granting))
            })
            .await;
        }
        Ok(outcomes.into_iter().map(|(_, o)| o).collect())
    }
}

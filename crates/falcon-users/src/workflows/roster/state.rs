//! What a plan starts from: per CID, the roles it offers and every user with the roles they hold
//! there, read once (one inventory per CID, the CIDs concurrently).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use falcon_users_api::types::FlightcontrolapiCombinedUserRolesResourceV2;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;
use crate::workflows::inventory::UserWithGrants;
use crate::workflows::roster::Roster;
use crate::workflows::roster::plan::{Plan, PlanOptions, UserState, plan};
use crate::workflows::roster::resolve::Catalogue;

/// The tenant as a plan sees it: each CID read, by CID (`None`: the handle's own CID).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantState {
    /// Each CID read.
    pub cids: BTreeMap<Option<Cid>, CidState>,
}

/// One CID as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CidState {
    /// The roles the CID offers.
    pub catalogue: Catalogue,
    /// Every user homed there, by lower-case login, with the roles they hold directly there.
    pub users: BTreeMap<String, UserState>,
    /// The logins matching the prune scope, when one was given.
    pub in_scope: Option<BTreeSet<String>>,
    /// The CID as its users' entities name it (how a roster naming the handle's own CID by its
    /// hex is recognised).
    pub named: Option<String>,
}

impl UserState {
    /// A user's state in the CID they were listed in: names, UUID, and the grants made directly
    /// in that CID (grants through user groups or CID groups are not the roster's to change).
    pub fn from_inventory(row: &UserWithGrants) -> Self {
        let home = row.user.cid.as_deref().unwrap_or_default();
        let roles = row
            .grants
            .iter()
            .filter(|g| g.grant_type.as_deref().is_none_or(|t| t == "direct"))
            .filter(|g| g.cid.as_deref().is_none_or(|c| c.is_empty() || c == home))
            .map(|g| (g.role_id.clone(), grant_end(g)))
            .collect();
        UserState {
            uuid: row.user.uuid.clone(),
            first_name: row.user.first_name.clone().filter(|n| !n.is_empty()),
            last_name: row.user.last_name.clone().filter(|n| !n.is_empty()),
            roles,
        }
    }
}

/// When a grant ends (`None`: permanent, or an end that is not RFC 3339).
pub(crate) fn grant_end(
    grant: &FlightcontrolapiCombinedUserRolesResourceV2,
) -> Option<DateTime<Utc>> {
    let text = grant.expires_at.as_deref()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Falcon {
    /// Reads what a plan starts from in each of `cids` (`None`: this handle's own CID), the
    /// CIDs concurrently, each through its own member handle: the roles offered (two requests)
    /// and an inventory of every user (`concurrency` grants listings in flight per CID). With a
    /// `scope` (FQL on users), also the logins it matches, for pruning.
    pub async fn roster_state(
        &self,
        cids: &[Option<Cid>],
        scope: Option<&str>,
        concurrency: usize,
    ) -> Result<TenantState> {
        let distinct: BTreeSet<Option<Cid>> = cids.iter().cloned().collect();
        let read = stream::iter(distinct)
            .map(|cid| async move {
                let handle = match &cid {
                    Some(member) => self.for_member(member.as_str())?,
                    None => self.clone(),
                };
                let state = handle.cid_state(scope, concurrency).await?;
                Ok::<_, crate::error::Error>((cid, state))
            })
            .buffer_unordered(cids.len().clamp(1, 20));
        let cids = read.try_collect().await?;
        Ok(TenantState { cids })
    }

    /// Reads the CIDs `roster` and `options` need ([`Falcon::roster_state`]) and plans against
    /// them now ([`plan`](crate::workflows::roster::plan())).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::roster::{ApplyOptions, Journal, PlanOptions, Roster};
    ///
    /// let roster = Roster::from_path("staff.csv".as_ref())?;
    /// let plan = falcon.plan_roster(&roster, &PlanOptions::default(), 8).await?;
    /// for change in &plan.changes {
    ///     println!("{} {}: {:?}", change.kind(), change.uid, change.actions());
    /// }
    /// // Just read: no need to read each user again before changing them.
    /// let options = ApplyOptions::new().verify(false);
    /// let report = falcon.apply(&plan, &options, &Journal::in_memory()).await?;
    /// assert!(report.is_complete());
    /// # Ok(()) }
    /// ```
    pub async fn plan_roster(
        &self,
        roster: &Roster,
        options: &PlanOptions,
        concurrency: usize,
    ) -> Result<Plan> {
        let state = self
            .roster_state(
                &options.cids_to_read(roster),
                options.scope.as_deref(),
                concurrency,
            )
            .await?;
        plan(roster, &state, options, Utc::now())
    }

    async fn cid_state(&self, scope: Option<&str>, concurrency: usize) -> Result<CidState> {
        // The three reads are independent: run side by side, they cost the longest of them.
        let roles = self.roles();
        let everyone = async {
            let mut users = BTreeMap::new();
            let mut named = None;
            let mut rows = self.inventory(UserQuery::new(), concurrency);
            while let Some(row) = rows.try_next().await? {
                if row.deleted {
                    continue;
                }
                if named.is_none() {
                    named = row.user.cid.clone().filter(|c| !c.is_empty());
                }
                let uid = row.user.uid.clone().unwrap_or_default().to_lowercase();
                users.insert(uid, UserState::from_inventory(&row));
            }
            Ok::<_, crate::error::Error>((users, named))
        };
        let scoped = async {
            match scope {
                None => Ok(None),
                Some(fql) => self
                    .user_ids(UserQuery::new().filter(fql))
                    .try_collect::<BTreeSet<String>>()
                    .await
                    .map(Some),
            }
        };
        let (roles, everyone, scoped) = futures::join!(roles, everyone, scoped);
        let (users, named) = everyone?;
        let in_scope = scoped?.map(|uuids| {
            users
                .iter()
                .filter(|(_, u)| u.uuid.as_ref().is_some_and(|id| uuids.contains(id)))
                .map(|(uid, _)| uid.clone())
                .collect()
        });
        Ok(CidState {
            catalogue: Catalogue::from_roles(&roles?),
            users,
            in_scope,
            named,
        })
    }

    /// One user's state now, looked up by login: what an apply of a saved plan compares with
    /// the state the plan started from.
    pub(crate) async fn user_state(&self, uid: &str) -> Result<Option<UserState>> {
        let Some(user) = self.find_user_by_uid(uid).await? else {
            return Ok(None);
        };
        let uuid = user.uuid.clone().unwrap_or_default();
        let grants = self
            .grants(&uuid, crate::ops::grants::GrantQuery::new())
            .try_collect()
            .await?;
        Ok(Some(UserState::from_inventory(&UserWithGrants {
            user,
            grants,
            deleted: false,
        })))
    }
}

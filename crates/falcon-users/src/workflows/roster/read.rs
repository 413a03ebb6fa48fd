//! Reading what a plan starts from: every CID's roles and users, once (one inventory per CID,
//! the CIDs concurrently), and one user again before a saved plan changes them.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};
use crate::workflows::roster::origin::Origin;
use crate::workflows::roster::plan::PlanOptions;
use crate::workflows::roster::state::{CidState, TenantState, UserState};

impl Falcon {
    /// Reads what a plan starts from in each of `cids` (`None`: this handle's own CID), the
    /// CIDs concurrently, each through its own member handle: the roles offered (two requests)
    /// and an inventory of every user ([`PlanOptions::concurrency`] grants listings in flight
    /// per CID). With a [`PlanOptions::scope`] (FQL on users), also the logins it matches, for
    /// pruning.
    pub async fn roster_state(
        &self,
        cids: &[Option<Cid>],
        options: &PlanOptions,
    ) -> Result<TenantState> {
        let (scope, concurrency) = (options.scope.as_deref(), options.concurrency);
        let distinct: BTreeSet<Option<Cid>> = cids.iter().cloned().collect();
        let read = stream::iter(distinct)
            .map(|cid| async move {
                let handle = match &cid {
                    Some(member) => self.for_member(member),
                    None => self.clone(),
                };
                let state = handle.cid_state(scope, concurrency).await?;
                Ok::<_, crate::error::Error>((cid, state))
            })
            .buffer_unordered(cids.len().clamp(1, 20));
        let cids = read.try_collect().await?;
        let mut state = TenantState {
            cids,
            origin: Origin::default(),
        };
        // A roster naming member CIDs only did not read the handle's own: its CID is what an
        // apply of the plan checks it acts in.
        let own = match state.cids.contains_key(&None) {
            true => state.own_cid(),
            false => self.acting_cid().await?,
        };
        state.origin = self.origin(own);
        Ok(state)
    }

    async fn cid_state(&self, scope: Option<&str>, concurrency: usize) -> Result<CidState> {
        // The three reads are independent: run side by side, they cost the longest of them.
        let roles = self.roles();
        let everyone = self.users_state(UserQuery::new(), concurrency);
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

    /// The state of every user `query` matches (an inventory; users deleted meanwhile left
    /// out), by login, with the CID the first of them names as theirs: what an apply addresses
    /// grants to.
    pub(crate) async fn users_state(
        &self,
        query: UserQuery,
        concurrency: usize,
    ) -> Result<(BTreeMap<String, UserState>, Option<String>)> {
        let mut users = BTreeMap::new();
        let mut named = None;
        let mut rows = self.inventory(query, InventoryOptions::new().concurrency(concurrency));
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
        Ok((users, named))
    }

    /// One user's state now, looked up by login: what an apply of a saved plan compares with
    /// the state the plan started from.
    pub(crate) async fn user_state(&self, uid: &str) -> Result<Option<UserState>> {
        Ok(self.user_found(uid).await?.map(|(state, _)| state))
    }

    /// One user's state now, looked up by login, with the CID their entity names.
    pub(crate) async fn user_found(
        &self,
        uid: &str,
    ) -> Result<Option<(UserState, Option<String>)>> {
        let Some(user) = self.find_user_by_uid(uid).await? else {
            return Ok(None);
        };
        let cid = user.cid.clone().filter(|c| !c.is_empty());
        let uuid = user.uuid.clone().unwrap_or_default();
        let grants = self
            .grants(&uuid, crate::ops::grants::GrantQuery::new())
            .try_collect()
            .await?;
        let state = UserState::from_inventory(&UserWithGrants {
            user,
            grants,
            deleted: false,
        });
        Ok(Some((state, cid)))
    }
}

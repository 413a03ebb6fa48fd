//! Reading a parent's Flight Control access for a fleet plan ([`Falcon::fleet_state`]), and
//! `Falcon` as the [`FleetApi`] an apply works through.

use std::collections::BTreeSet;

use futures::TryStreamExt;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::views::GrantView;
use crate::ops::grants::GrantQuery;
use crate::ops::users::UserQuery;
use crate::workflows::flight_control::apply::FleetApi;
use crate::workflows::flight_control::plan::{FleetPlan, steps};
use crate::workflows::flight_control::state::{FleetState, GroupKind};
use crate::workflows::roster::Origin;
use crate::workflows::settle::{Settle, Settled};

impl Falcon {
    /// The parent's Flight Control access as a fleet plan reads it: groups, members, links,
    /// the parent's users (UUID → login), its children and the roles it offers, and where it
    /// was read. A member handle ([`Falcon::for_member`]) is refused ([`Error::InvalidInput`]):
    /// the groups are the parent's.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::flight_control::FleetFile;
    /// let state = falcon.fleet_state().await?;
    /// print!("{}", FleetFile::render(&state.model()?, &state.children));
    /// # Ok(()) }
    /// ```
    pub async fn fleet_state(&self) -> Result<FleetState> {
        // The groups are the parent's: a member handle would be refused (403) in a way that
        // reads as a missing scope.
        if let Some(member) = self.member_cid() {
            return Err(Error::invalid(
                "member_cid",
                format!(
                    "Flight Control groups and links belong to the parent; this handle acts in \
                     member CID {member}: use the parent's handle (no --member-cid)"
                ),
            ));
        }
        let user_groups = self.user_groups().await?;
        let cid_groups = self.cid_groups().await?;
        let ids: Vec<String> = user_groups.iter().map(|g| g.id.clone()).collect();
        let links = self.fleet_links(&ids).await?;
        let users = self
            .users(UserQuery::new())
            .try_filter_map(|u| async move {
                Ok(u.uuid
                    .zip(u.uid)
                    .map(|(uuid, uid)| (uuid, uid.to_lowercase())))
            })
            .try_collect()
            .await?;
        let children = self
            .children()
            .await?
            .into_iter()
            .map(|c| (c.cid, c.name))
            .collect();
        let catalogue = self.role_catalogue().await?;
        let origin = self.origin(self.acting_cid().await?);
        Ok(FleetState {
            origin,
            user_groups,
            cid_groups,
            links,
            users,
            children,
            catalogue,
        })
    }
}

impl Falcon {
    /// Waits, within `settle`, until the service shows the end `plan` asks for: the fleet as
    /// read has no step left to the plan's `after` (the check an apply run again would make),
    /// and each user's grants listing in each child the plan changes shows the roles gained
    /// through links and none of those lost. The service's listings lag its writes, so an
    /// `access` or `inventory` right after an apply can still see the access from before it;
    /// after this, it does not. Each check reads the fleet ([`Falcon::fleet_state`]) and one
    /// grants listing per user and child of [`FleetPlan::effect`]; a service without lag costs
    /// one such round.
    pub async fn settle_fleet(&self, plan: &FleetPlan, settle: &Settle) -> Settled {
        self.settle(settle, "the fleet changes", || async {
            let state = self.fleet_state().await?;
            if !steps(&state.model()?, &plan.after).is_empty() {
                return Ok(false);
            }
            for change in &plan.effect {
                let through_links: BTreeSet<String> = self
                    .grants(
                        change.user.as_str(),
                        GrantQuery::new().cid(change.cid.clone()),
                    )
                    .try_filter(|g| std::future::ready(!g.is_direct()))
                    .map_ok(|g| g.role_id)
                    .try_collect()
                    .await?;
                let shown = change.gained.iter().all(|r| through_links.contains(r))
                    && !change.lost.iter().any(|r| through_links.contains(r));
                if !shown {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }
}

impl FleetApi for Falcon {
    async fn here(&self) -> Result<Origin> {
        Ok(self.origin(self.acting_cid().await?))
    }

    async fn fleet_state(&self) -> Result<FleetState> {
        Falcon::fleet_state(self).await
    }

    async fn create_group(&self, kind: GroupKind, name: &str, description: &str) -> Result<String> {
        self.create_fleet_group(kind, name, description).await
    }

    async fn update_group(
        &self,
        kind: GroupKind,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<()> {
        self.update_fleet_group(kind, id, name, description).await
    }

    async fn delete_group(&self, kind: GroupKind, id: &str) -> Result<()> {
        self.delete_fleet_group(kind, id).await
    }

    async fn add_members(&self, kind: GroupKind, id: &str, members: &[String]) -> Result<()> {
        self.add_fleet_group_members(kind, id, members).await
    }

    async fn remove_members(&self, kind: GroupKind, id: &str, members: &[String]) -> Result<()> {
        self.remove_fleet_group_members(kind, id, members).await
    }

    async fn add_roles(&self, user_group: &str, cid_group: &str, roles: &[String]) -> Result<()> {
        self.add_link_roles(user_group, cid_group, roles).await
    }

    async fn remove_roles(
        &self,
        user_group: &str,
        cid_group: &str,
        roles: Option<&[String]>,
    ) -> Result<()> {
        self.remove_link_roles(user_group, cid_group, roles).await
    }
}

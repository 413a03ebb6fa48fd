//! Roles: the ids available in a CID, their details and the permissions they confer.

use falcon_users_api::operations::{
    ENTITIES_PERMISSIONS_GET_V1, ENTITIES_ROLE_PERMISSIONS_V1, ENTITIES_ROLES_GET_V2,
    QUERIES_ROLES_V1,
};
use falcon_users_api::types::{DomainPermissionDetails, MsaspecIdsRequest};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::model::ids::IdList;
use crate::model::role_ref::{RoleRef, check_roles};
use crate::model::user_ref::UserRef;
use crate::model::validation::checked_id;
use crate::model::views::Role;
use crate::ops::paging::{Entities, batched};
use crate::runtime::response::call;

impl Falcon {
    /// Role ids available in this handle's CID (`queriesRolesV1`, not paginated).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let ids = falcon.role_ids().await?;
    /// # Ok(()) }
    /// ```
    pub async fn role_ids(&self) -> Result<Vec<String>> {
        self.query_role_ids(None).await
    }

    /// The role ids relevant to one user, named by login or UUID (`queriesRolesV1` with
    /// `user_uuid`; a login costs one lookup first).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let ids = falcon.user_role_ids("ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_role_ids(&self, user: impl Into<UserRef>) -> Result<Vec<String>> {
        let uuid = self.user_uuid(user).await?;
        self.query_role_ids(Some(uuid)).await
    }

    async fn query_role_ids(&self, user_uuid: Option<String>) -> Result<Vec<String>> {
        let api = self.ready().await?;
        let mut req = api.queries_roles_v1();
        if let Some(cid) = self.cid_param() {
            req = req.cid(cid);
        }
        if let Some(uuid) = user_uuid {
            req = req.user_uuid(uuid);
        }
        Ok(call(&QUERIES_ROLES_V1, req.send())
            .await?
            .resources
            .unwrap_or_default())
    }

    /// The permissions a role confers, with details: the role's permission ids
    /// (`entitiesRolePermissionsV1`), then their entities (`entitiesPermissionsGETV1`, in
    /// batches), in the order the service lists them.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// for permission in falcon.role_permissions("falcon_console_guest").await? {
    ///     println!("{} ({})", permission.id, permission.display_name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn role_permissions(&self, role_id: &str) -> Result<Vec<DomainPermissionDetails>> {
        let role_id = checked_id("role_id", role_id)?;
        let api = self.ready().await?;
        let ids = call(
            &ENTITIES_ROLE_PERMISSIONS_V1,
            api.entities_role_permissions_v1().id(role_id).send(),
        )
        .await?
        .resources
        .unwrap_or_default();
        let ids = IdList::from(ids);
        let mut details = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.batch().body_ids) {
            let response = call(
                &ENTITIES_PERMISSIONS_GET_V1,
                api.entities_permissions_get_v1()
                    .body(MsaspecIdsRequest { ids: chunk })
                    .send(),
            )
            .await?;
            details.extend(response.resources.unwrap_or_default());
        }
        Ok(details)
    }

    /// Role details by id (`entitiesRolesGETV2`), any number of ids, batched and merged.
    pub async fn get_roles(&self, ids: impl Into<IdList>) -> Result<Entities<Role>> {
        let ids = ids.into();
        ids.validate("ids")?;
        let batch = self.batch();
        let api = self.ready().await?;
        let cid = self.cid_param();
        batched(ids.chunks(batch.body_ids), batch.concurrency, |ids| {
            let mut req = api.entities_roles_get_v2().body(MsaspecIdsRequest { ids });
            if let Some(cid) = &cid {
                req = req.cid(cid.clone());
            }
            async move {
                let response = call(&ENTITIES_ROLES_GET_V2, req.send()).await?;
                Ok(Entities {
                    resources: response.resources.unwrap_or_default(),
                    errors: response.errors.unwrap_or_default(),
                })
            }
        })
        .await
    }

    /// Every role available in this handle's CID, with details.
    pub async fn roles(&self) -> Result<Vec<Role>> {
        let ids = self.role_ids().await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.get_roles(ids).await?.resources)
    }

    /// The roles this handle's CID offers, as a [`Catalogue`] to resolve role names against:
    /// one read ([`Falcon::roles`]: `queriesRolesV1`, then `entitiesRolesGETV2`).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let roles = falcon.role_catalogue().await?;
    /// println!("{:?}", roles.resolve("Falcon Console Guest"));
    /// # Ok(()) }
    /// ```
    pub async fn role_catalogue(&self) -> Result<Catalogue> {
        Ok(Catalogue::from_roles(&self.roles().await?))
    }

    /// The role ids of roles named by id or display name ([`RoleRef`]), resolved against one
    /// read of the roles this handle's CID offers, as [`Catalogue::resolve_all`] resolves them:
    /// in the order named, each id once. Roles that are all ids offered cost one request
    /// (`queriesRolesV1`); a display name (or an id in another case) costs one more, for the
    /// names (`entitiesRolesGETV2`).
    ///
    /// An empty list, or a role with control characters, is refused before any request. Roles
    /// that match no role (or the name of several) are [`Error::InvalidInput`] on `roles`,
    /// naming each, with the nearest id or name when one is close: `invalid roles: no role
    /// "Falcon Console Gest" in this CID; did you mean Falcon Console Guest?`.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let ids = falcon.resolve_roles(["Falcon Console Guest", "falconhost_analyst"]).await?;
    /// assert_eq!(ids, ["falcon_console_guest", "falconhost_analyst"]);
    /// # Ok(()) }
    /// ```
    pub async fn resolve_roles<R: Into<RoleRef>>(
        &self,
        roles: impl IntoIterator<Item = R>,
    ) -> Result<Vec<String>> {
        let roles: Vec<RoleRef> = roles.into_iter().map(Into::into).collect();
        self.resolve_role_refs("roles", &roles, None).await
    }

    /// [`Falcon::resolve_roles`] for a change in `cid` (`None`: this handle's own CID). In
    /// another CID, whose roles may differ from this handle's, a role that matches nothing here
    /// is passed on as written for the service to judge; in this handle's CID it is refused
    /// with the nearest, as [`Falcon::resolve_roles`] refuses it.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon, child: falcon_users::Cid) -> falcon_users::Result<()> {
    /// let ids = falcon.resolve_roles_for(["Falcon Console Guest"], Some(&child)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn resolve_roles_for<R: Into<RoleRef>>(
        &self,
        roles: impl IntoIterator<Item = R>,
        cid: Option<&Cid>,
    ) -> Result<Vec<String>> {
        let roles: Vec<RoleRef> = roles.into_iter().map(Into::into).collect();
        self.resolve_role_refs("roles", &roles, cid).await
    }

    /// [`Falcon::resolve_roles_for`], its errors naming `field` (the caller's argument). In a
    /// `cid` other than this handle's, a role that matches nothing here is passed on as written
    /// ([`Catalogue::resolve_or_pass`]).
    pub(crate) async fn resolve_role_refs(
        &self,
        field: &'static str,
        roles: &[RoleRef],
        cid: Option<&Cid>,
    ) -> Result<Vec<String>> {
        check_roles(field, roles)?;
        let elsewhere = cid.is_some_and(|c| self.member_cid() != Some(c));
        let offered = self.role_ids().await?;
        let named = || roles.iter().filter(|r| !r.as_str().is_empty());
        // Ids as the service lists them need no names: the read of the details is saved.
        if named().all(|r| offered.iter().any(|id| id == r.as_str())) {
            let ids: IdList = named().collect();
            return Ok(ids.into_vec());
        }
        let details = if offered.is_empty() {
            Vec::new()
        } else {
            self.get_roles(offered).await?.resources
        };
        let catalogue = Catalogue::from_roles(&details);
        if elsewhere {
            return Ok(catalogue.resolve_or_pass(roles));
        }
        catalogue
            .resolve_all(roles)
            .map_err(|problems| Error::invalid(field, problems.join("; ")))
    }

    /// The permission ids a role grants in this handle's CID (`entitiesRolePermissionsV1`):
    /// one request, for callers that judge roles by their ids (see
    /// [`Falcon::role_permissions`] for the details).
    pub async fn role_permission_ids(&self, role_id: &str) -> Result<Vec<String>> {
        let api = self.ready().await?;
        let req = api
            .entities_role_permissions_v1()
            .id(checked_id("id", role_id)?);
        Ok(call(&ENTITIES_ROLE_PERMISSIONS_V1, req.send())
            .await?
            .resources
            .unwrap_or_default())
    }
}

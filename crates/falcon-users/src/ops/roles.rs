//! Roles: the ids available in a CID and their details.

use falcon_users_api::operations::{
    ENTITIES_ROLE_PERMISSIONS_V1, ENTITIES_ROLES_GET_V2, QUERIES_ROLES_V1,
};
use falcon_users_api::types::{DomainRole, MsaspecIdsRequest};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::ids::IdList;
use crate::model::validation::checked_id;
use crate::ops::paging::{Entities, batched};
use crate::runtime::response::call;

impl Falcon {
    /// Role ids available in this handle's CID (`queriesRolesV1`, not paginated); with a user,
    /// the ids relevant to that user.
    pub async fn role_ids(&self, user_uuid: Option<&str>) -> Result<Vec<String>> {
        let api = self.ready().await?;
        let mut req = api.queries_roles_v1();
        if let Some(cid) = self.cid_param() {
            req = req.cid(cid);
        }
        if let Some(uuid) = user_uuid {
            req = req.user_uuid(checked_id("user_uuid", uuid)?);
        }
        Ok(call(&QUERIES_ROLES_V1, req.send())
            .await?
            .resources
            .unwrap_or_default())
    }

    /// Role details by id (`entitiesRolesGETV2`), any number of ids, batched and merged.
    pub async fn get_roles(&self, ids: impl Into<IdList>) -> Result<Entities<DomainRole>> {
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
    pub async fn roles(&self) -> Result<Vec<DomainRole>> {
        let ids = self.role_ids(None).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.get_roles(ids).await?.resources)
    }

    /// The permission ids a role grants in this handle's CID (`entitiesRolePermissionsV1`).
    pub async fn role_permissions(&self, role_id: &str) -> Result<Vec<String>> {
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

//! Flight Control groups and links of the parent CID a handle acts in: user groups and their
//! members, CID groups and their member CIDs, and the links (a user group × a CID group × role
//! ids), read and changed. Reading needs the API client scope "Flight Control: Read", changing
//! "Flight Control: Write"; without one, the error names it.
//!
//! Queries are paged at [`GROUPS_PAGE`] (500: a customer has at most 500 groups of each kind,
//! so one page lists them all), getters sent in batches of [`CHILDREN_BATCH`] ids. A group a member
//! getter does not know (404, or a 207 item error with code 404) has no members: the service
//! answers an empty group so. A write answered 207 with item errors fails with them.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use falcon_users_api::Operation;
use falcon_users_api::operations::{
    ADD_CID_GROUP_MEMBERS, ADD_ROLE, ADD_USER_GROUP_MEMBERS, CREATE_CID_GROUPS, CREATE_USER_GROUPS,
    DELETE_CID_GROUP_MEMBERS_V2, DELETE_CID_GROUPS, DELETE_USER_GROUP_MEMBERS, DELETE_USER_GROUPS,
    DELETED_ROLES, GET_CID_GROUP_BY_ID_V2, GET_CID_GROUP_MEMBERS_BY_V2, GET_ROLES_BY_ID,
    GET_USER_GROUP_MEMBERS_BY_ID_V2, GET_USER_GROUPS_BY_ID_V2, QUERY_CID_GROUPS, QUERY_ROLES,
    QUERY_USER_GROUPS, UPDATE_CID_GROUPS, UPDATE_USER_GROUPS,
};
use falcon_users_api::types::{
    DomainCidGroup, DomainCidGroupMembers, DomainCidGroupMembersRequestV1,
    DomainCidGroupsRequestV1, DomainMsspRoleRequestV1, DomainMsspRoles, DomainUserGroup,
    DomainUserGroupMembers, DomainUserGroupMembersRequestV1, DomainUserGroupsRequestV1,
    MsaQueryResponse, MsaspecError,
};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::children::{CHILDREN_BATCH, FLIGHT_CONTROL_READ};
use crate::ops::paging::{Entities, Listing, Page, Slice, batched, listing};
use crate::ops::partition::DEFAULT_OFFSET_CEILING;
use crate::ops::scope::needs_scope;
use crate::runtime::response::call;
use serde::{Deserialize, Serialize};

/// Ids per page of `queryUserGroups`, `queryCIDGroups` and `queryRoles`: a customer has at most
/// 500 user groups and 500 CID groups (so at most 500 links per user group), and the service
/// documents no larger page; the simulator takes no more.
pub const GROUPS_PAGE: u64 = 500;

/// The Falcon console's name of the scope changing groups and links needs (`mssp:write`).
pub const FLIGHT_CONTROL_WRITE: &str = "Flight Control: Write";

/// The two kinds of Flight Control group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A user group: users of the parent CID.
    User,
    /// A CID group: child CIDs.
    Cid,
}

impl std::fmt::Display for GroupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GroupKind::User => "user group",
            GroupKind::Cid => "CID group",
        })
    }
}

/// A user group as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserGroup {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description (empty: none).
    pub description: String,
    /// Its members' UUIDs.
    pub members: BTreeSet<String>,
}

/// A CID group as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidGroup {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description (empty: none).
    pub description: String,
    /// Its member CIDs.
    pub cids: BTreeSet<Cid>,
}

/// A link as read: the roles a user group holds in every CID of a CID group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// The user group's id.
    pub user_group_id: String,
    /// The CID group's id.
    pub cid_group_id: String,
    /// The role ids.
    pub roles: BTreeSet<String>,
}

/// The operations on one kind of group.
struct GroupOps {
    query: &'static Operation,
    get: &'static Operation,
    members: &'static Operation,
    create: &'static Operation,
    update: &'static Operation,
    delete: &'static Operation,
    add: &'static Operation,
    remove: &'static Operation,
}

impl GroupKind {
    /// The operations on groups of this kind.
    fn ops(self) -> &'static GroupOps {
        match self {
            GroupKind::User => &GroupOps {
                query: &QUERY_USER_GROUPS,
                get: &GET_USER_GROUPS_BY_ID_V2,
                members: &GET_USER_GROUP_MEMBERS_BY_ID_V2,
                create: &CREATE_USER_GROUPS,
                update: &UPDATE_USER_GROUPS,
                delete: &DELETE_USER_GROUPS,
                add: &ADD_USER_GROUP_MEMBERS,
                remove: &DELETE_USER_GROUP_MEMBERS,
            },
            GroupKind::Cid => &GroupOps {
                query: &QUERY_CID_GROUPS,
                get: &GET_CID_GROUP_BY_ID_V2,
                members: &GET_CID_GROUP_MEMBERS_BY_V2,
                create: &CREATE_CID_GROUPS,
                update: &UPDATE_CID_GROUPS,
                delete: &DELETE_CID_GROUPS,
                add: &ADD_CID_GROUP_MEMBERS,
                remove: &DELETE_CID_GROUP_MEMBERS_V2,
            },
        }
    }
}

/// `error` of `op` naming the read or write scope when it is a 403.
fn scoped(op: &'static Operation, what: impl AsRef<str>) -> impl Fn(Error) -> Error {
    move |e| {
        let console = if op.read_only {
            FLIGHT_CONTROL_READ
        } else {
            FLIGHT_CONTROL_WRITE
        };
        needs_scope(e, op, console, what.as_ref())
    }
}

/// A write's item errors (a 207) as the failure of the write.
fn item_errors(op: &'static Operation, errors: Option<Vec<MsaspecError>>) -> Result<()> {
    match errors.unwrap_or_default() {
        errors if errors.is_empty() => Ok(()),
        errors => Err(Error::Api {
            operation: op.id,
            status: 207,
            trace_id: None,
            errors,
            raw_body: None,
        }),
    }
}

/// Ids in batches for a getter.
fn batches(ids: &[String]) -> Vec<Vec<String>> {
    ids.chunks(CHILDREN_BATCH).map(<[String]>::to_vec).collect()
}

impl Falcon {
    /// Every id a Flight Control query lists, every page.
    fn mssp_ids<F, Fut>(
        &self,
        op: &'static Operation,
        query: F,
    ) -> BoxStream<'static, Result<String>>
    where
        F: Fn(Falcon, Slice) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<MsaQueryResponse>> + Send + 'static,
    {
        let spec = Listing {
            operation: op,
            page_size: GROUPS_PAGE,
            ceiling: DEFAULT_OFFSET_CEILING,
            split: false,
            duplicates: self.duplicates(),
        };
        let falcon = self.clone();
        listing(spec, String::clone, move |slice: Slice| {
            let (falcon, query) = (falcon.clone(), query.clone());
            async move {
                let page = query(falcon, slice).await?;
                Ok(Page {
                    total: page.meta.pagination.map(|p| p.total.max(0) as u64),
                    items: page.resources.unwrap_or_default(),
                })
            }
        })
    }

    /// Every user group of the parent, with its members' UUIDs.
    pub async fn user_groups(&self) -> Result<Vec<UserGroup>> {
        let member = |uuid: &str| Ok(uuid.to_owned());
        self.fleet_groups(GroupKind::User, member, |id, name, description, members| {
            UserGroup {
                id,
                name,
                description,
                members,
            }
        })
        .await
    }

    /// Every CID group of the parent, with its member CIDs.
    pub async fn cid_groups(&self) -> Result<Vec<CidGroup>> {
        self.fleet_groups(GroupKind::Cid, str::parse, |id, name, description, cids| {
            CidGroup {
                id,
                name,
                description,
                cids,
            }
        })
        .await
    }

    /// Every group of `kind`: its ids paged from the query, then the groups and their members
    /// got in batches, each member read with `member`, each group made by `group` from its id,
    /// name, description and members. A group the getter does not name an id for is left out.
    async fn fleet_groups<M: Ord, G>(
        &self,
        kind: GroupKind,
        member: impl Fn(&str) -> Result<M>,
        group: impl Fn(String, String, String, BTreeSet<M>) -> G,
    ) -> Result<Vec<G>> {
        let ops = kind.ops();
        let reading = format!("reading the {kind}s");
        let ids: Vec<String> = self
            .mssp_ids(ops.query, move |falcon, slice| async move {
                let api = falcon.ready().await?;
                let (offset, limit) = (slice.offset as i64, slice.limit as i64);
                match kind {
                    GroupKind::User => {
                        let request = api.query_user_groups().offset(offset).limit(limit);
                        call(ops.query, request.send()).await
                    }
                    GroupKind::Cid => {
                        let request = api.query_cid_groups().offset(offset).limit(limit);
                        call(ops.query, request.send()).await
                    }
                }
            })
            .try_collect()
            .await
            .map_err(scoped(ops.query, &reading))?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let api = self.ready().await?;
        // (id, name, description) of each group, whichever its API type.
        let found = batched(batches(&ids), self.batch().concurrency, |ids| async move {
            let (resources, errors) = match kind {
                GroupKind::User => {
                    let request = api.get_user_groups_by_id_v2().ids(ids);
                    let answer = call(ops.get, request.send()).await?;
                    let groups = answer.resources.unwrap_or_default().into_iter();
                    let groups = groups.map(|g| (g.user_group_id, g.name, g.description));
                    (groups.collect(), answer.errors)
                }
                GroupKind::Cid => {
                    let request = api.get_cid_group_by_id_v2().ids(ids);
                    let answer = call(ops.get, request.send()).await?;
                    let groups = answer.resources.unwrap_or_default().into_iter();
                    let groups = groups.map(|g| (g.cid_group_id, g.name, g.description));
                    (groups.collect(), answer.errors)
                }
            };
            Ok(Entities {
                resources,
                errors: errors.unwrap_or_default(),
            })
        })
        .await
        .map_err(scoped(ops.get, &reading))?;
        let answers = batched(batches(&ids), self.batch().concurrency, |ids| async move {
            let answer = match kind {
                GroupKind::User => {
                    let request = api.get_user_group_members_by_id_v2().ids(ids);
                    call(ops.members, request.send()).await.map(|answer| {
                        let groups = answer.resources.unwrap_or_default().into_iter();
                        let groups = groups.map(|m| (m.user_group_id, m.user_uuids));
                        (groups.collect(), answer.errors)
                    })
                }
                GroupKind::Cid => {
                    let request = api.get_cid_group_members_by_v2().ids(ids);
                    call(ops.members, request.send()).await.map(|answer| {
                        let groups = answer.resources.unwrap_or_default().into_iter();
                        let groups = groups.map(|m| (m.cid_group_id, m.cids));
                        (groups.collect(), answer.errors)
                    })
                }
            };
            match answer {
                Ok((resources, errors)) => Ok(Entities {
                    resources,
                    errors: errors.unwrap_or_default(),
                }),
                // Empty groups: "not found" is how the service says no members.
                Err(e) if e.status() == Some(404) => Ok(Entities::default()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(scoped(ops.members, format!("reading the {kind}s' members")))?;
        let mut members: BTreeMap<String, BTreeSet<M>> = BTreeMap::new();
        for (id, sent) in answers.resources {
            let sent = sent.iter().map(|m| member(m)).collect::<Result<Vec<_>>>()?;
            members.entry(id).or_default().extend(sent);
        }
        Ok(found
            .resources
            .into_iter()
            .filter_map(|(id, name, description)| {
                let id = id?;
                let members = members.remove(&id).unwrap_or_default();
                let (name, description) =
                    (name.unwrap_or_default(), description.unwrap_or_default());
                Some(group(id, name, description, members))
            })
            .collect())
    }

    /// The links of these user groups (`queryRoles` per user group, then `getRolesByID` in
    /// batches), each with its role ids; links without a role are left out.
    pub async fn fleet_links(&self, user_groups: &[String]) -> Result<Vec<Link>> {
        let mut ids = Vec::new();
        for group in user_groups {
            let group = group.clone();
            let more: Vec<String> = self
                .mssp_ids(&QUERY_ROLES, move |falcon, slice| {
                    let group = group.clone();
                    async move {
                        let api = falcon.ready().await?;
                        let request = api
                            .query_roles()
                            .user_group_id(group)
                            .offset(slice.offset as i64)
                            .limit(slice.limit as i64);
                        call(&QUERY_ROLES, request.send()).await
                    }
                })
                .try_collect()
                .await
                .map_err(scoped(&QUERY_ROLES, "reading the links"))?;
            ids.extend(more);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let api = self.ready().await?;
        let found = batched(batches(&ids), self.batch().concurrency, |ids| {
            let request = api.get_roles_by_id().ids(ids);
            async move {
                let answer = call(&GET_ROLES_BY_ID, request.send()).await?;
                Ok(Entities {
                    resources: answer.resources.unwrap_or_default(),
                    errors: answer.errors.unwrap_or_default(),
                })
            }
        })
        .await
        .map_err(scoped(&GET_ROLES_BY_ID, "reading the links"))?;
        let mut links: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for role in found.resources {
            links
                .entry((role.user_group_id, role.cid_group_id))
                .or_default()
                .extend(role.role_ids);
        }
        Ok(links
            .into_iter()
            .filter(|(_, roles)| !roles.is_empty())
            .map(|((user_group_id, cid_group_id), roles)| Link {
                user_group_id,
                cid_group_id,
                roles,
            })
            .collect())
    }
}

impl Falcon {
    /// Creates an empty group of `kind` (`createUserGroups`, `createCIDGroups`); its id.
    pub async fn create_fleet_group(
        &self,
        kind: GroupKind,
        name: &str,
        description: &str,
    ) -> Result<String> {
        let (api, op) = (self.ready().await?, kind.ops().create);
        let description = Some(description.to_owned()).filter(|d| !d.is_empty());
        let (errors, created) = match kind {
            GroupKind::User => {
                let resources = vec![DomainUserGroup {
                    cid: None,
                    description,
                    name: Some(name.to_owned()),
                    user_group_id: None,
                }];
                let body = DomainUserGroupsRequestV1 { resources };
                let answer = call(op, api.create_user_groups().body(body).send()).await;
                answer.map(|a| {
                    (
                        a.errors,
                        a.resources
                            .unwrap_or_default()
                            .into_iter()
                            .find_map(|g| g.user_group_id),
                    )
                })
            }
            GroupKind::Cid => {
                let resources = vec![DomainCidGroup {
                    cid: None,
                    cid_group_id: None,
                    description,
                    is_default: None,
                    name: Some(name.to_owned()),
                }];
                let body = DomainCidGroupsRequestV1 { resources };
                let answer = call(op, api.create_cid_groups().body(body).send()).await;
                answer.map(|a| {
                    (
                        a.errors,
                        a.resources
                            .unwrap_or_default()
                            .into_iter()
                            .find_map(|g| g.cid_group_id),
                    )
                })
            }
        }
        .map_err(scoped(op, format!("creating a {kind}")))?;
        item_errors(op, errors)?;
        created.ok_or_else(|| Error::Decode {
            operation: op.id,
            message: format!("the answer names no id for the {kind} {name:?} it created"),
        })
    }

    /// Renames a group or changes its description (`updateUserGroups`, `updateCIDGroups`).
    pub async fn update_fleet_group(
        &self,
        kind: GroupKind,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<()> {
        let (api, op) = (self.ready().await?, kind.ops().update);
        let (name, description) = (Some(name.to_owned()), Some(description.to_owned()));
        let errors = match kind {
            GroupKind::User => {
                let resources = vec![DomainUserGroup {
                    cid: None,
                    description,
                    name,
                    user_group_id: Some(id.to_owned()),
                }];
                let body = DomainUserGroupsRequestV1 { resources };
                call(op, api.update_user_groups().body(body).send())
                    .await
                    .map(|a| a.errors)
            }
            GroupKind::Cid => {
                let resources = vec![DomainCidGroup {
                    cid: None,
                    cid_group_id: Some(id.to_owned()),
                    description,
                    is_default: None,
                    name,
                }];
                let body = DomainCidGroupsRequestV1 { resources };
                call(op, api.update_cid_groups().body(body).send())
                    .await
                    .map(|a| a.errors)
            }
        }
        .map_err(scoped(op, format!("changing a {kind}")))?;
        item_errors(op, errors)
    }

    /// Deletes a group (`deleteUserGroups`, `deleteCIDGroups`).
    pub async fn delete_fleet_group(&self, kind: GroupKind, id: &str) -> Result<()> {
        let (api, op) = (self.ready().await?, kind.ops().delete);
        let ids = vec![id.to_owned()];
        let answer = match kind {
            GroupKind::User => call(op, api.delete_user_groups().user_group_ids(ids).send()).await,
            GroupKind::Cid => call(op, api.delete_cid_groups().cid_group_ids(ids).send()).await,
        }
        .map_err(scoped(op, format!("deleting a {kind}")))?;
        item_errors(op, answer.errors)
    }

    /// Adds members (user UUIDs; CIDs) to a group, at most 500 per request.
    pub async fn add_fleet_group_members(
        &self,
        kind: GroupKind,
        id: &str,
        members: &[String],
    ) -> Result<()> {
        self.change_members(kind, id, members, true).await
    }

    /// Removes members (user UUIDs; CIDs) from a group, at most 500 per request.
    pub async fn remove_fleet_group_members(
        &self,
        kind: GroupKind,
        id: &str,
        members: &[String],
    ) -> Result<()> {
        self.change_members(kind, id, members, false).await
    }

    /// Adds roles to the link of a user group and a CID group, making it when absent
    /// (`addRole`).
    pub async fn add_link_roles(
        &self,
        user_group: &str,
        cid_group: &str,
        roles: &[String],
    ) -> Result<()> {
        let api = self.ready().await?;
        let answer = call(
            &ADD_ROLE,
            api.add_role()
                .body(role_request(user_group, cid_group, roles))
                .send(),
        )
        .await
        .map_err(scoped(&ADD_ROLE, "adding roles to a link"))?;
        item_errors(&ADD_ROLE, answer.errors)
    }

    /// Takes roles off a link (`deletedRoles`); `None` dissolves it.
    pub async fn remove_link_roles(
        &self,
        user_group: &str,
        cid_group: &str,
        roles: Option<&[String]>,
    ) -> Result<()> {
        let api = self.ready().await?;
        let body = role_request(user_group, cid_group, roles.unwrap_or_default());
        let answer = call(&DELETED_ROLES, api.deleted_roles().body(body).send())
            .await
            .map_err(scoped(&DELETED_ROLES, "removing roles from a link"))?;
        item_errors(&DELETED_ROLES, answer.errors)
    }
}

/// The body of `addRole` and `deletedRoles` for one link (no role ids: the whole link).
fn role_request(user_group: &str, cid_group: &str, roles: &[String]) -> DomainMsspRoleRequestV1 {
    DomainMsspRoleRequestV1 {
        resources: vec![DomainMsspRoles {
            cid_group_id: cid_group.to_owned(),
            id: None,
            role_ids: roles.to_vec(),
            user_group_id: user_group.to_owned(),
        }],
    }
}

impl Falcon {
    /// Adds (`add`) or removes members of a group, in requests of at most [`CHILDREN_BATCH`].
    async fn change_members(
        &self,
        kind: GroupKind,
        id: &str,
        members: &[String],
        add: bool,
    ) -> Result<()> {
        let api = self.ready().await?;
        let op = if add {
            kind.ops().add
        } else {
            kind.ops().remove
        };
        let scope = scoped(op, "changing a group's members");
        for chunk in members.chunks(CHILDREN_BATCH) {
            let users = || DomainUserGroupMembersRequestV1 {
                resources: vec![DomainUserGroupMembers {
                    user_group_id: id.to_owned(),
                    user_uuids: chunk.to_vec(),
                }],
            };
            let cids = || DomainCidGroupMembersRequestV1 {
                resources: vec![DomainCidGroupMembers {
                    cid_group_id: id.to_owned(),
                    cids: chunk.to_vec(),
                }],
            };
            let errors = match (kind, add) {
                (GroupKind::User, true) => {
                    call(op, api.add_user_group_members().body(users()).send())
                        .await
                        .map_err(&scope)?
                        .errors
                }
                (GroupKind::User, false) => {
                    call(op, api.delete_user_group_members().body(users()).send())
                        .await
                        .map_err(&scope)?
                        .errors
                }
                (GroupKind::Cid, true) => {
                    call(op, api.add_cid_group_members().body(cids()).send())
                        .await
                        .map_err(&scope)?
                        .errors
                }
                (GroupKind::Cid, false) => {
                    call(op, api.delete_cid_group_members_v2().body(cids()).send())
                        .await
                        .map_err(&scope)?
                        .errors
                }
            };
            item_errors(op, errors)?;
        }
        Ok(())
    }
}

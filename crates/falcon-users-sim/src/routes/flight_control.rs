//! Flight Control's groups: CID groups, user groups, their members and the links between them
//! (the `mssp` operations beside discovery, which is [`super::children`]).
//!
//! The groups belong to the parent: a member (child) token sees none and may change none (403).
//! Entity calls take at most 500 ids and answer 200, or 207 with a 404 entry per unknown id
//! (also when none is known: the operations declare no 404). Queries page with `offset` and
//! `limit` (default 10, at most 500). Group and link reads answer from the true state: the
//! read-after-write lag applies to the grants listings, where the roles links give show up
//! (`spec/CURATION.md`, *Guesses*).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use falcon_users_api::types::{
    DomainCidGroup, DomainCidGroupMembers, DomainCidGroupMembersRequestV1,
    DomainCidGroupMembersResponseV1, DomainCidGroupsRequestV1, DomainCidGroupsResponseV1,
    DomainMsspRoleRequestV1, DomainMsspRoleResponseV1, DomainMsspRoles, DomainUserGroup,
    DomainUserGroupMembers, DomainUserGroupMembersRequestV1, DomainUserGroupMembersResponseV1,
    DomainUserGroupsRequestV1, DomainUserGroupsResponseV1, MsaEntitiesResponse, MsaQueryResponse,
    MsaspecError,
};

use crate::envelope::{answer, meta, paged_meta, write_meta};
use crate::extract::{Params, body};
use crate::gate::Admitted;
use crate::routes::children::bare_cid;
use crate::shared::Shared;
use crate::state;
use crate::state::fleet::{
    CidGroup, Fleet, Link, MAX_CID_GROUPS, MAX_TEXT, MAX_USER_GROUP_MEMBERS, MAX_USER_GROUPS,
    UserGroup, link_id,
};
use crate::tenant_gen;

type Answer = Result<Response, Response>;

/// The default page of a Flight Control query (the reference).
const DEFAULT_LIMIT: i64 = 10;
/// The largest page taken: no bound is documented; the groups themselves are at most 500.
const MAX_LIMIT: usize = 500;
/// Most ids or items one entity call takes (PSFalcon's batch; the service's bound is unknown).
const MAX_ITEMS: usize = 500;

/// Whether the token acts for the parent, which owns the groups.
fn owns_fleet(state: &state::State, gate: &Admitted) -> bool {
    gate.token.cid == state.parent_cid
}

/// Refuses a write by a member token: the groups are the parent's.
fn parent_only(state: &state::State, gate: &Admitted) -> Result<(), Response> {
    if owns_fleet(state, gate) {
        Ok(())
    } else {
        Err(gate.fail(
            StatusCode::FORBIDDEN,
            format!(
                "Flight Control groups belong to the parent CID; CID {} cannot change them",
                gate.token.cid
            ),
        ))
    }
}

/// Between 1 and [`MAX_ITEMS`] of something, or a 400 naming it.
fn count_ok(gate: &Admitted, what: &str, n: usize) -> Result<(), Response> {
    if n == 0 || n > MAX_ITEMS {
        Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("between 1 and {MAX_ITEMS} {what} are required, not {n}"),
        ))
    } else {
        Ok(())
    }
}

/// A 404 error entry for an unknown id.
fn not_found(id: &str, what: &str) -> MsaspecError {
    MsaspecError {
        code: 404,
        id: Some(id.to_owned()),
        message: format!("{what} {id} not found"),
    }
}

/// 200 when nothing was missing, else 207 (the found items beside a 404 entry per missing one).
fn status(errors: &[MsaspecError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    }
}

/// A group's name or description, trimmed and within [`MAX_TEXT`], or a 400 naming `field`.
fn text(gate: &Admitted, field: &str, value: &str) -> Result<String, Response> {
    let value = value.trim();
    if value.chars().count() > MAX_TEXT {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("{field} is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A new group's name: required, not blank.
fn name(gate: &Admitted, name: Option<&str>) -> Result<String, Response> {
    let name = text(gate, "name", name.unwrap_or_default())?;
    if name.is_empty() {
        return Err(gate.fail(StatusCode::BAD_REQUEST, "name is required for each group"));
    }
    Ok(name)
}

fn cid_group_api(parent: &str, group: &CidGroup) -> DomainCidGroup {
    DomainCidGroup {
        cid: Some(parent.to_owned()),
        cid_group_id: Some(group.id.clone()),
        description: Some(group.description.clone()),
        is_default: Some(false),
        name: Some(group.name.clone()),
    }
}

fn user_group_api(parent: &str, group: &UserGroup) -> DomainUserGroup {
    DomainUserGroup {
        cid: Some(parent.to_owned()),
        description: Some(group.description.clone()),
        name: Some(group.name.clone()),
        user_group_id: Some(group.id.clone()),
    }
}

fn cid_members_api(group: &CidGroup) -> DomainCidGroupMembers {
    DomainCidGroupMembers {
        cid_group_id: group.id.clone(),
        cids: group.cids.iter().cloned().collect(),
    }
}

fn user_members_api(group: &UserGroup) -> DomainUserGroupMembers {
    DomainUserGroupMembers {
        user_group_id: group.id.clone(),
        user_uuids: group.members.iter().cloned().collect(),
    }
}

fn link_api(link: &Link) -> DomainMsspRoles {
    DomainMsspRoles {
        cid_group_id: link.cid_group_id.clone(),
        id: Some(link.id.clone()),
        role_ids: link.role_ids.iter().cloned().collect(),
        user_group_id: link.user_group_id.clone(),
    }
}

/// The parent's fleet as the token sees it: the parent's, or an empty one for a member token.
fn visible_fleet<'a>(state: &'a state::State, gate: &Admitted, empty: &'a Fleet) -> &'a Fleet {
    if owns_fleet(state, gate) {
        &state.fleet
    } else {
        empty
    }
}

/// The items `find` knows among `ids` (at most [`MAX_ITEMS`]) and a 404 entry per other id.
fn lookup<T>(
    gate: &Admitted,
    ids: &[String],
    what: &str,
    find: impl Fn(&str) -> Option<T>,
) -> Result<(Vec<T>, Vec<MsaspecError>), Response> {
    count_ok(gate, "ids", ids.len())?;
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match find(id.trim()) {
            Some(item) => found.push(item),
            None => errors.push(not_found(id, what)),
        }
    }
    Ok((found, errors))
}

// ---- Entity reads -------------------------------------------------------------------------

/// `getCIDGroupByIdV2`.
pub async fn cid_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let (found, errors) = lookup(&gate, &ids, "CID group", |id| {
        fleet
            .cid_groups
            .get(id)
            .map(|g| cid_group_api(&state.parent_cid, g))
    })?;
    let st = status(&errors);
    let body = DomainCidGroupsResponseV1 {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `getUserGroupsByIDV2`.
pub async fn user_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let (found, errors) = lookup(&gate, &ids, "user group", |id| {
        fleet
            .user_groups
            .get(id)
            .map(|g| user_group_api(&state.parent_cid, g))
    })?;
    let st = status(&errors);
    let body = DomainUserGroupsResponseV1 {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `getCIDGroupMembersByV2`.
pub async fn cid_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let (found, errors) = lookup(&gate, &ids, "CID group", |id| {
        fleet.cid_groups.get(id).map(cid_members_api)
    })?;
    let st = status(&errors);
    let body = DomainCidGroupMembersResponseV1 {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `getUserGroupMembersByIDV2`.
pub async fn user_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let (found, errors) = lookup(&gate, &ids, "user group", |id| {
        fleet.user_groups.get(id).map(user_members_api)
    })?;
    let st = status(&errors);
    let body = DomainUserGroupMembersResponseV1 {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `getRolesByID`: links by id.
pub async fn links(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let (found, errors) = lookup(&gate, &ids, "link", |id| fleet.links.get(id).map(link_api))?;
    let st = status(&errors);
    let body = DomainMsspRoleResponseV1 {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

// ---- Queries ------------------------------------------------------------------------------

/// One page of `ids` (sorted already) as a query answer.
fn page_answer(gate: &Admitted, ids: Vec<String>, offset: usize, limit: usize) -> Response {
    let total = ids.len();
    let body = MsaQueryResponse {
        errors: Some(Vec::new()),
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, total),
        resources: Some(ids.into_iter().skip(offset).take(limit).collect()),
    };
    answer(StatusCode::OK, &gate.headers, &body)
}

/// Records of a query, ordered by `sort` (`name` or `last_modified_timestamp`, ties by id),
/// `default` when none is given.
fn ordered<'a>(
    gate: &Admitted,
    params: &Params,
    default: (&str, bool),
    mut records: Vec<(&'a str, &'a str, DateTime<Utc>)>,
) -> Result<Vec<String>, Response> {
    let (field, descending) = match params.sort(gate)? {
        Some(sort) => (sort.field, sort.descending),
        None => (default.0.to_owned(), default.1),
    };
    if field == "name" {
        records.sort_by(|a, b| (a.1.to_lowercase(), a.0).cmp(&(b.1.to_lowercase(), b.0)));
    } else {
        records.sort_by(|a, b| (a.2, a.0).cmp(&(b.2, b.0)));
    }
    if descending {
        records.reverse();
    }
    Ok(records.into_iter().map(|r| r.0.to_owned()).collect())
}

fn page(shared: &Shared, gate: &Admitted, params: &Params) -> Result<(usize, usize), Response> {
    params.page_from(gate, DEFAULT_LIMIT, MAX_LIMIT, shared.config.offset_ceiling)
}

/// Whether a group's name is the `name` asked for (the whole name, any case).
fn named(wanted: Option<&str>, name: &str) -> bool {
    wanted
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .is_none_or(|w| w.to_lowercase() == name.to_lowercase())
}

/// `queryCIDGroups`: ids of the CID groups, by name unless `sort` says otherwise.
pub async fn query_cid_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = fleet
        .cid_groups
        .values()
        .filter(|g| named(params.get("name"), &g.name))
        .map(|g| (g.id.as_str(), g.name.as_str(), g.modified_at))
        .collect();
    let ids = ordered(&gate, &params, ("name", false), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

/// `queryUserGroups`: ids of the user groups, by name unless `sort` says otherwise.
pub async fn query_user_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = fleet
        .user_groups
        .values()
        .filter(|g| named(params.get("name"), &g.name))
        .map(|g| (g.id.as_str(), g.name.as_str(), g.modified_at))
        .collect();
    let ids = ordered(&gate, &params, ("name", false), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

/// `queryCIDGroupMembers`: ids of the CID groups `cid` is in, last changed first.
pub async fn query_cid_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let cid = bare_cid(&params.required("cid", &gate)?);
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = fleet
        .cid_groups
        .values()
        .filter(|g| g.cids.contains(&cid))
        .map(|g| (g.id.as_str(), g.name.as_str(), g.modified_at))
        .collect();
    let ids = ordered(&gate, &params, ("last_modified_timestamp", true), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

/// `queryUserGroupMembers`: ids of the user groups the user is in, last changed first; a UUID
/// that is no user of the parent is the service's `invalid user uuid` 400.
pub async fn query_user_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let uuid = params.required("user_uuid", &gate)?;
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    if !gate.knows_user(&state, &gate.token.cid, &uuid) {
        return Err(gate.unknown_user(&uuid));
    }
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = fleet
        .user_groups
        .values()
        .filter(|g| g.members.contains(&uuid))
        .map(|g| (g.id.as_str(), g.name.as_str(), g.modified_at))
        .collect();
    let ids = ordered(&gate, &params, ("last_modified_timestamp", true), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

/// `queryRoles`: ids of the links of a user group, of a CID group or of both (one is needed),
/// optionally only those giving `role_id`; last changed first.
pub async fn query_links(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let given = |name: &str| params.get(name).map(str::trim).filter(|v| !v.is_empty());
    let (user_group, cid_group, role) = (
        given("user_group_id"),
        given("cid_group_id"),
        given("role_id"),
    );
    if user_group.is_none() && cid_group.is_none() {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            "user_group_id or cid_group_id is required",
        ));
    }
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = fleet
        .links
        .values()
        .filter(|l| user_group.is_none_or(|id| l.user_group_id == id))
        .filter(|l| cid_group.is_none_or(|id| l.cid_group_id == id))
        .filter(|l| role.is_none_or(|r| l.role_ids.contains(r)))
        .map(|l| (l.id.as_str(), l.id.as_str(), l.modified_at))
        .collect();
    let ids = ordered(&gate, &params, ("last_modified_timestamp", true), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

// ---- Writes -------------------------------------------------------------------------------

/// A new group id, 32 hex characters no group has.
fn new_id(fleet: &Fleet) -> String {
    let mut rng = fastrand::Rng::new();
    loop {
        let id = tenant_gen::hex32(&mut rng);
        if !fleet.cid_groups.contains_key(&id) && !fleet.user_groups.contains_key(&id) {
            return id;
        }
    }
}

/// A group's new name and description from an update item: at least one of them.
fn update_fields(
    gate: &Admitted,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(Option<String>, Option<String>), Response> {
    let name = name.map(|n| text(gate, "name", n)).transpose()?;
    if name.as_deref() == Some("") {
        return Err(gate.fail(StatusCode::BAD_REQUEST, "name cannot be blank"));
    }
    let description = description
        .map(|d| text(gate, "description", d))
        .transpose()?;
    if name.is_none() && description.is_none() {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            "each group to update needs a name or a description",
        ));
    }
    Ok((name, description))
}

/// `createCIDGroups`.
pub async fn create_cid_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainCidGroupsRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "groups", request.resources.len())?;
    let mut new = Vec::new();
    for item in &request.resources {
        new.push((
            name(&gate, item.name.as_deref())?,
            text(
                &gate,
                "description",
                item.description.as_deref().unwrap_or_default(),
            )?,
        ));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let have = state.fleet.cid_groups.len();
    if have + new.len() > MAX_CID_GROUPS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!(
                "a parent has at most {MAX_CID_GROUPS} CID groups: {have} exist and {} more were asked for",
                new.len()
            ),
        ));
    }
    let mut made = Vec::new();
    for (name, description) in new {
        let id = new_id(&state.fleet);
        let group = CidGroup {
            id: id.clone(),
            name,
            description,
            cids: BTreeSet::new(),
            modified_at: now,
        };
        made.push(cid_group_api(&state.parent_cid, &group));
        state.fleet.cid_groups.insert(id, group);
    }
    let body = DomainCidGroupsResponseV1 {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, made.len()),
        resources: Some(made),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `createUserGroups`.
pub async fn create_user_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainUserGroupsRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "groups", request.resources.len())?;
    let mut new = Vec::new();
    for item in &request.resources {
        new.push((
            name(&gate, item.name.as_deref())?,
            text(
                &gate,
                "description",
                item.description.as_deref().unwrap_or_default(),
            )?,
        ));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let have = state.fleet.user_groups.len();
    if have + new.len() > MAX_USER_GROUPS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!(
                "a customer has at most {MAX_USER_GROUPS} user groups: {have} exist and {} more were asked for",
                new.len()
            ),
        ));
    }
    let mut made = Vec::new();
    for (name, description) in new {
        let id = new_id(&state.fleet);
        let group = UserGroup {
            id: id.clone(),
            name,
            description,
            members: BTreeSet::new(),
            modified_at: now,
        };
        made.push(user_group_api(&state.parent_cid, &group));
        state.fleet.user_groups.insert(id, group);
    }
    let body = DomainUserGroupsResponseV1 {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, made.len()),
        resources: Some(made),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `updateCIDGroups`: an unknown id is a 404 entry (207); the others change.
pub async fn update_cid_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainCidGroupsRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "groups", request.resources.len())?;
    let mut changes = Vec::new();
    for item in &request.resources {
        let id = item
            .cid_group_id
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                gate.fail(
                    StatusCode::BAD_REQUEST,
                    "cid_group_id is required for each group to update",
                )
            })?;
        let (name, description) =
            update_fields(&gate, item.name.as_deref(), item.description.as_deref())?;
        changes.push((id.to_owned(), name, description));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let parent = state.parent_cid.clone();
    let (mut changed, mut errors) = (Vec::new(), Vec::new());
    for (id, name, description) in changes {
        let Some(group) = state.fleet.cid_groups.get_mut(&id) else {
            errors.push(not_found(&id, "CID group"));
            continue;
        };
        if let Some(name) = name {
            group.name = name;
        }
        if let Some(description) = description {
            group.description = description;
        }
        group.modified_at = now;
        changed.push(cid_group_api(&parent, group));
    }
    let st = status(&errors);
    let body = DomainCidGroupsResponseV1 {
        meta: write_meta(gate.started, &gate.headers.trace, changed.len()),
        resources: Some(changed),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `updateUserGroups`: an unknown id is a 404 entry (207); the others change.
pub async fn update_user_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainUserGroupsRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "groups", request.resources.len())?;
    let mut changes = Vec::new();
    for item in &request.resources {
        let id = item
            .user_group_id
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                gate.fail(
                    StatusCode::BAD_REQUEST,
                    "user_group_id is required for each group to update",
                )
            })?;
        let (name, description) =
            update_fields(&gate, item.name.as_deref(), item.description.as_deref())?;
        changes.push((id.to_owned(), name, description));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let parent = state.parent_cid.clone();
    let (mut changed, mut errors) = (Vec::new(), Vec::new());
    for (id, name, description) in changes {
        let Some(group) = state.fleet.user_groups.get_mut(&id) else {
            errors.push(not_found(&id, "user group"));
            continue;
        };
        if let Some(name) = name {
            group.name = name;
        }
        if let Some(description) = description {
            group.description = description;
        }
        group.modified_at = now;
        changed.push(user_group_api(&parent, group));
    }
    let st = status(&errors);
    let body = DomainUserGroupsResponseV1 {
        meta: write_meta(gate.started, &gate.headers.trace, changed.len()),
        resources: Some(changed),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// A delete's answer: how many went in `meta.writes`, a 404 entry per unknown id.
fn deleted(gate: &Admitted, affected: usize, errors: Vec<MsaspecError>) -> Response {
    let st = status(&errors);
    let body = MsaEntitiesResponse {
        errors: Some(errors),
        meta: write_meta(gate.started, &gate.headers.trace, affected),
        resources: None,
    };
    answer(st, &gate.headers, &body)
}

/// `deleteCIDGroups`: with their links.
pub async fn delete_cid_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("cid_group_ids");
    count_ok(&gate, "cid_group_ids", ids.len())?;
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let (mut affected, mut errors) = (0, Vec::new());
    for id in &ids {
        match state.fleet.remove_cid_group(id.trim()) {
            Some(_) => affected += 1,
            None => errors.push(not_found(id, "CID group")),
        }
    }
    Ok(deleted(&gate, affected, errors))
}

/// `deleteUserGroups`: with their links.
pub async fn delete_user_groups(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("user_group_ids");
    count_ok(&gate, "user_group_ids", ids.len())?;
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let (mut affected, mut errors) = (0, Vec::new());
    for id in &ids {
        match state.fleet.remove_user_group(id.trim()) {
            Some(_) => affected += 1,
            None => errors.push(not_found(id, "user group")),
        }
    }
    Ok(deleted(&gate, affected, errors))
}

/// `addCIDGroupMembers` (`add`) and `deleteCIDGroupMembersV2`: every CID must be the parent or
/// a child (else 400, nothing changed); an unknown group is a 404 entry (207).
async fn change_cid_members(shared: &Shared, gate: &Admitted, bytes: &[u8], add: bool) -> Answer {
    let request: DomainCidGroupMembersRequestV1 = body(bytes, gate)?;
    count_ok(gate, "groups", request.resources.len())?;
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, gate)?;
    let items: Vec<(String, Vec<String>)> = request
        .resources
        .iter()
        .map(|i| {
            (
                i.cid_group_id.trim().to_owned(),
                i.cids.iter().map(|c| bare_cid(c)).collect(),
            )
        })
        .collect();
    for (_, cids) in &items {
        count_ok(gate, "cids", cids.len())?;
        if add
            && let Some(bad) = cids
                .iter()
                .find(|c| **c != state.parent_cid && !state.child_cids.contains(c))
        {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("CID {bad} is neither the parent nor one of its children"),
            ));
        }
    }
    let (mut groups, mut errors, mut affected) = (Vec::new(), Vec::new(), 0);
    for (id, cids) in items {
        let Some(group) = state.fleet.cid_groups.get_mut(&id) else {
            errors.push(not_found(&id, "CID group"));
            continue;
        };
        for cid in cids {
            let changed = if add {
                group.cids.insert(cid)
            } else {
                group.cids.remove(&cid)
            };
            affected += usize::from(changed);
        }
        group.modified_at = now;
        groups.push(cid_members_api(group));
    }
    let st = status(&errors);
    let body = DomainCidGroupMembersResponseV1 {
        meta: write_meta(gate.started, &gate.headers.trace, affected),
        resources: Some(groups),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `addCIDGroupMembers`.
pub async fn add_cid_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_cid_members(&shared, &gate, &bytes, true).await
}

/// `deleteCIDGroupMembersV2`.
pub async fn delete_cid_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_cid_members(&shared, &gate, &bytes, false).await
}

/// `addUserGroupMembers` (`add`) and `deleteUserGroupMembers`: an added member must be a user
/// of the parent (else 400 `invalid user uuid`), and a group holds at most
/// [`MAX_USER_GROUP_MEMBERS`] (else 400); nothing changes on a 400. An unknown group is a 404
/// entry (207).
async fn change_user_members(shared: &Shared, gate: &Admitted, bytes: &[u8], add: bool) -> Answer {
    let request: DomainUserGroupMembersRequestV1 = body(bytes, gate)?;
    count_ok(gate, "groups", request.resources.len())?;
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, gate)?;
    let parent = state.parent_cid.clone();
    for item in &request.resources {
        count_ok(gate, "user_uuids", item.user_uuids.len())?;
        if !add {
            continue;
        }
        if let Some(bad) = item.user_uuids.iter().find(|u| {
            !state
                .tenants
                .get(&parent)
                .is_some_and(|t| t.users.contains_key(u.trim()))
        }) {
            return Err(gate.unknown_user(bad));
        }
        if let Some(group) = state.fleet.user_groups.get(item.user_group_id.trim()) {
            let mut after = group.members.clone();
            after.extend(item.user_uuids.iter().map(|u| u.trim().to_owned()));
            if after.len() > MAX_USER_GROUP_MEMBERS {
                return Err(gate.fail(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "a user group has at most {MAX_USER_GROUP_MEMBERS} members: user group {} \
                         would have {}",
                        group.id,
                        after.len()
                    ),
                ));
            }
        }
    }
    let (mut groups, mut errors, mut affected) = (Vec::new(), Vec::new(), 0);
    for item in &request.resources {
        let id = item.user_group_id.trim();
        let Some(group) = state.fleet.user_groups.get_mut(id) else {
            errors.push(not_found(id, "user group"));
            continue;
        };
        for uuid in &item.user_uuids {
            let uuid = uuid.trim();
            let changed = if add {
                group.members.insert(uuid.to_owned())
            } else {
                group.members.remove(uuid)
            };
            affected += usize::from(changed);
        }
        group.modified_at = now;
        groups.push(user_members_api(group));
    }
    let st = status(&errors);
    let body = DomainUserGroupMembersResponseV1 {
        meta: write_meta(gate.started, &gate.headers.trace, affected),
        resources: Some(groups),
        errors: Some(errors),
    };
    Ok(answer(st, &gate.headers, &body))
}

/// `addUserGroupMembers`.
pub async fn add_user_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_user_members(&shared, &gate, &bytes, true).await
}

/// `deleteUserGroupMembers`.
pub async fn delete_user_group_members(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_user_members(&shared, &gate, &bytes, false).await
}

/// `addRole`: makes the link between two groups if there is none and adds the roles to it
/// (none taken away). Roles must be built-in (else 400 `invalid roleID`, nothing changed): a
/// custom role belongs to one CID, and a CID group's CIDs change. An item naming an unknown
/// group is a 404 entry (207).
pub async fn add_link_roles(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainMsspRoleRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "links", request.resources.len())?;
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    for item in &request.resources {
        if let Some(bad) = item
            .role_ids
            .iter()
            .find(|r| !state.builtin_roles.iter().any(|b| b.id == r.trim()))
        {
            return Err(gate.invalid_role(bad));
        }
    }
    let (mut links, mut errors, mut affected) = (Vec::new(), Vec::new(), 0);
    for item in &request.resources {
        let (ug, cg) = (item.user_group_id.trim(), item.cid_group_id.trim());
        let id = link_id(ug, cg);
        if !state.fleet.user_groups.contains_key(ug) {
            errors.push(not_found(ug, "user group"));
            continue;
        }
        if !state.fleet.cid_groups.contains_key(cg) {
            errors.push(not_found(cg, "CID group"));
            continue;
        }
        let link = state.fleet.links.entry(id.clone()).or_insert_with(|| {
            affected += 1;
            Link {
                id,
                user_group_id: ug.to_owned(),
                cid_group_id: cg.to_owned(),
                role_ids: BTreeSet::new(),
                modified_at: now,
            }
        });
        for role in &item.role_ids {
            affected += usize::from(link.role_ids.insert(role.trim().to_owned()));
        }
        link.modified_at = now;
        links.push(link_api(link));
    }
    Ok(link_answer(&gate, links, errors, affected))
}

/// `deletedRoles`: takes the roles named off each link, or without `role_ids` removes the link.
/// An unknown link is a 404 entry (207). Each item is answered as the link is after the call
/// (a removed link with no roles).
pub async fn delete_link_roles(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainMsspRoleRequestV1 = body(&bytes, &gate)?;
    count_ok(&gate, "links", request.resources.len())?;
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, &gate)?;
    let (mut links, mut errors, mut affected) = (Vec::new(), Vec::new(), 0);
    for item in &request.resources {
        let id = link_id(item.user_group_id.trim(), item.cid_group_id.trim());
        if item.role_ids.is_empty() {
            match state.fleet.links.remove(&id) {
                Some(mut link) => {
                    affected += 1;
                    link.role_ids.clear();
                    links.push(link_api(&link));
                }
                None => errors.push(not_found(&id, "link")),
            }
            continue;
        }
        let Some(link) = state.fleet.links.get_mut(&id) else {
            errors.push(not_found(&id, "link"));
            continue;
        };
        for role in &item.role_ids {
            affected += usize::from(link.role_ids.remove(role.trim()));
        }
        link.modified_at = now;
        links.push(link_api(link));
    }
    Ok(link_answer(&gate, links, errors, affected))
}

fn link_answer(
    gate: &Admitted,
    links: Vec<DomainMsspRoles>,
    errors: Vec<MsaspecError>,
    affected: usize,
) -> Response {
    let st = status(&errors);
    let body = DomainMsspRoleResponseV1 {
        meta: write_meta(gate.started, &gate.headers.trace, affected),
        resources: Some(links),
        errors: Some(errors),
    };
    answer(st, &gate.headers, &body)
}

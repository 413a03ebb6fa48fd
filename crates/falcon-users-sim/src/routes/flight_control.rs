//! Flight Control's groups: CID groups, user groups, their members and the links between them
//! (the `mssp` operations beside discovery, which is [`super::children`]).
//!
//! The groups belong to the parent: a member (child) token sees none and may change none (403).
//! Entity calls take at most 500 ids and answer 200, or 207 with a 404 entry per unknown id
//! (also when none is known: the operations declare no 404). Queries page with `offset` and
//! `limit` (default 10, at most 500). Group and link reads answer from the true state: the
//! read-after-write lag applies to the grants listings, where the roles links give show up
//! (`spec/CURATION.md`, *Guesses*).
//!
//! The two kinds of group differ only in what [`GroupKind`] says; every group operation is
//! written once over it, and the axum handlers name the kind.

use std::collections::{BTreeMap, BTreeSet};
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
    MsaspecError, MsaspecMetaInfo,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::{Envelope, answer, meta, paged_meta, write_meta};
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

// ---- The two kinds of group ---------------------------------------------------------------

/// A query's view of a record: id, name, when it last changed.
pub type Record<'a> = (&'a str, &'a str, DateTime<Utc>);

/// What an update or a member change may touch in a group.
pub struct Parts<'a> {
    name: &'a mut String,
    description: &'a mut String,
    members: &'a mut BTreeSet<String>,
    modified_at: &'a mut DateTime<Utc>,
}

/// A create or update item of either kind: the fields both API types share.
pub struct Item<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    description: Option<&'a str>,
}

/// What differs between CID groups and user groups: where they are kept, their limit, the
/// words of their messages, their API types and what a member is. Implemented by the group
/// records themselves.
pub trait GroupKind: Sized {
    /// The group as the API shows it.
    type Api: Serialize;
    /// A group's members as the API shows them (also a member change's item).
    type Members: Serialize;
    /// The create and update body.
    type Request: DeserializeOwned;
    /// The member change body.
    type MembersRequest: DeserializeOwned;
    /// The answer carrying groups.
    type Body: Serialize + DeserializeOwned;
    /// The answer carrying members.
    type MembersBody: Serialize + DeserializeOwned;

    /// The kind in messages (`CID group`).
    const WHAT: &'static str;
    /// The id field of the API type (`cid_group_id`); its plural names a delete's parameter.
    const ID_FIELD: &'static str;
    /// The members field of a member change item, as its count check names it.
    const MEMBERS_FIELD: &'static str;
    /// Who holds the groups, as the limit's message says (`a parent`).
    const OWNER: &'static str;
    /// Most groups of the kind.
    const MAX_GROUPS: usize;

    fn all(fleet: &Fleet) -> &BTreeMap<String, Self>;
    fn all_mut(fleet: &mut Fleet) -> &mut BTreeMap<String, Self>;
    /// Deletes a group and its links.
    fn remove(fleet: &mut Fleet, id: &str) -> Option<Self>;
    fn new(id: String, name: String, description: String, now: DateTime<Utc>) -> Self;
    fn record(&self) -> Record<'_>;
    fn members(&self) -> &BTreeSet<String>;
    fn parts(&mut self) -> Parts<'_>;
    fn api(&self, parent: &str) -> Self::Api;
    fn members_api(&self) -> Self::Members;
    fn items(request: &Self::Request) -> Vec<Item<'_>>;
    /// Each item of a member change: the group id and the members as sent.
    fn member_items(request: &Self::MembersRequest) -> Vec<(&str, &[String])>;
    /// A member as sent, as kept.
    fn member(sent: &str) -> String;
    /// Refuses members that may not be added to group `id` (400, nothing changed).
    fn admit(
        state: &state::State,
        gate: &Admitted,
        id: &str,
        sent: &[String],
    ) -> Result<(), Response>;
    /// The member a membership query asks about, from its parameters.
    fn member_param(gate: &Admitted, params: &Params) -> Result<String, Response>;
    /// Refuses a membership query about a member the token cannot name.
    fn known_member(state: &state::State, gate: &Admitted, member: &str) -> Result<(), Response>;
}

impl GroupKind for CidGroup {
    type Api = DomainCidGroup;
    type Members = DomainCidGroupMembers;
    type Request = DomainCidGroupsRequestV1;
    type MembersRequest = DomainCidGroupMembersRequestV1;
    type Body = DomainCidGroupsResponseV1;
    type MembersBody = DomainCidGroupMembersResponseV1;

    const WHAT: &'static str = "CID group";
    const ID_FIELD: &'static str = "cid_group_id";
    const MEMBERS_FIELD: &'static str = "cids";
    const OWNER: &'static str = "a parent";
    const MAX_GROUPS: usize = MAX_CID_GROUPS;

    fn all(fleet: &Fleet) -> &BTreeMap<String, Self> {
        &fleet.cid_groups
    }
    fn all_mut(fleet: &mut Fleet) -> &mut BTreeMap<String, Self> {
        &mut fleet.cid_groups
    }
    fn remove(fleet: &mut Fleet, id: &str) -> Option<Self> {
        fleet.remove_cid_group(id)
    }
    fn new(id: String, name: String, description: String, now: DateTime<Utc>) -> Self {
        CidGroup {
            id,
            name,
            description,
            cids: BTreeSet::new(),
            modified_at: now,
        }
    }
    fn record(&self) -> Record<'_> {
        (&self.id, &self.name, self.modified_at)
    }
    fn members(&self) -> &BTreeSet<String> {
        &self.cids
    }
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            name: &mut self.name,
            description: &mut self.description,
            members: &mut self.cids,
            modified_at: &mut self.modified_at,
        }
    }
    fn api(&self, parent: &str) -> DomainCidGroup {
        DomainCidGroup {
            cid: Some(parent.to_owned()),
            cid_group_id: Some(self.id.clone()),
            description: Some(self.description.clone()),
            is_default: Some(false),
            name: Some(self.name.clone()),
        }
    }
    fn members_api(&self) -> DomainCidGroupMembers {
        DomainCidGroupMembers {
            cid_group_id: self.id.clone(),
            cids: self.cids.iter().cloned().collect(),
        }
    }
    fn items(request: &DomainCidGroupsRequestV1) -> Vec<Item<'_>> {
        request
            .resources
            .iter()
            .map(|g| Item {
                id: g.cid_group_id.as_deref(),
                name: g.name.as_deref(),
                description: g.description.as_deref(),
            })
            .collect()
    }
    fn member_items(request: &DomainCidGroupMembersRequestV1) -> Vec<(&str, &[String])> {
        request
            .resources
            .iter()
            .map(|m| (m.cid_group_id.as_str(), m.cids.as_slice()))
            .collect()
    }
    fn member(sent: &str) -> String {
        bare_cid(sent)
    }
    /// Every CID must be the parent or a child.
    fn admit(
        state: &state::State,
        gate: &Admitted,
        _id: &str,
        sent: &[String],
    ) -> Result<(), Response> {
        match sent
            .iter()
            .map(|c| bare_cid(c))
            .find(|c| *c != state.parent_cid && !state.child_cids.contains(c))
        {
            Some(bad) => Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("CID {bad} is neither the parent nor one of its children"),
            )),
            None => Ok(()),
        }
    }
    fn member_param(gate: &Admitted, params: &Params) -> Result<String, Response> {
        Ok(bare_cid(&params.required("cid", gate)?))
    }
    fn known_member(_: &state::State, _: &Admitted, _: &str) -> Result<(), Response> {
        Ok(())
    }
}

impl GroupKind for UserGroup {
    type Api = DomainUserGroup;
    type Members = DomainUserGroupMembers;
    type Request = DomainUserGroupsRequestV1;
    type MembersRequest = DomainUserGroupMembersRequestV1;
    type Body = DomainUserGroupsResponseV1;
    type MembersBody = DomainUserGroupMembersResponseV1;

    const WHAT: &'static str = "user group";
    const ID_FIELD: &'static str = "user_group_id";
    const MEMBERS_FIELD: &'static str = "user_uuids";
    const OWNER: &'static str = "a customer";
    const MAX_GROUPS: usize = MAX_USER_GROUPS;

    fn all(fleet: &Fleet) -> &BTreeMap<String, Self> {
        &fleet.user_groups
    }
    fn all_mut(fleet: &mut Fleet) -> &mut BTreeMap<String, Self> {
        &mut fleet.user_groups
    }
    fn remove(fleet: &mut Fleet, id: &str) -> Option<Self> {
        fleet.remove_user_group(id)
    }
    fn new(id: String, name: String, description: String, now: DateTime<Utc>) -> Self {
        UserGroup {
            id,
            name,
            description,
            members: BTreeSet::new(),
            modified_at: now,
        }
    }
    fn record(&self) -> Record<'_> {
        (&self.id, &self.name, self.modified_at)
    }
    fn members(&self) -> &BTreeSet<String> {
        &self.members
    }
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            name: &mut self.name,
            description: &mut self.description,
            members: &mut self.members,
            modified_at: &mut self.modified_at,
        }
    }
    fn api(&self, parent: &str) -> DomainUserGroup {
        DomainUserGroup {
            cid: Some(parent.to_owned()),
            description: Some(self.description.clone()),
            name: Some(self.name.clone()),
            user_group_id: Some(self.id.clone()),
        }
    }
    fn members_api(&self) -> DomainUserGroupMembers {
        DomainUserGroupMembers {
            user_group_id: self.id.clone(),
            user_uuids: self.members.iter().cloned().collect(),
        }
    }
    fn items(request: &DomainUserGroupsRequestV1) -> Vec<Item<'_>> {
        request
            .resources
            .iter()
            .map(|g| Item {
                id: g.user_group_id.as_deref(),
                name: g.name.as_deref(),
                description: g.description.as_deref(),
            })
            .collect()
    }
    fn member_items(request: &DomainUserGroupMembersRequestV1) -> Vec<(&str, &[String])> {
        request
            .resources
            .iter()
            .map(|m| (m.user_group_id.as_str(), m.user_uuids.as_slice()))
            .collect()
    }
    fn member(sent: &str) -> String {
        sent.trim().to_owned()
    }
    /// A member must be a user of the parent (else the service's `invalid user uuid`), and a
    /// group holds at most [`MAX_USER_GROUP_MEMBERS`].
    fn admit(
        state: &state::State,
        gate: &Admitted,
        id: &str,
        sent: &[String],
    ) -> Result<(), Response> {
        if let Some(bad) = sent.iter().find(|u| {
            !state
                .tenants
                .get(&state.parent_cid)
                .is_some_and(|t| t.users.contains_key(u.trim()))
        }) {
            return Err(gate.unknown_user(bad));
        }
        if let Some(group) = state.fleet.user_groups.get(id) {
            let mut after = group.members.clone();
            after.extend(sent.iter().map(|u| Self::member(u)));
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
        Ok(())
    }
    fn member_param(gate: &Admitted, params: &Params) -> Result<String, Response> {
        params.required("user_uuid", gate)
    }
    /// A UUID that is no user the token knows is the service's `invalid user uuid` 400.
    fn known_member(state: &state::State, gate: &Admitted, uuid: &str) -> Result<(), Response> {
        if gate.knows_user(state, &gate.token.cid, uuid) {
            Ok(())
        } else {
            Err(gate.unknown_user(uuid))
        }
    }
}

// ---- Shared checks and answers ------------------------------------------------------------

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

/// An entity answer as the operation's body type `B`: the items, and a 404 entry per unknown
/// id (then 207).
fn entities<T: Serialize, B: Serialize + DeserializeOwned>(
    gate: &Admitted,
    meta: MsaspecMetaInfo,
    resources: Vec<T>,
    errors: Vec<MsaspecError>,
) -> Answer {
    let st = status(&errors);
    let body: B = gate.reshape(&Envelope {
        errors,
        meta,
        resources,
    })?;
    Ok(answer(st, &gate.headers, &body))
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

/// Groups of kind `K` by id, each as `show` gives it, answered as body `B`.
fn read<K: GroupKind, T: Serialize, B: Serialize + DeserializeOwned>(
    shared: &Shared,
    gate: &Admitted,
    raw: Option<&str>,
    show: impl Fn(&K, &str) -> T,
) -> Answer {
    let ids = Params::parse(raw).all("ids");
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, gate, &empty);
    let (found, errors) = lookup(gate, &ids, K::WHAT, |id| {
        K::all(fleet).get(id).map(|g| show(g, &state.parent_cid))
    })?;
    entities::<_, B>(gate, meta(gate.started, &gate.headers.trace), found, errors)
}

/// `getCIDGroupByIdV2`, `getUserGroupsByIDV2`: groups of kind `K` by id.
pub async fn groups<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    read::<K, _, K::Body>(&shared, &gate, raw.as_deref(), K::api)
}

/// `getCIDGroupMembersByV2`, `getUserGroupMembersByIDV2`: the members of groups of kind `K`,
/// by group id.
pub async fn group_members<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    read::<K, _, K::MembersBody>(&shared, &gate, raw.as_deref(), |g, _| g.members_api())
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
    entities::<_, DomainMsspRoleResponseV1>(
        &gate,
        meta(gate.started, &gate.headers.trace),
        found,
        errors,
    )
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
fn ordered(
    gate: &Admitted,
    params: &Params,
    default: (&str, bool),
    mut records: Vec<Record<'_>>,
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

/// `queryCIDGroups`, `queryUserGroups`: ids of the groups of kind `K`, by name unless `sort`
/// says otherwise.
pub async fn query_groups<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = K::all(fleet)
        .values()
        .map(K::record)
        .filter(|r| named(params.get("name"), r.1))
        .collect();
    let ids = ordered(&gate, &params, ("name", false), records)?;
    Ok(page_answer(&gate, ids, offset, limit))
}

/// `queryCIDGroupMembers`, `queryUserGroupMembers`: ids of the groups of kind `K` the member
/// asked about ([`GroupKind::member_param`]) is in, last changed first.
pub async fn query_memberships<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let member = K::member_param(&gate, &params)?;
    let (offset, limit) = page(&shared, &gate, &params)?;
    let state = shared.truth();
    K::known_member(&state, &gate, &member)?;
    let empty = Fleet::default();
    let fleet = visible_fleet(&state, &gate, &empty);
    let records = K::all(fleet)
        .values()
        .filter(|g| g.members().contains(&member))
        .map(K::record)
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

/// `createCIDGroups`, `createUserGroups`: groups of kind `K`, within its limit (else 400,
/// nothing made).
pub async fn create_groups<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let (shared, gate) = (&*shared, &gate);
    let request: K::Request = body(&bytes, gate)?;
    let items = K::items(&request);
    count_ok(gate, "groups", items.len())?;
    let mut new = Vec::new();
    for item in &items {
        new.push((
            name(gate, item.name)?,
            text(gate, "description", item.description.unwrap_or_default())?,
        ));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, gate)?;
    let have = K::all(&state.fleet).len();
    if have + new.len() > K::MAX_GROUPS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!(
                "{} has at most {} {}s: {have} exist and {} more were asked for",
                K::OWNER,
                K::MAX_GROUPS,
                K::WHAT,
                new.len()
            ),
        ));
    }
    let mut made = Vec::new();
    for (name, description) in new {
        let id = new_id(&state.fleet);
        let group = K::new(id.clone(), name, description, now);
        made.push(group.api(&state.parent_cid));
        K::all_mut(&mut state.fleet).insert(id, group);
    }
    let meta = write_meta(gate.started, &gate.headers.trace, made.len());
    entities::<_, K::Body>(gate, meta, made, Vec::new())
}

/// `updateCIDGroups`, `updateUserGroups`: renames or redescribes groups of kind `K`; an
/// unknown id is a 404 entry (207), the others change.
pub async fn update_groups<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let (shared, gate) = (&*shared, &gate);
    let request: K::Request = body(&bytes, gate)?;
    let items = K::items(&request);
    count_ok(gate, "groups", items.len())?;
    let mut changes = Vec::new();
    for item in &items {
        let id = item
            .id
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                gate.fail(
                    StatusCode::BAD_REQUEST,
                    format!("{} is required for each group to update", K::ID_FIELD),
                )
            })?;
        let (name, description) = update_fields(gate, item.name, item.description)?;
        changes.push((id.to_owned(), name, description));
    }
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, gate)?;
    let parent = state.parent_cid.clone();
    let (mut changed, mut errors) = (Vec::new(), Vec::new());
    for (id, name, description) in changes {
        let Some(group) = K::all_mut(&mut state.fleet).get_mut(&id) else {
            errors.push(not_found(&id, K::WHAT));
            continue;
        };
        let parts = group.parts();
        if let Some(name) = name {
            *parts.name = name;
        }
        if let Some(description) = description {
            *parts.description = description;
        }
        *parts.modified_at = now;
        changed.push(group.api(&parent));
    }
    let meta = write_meta(gate.started, &gate.headers.trace, changed.len());
    entities::<_, K::Body>(gate, meta, changed, errors)
}

/// `deleteCIDGroups`, `deleteUserGroups`: groups of kind `K` with their links; how many went
/// in `meta.writes`, a 404 entry per unknown id.
pub async fn delete_groups<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let (shared, gate) = (&*shared, &gate);
    let param = format!("{}s", K::ID_FIELD);
    let ids = Params::parse(raw.as_deref()).all(&param);
    count_ok(gate, &param, ids.len())?;
    let mut state = shared.write();
    parent_only(&state, gate)?;
    let (mut affected, mut errors) = (0, Vec::new());
    for id in &ids {
        match K::remove(&mut state.fleet, id.trim()) {
            Some(_) => affected += 1,
            None => errors.push(not_found(id, K::WHAT)),
        }
    }
    let st = status(&errors);
    let body = MsaEntitiesResponse {
        errors: Some(errors),
        meta: write_meta(gate.started, &gate.headers.trace, affected),
        resources: None,
    };
    Ok(answer(st, &gate.headers, &body))
}

/// Adds (`add`) or removes members of groups of kind `K`: an added member must pass
/// [`GroupKind::admit`] (else 400, nothing changed); an unknown group is a 404 entry (207).
fn change_members<K: GroupKind>(
    shared: &Shared,
    gate: &Admitted,
    bytes: &[u8],
    add: bool,
) -> Answer {
    let request: K::MembersRequest = body(bytes, gate)?;
    let items = K::member_items(&request);
    count_ok(gate, "groups", items.len())?;
    let now = shared.clock().utc();
    let mut state = shared.write();
    parent_only(&state, gate)?;
    for (id, sent) in &items {
        count_ok(gate, K::MEMBERS_FIELD, sent.len())?;
        if add {
            K::admit(&state, gate, id.trim(), sent)?;
        }
    }
    let (mut groups, mut errors, mut affected) = (Vec::new(), Vec::new(), 0);
    for (id, sent) in items {
        let id = id.trim();
        let Some(group) = K::all_mut(&mut state.fleet).get_mut(id) else {
            errors.push(not_found(id, K::WHAT));
            continue;
        };
        let parts = group.parts();
        for member in sent.iter().map(|m| K::member(m)) {
            let changed = if add {
                parts.members.insert(member)
            } else {
                parts.members.remove(&member)
            };
            affected += usize::from(changed);
        }
        *parts.modified_at = now;
        groups.push(group.members_api());
    }
    let meta = write_meta(gate.started, &gate.headers.trace, affected);
    entities::<_, K::MembersBody>(gate, meta, groups, errors)
}

/// `addCIDGroupMembers`, `addUserGroupMembers`.
pub async fn add_members<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_members::<K>(&shared, &gate, &bytes, true)
}

/// `deleteCIDGroupMembersV2`, `deleteUserGroupMembers`.
pub async fn remove_members<K: GroupKind>(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    change_members::<K>(&shared, &gate, &bytes, false)
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
    let meta = write_meta(gate.started, &gate.headers.trace, affected);
    entities::<_, DomainMsspRoleResponseV1>(&gate, meta, links, errors)
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
    let meta = write_meta(gate.started, &gate.headers.trace, affected);
    entities::<_, DomainMsspRoleResponseV1>(&gate, meta, links, errors)
}

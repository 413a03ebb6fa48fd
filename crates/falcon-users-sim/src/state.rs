//! Tenants (CIDs) with their users, roles and grants, indexed for fast queries.

use std::collections::{BTreeMap, HashMap};

use falcon_users_api::types::{
    DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2, MsaspecError,
};

use crate::fql::{Filter, Sort};

/// Fields user queries may filter on.
pub const USER_FILTER_FIELDS: &[&str] = &[
    "uid",
    "uuid",
    "first_name",
    "last_name",
    "name",
    "status",
    "cid",
];
/// Fields user queries may sort by.
pub const USER_SORT_FIELDS: &[&str] = &[
    "uid",
    "first_name",
    "last_name",
    "name",
    "status",
    "created_at",
    "last_login_at",
];
/// Fields grant queries may filter on.
pub const GRANT_FILTER_FIELDS: &[&str] = &["role_id", "role_name", "expires_at"];
/// Fields grant queries may sort by.
pub const GRANT_SORT_FIELDS: &[&str] = &["role_name", "cid", "expires_at", "type", "user_uuid"];

/// A user as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// UUID.
    pub uuid: String,
    /// Login, lower case.
    pub uid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Home CID.
    pub cid: String,
    /// `active` or `inactive`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// RFC 3339, empty if never.
    pub last_login_at: String,
}

impl User {
    /// The spec's representation.
    pub fn to_api(&self) -> DomainUser {
        DomainUser {
            cid: Some(self.cid.clone()),
            created_at: Some(self.created_at.clone()),
            first_name: Some(self.first_name.clone()),
            last_login_at: Some(self.last_login_at.clone()).filter(|s| !s.is_empty()),
            last_name: Some(self.last_name.clone()),
            status: Some(self.status.clone()),
            uid: Some(self.uid.clone()),
            updated_at: Some(self.updated_at.clone()),
            user_type: Some("internal".into()),
            uuid: Some(self.uuid.clone()),
            ..DomainUser::default()
        }
    }

    fn field(&self, name: &str) -> Option<&str> {
        Some(match name {
            "uid" => &self.uid,
            "uuid" => &self.uuid,
            "first_name" | "name" => &self.first_name,
            "last_name" => &self.last_name,
            "status" => &self.status,
            "cid" => &self.cid,
            "created_at" => &self.created_at,
            "last_login_at" => &self.last_login_at,
            _ => return None,
        })
    }
}

/// A role held by a user in a CID.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The role.
    pub role_id: String,
    /// The CID it applies in.
    pub cid: String,
    /// When it ends (RFC 3339), if temporary.
    pub expires_at: Option<String>,
}

/// One CID.
#[derive(Debug, Default)]
pub struct Tenant {
    /// The CID.
    pub cid: String,
    /// Users by UUID.
    pub users: HashMap<String, User>,
    /// UUIDs by lower-case login, in login order (the default sort).
    pub by_uid: BTreeMap<String, String>,
    /// Grants by user UUID.
    pub grants: HashMap<String, Vec<Grant>>,
    /// Roles only this CID has (32-hex ids).
    pub custom_roles: Vec<DomainRole>,
}

/// Everything the simulator knows.
#[derive(Debug, Default)]
pub struct State {
    /// Tenants by CID.
    pub tenants: HashMap<String, Tenant>,
    /// Roles every CID has (text ids such as `falcon_console_guest`).
    pub builtin_roles: Vec<DomainRole>,
    /// The Flight Control parent.
    pub parent_cid: String,
    /// Its children, in creation order.
    pub child_cids: Vec<String>,
}

impl State {
    /// The roles available in `cid`: built-in and its own.
    pub fn roles(&self, cid: &str) -> impl Iterator<Item = &DomainRole> {
        self.builtin_roles.iter().chain(
            self.tenants
                .get(cid)
                .into_iter()
                .flat_map(|t| t.custom_roles.iter()),
        )
    }

    /// A role available in `cid`.
    pub fn role(&self, cid: &str, id: &str) -> Option<&DomainRole> {
        self.roles(cid).find(|r| r.id == id)
    }

    /// The roles of `cid` with these ids, and a 404 error entry per unknown id.
    pub fn lookup_roles(&self, cid: &str, ids: &[String]) -> (Vec<DomainRole>, Vec<MsaspecError>) {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for id in ids {
            match self.role(cid, id) {
                Some(role) => found.push(role.clone()),
                None => errors.push(MsaspecError {
                    code: 404,
                    id: Some(id.clone()),
                    message: format!("role {id} not found"),
                }),
            }
        }
        (found, errors)
    }

    /// Whether `cid` is the parent or one of its children.
    pub fn knows(&self, cid: &str) -> bool {
        self.tenants.contains_key(cid)
    }
}

impl Tenant {
    /// User UUIDs matching `filter`, sorted, one page, and the total number of matches.
    pub fn query(
        &self,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        offset: usize,
        limit: usize,
    ) -> (Vec<String>, usize) {
        let default_order = sort.is_none_or(|s| s.field == "uid");
        let descending = sort.is_some_and(|s| s.descending);
        if default_order && filter.is_none() {
            // Fast path: the uid index is already in order.
            let total = self.by_uid.len();
            let ids: Vec<String> = if descending {
                self.by_uid
                    .values()
                    .rev()
                    .skip(offset)
                    .take(limit)
                    .cloned()
                    .collect()
            } else {
                self.by_uid
                    .values()
                    .skip(offset)
                    .take(limit)
                    .cloned()
                    .collect()
            };
            return (ids, total);
        }
        let mut hits: Vec<&User> = self
            .by_uid
            .values()
            .filter_map(|uuid| self.users.get(uuid))
            .filter(|u| filter.is_none_or(|f| f.matches(|name| u.field(name))))
            .collect();
        if let Some(sort) = sort.filter(|s| s.field != "uid") {
            hits.sort_by(|a, b| {
                a.field(&sort.field)
                    .cmp(&b.field(&sort.field))
                    .then(a.uid.cmp(&b.uid))
            });
        }
        if descending {
            hits.reverse();
        }
        let total = hits.len();
        (
            hits.into_iter()
                .skip(offset)
                .take(limit)
                .map(|u| u.uuid.clone())
                .collect(),
            total,
        )
    }

    /// Adds a user; false if the login is taken.
    pub fn insert(&mut self, user: User) -> bool {
        if self.by_uid.contains_key(&user.uid) {
            return false;
        }
        self.by_uid.insert(user.uid.clone(), user.uuid.clone());
        self.users.insert(user.uuid.clone(), user);
        true
    }

    /// Removes a user and their grants.
    pub fn remove(&mut self, uuid: &str) -> Option<User> {
        let user = self.users.remove(uuid)?;
        self.by_uid.remove(&user.uid);
        self.grants.remove(uuid);
        Some(user)
    }
}

/// A grant in the spec's shape.
pub fn grant_resource(
    state: &State,
    user_uuid: &str,
    grant: &Grant,
) -> FlightcontrolapiCombinedUserRolesResourceV2 {
    let role_name = state
        .role(&grant.cid, &grant.role_id)
        .map(|r| r.display_name.clone());
    FlightcontrolapiCombinedUserRolesResourceV2 {
        cid: Some(grant.cid.clone()),
        cid_group_id: None,
        cid_group_name: None,
        expires_at: grant.expires_at.clone(),
        grant_type: Some("direct".into()),
        parent_cid: (grant.cid != state.parent_cid).then(|| state.parent_cid.clone()),
        role_id: grant.role_id.clone(),
        role_name,
        user_group_id: None,
        user_group_name: None,
        user_type: Some("internal".into()),
        uuid: Some(user_uuid.to_owned()),
    }
}

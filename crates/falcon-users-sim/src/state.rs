//! Tenants (CIDs) with their users, roles and grants, indexed for fast queries.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use falcon_users_api::types::{
    DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2, MsaspecError,
};

use crate::fql::{Filter, Sort};

pub mod fleet;

use fleet::{Fleet, LINK_GRANT_TYPE, LinkGrant};

/// A user as the simulator stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// `internal` (homed here), `external` or `partner`, as the service reports it.
    pub user_type: String,
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
            user_type: Some(self.user_type.clone()),
            uuid: Some(self.uuid.clone()),
            ..DomainUser::default()
        }
    }

    /// The value of a field the user record itself holds (the rest need the grants: see
    /// [`State::user_values`]).
    fn own_field(&self, name: &str) -> Option<&str> {
        Some(match name {
            "uid" => &self.uid,
            "uuid" => &self.uuid,
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "status" => &self.status,
            "user_type" => &self.user_type,
            "cid" => &self.cid,
            "created_at" => &self.created_at,
            "last_login_at" => &self.last_login_at,
            _ => return None,
        })
    }
}

/// A role held by a user in a CID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// The role.
    pub role_id: String,
    /// The CID it applies in.
    pub cid: String,
    /// When it ends (RFC 3339), if temporary.
    pub expires_at: Option<String>,
}

impl Grant {
    /// When it lapses, if it is temporary and its `expires_at` is RFC 3339.
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        let text = self.expires_at.as_deref()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// One CID.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// The CID.
    pub cid: String,
    /// The customer's name (what `cid_name` sorts by).
    pub name: String,
    /// Users by UUID.
    pub users: HashMap<String, User>,
    /// UUIDs by lower-case login, in login order (the default sort). Derived from `users`, so
    /// not saved: [`State::rebuild_indexes`] makes it again after loading.
    #[serde(skip)]
    pub by_uid: BTreeMap<String, String>,
    /// Grants by user UUID.
    pub grants: HashMap<String, Vec<Grant>>,
    /// Roles only this CID has (32-hex ids).
    pub custom_roles: Vec<DomainRole>,
}

/// Everything the simulator knows.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Tenants by CID.
    pub tenants: HashMap<String, Tenant>,
    /// Roles every CID has (text ids such as `falcon_console_guest`).
    pub builtin_roles: Vec<DomainRole>,
    /// The Flight Control parent.
    pub parent_cid: String,
    /// Its children, in creation order.
    pub child_cids: Vec<String>,
    /// The parent's Flight Control CID groups, user groups and links.
    #[serde(default, skip_serializing_if = "Fleet::is_empty")]
    pub fleet: Fleet,
    /// Writes that reads do not see yet, oldest first (a simulator with a read-after-write lag
    /// keeps them beside the tenants; see [`crate::SimConfig::read_lag`]). The tenants above
    /// already hold them: they are the true state, and these say what reads still see instead.
    /// Saved with the state, so that the next process serving it still lags; a simulator
    /// without a lag serves them at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingWrite>,
    /// How far the simulator's clock had been moved past real time when this state was taken,
    /// in milliseconds: a simulator serving it starts that far ahead too, so that its time
    /// (what [`PendingWrite::visible_at`], grant ends and creation times are compared with)
    /// goes on from where the last one left it instead of jumping back to real time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clock_advanced_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A write the reads of a lagging simulator do not see yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// When reads start seeing it, on the simulator's clock.
    pub visible_at: DateTime<Utc>,
    /// The records it changed.
    pub changes: Vec<Change>,
}

/// One record a write changed, with its value before and after: enough to show it (apply
/// `after`) when it becomes visible, and to work out what reads still see from the true state
/// (put back `before`, newest write first) after loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Change {
    /// A user record: created (`before` none), renamed, or deleted (`after` none).
    User {
        /// Their home CID.
        cid: String,
        /// Their UUID.
        uuid: String,
        /// The record before the write (boxed: a grant change, the common one, stays small).
        before: Option<Box<User>>,
        /// The record after it.
        after: Option<Box<User>>,
    },
    /// The grants a user holds in one CID (empty: none).
    Grants {
        /// The CID.
        cid: String,
        /// The user's UUID.
        uuid: String,
        /// The grants before the write.
        before: Vec<Grant>,
        /// The grants after it.
        after: Vec<Grant>,
    },
    /// The parent's Flight Control groups and links, whole (they change rarely, and a link's
    /// grants depend on all three at once).
    Fleet {
        /// The parent CID, which owns them.
        cid: String,
        /// The fleet before the write.
        before: Box<Fleet>,
        /// The fleet after it.
        after: Box<Fleet>,
    },
}

impl Change {
    /// The CID of the record it changed.
    pub fn cid(&self) -> &str {
        match self {
            Change::User { cid, .. } | Change::Grants { cid, .. } | Change::Fleet { cid, .. } => {
                cid
            }
        }
    }

    /// Whether `other` changed the same record.
    pub fn same_record(&self, other: &Change) -> bool {
        match (self, other) {
            (
                Change::User { cid, uuid, .. },
                Change::User {
                    cid: c, uuid: u, ..
                },
            )
            | (
                Change::Grants { cid, uuid, .. },
                Change::Grants {
                    cid: c, uuid: u, ..
                },
            ) => cid == c && uuid == u,
            (Change::Fleet { .. }, Change::Fleet { .. }) => true,
            _ => false,
        }
    }
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

    /// Whether `role` may be granted in `cid` to the user `uuid`: a built-in role, or a custom
    /// role of `cid` granted to a user homed there (a custom role belongs to the CID it was
    /// made in, and the service refuses it anywhere else, even to a parent's user acting in a
    /// child).
    pub fn grantable(&self, cid: &str, role: &str, uuid: &str) -> bool {
        if self.builtin_roles.iter().any(|r| r.id == role) {
            return self.knows(cid);
        }
        self.tenants.get(cid).is_some_and(|t| {
            t.custom_roles.iter().any(|r| r.id == role) && t.users.contains_key(uuid)
        })
    }

    /// The first of `roles` a grant (`grant`) or revoke of them for the user `uuid` in `cid`
    /// refuses: a revoke names roles the user may hold, a grant only roles it may give there.
    pub fn refused_role<'a>(
        &self,
        cid: &str,
        roles: &'a [String],
        uuid: &str,
        grant: bool,
    ) -> Option<&'a String> {
        roles.iter().find(|r| {
            if grant {
                !self.grantable(cid, r, uuid)
            } else {
                self.role(cid, r).is_none()
            }
        })
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

    /// The CIDs where `uuid` holds at least one grant, sorted.
    pub fn assigned_cids(&self, uuid: &str) -> BTreeSet<&str> {
        self.cids_with_grant(uuid, |_| true)
    }

    /// The CIDs where `uuid` holds a grant that expires, sorted.
    pub fn temporarily_assigned_cids(&self, uuid: &str) -> BTreeSet<&str> {
        self.cids_with_grant(uuid, |g| g.expires_at.is_some())
    }

    fn cids_with_grant(&self, uuid: &str, which: impl Fn(&Grant) -> bool) -> BTreeSet<&str> {
        self.tenants
            .values()
            .filter(|t| t.grants.get(uuid).is_some_and(|gs| gs.iter().any(&which)))
            .map(|t| t.cid.as_str())
            .collect()
    }

    /// The values of user-query field `field` for `user`: one for the record's own fields,
    /// any number for the CID lists, none for a field the user lacks. What the CID lists mean
    /// here, where every grant is direct (none comes through a CID group):
    ///
    /// - `assigned_cids`, `direct_assigned_cids`: the CIDs where the user holds a grant;
    /// - `non_ancestor_assigned_cids`: those but the Flight Control parent (the ancestor of
    ///   every child);
    /// - `associated_cids`: the home CID and the assigned ones;
    /// - `temporarily_assigned_cids`: the CIDs where a grant has an `expires_at`;
    /// - `has_temporary_roles`: `true` when that list is not empty, else `false`;
    /// - `factors`: the simulator has no MFA factors, so none;
    /// - `cid_name`: the home CID's customer name;
    /// - `name`: the whole name (`first last`), and the first and the last name each, so that
    ///   `name:'Ada Lovelace'`, `name:'Ada'` and `name:'Lovelace'` all find Ada Lovelace (the
    ///   spec lists `name` beside `first_name` and `last_name`: the person's name, not one part).
    pub fn user_values<'a>(&'a self, user: &'a User, field: &str) -> Vec<Cow<'a, str>> {
        let cids = |set: BTreeSet<&'a str>| set.into_iter().map(Cow::Borrowed).collect();
        match field {
            "assigned_cids" | "direct_assigned_cids" => cids(self.assigned_cids(&user.uuid)),
            "non_ancestor_assigned_cids" => {
                let mut set = self.assigned_cids(&user.uuid);
                set.remove(self.parent_cid.as_str());
                cids(set)
            }
            "associated_cids" => {
                let mut set = self.assigned_cids(&user.uuid);
                set.insert(user.cid.as_str());
                cids(set)
            }
            "temporarily_assigned_cids" => cids(self.temporarily_assigned_cids(&user.uuid)),
            "has_temporary_roles" => {
                let temporary = !self.temporarily_assigned_cids(&user.uuid).is_empty();
                vec![Cow::Borrowed(if temporary { "true" } else { "false" })]
            }
            "name" => vec![
                Cow::Owned(format!("{} {}", user.first_name, user.last_name)),
                Cow::Borrowed(user.first_name.as_str()),
                Cow::Borrowed(user.last_name.as_str()),
            ],
            "cid_name" => self
                .tenants
                .get(&user.cid)
                .map(|t| Cow::Borrowed(t.name.as_str()))
                .into_iter()
                .collect(),
            own => user.own_field(own).map(Cow::Borrowed).into_iter().collect(),
        }
    }

    /// UUIDs of the users homed in `cid` matching `filter`, sorted (by `uid` when `sort` is
    /// none, and within ties), one page, and the total number of matches.
    pub fn query_users(
        &self,
        cid: &str,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        offset: usize,
        limit: usize,
    ) -> (Vec<String>, usize) {
        let Some(tenant) = self.tenants.get(cid) else {
            return (Vec::new(), 0);
        };
        let default_order = sort.is_none_or(|s| s.field == "uid");
        let descending = sort.is_some_and(|s| s.descending);
        if default_order && filter.is_none() {
            // Fast path: the uid index is already in order.
            let total = tenant.by_uid.len();
            let ids = tenant.by_uid.values();
            let ids: Vec<String> = if descending {
                ids.rev().skip(offset).take(limit).cloned().collect()
            } else {
                ids.skip(offset).take(limit).cloned().collect()
            };
            return (ids, total);
        }
        let mut hits: Vec<&User> = tenant
            .by_uid
            .values()
            .filter_map(|uuid| tenant.users.get(uuid))
            .filter(|u| filter.is_none_or(|f| f.matches(|name| self.user_values(u, name))))
            .collect();
        if let Some(sort) = sort.filter(|s| s.field != "uid") {
            // A list sorts by its values joined; the uid breaks ties (hits are in uid order).
            hits.sort_by_cached_key(|u| self.user_values(u, &sort.field).join(","));
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

    /// Makes every tenant's derived indexes again from its users (after loading a saved state).
    pub fn rebuild_indexes(&mut self) {
        for tenant in self.tenants.values_mut() {
            tenant.rebuild_index();
        }
    }

    /// Drops every grant whose `expires_at` is at or before `now` (a temporary role lapses, as
    /// on the service), and answers when the next remaining one lapses.
    pub fn lapse_grants(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut next: Option<DateTime<Utc>> = None;
        for tenant in self.tenants.values_mut() {
            tenant.grants.retain(|_, held| {
                held.retain(|g| match g.expiry() {
                    Some(at) if at <= now => false,
                    Some(at) => {
                        next = Some(next.map_or(at, |n| n.min(at)));
                        true
                    }
                    None => true,
                });
                !held.is_empty()
            });
        }
        next
    }

    /// The user with login `uid` (any case), in whichever CID is their home.
    pub fn user_by_login(&self, uid: &str) -> Option<&User> {
        let uid = uid.to_lowercase();
        self.tenants
            .values()
            .find_map(|t| t.by_uid.get(&uid).and_then(|uuid| t.users.get(uuid)))
    }

    /// Every grant `uuid` holds, in any CID, sorted by CID then role.
    pub fn grants_of(&self, uuid: &str) -> Vec<Grant> {
        let mut all: Vec<Grant> = self
            .tenants
            .values()
            .filter_map(|t| t.grants.get(uuid))
            .flatten()
            .cloned()
            .collect();
        all.sort_by(|a, b| (&a.cid, &a.role_id).cmp(&(&b.cid, &b.role_id)));
        all
    }

    /// Every way the state contradicts itself, one sentence each, in CID order (none for a
    /// consistent state). The simulator relies on all of it, and a seeded or served state keeps
    /// it; a saved state edited by hand may not, so one is checked before it is served: the
    /// parent and each listed child have a tenant filed under their CID, and no other CID does;
    /// each user is filed under their UUID, in their home CID, with a lower-case login that no
    /// other user of that CID has (compared as the service does, ignoring case), and a UUID no
    /// other CID has; every grant is held by an existing user, in the CID it is filed under,
    /// of a role that CID has, at most once, and ends at an RFC 3339 time if it ends; custom
    /// role ids are unique in their CID and none is a built-in one.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let parent = self.parent_cid.as_str();
        if !self.tenants.contains_key(parent) {
            problems.push(format!("the parent CID {parent:?} has no tenant"));
        }
        let mut children = BTreeSet::new();
        for child in &self.child_cids {
            if child == parent {
                problems.push(format!("child CID {child} is the parent CID too"));
            } else if !children.insert(child.as_str()) {
                problems.push(format!("child CID {child} is listed twice"));
            } else if !self.tenants.contains_key(child) {
                problems.push(format!("child CID {child} has no tenant"));
            }
        }
        let mut cids: Vec<&String> = self.tenants.keys().collect();
        cids.sort();
        // Every user's home CID and login, by UUID: grants name users by UUID, in any CID.
        let mut homes: HashMap<&str, (&str, &str)> = HashMap::new();
        for &cid in &cids {
            let tenant = &self.tenants[cid];
            if tenant.cid != *cid {
                problems.push(format!(
                    "the tenant filed under CID {cid} says it is CID {}",
                    tenant.cid
                ));
            }
            if cid != parent && !children.contains(cid.as_str()) {
                problems.push(format!(
                    "CID {cid} has a tenant but is neither the parent nor a listed child"
                ));
            }
            let mut users: Vec<(&String, &User)> = tenant.users.iter().collect();
            users.sort_by(|a, b| (&a.1.uid, a.0).cmp(&(&b.1.uid, b.0)));
            let mut logins: BTreeMap<String, &str> = BTreeMap::new();
            for (key, user) in users {
                let uid = user.uid.as_str();
                if *key != user.uuid {
                    problems.push(format!(
                        "in CID {cid}, user {uid} is filed under UUID {key} but has UUID {}",
                        user.uuid
                    ));
                }
                if user.cid != *cid {
                    problems.push(format!(
                        "user {uid} is in CID {cid} but names CID {} as their home",
                        user.cid
                    ));
                }
                if user.uid != user.uid.to_lowercase() {
                    problems.push(format!("in CID {cid}, login {uid} is not lower case"));
                }
                if let Some(first) = logins.insert(user.uid.to_lowercase(), uid) {
                    problems.push(format!(
                        "in CID {cid}, login {uid} belongs to two users{}",
                        if first == uid {
                            String::new()
                        } else {
                            format!(" (also spelled {first})")
                        }
                    ));
                }
                if let Some((other, _)) = homes.insert(user.uuid.as_str(), (cid.as_str(), uid)) {
                    problems.push(format!(
                        "UUID {} is a user of CID {other} and of CID {cid}",
                        user.uuid
                    ));
                }
            }
            let mut custom = BTreeSet::new();
            for role in &tenant.custom_roles {
                if self.builtin_roles.iter().any(|b| b.id == role.id) {
                    problems.push(format!(
                        "in CID {cid}, custom role {} has the id of a built-in role",
                        role.id
                    ));
                } else if !custom.insert(role.id.as_str()) {
                    problems.push(format!(
                        "in CID {cid}, custom role {} is there twice",
                        role.id
                    ));
                }
            }
        }
        for &cid in &cids {
            let mut held: Vec<(&String, &Vec<Grant>)> = self.tenants[cid].grants.iter().collect();
            held.sort_by_key(|(uuid, _)| *uuid);
            for (uuid, grants) in held {
                let Some(&(_, uid)) = homes.get(uuid.as_str()) else {
                    problems.push(format!(
                        "in CID {cid}, {} held by UUID {uuid}, which is no user",
                        if grants.len() == 1 {
                            "a grant is"
                        } else {
                            "grants are"
                        }
                    ));
                    continue;
                };
                let mut roles = BTreeSet::new();
                for grant in grants {
                    let role = grant.role_id.as_str();
                    if grant.cid != *cid {
                        problems.push(format!(
                            "in CID {cid}, user {uid}'s grant of {role} names CID {}",
                            grant.cid
                        ));
                    }
                    if self.role(cid, role).is_none() {
                        problems.push(format!(
                            "in CID {cid}, user {uid} holds role {role}, which CID {cid} does not have"
                        ));
                    }
                    if !roles.insert(role) {
                        problems.push(format!("in CID {cid}, user {uid} holds role {role} twice"));
                    }
                    if let Some(text) = &grant.expires_at
                        && grant.expiry().is_none()
                    {
                        problems.push(format!(
                            "in CID {cid}, user {uid}'s grant of {role} ends at {text:?}, which is \
                             not an RFC 3339 time"
                        ));
                    }
                }
            }
        }
        problems.extend(self.fleet.problems(
            |cid| cid == parent || children.contains(cid),
            |uuid| {
                self.tenants
                    .get(parent)
                    .is_some_and(|t| t.users.contains_key(uuid))
            },
            |role| self.builtin_roles.iter().any(|r| r.id == role),
        ));
        for write in &self.pending {
            for change in &write.changes {
                if !self.tenants.contains_key(change.cid()) {
                    problems.push(format!(
                        "a write not visible yet changes CID {}, which has no tenant",
                        change.cid()
                    ));
                }
            }
        }
        problems
    }

    /// The user and grant records that differ between `before` and this state, each with both
    /// values, in CID then UUID order (users before grants), then the fleet if it differs.
    /// Tenants `before` lacks count as empty. It compares every record: O(users + grants), paid per write only by a simulator
    /// with a read-after-write lag.
    pub fn changes_since(&self, before: &State) -> Vec<Change> {
        let empty = Tenant::default();
        let mut cids: Vec<&String> = self.tenants.keys().collect();
        cids.sort();
        let mut changes = Vec::new();
        for cid in cids {
            let (now, then) = (
                &self.tenants[cid],
                before.tenants.get(cid).unwrap_or(&empty),
            );
            if now.users != then.users {
                let mut uuids: BTreeSet<&String> = now.users.keys().collect();
                uuids.extend(then.users.keys());
                for uuid in uuids {
                    let (after, was) = (now.users.get(uuid), then.users.get(uuid));
                    if after != was {
                        changes.push(Change::User {
                            cid: cid.clone(),
                            uuid: uuid.clone(),
                            before: was.cloned().map(Box::new),
                            after: after.cloned().map(Box::new),
                        });
                    }
                }
            }
            if now.grants != then.grants {
                let mut uuids: BTreeSet<&String> = now.grants.keys().collect();
                uuids.extend(then.grants.keys());
                let held =
                    |t: &'_ Tenant, uuid: &str| t.grants.get(uuid).cloned().unwrap_or_default();
                for uuid in uuids {
                    let (after, was) = (held(now, uuid), held(then, uuid));
                    if after != was {
                        changes.push(Change::Grants {
                            cid: cid.clone(),
                            uuid: uuid.clone(),
                            before: was,
                            after,
                        });
                    }
                }
            }
        }
        if self.fleet != before.fleet {
            changes.push(Change::Fleet {
                cid: self.parent_cid.clone(),
                before: Box::new(before.fleet.clone()),
                after: Box::new(self.fleet.clone()),
            });
        }
        changes
    }

    /// Sets the record `change` names to its value after the write (`forward`) or before it.
    /// A CID without a tenant is skipped ([`State::problems`] names it in a loaded state).
    pub fn apply(&mut self, change: &Change, forward: bool) {
        if let Change::Fleet { before, after, .. } = change {
            self.fleet = Fleet::clone(if forward { after } else { before });
            return;
        }
        let Some(tenant) = self.tenants.get_mut(change.cid()) else {
            return;
        };
        match change {
            Change::User {
                uuid,
                before,
                after,
                ..
            } => {
                if let Some(old) = tenant.users.remove(uuid) {
                    tenant.by_uid.remove(&old.uid);
                }
                if let Some(user) = if forward { after } else { before } {
                    tenant.by_uid.insert(user.uid.clone(), uuid.clone());
                    tenant.users.insert(uuid.clone(), User::clone(user));
                }
            }
            Change::Grants {
                uuid,
                before,
                after,
                ..
            } => {
                let grants = if forward { after } else { before };
                if grants.is_empty() {
                    tenant.grants.remove(uuid);
                } else {
                    tenant.grants.insert(uuid.clone(), grants.clone());
                }
            }
            Change::Fleet { .. } => {}
        }
    }

    /// Deletes a user homed in `cid`, with the grants they hold anywhere (Flight Control
    /// children too) and their places in user groups.
    pub fn remove_user(&mut self, cid: &str, uuid: &str) -> Option<User> {
        let user = self.tenants.get_mut(cid)?.remove(uuid)?;
        for tenant in self.tenants.values_mut() {
            tenant.grants.remove(uuid);
        }
        self.fleet.forget_user(uuid);
        Some(user)
    }
}

impl Tenant {
    /// Makes `by_uid` again from `users` (after loading a saved state).
    pub fn rebuild_index(&mut self) {
        self.by_uid = self
            .users
            .values()
            .map(|u| (u.uid.clone(), u.uuid.clone()))
            .collect();
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

/// A role held through a Flight Control link, in the grants listings' shape: the source
/// fields name the link's groups, `parent_cid` the parent whose link gives it.
pub fn link_grant_resource(
    state: &State,
    user_uuid: &str,
    cid: &str,
    grant: &LinkGrant<'_>,
) -> FlightcontrolapiCombinedUserRolesResourceV2 {
    FlightcontrolapiCombinedUserRolesResourceV2 {
        cid: Some(cid.to_owned()),
        cid_group_id: Some(grant.cid_group.id.clone()),
        cid_group_name: Some(grant.cid_group.name.clone()),
        expires_at: None,
        grant_type: Some(LINK_GRANT_TYPE.into()),
        parent_cid: Some(state.parent_cid.clone()),
        role_id: grant.role_id.to_owned(),
        role_name: state
            .role(cid, grant.role_id)
            .map(|r| r.display_name.clone()),
        user_group_id: Some(grant.user_group.id.clone()),
        user_group_name: Some(grant.user_group.name.clone()),
        user_type: Some("internal".into()),
        uuid: Some(user_uuid.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    /// A seeded tenant: a parent, two children, users with grants in each, custom roles.
    fn seeded() -> State {
        let config = SimConfig {
            users: 12,
            child_cids: 2,
            ..SimConfig::default()
        };
        let mut state = crate::tenant_gen::tenant(&config, Utc::now());
        state.rebuild_indexes();
        state
    }

    /// A user of `cid` who holds at least one grant there.
    fn granted_user(state: &State, cid: &str) -> String {
        let tenant = &state.tenants[cid];
        let mut uuids: Vec<&String> = tenant
            .users
            .keys()
            .filter(|u| tenant.grants.contains_key(*u))
            .collect();
        uuids.sort();
        uuids[0].clone()
    }

    #[test]
    fn every_contradiction_of_a_hand_edited_state_is_found() {
        type Edit = fn(&mut State);
        let cases: &[(&str, Edit, &str)] = &[
            ("nothing changed", |_| {}, ""),
            (
                "a child without its tenant",
                |s| {
                    let child = s.child_cids[1].clone();
                    s.tenants.remove(&child);
                },
                "has no tenant",
            ),
            (
                "a missing parent",
                |s| s.parent_cid = "f".repeat(32),
                "the parent CID \"ffffffffffffffffffffffffffffffff\" has no tenant",
            ),
            (
                "a child listed twice",
                |s| s.child_cids.push(s.child_cids[0].clone()),
                "is listed twice",
            ),
            (
                "a tenant no one lists",
                |s| {
                    s.child_cids.pop();
                },
                "has a tenant but is neither the parent nor a listed child",
            ),
            (
                "a login twice in one CID, in another case",
                |s| {
                    let parent = s.parent_cid.clone();
                    let tenant = s.tenants.get_mut(&parent).unwrap();
                    let mut twin = tenant.users.values().next().unwrap().clone();
                    twin.uuid = "0".repeat(32);
                    twin.uid = twin.uid.to_uppercase();
                    tenant.users.insert(twin.uuid.clone(), twin);
                },
                "belongs to two users (also spelled",
            ),
            (
                "a grant for an unknown user",
                |s| {
                    let parent = s.parent_cid.clone();
                    let tenant = s.tenants.get_mut(&parent).unwrap();
                    let grants = tenant.grants.values().next().unwrap().clone();
                    tenant.grants.insert("nobody".into(), grants);
                },
                "held by UUID nobody, which is no user",
            ),
            (
                "a grant of a role the CID does not have",
                |s| {
                    let parent = s.parent_cid.clone();
                    let uuid = granted_user(s, &parent);
                    let grants = s.tenants.get_mut(&parent).unwrap().grants.get_mut(&uuid);
                    grants.unwrap()[0].role_id = "made_up".into();
                },
                "holds role made_up, which CID",
            ),
            (
                "a grant filed under one CID naming another",
                |s| {
                    let (parent, child) = (s.parent_cid.clone(), s.child_cids[0].clone());
                    let uuid = granted_user(s, &parent);
                    let grants = s.tenants.get_mut(&parent).unwrap().grants.get_mut(&uuid);
                    grants.unwrap()[0].cid = child;
                },
                "names CID",
            ),
            (
                "a role held twice",
                |s| {
                    let parent = s.parent_cid.clone();
                    let uuid = granted_user(s, &parent);
                    let grants = s.tenants.get_mut(&parent).unwrap().grants.get_mut(&uuid);
                    let grants = grants.unwrap();
                    grants.push(grants[0].clone());
                },
                "twice",
            ),
            (
                "an end that is no time",
                |s| {
                    let parent = s.parent_cid.clone();
                    let uuid = granted_user(s, &parent);
                    let grants = s.tenants.get_mut(&parent).unwrap().grants.get_mut(&uuid);
                    grants.unwrap()[0].expires_at = Some("tomorrow".into());
                },
                "ends at \"tomorrow\", which is not an RFC 3339 time",
            ),
            (
                "a user homed elsewhere",
                |s| {
                    let (parent, child) = (s.parent_cid.clone(), s.child_cids[0].clone());
                    let tenant = s.tenants.get_mut(&parent).unwrap();
                    tenant.users.values_mut().next().unwrap().cid = child;
                },
                "as their home",
            ),
            (
                "a user filed under another UUID",
                |s| {
                    let parent = s.parent_cid.clone();
                    let tenant = s.tenants.get_mut(&parent).unwrap();
                    let key = tenant.users.keys().next().unwrap().clone();
                    let mut user = tenant.users.remove(&key).unwrap();
                    user.uuid = "1".repeat(32);
                    tenant.users.insert(key, user);
                },
                "is filed under UUID",
            ),
            (
                "a user group member who is no user of the parent",
                |s| {
                    let child = s.child_cids[0].clone();
                    let child_user = s.tenants[&child].users.keys().next().unwrap().clone();
                    s.fleet.user_groups.insert(
                        "ug".into(),
                        fleet::UserGroup {
                            id: "ug".into(),
                            name: "Analysts".into(),
                            description: String::new(),
                            members: [child_user].into(),
                            modified_at: Utc::now(),
                        },
                    );
                },
                "user group ug has member",
            ),
            (
                "a custom role twice",
                |s| {
                    let child = s.child_cids[0].clone();
                    let roles = &mut s.tenants.get_mut(&child).unwrap().custom_roles;
                    roles.push(roles[0].clone());
                },
                "is there twice",
            ),
        ];
        for (what, edit, expected) in cases {
            let mut state = seeded();
            edit(&mut state);
            let problems = state.problems();
            if expected.is_empty() {
                assert_eq!(problems, Vec::<String>::new(), "{what}");
            } else {
                assert!(
                    problems.iter().any(|p| p.contains(expected)),
                    "{what}: {problems:#?}"
                );
            }
        }
    }

    /// Several contradictions are all reported, not only the first.
    #[test]
    fn every_problem_is_reported() {
        let mut state = seeded();
        let child = state.child_cids[0].clone();
        state.tenants.remove(&child);
        let parent = state.parent_cid.clone();
        let tenant = state.tenants.get_mut(&parent).unwrap();
        tenant.grants.insert("ghost".into(), Vec::new());
        let user = tenant.users.values_mut().next().unwrap();
        user.uid = user.uid.to_uppercase();
        let problems = state.problems();
        assert!(problems.len() >= 3, "{problems:#?}");
        for expected in ["has no tenant", "UUID ghost", "is not lower case"] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{problems:#?}"
            );
        }
    }
}

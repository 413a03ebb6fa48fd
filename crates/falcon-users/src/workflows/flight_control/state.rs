//! What a fleet plan starts from: the Flight Control user groups, CID groups and links of a
//! parent CID as read ([`FleetState`], ids and UUIDs as the service gives them), and the same
//! normalised for planning ([`FleetModel`]: groups by name, members by login).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::workflows::roster::Origin;

pub use crate::ops::flight_control::{CidGroup, GroupKind, Link, UserGroup};

/// A parent CID's Flight Control access as read, with what a plan needs to resolve a file
/// against it: the parent's users (members are given by login), its children (CID groups hold
/// only children), the roles links may give, and where it was read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetState {
    /// Where it was read: a plan of it records this, and an apply of that plan checks it.
    pub origin: Origin,
    /// Every user group.
    pub user_groups: Vec<UserGroup>,
    /// Every CID group.
    pub cid_groups: Vec<CidGroup>,
    /// Every link with at least one role.
    pub links: Vec<Link>,
    /// The parent's users: UUID → lower-case login.
    pub users: BTreeMap<String, String>,
    /// The children, with their names when the service gives them.
    pub children: BTreeMap<Cid, Option<String>>,
    /// The roles a link may give.
    pub catalogue: Catalogue,
}

/// A group as a plan sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group<M: Ord> {
    /// Its id (`None`: not created yet).
    pub id: Option<String>,
    /// Its description (empty: none).
    pub description: String,
    /// Its members: logins (a UUID for a member who is not one of the parent's users) for a
    /// user group, CIDs for a CID group.
    pub members: BTreeSet<M>,
}

impl<M: Ord> Default for Group<M> {
    fn default() -> Self {
        Self {
            id: None,
            description: String::new(),
            members: BTreeSet::new(),
        }
    }
}

/// The links of a model: user group name → CID group name → role ids (never empty).
pub type Links = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Flight Control access as a plan compares it: groups by name, user group members by login,
/// links by the two groups' names. Both ends of a plan are one ([`FleetPlan`](super::FleetPlan)
/// saves them), and so is the state an apply reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetModel {
    /// User groups by name.
    pub user_groups: BTreeMap<String, Group<String>>,
    /// CID groups by name.
    pub cid_groups: BTreeMap<String, Group<Cid>>,
    /// The links.
    pub links: Links,
}

impl FleetModel {
    /// The name of the group of `kind` with id `id`.
    pub fn name_of(&self, kind: GroupKind, id: &str) -> Option<&str> {
        let same = |g: &Option<String>| g.as_deref() == Some(id);
        match kind {
            GroupKind::User => self
                .user_groups
                .iter()
                .find(|(_, g)| same(&g.id))
                .map(|(n, _)| n.as_str()),
            GroupKind::Cid => self
                .cid_groups
                .iter()
                .find(|(_, g)| same(&g.id))
                .map(|(n, _)| n.as_str()),
        }
    }

    /// Whether a group of `kind` is named `name`, and its id.
    pub fn group(&self, kind: GroupKind, name: &str) -> Option<(Option<&str>, &str)> {
        match kind {
            GroupKind::User => self
                .user_groups
                .get(name)
                .map(|g| (g.id.as_deref(), g.description.as_str())),
            GroupKind::Cid => self
                .cid_groups
                .get(name)
                .map(|g| (g.id.as_deref(), g.description.as_str())),
        }
    }

    /// The members of the group of `kind` named `name`, as text (logins or UUIDs; CIDs).
    pub fn members(&self, kind: GroupKind, name: &str) -> BTreeSet<String> {
        match kind {
            GroupKind::User => self
                .user_groups
                .get(name)
                .map(|g| g.members.clone())
                .unwrap_or_default(),
            GroupKind::Cid => self
                .cid_groups
                .get(name)
                .map(|g| g.members.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default(),
        }
    }

    /// The roles of the link of the user group `user` and CID group `cid` (empty: no link).
    pub fn link(&self, user: &str, cid: &str) -> BTreeSet<String> {
        self.links
            .get(user)
            .and_then(|l| l.get(cid))
            .cloned()
            .unwrap_or_default()
    }
}

impl FleetState {
    /// The state as a plan compares it. Refused when two groups of a kind share a name (a
    /// file names groups by name, so it could not tell them apart).
    pub fn model(&self) -> Result<FleetModel> {
        let mut model = FleetModel::default();
        let mut user_names = BTreeMap::new();
        for group in &self.user_groups {
            let members = group
                .members
                .iter()
                .map(|uuid| {
                    self.users
                        .get(uuid)
                        .cloned()
                        .unwrap_or_else(|| uuid.clone())
                })
                .collect();
            if let Some(other) = user_names.insert(group.name.clone(), group.id.clone()) {
                return Err(same_name(GroupKind::User, &group.name, &other, &group.id));
            }
            model.user_groups.insert(
                group.name.clone(),
                Group {
                    id: Some(group.id.clone()),
                    description: group.description.clone(),
                    members,
                },
            );
        }
        let mut cid_names = BTreeMap::new();
        for group in &self.cid_groups {
            if let Some(other) = cid_names.insert(group.name.clone(), group.id.clone()) {
                return Err(same_name(GroupKind::Cid, &group.name, &other, &group.id));
            }
            model.cid_groups.insert(
                group.name.clone(),
                Group {
                    id: Some(group.id.clone()),
                    description: group.description.clone(),
                    members: group.cids.clone(),
                },
            );
        }
        let name = |names: &BTreeMap<String, String>, id: &str| {
            names
                .iter()
                .find(|(_, i)| i.as_str() == id)
                .map_or_else(|| id.to_owned(), |(n, _)| n.clone())
        };
        for link in self.links.iter().filter(|l| !l.roles.is_empty()) {
            model
                .links
                .entry(name(&user_names, &link.user_group_id))
                .or_default()
                .entry(name(&cid_names, &link.cid_group_id))
                .or_default()
                .extend(link.roles.iter().cloned());
        }
        Ok(model)
    }

    /// Whether a CID group may hold `cid`: the parent itself, or one of its children.
    pub fn is_fleet_cid(&self, cid: &Cid) -> bool {
        self.children.contains_key(cid) || self.origin.cid.as_ref() == Some(cid)
    }

    /// The parent's users indexed by login and by UUID, built once: resolving every member of
    /// a file is then one look-up each, not a scan of the users each.
    pub fn user_index(&self) -> UserIndex<'_> {
        UserIndex {
            by_login: self
                .users
                .iter()
                .map(|(uuid, login)| (login.to_lowercase(), uuid.as_str()))
                .collect(),
            by_uuid: self
                .users
                .keys()
                .map(|uuid| (uuid.to_lowercase(), uuid.as_str()))
                .collect(),
        }
    }
}

/// The parent's users by lower-case login and by lower-case UUID
/// ([`FleetState::user_index`]).
#[derive(Debug)]
pub struct UserIndex<'a> {
    by_login: HashMap<String, &'a str>,
    by_uuid: HashMap<String, &'a str>,
}

impl<'a> UserIndex<'a> {
    /// The UUID of the parent's user with login `member` (any case), or `member` itself when it
    /// is the UUID of one.
    pub fn uuid_of(&self, member: &str) -> Option<&'a str> {
        let lower = member.to_lowercase();
        self.by_login
            .get(&lower)
            .or_else(|| self.by_uuid.get(&lower))
            .copied()
    }
}

fn same_name(kind: GroupKind, name: &str, a: &str, b: &str) -> Error {
    Error::PlanRefused {
        reason: format!(
            "two {kind}s are named {name:?} (ids {a} and {b}); a fleet file names groups by \
             name: rename one in the console first"
        ),
    }
}

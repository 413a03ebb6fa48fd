//! Flight Control's groups: CID groups (sets of the parent's and its children's CIDs), user
//! groups (sets of the parent's users) and the links between them, each giving the members of
//! a user group roles in every CID of a CID group. A parent's fleet, as its `mssp` operations
//! change it and the grants listings show it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most CID groups a parent holds (the reference: `createCIDGroups`).
pub const MAX_CID_GROUPS: usize = 500;
/// Most user groups a customer holds (the reference: `createUserGroups`).
pub const MAX_USER_GROUPS: usize = 500;
/// Most members of one user group (the reference: `addUserGroupMembers`).
pub const MAX_USER_GROUP_MEMBERS: usize = 500;
/// Longest group name or description taken (the simulator's bound on every name it keeps).
pub const MAX_TEXT: usize = 256;

/// The `grant_type` of a role held through a link (a guess: `spec/CURATION.md`, *Guesses*).
pub const LINK_GRANT_TYPE: &str = "flight_control";

/// The parent's Flight Control groups and links.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// CID groups by id.
    #[serde(default)]
    pub cid_groups: BTreeMap<String, CidGroup>,
    /// User groups by id.
    #[serde(default)]
    pub user_groups: BTreeMap<String, UserGroup>,
    /// Links by id ([`link_id`]).
    #[serde(default)]
    pub links: BTreeMap<String, Link>,
}

/// A named set of CIDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CidGroup {
    /// 32 hex characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Free text, may be empty.
    pub description: String,
    /// Member CIDs (bare, lower case): the parent or its children.
    pub cids: BTreeSet<String>,
    /// When it, or its members, last changed.
    pub modified_at: DateTime<Utc>,
}

/// A named set of the parent's users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    /// 32 hex characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Free text, may be empty.
    pub description: String,
    /// Member user UUIDs (users homed in the parent).
    pub members: BTreeSet<String>,
    /// When it, or its members, last changed.
    pub modified_at: DateTime<Utc>,
}

/// A user group linked to a CID group with roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// [`link_id`] of its two groups.
    pub id: String,
    /// The user group.
    pub user_group_id: String,
    /// The CID group.
    pub cid_group_id: String,
    /// The roles it gives (built-in role ids).
    pub role_ids: BTreeSet<String>,
    /// When its roles last changed.
    pub modified_at: DateTime<Utc>,
}

/// The id of the link between two groups: `<user group id>:<CID group id>`, the shape PSFalcon
/// checks (the service says to treat it as opaque).
pub fn link_id(user_group_id: &str, cid_group_id: &str) -> String {
    format!("{user_group_id}:{cid_group_id}")
}

/// One role a user holds in a CID through a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkGrant<'a> {
    /// The role.
    pub role_id: &'a str,
    /// The link's user group.
    pub user_group: &'a UserGroup,
    /// The link's CID group.
    pub cid_group: &'a CidGroup,
}

impl Fleet {
    /// Whether there is nothing (a tenant without Flight Control groups saves no `fleet`).
    pub fn is_empty(&self) -> bool {
        self.cid_groups.is_empty() && self.user_groups.is_empty() && self.links.is_empty()
    }

    /// The roles `uuid` holds in `cid` through links, by link then role: one per (link, role)
    /// whose user group has the user and whose CID group has the CID.
    pub fn link_grants<'a>(&'a self, uuid: &'a str, cid: &'a str) -> Vec<LinkGrant<'a>> {
        self.links
            .values()
            .filter_map(|link| {
                let users = self.user_groups.get(&link.user_group_id)?;
                let cids = self.cid_groups.get(&link.cid_group_id)?;
                (users.members.contains(uuid) && cids.cids.contains(cid))
                    .then_some((link, users, cids))
            })
            .flat_map(|(link, user_group, cid_group)| {
                link.role_ids.iter().map(move |role_id| LinkGrant {
                    role_id,
                    user_group,
                    cid_group,
                })
            })
            .collect()
    }

    /// Takes a deleted user out of every user group.
    pub fn forget_user(&mut self, uuid: &str) {
        for group in self.user_groups.values_mut() {
            group.members.remove(uuid);
        }
    }

    /// Deletes a user group and its links.
    pub fn remove_user_group(&mut self, id: &str) -> Option<UserGroup> {
        let group = self.user_groups.remove(id)?;
        self.links.retain(|_, l| l.user_group_id != id);
        Some(group)
    }

    /// Deletes a CID group and its links.
    pub fn remove_cid_group(&mut self, id: &str) -> Option<CidGroup> {
        let group = self.cid_groups.remove(id)?;
        self.links.retain(|_, l| l.cid_group_id != id);
        Some(group)
    }

    /// Every way the fleet contradicts itself or the tenant, one sentence each: groups filed
    /// under their ids, member CIDs that are the parent or a child (`is_fleet_cid`), members
    /// that are users of the parent (`is_parent_user`), links filed under their id, between
    /// groups that exist, giving roles every CID has (`is_builtin_role`), and the limits.
    pub fn problems(
        &self,
        is_fleet_cid: impl Fn(&str) -> bool,
        is_parent_user: impl Fn(&str) -> bool,
        is_builtin_role: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if self.cid_groups.len() > MAX_CID_GROUPS {
            problems.push(format!(
                "{} CID groups, more than the {MAX_CID_GROUPS} a parent may have",
                self.cid_groups.len()
            ));
        }
        if self.user_groups.len() > MAX_USER_GROUPS {
            problems.push(format!(
                "{} user groups, more than the {MAX_USER_GROUPS} a customer may have",
                self.user_groups.len()
            ));
        }
        for (key, group) in &self.cid_groups {
            if *key != group.id {
                problems.push(format!("CID group {} is filed under id {key}", group.id));
            }
            for cid in group.cids.iter().filter(|c| !is_fleet_cid(c)) {
                problems.push(format!(
                    "CID group {key} has CID {cid}, which is neither the parent nor a child"
                ));
            }
        }
        for (key, group) in &self.user_groups {
            if *key != group.id {
                problems.push(format!("user group {} is filed under id {key}", group.id));
            }
            if group.members.len() > MAX_USER_GROUP_MEMBERS {
                problems.push(format!(
                    "user group {key} has {} members, more than {MAX_USER_GROUP_MEMBERS}",
                    group.members.len()
                ));
            }
            for uuid in group.members.iter().filter(|u| !is_parent_user(u)) {
                problems.push(format!(
                    "user group {key} has member {uuid}, who is no user of the parent"
                ));
            }
        }
        for (key, link) in &self.links {
            if *key != link_id(&link.user_group_id, &link.cid_group_id) || link.id != *key {
                problems.push(format!(
                    "link {key} does not join user group {} and CID group {}",
                    link.user_group_id, link.cid_group_id
                ));
            }
            if !self.user_groups.contains_key(&link.user_group_id) {
                problems.push(format!(
                    "link {key} names user group {}, which does not exist",
                    link.user_group_id
                ));
            }
            if !self.cid_groups.contains_key(&link.cid_group_id) {
                problems.push(format!(
                    "link {key} names CID group {}, which does not exist",
                    link.cid_group_id
                ));
            }
            for role in link.role_ids.iter().filter(|r| !is_builtin_role(r)) {
                problems.push(format!(
                    "link {key} gives role {role}, which is not a built-in role"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Fleet {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        for (id, members) in [("ug1", ["u1", "u2"]), ("ug2", ["u2", "u3"])] {
            fleet.user_groups.insert(
                id.into(),
                UserGroup {
                    id: id.into(),
                    name: id.into(),
                    description: String::new(),
                    members: members.iter().map(|m| (*m).to_owned()).collect(),
                    modified_at: now,
                },
            );
        }
        fleet.cid_groups.insert(
            "cg1".into(),
            CidGroup {
                id: "cg1".into(),
                name: "cg1".into(),
                description: String::new(),
                cids: ["c1".to_owned(), "c2".to_owned()].into(),
                modified_at: now,
            },
        );
        for (ug, roles) in [("ug1", vec!["a", "b"]), ("ug2", vec!["b"])] {
            fleet.links.insert(
                link_id(ug, "cg1"),
                Link {
                    id: link_id(ug, "cg1"),
                    user_group_id: ug.into(),
                    cid_group_id: "cg1".into(),
                    role_ids: roles.into_iter().map(str::to_owned).collect(),
                    modified_at: now,
                },
            );
        }
        fleet
    }

    fn roles(grants: &[LinkGrant<'_>]) -> Vec<(String, String)> {
        grants
            .iter()
            .map(|g| (g.user_group.id.clone(), g.role_id.to_owned()))
            .collect()
    }

    #[test]
    fn a_user_holds_each_role_of_each_link_of_their_groups_in_the_linked_cids_only() {
        let fleet = fleet();
        let pairs = |uuid, cid| roles(&fleet.link_grants(uuid, cid));
        assert_eq!(
            pairs("u2", "c1"),
            [
                ("ug1".into(), "a".into()),
                ("ug1".into(), "b".into()),
                ("ug2".into(), "b".into())
            ]
        );
        assert_eq!(
            pairs("u1", "c2"),
            [("ug1".into(), "a".into()), ("ug1".into(), "b".into())]
        );
        assert!(pairs("u1", "c3").is_empty(), "not in the CID group");
        assert!(pairs("u4", "c1").is_empty(), "in no user group");
    }

    #[test]
    fn deleting_a_group_takes_its_links_and_a_deleted_user_leaves_every_group() {
        let mut fleet = fleet();
        fleet.forget_user("u2");
        assert!(fleet.link_grants("u2", "c1").is_empty());
        fleet.remove_user_group("ug1");
        assert_eq!(fleet.links.len(), 1);
        fleet.remove_cid_group("cg1");
        assert!(fleet.links.is_empty());
        assert!(fleet.link_grants("u3", "c1").is_empty());
    }

    #[test]
    fn a_fleet_that_contradicts_its_tenant_names_each_problem() {
        let mut fleet = fleet();
        fleet
            .links
            .get_mut(&link_id("ug2", "cg1"))
            .unwrap()
            .user_group_id = "gone".into();
        let problems = fleet.problems(|c| c != "c2", |u| u != "u3", |r| r != "b");
        for expected in [
            "CID group cg1 has CID c2, which is neither the parent nor a child",
            "user group ug2 has member u3, who is no user of the parent",
            "names user group gone, which does not exist",
            "gives role b, which is not a built-in role",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:#?}"
            );
        }
        assert!(
            self::fleet()
                .problems(|_| true, |_| true, |_| true)
                .is_empty()
        );
    }
}

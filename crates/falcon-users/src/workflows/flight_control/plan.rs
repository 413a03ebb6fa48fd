//! Planning: from the file and the state as read, the steps that make the state match, and
//! their effect on access, as pure functions ([`steps`], [`effect`]). A plan keeps both ends
//! (`before`, `after`), so the same functions tell an interrupted apply what is left to do and
//! [`position`] tells whether the state read now still lies between them.
//!
//! Steps go in four phases, so that access is never broader mid-way than at either end:
//! 1. create and rename groups, change descriptions (no access changes: a new group is empty);
//! 2. narrow: take roles off links (dissolving links left without one), remove members and CIDs;
//! 3. widen: add members and CIDs, add roles to links (creating links);
//! 4. delete the groups the file no longer declares (their links are gone by then).
//!
//! The price: a user moved from one group to another that gives the same role loses it between
//! phases 2 and 3, and regains it at the end.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, FileProblem, Result};
use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::workflows::flight_control::doc::{FleetFile, Item};
use crate::workflows::flight_control::state::{FleetModel, FleetState, Group, GroupKind};
use crate::workflows::roster::{Guardrails, Origin};

/// The version of the saved fleet plan format; an apply refuses any other.
pub const FLEET_PLAN_VERSION: u32 = 1;

/// One request-sized step of a fleet plan. Groups are named as they are named when the step
/// runs (a renamed group by its new name: renames come first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Create an (empty) group.
    CreateGroup {
        /// Which kind.
        kind: GroupKind,
        /// Its name.
        name: String,
        /// Its description.
        description: String,
    },
    /// Rename a group or change its description.
    UpdateGroup {
        /// Which kind.
        kind: GroupKind,
        /// Its id.
        id: String,
        /// Its name as read.
        name: String,
        /// Its name after.
        new_name: String,
        /// Its description after.
        description: String,
    },
    /// Take roles off a link that keeps others (`deletedRoles` with `role_ids`).
    RemoveRoles {
        /// The user group.
        user_group: String,
        /// The CID group.
        cid_group: String,
        /// The role ids.
        roles: Vec<String>,
    },
    /// Dissolve a link (`deletedRoles` without `role_ids`).
    DissolveLink {
        /// The user group.
        user_group: String,
        /// The CID group.
        cid_group: String,
    },
    /// Remove members (logins or UUIDs; CIDs) from a group.
    RemoveMembers {
        /// Which kind.
        kind: GroupKind,
        /// The group.
        group: String,
        /// The members.
        members: Vec<String>,
    },
    /// Add members (logins; CIDs) to a group.
    AddMembers {
        /// Which kind.
        kind: GroupKind,
        /// The group.
        group: String,
        /// The members.
        members: Vec<String>,
    },
    /// Add roles to a link, creating it when absent (`addRole`).
    AddRoles {
        /// The user group.
        user_group: String,
        /// The CID group.
        cid_group: String,
        /// The role ids.
        roles: Vec<String>,
    },
    /// Delete a group.
    DeleteGroup {
        /// Which kind.
        kind: GroupKind,
        /// Its id.
        id: String,
        /// Its name.
        name: String,
    },
}

impl Step {
    /// What the step is about, as the journal names it: `user group NAME`, `CID group NAME`,
    /// `link USER × CID`.
    pub fn subject(&self) -> String {
        match self {
            Step::CreateGroup { kind, name, .. }
            | Step::UpdateGroup {
                kind,
                new_name: name,
                ..
            }
            | Step::DeleteGroup { kind, name, .. }
            | Step::RemoveMembers {
                kind, group: name, ..
            }
            | Step::AddMembers {
                kind, group: name, ..
            } => format!("{kind} {name}"),
            Step::RemoveRoles {
                user_group,
                cid_group,
                ..
            }
            | Step::DissolveLink {
                user_group,
                cid_group,
            }
            | Step::AddRoles {
                user_group,
                cid_group,
                ..
            } => format!("link {user_group} × {cid_group}"),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::CreateGroup { kind, name, .. } => write!(f, "create {kind} {name:?}"),
            Step::UpdateGroup {
                kind,
                name,
                new_name,
                ..
            } if name != new_name => write!(f, "rename {kind} {name:?} to {new_name:?}"),
            Step::UpdateGroup { kind, name, .. } => {
                write!(f, "change the description of {kind} {name:?}")
            }
            Step::RemoveRoles {
                user_group,
                cid_group,
                roles,
            } => write!(
                f,
                "remove {} from link {user_group:?} × {cid_group:?}",
                roles.join(", ")
            ),
            Step::DissolveLink {
                user_group,
                cid_group,
            } => write!(f, "dissolve link {user_group:?} × {cid_group:?}"),
            Step::RemoveMembers {
                kind,
                group,
                members,
            } => write!(f, "remove {} from {kind} {group:?}", members.join(", ")),
            Step::AddMembers {
                kind,
                group,
                members,
            } => write!(f, "add {} to {kind} {group:?}", members.join(", ")),
            Step::AddRoles {
                user_group,
                cid_group,
                roles,
            } => write!(
                f,
                "add {} to link {user_group:?} × {cid_group:?}",
                roles.join(", ")
            ),
            Step::DeleteGroup { kind, name, .. } => write!(f, "delete {kind} {name:?}"),
        }
    }
}

/// The effect of a plan on one user in one child: the roles gained and lost through links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessChange {
    /// The user (login, or UUID for a member who is not one of the parent's users).
    pub user: String,
    /// The child.
    pub cid: Cid,
    /// Role ids gained.
    pub gained: Vec<String>,
    /// Role ids lost.
    pub lost: Vec<String>,
}

/// A fleet plan: both ends, the steps between them and their effect on access, with where it
/// was made, ready to save as JSON and apply later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetPlan {
    /// [`FLEET_PLAN_VERSION`].
    pub plan_version: u32,
    /// When the state was read.
    pub created_at: DateTime<Utc>,
    /// The version of the library that made it.
    pub tool_version: String,
    /// Where it was made: an apply elsewhere is refused.
    pub made_against: Origin,
    /// The limits it was made with (an apply checks its own).
    pub guardrails: Guardrails,
    /// The state as read.
    pub before: FleetModel,
    /// The state the file asks for.
    pub after: FleetModel,
    /// The steps, in the order they run ([`steps`]).
    pub steps: Vec<Step>,
    /// Who gains and loses which role in which child ([`effect`]).
    pub effect: Vec<AccessChange>,
    /// The roles' names, for showing the plan.
    pub roles: Catalogue,
    /// The children's names, by CID, for showing the plan.
    pub children: BTreeMap<String, String>,
}

impl FleetPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many users lose some access.
    pub fn losing(&self) -> usize {
        losing(&self.effect)
    }
}

fn losing(effect: &[AccessChange]) -> usize {
    effect
        .iter()
        .filter(|c| !c.lost.is_empty())
        .map(|c| c.user.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// The file resolved against the state: groups given their ids (by id when the file names
/// one, else by name), members checked to be the parent's users, CIDs to be its children (or
/// already in the group), roles resolved to ids. Every problem names the file's line.
pub fn desired(file: &FleetFile, name: &str, state: &FleetState) -> Result<FleetModel> {
    let mut problems = Vec::new();
    let mut model = FleetModel::default();
    let live = state.model()?;
    let live_id = |kind: GroupKind,
                   group: &str,
                   id: &Option<Item<String>>,
                   problems: &mut Vec<FileProblem>|
     -> Option<String> {
        match id {
            Some(Item { line, value: id }) => {
                if live.name_of(kind, id).is_none() {
                    let field = match kind {
                        GroupKind::User => "user_group.id",
                        GroupKind::Cid => "cid_group.id",
                    };
                    problems.push(FileProblem::new(
                        *line,
                        field,
                        format!("no {kind} has the id {id} (remove the id to create {group:?})"),
                    ));
                }
                Some(id.clone())
            }
            None => live
                .group(kind, group)
                .and_then(|(id, _)| id.map(str::to_owned)),
        }
    };
    let index = state.user_index();
    for decl in &file.user_groups {
        let id = live_id(GroupKind::User, &decl.name, &decl.id, &mut problems);
        let current = id
            .as_deref()
            .and_then(|i| live.name_of(GroupKind::User, i))
            .map(|n| live.members(GroupKind::User, n))
            .unwrap_or_default();
        let mut members = BTreeSet::new();
        for member in &decl.members {
            let login = match index.uuid_of(&member.value) {
                Some(uuid) => state.users.get(uuid).cloned().unwrap_or_default(),
                None if current.contains(&member.value) => member.value.clone(),
                None => {
                    problems.push(FileProblem::new(
                        member.line,
                        "user_group.members",
                        format!("{} is not a user of this CID", member.value),
                    ));
                    continue;
                }
            };
            members.insert(login);
        }
        model.user_groups.insert(
            decl.name.clone(),
            Group {
                id,
                description: decl.description.clone(),
                members,
            },
        );
    }
    for decl in &file.cid_groups {
        let id = live_id(GroupKind::Cid, &decl.name, &decl.id, &mut problems);
        let current = id
            .as_deref()
            .and_then(|i| live.name_of(GroupKind::Cid, i))
            .map(|n| live.members(GroupKind::Cid, n))
            .unwrap_or_default();
        let mut members = BTreeSet::new();
        for cid in &decl.cids {
            if !state.is_fleet_cid(&cid.value) && !current.contains(cid.value.as_str()) {
                problems.push(FileProblem::new(
                    cid.line,
                    "cid_group.cids",
                    format!("{} is neither this CID nor one of its children", cid.value),
                ));
                continue;
            }
            members.insert(cid.value.clone());
        }
        model.cid_groups.insert(
            decl.name.clone(),
            Group {
                id,
                description: decl.description.clone(),
                members,
            },
        );
    }
    for link in &file.links {
        // A role the link gives now stays nameable by id even if the catalogue does not list
        // it (an export planned again is no change).
        let held = live.link(&link.user_group, &link.cid_group);
        let mut roles = BTreeSet::new();
        for role in &link.roles {
            match state.catalogue.resolve(role.value.as_str()) {
                Ok(id) => {
                    roles.insert(id);
                }
                Err(_) if held.contains(&role.value) => {
                    roles.insert(role.value.clone());
                }
                Err(why) => problems.push(FileProblem::new(role.line, "link.roles", why)),
            }
        }
        model
            .links
            .entry(link.user_group.clone())
            .or_default()
            .insert(link.cid_group.clone(), roles);
    }
    if problems.is_empty() {
        Ok(model)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(Error::FleetFile {
            file: name.to_owned(),
            problems,
        })
    }
}

/// Plans the steps that make `state` match `file` (named `name` in problems) at time `now`.
/// Refuses a file that does not fit the state (every problem, with its line), and a plan that
/// takes access away from more users than `guardrails` allow.
pub fn plan(
    file: &FleetFile,
    name: &str,
    state: &FleetState,
    guardrails: Guardrails,
    now: DateTime<Utc>,
) -> Result<FleetPlan> {
    let before = state.model()?;
    let after = desired(file, name, state)?;
    let steps = steps(&before, &after);
    let effect = effect(&before, &after);
    guardrails.check_removals(losing(&effect))?;
    Ok(FleetPlan {
        plan_version: FLEET_PLAN_VERSION,
        created_at: now,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        made_against: state.origin.clone(),
        guardrails,
        before,
        after,
        steps,
        effect,
        roles: state.catalogue.clone(),
        children: state
            .children
            .iter()
            .filter_map(|(cid, name)| Some((cid.to_string(), name.clone()?)))
            .collect(),
    })
}

/// For each group of `after`, the group of `before` it is (by id, else by name): after name →
/// before name, per kind.
fn matched(before: &FleetModel, after: &FleetModel, kind: GroupKind) -> BTreeMap<String, String> {
    let names: Vec<(&String, Option<&str>)> = match kind {
        GroupKind::User => after
            .user_groups
            .iter()
            .map(|(n, g)| (n, g.id.as_deref()))
            .collect(),
        GroupKind::Cid => after
            .cid_groups
            .iter()
            .map(|(n, g)| (n, g.id.as_deref()))
            .collect(),
    };
    let mut out = BTreeMap::new();
    let mut taken = BTreeSet::new();
    // By id first, so that a group renamed to a name another had is still itself.
    for (name, id) in &names {
        if let Some(old) = id.and_then(|id| before.name_of(kind, id)) {
            taken.insert(old.to_owned());
            out.insert((*name).clone(), old.to_owned());
        }
    }
    for (name, _) in names {
        if !out.contains_key(name) && !taken.contains(name) && before.group(kind, name).is_some() {
            taken.insert(name.clone());
            out.insert(name.clone(), name.clone());
        }
    }
    out
}

/// The steps from `before` to `after`, in four phases, so that access is never broader mid-way
/// than at either end: create and rename groups; narrow (roles off links, members and CIDs
/// out); widen (members and CIDs in, roles onto links); delete the groups no longer declared.
///
/// ```
/// use falcon_users::workflows::flight_control::{FleetModel, Group, GroupKind, Step, steps};
/// let mut before = FleetModel::default();
/// before.user_groups.insert("ops".into(), Group {
///     id: Some("u1".into()),
///     members: ["ann@example.com".to_string()].into(),
///     ..Group::default()
/// });
/// let mut after = before.clone();
/// after.user_groups.get_mut("ops").unwrap().members = ["bob@example.com".to_string()].into();
/// assert_eq!(steps(&before, &after), [
///     Step::RemoveMembers { kind: GroupKind::User, group: "ops".into(), members: vec!["ann@example.com".into()] },
///     Step::AddMembers { kind: GroupKind::User, group: "ops".into(), members: vec!["bob@example.com".into()] },
/// ]);
/// ```
pub fn steps(before: &FleetModel, after: &FleetModel) -> Vec<Step> {
    let mut out = Vec::new();
    let users = matched(before, after, GroupKind::User);
    let cids = matched(before, after, GroupKind::Cid);
    let after_names = |kind: GroupKind| -> BTreeMap<String, String> {
        let m = if kind == GroupKind::User {
            &users
        } else {
            &cids
        };
        m.iter().map(|(a, b)| (b.clone(), a.clone())).collect()
    };
    let (users_now, cids_now) = (after_names(GroupKind::User), after_names(GroupKind::Cid));
    // Phase 1: create, rename, describe.
    for (kind, map) in [(GroupKind::User, &users), (GroupKind::Cid, &cids)] {
        let wanted: Vec<(&String, &str)> = match kind {
            GroupKind::User => after
                .user_groups
                .iter()
                .map(|(n, g)| (n, g.description.as_str()))
                .collect(),
            GroupKind::Cid => after
                .cid_groups
                .iter()
                .map(|(n, g)| (n, g.description.as_str()))
                .collect(),
        };
        for (name, description) in wanted {
            match map.get(name) {
                None => out.push(Step::CreateGroup {
                    kind,
                    name: name.clone(),
                    description: description.to_owned(),
                }),
                Some(old) => {
                    let (id, old_description) = before.group(kind, old).unwrap_or((None, ""));
                    if old != name || old_description != description {
                        out.push(Step::UpdateGroup {
                            kind,
                            id: id.unwrap_or_default().to_owned(),
                            name: old.clone(),
                            new_name: name.clone(),
                            description: description.to_owned(),
                        });
                    }
                }
            }
        }
    }
    // The name a group of `before` has from phase 1 on.
    let now_name = |names: &BTreeMap<String, String>, old: &str| {
        names.get(old).cloned().unwrap_or_else(|| old.to_owned())
    };
    // Phase 2: narrow.
    for (user, by_cid) in &before.links {
        for (cid, roles) in by_cid {
            let (user_now, cid_now) = (now_name(&users_now, user), now_name(&cids_now, cid));
            let survives = users_now.contains_key(user) && cids_now.contains_key(cid);
            let kept = if survives {
                after.link(&user_now, &cid_now)
            } else {
                BTreeSet::new()
            };
            if kept.is_empty() {
                out.push(Step::DissolveLink {
                    user_group: user_now,
                    cid_group: cid_now,
                });
            } else {
                let removed: Vec<String> = roles.difference(&kept).cloned().collect();
                if !removed.is_empty() {
                    out.push(Step::RemoveRoles {
                        user_group: user_now,
                        cid_group: cid_now,
                        roles: removed,
                    });
                }
            }
        }
    }
    for (kind, map) in [(GroupKind::User, &users), (GroupKind::Cid, &cids)] {
        for (name, old) in map {
            let had = before.members(kind, old);
            let keep = after.members(kind, name);
            let removed: Vec<String> = had.difference(&keep).cloned().collect();
            if !removed.is_empty() {
                out.push(Step::RemoveMembers {
                    kind,
                    group: name.clone(),
                    members: removed,
                });
            }
        }
    }
    // Phase 3: widen.
    for (kind, map) in [(GroupKind::User, &users), (GroupKind::Cid, &cids)] {
        let names: Vec<&String> = match kind {
            GroupKind::User => after.user_groups.keys().collect(),
            GroupKind::Cid => after.cid_groups.keys().collect(),
        };
        for name in names {
            let had = map
                .get(name)
                .map(|old| before.members(kind, old))
                .unwrap_or_default();
            let added: Vec<String> = after
                .members(kind, name)
                .difference(&had)
                .cloned()
                .collect();
            if !added.is_empty() {
                out.push(Step::AddMembers {
                    kind,
                    group: name.clone(),
                    members: added,
                });
            }
        }
    }
    for (user, by_cid) in &after.links {
        for (cid, roles) in by_cid {
            let had = match (users.get(user), cids.get(cid)) {
                (Some(u), Some(c)) => before.link(u, c),
                _ => BTreeSet::new(),
            };
            let added: Vec<String> = roles.difference(&had).cloned().collect();
            if !added.is_empty() {
                out.push(Step::AddRoles {
                    user_group: user.clone(),
                    cid_group: cid.clone(),
                    roles: added,
                });
            }
        }
    }
    // Phase 4: delete.
    for (kind, names) in [(GroupKind::User, &users_now), (GroupKind::Cid, &cids_now)] {
        let before_groups: Vec<(&String, Option<&String>)> = match kind {
            GroupKind::User => before
                .user_groups
                .iter()
                .map(|(n, g)| (n, g.id.as_ref()))
                .collect(),
            GroupKind::Cid => before
                .cid_groups
                .iter()
                .map(|(n, g)| (n, g.id.as_ref()))
                .collect(),
        };
        for (name, id) in before_groups {
            if !names.contains_key(name) {
                out.push(Step::DeleteGroup {
                    kind,
                    id: id.cloned().unwrap_or_default(),
                    name: name.clone(),
                });
            }
        }
    }
    out
}

/// Who holds which role in which child through the links of `model`.
pub(crate) fn access(model: &FleetModel) -> BTreeSet<(String, Cid, String)> {
    let mut out = BTreeSet::new();
    for (user, by_cid) in &model.links {
        let Some(users) = model.user_groups.get(user) else {
            continue;
        };
        for (cid, roles) in by_cid {
            let Some(cids) = model.cid_groups.get(cid) else {
                continue;
            };
            for member in &users.members {
                for child in &cids.members {
                    for role in roles {
                        out.insert((member.clone(), child.clone(), role.clone()));
                    }
                }
            }
        }
    }
    out
}

/// The effect on access of going from `before` to `after`: per user and child (in that
/// order), the roles gained and lost through links (members × CIDs × roles of each end).
///
/// ```
/// use falcon_users::workflows::flight_control::{FleetModel, Group, effect};
/// let child: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
/// let mut before = FleetModel::default();
/// before.user_groups.insert("ops".into(), Group {
///     members: ["ann@example.com".to_string()].into(),
///     ..Group::default()
/// });
/// before.cid_groups.insert("emea".into(), Group { members: [child.clone()].into(), ..Group::default() });
/// let mut after = before.clone();
/// after.links.entry("ops".into()).or_default().insert("emea".into(), ["falcon_analyst".to_string()].into());
/// let change = &effect(&before, &after)[0];
/// assert_eq!((change.user.as_str(), &change.cid), ("ann@example.com", &child));
/// assert_eq!((change.gained.as_slice(), change.lost.len()), (&["falcon_analyst".to_string()][..], 0));
/// ```
pub fn effect(before: &FleetModel, after: &FleetModel) -> Vec<AccessChange> {
    let (had, has) = (access(before), access(after));
    let mut changes: BTreeMap<(String, Cid), AccessChange> = BTreeMap::new();
    fn change<'a>(
        changes: &'a mut BTreeMap<(String, Cid), AccessChange>,
        user: &str,
        cid: &Cid,
    ) -> &'a mut AccessChange {
        changes
            .entry((user.to_owned(), cid.clone()))
            .or_insert_with(|| AccessChange {
                user: user.to_owned(),
                cid: cid.clone(),
                gained: Vec::new(),
                lost: Vec::new(),
            })
    }
    for (user, cid, role) in has.difference(&had) {
        change(&mut changes, user, cid).gained.push(role.clone());
    }
    for (user, cid, role) in had.difference(&has) {
        change(&mut changes, user, cid).lost.push(role.clone());
    }
    changes.into_values().collect()
}

/// One fact of a model: a group (its id and description), a member of a group, a role of a
/// link. A model is the set of its facts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Fact {
    Group(GroupKind, String),
    Member(GroupKind, String, String),
    Role(String, String, String),
}

impl std::fmt::Display for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fact::Group(kind, name) => write!(f, "{kind} {name:?}"),
            Fact::Member(kind, group, member) => write!(f, "{member} in {kind} {group:?}"),
            Fact::Role(user, cid, role) => write!(f, "{role} on link {user:?} × {cid:?}"),
        }
    }
}

/// What a fact says: a group's id and description; `None` for a member or role.
type FactValue = Option<(Option<String>, String)>;

fn facts(model: &FleetModel) -> BTreeMap<Fact, FactValue> {
    let mut out = BTreeMap::new();
    for (name, g) in &model.user_groups {
        out.insert(
            Fact::Group(GroupKind::User, name.clone()),
            Some((g.id.clone(), g.description.clone())),
        );
        for m in &g.members {
            out.insert(Fact::Member(GroupKind::User, name.clone(), m.clone()), None);
        }
    }
    for (name, g) in &model.cid_groups {
        out.insert(
            Fact::Group(GroupKind::Cid, name.clone()),
            Some((g.id.clone(), g.description.clone())),
        );
        for m in &g.members {
            out.insert(
                Fact::Member(GroupKind::Cid, name.clone(), m.to_string()),
                None,
            );
        }
    }
    for (user, by_cid) in &model.links {
        for (cid, roles) in by_cid {
            for role in roles {
                out.insert(Fact::Role(user.clone(), cid.clone(), role.clone()), None);
            }
        }
    }
    out
}

/// Whether `current` lies on the way from `before` to `after`: every group, member and link
/// role as it was read, or as the plan leaves it (an interrupted apply). Anything else means
/// someone changed it since the plan was made: each such fact, to re-plan. A group the plan
/// creates matches one of that name whatever its id (an earlier run made it).
///
/// ```
/// use falcon_users::workflows::flight_control::{FleetModel, Group, position};
/// let group = |members: &[&str]| {
///     let mut m = FleetModel::default();
///     m.user_groups.insert("ops".into(), Group {
///         id: Some("u1".into()),
///         members: members.iter().map(|s| s.to_string()).collect(),
///         ..Group::default()
///     });
///     m
/// };
/// let (before, after) = (group(&["a@x.com"]), group(&["b@x.com"]));
/// assert!(position(&before, &after, &group(&["a@x.com", "b@x.com"])).is_empty());
/// assert_eq!(position(&before, &after, &group(&["c@x.com"])), ["c@x.com in user group \"ops\" was added since"]);
/// ```
pub fn position(before: &FleetModel, after: &FleetModel, current: &FleetModel) -> Vec<String> {
    let (from, to, now) = (facts(before), facts(after), facts(current));
    let keys: BTreeSet<&Fact> = from.keys().chain(to.keys()).chain(now.keys()).collect();
    let fits = |have: Option<&FactValue>, want: Option<&FactValue>| match (have, want) {
        (None, None) => true,
        (Some(Some((id, description))), Some(Some((want_id, want_description)))) => {
            description == want_description && (want_id.is_none() || want_id == id)
        }
        (Some(None), Some(None)) => true,
        _ => false,
    };
    let mut problems = Vec::new();
    for fact in keys {
        let have = now.get(fact);
        if fits(have, from.get(fact)) || fits(have, to.get(fact)) {
            continue;
        }
        let what = match (have, from.get(fact)) {
            (None, _) => "was removed since",
            (Some(_), None) => "was added since",
            (Some(Some((id, _))), Some(Some((was, _)))) if id != was => {
                "was deleted and made again since"
            }
            _ => "was changed since",
        };
        problems.push(format!("{fact} {what}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::flight_control::state::{CidGroup, Link, UserGroup};

    fn cid(n: u8) -> Cid {
        format!("{n:032x}").parse().unwrap()
    }

    type Groups<'a> = &'a [(&'a str, Option<&'a str>, &'a [&'a str])];

    /// A model: user groups (name, id, logins), CID groups (name, id, child numbers as text),
    /// links (user group, CID group, roles).
    fn model(users: Groups, cids: Groups, links: &[(&str, &str, &[&str])]) -> FleetModel {
        let mut m = FleetModel::default();
        for (name, id, members) in users {
            m.user_groups.insert(
                (*name).into(),
                Group {
                    id: id.map(Into::into),
                    description: String::new(),
                    members: members.iter().map(|s| s.to_string()).collect(),
                },
            );
        }
        for (name, id, members) in cids {
            m.cid_groups.insert(
                (*name).into(),
                Group {
                    id: id.map(Into::into),
                    description: String::new(),
                    members: members.iter().map(|s| cid(s.parse().unwrap())).collect(),
                },
            );
        }
        for (user, c, roles) in links {
            m.links
                .entry((*user).into())
                .or_default()
                .insert((*c).into(), roles.iter().map(|s| s.to_string()).collect());
        }
        m
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const U: GroupKind = GroupKind::User;
    const C: GroupKind = GroupKind::Cid;

    /// (case, before, after, the steps in order)
    #[test]
    fn the_steps_from_one_state_to_another() {
        let base = || {
            model(
                &[("ops", Some("u1"), &["ann@x.com", "bob@x.com"])],
                &[("emea", Some("c1"), &["1", "2"])],
                &[("ops", "emea", &["analyst", "admin"])],
            )
        };
        let c1 = cid(1).to_string();
        let c3 = cid(3).to_string();
        let mut described = base();
        described.user_groups.get_mut("ops").unwrap().description = "SOC".into();
        let cases: Vec<(&str, FleetModel, FleetModel, Vec<Step>)> = vec![
            ("nothing to do", base(), base(), vec![]),
            (
                "a new group with members",
                FleetModel::default(),
                model(&[("ops", None, &["ann@x.com"])], &[], &[]),
                vec![
                    Step::CreateGroup {
                        kind: U,
                        name: "ops".into(),
                        description: String::new(),
                    },
                    Step::AddMembers {
                        kind: U,
                        group: "ops".into(),
                        members: s(&["ann@x.com"]),
                    },
                ],
            ),
            (
                "a description",
                base(),
                described,
                vec![Step::UpdateGroup {
                    kind: U,
                    id: "u1".into(),
                    name: "ops".into(),
                    new_name: "ops".into(),
                    description: "SOC".into(),
                }],
            ),
            (
                "a rename keeps members and links, later steps name the new name",
                base(),
                model(
                    &[("soc", Some("u1"), &["ann@x.com"])],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("soc", "emea", &["analyst", "admin"])],
                ),
                vec![
                    Step::UpdateGroup {
                        kind: U,
                        id: "u1".into(),
                        name: "ops".into(),
                        new_name: "soc".into(),
                        description: String::new(),
                    },
                    Step::RemoveMembers {
                        kind: U,
                        group: "soc".into(),
                        members: s(&["bob@x.com"]),
                    },
                ],
            ),
            (
                "a member and a CID in, another out: out first",
                base(),
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "cy@x.com"])],
                    &[("emea", Some("c1"), &["2", "3"])],
                    &[("ops", "emea", &["analyst", "admin"])],
                ),
                vec![
                    Step::RemoveMembers {
                        kind: U,
                        group: "ops".into(),
                        members: s(&["bob@x.com"]),
                    },
                    Step::RemoveMembers {
                        kind: C,
                        group: "emea".into(),
                        members: vec![c1.clone()],
                    },
                    Step::AddMembers {
                        kind: U,
                        group: "ops".into(),
                        members: s(&["cy@x.com"]),
                    },
                    Step::AddMembers {
                        kind: C,
                        group: "emea".into(),
                        members: vec![c3.clone()],
                    },
                ],
            ),
            (
                "a role added to a link adds only that role",
                base(),
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "bob@x.com"])],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("ops", "emea", &["analyst", "admin", "guest"])],
                ),
                vec![Step::AddRoles {
                    user_group: "ops".into(),
                    cid_group: "emea".into(),
                    roles: s(&["guest"]),
                }],
            ),
            (
                "a role taken off a link that keeps another",
                base(),
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "bob@x.com"])],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("ops", "emea", &["analyst"])],
                ),
                vec![Step::RemoveRoles {
                    user_group: "ops".into(),
                    cid_group: "emea".into(),
                    roles: s(&["admin"]),
                }],
            ),
            (
                "a link removed is dissolved",
                base(),
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "bob@x.com"])],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[],
                ),
                vec![Step::DissolveLink {
                    user_group: "ops".into(),
                    cid_group: "emea".into(),
                }],
            ),
            (
                "a role swapped on a link: the old one off first",
                base(),
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "bob@x.com"])],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("ops", "emea", &["analyst", "guest"])],
                ),
                vec![
                    Step::RemoveRoles {
                        user_group: "ops".into(),
                        cid_group: "emea".into(),
                        roles: s(&["admin"]),
                    },
                    Step::AddRoles {
                        user_group: "ops".into(),
                        cid_group: "emea".into(),
                        roles: s(&["guest"]),
                    },
                ],
            ),
            (
                "a group removed: its link dissolved first, no member removed one by one",
                base(),
                model(&[], &[("emea", Some("c1"), &["1", "2"])], &[]),
                vec![
                    Step::DissolveLink {
                        user_group: "ops".into(),
                        cid_group: "emea".into(),
                    },
                    Step::DeleteGroup {
                        kind: U,
                        id: "u1".into(),
                        name: "ops".into(),
                    },
                ],
            ),
            (
                "a new link between a new group and an existing one, after both have members",
                base(),
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com", "bob@x.com"]),
                        ("t2", None, &["dee@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[
                        ("ops", "emea", &["analyst", "admin"]),
                        ("t2", "emea", &["guest"]),
                    ],
                ),
                vec![
                    Step::CreateGroup {
                        kind: U,
                        name: "t2".into(),
                        description: String::new(),
                    },
                    Step::AddMembers {
                        kind: U,
                        group: "t2".into(),
                        members: s(&["dee@x.com"]),
                    },
                    Step::AddRoles {
                        user_group: "t2".into(),
                        cid_group: "emea".into(),
                        roles: s(&["guest"]),
                    },
                ],
            ),
            (
                "a renamed group's link dissolved under its new name, before a deletion",
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com"]),
                        ("old", Some("u2"), &[]),
                    ],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["analyst"])],
                ),
                model(
                    &[("soc", Some("u1"), &["ann@x.com"])],
                    &[("emea", Some("c1"), &["1"])],
                    &[],
                ),
                vec![
                    Step::UpdateGroup {
                        kind: U,
                        id: "u1".into(),
                        name: "ops".into(),
                        new_name: "soc".into(),
                        description: String::new(),
                    },
                    Step::DissolveLink {
                        user_group: "soc".into(),
                        cid_group: "emea".into(),
                    },
                    Step::DeleteGroup {
                        kind: U,
                        id: "u2".into(),
                        name: "old".into(),
                    },
                ],
            ),
            (
                "a group renamed to the name of a group deleted: matched by id, not by name",
                model(
                    &[
                        ("a", Some("u1"), &["ann@x.com"]),
                        ("b", Some("u2"), &["bob@x.com"]),
                    ],
                    &[],
                    &[],
                ),
                model(&[("b", Some("u1"), &["ann@x.com"])], &[], &[]),
                vec![
                    Step::UpdateGroup {
                        kind: U,
                        id: "u1".into(),
                        name: "a".into(),
                        new_name: "b".into(),
                        description: String::new(),
                    },
                    Step::DeleteGroup {
                        kind: U,
                        id: "u2".into(),
                        name: "b".into(),
                    },
                ],
            ),
        ];
        for (case, before, after, want) in cases {
            assert_eq!(steps(&before, &after), want, "{case}");
        }
    }

    /// (case, before, after, per (user, child number): gained, lost)
    #[test]
    fn the_effect_of_a_change_on_access() {
        let base = || {
            model(
                &[
                    ("ops", Some("u1"), &["ann@x.com"]),
                    ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                ],
                &[("emea", Some("c1"), &["1", "2"])],
                &[("ops", "emea", &["admin"]), ("all", "emea", &["guest"])],
            )
        };
        type Want = Vec<(&'static str, u8, Vec<&'static str>, Vec<&'static str>)>;
        let cases: Vec<(&str, FleetModel, FleetModel, Want)> = vec![
            ("no change", base(), base(), vec![]),
            (
                "a member added gains the link's roles in every child",
                base(),
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com", "bob@x.com"]),
                        ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("ops", "emea", &["admin"]), ("all", "emea", &["guest"])],
                ),
                vec![
                    ("bob@x.com", 1, vec!["admin"], vec![]),
                    ("bob@x.com", 2, vec!["admin"], vec![]),
                ],
            ),
            (
                "a child removed from the CID group: every member loses every role there",
                base(),
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com"]),
                        ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["admin"]), ("all", "emea", &["guest"])],
                ),
                vec![
                    ("ann@x.com", 2, vec![], vec!["admin", "guest"]),
                    ("bob@x.com", 2, vec![], vec!["guest"]),
                ],
            ),
            (
                "a role held through another link too is not lost",
                base(),
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com"]),
                        ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("ops", "emea", &["admin", "guest"])],
                ),
                vec![
                    ("bob@x.com", 1, vec![], vec!["guest"]),
                    ("bob@x.com", 2, vec![], vec!["guest"]),
                ],
            ),
            (
                "a rename changes no access",
                base(),
                model(
                    &[
                        ("soc", Some("u1"), &["ann@x.com"]),
                        ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1", "2"])],
                    &[("soc", "emea", &["admin"]), ("all", "emea", &["guest"])],
                ),
                vec![],
            ),
            (
                "a role swapped: gained and lost in one line",
                base(),
                model(
                    &[
                        ("ops", Some("u1"), &["ann@x.com"]),
                        ("all", Some("u2"), &["ann@x.com", "bob@x.com"]),
                    ],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["analyst"]), ("all", "emea", &["guest"])],
                ),
                vec![
                    ("ann@x.com", 1, vec!["analyst"], vec!["admin"]),
                    ("ann@x.com", 2, vec![], vec!["admin", "guest"]),
                    ("bob@x.com", 2, vec![], vec!["guest"]),
                ],
            ),
        ];
        for (case, before, after, want) in cases {
            let got: Vec<(String, Cid, Vec<String>, Vec<String>)> = effect(&before, &after)
                .into_iter()
                .map(|c| (c.user, c.cid, c.gained, c.lost))
                .collect();
            let want: Vec<(String, Cid, Vec<String>, Vec<String>)> = want
                .into_iter()
                .map(|(u, n, g, l)| (u.to_owned(), cid(n), s(&g), s(&l)))
                .collect();
            assert_eq!(got, want, "{case}");
        }
    }

    /// (case, current, refused because of): between `before` and `after`, or changed since.
    #[test]
    fn whether_the_state_read_now_lies_on_the_plans_way() {
        let before = model(
            &[("ops", Some("u1"), &["ann@x.com"])],
            &[("emea", Some("c1"), &["1"])],
            &[("ops", "emea", &["admin"])],
        );
        let after = model(
            &[("ops", Some("u1"), &["bob@x.com"]), ("new", None, &[])],
            &[("emea", Some("c1"), &["1"])],
            &[("ops", "emea", &["guest"])],
        );
        let removed_cid = format!("{} in CID group \"emea\" was removed since", cid(1));
        let cases: Vec<(&str, FleetModel, Vec<&str>)> = vec![
            ("as read", before.clone(), vec![]),
            ("as planned", after.clone(), vec![]),
            (
                "half way, the new group made by a killed run with its own id",
                model(
                    &[
                        ("ops", Some("u1"), &["bob@x.com"]),
                        ("new", Some("u9"), &[]),
                    ],
                    &[("emea", Some("c1"), &["1"])],
                    &[],
                ),
                vec![],
            ),
            (
                "someone added a member",
                model(
                    &[("ops", Some("u1"), &["ann@x.com", "cy@x.com"])],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["admin"])],
                ),
                vec!["cy@x.com in user group \"ops\" was added since"],
            ),
            (
                "someone recreated the group",
                model(
                    &[("ops", Some("u7"), &["ann@x.com"])],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["admin"])],
                ),
                vec!["user group \"ops\" was deleted and made again since"],
            ),
            (
                "someone removed a CID (the role removed is the plan's own doing)",
                model(
                    &[("ops", Some("u1"), &["ann@x.com"])],
                    &[("emea", Some("c1"), &[])],
                    &[],
                ),
                vec![&removed_cid],
            ),
            (
                "someone added a role to the link",
                model(
                    &[("ops", Some("u1"), &["ann@x.com"])],
                    &[("emea", Some("c1"), &["1"])],
                    &[("ops", "emea", &["admin", "analyst"])],
                ),
                vec!["analyst on link \"ops\" × \"emea\" was added since"],
            ),
        ];
        for (case, current, want) in cases {
            assert_eq!(position(&before, &after, &current), want, "{case}");
        }
    }

    fn state() -> FleetState {
        FleetState {
            user_groups: vec![UserGroup {
                id: "u1".into(),
                name: "ops".into(),
                description: String::new(),
                members: (1..=7).map(|n| format!("uuid-{n}")).collect(),
            }],
            cid_groups: vec![CidGroup {
                id: "c1".into(),
                name: "emea".into(),
                description: String::new(),
                cids: [cid(1)].into(),
            }],
            links: vec![Link {
                user_group_id: "u1".into(),
                cid_group_id: "c1".into(),
                // A role the catalogue does not list (another CID's custom role).
                roles: ["falcon_admin".to_string(), "c0ffee".to_string()].into(),
            }],
            users: (1..=8)
                .map(|n| (format!("uuid-{n}"), format!("u{n}@x.com")))
                .collect(),
            children: [(cid(1), Some("Acme".into())), (cid(2), None)].into(),
            catalogue: Catalogue::from_pairs([
                ("falcon_admin", "Falcon Administrator"),
                ("falcon_guest", "Falcon Guest"),
            ]),
            ..FleetState::default()
        }
    }

    #[test]
    fn an_export_plans_no_change_and_names_the_children() {
        let state = state();
        let text = FleetFile::render(&state.model().unwrap(), &state.children);
        assert!(text.contains("name = \"Acme\""), "{text}");
        assert!(text.contains("id = \"u1\""), "{text}");
        assert!(text.contains("\"c0ffee\""), "{text}");
        let file = FleetFile::parse(&text, "export.toml").unwrap();
        let planned = plan(
            &file,
            "export.toml",
            &state,
            Guardrails::default(),
            Utc::now(),
        )
        .unwrap();
        assert!(planned.is_empty(), "{:#?}", planned.steps);
        assert!(planned.effect.is_empty());
    }

    #[test]
    fn a_file_that_does_not_fit_the_tenant_is_refused_by_line() {
        let text = format!(
            "[[user_group]]\nname = \"ops\"\nid = \"u9\"\nmembers = [\"nobody@x.com\", \"u1@x.com\"]\n\
             [[cid_group]]\nname = \"emea\"\ncids = [{{ cid = \"{}\" }}]\n\
             [[link]]\nuser_group = \"ops\"\ncid_group = \"emea\"\nroles = [\"Falcon Admnistrator\", \"falcon guest\"]\n",
            cid(5)
        );
        let file = FleetFile::parse(&text, "f.toml").unwrap();
        let err = plan(&file, "f.toml", &state(), Guardrails::default(), Utc::now())
            .unwrap_err()
            .to_string();
        for part in [
            "f.toml was refused (4 problems)",
            "line 3, user_group.id: no user group has the id u9",
            "line 4, user_group.members: nobody@x.com is not a user of this CID",
            &format!(
                "line 7, cid_group.cids: {} is neither this CID nor one of its children",
                cid(5)
            ),
            "line 11, link.roles: no role \"Falcon Admnistrator\" in this CID; did you mean Falcon Administrator?",
        ] {
            assert!(err.contains(part), "{part:?} in {err}");
        }
    }

    #[test]
    fn a_plan_taking_access_from_more_users_than_the_limit_is_refused() {
        let state = state();
        // ops keeps one of its seven members: six lose the administrator role in Acme.
        let text = "[[user_group]]\nname = \"ops\"\nmembers = [\"u1@x.com\"]\n[[cid_group]]\nname = \"emea\"\ncids = [{ cid = \"00000000000000000000000000000001\" }]\n[[link]]\nuser_group = \"ops\"\ncid_group = \"emea\"\nroles = [\"Falcon Administrator\", \"c0ffee\"]\n";
        let file = FleetFile::parse(text, "f.toml").unwrap();
        let err = plan(&file, "f.toml", &state, Guardrails::default(), Utc::now()).unwrap_err();
        assert!(matches!(err, Error::PlanRefused { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("from 6 users, more than the limit of 5"),
            "{err}"
        );
        assert!(err.to_string().contains("--max-removals 6"), "{err}");
        let planned = plan(
            &file,
            "f.toml",
            &state,
            Guardrails::new().max_removals(6),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(planned.losing(), 6);
        assert_eq!(planned.steps.len(), 1, "{:#?}", planned.steps);
    }
}

#[cfg(test)]
mod sizing {
    use super::*;
    use crate::workflows::flight_control::state::UserGroup;

    /// The largest file the service's limits allow in members (250 user groups of 500 members,
    /// 125,000 logins on long lines) among 20,000 users is read and planned in one pass: each
    /// value's line is looked up, not counted from the top, and each member resolved with one
    /// look-up. Bounded at 120 s; counting from the top took hours.
    #[test]
    fn the_largest_file_is_read_and_planned_in_one_pass() {
        let users: BTreeMap<String, String> = (0..20_000)
            .map(|n| (format!("uuid-{n:05}"), format!("u{n:05}@x.com")))
            .collect();
        let mut text = String::new();
        let mut groups = Vec::new();
        for g in 0..250 {
            let members: Vec<usize> = (0..500).map(|m| (g * 37 + m) % 20_000).collect();
            let logins: Vec<String> = members
                .iter()
                .map(|n| format!("\"u{n:05}@x.com\""))
                .collect();
            text.push_str(&format!(
                "[[user_group]]\nname = \"g{g}\"\nmembers = [{}]\n",
                logins.join(", ")
            ));
            groups.push(UserGroup {
                id: format!("{g:032x}"),
                name: format!("g{g}"),
                description: String::new(),
                members: members.iter().map(|n| format!("uuid-{n:05}")).collect(),
            });
        }
        let state = FleetState {
            user_groups: groups,
            users,
            ..FleetState::default()
        };
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let steps = FleetFile::parse(&text, "big.toml").and_then(|file| {
                plan(&file, "big.toml", &state, Guardrails::default(), Utc::now())
            });
            let _ = done.send(steps.map(|p| p.steps.len()));
        });
        let steps = finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("read and planned within 120 s")
            .unwrap();
        assert_eq!(steps, 0, "the file is the state");
    }
}

//! Planning: from a roster and the tenant as read, the changes that make the tenant match, as a
//! pure function. A change is one user going from the state the plan saw (`before`) to the one
//! the roster asks for (`after`); the actions (create, rename, grant, revoke, delete) follow from
//! the two, so the same function tells an interrupted apply what is left to do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, RowProblem};
use crate::model::cid::Cid;
use crate::model::validation::GRANT_EXPIRY_HOURS;
use crate::workflows::roster::Roster;
use crate::workflows::roster::state::TenantState;

/// The version of the saved plan format; an apply refuses any other.
pub const PLAN_VERSION: u32 = 1;

/// How far two ends of one grant may differ and still be the same end: services keep whole
/// seconds, and a roster may be written by hand to the minute.
const SAME_END: Duration = Duration::seconds(60);

/// Whether a plan may take roles away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only add: create users, grant roles, extend temporary grants (the default).
    #[default]
    Additive,
    /// Make the roles exactly the roster's: also revoke the ones it does not list.
    Exact,
}

/// Limits against the classic accident, a truncated export: a plan that crosses one is refused
/// until the limit is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardrails {
    /// The most users a plan may offboard (default 5).
    pub max_offboard: usize,
    /// The most existing users a plan may leave without any role (default 5).
    pub max_strip: usize,
}

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            max_offboard: 5,
            max_strip: 5,
        }
    }
}

/// How to plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// Additive (default) or exact.
    pub mode: Mode,
    /// Offboard users in `scope` whom the roster does not list.
    pub prune: bool,
    /// FQL on users: the users the roster speaks for (required with `prune`).
    pub scope: Option<String>,
    /// The limits.
    pub guardrails: Guardrails,
    /// Member CIDs to manage besides those the roster names: read, and pruned with `prune`.
    /// When given, a roster row naming any other CID is refused.
    pub member_cids: Vec<Cid>,
}

impl PlanOptions {
    /// The CIDs a plan of `roster` needs read (`None`: the handle's own CID).
    pub fn cids_to_read(&self, roster: &Roster) -> Vec<Option<Cid>> {
        let mut cids: BTreeSet<Option<Cid>> =
            roster.entries().iter().map(|e| e.cid.clone()).collect();
        cids.extend(self.member_cids.iter().cloned().map(Some));
        if cids.is_empty() {
            cids.insert(None);
        }
        cids.into_iter().collect()
    }
}

/// A user as a plan sees them in one CID: UUID, names, and the roles held there directly, each
/// with its end (`None`: permanent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// The UUID (`None` in the `after` of a user not created yet).
    pub uuid: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Role id → when the grant ends.
    pub roles: BTreeMap<String, Option<DateTime<Utc>>>,
}

/// One user going from what the plan saw to what the roster asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The CID (`None`: the handle's own).
    pub cid: Option<Cid>,
    /// The login.
    pub uid: String,
    /// The roster row asking for it (`None` for a user pruned because no row lists them).
    pub row: Option<usize>,
    /// The user as read (`None`: absent).
    pub before: Option<UserState>,
    /// The user as the roster wants them (`None`: offboarded).
    pub after: Option<UserState>,
}

impl Change {
    /// What the change does, from the state the plan saw.
    pub fn actions(&self) -> Vec<Action> {
        actions(self.before.as_ref(), self.after.as_ref())
    }

    /// `create`, `update` or `offboard`.
    pub fn kind(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, _) => "create",
            (Some(_), Some(_)) => "update",
            (Some(_), None) => "offboard",
        }
    }
}

/// One request-sized step of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    /// Create the user.
    Create {
        /// First name.
        first_name: Option<String>,
        /// Last name.
        last_name: Option<String>,
    },
    /// Change the names.
    Rename {
        /// New first name.
        first_name: Option<String>,
        /// New last name.
        last_name: Option<String>,
    },
    /// Grant roles (again, when only the end changes).
    Grant {
        /// Role ids.
        roles: Vec<String>,
        /// When the grants end (`None`: permanent).
        expires_at: Option<DateTime<Utc>>,
    },
    /// Revoke roles.
    Revoke {
        /// Role ids.
        roles: Vec<String>,
    },
    /// Delete the user (after revoking every role).
    Delete,
}

impl Action {
    /// The action's name: `create`, `rename`, `grant`, `revoke`, `delete`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Rename { .. } => "rename",
            Action::Grant { .. } => "grant",
            Action::Revoke { .. } => "revoke",
            Action::Delete => "delete",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |first: &Option<String>, last: &Option<String>| {
            [first.as_deref(), last.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Action::Create {
                first_name,
                last_name,
            } => {
                let name = names(first_name, last_name);
                if name.is_empty() {
                    write!(f, "create")
                } else {
                    write!(f, "create ({name})")
                }
            }
            Action::Rename {
                first_name,
                last_name,
            } => write!(f, "rename to {}", names(first_name, last_name)),
            Action::Grant { roles, expires_at } => {
                write!(f, "grant {}", roles.join(", "))?;
                if let Some(at) = expires_at {
                    write!(
                        f,
                        " until {}",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )?;
                }
                Ok(())
            }
            Action::Revoke { roles } => write!(f, "revoke {}", roles.join(", ")),
            Action::Delete => write!(f, "delete"),
        }
    }
}

/// A plan: the changes, and what they start from (each change's `before`), ready to save as
/// JSON and apply later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub plan_version: u32,
    /// When the tenant was read.
    pub created_at: DateTime<Utc>,
    /// The mode planned in.
    pub mode: Mode,
    /// Whether users outside the roster were pruned.
    pub prune: bool,
    /// The prune scope.
    pub scope: Option<String>,
    /// The handle's own CID, when its users named it (grants there are addressed to it).
    pub home_cid: Option<Cid>,
    /// The changes, in CID then login order.
    pub changes: Vec<Change>,
    /// Roster users that already match.
    pub unchanged: usize,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Changes by kind: `(create, update, offboard)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |kind| self.changes.iter().filter(|c| c.kind() == kind).count();
        (count("create"), count("update"), count("offboard"))
    }

    /// The CIDs the changes act in.
    pub fn cids(&self) -> BTreeSet<Option<Cid>> {
        self.changes.iter().map(|c| c.cid.clone()).collect()
    }
}

/// The end of a grant added to one perhaps held (`held`): never shorter, so permanent beats
/// temporary and the later end beats the earlier.
pub(crate) fn never_shorter(
    held: Option<Option<DateTime<Utc>>>,
    end: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (held, end) {
        (None, end) => end,
        (Some(None), _) | (Some(Some(_)), None) => None,
        (Some(Some(held)), Some(end)) => Some(held.max(end)),
    }
}

/// Whether two ends of a grant are the same end.
pub(crate) fn same_end(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= SAME_END,
        _ => false,
    }
}

/// The actions that take a user from `current` to `target` (either absent): create, rename,
/// grants (one per end), revoke, delete, in that order, so that a mover gains the new roles
/// before losing the old ones.
///
/// ```
/// use falcon_users::workflows::roster::{Action, UserState, actions};
/// let ann = |roles: &[&str]| UserState {
///     uuid: Some("u1".into()),
///     roles: roles.iter().map(|r| (r.to_string(), None)).collect(),
///     ..UserState::default()
/// };
/// assert_eq!(
///     actions(Some(&ann(&["a", "b"])), Some(&ann(&["b", "c"]))),
///     [
///         Action::Grant { roles: vec!["c".into()], expires_at: None },
///         Action::Revoke { roles: vec!["a".into()] },
///     ]
/// );
/// assert_eq!(actions(Some(&ann(&[])), None), [Action::Delete]);
/// ```
pub fn actions(current: Option<&UserState>, target: Option<&UserState>) -> Vec<Action> {
    let mut out = Vec::new();
    let empty = UserState::default();
    match (current, target) {
        (None, None) => return out,
        (Some(current), None) => {
            if !current.roles.is_empty() {
                out.push(Action::Revoke {
                    roles: current.roles.keys().cloned().collect(),
                });
            }
            out.push(Action::Delete);
            return out;
        }
        (None, Some(target)) => out.push(Action::Create {
            first_name: target.first_name.clone(),
            last_name: target.last_name.clone(),
        }),
        (Some(current), Some(target)) => {
            let differs =
                |want: &Option<String>, have: &Option<String>| want.is_some() && want != have;
            if differs(&target.first_name, &current.first_name)
                || differs(&target.last_name, &current.last_name)
            {
                out.push(Action::Rename {
                    first_name: target.first_name.clone(),
                    last_name: target.last_name.clone(),
                });
            }
        }
    }
    let current = current.unwrap_or(&empty);
    let target = target.unwrap_or(&empty);
    let mut grants: BTreeMap<Option<DateTime<Utc>>, Vec<String>> = BTreeMap::new();
    for (role, end) in &target.roles {
        let held = current.roles.get(role);
        if held.is_none_or(|have| !same_end(*have, *end)) {
            grants.entry(*end).or_default().push(role.clone());
        }
    }
    for (expires_at, roles) in grants {
        out.push(Action::Grant { roles, expires_at });
    }
    let revoke: Vec<String> = current
        .roles
        .keys()
        .filter(|r| !target.roles.contains_key(*r))
        .cloned()
        .collect();
    if !revoke.is_empty() {
        out.push(Action::Revoke { roles: revoke });
    }
    out
}

/// Whether `current` lies on the way from `before` to `after`: the state the change started
/// from, the one it ends in, or one an interrupted apply of it leaves behind. Anything else
/// means someone else changed the user since the plan was made: the reason, to re-plan.
///
/// ```
/// use falcon_users::workflows::roster::{UserState, position};
/// let user = |roles: &[&str]| UserState {
///     uuid: Some("u1".into()),
///     roles: roles.iter().map(|r| (r.to_string(), None)).collect(),
///     ..UserState::default()
/// };
/// let (before, after) = (user(&["a"]), user(&["b"]));
/// assert!(position(Some(&before), Some(&after), Some(&user(&["a", "b"]))).is_ok());
/// assert!(position(Some(&before), Some(&after), Some(&user(&["c"]))).is_err());
/// assert!(position(Some(&before), None, None).is_ok()); // already offboarded
/// ```
pub fn position(
    before: Option<&UserState>,
    after: Option<&UserState>,
    current: Option<&UserState>,
) -> std::result::Result<(), String> {
    let Some(current) = current else {
        return match (before, after) {
            (Some(_), Some(_)) => Err("the user no longer exists".into()),
            _ => Ok(()),
        };
    };
    if let Some(expected) = before.and_then(|b| b.uuid.as_ref())
        && current.uuid.as_ref() != Some(expected)
    {
        return Err(format!(
            "the login now belongs to another user ({})",
            current.uuid.as_deref().unwrap_or("?")
        ));
    }
    if after.is_none() && before.is_none() {
        return Err("the user exists now".into());
    }
    let none = UserState::default();
    let (from, to) = (before.unwrap_or(&none), after.unwrap_or(&none));
    for (which, have, from, to) in [
        (
            "first name",
            &current.first_name,
            &from.first_name,
            &to.first_name,
        ),
        (
            "last name",
            &current.last_name,
            &from.last_name,
            &to.last_name,
        ),
    ] {
        // A user the plan creates may have been created (by it) with its names only.
        let expected_from = if before.is_none() { to } else { from };
        if have != expected_from && !(to.is_some() && have == to) {
            return Err(format!("the {which} changed"));
        }
    }
    for (role, end) in &current.roles {
        let from_end = from.roles.get(role);
        let to_end = to.roles.get(role);
        let matches = |e: Option<&Option<DateTime<Utc>>>| e.is_some_and(|e| same_end(*e, *end));
        if !matches(from_end) && !matches(to_end) {
            return Err(match (from_end, to_end) {
                (None, None) => format!("{role} was granted since"),
                _ => format!("the end of {role} changed"),
            });
        }
    }
    for role in from.roles.keys() {
        if to.roles.contains_key(role) && !current.roles.contains_key(role) {
            return Err(format!("{role} was revoked since"));
        }
    }
    Ok(())
}

/// Plans the changes that make `state` match `roster` at time `now`. Refuses, before planning
/// anything, a roster whose roles or ends do not fit the CIDs read (every problem, with its
/// row), and a plan that crosses a guardrail.
///
/// Temporary grants: a role whose end has passed is no longer wanted; an end more than 7 days
/// ahead cannot be granted; one less than an hour ahead only if it is already held so.
/// Additive mode never shortens: a held permanent role stays permanent, and of two ends the
/// later wins.
pub fn plan(
    roster: &Roster,
    state: &TenantState,
    options: &PlanOptions,
    now: DateTime<Utc>,
) -> Result<Plan> {
    if options.prune && options.scope.is_none() {
        return Err(Error::PlanRefused {
            reason: "pruning needs a scope (FQL on users, such as uid:'*@example.com'): the \
                     users the roster speaks for"
                .into(),
        });
    }
    let earliest = now + Duration::hours(*GRANT_EXPIRY_HOURS.start());
    let latest = now + Duration::hours(*GRANT_EXPIRY_HOURS.end());
    // The handle's own CID, named by its hex in a roster, is the handle's own CID.
    let home_named = state.cids.get(&None).and_then(|s| s.named.clone());
    let key = |cid: &Option<Cid>| match cid {
        Some(c) if home_named.as_deref() == Some(c.as_str()) => None,
        other => other.clone(),
    };
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut listed: BTreeSet<(Option<Cid>, &str)> = BTreeSet::new();
    for entry in roster.entries() {
        let cid = key(&entry.cid);
        if let Some(c) = &cid
            && !options.member_cids.is_empty()
            && !options.member_cids.contains(c)
        {
            problems.push(RowProblem::new(
                entry.row,
                "cid",
                format!("{c} is not one of the member CIDs being managed"),
            ));
            continue;
        }
        let Some(cid_state) = state.cids.get(&cid) else {
            problems.push(RowProblem::new(
                entry.row,
                "cid",
                format!(
                    "CID {} was not read",
                    cid.as_ref().map_or("(own)", Cid::as_str)
                ),
            ));
            continue;
        };
        listed.insert((cid.clone(), entry.uid.as_str()));
        let before = cid_state.users.get(&entry.uid);
        let mut wanted: BTreeMap<String, Option<DateTime<Utc>>> = BTreeMap::new();
        let mut row_ok = true;
        for role in &entry.roles {
            let id = match cid_state.catalogue.resolve(&role.role) {
                Ok(id) => id,
                Err(why) => {
                    problems.push(RowProblem::new(entry.row, "roles", why));
                    row_ok = false;
                    continue;
                }
            };
            let held = before.and_then(|b| b.roles.get(&id));
            if let Some(end) = role.expires_at {
                if end <= now {
                    continue;
                }
                let held_so = held.is_some_and(|h| same_end(*h, Some(end)));
                if end > latest || (end < earliest && !held_so) {
                    problems.push(RowProblem::new(
                        entry.row,
                        "expires_at",
                        format!(
                            "{} ends {}: a grant can end 1 hour to 7 days from now",
                            role.role,
                            end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ),
                    ));
                    row_ok = false;
                    continue;
                }
            }
            match wanted.get(&id) {
                Some(other) if !same_end(*other, role.expires_at) => {
                    problems.push(RowProblem::new(
                        entry.row,
                        "roles",
                        format!("{id} is listed twice with different ends"),
                    ));
                    row_ok = false;
                }
                _ => {
                    wanted.insert(id, role.expires_at);
                }
            }
        }
        if !row_ok {
            continue;
        }
        let roles = match (options.mode, before) {
            (Mode::Exact, _) | (Mode::Additive, None) => wanted,
            (Mode::Additive, Some(before)) => {
                let mut roles = before.roles.clone();
                for (id, end) in wanted {
                    let merged = never_shorter(roles.get(&id).copied(), end);
                    roles.insert(id, merged);
                }
                roles
            }
        };
        let after = UserState {
            uuid: before.and_then(|b| b.uuid.clone()),
            first_name: entry
                .first_name
                .clone()
                .or_else(|| before.and_then(|b| b.first_name.clone())),
            last_name: entry
                .last_name
                .clone()
                .or_else(|| before.and_then(|b| b.last_name.clone())),
            roles,
        };
        let change = Change {
            cid,
            uid: entry.uid.clone(),
            row: Some(entry.row),
            before: before.cloned(),
            after: Some(after),
        };
        if change.actions().is_empty() {
            unchanged += 1;
        } else {
            changes.push(change);
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Err(Error::Roster { problems });
    }
    if options.prune {
        for (cid, cid_state) in &state.cids {
            let in_scope = cid_state.in_scope.as_ref();
            for (uid, user) in &cid_state.users {
                if listed.contains(&(cid.clone(), uid.as_str()))
                    || !in_scope.is_some_and(|s| s.contains(uid))
                {
                    continue;
                }
                changes.push(Change {
                    cid: cid.clone(),
                    uid: uid.clone(),
                    row: None,
                    before: Some(user.clone()),
                    after: None,
                });
            }
        }
    }
    changes.sort_by(|a, b| (&a.cid, &a.uid).cmp(&(&b.cid, &b.uid)));
    check_guardrails(&changes, &options.guardrails)?;
    Ok(Plan {
        plan_version: PLAN_VERSION,
        created_at: now,
        mode: options.mode,
        prune: options.prune,
        scope: options.scope.clone(),
        home_cid: home_named.as_deref().and_then(|c| c.parse().ok()),
        changes,
        unchanged,
    })
}

/// Refuses a plan that offboards or strips more users than the limits allow.
fn check_guardrails(changes: &[Change], limits: &Guardrails) -> Result<()> {
    let offboard = changes.iter().filter(|c| c.after.is_none()).count();
    if offboard > limits.max_offboard {
        return Err(Error::PlanRefused {
            reason: format!(
                "it would offboard {offboard} users, more than the limit of {}; if the roster \
                 is complete (not a truncated export), raise the limit (--max-offboard {offboard})",
                limits.max_offboard
            ),
        });
    }
    let stripped = changes
        .iter()
        .filter(|c| {
            c.before.as_ref().is_some_and(|b| !b.roles.is_empty())
                && c.after.as_ref().is_some_and(|a| a.roles.is_empty())
        })
        .count();
    if stripped > limits.max_strip {
        return Err(Error::PlanRefused {
            reason: format!(
                "it would revoke every role of {stripped} users, more than the limit of {}; if \
                 that is intended, raise the limit (--max-strip {stripped})",
                limits.max_strip
            ),
        });
    }
    Ok(())
}

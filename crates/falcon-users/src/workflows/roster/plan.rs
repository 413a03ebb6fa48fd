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
use crate::workflows::roster::origin::Origin;
use crate::workflows::roster::rows::{Roster, RosterEntry, RosterRole};
use crate::workflows::roster::state::{CidState, TenantState, UserState};

/// The version of the saved plan format; an apply refuses any other. Version 2 records where
/// the plan was made ([`Origin`]) and every option it was made with.
pub const PLAN_VERSION: u32 = 2;

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
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Guardrails {
    /// The most users a plan may offboard (default 5).
    pub max_offboard: usize,
    /// The most existing users a plan may leave without any role (default 5).
    pub max_strip: usize,
    /// The most users a Flight Control access plan may take access away from: any role in any
    /// child they held through a link (default 5; [`Guardrails::check_removals`]).
    #[serde(default = "default_max_removals")]
    pub max_removals: usize,
}

fn default_max_removals() -> usize {
    5
}

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            max_offboard: 5,
            max_strip: 5,
            max_removals: default_max_removals(),
        }
    }
}

impl Guardrails {
    /// At most 5 users offboarded and 5 left without any role.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most users a plan may offboard.
    pub fn max_offboard(mut self, n: usize) -> Self {
        self.max_offboard = n;
        self
    }

    /// The most existing users a plan may leave without any role.
    pub fn max_strip(mut self, n: usize) -> Self {
        self.max_strip = n;
        self
    }

    /// The most users a Flight Control access plan may take access away from.
    pub fn max_removals(mut self, n: usize) -> Self {
        self.max_removals = n;
        self
    }

    /// No limit: for changes the user named one by one (a bulk offboard of the logins given).
    pub fn unlimited() -> Self {
        Self {
            max_offboard: usize::MAX,
            max_strip: usize::MAX,
            max_removals: usize::MAX,
        }
    }

    /// Refuses a Flight Control access change that takes access (any role in any child) away
    /// from more users than [`Guardrails::max_removals`]: a file missing a group, or a member
    /// list cut short, would otherwise lock a team out of its customers.
    ///
    /// ```
    /// use falcon_users::workflows::roster::Guardrails;
    /// let refused = Guardrails::default().check_removals(6).unwrap_err();
    /// assert!(refused.to_string().contains("--max-removals 6"));
    /// assert!(Guardrails::new().max_removals(6).check_removals(6).is_ok());
    /// ```
    pub fn check_removals(&self, users: usize) -> Result<()> {
        if users > self.max_removals {
            return Err(Error::PlanRefused {
                reason: format!(
                    "it would take access away from {users} users, more than the limit of {}; \
                     if the file is complete and that is intended, raise the limit \
                     (--max-removals {users})",
                    self.max_removals
                ),
            });
        }
        Ok(())
    }

    /// Refuses changes, each from the state `before` to `after` (either absent), that offboard
    /// or strip of every role more users than the limits allow.
    ///
    /// ```
    /// use falcon_users::workflows::roster::{Guardrails, UserState};
    /// let held = UserState { roles: [("a".to_string(), None)].into(), ..UserState::default() };
    /// let leavers = vec![(Some(&held), None); 6];
    /// let refused = Guardrails::default().check(leavers.iter().copied()).unwrap_err();
    /// assert!(refused.to_string().contains("--max-offboard 6"));
    /// let limits = Guardrails::new().max_offboard(6);
    /// assert!(limits.check(leavers.iter().copied()).is_ok());
    /// ```
    pub fn check<'a>(
        &self,
        changes: impl IntoIterator<Item = (Option<&'a UserState>, Option<&'a UserState>)>,
    ) -> Result<()> {
        let (mut offboard, mut stripped) = (0, 0);
        for (before, after) in changes {
            match after {
                None => offboard += 1,
                Some(after) => {
                    if before.is_some_and(|b| !b.roles.is_empty()) && after.roles.is_empty() {
                        stripped += 1;
                    }
                }
            }
        }
        if offboard > self.max_offboard {
            return Err(Error::PlanRefused {
                reason: format!(
                    "it would offboard {offboard} users, more than the limit of {}; if the \
                     roster is complete (not a truncated export), raise the limit \
                     (--max-offboard {offboard})",
                    self.max_offboard
                ),
            });
        }
        if stripped > self.max_strip {
            return Err(Error::PlanRefused {
                reason: format!(
                    "it would revoke every role of {stripped} users, more than the limit of {}; \
                     if that is intended, raise the limit (--max-strip {stripped})",
                    self.max_strip
                ),
            });
        }
        Ok(())
    }
}

/// How to plan. Saved in the plan (all but [`PlanOptions::concurrency`], which is how the state
/// is read, not what the plan says).
///
/// ```
/// use falcon_users::workflows::roster::{Guardrails, Mode, PlanOptions};
/// let options = PlanOptions::new()
///     .mode(Mode::Exact)
///     .prune_in("uid:'*@example.com'")
///     .guardrails(Guardrails::new().max_offboard(20))
///     .concurrency(16);
/// assert!(options.prune);
/// assert_eq!(options.guardrails.max_offboard, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
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
    /// Grants listings in flight at once while the state is read (default 8; 0 counts as 1).
    #[serde(skip, default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_concurrency() -> usize {
    8
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            prune: false,
            scope: None,
            guardrails: Guardrails::default(),
            member_cids: Vec::new(),
            concurrency: default_concurrency(),
        }
    }
}

impl PlanOptions {
    /// Additive, no pruning, the default guardrails, the handle's own CID.
    pub fn new() -> Self {
        Self::default()
    }

    /// Additive (default) or exact.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Offboard the users matching the FQL `scope` whom the roster does not list.
    pub fn prune_in(mut self, scope: impl Into<String>) -> Self {
        self.prune = true;
        self.scope = Some(scope.into());
        self
    }

    /// Pruning on or off, keeping the scope (a plan refuses pruning without one).
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// The users the roster speaks for (FQL on users), without pruning.
    pub fn scope(mut self, scope: Option<String>) -> Self {
        self.scope = scope;
        self
    }

    /// The limits.
    pub fn guardrails(mut self, guardrails: Guardrails) -> Self {
        self.guardrails = guardrails;
        self
    }

    /// Member CIDs to manage besides those the roster names.
    pub fn member_cids(mut self, cids: impl IntoIterator<Item = Cid>) -> Self {
        self.member_cids = cids.into_iter().collect();
        self
    }

    /// Grants listings in flight at once while the state is read (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

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

/// One user going from what the plan saw to what the roster asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
/// JSON and apply later, with where and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub plan_version: u32,
    /// When the tenant was read.
    pub created_at: DateTime<Utc>,
    /// The version of the library that made it.
    pub tool_version: String,
    /// Where it was made: an apply elsewhere is refused.
    pub made_against: Origin,
    /// The options it was made with (the guardrails as they were then: an apply checks its
    /// own).
    pub options: PlanOptions,
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
    refuse_pruning_without_scope(options)?;
    let window = GrantWindow::at(now);
    // The handle's own CID, named by its hex in a roster, is the handle's own CID.
    let home_named = state.cids.get(&None).and_then(|s| s.named.as_deref());
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut listed: BTreeSet<(Option<Cid>, &str)> = BTreeSet::new();
    for entry in roster.entries() {
        let (cid, cid_state) = match row_cid(entry, state, options, home_named) {
            Ok(found) => found,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        listed.insert((cid.clone(), entry.uid.as_str()));
        let before = cid_state.users.get(&entry.uid);
        let wanted = match wanted_roles(entry, cid_state, before, &window) {
            Ok(wanted) => wanted,
            Err(row_problems) => {
                problems.extend(row_problems);
                continue;
            }
        };
        let roles = target_roles(options.mode, before, wanted);
        let change = Change {
            cid,
            uid: entry.uid.clone(),
            row: Some(entry.row),
            before: before.cloned(),
            after: Some(target_user(entry, before, roles)),
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
        changes.extend(pruned(state, &listed));
    }
    changes.sort_by(|a, b| (&a.cid, &a.uid).cmp(&(&b.cid, &b.uid)));
    options.guardrails.check(
        changes
            .iter()
            .map(|c| (c.before.as_ref(), c.after.as_ref())),
    )?;
    Ok(Plan::new(state, options.clone(), now, changes, unchanged))
}

/// Pruning offboards the users the roster speaks for and does not list: without a scope that
/// would be every user of the tenant.
fn refuse_pruning_without_scope(options: &PlanOptions) -> Result<()> {
    if options.prune && options.scope.is_none() {
        return Err(Error::PlanRefused {
            reason: "pruning needs a scope (FQL on users, such as uid:'*@example.com'): the \
                     users the roster speaks for"
                .into(),
        });
    }
    Ok(())
}

/// When a temporary grant made now may end ([`GRANT_EXPIRY_HOURS`] from `now`).
struct GrantWindow {
    now: DateTime<Utc>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
}

impl GrantWindow {
    fn at(now: DateTime<Utc>) -> Self {
        GrantWindow {
            now,
            earliest: now + Duration::hours(*GRANT_EXPIRY_HOURS.start()),
            latest: now + Duration::hours(*GRANT_EXPIRY_HOURS.end()),
        }
    }
}

/// The CID a row acts in (the handle's own CID named by its hex is the handle's own, `None`),
/// with its state: a problem when it is not one of the member CIDs managed, or was not read.
fn row_cid<'s>(
    entry: &RosterEntry,
    state: &'s TenantState,
    options: &PlanOptions,
    home_named: Option<&str>,
) -> std::result::Result<(Option<Cid>, &'s CidState), RowProblem> {
    let cid = match &entry.cid {
        Some(c) if home_named == Some(c.as_str()) => None,
        other => other.clone(),
    };
    if let Some(c) = &cid
        && !options.member_cids.is_empty()
        && !options.member_cids.contains(c)
    {
        return Err(RowProblem::new(
            entry.row,
            "cid",
            format!("{c} is not one of the member CIDs being managed"),
        ));
    }
    match state.cids.get(&cid) {
        Some(cid_state) => Ok((cid, cid_state)),
        None => Err(RowProblem::new(
            entry.row,
            "cid",
            format!(
                "CID {} was not read",
                cid.as_ref().map_or("(own)", Cid::as_str)
            ),
        )),
    }
}

/// The roles a row asks for, by id, with their ends: each resolved in the CID's catalogue and
/// its end checked; a role whose end has passed is left out. Every problem of the row, in the
/// order of its roles, when any.
fn wanted_roles(
    entry: &RosterEntry,
    cid_state: &CidState,
    before: Option<&UserState>,
    window: &GrantWindow,
) -> std::result::Result<BTreeMap<String, Option<DateTime<Utc>>>, Vec<RowProblem>> {
    let mut wanted: BTreeMap<String, Option<DateTime<Utc>>> = BTreeMap::new();
    let mut problems = Vec::new();
    for role in &entry.roles {
        let id = match cid_state.catalogue.resolve(&role.role) {
            Ok(id) => id,
            Err(why) => {
                problems.push(RowProblem::new(entry.row, "roles", why));
                continue;
            }
        };
        let held = before.and_then(|b| b.roles.get(&id));
        match check_end(entry.row, role, held, window) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        }
        if let Err(problem) = want_once(&mut wanted, id, role.expires_at, entry.row) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(wanted)
    } else {
        Err(problems)
    }
}

/// Whether a role's end is still wanted (`false`: it has passed) and can be granted: no more
/// than 7 days ahead, and no less than an hour ahead unless the role is already held so.
fn check_end(
    row: usize,
    role: &RosterRole,
    held: Option<&Option<DateTime<Utc>>>,
    window: &GrantWindow,
) -> std::result::Result<bool, RowProblem> {
    let Some(end) = role.expires_at else {
        return Ok(true);
    };
    if end <= window.now {
        return Ok(false);
    }
    let held_so = held.is_some_and(|h| same_end(*h, Some(end)));
    if end > window.latest || (end < window.earliest && !held_so) {
        return Err(RowProblem::new(
            row,
            "expires_at",
            format!(
                "{} ends {}: a grant can end 1 hour to 7 days from now",
                role.role,
                end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
    }
    Ok(true)
}

/// Adds a role to those wanted; the same role listed twice must have the same end.
fn want_once(
    wanted: &mut BTreeMap<String, Option<DateTime<Utc>>>,
    id: String,
    end: Option<DateTime<Utc>>,
    row: usize,
) -> std::result::Result<(), RowProblem> {
    match wanted.get(&id) {
        Some(other) if !same_end(*other, end) => Err(RowProblem::new(
            row,
            "roles",
            format!("{id} is listed twice with different ends"),
        )),
        _ => {
            wanted.insert(id, end);
            Ok(())
        }
    }
}

/// The roles a user ends with: those wanted (exact mode, or a new user), or in additive mode
/// those held merged with those wanted, never shorter ([`never_shorter`]).
fn target_roles(
    mode: Mode,
    before: Option<&UserState>,
    wanted: BTreeMap<String, Option<DateTime<Utc>>>,
) -> BTreeMap<String, Option<DateTime<Utc>>> {
    match (mode, before) {
        (Mode::Exact, _) | (Mode::Additive, None) => wanted,
        (Mode::Additive, Some(before)) => {
            let mut roles = before.roles.clone();
            for (id, end) in wanted {
                let merged = never_shorter(roles.get(&id).copied(), end);
                roles.insert(id, merged);
            }
            roles
        }
    }
}

/// The user a row asks for: its names, or the names held when it gives none, and `roles`.
fn target_user(
    entry: &RosterEntry,
    before: Option<&UserState>,
    roles: BTreeMap<String, Option<DateTime<Utc>>>,
) -> UserState {
    UserState {
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
    }
}

/// The offboarding of every user in the prune scope the roster does not list (by CID and login).
fn pruned(state: &TenantState, listed: &BTreeSet<(Option<Cid>, &str)>) -> Vec<Change> {
    let mut changes = Vec::new();
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
    changes
}

impl Plan {
    /// A plan of `changes` to `state`, made now with `options`.
    pub(crate) fn new(
        state: &TenantState,
        options: PlanOptions,
        now: DateTime<Utc>,
        changes: Vec<Change>,
        unchanged: usize,
    ) -> Plan {
        Plan {
            plan_version: PLAN_VERSION,
            created_at: now,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            made_against: state.origin.clone(),
            options,
            changes,
            unchanged,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::model::catalogue::Catalogue;
    use crate::workflows::roster::state::CidState;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn user(roles: &[(&str, Option<i64>)]) -> UserState {
        UserState {
            uuid: Some("u".into()),
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            roles: roles
                .iter()
                .map(|(r, hours)| (r.to_string(), hours.map(|h| now() + Duration::hours(h))))
                .collect(),
        }
    }

    /// A tenant with `ann@example.com` holding `held`, and `bob@example.com` holding `a`.
    fn tenant(held: &[(&str, Option<i64>)]) -> TenantState {
        let mut users = BTreeMap::new();
        users.insert("ann@example.com".to_owned(), user(held));
        users.insert("bob@example.com".to_owned(), user(&[("a", None)]));
        let cid = CidState {
            catalogue: Catalogue::from_pairs([("a", "Alpha"), ("b", "Beta")]),
            in_scope: Some(users.keys().cloned().collect::<BTreeSet<_>>()),
            users,
            named: None,
        };
        TenantState {
            cids: [(None, cid)].into_iter().collect(),
            origin: Default::default(),
        }
    }

    fn roster(roles: &str) -> Roster {
        let csv = format!("uid,roles\nann@example.com,\"{roles}\"\n");
        Roster::from_csv(csv.as_bytes()).unwrap()
    }

    fn at(hours: i64) -> String {
        (now() + Duration::hours(hours)).to_rfc3339()
    }

    /// (held, roster roles, mode, the roles Ann ends with | the column refused)
    #[test]
    fn what_a_plan_asks_for() {
        let end = |h: i64| Some(now() + Duration::hours(h));
        type Want = std::result::Result<Vec<(&'static str, Option<DateTime<Utc>>)>, &'static str>;
        type Held = Vec<(&'static str, Option<i64>)>;
        let cases: Vec<(Held, String, Mode, Want)> = vec![
            // Additive keeps what the roster leaves out; exact revokes it.
            (
                vec![("a", None)],
                "b".into(),
                Mode::Additive,
                Ok(vec![("a", None), ("b", None)]),
            ),
            (
                vec![("a", None)],
                "b".into(),
                Mode::Exact,
                Ok(vec![("b", None)]),
            ),
            // Names resolve to ids.
            (vec![], "Beta".into(), Mode::Exact, Ok(vec![("b", None)])),
            // Additive never shortens: permanent stays, the later end wins.
            (
                vec![("a", None)],
                format!("a@{}", at(5)),
                Mode::Additive,
                Ok(vec![("a", None)]),
            ),
            (
                vec![("a", Some(50))],
                format!("a@{}", at(5)),
                Mode::Additive,
                Ok(vec![("a", end(50))]),
            ),
            (
                vec![("a", Some(5))],
                "a".into(),
                Mode::Additive,
                Ok(vec![("a", None)]),
            ),
            // Exact follows the roster's end.
            (
                vec![("a", None)],
                format!("a@{}", at(5)),
                Mode::Exact,
                Ok(vec![("a", end(5))]),
            ),
            // A lapsed end is no longer wanted.
            (
                vec![("a", Some(2))],
                format!("a@{}", at(-1)),
                Mode::Exact,
                Ok(vec![]),
            ),
            // Ends beyond 7 days, or under an hour unless already held so, are refused.
            (
                vec![],
                format!("a@{}", at(169)),
                Mode::Exact,
                Err("expires_at"),
            ),
            (
                vec![],
                format!("a@{}", (now() + Duration::minutes(30)).to_rfc3339()),
                Mode::Exact,
                Err("expires_at"),
            ),
            (vec![("a", None)], "zeta".into(), Mode::Exact, Err("roles")),
        ];
        for (held, roles, mode, want) in cases {
            let options = PlanOptions {
                mode,
                ..PlanOptions::default()
            };
            let got = plan(&roster(&roles), &tenant(&held), &options, now());
            match (got, want) {
                (Ok(p), Ok(want)) => {
                    let after = p
                        .changes
                        .first()
                        .and_then(|c| c.after.clone())
                        .map_or_else(|| user(&held).roles, |a| a.roles);
                    let want: BTreeMap<String, Option<DateTime<Utc>>> =
                        want.into_iter().map(|(r, e)| (r.to_owned(), e)).collect();
                    assert_eq!(after, want, "{held:?} + {roles} ({mode:?})");
                }
                (Err(Error::Roster { problems }), Err(column)) => {
                    assert_eq!(problems[0].column, column, "{roles}: {problems:?}");
                }
                (got, want) => panic!("{held:?} + {roles}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn a_role_held_until_soon_is_kept_not_refused() {
        let soon = Duration::minutes(30);
        let mut state = tenant(&[]);
        let cid = state.cids.get_mut(&None).unwrap();
        let ann = cid.users.get_mut("ann@example.com").unwrap();
        ann.roles.insert("a".into(), Some(now() + soon));
        let p = plan(
            &roster(&format!("a@{}", (now() + soon).to_rfc3339())),
            &state,
            &PlanOptions {
                mode: Mode::Exact,
                ..PlanOptions::default()
            },
            now(),
        )
        .unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn pruning_offboards_only_in_scope_and_within_the_limit() {
        let options = |max_offboard| PlanOptions {
            prune: true,
            scope: Some("uid:'*'".into()),
            guardrails: Guardrails {
                max_offboard,
                ..Guardrails::default()
            },
            ..PlanOptions::default()
        };
        let p = plan(&roster("a"), &tenant(&[("a", None)]), &options(1), now()).unwrap();
        assert_eq!(p.counts(), (0, 0, 1));
        assert_eq!(p.changes[0].uid, "bob@example.com");
        assert_eq!(
            p.changes[0].actions(),
            [
                Action::Revoke {
                    roles: vec!["a".into()]
                },
                Action::Delete
            ]
        );
        let refused = plan(&roster("a"), &tenant(&[("a", None)]), &options(0), now());
        assert!(
            matches!(refused, Err(Error::PlanRefused { .. })),
            "{refused:?}"
        );

        let mut out_of_scope = tenant(&[("a", None)]);
        out_of_scope.cids.get_mut(&None).unwrap().in_scope = Some(BTreeSet::new());
        assert!(
            plan(&roster("a"), &out_of_scope, &options(0), now())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_row_without_names_leaves_the_names_alone() {
        let p = plan(
            &roster("a"),
            &tenant(&[("a", None)]),
            &PlanOptions::default(),
            now(),
        )
        .unwrap();
        assert!(p.is_empty(), "{p:?}");
        let renamed =
            Roster::from_csv("uid,first_name,roles\nann@example.com,Annie,a\n".as_bytes()).unwrap();
        let p = plan(
            &renamed,
            &tenant(&[("a", None)]),
            &PlanOptions::default(),
            now(),
        )
        .unwrap();
        assert_eq!(
            p.changes[0].actions(),
            [Action::Rename {
                first_name: Some("Annie".into()),
                last_name: Some("Lee".into())
            }]
        );
    }

    /// Where an interrupted or raced change may be found, and what counts as moved.
    #[test]
    fn positions_on_and_off_the_way() {
        let u = |roles: &[&str]| user(&roles.iter().map(|r| (*r, None)).collect::<Vec<_>>());
        let other = UserState {
            uuid: Some("v".into()),
            ..u(&["a"])
        };
        let renamed = UserState {
            first_name: Some("Zed".into()),
            ..u(&["a"])
        };
        type Case = (
            Option<UserState>,
            Option<UserState>,
            Option<UserState>,
            bool,
        );
        let cases: Vec<Case> = vec![
            (Some(u(&["a"])), Some(u(&["b"])), Some(u(&["a"])), true),
            (Some(u(&["a"])), Some(u(&["b"])), Some(u(&["a", "b"])), true),
            (Some(u(&["a"])), Some(u(&["b"])), Some(u(&["b"])), true),
            (Some(u(&["a"])), Some(u(&["b"])), Some(u(&[])), true),
            (
                Some(u(&["a", "c"])),
                Some(u(&["c"])),
                Some(u(&["a"])),
                false,
            ),
            (
                Some(u(&["a"])),
                Some(u(&["b"])),
                Some(u(&["a", "z"])),
                false,
            ),
            (Some(u(&["a"])), Some(u(&["b"])), Some(other.clone()), false),
            (Some(u(&["a"])), Some(u(&["a"])), Some(renamed), false),
            (Some(u(&["a"])), Some(u(&["b"])), None, false),
            (None, Some(u(&["a"])), None, true),
            (None, Some(u(&["a"])), Some(u(&[])), true),
            (None, Some(u(&["a"])), Some(u(&["z"])), false),
            (Some(u(&["a"])), None, None, true),
            (Some(u(&["a"])), None, Some(u(&[])), true),
            (Some(u(&["a"])), None, Some(other), false),
        ];
        for (before, after, now, on_the_way) in cases {
            let got = position(before.as_ref(), after.as_ref(), now.as_ref());
            assert_eq!(
                got.is_ok(),
                on_the_way,
                "{before:?} → {after:?} at {now:?}: {got:?}"
            );
        }
    }
}

//! The access review: every user with their grants, read once, and what a reviewer should look
//! at, as findings (a user, a CID and why): users without roles, privileged roles, stale
//! accounts, temporary grants about to end, grants held in child CIDs, and inactive users who
//! still hold roles.
//!
//! The decisions are pure functions ([`row_findings`], [`judge`], [`is_privileged_permission`]),
//! tested as tables; [`Falcon::review`] only reads (one inventory, plus the roles and their
//! permissions once per CID) and feeds them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::model::views::{Grant, GrantView, UserView};
use chrono::{DateTime, Duration, Utc};
use falcon_users_api::types::DomainRole;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};

/// What a finding is about. The kebab-case [`FindingKind::name`] is stable: scripts match on it
/// (the CLI's `--fail-on`, the `finding` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The user holds no role: an account nobody needs, or one provisioned half way.
    NoRoles,
    /// The user holds a privileged role (see [`judge`]).
    Privileged,
    /// No login for the stale window, or never logged in and created before it.
    Stale,
    /// A temporary grant ends within the expiring window.
    Expiring,
    /// The user holds roles in a Flight Control child CID.
    ChildCidGrant,
    /// The user is not active but still holds roles.
    InactiveWithRoles,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 6] = [
        FindingKind::NoRoles,
        FindingKind::Privileged,
        FindingKind::Stale,
        FindingKind::Expiring,
        FindingKind::ChildCidGrant,
        FindingKind::InactiveWithRoles,
    ];

    /// The stable name: `no-roles`, `privileged`, `stale`, `expiring`, `child-cid-grant`,
    /// `inactive-with-roles`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::NoRoles => "no-roles",
            FindingKind::Privileged => "privileged",
            FindingKind::Stale => "stale",
            FindingKind::Expiring => "expiring",
            FindingKind::ChildCidGrant => "child-cid-grant",
            FindingKind::InactiveWithRoles => "inactive-with-roles",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FindingKind {
    type Err = String;

    /// A kind by its name (any case).
    ///
    /// ```
    /// use falcon_users::workflows::review::FindingKind;
    /// assert_eq!("Stale".parse::<FindingKind>(), Ok(FindingKind::Stale));
    /// assert!("old".parse::<FindingKind>().unwrap_err().contains("child-cid-grant"));
    /// ```
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let wanted = text.trim().to_lowercase();
        FindingKind::ALL
            .into_iter()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = FindingKind::ALL.iter().map(|k| k.name()).collect();
                format!("no finding {text:?}: one of {}", names.join(", "))
            })
    }
}

/// One finding: who, where, which roles and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    #[serde(rename = "finding")]
    pub kind: FindingKind,
    /// The user's login.
    pub uid: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// The CID it concerns: where the grants are held, or the user's home CID.
    pub cid: String,
    /// The role ids concerned (for `stale` and `inactive-with-roles`: every role the user
    /// still holds there; none for `no-roles`).
    pub roles: Vec<String>,
    /// Their display names, in the same order.
    pub role_names: Vec<String>,
    /// Why, as a sentence fragment a reviewer reads (`last login 2025-03-01, 276 days ago`).
    pub why: String,
}

/// How a role's privilege was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// From the permissions the role grants (`entitiesRolePermissionsV1`).
    Permissions,
    /// From [`FALLBACK_PRIVILEGED_ROLES`]: the permissions could not be read (403) or are
    /// unknown (the role has none listed, or the read answered 404).
    Fallback,
    /// From the caller's own list of privileged role ids.
    Override,
}

/// A role and whether holding it is privileged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleVerdict {
    /// The role id.
    pub role_id: String,
    /// Its display name.
    pub role_name: String,
    /// Holding it is privileged.
    pub privileged: bool,
    /// How that was decided.
    pub basis: Basis,
}

/// The built-in roles judged privileged when their permissions cannot be read: those that
/// administer users and roles (`falcon_administrator`, `user_admin`), the platform's
/// configuration (`falconhost_admin`, "Falcon Security Lead"), or run commands on hosts
/// (`remote_responder_three`, "Real Time Responder – Administrator").
pub const FALLBACK_PRIVILEGED_ROLES: &[&str] = &[
    "falcon_administrator",
    "user_admin",
    "falconhost_admin",
    "remote_responder_three",
];

/// Words in a permission id that name who has access.
const ACCESS_WORDS: &[&str] = &[
    "user", "users", "role", "roles", "grant", "grants", "usermgmt", "access",
];
/// Words in a permission id that name a change.
const CHANGE_WORDS: &[&str] = &[
    "write", "manage", "create", "update", "delete", "assign", "revoke", "edit", "all",
];
/// Words in a permission id that name administration on their own.
const ADMIN_WORDS: &[&str] = &["admin", "administrator", "administer", "superuser", "owner"];

/// Whether a permission is privileged: it administers (a word such as `admin`) or it changes
/// who has access (a word naming users, roles, grants or access together with a change such
/// as `write`, `manage`, `create`, `delete`, `assign`). Words are the id's alphanumeric runs,
/// any case: `users:write`, `user-management:manage`, `Admin` are privileged; `users:read`,
/// `hosts:write`, `detections:update` are not (they change hosts and detections, not access).
///
/// ```
/// use falcon_users::workflows::review::is_privileged_permission;
/// assert!(is_privileged_permission("users:write"));
/// assert!(!is_privileged_permission("users:read"));
/// assert!(!is_privileged_permission("hosts:write"));
/// ```
pub fn is_privileged_permission(id: &str) -> bool {
    let words: Vec<String> = id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    has(ADMIN_WORDS) || (has(ACCESS_WORDS) && has(CHANGE_WORDS))
}

/// Whether `role` is privileged, and why: by `privileged_roles` when the caller gave one (ids,
/// any case); else by its permissions when they are known (any privileged permission, see
/// [`is_privileged_permission`]); else by [`FALLBACK_PRIVILEGED_ROLES`]. An empty permission
/// list counts as unknown: a role that grants nothing is not worth a role.
///
/// ```
/// use falcon_users::types::DomainRole;
/// use falcon_users::workflows::review::{Basis, judge};
/// let role = DomainRole {
///     cid: None,
///     description: String::new(),
///     display_name: "Falcon User Admin".into(),
///     id: "user_admin".into(),
///     is_global: true,
/// };
/// let verdict = judge(&role, None, None);
/// assert!(verdict.privileged);
/// assert_eq!(verdict.basis, Basis::Fallback);
/// let verdict = judge(&role, Some(&["users:read".to_owned()]), None);
/// assert!(!verdict.privileged);
/// ```
pub fn judge(
    role: &DomainRole,
    permissions: Option<&[String]>,
    privileged_roles: Option<&[String]>,
) -> RoleVerdict {
    let (privileged, basis) = match (privileged_roles, permissions) {
        (Some(list), _) => (
            list.iter()
                .any(|id| id.trim().eq_ignore_ascii_case(&role.id)),
            Basis::Override,
        ),
        (None, Some(perms)) if !perms.is_empty() => (
            perms.iter().any(|p| is_privileged_permission(p)),
            Basis::Permissions,
        ),
        (None, _) => (
            FALLBACK_PRIVILEGED_ROLES.contains(&role.id.as_str()),
            Basis::Fallback,
        ),
    };
    RoleVerdict {
        role_id: role.id.clone(),
        role_name: role.display_name.clone(),
        privileged,
        basis,
    }
}

/// The windows of a review and the time it is judged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewOptions {
    /// A login older than this many days (or none, and created before) is stale.
    pub stale_days: u32,
    /// A temporary grant ending within this many days is reported.
    pub expiring_days: u32,
    /// Now.
    pub now: DateTime<Utc>,
}

/// `3 days`, `5 hours`, `20 minutes`: how long a span is, roughly.
fn span(duration: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if duration.num_days() >= 1 {
        plural(duration.num_days(), "day")
    } else if duration.num_hours() >= 1 {
        plural(duration.num_hours(), "hour")
    } else {
        plural(duration.num_minutes().max(0), "minute")
    }
}

/// The findings of one inventory row. `member_cid` is the child CID the row was read in
/// (`None`: the handle's own CID); `roles` judges and names the roles (a role it does not
/// know is named by the grant, else by its id, and judged by [`FALLBACK_PRIVILEGED_ROLES`]).
/// A row whose user was deleted during the read has no findings. Findings come in
/// [`FindingKind::ALL`] order; `expiring` gives one per grant, the others one per user.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use falcon_users::types::DomainUser;
/// use falcon_users::workflows::UserWithGrants;
/// use falcon_users::workflows::review::{FindingKind, ReviewOptions, RoleBook, row_findings};
///
/// let row = UserWithGrants {
///     user: DomainUser {
///         uid: Some("ann@example.com".into()),
///         created_at: Some("2025-01-01T00:00:00Z".into()),
///         ..DomainUser::default()
///     },
///     grants: vec![],
///     deleted: false,
/// };
/// let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let options = ReviewOptions { stale_days: 90, expiring_days: 7, now };
/// let kinds: Vec<FindingKind> = row_findings(&row, None, &RoleBook::default(), &options)
///     .into_iter()
///     .map(|f| f.kind)
///     .collect();
/// assert_eq!(kinds, [FindingKind::NoRoles, FindingKind::Stale]);
/// ```
pub fn row_findings(
    row: &UserWithGrants,
    member_cid: Option<&str>,
    roles: &RoleBook,
    options: &ReviewOptions,
) -> Vec<Finding> {
    if row.deleted {
        return Vec::new();
    }
    let user = &row.user;
    let home = user.cid.clone().unwrap_or_default();
    let grant_cid = |g: &Grant| {
        g.cid
            .clone()
            .or_else(|| member_cid.map(str::to_owned))
            .unwrap_or_else(|| home.clone())
    };
    let name_of = |g: &Grant| {
        g.role_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| roles.get(&g.role_id).map(|v| v.role_name.clone()))
            .unwrap_or_else(|| g.role_id.clone())
    };
    let where_held = row
        .grants
        .first()
        .map(grant_cid)
        .or_else(|| member_cid.map(str::to_owned))
        .unwrap_or_else(|| home.clone());
    let all_ids: Vec<String> = row.grants.iter().map(|g| g.role_id.clone()).collect();
    let all_names: Vec<String> = row.grants.iter().map(name_of).collect();
    let finding = |kind, cid: String, roles: Vec<String>, role_names: Vec<String>, why| Finding {
        kind,
        uid: user.uid.clone().unwrap_or_default(),
        user_uuid: user.uuid.clone().unwrap_or_default(),
        cid,
        roles,
        role_names,
        why,
    };
    let mut found = Vec::new();

    if row.grants.is_empty() {
        found.push(finding(
            FindingKind::NoRoles,
            where_held.clone(),
            Vec::new(),
            Vec::new(),
            "holds no role".to_owned(),
        ));
    }

    let privileged: Vec<_> = row
        .grants
        .iter()
        .filter(|g| roles.is_privileged(&g.role_id))
        .collect();
    if !privileged.is_empty() {
        let names: Vec<String> = privileged.iter().map(|g| name_of(g)).collect();
        found.push(finding(
            FindingKind::Privileged,
            grant_cid(privileged[0]),
            privileged.iter().map(|g| g.role_id.clone()).collect(),
            names.clone(),
            format!("holds {}", names.join(", ")),
        ));
    }

    let window = Duration::days(i64::from(options.stale_days));
    let cutoff = options.now - window;
    let stale_why = match (
        UserView::last_login_at(user),
        user.last_login_at.as_deref().map(str::trim),
    ) {
        (Some(at), _) if at < cutoff => Some(format!(
            "last login {}, {} ago",
            at.format("%Y-%m-%d"),
            span(options.now - at)
        )),
        (Some(_), _) => None,
        // An unreadable time says nothing either way.
        (None, Some(text)) if !text.is_empty() => None,
        (None, _) => match UserView::created_at(user) {
            Some(created) if created < cutoff => Some(format!(
                "never logged in; created {}, {} ago",
                created.format("%Y-%m-%d"),
                span(options.now - created)
            )),
            _ => None,
        },
    };
    if let Some(why) = stale_why {
        found.push(finding(
            FindingKind::Stale,
            where_held.clone(),
            all_ids.clone(),
            all_names.clone(),
            why,
        ));
    }

    let horizon = options.now + Duration::days(i64::from(options.expiring_days));
    for grant in &row.grants {
        let Some(at) = GrantView::expires_at(grant) else {
            continue;
        };
        if at > horizon {
            continue;
        }
        let when = if at <= options.now {
            "ended".to_owned()
        } else {
            format!("in {}", span(at - options.now))
        };
        found.push(finding(
            FindingKind::Expiring,
            grant_cid(grant),
            vec![grant.role_id.clone()],
            vec![name_of(grant)],
            format!(
                "temporary grant ends {} ({when})",
                at.format("%Y-%m-%dT%H:%MZ")
            ),
        ));
    }

    if let Some(child) = member_cid.filter(|_| !row.grants.is_empty()) {
        found.push(finding(
            FindingKind::ChildCidGrant,
            child.to_owned(),
            all_ids.clone(),
            all_names.clone(),
            format!("holds {} in child CID {child}", all_names.join(", ")),
        ));
    }

    let status = user.status.as_deref().map(str::trim).unwrap_or_default();
    if !row.grants.is_empty() && !status.is_empty() && !status.eq_ignore_ascii_case("active") {
        found.push(finding(
            FindingKind::InactiveWithRoles,
            where_held,
            all_ids,
            all_names.clone(),
            format!("status {status}, still holds {}", all_names.join(", ")),
        ));
    }
    found
}

/// The roles of the CIDs reviewed, by id, with their verdicts. Built-in role ids are the same
/// in every CID and custom ones are unique, so one book serves a fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleBook {
    roles: HashMap<String, RoleVerdict>,
    /// How a role id the book does not know is judged: these ids are privileged
    /// (`None`: [`FALLBACK_PRIVILEGED_ROLES`]).
    unknown: Option<Vec<String>>,
}

impl RoleBook {
    /// A book of these verdicts (the first verdict of an id is kept).
    pub fn new(verdicts: impl IntoIterator<Item = RoleVerdict>) -> Self {
        let mut book = RoleBook::default();
        book.extend(verdicts);
        book
    }

    /// Adds verdicts; an id already known keeps its first verdict.
    pub fn extend(&mut self, verdicts: impl IntoIterator<Item = RoleVerdict>) {
        for verdict in verdicts {
            self.roles.entry(verdict.role_id.clone()).or_insert(verdict);
        }
    }

    /// The verdict on a role id.
    pub fn get(&self, role_id: &str) -> Option<&RoleVerdict> {
        self.roles.get(role_id)
    }

    /// Judges the role ids the book does not know by `privileged_roles` (any case) instead of
    /// [`FALLBACK_PRIVILEGED_ROLES`].
    pub fn judge_unknown_by(mut self, privileged_roles: Vec<String>) -> Self {
        self.unknown = Some(privileged_roles);
        self
    }

    /// Whether holding `role_id` is privileged; a role the book does not know is judged by
    /// [`RoleBook::judge_unknown_by`]'s list, else by [`FALLBACK_PRIVILEGED_ROLES`].
    ///
    /// ```
    /// use falcon_users::workflows::review::RoleBook;
    /// assert!(RoleBook::default().is_privileged("falcon_administrator"));
    /// let only_guest = RoleBook::default().judge_unknown_by(vec!["falcon_console_guest".into()]);
    /// assert!(!only_guest.is_privileged("falcon_administrator"));
    /// assert!(only_guest.is_privileged("Falcon_Console_Guest"));
    /// ```
    pub fn is_privileged(&self, role_id: &str) -> bool {
        match (self.get(role_id), &self.unknown) {
            (Some(verdict), _) => verdict.privileged,
            (None, Some(list)) => list
                .iter()
                .any(|id| id.trim().eq_ignore_ascii_case(role_id)),
            (None, None) => FALLBACK_PRIVILEGED_ROLES.contains(&role_id),
        }
    }

    /// Every verdict, by role id.
    pub fn verdicts(&self) -> Vec<&RoleVerdict> {
        let mut all: Vec<&RoleVerdict> = self.roles.values().collect();
        all.sort_by(|a, b| a.role_id.cmp(&b.role_id));
        all
    }
}

/// How many users hold a role, and the findings that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleTally {
    /// The role id.
    pub role_id: String,
    /// Its display name.
    pub role_name: String,
    /// Holding it is privileged.
    pub privileged: bool,
    /// Users holding it (a user holding it in two CIDs counts twice).
    pub holders: u64,
    /// Findings naming it, per kind (kinds with none left out).
    pub findings: BTreeMap<FindingKind, u64>,
}

/// The counts of a review: users read, findings per kind, and per role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReviewSummary {
    /// Users reviewed (deleted during the read: not counted).
    pub users: u64,
    /// Findings per kind; every kind is present, with 0 when none.
    pub findings: BTreeMap<FindingKind, u64>,
    /// Every role held by someone or named by a finding, by role id.
    pub roles: Vec<RoleTally>,
}

impl ReviewSummary {
    /// Counts `row` with its `findings` (from [`row_findings`]).
    pub fn add(&mut self, row: &UserWithGrants, findings: &[Finding], roles: &RoleBook) {
        if row.deleted {
            return;
        }
        for kind in FindingKind::ALL {
            self.findings.entry(kind).or_insert(0);
        }
        self.users += 1;
        for grant in &row.grants {
            let i = tally(
                &mut self.roles,
                roles,
                &grant.role_id,
                grant.role_name.as_deref(),
            );
            self.roles[i].holders += 1;
        }
        for finding in findings {
            *self.findings.entry(finding.kind).or_insert(0) += 1;
            for (id, name) in finding.roles.iter().zip(&finding.role_names) {
                let i = tally(&mut self.roles, roles, id, Some(name));
                *self.roles[i].findings.entry(finding.kind).or_insert(0) += 1;
            }
        }
    }
}

/// The index of `id`'s tally in `tallies` (sorted by role id), added if new.
fn tally(tallies: &mut Vec<RoleTally>, roles: &RoleBook, id: &str, name: Option<&str>) -> usize {
    match tallies.binary_search_by(|t| t.role_id.as_str().cmp(id)) {
        Ok(i) => i,
        Err(i) => {
            let role_name = name
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .or_else(|| roles.get(id).map(|v| v.role_name.clone()))
                .unwrap_or_else(|| id.to_owned());
            tallies.insert(
                i,
                RoleTally {
                    role_id: id.to_owned(),
                    role_name,
                    privileged: roles.is_privileged(id),
                    holders: 0,
                    findings: BTreeMap::new(),
                },
            );
            i
        }
    }
}

/// What [`Falcon::review`] found.
#[derive(Debug)]
pub struct ReviewReport {
    /// The counts.
    pub summary: ReviewSummary,
    /// Every finding, in user order per CID (the handle's own CID first).
    pub findings: Vec<Finding>,
    /// The verdict on every role of the CIDs reviewed.
    pub roles: Vec<RoleVerdict>,
    /// Child CIDs whose review failed, with the failure (their rows so far are counted).
    pub failed: Vec<(Cid, Error)>,
    /// Users deleted while the inventory ran (left out).
    pub deleted: u64,
}

/// What [`Falcon::review`] reviews and how.
#[derive(Debug, Clone)]
pub struct Review {
    /// See [`ReviewOptions::stale_days`]; 90 by default.
    pub stale_days: u32,
    /// See [`ReviewOptions::expiring_days`]; 7 by default (the service lets a temporary grant
    /// run 7 days at most, so by default every temporary grant is reported).
    pub expiring_days: u32,
    /// The time to judge at; `None`: the handle's clock.
    pub now: Option<DateTime<Utc>>,
    /// Which users (all by default).
    pub query: UserQuery,
    /// Flight Control: also review these child CIDs, each through its own member handle.
    pub member_cids: Vec<Cid>,
    /// The privileged role ids, instead of judging each role by its permissions.
    pub privileged_roles: Option<Vec<String>>,
    /// Grants listings (and permission reads) in flight per CID; 8 by default.
    pub concurrency: usize,
    /// Child CIDs worked at once; 4 by default.
    pub children: usize,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            stale_days: 90,
            expiring_days: 7,
            now: None,
            query: UserQuery::new(),
            member_cids: Vec::new(),
            privileged_roles: None,
            concurrency: 8,
            children: 4,
        }
    }
}

impl Falcon {
    /// The roles of this handle's CID with their verdicts ([`judge`]): the roles read once,
    /// then each role's permissions (`entitiesRolePermissionsV1`, `concurrency` at a time),
    /// unless `privileged_roles` decides. A refused permission read (403) judges every role by
    /// [`FALLBACK_PRIVILEGED_ROLES`] (after one request, with a `tracing` warning); a role the
    /// read does not know (404) is judged by it alone. A refused roles listing (403) gives no
    /// verdicts: [`RoleBook::is_privileged`] then judges each granted role id by the list.
    pub async fn role_verdicts(
        &self,
        privileged_roles: Option<&[String]>,
        concurrency: usize,
    ) -> Result<Vec<RoleVerdict>> {
        let roles = match self.roles().await {
            Ok(roles) => roles,
            // No roles to judge: every grant is then judged by its id alone (RoleBook).
            Err(Error::Api { status: 403, .. }) => {
                warn!(
                    "the roles could not be listed (403): privilege judged from the built-in \
                     administrator roles"
                );
                Vec::new()
            }
            Err(err) => return Err(err),
        };
        if privileged_roles.is_some() || roles.is_empty() {
            return Ok(roles
                .iter()
                .map(|r| judge(r, None, privileged_roles))
                .collect());
        }
        let permissions = |role: DomainRole| async move {
            match self.role_permission_ids(&role.id).await {
                Ok(perms) => Ok((role, Some(perms))),
                Err(e) if e.is_not_found() => Ok((role, None)),
                Err(err) => Err(err),
            }
        };
        let mut roles = roles.into_iter();
        let mut judged = Vec::new();
        if let Some(first) = roles.next() {
            match permissions(first.clone()).await {
                Ok((role, perms)) => judged.push(judge(&role, perms.as_deref(), None)),
                Err(Error::Api { status: 403, .. }) => {
                    warn!(
                        "role permissions refused (403): privilege judged from the built-in \
                         administrator roles"
                    );
                    return Ok(std::iter::once(first)
                        .chain(roles)
                        .map(|r| judge(&r, None, None))
                        .collect());
                }
                Err(err) => return Err(err),
            }
        }
        let rest: Vec<RoleVerdict> = stream::iter(roles)
            .map(permissions)
            .buffered(concurrency.max(1))
            .map_ok(|(role, perms)| judge(&role, perms.as_deref(), None))
            .try_collect()
            .await?;
        judged.extend(rest);
        Ok(judged)
    }

    /// The access review: one inventory read of this handle's CID (and of each of
    /// `review.member_cids`, through [`Falcon::fleet_inventory`]), plus the roles and their
    /// permissions once per CID ([`Falcon::role_verdicts`]); every row goes through
    /// [`row_findings`] as it arrives, so only the findings are kept. A child CID that fails is
    /// reported in [`ReviewReport::failed`] and the others go on; a failure in the handle's
    /// own CID ends the review.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::review::{FindingKind, Review};
    ///
    /// let report = falcon.review(&Review::default()).await?;
    /// for finding in &report.findings {
    ///     println!("{} {} {}: {}", finding.kind, finding.uid, finding.cid, finding.why);
    /// }
    /// println!("{} privileged", report.summary.findings[&FindingKind::Privileged]);
    /// # Ok(()) }
    /// ```
    pub async fn review(&self, review: &Review) -> Result<ReviewReport> {
        let options = ReviewOptions {
            stale_days: review.stale_days,
            expiring_days: review.expiring_days,
            now: review
                .now
                .unwrap_or_else(|| DateTime::<Utc>::from(self.clock().now())),
        };
        let privileged = review.privileged_roles.as_deref();
        let mut book = RoleBook::new(self.role_verdicts(privileged, review.concurrency).await?);
        if let Some(list) = &review.privileged_roles {
            book = book.judge_unknown_by(list.clone());
        }
        let mut failed: Vec<(Cid, Error)> = Vec::new();
        let mut children: Vec<Cid> = Vec::new();
        let member_books = self
            .for_each_cid(&review.member_cids, review.children, |member| async move {
                member.role_verdicts(privileged, review.concurrency).await
            })
            .await;
        for (cid, verdicts) in member_books {
            match verdicts {
                Ok(verdicts) => {
                    book.extend(verdicts);
                    children.push(cid);
                }
                Err(err) => failed.push((cid, err)),
            }
        }

        let mut report = ReviewReport {
            summary: ReviewSummary::default(),
            findings: Vec::new(),
            roles: Vec::new(),
            failed: Vec::new(),
            deleted: 0,
        };
        for kind in FindingKind::ALL {
            report.summary.findings.insert(kind, 0);
        }
        let mut take = |row: &UserWithGrants, member: Option<&str>| {
            if row.deleted {
                report.deleted += 1;
                return;
            }
            let found = row_findings(row, member, &book, &options);
            report.summary.add(row, &found, &book);
            report.findings.extend(found);
        };
        let inventory = InventoryOptions::new()
            .concurrency(review.concurrency)
            .children(review.children);
        let mut own = self.inventory(review.query.clone(), inventory.clone());
        while let Some(row) = own.try_next().await? {
            take(&row, None);
        }
        if !children.is_empty() {
            let mut fleet = self.fleet_inventory(&children, review.query.clone(), inventory);
            // Rows of different children interleave: collected per child, so each child's
            // findings stay together in user order.
            let mut by_child: BTreeMap<usize, Vec<Finding>> = BTreeMap::new();
            while let Some(item) = fleet.next().await {
                let index = children.iter().position(|c| *c == item.cid).unwrap_or(0);
                match item.outcome {
                    Ok(row) if row.deleted => report.deleted += 1,
                    Ok(row) => {
                        let found = row_findings(&row, Some(item.cid.as_str()), &book, &options);
                        report.summary.add(&row, &found, &book);
                        by_child.entry(index).or_default().extend(found);
                    }
                    Err(err) => failed.push((item.cid, err)),
                }
            }
            report.findings.extend(by_child.into_values().flatten());
        }
        report.roles = book.verdicts().into_iter().cloned().collect();
        report.failed = failed;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use falcon_users_api::types::DomainUser;

    use super::*;

    const HOME: &str = "0123456789abcdef0123456789abcdef";
    const CHILD: &str = "fedcba9876543210fedcba9876543210";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn role(id: &str) -> DomainRole {
        DomainRole {
            cid: None,
            description: String::new(),
            display_name: format!("Role {id}"),
            id: id.into(),
            is_global: true,
        }
    }

    fn grant(role_id: &str, expires_at: Option<&str>) -> Grant {
        Grant {
            cid: Some(HOME.into()),
            cid_group_id: None,
            cid_group_name: None,
            expires_at: expires_at.map(str::to_owned),
            grant_type: Some("direct".into()),
            parent_cid: None,
            role_id: role_id.into(),
            role_name: None,
            user_group_id: None,
            user_group_name: None,
            user_type: None,
            uuid: Some("u-1".into()),
        }
    }

    /// A user: status, created, last login, roles (each `id` or `id@expiry`).
    fn row(status: &str, created: &str, login: Option<&str>, roles: &[&str]) -> UserWithGrants {
        UserWithGrants {
            user: DomainUser {
                uid: Some("ann@example.com".into()),
                uuid: Some("u-1".into()),
                cid: Some(HOME.into()),
                status: Some(status.into()),
                created_at: Some(created.into()),
                last_login_at: login.map(str::to_owned),
                ..DomainUser::default()
            },
            grants: roles
                .iter()
                .map(|r| match r.split_once('@') {
                    Some((id, at)) => grant(id, Some(at)),
                    None => grant(r, None),
                })
                .collect(),
            deleted: false,
        }
    }

    fn book() -> RoleBook {
        RoleBook::new([
            judge(&role("admin_role"), Some(&["users:write".to_owned()]), None),
            judge(&role("reader"), Some(&["users:read".to_owned()]), None),
        ])
    }

    #[test]
    fn findings_table() {
        use FindingKind::*;
        let recent = Some("2026-11-20T08:00:00Z");
        let created = "2025-01-01T00:00:00Z";
        let cases: Vec<(&str, UserWithGrants, Option<&str>, Vec<FindingKind>)> = vec![
            (
                "active reader, recent login",
                row("active", created, recent, &["reader"]),
                None,
                vec![],
            ),
            (
                "no roles, recent",
                row("active", created, recent, &[]),
                None,
                vec![NoRoles],
            ),
            (
                "admin",
                row("active", created, recent, &["reader", "admin_role"]),
                None,
                vec![Privileged],
            ),
            (
                "fallback admin unknown to the book",
                row("active", created, recent, &["falcon_administrator"]),
                None,
                vec![Privileged],
            ),
            (
                "login 91 days ago",
                row("active", created, Some("2026-09-01T11:00:00Z"), &["reader"]),
                None,
                vec![Stale],
            ),
            (
                "login 89 days ago",
                row("active", created, Some("2026-09-03T13:00:00Z"), &["reader"]),
                None,
                vec![],
            ),
            (
                "never logged in, created long ago",
                row("active", created, None, &["reader"]),
                None,
                vec![Stale],
            ),
            (
                "never logged in, created last week",
                row("active", "2026-11-24T00:00:00Z", None, &["reader"]),
                None,
                vec![],
            ),
            (
                "an empty login is never",
                row("active", created, Some(""), &[]),
                None,
                vec![NoRoles, Stale],
            ),
            (
                "an unreadable login says nothing",
                row("active", created, Some("yesterday"), &["reader"]),
                None,
                vec![],
            ),
            (
                "temporary grant in 3 days, another in 9",
                row(
                    "active",
                    created,
                    recent,
                    &["reader@2026-12-04T12:00:00Z", "x@2026-12-10T12:00:00Z"],
                ),
                None,
                vec![Expiring],
            ),
            (
                "a grant that ended is reported",
                row("active", created, recent, &["reader@2026-11-30T12:00:00Z"]),
                None,
                vec![Expiring],
            ),
            (
                "child CID grant",
                row("active", created, recent, &["reader"]),
                Some(CHILD),
                vec![ChildCidGrant],
            ),
            (
                "child CID user without roles",
                row("active", created, recent, &[]),
                Some(CHILD),
                vec![NoRoles],
            ),
            (
                "inactive with roles",
                row("inactive", created, recent, &["reader"]),
                None,
                vec![InactiveWithRoles],
            ),
            (
                "inactive without roles",
                row("inactive", created, recent, &[]),
                None,
                vec![NoRoles],
            ),
            (
                "everything at once",
                row(
                    "inactive",
                    created,
                    None,
                    &["admin_role@2026-12-02T12:00:00Z"],
                ),
                Some(CHILD),
                vec![
                    Privileged,
                    Stale,
                    Expiring,
                    ChildCidGrant,
                    InactiveWithRoles,
                ],
            ),
        ];
        let options = ReviewOptions {
            stale_days: 90,
            expiring_days: 7,
            now: now(),
        };
        for (what, row, member, expected) in cases {
            let got: Vec<FindingKind> = row_findings(&row, member, &book(), &options)
                .into_iter()
                .map(|f| f.kind)
                .collect();
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn findings_say_who_where_which_roles_and_why() {
        let options = ReviewOptions {
            stale_days: 30,
            expiring_days: 2,
            now: now(),
        };
        let mut user = row(
            "inactive",
            "2025-01-01T00:00:00Z",
            Some("2026-10-01T12:00:00Z"),
            &["admin_role", "reader@2026-12-02T18:00:00Z"],
        );
        user.grants[1].role_name = Some("Reader As Named".into());
        let found = row_findings(&user, None, &book(), &options);
        let kinds: Vec<&str> = found.iter().map(|f| f.kind.name()).collect();
        assert_eq!(
            kinds,
            ["privileged", "stale", "expiring", "inactive-with-roles"]
        );
        assert!(
            found
                .iter()
                .all(|f| f.uid == "ann@example.com" && f.cid == HOME)
        );
        assert_eq!(found[0].roles, ["admin_role"]);
        assert_eq!(found[0].role_names, ["Role admin_role"]);
        assert_eq!(found[1].why, "last login 2026-10-01, 61 days ago");
        assert_eq!(found[1].role_names, ["Role admin_role", "Reader As Named"]);
        assert_eq!(
            found[2].why,
            "temporary grant ends 2026-12-02T18:00Z (in 1 day)"
        );
        assert_eq!(
            found[3].why,
            "status inactive, still holds Role admin_role, Reader As Named"
        );

        let deleted = UserWithGrants {
            deleted: true,
            ..row("active", "2025-01-01T00:00:00Z", None, &[])
        };
        assert!(row_findings(&deleted, None, &book(), &options).is_empty());
    }

    #[test]
    fn privileged_permissions_table() {
        for (id, privileged) in [
            ("users:write", true),
            ("users:read", false),
            ("user-management:manage", true),
            ("USER_MANAGEMENT:WRITE", true),
            ("roles:assign", true),
            ("grants:revoke", true),
            ("access:all", true),
            ("falcon-admin", true),
            ("Administrator", true),
            ("hosts:write", false),
            ("detections:update", false),
            ("detections:read", false),
            ("usersettings:read", false),
            ("", false),
        ] {
            assert_eq!(is_privileged_permission(id), privileged, "{id:?}");
        }
    }

    #[test]
    fn judging_a_role_table() {
        let perms = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let writes = perms(&["users:read", "users:write"]);
        let reads = perms(&["users:read", "hosts:write"]);
        let none: Vec<String> = Vec::new();
        let listed = perms(&["CUSTOM_ONE"]);
        for (id, permissions, overridden, expected) in [
            (
                "custom_one",
                Some(&writes),
                None,
                (true, Basis::Permissions),
            ),
            (
                "falcon_administrator",
                Some(&reads),
                None,
                (false, Basis::Permissions),
            ),
            (
                "falcon_administrator",
                Some(&none),
                None,
                (true, Basis::Fallback),
            ),
            ("falcon_administrator", None, None, (true, Basis::Fallback)),
            ("falconhost_analyst", None, None, (false, Basis::Fallback)),
            (
                "custom_one",
                Some(&reads),
                Some(&listed),
                (true, Basis::Override),
            ),
            (
                "falcon_administrator",
                Some(&writes),
                Some(&listed),
                (false, Basis::Override),
            ),
        ] {
            let verdict = judge(
                &role(id),
                permissions.map(Vec::as_slice),
                overridden.map(Vec::as_slice),
            );
            assert_eq!(
                (verdict.privileged, verdict.basis),
                expected,
                "{id} {permissions:?} {overridden:?}"
            );
        }
    }

    #[test]
    fn finding_names_round_trip_and_are_kebab_case_in_json() {
        for kind in FindingKind::ALL {
            assert_eq!(kind.name().parse::<FindingKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.name().into())
            );
        }
        assert!("nope".parse::<FindingKind>().is_err());
    }

    #[test]
    fn the_summary_counts_findings_per_kind_and_per_role() {
        let options = ReviewOptions {
            stale_days: 90,
            expiring_days: 7,
            now: now(),
        };
        let book = book();
        let mut summary = ReviewSummary::default();
        for user in [
            row(
                "active",
                "2025-01-01T00:00:00Z",
                None,
                &["admin_role", "reader"],
            ),
            row(
                "inactive",
                "2025-01-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                &["reader"],
            ),
            row(
                "active",
                "2025-01-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                &[],
            ),
        ] {
            let found = row_findings(&user, None, &book, &options);
            summary.add(&user, &found, &book);
        }
        assert_eq!(summary.users, 3);
        let counts: Vec<(FindingKind, u64)> = summary.findings.into_iter().collect();
        use FindingKind::*;
        assert_eq!(
            counts,
            [
                (NoRoles, 1),
                (Privileged, 1),
                (Stale, 1),
                (Expiring, 0),
                (ChildCidGrant, 0),
                (InactiveWithRoles, 1)
            ]
        );
        let reader = summary
            .roles
            .iter()
            .find(|r| r.role_id == "reader")
            .unwrap();
        assert_eq!(reader.holders, 2);
        assert!(!reader.privileged);
        assert_eq!(reader.findings[&Stale], 1);
        assert_eq!(reader.findings[&InactiveWithRoles], 1);
        let admin = summary
            .roles
            .iter()
            .find(|r| r.role_id == "admin_role")
            .unwrap();
        assert_eq!((admin.holders, admin.privileged), (1, true));
        assert_eq!(admin.findings[&Privileged], 1);
    }
}

//! Whether holding a role is privileged: judged from the permissions it grants, a caller's
//! list, or the built-in administrator roles; and the book of verdicts a review judges grants by.

use std::collections::HashMap;

use falcon_users_api::types::DomainRole;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::client::Falcon;
use crate::error::{Error, Result};

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
impl Falcon {
    /// The roles of this handle's CID with their verdicts, as [`Falcon::role_verdicts`] reads
    /// them (`privileged_roles`: the caller's list, which then decides alone; `concurrency`:
    /// permission reads at once). Here, below the inventory, so that an inventory can ask
    /// for privileged users with the review's judgement.
    pub(crate) async fn judged_roles(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::review::fixtures::role;

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
}

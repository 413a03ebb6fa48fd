//! The rows the CLI prints: the SDK's own types, with their table/CSV columns.
//!
//! Each row type lists its columns once, title next to cell, so adding a field to one and not
//! the other cannot happen.

use chrono::SecondsFormat;
use falcon_users::Child;
use falcon_users::access::{GroupRef, RoleAccess, Source};
use falcon_users::history::{Change, Holding, SignedDecision, Snapshot};
use falcon_users::types::{
    DomainPermissionDetails, DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2,
};
use falcon_users::workflows::UserAccess;
use falcon_users::workflows::review::Finding;
use falcon_users::workflows::review::decisions::{DECISION_COLUMNS, DecisionRow};
use serde::Serialize;

use crate::output::{Column, Record};

/// An optional text field as a cell (empty when absent).
fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// The user columns, for any row that holds a user (a user row, an inventory row).
fn user_columns<R: AsRef<DomainUser>>() -> Vec<Column<R>> {
    vec![
        Column {
            name: "uuid",
            cell: |r| text(&r.as_ref().uuid),
        },
        Column {
            name: "uid",
            cell: |r| text(&r.as_ref().uid),
        },
        Column {
            name: "first_name",
            cell: |r| text(&r.as_ref().first_name),
        },
        Column {
            name: "last_name",
            cell: |r| text(&r.as_ref().last_name),
        },
        Column {
            name: "status",
            cell: |r| text(&r.as_ref().status),
        },
        Column {
            name: "cid",
            cell: |r| text(&r.as_ref().cid),
        },
    ]
}

/// A user: the user columns, then when they were created and last logged in (what a
/// reviewer asks of every user). In JSON the user as the service sent it, with `status`,
/// `created_at` and `last_login_at` always present (`null` when the service sent none: a user
/// who never logged in has no `last_login_at`).
pub struct UserRow(pub DomainUser);

/// The fields a reviewer reads of every user, present in a user's JSON even when empty.
const REVIEWER_FIELDS: [&str; 3] = ["status", "created_at", "last_login_at"];

impl Serialize for UserRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        if let Some(fields) = value.as_object_mut() {
            for name in REVIEWER_FIELDS {
                fields.entry(name).or_insert(serde_json::Value::Null);
            }
        }
        value.serialize(serializer)
    }
}

impl AsRef<DomainUser> for UserRow {
    fn as_ref(&self) -> &DomainUser {
        &self.0
    }
}

impl Record for UserRow {
    fn columns() -> Vec<Column<Self>> {
        let mut columns = user_columns();
        columns.extend([
            Column {
                name: "created_at",
                cell: |r: &Self| text(&r.0.created_at),
            },
            Column {
                name: "last_login_at",
                cell: |r: &Self| text(&r.0.last_login_at),
            },
        ]);
        columns
    }
}

/// A child CID of the parent (`children`).
#[derive(Serialize)]
pub struct ChildRow {
    /// The child's CID.
    pub cid: String,
    /// Its name, when the service gives one.
    pub name: Option<String>,
    /// Its state in the fleet.
    pub status: Option<String>,
    /// The CID in the console's `CID-XX` form.
    pub with_checksum: String,
    /// Its parent's CID.
    pub parent_cid: String,
}

impl From<Child> for ChildRow {
    fn from(child: Child) -> Self {
        ChildRow {
            with_checksum: child.with_checksum(),
            cid: child.cid.to_string(),
            name: child.name,
            status: child.status,
            parent_cid: child.parent.to_string(),
        }
    }
}

impl Record for ChildRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "cid",
                cell: |r| r.cid.clone(),
            },
            Column {
                name: "name",
                cell: |r| text(&r.name),
            },
            Column {
                name: "status",
                cell: |r| text(&r.status),
            },
            Column {
                name: "with_checksum",
                cell: |r| r.with_checksum.clone(),
            },
            Column {
                name: "parent_cid",
                cell: |r| r.parent_cid.clone(),
            },
        ]
    }
}

/// One role a person holds in one CID, and why (`access`).
#[derive(Serialize)]
pub struct AccessRow {
    /// The CID the role is held in.
    pub cid: String,
    /// Its name, when discovery gave one.
    pub cid_name: Option<String>,
    /// The role's id.
    pub role_id: String,
    /// The role's name.
    pub role_name: Option<String>,
    /// `direct`, `link` or `temporary`.
    pub source: &'static str,
    /// A link's user group (name, else id).
    pub user_group: Option<String>,
    /// A link's CID group (name, else id).
    pub cid_group: Option<String>,
    /// When a temporary grant ends (RFC 3339).
    pub until: Option<String>,
}

impl From<&RoleAccess> for AccessRow {
    fn from(access: &RoleAccess) -> Self {
        let label = |g: Option<&GroupRef>| g.map(|g| g.label().to_owned());
        let until = match &access.source {
            Source::Temporary { until: Some(at) } => {
                Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            // An end the crate could not read: shown as sent.
            Source::Temporary { until: None } => access.grant.expires_at.clone(),
            _ => None,
        };
        AccessRow {
            cid: access.cid().to_owned(),
            cid_name: access.cid_name.clone(),
            role_id: access.role_id().to_owned(),
            role_name: access.grant.role_name.clone(),
            source: access.source.kind(),
            user_group: label(access.source.user_group()),
            cid_group: label(access.source.cid_group()),
            until,
        }
    }
}

impl Record for AccessRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "cid",
                cell: |r| r.cid.clone(),
            },
            Column {
                name: "cid_name",
                cell: |r| text(&r.cid_name),
            },
            Column {
                name: "role_id",
                cell: |r| r.role_id.clone(),
            },
            Column {
                name: "role_name",
                cell: |r| text(&r.role_name),
            },
            Column {
                name: "source",
                cell: |r| r.source.to_owned(),
            },
            Column {
                name: "user_group",
                cell: |r| text(&r.user_group),
            },
            Column {
                name: "cid_group",
                cell: |r| text(&r.cid_group),
            },
            Column {
                name: "until",
                cell: |r| text(&r.until),
            },
        ]
    }
}

/// A role.
#[derive(Serialize)]
#[serde(transparent)]
pub struct RoleRow(pub DomainRole);

impl Record for RoleRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "id",
                cell: |r| r.0.id.clone(),
            },
            Column {
                name: "display_name",
                cell: |r| r.0.display_name.clone(),
            },
            Column {
                name: "is_global",
                cell: |r| r.0.is_global.to_string(),
            },
            Column {
                name: "cid",
                cell: |r| text(&r.0.cid),
            },
            Column {
                name: "description",
                cell: |r| r.0.description.clone(),
            },
        ]
    }
}

/// A permission a role confers (`roles get --permissions`).
#[derive(Serialize)]
pub struct PermissionRow {
    /// The role.
    pub role_id: String,
    /// The permission.
    #[serde(flatten)]
    pub permission: DomainPermissionDetails,
}

impl Record for PermissionRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "role_id",
                cell: |r| r.role_id.clone(),
            },
            Column {
                name: "permission",
                cell: |r| r.permission.id.clone(),
            },
            Column {
                name: "display_name",
                cell: |r| r.permission.display_name.clone(),
            },
            Column {
                name: "group",
                cell: |r| r.permission.permission_group_id.clone(),
            },
            Column {
                name: "depends_on",
                cell: |r| r.permission.depends_on.join(";"),
            },
        ]
    }
}

/// A grant, with the login of the user holding it beside their UUID (JSON: `uid`, then the
/// grant's fields as the service sent them).
#[derive(Serialize)]
pub struct GrantRow {
    /// The login of the user holding it.
    pub uid: String,
    /// The grant.
    #[serde(flatten)]
    pub grant: FlightcontrolapiCombinedUserRolesResourceV2,
}

impl GrantRow {
    /// `grant`, held by the user whose login is `uid`.
    pub fn of(uid: &str, grant: FlightcontrolapiCombinedUserRolesResourceV2) -> Self {
        GrantRow {
            uid: uid.to_owned(),
            grant,
        }
    }
}

impl Record for GrantRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "user_uuid",
                cell: |r| text(&r.grant.uuid),
            },
            Column {
                name: "uid",
                cell: |r| r.uid.clone(),
            },
            Column {
                name: "role_id",
                cell: |r| r.grant.role_id.clone(),
            },
            Column {
                name: "role_name",
                cell: |r| text(&r.grant.role_name),
            },
            Column {
                name: "cid",
                cell: |r| text(&r.grant.cid),
            },
            Column {
                name: "grant_type",
                cell: |r| text(&r.grant.grant_type),
            },
            Column {
                name: "expires_at",
                cell: |r| text(&r.grant.expires_at),
            },
        ]
    }
}

/// A user with their grants (inventory). JSON: the user's fields (`created_at`,
/// `last_login_at` (absent: never), `status`, `user_type`, ...) and `grants`, each with
/// `role_id`, `role_name`, `cid`, `grant_type`, `expires_at` (absent: permanent) and `source`
/// (`kind`: direct, link or temporary; a link's `user_group` and `cid_group`). CSV: one
/// row per user; the grants as `;`-separated lists that line up position by position: `roles`
/// (ids), `role_names`, `grant_cids`, `grant_types`, `expires_at` (empty for a permanent grant;
/// the whole cell empty when none is temporary), `sources`, `user_groups`, `cid_groups` (a
/// link's groups, name else id; the cells empty when no grant is a link).
#[derive(Serialize)]
pub struct InventoryRow {
    /// The user.
    #[serde(flatten)]
    pub user: DomainUser,
    /// Their grants, each with its source.
    pub grants: Vec<RoleAccess>,
}

impl From<UserAccess> for InventoryRow {
    fn from(u: UserAccess) -> Self {
        InventoryRow {
            user: u.user,
            grants: u.roles,
        }
    }
}

impl AsRef<DomainUser> for InventoryRow {
    fn as_ref(&self) -> &DomainUser {
        &self.user
    }
}

impl InventoryRow {
    /// One field of every grant, `;`-separated.
    fn grant_list(
        &self,
        field: fn(&FlightcontrolapiCombinedUserRolesResourceV2) -> &str,
    ) -> String {
        self.access_list(move |a| field(&a.grant))
    }

    /// One field of every grant's access (its source), `;`-separated.
    fn access_list(&self, field: impl Fn(&RoleAccess) -> &str) -> String {
        let values: Vec<&str> = self.grants.iter().map(field).collect();
        values.join(";")
    }

    /// A link group of every grant, `;`-separated; empty when no grant came through a link.
    fn group_list(&self, group: fn(&Source) -> Option<&GroupRef>) -> String {
        if self.grants.iter().all(|a| group(&a.source).is_none()) {
            return String::new();
        }
        self.access_list(move |a| group(&a.source).map(GroupRef::label).unwrap_or_default())
    }
}

/// The user fields an inventory adds to [`user_columns`], then its grant lists.
fn inventory_columns() -> Vec<Column<InventoryRow>> {
    vec![
        Column {
            name: "user_type",
            cell: |r| text(&r.user.user_type),
        },
        Column {
            name: "created_at",
            cell: |r| text(&r.user.created_at),
        },
        Column {
            name: "last_login_at",
            cell: |r| text(&r.user.last_login_at),
        },
        Column {
            name: "roles",
            cell: |r| r.grant_list(|g| g.role_id.as_str()),
        },
        Column {
            name: "role_names",
            cell: |r| r.grant_list(|g| g.role_name.as_deref().unwrap_or_default()),
        },
        Column {
            name: "grant_cids",
            cell: |r| r.grant_list(|g| g.cid.as_deref().unwrap_or_default()),
        },
        Column {
            name: "grant_types",
            cell: |r| r.grant_list(|g| g.grant_type.as_deref().unwrap_or_default()),
        },
        Column {
            name: "expires_at",
            cell: |r| {
                if r.grants.iter().all(|a| a.grant.expires_at.is_none()) {
                    return String::new();
                }
                r.grant_list(|g| g.expires_at.as_deref().unwrap_or_default())
            },
        },
        Column {
            name: "sources",
            cell: |r| r.access_list(|a| a.source.kind()),
        },
        Column {
            name: "user_groups",
            cell: |r| r.group_list(Source::user_group),
        },
        Column {
            name: "cid_groups",
            cell: |r| r.group_list(Source::cid_group),
        },
    ]
}

impl Record for InventoryRow {
    fn columns() -> Vec<Column<Self>> {
        let mut columns = user_columns();
        columns.extend(inventory_columns());
        columns
    }

    /// For a screen: who, their state, and their roles by name (by id when unnamed).
    fn table_columns() -> Vec<Column<Self>> {
        let wanted = [
            "uid",
            "first_name",
            "last_name",
            "status",
            "cid",
            "last_login_at",
            "expires_at",
        ];
        let mut columns: Vec<Column<Self>> = Self::columns()
            .into_iter()
            .filter(|c| wanted.contains(&c.name))
            .collect();
        let roles = Column {
            name: "roles",
            cell: |r: &InventoryRow| {
                r.grant_list(|g| {
                    g.role_name
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .unwrap_or(&g.role_id)
                })
            },
        };
        columns.insert(columns.len() - 1, roles);
        columns
    }
}

/// A finding of `review`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct FindingRow(pub Finding);

impl Record for FindingRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "finding",
                cell: |r| r.0.kind.name().to_owned(),
            },
            Column {
                name: "uid",
                cell: |r| r.0.uid.clone(),
            },
            Column {
                name: "user_uuid",
                cell: |r| r.0.user_uuid.clone(),
            },
            Column {
                name: "cid",
                cell: |r| r.0.cid.clone(),
            },
            Column {
                name: "roles",
                cell: |r| r.0.roles.join(";"),
            },
            Column {
                name: "role_names",
                cell: |r| r.0.role_names.join(";"),
            },
            Column {
                name: "why",
                cell: |r| r.0.why.clone(),
            },
        ]
    }

    /// For a screen: the ids are in the CSV and JSON.
    fn table_columns() -> Vec<Column<Self>> {
        Self::columns()
            .into_iter()
            .filter(|c| !matches!(c.name, "user_uuid" | "roles"))
            .collect()
    }
}

/// A row of a decision sheet (`review --decisions`): the columns the library names
/// ([`DECISION_COLUMNS`]), its cells.
#[derive(Serialize)]
#[serde(transparent)]
pub struct DecisionRecord(pub DecisionRow);

impl Record for DecisionRecord {
    fn columns() -> Vec<Column<Self>> {
        let cells: [fn(&Self) -> String; DECISION_COLUMNS.len()] = [
            |r| r.0.cells()[0].clone(),
            |r| r.0.cells()[1].clone(),
            |r| r.0.cells()[2].clone(),
            |r| r.0.cells()[3].clone(),
            |r| r.0.cells()[4].clone(),
            |r| r.0.cells()[5].clone(),
            |r| r.0.cells()[6].clone(),
            |r| r.0.cells()[7].clone(),
            |r| r.0.cells()[8].clone(),
        ];
        DECISION_COLUMNS
            .into_iter()
            .zip(cells)
            .map(|(name, cell)| Column { name, cell })
            .collect()
    }
}

/// A decision of a signed-off review (`history show`).
#[derive(Serialize)]
#[serde(transparent)]
pub struct SignedDecisionRow(pub SignedDecision);

impl Record for SignedDecisionRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "row",
                cell: |r| r.0.row.to_string(),
            },
            Column {
                name: "uid",
                cell: |r| r.0.uid.clone(),
            },
            Column {
                name: "user_uuid",
                cell: |r| r.0.user_uuid.clone(),
            },
            Column {
                name: "cid",
                cell: |r| r.0.cid.clone(),
            },
            Column {
                name: "role",
                cell: |r| text(&r.0.role),
            },
            Column {
                name: "finding",
                cell: |r| r.0.finding.clone(),
            },
            Column {
                name: "decision",
                cell: |r| r.0.decision.clone(),
            },
            Column {
                name: "comment",
                cell: |r| r.0.comment.clone(),
            },
            Column {
                name: "result",
                cell: |r| r.0.result.clone(),
            },
        ]
    }

    /// For a screen: the ids are in the CSV and JSON.
    fn table_columns() -> Vec<Column<Self>> {
        Self::columns()
            .into_iter()
            .filter(|c| !matches!(c.name, "user_uuid" | "cid"))
            .collect()
    }
}

/// A snapshot of the history (`history list`).
#[derive(Serialize)]
#[serde(transparent)]
pub struct SnapshotRow(pub Snapshot);

impl Record for SnapshotRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "id",
                cell: |r| r.0.id.to_string(),
            },
            Column {
                name: "taken_at",
                cell: |r| r.0.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            },
            Column {
                name: "kind",
                cell: |r| r.0.kind.name().to_owned(),
            },
            Column {
                name: "cloud",
                cell: |r| r.0.cloud.clone(),
            },
            Column {
                name: "cid",
                cell: |r| r.0.cid.clone(),
            },
            Column {
                name: "member_cids",
                cell: |r| r.0.member_cids.join(" "),
            },
            Column {
                name: "users",
                cell: |r| r.0.users.to_string(),
            },
            Column {
                name: "grants",
                cell: |r| r.0.grants.to_string(),
            },
            Column {
                name: "findings",
                cell: |r| r.0.findings.to_string(),
            },
        ]
    }
}

/// A change between two snapshots (`history diff`).
#[derive(Serialize)]
#[serde(transparent)]
pub struct ChangeRow(pub Change);

impl Record for ChangeRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "change",
                cell: |r| r.0.change.name().to_owned(),
            },
            Column {
                name: "cid",
                cell: |r| r.0.cid.clone(),
            },
            Column {
                name: "uid",
                cell: |r| r.0.login.clone(),
            },
            Column {
                name: "user_uuid",
                cell: |r| r.0.user_uuid.clone(),
            },
            Column {
                name: "role",
                cell: |r| text(&r.0.role_id),
            },
            Column {
                name: "role_name",
                cell: |r| text(&r.0.role_name),
            },
            Column {
                name: "privileged",
                cell: |r| if r.0.privileged { "yes" } else { "" }.to_owned(),
            },
        ]
    }
}

/// A holder of a role around a date (`history who-had`), with the answer in words.
#[derive(Serialize)]
pub struct HoldingRow {
    /// The holder.
    #[serde(flatten)]
    pub holding: Holding,
    /// [`Holding::sentence`].
    pub answer: String,
}

impl From<Holding> for HoldingRow {
    fn from(holding: Holding) -> Self {
        HoldingRow {
            answer: holding.sentence(),
            holding,
        }
    }
}

impl Record for HoldingRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "uid",
                cell: |r| r.holding.login.clone(),
            },
            Column {
                name: "user_uuid",
                cell: |r| r.holding.user_uuid.clone(),
            },
            Column {
                name: "cid",
                cell: |r| r.holding.cid.clone(),
            },
            Column {
                name: "role",
                cell: |r| r.holding.role_id.clone(),
            },
            Column {
                name: "sure",
                cell: |r| if r.holding.sure { "yes" } else { "no" }.to_owned(),
            },
            Column {
                name: "answer",
                cell: |r| r.answer.clone(),
            },
        ]
    }
}

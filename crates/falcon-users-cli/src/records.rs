//! The rows the CLI prints: the SDK's own types, with their table/CSV columns.
//!
//! Each row type lists its columns once, title next to cell, so adding a field to one and not
//! the other cannot happen.

use falcon_users::types::{
    DomainPermissionDetails, DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2,
};
use falcon_users::workflows::UserWithGrants;
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

/// A user.
#[derive(Serialize)]
#[serde(transparent)]
pub struct UserRow(pub DomainUser);

impl AsRef<DomainUser> for UserRow {
    fn as_ref(&self) -> &DomainUser {
        &self.0
    }
}

impl Record for UserRow {
    fn columns() -> Vec<Column<Self>> {
        user_columns()
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

/// A grant.
#[derive(Serialize)]
#[serde(transparent)]
pub struct GrantRow(pub FlightcontrolapiCombinedUserRolesResourceV2);

impl Record for GrantRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "user_uuid",
                cell: |r| text(&r.0.uuid),
            },
            Column {
                name: "role_id",
                cell: |r| r.0.role_id.clone(),
            },
            Column {
                name: "role_name",
                cell: |r| text(&r.0.role_name),
            },
            Column {
                name: "cid",
                cell: |r| text(&r.0.cid),
            },
            Column {
                name: "grant_type",
                cell: |r| text(&r.0.grant_type),
            },
            Column {
                name: "expires_at",
                cell: |r| text(&r.0.expires_at),
            },
        ]
    }
}

/// A user with their grants (inventory).
#[derive(Serialize)]
pub struct InventoryRow {
    /// The user.
    #[serde(flatten)]
    pub user: DomainUser,
    /// Their grants.
    pub grants: Vec<FlightcontrolapiCombinedUserRolesResourceV2>,
}

impl From<UserWithGrants> for InventoryRow {
    fn from(u: UserWithGrants) -> Self {
        InventoryRow {
            user: u.user,
            grants: u.grants,
        }
    }
}

impl AsRef<DomainUser> for InventoryRow {
    fn as_ref(&self) -> &DomainUser {
        &self.user
    }
}

impl Record for InventoryRow {
    fn columns() -> Vec<Column<Self>> {
        let mut columns = user_columns();
        columns.push(Column {
            name: "roles",
            cell: |r: &InventoryRow| {
                let roles: Vec<&str> = r.grants.iter().map(|g| g.role_id.as_str()).collect();
                roles.join(";")
            },
        });
        columns
    }
}

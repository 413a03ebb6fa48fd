//! The rows the CLI prints: the SDK's own types, with their table/CSV columns.

use falcon_users::types::{DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2};
use falcon_users::workflows::UserWithGrants;
use serde::Serialize;

use crate::output::Record;

/// A user.
#[derive(Serialize)]
#[serde(transparent)]
pub struct UserRow(pub DomainUser);

impl Record for UserRow {
    const COLUMNS: &'static [&'static str] =
        &["uuid", "uid", "first_name", "last_name", "status", "cid"];
    fn cells(&self) -> Vec<String> {
        let u = &self.0;
        [
            &u.uuid,
            &u.uid,
            &u.first_name,
            &u.last_name,
            &u.status,
            &u.cid,
        ]
        .iter()
        .map(|v| (*v).clone().unwrap_or_default())
        .collect()
    }
}

/// A role.
#[derive(Serialize)]
#[serde(transparent)]
pub struct RoleRow(pub DomainRole);

impl Record for RoleRow {
    const COLUMNS: &'static [&'static str] =
        &["id", "display_name", "is_global", "cid", "description"];
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        vec![
            r.id.clone(),
            r.display_name.clone(),
            r.is_global.to_string(),
            r.cid.clone().unwrap_or_default(),
            r.description.clone(),
        ]
    }
}

/// A grant.
#[derive(Serialize)]
#[serde(transparent)]
pub struct GrantRow(pub FlightcontrolapiCombinedUserRolesResourceV2);

impl Record for GrantRow {
    const COLUMNS: &'static [&'static str] = &[
        "user_uuid",
        "role_id",
        "role_name",
        "cid",
        "grant_type",
        "expires_at",
    ];
    fn cells(&self) -> Vec<String> {
        let g = &self.0;
        vec![
            g.uuid.clone().unwrap_or_default(),
            g.role_id.clone(),
            g.role_name.clone().unwrap_or_default(),
            g.cid.clone().unwrap_or_default(),
            g.grant_type.clone().unwrap_or_default(),
            g.expires_at.clone().unwrap_or_default(),
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

impl Record for InventoryRow {
    const COLUMNS: &'static [&'static str] = &[
        "uuid",
        "uid",
        "first_name",
        "last_name",
        "status",
        "cid",
        "roles",
    ];
    fn cells(&self) -> Vec<String> {
        let mut cells = UserRow(self.user.clone()).cells();
        let roles: Vec<&str> = self.grants.iter().map(|g| g.role_id.as_str()).collect();
        cells.push(roles.join(";"));
        cells
    }
}

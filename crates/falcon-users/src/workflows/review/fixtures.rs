//! The users, grants and roles the review's table tests share.

use chrono::{DateTime, TimeZone, Utc};
use falcon_users_api::types::{DomainRole, DomainUser};

use crate::model::views::Grant;
use crate::workflows::inventory::UserWithGrants;
use crate::workflows::review::privilege::{RoleBook, judge};

/// The handle's own CID.
pub(super) const HOME: &str = "0123456789abcdef0123456789abcdef";
/// A child CID.
pub(super) const CHILD: &str = "fedcba9876543210fedcba9876543210";

/// The time the tables judge at.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// A global role named `Role {id}`.
pub(super) fn role(id: &str) -> DomainRole {
    DomainRole {
        cid: None,
        description: String::new(),
        display_name: format!("Role {id}"),
        id: id.into(),
        is_global: true,
    }
}

/// A direct grant in [`HOME`].
pub(super) fn grant(role_id: &str, expires_at: Option<&str>) -> Grant {
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
pub(super) fn row(
    status: &str,
    created: &str,
    login: Option<&str>,
    roles: &[&str],
) -> UserWithGrants {
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

/// `admin_role` (privileged by its permissions) and `reader` (not).
pub(super) fn book() -> RoleBook {
    RoleBook::new([
        judge(&role("admin_role"), Some(&["users:write".to_owned()]), None),
        judge(&role("reader"), Some(&["users:read".to_owned()]), None),
    ])
}

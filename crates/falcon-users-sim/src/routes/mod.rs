//! Every operation of the spec, one module per area.

mod grants;
mod legacy;
mod oauth2;
mod other;
mod roles;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::gate::Admitted;
use crate::server::Shared;

/// The router of every operation.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth2/token", post(oauth2::token))
        .route("/oauth2/revoke", post(oauth2::revoke))
        .route("/user-management/queries/users/v1", get(users::query_v1))
        .route("/user-management/queries/users/v2", get(users::query_v2))
        .route(
            "/user-management/entities/users/GET/v1",
            post(users::retrieve_v1),
        )
        .route(
            "/user-management/entities/users/GET/v2",
            post(users::retrieve_v2),
        )
        .route(
            "/user-management/entities/users/v1",
            post(users::create)
                .patch(users::update)
                .delete(users::delete),
        )
        .route(
            "/user-management/entities/user-actions/v1",
            post(users::action),
        )
        .route("/user-management/queries/roles/v1", get(roles::query))
        .route(
            "/user-management/entities/roles/v1",
            get(roles::entities_v1),
        )
        .route(
            "/user-management/entities/roles/GET/v2",
            post(roles::entities_v2),
        )
        .route(
            "/user-management/combined/user-roles/v1",
            get(grants::combined_v1),
        )
        .route(
            "/user-management/combined/user-roles/v2",
            get(grants::combined_v2),
        )
        .route(
            "/user-management/combined/user-roles/v3",
            get(grants::combined_v3),
        )
        .route(
            "/user-management/entities/user-role-actions/v1",
            post(grants::action_v1),
        )
        .route(
            "/user-management/entities/user-role-actions/v2",
            post(grants::action_v2),
        )
        .route(
            "/user-management/aggregates/users/v1",
            post(other::aggregate_v1),
        )
        .route(
            "/user-management/aggregates/users/v2",
            post(other::aggregate_v2),
        )
        .route(
            "/user-management/entities/user-allowed-actions/v1",
            post(other::allowed_actions),
        )
        .route(
            "/user-management/queries/permissions/v1",
            get(other::query_permissions),
        )
        .route(
            "/user-management/entities/permissions/GET/v1",
            post(other::permissions),
        )
        .route(
            "/user-management/entities/permission-groups/GET/v1",
            post(other::permission_groups),
        )
        .route(
            "/user-management/entities/role-permissions/v1",
            get(other::role_permissions),
        )
        .route(
            "/user-management/queries/user-invitations/v1",
            get(other::query_invitations),
        )
        .route(
            "/user-management/entities/user-invitations/GET/v1",
            post(other::invitations),
        )
        .route(
            "/users/entities/users/v1",
            get(legacy::retrieve)
                .post(legacy::create)
                .patch(legacy::update)
                .delete(legacy::delete),
        )
        .route("/users/queries/emails-by-cid/v1", get(legacy::emails))
        .route("/users/queries/user-uuids-by-cid/v1", get(legacy::uuids))
        .route(
            "/users/queries/user-uuids-by-email/v1",
            get(legacy::uuids_by_email),
        )
        .route(
            "/user-roles/entities/user-roles/v1",
            get(legacy::get_roles)
                .post(legacy::grant)
                .delete(legacy::revoke),
        )
        .route(
            "/user-roles/queries/user-role-ids-by-cid/v1",
            get(legacy::available_role_ids),
        )
        .route(
            "/user-roles/queries/user-role-ids-by-user-uuid/v1",
            get(legacy::user_role_ids),
        )
        .with_state(shared)
}

/// Query parameters, keeping repeated keys (`ids=a&ids=b`).
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A required value.
    pub fn required(&self, name: &str, gate: &Admitted) -> Result<String, Response> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| gate.fail(StatusCode::BAD_REQUEST, format!("{name} is required")))
    }

    /// `offset` and `limit` within the documented bounds (limit 1–`max`, default 100) and the
    /// instance's offset ceiling.
    pub fn page(
        &self,
        gate: &Admitted,
        max: usize,
        ceiling: u64,
    ) -> Result<(usize, usize), Response> {
        let number = |name: &str, default: i64| -> Result<i64, Response> {
            match self.get(name) {
                None | Some("") => Ok(default),
                Some(v) => v.parse::<i64>().map_err(|_| {
                    gate.fail(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be an integer"),
                    )
                }),
            }
        };
        let offset = number("offset", 0)?;
        let limit = number("limit", 100)?;
        if offset < 0 {
            return Err(gate.fail(StatusCode::BAD_REQUEST, "offset must be at least 0"));
        }
        if limit < 1 || limit > max as i64 {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("limit must be between 1 and {max}"),
            ));
        }
        // Checked: an absurd offset is a 400, never an overflow.
        if offset
            .checked_add(limit)
            .is_none_or(|end| end as u64 > ceiling)
        {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("offset + limit must be at most {ceiling}; narrow the filter"),
            ));
        }
        Ok((offset as usize, limit as usize))
    }

    /// A boolean (`true`/`false`), default false.
    pub fn flag(&self, name: &str, gate: &Admitted) -> Result<bool, Response> {
        match self.get(name) {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("{name} must be true or false"),
            )),
        }
    }
}

/// A JSON body in the spec's type, or a 400 envelope.
pub fn body<T: DeserializeOwned>(bytes: &[u8], gate: &Admitted) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        gate.fail(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

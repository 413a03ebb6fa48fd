//! The permission catalogue (permissions, their groups, a role's permissions) and what a
//! caller may do (allowed actions).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    DomainActionValidationRequest, DomainActionValidationResponse, DomainAllowedActionResponse,
    DomainPermissionDetails, DomainPermissionGroup, FlightcontrolapiGetPermissionGroupsResponse,
    FlightcontrolapiGetPermissionsResponse, FlightcontrolapiGetRolePermissionsResponse,
    MsaspecIdsRequest, MsaspecQueryResponse,
};

use crate::envelope::{Envelope, answer, meta, paged_meta};
use crate::extract::{Params, body, by_ids};
use crate::gate::Admitted;
use crate::shared::Shared;

type Answer = Result<Response, Response>;

/// `userAllowedActionsV1`: echoes the actions the caller may perform (users it can see, in CIDs
/// it can act in).
pub async fn allowed_actions(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    let request: DomainActionValidationRequest = body(&bytes, &gate)?;
    let mut allowed = Vec::new();
    for action in request.allowed_actions {
        let Ok(cid) = gate.cid(&shared, Some(&action.cid)) else {
            continue;
        };
        let state = shared.read();
        let user_visible = [cid.as_str(), gate.token.cid.as_str()].iter().any(|c| {
            state
                .tenants
                .get(*c)
                .is_some_and(|t| t.users.contains_key(&action.uuid))
        });
        if user_visible {
            allowed.push(DomainAllowedActionResponse {
                action: action.action,
                cid,
                resource_ids: action.resource_ids,
                uuid: action.uuid,
            });
        }
    }
    let envelope = Envelope {
        errors: Vec::new(),
        meta: meta(gate.started, &gate.headers.trace),
        resources: allowed,
    };
    let body: DomainActionValidationResponse = gate.reshape(&envelope)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

const GROUPS: &[(&str, &str)] = &[
    ("hosts", "Hosts"),
    ("detections", "Detections"),
    ("users", "User management"),
];

/// (id, group, name, depends on)
const PERMISSIONS: &[(&str, &str, &str, &[&str])] = &[
    ("hosts:read", "hosts", "View hosts", &[]),
    ("hosts:write", "hosts", "Manage hosts", &["hosts:read"]),
    ("detections:read", "detections", "View detections", &[]),
    (
        "detections:write",
        "detections",
        "Update detections",
        &["detections:read"],
    ),
    ("users:read", "users", "View users and roles", &[]),
    (
        "users:write",
        "users",
        "Manage users and grants",
        &["users:read"],
    ),
];

fn permission(id: &str) -> Option<DomainPermissionDetails> {
    let (pid, group, name, deps) = PERMISSIONS.iter().find(|p| p.0 == id)?;
    Some(DomainPermissionDetails {
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        description: format!("{name}."),
        display_name: (*name).into(),
        id: (*pid).into(),
        is_required_for: PERMISSIONS
            .iter()
            .filter(|p| p.3.contains(pid))
            .map(|p| p.0.to_owned())
            .collect(),
        permission_group_id: (*group).into(),
        type_: "permission".into(),
    })
}

/// `queriesPermissionsV1`: pages the catalogue.
pub async fn query_permissions(gate: Admitted, RawQuery(raw): RawQuery) -> Answer {
    let (offset, limit) = Params::parse(raw.as_deref()).page(&gate, 5000, u64::MAX)?;
    let ids: Vec<String> = PERMISSIONS
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| p.0.to_owned())
        .collect();
    let body = MsaspecQueryResponse {
        meta: paged_meta(
            gate.started,
            &gate.headers.trace,
            offset,
            limit,
            PERMISSIONS.len(),
        ),
        resources: Some(ids),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `entitiesPermissionsGETV1`.
pub async fn permissions(gate: Admitted, bytes: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, permission)?;
    let body: FlightcontrolapiGetPermissionsResponse = gate.reshape(&envelope)?;
    Ok(answer(status, &gate.headers, &body))
}

/// `entitiesPermissionGroupsGETV1`.
pub async fn permission_groups(gate: Admitted, bytes: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, |id| {
        GROUPS
            .iter()
            .find(|g| g.0 == id)
            .map(|(gid, name)| DomainPermissionGroup {
                description: format!("Permissions for {name}."),
                display_name: (*name).into(),
                id: (*gid).into(),
                type_: "permission_group".into(),
            })
    })?;
    let body: FlightcontrolapiGetPermissionGroupsResponse = gate.reshape(&envelope)?;
    Ok(answer(status, &gate.headers, &body))
}

/// `entitiesRolePermissionsV1`: administrators (a role id with `admin` in it) get every
/// permission; other roles every read and a stable subset of the writes on hosts and
/// detections, never `users:write` (only administrators manage who has access).
pub async fn role_permissions(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let id = Params::parse(raw.as_deref()).required("id", &gate)?;
    if shared.read().role(&gate.token.cid, &id).is_none() {
        return Err(gate.fail(gate.not_found(), format!("role {id} not found")));
    }
    let ids: Vec<String> = PERMISSIONS
        .iter()
        .filter(|p| {
            id.contains("admin")
                || p.0.ends_with(":read")
                || (p.1 != "users" && (id.len() + p.0.len()) % 3 == 0)
        })
        .map(|p| p.0.to_owned())
        .collect();
    let envelope = Envelope {
        errors: Vec::new(),
        meta: meta(gate.started, &gate.headers.trace),
        resources: ids,
    };
    let body: FlightcontrolapiGetRolePermissionsResponse = gate.reshape(&envelope)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

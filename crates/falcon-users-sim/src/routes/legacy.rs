//! The deprecated `/users` and `/user-roles` operations, on the same state as the current ones.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    ApiUserMetadataResponse, ApiUserRoleIdsResponse, ApiUserRoleResponse, DomainRoleIds,
    DomainUpdateUserFields, DomainUserCreateRequest, DomainUserMetadata, DomainUserRole,
    MsaQueryResponse, MsaReplyMetaOnly, MsaspecError, MsaspecResponseFields,
};

use super::users::{insert, new_user, remove, rename};
use crate::envelope::{answer, meta, write_meta};
use crate::extract::{Params, body, lookup_status};
use crate::gate::Admitted;
use crate::shared::Shared;
use crate::state::{Grant, User};

type Answer = Result<Response, Response>;

fn metadata(user: &User) -> DomainUserMetadata {
    DomainUserMetadata {
        customer: user.cid.clone(),
        first_name: Some(user.first_name.clone()),
        last_name: Some(user.last_name.clone()),
        status: Some(user.status.clone()),
        uid: Some(user.uid.clone()),
        uuid: user.uuid.clone(),
    }
}

fn users_answer(
    gate: &Admitted,
    status: StatusCode,
    users: Vec<DomainUserMetadata>,
    errors: Vec<MsaspecError>,
) -> Response {
    let body = ApiUserMetadataResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(users),
    };
    answer(status, &gate.headers, &body)
}

fn ids_answer(gate: &Admitted, ids: Vec<String>) -> Response {
    let body = MsaQueryResponse {
        errors: Some(Vec::new()),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(ids),
    };
    answer(StatusCode::OK, &gate.headers, &body)
}

/// `retrieveUser`.
pub async fn retrieve(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).required_all("ids", &gate)?;
    let state = shared.read();
    let tenant = state.tenants.get(&gate.token.cid);
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match tenant.and_then(|t| t.users.get(&id)) {
            Some(user) => found.push(metadata(user)),
            None => errors.push(MsaspecError {
                code: 404,
                id: Some(id.clone()),
                message: format!("user {id} not found"),
            }),
        }
    }
    if found.is_empty() {
        return Err(gate.fail(gate.not_found(), "none of the users exist"));
    }
    let status = lookup_status(found.len(), errors.len(), gate.not_found());
    Ok(users_answer(&gate, status, found, errors))
}

/// `CreateUser`, in the token's CID.
pub async fn create(State(shared): State<Arc<Shared>>, gate: Admitted, bytes: Bytes) -> Answer {
    let request: DomainUserCreateRequest = body(&bytes, &gate)?;
    let cid = gate.token.cid.clone();
    let user = new_user(
        &gate,
        request.uid.as_deref(),
        request.first_name,
        request.last_name,
        &cid,
        shared.now_text(),
    )?;
    let created = insert(&shared, &gate, &cid, user)?;
    Ok(users_answer(
        &gate,
        StatusCode::OK,
        vec![metadata(&created)],
        Vec::new(),
    ))
}

/// `UpdateUser`.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    let fields: DomainUpdateUserFields = body(&bytes, &gate)?;
    let user = rename(&shared, &gate, &uuid, fields.first_name, fields.last_name)?;
    Ok(users_answer(
        &gate,
        StatusCode::OK,
        vec![metadata(&user)],
        Vec::new(),
    ))
}

/// `DeleteUser`.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    remove(&shared, &gate, &uuid)?;
    let envelope = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, 1),
    };
    let body: MsaReplyMetaOnly = gate.reshape(&envelope)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `RetrieveEmailsByCID`: every login of the token's CID.
pub async fn emails(State(shared): State<Arc<Shared>>, gate: Admitted) -> Answer {
    let state = shared.read();
    let uids = state
        .tenants
        .get(&gate.token.cid)
        .map(|t| t.by_uid.keys().cloned().collect())
        .unwrap_or_default();
    Ok(ids_answer(&gate, uids))
}

/// `RetrieveUserUUIDsByCID`.
pub async fn uuids(State(shared): State<Arc<Shared>>, gate: Admitted) -> Answer {
    let state = shared.read();
    let ids = state
        .tenants
        .get(&gate.token.cid)
        .map(|t| t.by_uid.values().cloned().collect())
        .unwrap_or_default();
    Ok(ids_answer(&gate, ids))
}

/// `RetrieveUserUUID`: UUIDs by login.
pub async fn uuids_by_email(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let uids = Params::parse(raw.as_deref()).required_all("uid", &gate)?;
    let state = shared.read();
    let tenant = state.tenants.get(&gate.token.cid);
    let ids: Vec<String> = uids
        .iter()
        .filter_map(|u| {
            tenant
                .and_then(|t| t.by_uid.get(&u.trim().to_lowercase()))
                .cloned()
        })
        .collect();
    if ids.is_empty() {
        return Err(gate.fail(gate.not_found(), "no user with these logins"));
    }
    Ok(ids_answer(&gate, ids))
}

/// `GetRoles`.
pub async fn get_roles(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).required_all("ids", &gate)?;
    let (roles, errors) = shared.read().lookup_roles(&gate.token.cid, &ids);
    let found: Vec<DomainUserRole> = roles
        .into_iter()
        .map(|r| DomainUserRole {
            cid: r.cid,
            description: r.description,
            display_name: r.display_name,
            id: r.id,
        })
        .collect();
    let status = lookup_status(found.len(), errors.len(), gate.not_found());
    let body = ApiUserRoleResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    Ok(answer(status, &gate.headers, &body))
}

fn role_ids_answer(gate: &Admitted, ids: Vec<String>) -> Response {
    let body = ApiUserRoleIdsResponse {
        errors: Some(Vec::new()),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(ids),
    };
    answer(StatusCode::OK, &gate.headers, &body)
}

/// Applies a legacy grant (`true`) or revoke in the token's CID; returns the user's roles after.
fn change(
    shared: &Shared,
    gate: &Admitted,
    uuid: &str,
    roles: &[String],
    grant: bool,
) -> Result<Vec<String>, Response> {
    if roles.is_empty() {
        return Err(gate.fail(StatusCode::BAD_REQUEST, "role ids are required"));
    }
    let cid = gate.token.cid.clone();
    let mut state = shared.write();
    if !state
        .tenants
        .get(&cid)
        .is_some_and(|t| t.users.contains_key(uuid))
    {
        return Err(gate.unknown_user(uuid));
    }
    if let Some(bad) = state.refused_role(&cid, roles, uuid, grant) {
        return Err(gate.invalid_role(bad));
    }
    let tenant = state
        .tenants
        .get_mut(&cid)
        .ok_or_else(|| gate.fail(StatusCode::FORBIDDEN, "unknown CID"))?;
    let held = tenant.grants.entry(uuid.to_owned()).or_default();
    for role in roles {
        let position = held.iter().position(|g| &g.role_id == role);
        match (grant, position) {
            (true, None) => held.push(Grant {
                role_id: role.clone(),
                cid: cid.clone(),
                expires_at: None,
            }),
            (false, Some(i)) => {
                held.remove(i);
            }
            _ => {}
        }
    }
    Ok(held.iter().map(|g| g.role_id.clone()).collect())
}

/// `GrantUserRoleIds`, in the token's CID.
pub async fn grant(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    let request: DomainRoleIds = body(&bytes, &gate)?;
    let held = change(&shared, &gate, &uuid, &request.role_ids, true)?;
    Ok(role_ids_answer(&gate, held))
}

/// `RevokeUserRoleIds`, in the token's CID.
pub async fn revoke(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let uuid = params.required("user_uuid", &gate)?;
    let held = change(&shared, &gate, &uuid, &params.all("ids"), false)?;
    Ok(role_ids_answer(&gate, held))
}

/// `GetAvailableRoleIds`.
pub async fn available_role_ids(State(shared): State<Arc<Shared>>, gate: Admitted) -> Answer {
    let ids = shared
        .read()
        .roles(&gate.token.cid)
        .map(|r| r.id.clone())
        .collect();
    Ok(ids_answer(&gate, ids))
}

/// `GetUserRoleIds`.
pub async fn user_role_ids(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    let state = shared.read();
    let tenant = state.tenants.get(&gate.token.cid);
    if !tenant.is_some_and(|t| t.users.contains_key(&uuid)) {
        return Err(gate.unknown_user(&uuid));
    }
    let ids = tenant
        .and_then(|t| t.grants.get(&uuid))
        .map(|gs| gs.iter().map(|g| g.role_id.clone()).collect())
        .unwrap_or_default();
    Ok(ids_answer(&gate, ids))
}

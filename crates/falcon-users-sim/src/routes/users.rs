//! Users: query (v1, v2), retrieve (v1, v2), create, update, delete, account actions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use falcon_users_api::types::{
    DomainCreateUserRequest, DomainUpdateUserRequest, DomainUser, DomainUserActionRequest,
    FlightcontrolapiUserResponse, FlightcontrolapiUserV2Response, MsaspecError, MsaspecIdsRequest,
    MsaspecQueryResponse, MsaspecResponseFields,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Params, body};
use crate::envelope::{answer, meta, paged_meta, write_meta};
use crate::fql::{Filter, Sort};
use crate::gate::{Admitted, admit};
use crate::seed;
use crate::server::Shared;
use crate::state::{USER_FILTER_FIELDS, USER_SORT_FIELDS, User};

type Answer = Result<Response, Response>;

/// Most ids one entity request may carry.
pub const MAX_IDS: usize = 5000;

pub async fn query_v1(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    query(&shared, &headers, raw.as_deref(), "queryUserV1", false)
}

pub async fn query_v2(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    query(&shared, &headers, raw.as_deref(), "queryUserV2", true)
}

fn query(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    raw: Option<&str>,
    op: &'static str,
    v2: bool,
) -> Answer {
    let gate = admit(shared, headers, op, false)?;
    let params = Params::parse(raw);
    let (offset, limit) = params.page(&gate, 500, shared.config.offset_ceiling)?;
    let filter = parse_filter(params.get("filter"), &gate)?;
    let sort = parse_sort(params.get("sort"), &gate)?;
    let external_only = match params.get("user_type") {
        Some("external") if v2 => true,
        None | Some("") | Some("internal") => false,
        Some(other) => {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("invalid user_type {other:?}"),
            ));
        }
    };
    let state = shared.read();
    let (ids, total) = match state.tenants.get(&gate.token.cid) {
        // The simulated tenants have no invited external users.
        Some(tenant) if !external_only => {
            tenant.query(filter.as_ref(), sort.as_ref(), offset, limit)
        }
        _ => (Vec::new(), 0),
    };
    let body = MsaspecQueryResponse {
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, total),
        resources: Some(ids),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

pub fn parse_filter(raw: Option<&str>, gate: &Admitted) -> Result<Option<Filter>, Response> {
    raw.filter(|f| !f.trim().is_empty())
        .map(|f| Filter::parse(f, USER_FILTER_FIELDS))
        .transpose()
        .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")))
}

fn parse_sort(raw: Option<&str>, gate: &Admitted) -> Result<Option<Sort>, Response> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| Sort::parse(s, USER_SORT_FIELDS))
        .transpose()
        .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid sort: {e}")))
}

/// Users of the token's CID by UUID, and a 404 error entry per unknown id.
fn lookup(
    shared: &Shared,
    gate: &Admitted,
    ids: &[String],
) -> Result<(Vec<DomainUser>, Vec<MsaspecError>), Response> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("between 1 and {MAX_IDS} ids are required"),
        ));
    }
    let state = shared.read();
    let tenant = state.tenants.get(&gate.token.cid);
    let mut found = Vec::with_capacity(ids.len());
    let mut errors = Vec::new();
    for id in ids {
        match tenant.and_then(|t| t.users.get(id)) {
            Some(user) => found.push(user.to_api()),
            None => errors.push(MsaspecError {
                code: 404,
                id: Some(id.clone()),
                message: format!("user {id} not found"),
            }),
        }
    }
    Ok((found, errors))
}

pub async fn retrieve_v1(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "retrieveUsersGETV1", false)?;
    let request: MsaspecIdsRequest = body(&raw, &gate)?;
    let (found, errors) = lookup(&shared, &gate, &request.ids)?;
    let body = FlightcontrolapiUserResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

pub async fn retrieve_v2(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "retrieveUsersGETV2", false)?;
    let request: MsaspecIdsRequest = body(&raw, &gate)?;
    let (found, errors) = lookup(&shared, &gate, &request.ids)?;
    let v1 = FlightcontrolapiUserResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    let body: FlightcontrolapiUserV2Response = same_shape(&v1, &gate)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// Converts between envelope types the spec gives the same shape (msaspec.* vs msa.*).
pub fn same_shape<A: Serialize, B: DeserializeOwned>(
    value: &A,
    gate: &Admitted,
) -> Result<B, Response> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            gate.fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("envelope conversion: {e}"),
            )
        })
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "createUserV1", true)?;
    let params = Params::parse(raw.as_deref());
    let validate_only = params.flag("validate_only", &gate)?;
    let request: DomainCreateUserRequest = body(&bytes, &gate)?;
    let cid = gate.cid(&shared, request.cid.as_deref())?;
    let user = new_user(
        &gate,
        request.uid.as_deref(),
        request.first_name,
        request.last_name,
        &cid,
    )?;
    if validate_only {
        let taken = shared
            .read()
            .tenants
            .get(&cid)
            .is_some_and(|t| t.by_uid.contains_key(&user.uid));
        if taken {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("user with uid {} already exists", user.uid),
            ));
        }
        let body = FlightcontrolapiUserResponse {
            errors: Some(Vec::new()),
            meta: meta(gate.started, &gate.headers.trace),
            resources: Some(Vec::new()),
        };
        return Ok(answer(StatusCode::OK, &gate.headers, &body));
    }
    let created = insert(&shared, &gate, &cid, user)?;
    let body = FlightcontrolapiUserResponse {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, 1),
        resources: Some(vec![created.to_api()]),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// A new user record, validated.
pub fn new_user(
    gate: &Admitted,
    uid: Option<&str>,
    first: Option<String>,
    last: Option<String>,
    cid: &str,
) -> Result<User, Response> {
    let uid = uid.unwrap_or_default().trim().to_lowercase();
    let valid = uid
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
    if !valid || uid.len() > 254 || uid.chars().any(char::is_whitespace) {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("invalid uid {uid:?}: an email address is required"),
        ));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(User {
        uuid: seed::uuid(&mut fastrand::Rng::new()),
        uid,
        first_name: first.unwrap_or_default().trim().to_owned(),
        last_name: last.unwrap_or_default().trim().to_owned(),
        cid: cid.to_owned(),
        status: "active".into(),
        created_at: now.clone(),
        updated_at: now,
        last_login_at: String::new(),
    })
}

/// Stores a new user, refusing a login already taken in that CID.
pub fn insert(shared: &Shared, gate: &Admitted, cid: &str, user: User) -> Result<User, Response> {
    let mut state = shared.write();
    let tenant = state
        .tenants
        .get_mut(cid)
        .ok_or_else(|| gate.fail(StatusCode::FORBIDDEN, format!("access denied to CID {cid}")))?;
    if tenant.insert(user.clone()) {
        Ok(user)
    } else {
        Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("user with uid {} already exists", user.uid),
        ))
    }
}

pub async fn update(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "updateUserV1", true)?;
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    let request: DomainUpdateUserRequest = body(&bytes, &gate)?;
    let user = rename(&shared, &gate, &uuid, request.first_name, request.last_name)?;
    let body = FlightcontrolapiUserResponse {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, 1),
        resources: Some(vec![user.to_api()]),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// Renames a user of the token's CID.
pub fn rename(
    shared: &Shared,
    gate: &Admitted,
    uuid: &str,
    first: Option<String>,
    last: Option<String>,
) -> Result<User, Response> {
    if first.is_none() && last.is_none() {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            "first_name or last_name is required",
        ));
    }
    let mut state = shared.write();
    let user = state
        .tenants
        .get_mut(&gate.token.cid)
        .and_then(|t| t.users.get_mut(uuid))
        .ok_or_else(|| gate.fail(StatusCode::NOT_FOUND, format!("user {uuid} not found")))?;
    if let Some(first) = first {
        user.first_name = first.trim().to_owned();
    }
    if let Some(last) = last {
        user.last_name = last.trim().to_owned();
    }
    user.updated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(user.clone())
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    let gate = admit(&shared, &headers, "deleteUserV1", true)?;
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    remove(&shared, &gate, &uuid)?;
    let body = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, 1),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// Deletes a user of the token's CID and their grants.
pub fn remove(shared: &Shared, gate: &Admitted, uuid: &str) -> Result<User, Response> {
    let mut state = shared.write();
    let user = state
        .tenants
        .get_mut(&gate.token.cid)
        .and_then(|t| t.remove(uuid))
        .ok_or_else(|| gate.fail(StatusCode::NOT_FOUND, format!("user {uuid} not found")))?;
    // Grants the user holds in other CIDs (Flight Control children) go too.
    for tenant in state.tenants.values_mut() {
        tenant.grants.remove(uuid);
    }
    Ok(user)
}

pub async fn action(State(shared): State<Arc<Shared>>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let gate = admit(&shared, &headers, "userActionV1", true)?;
    let request: DomainUserActionRequest = body(&bytes, &gate)?;
    let (found, errors) = lookup(&shared, &gate, &request.ids)?;
    if !errors.is_empty() {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("{} of the users do not exist", errors.len()),
        ));
    }
    let body = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, found.len()),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

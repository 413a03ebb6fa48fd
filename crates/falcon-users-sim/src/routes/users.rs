//! Users: query (v1, v2), retrieve (v1, v2), create, update, delete, account actions.

use std::sync::Arc;

use crate::config::{MAX_NAME_CHARS, USERS};
use crate::envelope::{answer, meta, paged_meta, write_meta};
use crate::extract::{MAX_IDS, Params, body, lookup_status};
use crate::gate::Admitted;
use crate::shared::Shared;
use crate::state::User;
use crate::tenant_gen;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    DomainCreateUserRequest, DomainUpdateUserRequest, DomainUser, DomainUserActionRequest,
    FlightcontrolapiUserResponse, FlightcontrolapiUserV2Response, MsaspecError, MsaspecIdsRequest,
    MsaspecQueryResponse, MsaspecResponseFields,
};

type Answer = Result<Response, Response>;

/// `queryUserV1`.
pub async fn query_v1(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    query(&shared, gate, raw.as_deref(), false)
}

/// `queryUserV2`: v1 and `user_type`.
pub async fn query_v2(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    query(&shared, gate, raw.as_deref(), true)
}

fn query(shared: &Shared, gate: Admitted, raw: Option<&str>, v2: bool) -> Answer {
    let params = Params::parse(raw);
    let (offset, limit) = params.page(&gate, 500, shared.config.offset_ceiling)?;
    let filter = params.filter(&gate, shared.clock().utc())?;
    let sort = params.sort(&gate)?;
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
    let (ids, total) = if external_only {
        // The simulated tenants have no invited external users.
        (Vec::new(), 0)
    } else {
        shared.read().query_users(
            &gate.token.cid,
            filter.as_ref(),
            sort.as_ref(),
            offset,
            limit,
        )
    };
    let body = MsaspecQueryResponse {
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, total),
        resources: Some(ids),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// Users of the token's CID in `state` by UUID, and a 404 error entry per unknown id.
fn lookup(
    state: &crate::state::State,
    gate: &Admitted,
    ids: &[String],
) -> Result<(Vec<DomainUser>, Vec<MsaspecError>), Response> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("between 1 and {MAX_IDS} ids are required"),
        ));
    }
    let tenants: Vec<_> = gate
        .user_cids(state)
        .iter()
        .filter_map(|cid| state.tenants.get(cid))
        .collect();
    let mut found = Vec::with_capacity(ids.len());
    let mut errors = Vec::new();
    for id in ids {
        match tenants.iter().find_map(|t| t.users.get(id)) {
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

/// The answer to a users entity read: the users found and a 207 with a 404 entry per unknown
/// id when only some are known; when none is, a 200 with empty `resources` and no errors (what
/// clients read as "the user is gone": Terraform's `user` resource drops a user on an empty
/// `resources` and fails on any error entry).
fn retrieved(
    shared: &Shared,
    gate: &Admitted,
    ids: &[String],
) -> Result<(StatusCode, FlightcontrolapiUserResponse), Response> {
    let (found, mut errors) = lookup(&shared.read(), gate, ids)?;
    let status = lookup_status(found.len(), errors.len(), StatusCode::OK);
    if found.is_empty() {
        errors.clear();
    }
    let body = FlightcontrolapiUserResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    Ok((status, body))
}

/// `retrieveUsersGETV1`.
pub async fn retrieve_v1(State(shared): State<Arc<Shared>>, gate: Admitted, raw: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&raw, &gate)?;
    let (status, body) = retrieved(&shared, &gate, &request.ids)?;
    Ok(answer(status, &gate.headers, &body))
}

/// `retrieveUsersGETV2`: v1's answer in the v2 envelope.
pub async fn retrieve_v2(State(shared): State<Arc<Shared>>, gate: Admitted, raw: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&raw, &gate)?;
    let (status, v1) = retrieved(&shared, &gate, &request.ids)?;
    let body: FlightcontrolapiUserV2Response = gate.reshape(&v1)?;
    Ok(answer(status, &gate.headers, &body))
}

/// `createUserV1`: in the token's CID or, from the parent, a child's.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
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
        shared.now_text(),
    )?;
    if validate_only {
        // Checked against every write, seen by reads yet or not.
        let taken = shared
            .truth()
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
    now: String,
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
    let first_name = name(gate, "first_name", &first.unwrap_or_default())?;
    let last_name = name(gate, "last_name", &last.unwrap_or_default())?;
    Ok(User {
        uuid: tenant_gen::uuid(&mut fastrand::Rng::new()),
        uid,
        first_name,
        last_name,
        cid: cid.to_owned(),
        status: "active".into(),
        user_type: "internal".into(),
        created_at: now.clone(),
        updated_at: now,
        last_login_at: String::new(),
    })
}

/// A name as stored: trimmed, and at most [`MAX_NAME_CHARS`] characters (a client must not
/// make the simulator hold megabytes per user).
fn name(gate: &Admitted, field: &str, value: &str) -> Result<String, Response> {
    let value = value.trim();
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("{field} is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Stores a new user, refusing a login already taken in that CID, and a user beyond the most
/// a CID holds ([`USERS`]`.max`, seeded and created together).
pub fn insert(shared: &Shared, gate: &Admitted, cid: &str, user: User) -> Result<User, Response> {
    let mut state = shared.write();
    let tenant = state
        .tenants
        .get_mut(cid)
        .ok_or_else(|| gate.fail(StatusCode::FORBIDDEN, format!("access denied to CID {cid}")))?;
    if tenant.users.len() >= USERS.max {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("CID {cid} has the most users it can hold ({})", USERS.max),
        ));
    }
    if tenant.insert(user.clone()) {
        Ok(user)
    } else {
        Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("user with uid {} already exists", user.uid),
        ))
    }
}

/// `updateUserV1`.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
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
    let first = first.map(|n| name(gate, "first_name", &n)).transpose()?;
    let last = last.map(|n| name(gate, "last_name", &n)).transpose()?;
    let mut state = shared.write();
    let home = gate.home_of(&state, uuid).unwrap_or_default();
    let user = state
        .tenants
        .get_mut(&home)
        .and_then(|t| t.users.get_mut(uuid))
        .ok_or_else(|| gate.unknown_user(uuid))?;
    if let Some(first) = first {
        user.first_name = first;
    }
    if let Some(last) = last {
        user.last_name = last;
    }
    user.updated_at = shared.now_text();
    Ok(user.clone())
}

/// `deleteUserV1`.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let uuid = Params::parse(raw.as_deref()).required("user_uuid", &gate)?;
    remove(&shared, &gate, &uuid)?;
    let body = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, 1),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// Deletes a user the token reaches ([`Admitted::user_cids`]) and their grants.
pub fn remove(shared: &Shared, gate: &Admitted, uuid: &str) -> Result<User, Response> {
    let mut state = shared.write();
    let home = gate.home_of(&state, uuid).unwrap_or_default();
    state
        .remove_user(&home, uuid)
        .ok_or_else(|| gate.unknown_user(uuid))
}

/// `userActionV1`: account actions (password reset and the like) on existing users; the
/// simulator has no accounts to act on, so it only checks the users exist.
pub async fn action(State(shared): State<Arc<Shared>>, gate: Admitted, bytes: Bytes) -> Answer {
    let request: DomainUserActionRequest = body(&bytes, &gate)?;
    // An action is a write: checked against every user, seen by reads yet or not.
    let (found, errors) = lookup(&shared.truth(), &gate, &request.ids)?;
    if let Some(unknown) = errors.iter().find_map(|e| e.id.as_deref()) {
        return Err(gate.unknown_user(unknown));
    }
    let body = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, found.len()),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

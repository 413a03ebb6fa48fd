//! Roles: ids available in a CID, and role details by id.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    FlightcontrolapiGetRolesResponse, MsaspecIdsRequest, MsaspecQueryResponse,
};

use crate::envelope::{answer, meta};
use crate::extract::{MAX_IDS, Params, body};
use crate::gate::Admitted;
use crate::shared::Shared;

type Answer = Result<Response, Response>;

/// `queriesRolesV1`: every role of the CID; with `user_uuid` and `action=revoke`, the roles the
/// user holds there (the ones that can be revoked).
pub async fn query(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let cid = gate.cid(&shared, params.get("cid"))?;
    let state = shared.read();
    let ids: Vec<String> = match (
        params.get("user_uuid").filter(|u| !u.is_empty()),
        params.get("action"),
    ) {
        (Some(uuid), Some("revoke")) => state
            .tenants
            .get(&cid)
            .and_then(|t| t.grants.get(uuid))
            .map(|gs| gs.iter().map(|g| g.role_id.clone()).collect())
            .unwrap_or_default(),
        _ => state.roles(&cid).map(|r| r.id.clone()).collect(),
    };
    let body = MsaspecQueryResponse {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(ids),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

fn details(
    shared: &Shared,
    gate: &Admitted,
    cid: &str,
    ids: &[String],
) -> Result<Response, Response> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("between 1 and {MAX_IDS} ids are required"),
        ));
    }
    let (found, errors) = shared.read().lookup_roles(cid, ids);
    let status = if found.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let body = FlightcontrolapiGetRolesResponse {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    Ok(answer(status, &gate.headers, &body))
}

/// `entitiesRolesV1`: ids as repeated query keys.
pub async fn entities_v1(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let cid = gate.cid(&shared, params.get("cid"))?;
    details(&shared, &gate, &cid, &params.all("ids"))
}

/// `entitiesRolesGETV2`: ids in the body.
pub async fn entities_v2(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let cid = gate.cid(&shared, Params::parse(raw.as_deref()).get("cid"))?;
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    details(&shared, &gate, &cid, &request.ids)
}

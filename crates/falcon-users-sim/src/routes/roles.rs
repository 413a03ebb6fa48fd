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
use crate::extract::{MAX_IDS, Params, body, lookup_status};
use crate::gate::Admitted;
use crate::shared::Shared;

type Answer = Result<Response, Response>;

/// `queriesRolesV1`: every role of the CID; with `user_uuid`, the roles available for the
/// `action` (default `grant`) on that user: for `grant` the roles of the CID the user does not
/// hold there, for `revoke` the ones they do. Another action is refused (400).
pub async fn query(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let cid = gate.cid(&shared, params.get("cid"))?;
    let revoke = match params
        .get("action")
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None | Some("grant") => false,
        Some("revoke") => true,
        Some(other) => {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("invalid action {other:?}: grant or revoke"),
            ));
        }
    };
    let state = shared.read();
    let all = state.roles(&cid).map(|r| r.id.clone());
    let ids: Vec<String> = match params.get("user_uuid").filter(|u| !u.is_empty()) {
        None => all.collect(),
        Some(uuid) if !gate.knows_user(&state, &cid, uuid) => {
            return Err(gate.unknown_user(uuid));
        }
        Some(uuid) => {
            let held: Vec<&str> = state
                .tenants
                .get(&cid)
                .and_then(|t| t.grants.get(uuid))
                .map(|gs| gs.iter().map(|g| g.role_id.as_str()).collect())
                .unwrap_or_default();
            if revoke {
                held.into_iter().map(str::to_owned).collect()
            } else {
                all.filter(|id| !held.contains(&id.as_str())).collect()
            }
        }
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
    let status = lookup_status(found.len(), errors.len(), gate.not_found());
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

//! Invitations: the simulated tenants have none, so queries page over nothing and every id is
//! unknown; what is checked is the request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use falcon_users_api::types::{
    FlightcontrolapiInvitationResponse, FlightcontrolapiQueryInvitationResponse, MsaspecIdsRequest,
    MsaspecResponseFields,
};

use crate::envelope::{Envelope, answer, paged_meta};
use crate::extract::{Params, body, by_ids};
use crate::gate::Admitted;
use crate::shared::Shared;
use axum::http::StatusCode;

type Answer = Result<Response, Response>;

/// `queryUserInvitationsV1`: the simulated tenants have no pending invitations, so queries
/// page over none.
pub async fn query_invitations(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = params.page(&gate, 500, shared.config.offset_ceiling)?;
    // Checked, though there is nothing to filter or sort: a bad one is still a 400.
    params.filter(&gate, shared.clock().utc())?;
    params.sort(&gate)?;
    let envelope = Envelope::<String> {
        errors: Vec::new(),
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, 0),
        resources: Vec::new(),
    };
    let body: FlightcontrolapiQueryInvitationResponse = gate.reshape(&envelope)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `getUserInvitationsGETV1`: every id is unknown.
pub async fn invitations(gate: Admitted, bytes: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, |_| None::<MsaspecResponseFields>)?;
    let empty = Envelope::<String> {
        errors: envelope.errors,
        meta: envelope.meta,
        resources: Vec::new(),
    };
    let body: FlightcontrolapiInvitationResponse = gate.reshape(&empty)?;
    Ok(answer(status, &gate.headers, &body))
}

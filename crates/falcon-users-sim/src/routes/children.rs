//! Flight Control discovery: the parent's children (`queryChildren`, `getChildrenV2` and its
//! GET form `getChildren`).
//!
//! Children are never changed here, so a child's last change is its creation: the
//! `last_modified_timestamp` order is the order of `State::child_cids` (ties cannot happen).
//! A member (child) token has no children: it is answered as a parent without any
//! (`spec/CURATION.md`, *Guesses*).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    DomainChildLink, DomainChildrenResponseV1, MsaspecError, MsaspecIdsRequest,
    MsaspecQueryResponse,
};

use crate::envelope::{answer, meta, paged_meta};
use crate::extract::{Params, body};
use crate::gate::Admitted;
use crate::routes::sensor_download::with_checksum;
use crate::shared::Shared;
use crate::state;

type Answer = Result<Response, Response>;

/// The service's default page of children (the reference: `limit` default 10).
pub const DEFAULT_LIMIT: i64 = 10;
/// The largest page taken. The service documents none; PSFalcon checks 1–5,000 on its side.
pub const MAX_LIMIT: usize = 5000;
/// Most CIDs one `getChildrenV2` takes (PSFalcon's batch; the service's bound is unknown).
pub const MAX_IDS: usize = 500;
/// The status of every simulated child (the set of values is not documented).
pub const ACTIVE: &str = "active";

/// `queryChildren`: a page of the CIDs of the token's children, newest first unless `sort`
/// says otherwise, `filter` on `cid`.
pub async fn query(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = params.page_from(
        &gate,
        DEFAULT_LIMIT,
        MAX_LIMIT,
        shared.config.offset_ceiling,
    )?;
    let filter = params.filter(&gate, shared.clock().utc())?;
    let ascending = params.sort(&gate)?.is_some_and(|s| !s.descending);
    let state = shared.read();
    let mut cids: Vec<&String> = children(&state, &gate.token.cid)
        .iter()
        .filter(|cid| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(|field| (field == "cid").then_some(cid.as_str())))
        })
        .collect();
    if !ascending {
        cids.reverse();
    }
    let total = cids.len();
    let page = cids.into_iter().skip(offset).take(limit).cloned().collect();
    let body = MsaspecQueryResponse {
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, total),
        resources: Some(page),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `getChildrenV2`: the details of the token's children with these CIDs (any case, with or
/// without the `-XX` checksum), and a 404 entry per CID that is not one of them: 207 when any
/// is missing, even all (the Flight Control entity calls' way; the operation declares no 404).
pub async fn details(State(shared): State<Arc<Shared>>, gate: Admitted, bytes: Bytes) -> Answer {
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    answer_details(&shared, &gate, &request.ids)
}

/// `getChildren`: [`details`] with the CIDs in the query string (`ids=a&ids=b`).
pub async fn details_by_query(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let ids = Params::parse(raw.as_deref()).all("ids");
    answer_details(&shared, &gate, &ids)
}

/// The details of the children among `ids`, both forms' answer.
fn answer_details(shared: &Shared, gate: &Admitted, ids: &[String]) -> Answer {
    let request = MsaspecIdsRequest { ids: ids.to_vec() };
    if request.ids.is_empty() || request.ids.len() > MAX_IDS {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("between 1 and {MAX_IDS} ids are required"),
        ));
    }
    let state = shared.read();
    let kids = children(&state, &gate.token.cid);
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for id in &request.ids {
        let cid = bare_cid(id);
        match kids.iter().find(|c| **c == cid) {
            Some(cid) => found.push(link(&state, cid)),
            None => errors.push(MsaspecError {
                code: 404,
                id: Some(id.clone()),
                message: format!("child CID {id} not found"),
            }),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let body = DomainChildrenResponseV1 {
        errors: Some(errors),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(found),
    };
    Ok(answer(status, &gate.headers, &body))
}

/// A CID as the simulator keys it: lower case, without the console's `-XX` checksum.
pub fn bare_cid(text: &str) -> String {
    text.trim()
        .split('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The children of `cid`, oldest first: the parent's, none for anyone else.
fn children<'a>(state: &'a state::State, cid: &str) -> &'a [String] {
    if cid == state.parent_cid {
        &state.child_cids
    } else {
        &[]
    }
}

/// A child as `getChildrenV2` answers it.
fn link(state: &state::State, cid: &str) -> DomainChildLink {
    let console = with_checksum(cid);
    DomainChildLink {
        checksum: console[console.len() - 2..].to_owned(),
        child_cid: cid.to_owned(),
        child_gcid: None,
        child_of: state.parent_cid.clone(),
        domains: Vec::new(),
        name: state.tenants.get(cid).map(|t| t.name.clone()),
        status: Some(ACTIVE.to_owned()),
    }
}

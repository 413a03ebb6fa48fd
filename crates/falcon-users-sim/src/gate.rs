//! What every API request passes before its handler runs: bearer token, region, scope, rate limit.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::auth::{TokenInfo, TokenProblem, WRITE};
use crate::envelope::{Headers, error, trace_id};
use crate::server::Shared;

/// An admitted request: who sent it, in which CID, and the headers to answer with.
pub struct Admitted {
    /// When it arrived.
    pub started: Instant,
    /// Answer headers (trace id, rate limit).
    pub headers: Headers,
    /// The token's meaning.
    pub token: TokenInfo,
}

impl Admitted {
    /// The CID to act in: the `cid` parameter if given (the parent may act in its children),
    /// else the token's.
    pub fn cid(&self, shared: &Shared, requested: Option<&str>) -> Result<String, Response> {
        let Some(requested) = requested.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(self.token.cid.clone());
        };
        let requested = requested.to_lowercase();
        let state = shared.read();
        let allowed = requested == self.token.cid
            || (self.token.cid == state.parent_cid && state.child_cids.contains(&requested));
        if allowed && state.knows(&requested) {
            Ok(requested)
        } else {
            Err(self.fail(
                StatusCode::FORBIDDEN,
                format!("access denied to CID {requested}"),
            ))
        }
    }

    /// An error answer with this request's headers.
    pub fn fail(&self, status: StatusCode, message: impl Into<String>) -> Response {
        error(status, &self.headers, self.started, message)
    }
}

/// Checks the bearer token, its region and scope, and spends one request of the rate limit.
pub fn admit(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    operation: &'static str,
    write: bool,
) -> Result<Admitted, Response> {
    shared.count(operation);
    let started = Instant::now();
    let mut answer_headers = Headers::new(trace_id());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let Some(bearer) = bearer else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            &answer_headers,
            started,
            "access denied, authorization failed",
        ));
    };
    let token = match shared.auth.check(bearer.trim()) {
        Ok(token) => token,
        Err(problem) => {
            let message = match problem {
                TokenProblem::Unknown => "access denied, invalid bearer token",
                TokenProblem::Expired => "access denied, expired bearer token",
                TokenProblem::OtherRegion => {
                    "access denied, token was issued for another cloud region"
                }
            };
            return Err(error(
                StatusCode::UNAUTHORIZED,
                &answer_headers,
                started,
                message,
            ));
        }
    };
    let verdict = shared.auth.spend(&token.client_id);
    answer_headers.rate = Some((verdict.limit, verdict.remaining));
    if let Some(at) = verdict.retry_after {
        answer_headers.retry_after = Some(at);
        return Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            &answer_headers,
            started,
            "API rate limit exceeded",
        ));
    }
    if write && !token.scopes.contains(&WRITE) {
        return Err(error(
            StatusCode::FORBIDDEN,
            &answer_headers,
            started,
            "access denied, authorization failed",
        ));
    }
    if let Some(status) = shared.scripted_failure(operation) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(error(
            status,
            &answer_headers,
            started,
            "failure scripted by the test",
        ));
    }
    Ok(Admitted {
        started,
        headers: answer_headers,
        token,
    })
}

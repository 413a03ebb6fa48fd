//! The request body, read whole before any handler runs, within the instance's size limit and
//! body deadline (`SimConfig::limits`): a larger body is answered 413 and one slower than the
//! deadline 408, both in the envelope, and neither holds a connection or memory longer. The
//! router wraps every route (and the fallback) in it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::envelope::{Headers, error, trace_id};
use crate::shared::Shared;

/// Reads the body within the limits, then runs the handler on it.
pub async fn bounded(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let limits = &shared.config.limits;
    let started = Instant::now();
    let refuse = |status: StatusCode, message: String| {
        error(status, &Headers::new(trace_id()), started, message)
    };
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {} bytes", limits.max_body_bytes),
        )
    };
    let (parts, body) = request.into_parts();
    // A declared length past the limit is refused before a byte of the body is read.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return too_large();
    }
    let read = Limited::new(body, limits.max_body_bytes).collect();
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {:?}", limits.body_timeout),
            );
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Ok(Err(e)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}"),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

//! The rate-limit headers of every answer. The gate and the token endpoints spend the budget
//! the request is charged to (its client's, or its source address's when it fails to
//! authenticate) and stamp that verdict; this layer stamps every answer that left without one
//! (unknown paths, refused bodies, injected faults) with its source address's budget, so that
//! no answer lacks `X-RateLimit-Limit`/`X-RateLimit-Remaining`, as the service sends on every
//! response.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{Extensions, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::shared::Shared;

/// The request's source address (the server files it with each connection); loopback for a
/// request served without a connection (a router driven in-process).
pub fn source(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip())
}

/// The credentials of an `Authorization` value in `scheme`, whose name is case-insensitive
/// (RFC 7235 §2.1): `bearer x`, `Bearer x` and `BEARER x` all give `x`.
pub fn credentials<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.trim_start().split_once(' ')?;
    let rest = rest.trim();
    (name.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then_some(rest)
}

/// Stamps an answer that has no rate headers with its source address's budget.
pub async fn stamp(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let source = source(request.extensions());
    let authorization = request.headers().get("authorization").cloned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key("x-ratelimit-limit") {
        // A request whose token checks out (an injected fault, say) reports its client's
        // budget in the token's CID: clients pace themselves by these headers.
        let client = authorization
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| credentials(v, "Bearer"))
            .and_then(|t| shared.clients.check(t).ok());
        let left = match client {
            Some(token) => shared.clients.client_left(&token.client_id, &token.cid),
            None => shared.clients.unauthenticated_left(source),
        };
        headers.insert("x-ratelimit-limit", HeaderValue::from(left.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(left.remaining));
    }
    response
}

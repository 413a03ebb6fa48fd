//! The token endpoints: minting (`oauth2AccessToken`) and revoking (`oauth2RevokeToken`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use falcon_users_api::types::{
    DomainAccessTokenResponseV1, MsaspecResponseFields, Oauth2AccessTokenBody,
    Oauth2RevokeTokenBody,
};

use crate::envelope::{Headers, answer, error, meta};
use crate::gate::Arrival;
use crate::shared::Shared;

/// Mints a token (201, `X-Cs-Region`) for valid client credentials.
pub async fn token(State(shared): State<Arc<Shared>>, arrival: Arrival, body: Bytes) -> Response {
    let Arrival {
        started, headers, ..
    } = arrival;
    let Ok(form) = serde_urlencoded::from_bytes::<Oauth2AccessTokenBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            &headers,
            started,
            "client_id and client_secret are required",
        );
    };
    let Some(client) = shared
        .clients
        .clients
        .get(&form.client_id)
        .filter(|c| c.secret == form.client_secret)
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            &headers,
            started,
            "access denied, invalid client credentials",
        );
    };
    let cid = match form
        .member_cid
        .as_deref()
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty())
    {
        None => client.cid.clone(),
        Some(member) => {
            let state = shared.read();
            if client.cid == state.parent_cid && state.child_cids.contains(&member) {
                member
            } else {
                return error(
                    StatusCode::BAD_REQUEST,
                    &headers,
                    started,
                    format!("invalid member_cid {member}"),
                );
            }
        }
    };
    let token = match shared
        .clients
        .mint(&form.client_id, &cid, client.scopes.clone())
    {
        Ok(token) => token,
        Err(full) => {
            // The service's token endpoint answers 429 too; here the cause is the bound on
            // live tokens, and RetryAfter is when the first of them expires.
            let headers = Headers {
                retry_after: Some(full.retry_after),
                ..headers
            };
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                &headers,
                started,
                format!(
                    "too many live tokens (at most {}): revoke one or wait for one to expire",
                    full.max
                ),
            );
        }
    };
    let body = DomainAccessTokenResponseV1 {
        access_token: Some(token),
        expires_in: Some(shared.clients.ttl().as_secs() as i32),
        id_token: None,
        issued_token_type: None,
        refresh_token: None,
        scope: None,
        token_type: Some("bearer".into()),
    };
    let mut response = answer(StatusCode::CREATED, &headers, &body);
    if let Ok(region) = HeaderValue::from_str(shared.clients.region()) {
        response.headers_mut().insert("x-cs-region", region);
    }
    response
}

/// Revokes a token; the caller authenticates with HTTP Basic (client id and secret).
pub async fn revoke(
    State(shared): State<Arc<Shared>>,
    arrival: Arrival,
    request_headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Arrival {
        started, headers, ..
    } = arrival;
    let basic = request_headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 7235); FalconPy sends `basic`, as upstream documents.
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, b)| scheme.eq_ignore_ascii_case("basic").then_some(b))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    let authorized = basic
        .as_deref()
        .and_then(|pair| pair.split_once(':'))
        .is_some_and(|(id, secret)| {
            shared
                .clients
                .clients
                .get(id)
                .is_some_and(|c| c.secret == secret)
        });
    if !authorized {
        return error(
            StatusCode::FORBIDDEN,
            &headers,
            started,
            "access denied, client credentials required",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Oauth2RevokeTokenBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            &headers,
            started,
            "token is required",
        );
    };
    shared.clients.revoke(&form.token);
    answer(
        StatusCode::OK,
        &headers,
        &MsaspecResponseFields {
            errors: Some(Vec::new()),
            meta: meta(started, &headers.trace),
        },
    )
}

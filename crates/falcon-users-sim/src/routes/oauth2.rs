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
use crate::gate::{Arrival, refused};
use crate::rate::credentials;
use crate::shared::Shared;

/// Mints a token (201, `X-Cs-Region`) for valid client credentials.
pub async fn token(State(shared): State<Arc<Shared>>, arrival: Arrival, body: Bytes) -> Response {
    let Arrival {
        started,
        headers,
        source,
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
        // The service's answer to wrong credentials: 403, charged to the source address.
        let verdict = shared.clients.spend_unauthenticated(source);
        return refused(
            verdict,
            StatusCode::FORBIDDEN,
            headers,
            started,
            "Failed to issue access token",
        );
    };
    let mut headers = headers;
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
                // Reported with the budget of the client's own CID: the member one is not its.
                let home = &client.cid;
                if let Err(limited) =
                    within_budget(&shared, &form.client_id, home, &mut headers, started)
                {
                    return limited;
                }
                return error(
                    StatusCode::BAD_REQUEST,
                    &headers,
                    started,
                    format!("invalid member_cid {member}"),
                );
            }
        }
    };
    // The budget of the CID the token will act in (per customer, as the service counts).
    if let Err(limited) = within_budget(&shared, &form.client_id, &cid, &mut headers, started) {
        return limited;
    }
    let token = match shared
        .clients
        .mint(&form.client_id, &cid, client.scopes.clone())
    {
        Ok(token) => token,
        Err(full) => {
            // The service's token endpoint answers 429 too; here the cause is the client's bound
            // on live tokens, and RetryAfter is when the first of its tokens expires.
            let headers = Headers {
                retry_after: Some(full.retry_after),
                ..headers
            };
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                &headers,
                started,
                format!(
                    "too many live tokens for this client (at most {} per client): revoke one \
                     or wait for one to expire",
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
        started,
        mut headers,
        source,
    } = arrival;
    let basic = request_headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| credentials(v, "Basic"))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    let client = basic
        .as_deref()
        .and_then(|pair| pair.split_once(':'))
        .filter(|(id, secret)| {
            shared
                .clients
                .clients
                .get(*id)
                .is_some_and(|c| c.secret == *secret)
        })
        .map(|(id, _)| id.to_owned());
    let Some(client) = client else {
        let verdict = shared.clients.spend_unauthenticated(source);
        return refused(
            verdict,
            StatusCode::FORBIDDEN,
            headers,
            started,
            "access denied, client credentials required",
        );
    };
    // Revoking names no CID: it reports (and is refused with) the client's own CID's budget.
    let home = shared
        .clients
        .clients
        .get(&client)
        .map(|c| c.cid.clone())
        .unwrap_or_default();
    if let Err(limited) = within_budget(&shared, &client, &home, &mut headers, started) {
        return limited;
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Oauth2RevokeTokenBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            &headers,
            started,
            "token is required",
        );
    };
    // RFC 7009 §2.1: the server verifies the token was issued to the client revoking it;
    // a token that was not (or is invalid) is left alone, and the answer is 200 all the same.
    shared.clients.revoke(&form.token, &client);
    answer(
        StatusCode::OK,
        &headers,
        &MsaspecResponseFields {
            errors: Some(Vec::new()),
            meta: meta(started, &headers.trace),
        },
    )
}

/// Puts `client`'s API budget in `cid` on the answer, or answers 429 when it is spent: the
/// token endpoints are not charged to it, but are refused with it.
fn within_budget(
    shared: &Shared,
    client: &str,
    cid: &str,
    headers: &mut Headers,
    started: std::time::Instant,
) -> Result<(), Response> {
    let verdict = shared.clients.client_left(client, cid);
    headers.rate = Some((verdict.limit, verdict.remaining));
    match verdict.retry_after {
        Some(at) => {
            headers.retry_after = Some(at);
            Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                started,
                "API rate limit exceeded",
            ))
        }
        None => Ok(()),
    }
}

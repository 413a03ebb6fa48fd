//! The ergonomic client against httpmock: test credentials, a builder for a mock server, token
//! endpoints, response bodies and scripted responders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use falcon_users::clock::{Clock, ManualClock};
use falcon_users::{Cloud, Falcon, FalconBuilder, UserQuery};
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use serde_json::{Value, json};
use url::Url;

use crate::bounded;

pub const CLIENT_ID: &str = "ergo-client-id";
/// URL-safe, so that it appears verbatim in the form body.
pub const SECRET: &str = "ergo-S3CRET-value-9f2c71";
/// A CID as the API wants it.
pub const CID: &str = "0123456789abcdef0123456789abcdef";
/// The same CID as pasted from the console: upper case with a checksum suffix.
pub const CID_PASTED: &str = "0123456789ABCDEF0123456789ABCDEF-7C";

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const QUERY_USERS_PATH: &str = "/user-management/queries/users/v1";
pub const RETRIEVE_USERS_PATH: &str = "/user-management/entities/users/GET/v1";
pub const USERS_PATH: &str = "/user-management/entities/users/v1";
pub const GRANTS_PATH: &str = "/user-management/combined/user-roles/v2";

/// The server's base URL.
pub fn url(server: &MockServer) -> Url {
    Url::parse(&server.base_url()).expect("mock URL parses")
}

/// A builder pointed at `server` as a custom cloud, with the test credentials.
pub fn builder(server: &MockServer) -> FalconBuilder {
    Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(url(server)))
}

/// A client for `server` on a manual clock (waits and backoffs take no real time).
pub fn with_clock(server: &MockServer) -> (Falcon, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(server)
        .clock(clock.clone())
        .build()
        .expect("valid settings");
    (falcon, clock)
}

/// Moves `clock` to the next whole second, so epoch-second headers are exact.
pub fn align_to_second(clock: &ManualClock) {
    let nanos = clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    if nanos != 0 {
        clock.advance(Duration::from_secs(1) - Duration::from_nanos(u64::from(nanos)));
    }
}

/// The clock's time in whole epoch seconds.
pub fn epoch_secs(clock: &ManualClock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The exact form body of a token request.
pub fn token_form(member_cid: Option<&str>) -> String {
    match member_cid {
        Some(cid) => format!("client_id={CLIENT_ID}&client_secret={SECRET}&member_cid={cid}"),
        None => format!("client_id={CLIENT_ID}&client_secret={SECRET}"),
    }
}

/// A token response body.
pub fn token_json(token: &str, expires_in: u64) -> Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
}

/// The token endpoint, answering `token` (1799 s) to any token request.
pub async fn token_mock<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    let body = token_json(token, 1799);
    server
        .mock_async(move |when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "us-1")
                .json_body(body);
        })
        .await
}

/// The token endpoint, answering `tokens[0]`, then `tokens[1]`, ... (the last one repeats).
pub async fn token_sequence<'a>(
    server: &'a MockServer,
    tokens: &[&str],
    expires_in: u64,
) -> Mock<'a> {
    let replies = tokens
        .iter()
        .map(|t| json_reply(201, &token_json(t, expires_in)))
        .collect();
    let responder = reply_sequence(replies);
    server
        .mock_async(move |when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.respond_with(responder);
        })
        .await
}

/// `{meta, resources, errors}` with a pagination block.
pub fn page(resources: Value, offset: u64, limit: u64, total: u64) -> Value {
    json!({
        "meta": {"query_time": 0.01, "trace_id": "trace-page",
                 "pagination": {"offset": offset, "limit": limit, "total": total}},
        "resources": resources,
        "errors": [],
    })
}

/// `{meta, resources, errors}` without pagination.
pub fn entities(resources: Value, errors: Value) -> Value {
    json!({"meta": {"query_time": 0.01, "trace_id": "trace-entities"},
           "resources": resources, "errors": errors})
}

/// An error envelope.
pub fn error_body(code: u16, message: &str) -> Value {
    json!({"meta": {"query_time": 0.0, "trace_id": "trace-err"},
           "errors": [{"code": code, "message": message}]})
}

/// A user entity.
pub fn user(uuid: &str) -> Value {
    json!({"uuid": uuid, "uid": format!("{uuid}@example.com"), "cid": CID})
}

/// A JSON response for `respond_with`.
pub fn json_reply(status: u16, body: &Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

/// A responder giving the i-th reply to the i-th request (the last reply repeats).
pub fn reply_sequence(
    replies: Vec<HttpMockResponse>,
) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
    assert!(!replies.is_empty());
    let next = AtomicUsize::new(0);
    move |_req| {
        let i = next.fetch_add(1, Ordering::SeqCst);
        replies[i.min(replies.len() - 1)].clone()
    }
}

/// A mock that answers any request (to assert that nothing was sent).
pub async fn catch_all(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|_when, then| {
            then.status(599).body("nothing should have been sent");
        })
        .await
}

/// `queryUserV1` answering only requests that carry `Bearer <token>`: a page of `u-1` for 200,
/// an error body otherwise.
pub async fn query_for<'a>(server: &'a MockServer, token: &str, status: u16) -> Mock<'a> {
    let bearer = format!("Bearer {token}");
    let body = if status == 200 {
        page(json!(["u-1"]), 0, 500, 1)
    } else {
        error_body(status, "access denied, invalid bearer token")
    };
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path(QUERY_USERS_PATH)
                .header("authorization", bearer);
            then.status(status)
                .header("content-type", "application/json")
                .json_body(body);
        })
        .await
}

/// One bounded `queryUserV1` call, giving the ids of its page.
pub async fn query(falcon: &Falcon) -> falcon_users::Result<Vec<String>> {
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .map(|page| page.resources.unwrap_or_default())
}

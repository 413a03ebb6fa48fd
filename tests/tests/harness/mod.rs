//! Shared set-up of the ergonomic-layer tests: a mock Falcon on loopback and clients for it.
#![allow(dead_code)]

use std::sync::Arc;

use falcon_users::clock::ManualClock;
use falcon_users::{Cloud, Falcon, FalconBuilder};
use httpmock::Method::POST;
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};
use url::Url;

pub const SECRET: &str = "s3cr3t-CLIENT-secret-value";

/// A builder pointed at `server`, with test credentials.
pub fn builder(server: &MockServer) -> FalconBuilder {
    Falcon::builder()
        .client_id("client-id-1")
        .client_secret(SECRET)
        .cloud(Cloud::Custom(
            Url::parse(&server.base_url()).expect("mock URL"),
        ))
}

/// A client on a manual clock.
pub fn with_clock(server: &MockServer) -> (Falcon, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(server)
        .clock(clock.clone())
        .build()
        .expect("valid settings");
    (falcon, clock)
}

/// The token endpoint, answering `token` (expires in 1799 s).
pub async fn token_mock<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    let body = json!({"access_token": token, "token_type": "bearer", "expires_in": 1799});
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .header("X-Cs-Region", "us-1")
                .json_body(body);
        })
        .await
}

/// `{meta, resources, errors}` with a pagination block.
pub fn page(resources: Value, offset: u64, limit: u64, total: u64) -> Value {
    json!({
        "meta": {"query_time": 0.01, "trace_id": "trace-1",
                 "pagination": {"offset": offset, "limit": limit, "total": total}},
        "resources": resources,
        "errors": [],
    })
}

/// `{meta, resources, errors}` without pagination.
pub fn entities(resources: Value, errors: Value) -> Value {
    json!({"meta": {"query_time": 0.01, "trace_id": "trace-2"}, "resources": resources, "errors": errors})
}

/// An error envelope.
pub fn error_body(code: u16, message: &str) -> Value {
    json!({"meta": {"query_time": 0.0, "trace_id": "trace-err"}, "errors": [{"code": code, "message": message}]})
}

/// A user entity.
pub fn user(uuid: &str) -> Value {
    json!({"uuid": uuid, "uid": format!("{uuid}@example.com"), "cid": "0123456789abcdef0123456789abcdef"})
}
pub mod scripted;

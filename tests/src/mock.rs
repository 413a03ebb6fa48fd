//! The ergonomic client against httpmock: test credentials, a builder for a mock server, and
//! the token endpoint, envelopes and scripted responders of `falcon_users_httpmock`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use falcon_users::clock::{Clock, ManualClock};
use falcon_users::{Cloud, Falcon, FalconBuilder, UserQuery};
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

// The token endpoint and the one envelope vocabulary, from the mock helpers every downstream
// test can use.
pub use falcon_users_httpmock::envelope::*;
pub use falcon_users_httpmock::token::{TOKEN_PATH, token_json, token_mock, token_sequence};
use url::Url;

use crate::bound::bounded;

pub const CLIENT_ID: &str = "ergo-client-id";
/// URL-safe, so that it appears verbatim in the form body.
pub const SECRET: &str = "ergo-S3CRET-value-9f2c71";
/// A CID as the API wants it.
pub const CID: &str = "0123456789abcdef0123456789abcdef";
/// The same CID as pasted from the console: upper case with a checksum suffix.
pub const CID_PASTED: &str = "0123456789ABCDEF0123456789ABCDEF-7C";

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

/// A token endpoint that mints `token` for the exact form of `member_cid` (`None`: the
/// parent's own).
pub async fn minted_for<'a>(
    server: &'a MockServer,
    member_cid: Option<&str>,
    token: &str,
) -> Mock<'a> {
    let form = token_form(member_cid);
    server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH).body(form);
            then.status(201)
                .header("content-type", "application/json")
                .json_body(token_json(token, 1799));
        })
        .await
}

/// A user entity.
pub fn user(uuid: &str) -> Value {
    json!({"uuid": uuid, "uid": format!("{uuid}@example.com"), "cid": CID})
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

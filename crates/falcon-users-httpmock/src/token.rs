//! The OAuth2 token endpoint for hand-written mocks: a token answer, one token for every
//! request, or a sequence of tokens (a client minting again after a 401).

use httpmock::Method::POST;
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

use crate::envelope::{json_reply, reply_sequence};

/// Where clients ask for tokens.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// The lifetime the service gives a token, in seconds.
pub const TOKEN_LIFETIME_SECS: u64 = 1799;

/// A token answer body: `{access_token, token_type: bearer, expires_in}`.
pub fn token_json(token: &str, expires_in: u64) -> Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
}

/// The token endpoint, answering `token` (1799 s, region `us-1`) to any token request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let mock = falcon_users_httpmock::token::token_mock(&server, "tok-1").await;
/// // ... point a client at `server`, make a call, then:
/// # let _ = &mock;
/// # }
/// ```
pub async fn token_mock<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    let body = token_json(token, TOKEN_LIFETIME_SECS);
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

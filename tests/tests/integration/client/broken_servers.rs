//! Slow and broken servers: every case ends in bounded time with a clear error, never a hang or
//! a panic.

use std::time::{Duration, Instant};

use falcon_users::{Cloud, Error, Falcon, RetryPolicy, UserQuery};
use falcon_users_tests::loopback::{Reply, Server};
use falcon_users_tests::mock::*;
use httpmock::Method::GET;
use httpmock::MockServer;
use serde_json::json;

fn token_reply() -> Reply {
    Reply::json(201, &token_json("tok", 1799))
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_gives_a_timeout_within_the_deadline() {
    let server = Server::scripted(|req, _| {
        if req.path() == TOKEN_PATH {
            token_reply()
        } else {
            Reply::json(200, &page(json!(["u"]), 0, 1, 1)).delay(Duration::from_secs(5))
        }
    })
    .await;
    let falcon = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(server.url(0)))
        .request_timeout(Duration::from_millis(200))
        .deadline(Duration::from_millis(900))
        .retry_policy(RetryPolicy::new().initial_backoff(Duration::from_millis(20)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = falcon
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        took < Duration::from_millis(1500),
        "bounded by the deadline, took {took:?}"
    );
    let attempts = server.count(QUERY_USERS_PATH);
    assert!(
        (2..=5).contains(&attempts),
        "reads are retried inside the deadline: {attempts}"
    );
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"meta": {"query_time": 0.1, "trace_id": "t"}, "resources": ["a", "#);
        })
        .await;
    let err = builder(&server)
        .build()
        .unwrap()
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("could not be decoded"), "{err}");
}

#[tokio::test]
async fn a_success_without_the_envelope_is_a_decode_error() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(200)
                .header("content-type", "text/html")
                .body("<html>maintenance</html>");
        })
        .await;
    let err = builder(&server)
        .build()
        .unwrap()
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let falcon = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(
            url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        ))
        .retry_policy(
            RetryPolicy::new()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let err = falcon.authenticate().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("could not reach"), "{err}");
}

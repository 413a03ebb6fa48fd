//! Retries and limits: 429 with `X-RateLimit-RetryAfter` waited on the (manual) clock, 5xx
//! retried only for operations that change nothing, and the concurrency limit measured on a
//! loopback server.

use std::sync::Arc;
use std::time::Duration;

use falcon_users::clock::{Clock, ManualClock};
use falcon_users::types::DomainCreateUserRequest;
use falcon_users::{Cloud, Error, Falcon, FalconBuilder, RetryPolicy};
use falcon_users_tests::bounded;
use falcon_users_tests::loopback::{Reply, Server};
use falcon_users_tests::mock::*;
use httpmock::Method::{DELETE, GET, POST};
use httpmock::{HttpMockResponse, Mock, MockServer};
use serde_json::json;

fn ok_page() -> HttpMockResponse {
    json_reply(200, &page(json!(["u-1"]), 0, 500, 1))
}

async fn scripted_query(server: &MockServer, replies: Vec<HttpMockResponse>) -> Mock<'_> {
    let responder = reply_sequence(replies);
    server
        .mock_async(move |when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.respond_with(responder);
        })
        .await
}

fn rate_limited(retry_after_epoch: u64) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(429)
        .header("content-type", "application/json")
        .header("X-RateLimit-Limit", "6000")
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-RetryAfter", retry_after_epoch.to_string())
        .body(error_body(429, "API rate limit exceeded.").to_string())
        .build()
}

// ---- 10. 429 ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_instant() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    bounded(falcon.authenticate()).await.unwrap();
    align_to_second(&clock);
    let start = clock.now();
    let api = scripted_query(
        &server,
        vec![rate_limited(epoch_secs(&clock) + 2), ok_page()],
    )
    .await;

    assert_eq!(query(&falcon).await.unwrap(), ["u-1"]);
    assert_eq!(api.calls_async().await, 2);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2)],
        "one wait, as asked"
    );
    assert_eq!(
        clock.now().duration_since(start).unwrap(),
        Duration::from_secs(2)
    );
    let stats = falcon.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.token_requests, 1);
}

#[tokio::test]
async fn a_retry_after_in_the_past_still_pauses_briefly() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let past = epoch_secs(&clock) - 5;
    let api = scripted_query(&server, vec![rate_limited(past), ok_page()]).await;
    query(&falcon).await.unwrap();
    assert_eq!(api.calls_async().await, 2);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
    assert!(
        sleeps[0] > Duration::ZERO && sleeps[0] <= Duration::from_secs(1),
        "{sleeps:?}"
    );
}

/// `Retry-After` (delay seconds) must be measured on the client's clock like everything else;
/// otherwise a client whose clock is not the system's (tests, or a clock injected to follow the
/// server's time) waits the wrong amount.
#[tokio::test]
async fn a_retry_after_in_seconds_is_measured_on_the_clients_clock() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    bounded(falcon.authenticate()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    let limited = HttpMockResponse::builder()
        .status(429)
        .header("content-type", "application/json")
        .header("Retry-After", "2")
        .body(error_body(429, "API rate limit exceeded.").to_string())
        .build();
    let api = scripted_query(&server, vec![limited, ok_page()]).await;
    query(&falcon).await.unwrap();
    assert_eq!(api.calls_async().await, 2);
    assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
}

/// The 429 a caller gets back says when to retry on the same clock the retry decision used:
/// a `Retry-After` in seconds counts from the client's clock, not the system's (the clock here
/// runs a day ahead of the system's).
#[tokio::test]
async fn the_retry_instant_of_a_429_error_is_on_the_clients_clock() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(&server)
        .clock(clock.clone())
        .retry_policy(RetryPolicy::new().max_rate_limit_wait(Duration::from_secs(30)))
        .build()
        .unwrap();
    bounded(falcon.authenticate()).await.unwrap();
    clock.advance(Duration::from_secs(86_400));
    let limited = with_headers(
        429,
        &[("Retry-After", "600"), ("X-RateLimit-Remaining", "0")],
    );
    let api = scripted_query(&server, vec![limited]).await;
    let err = query(&falcon).await.unwrap_err();
    match &err {
        Error::RateLimited {
            retry_after: Some(at),
            ..
        } => assert_eq!(*at, clock.now() + Duration::from_secs(600), "{err}"),
        other => panic!("expected RateLimited with a retry instant, got {other:?}"),
    }
    assert_eq!(api.calls_async().await, 1);
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
}

#[tokio::test]
async fn a_retry_after_beyond_the_allowed_wait_is_reported_not_waited() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(&server)
        .clock(clock.clone())
        .retry_policy(RetryPolicy::new().max_rate_limit_wait(Duration::from_secs(30)))
        .build()
        .unwrap();
    let api = scripted_query(&server, vec![rate_limited(epoch_secs(&clock) + 600)]).await;
    let err = query(&falcon).await.unwrap_err();
    match &err {
        Error::RateLimited {
            operation: "queryUserV1",
            retry_after: Some(_),
            ..
        } => {}
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(api.calls_async().await, 1);
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(falcon.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_retry_after_a_day_ahead_is_reported_under_the_default_policy() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let api = scripted_query(&server, vec![rate_limited(epoch_secs(&clock) + 86_400)]).await;
    let err = query(&falcon).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(api.calls_async().await, 1);
    assert!(
        clock.sleeps().iter().all(|d| *d < Duration::from_secs(60)),
        "{:?}",
        clock.sleeps()
    );
}

#[tokio::test]
async fn a_429_on_a_create_is_retried_too() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let responder = reply_sequence(vec![
        rate_limited(epoch_secs(&clock) + 1),
        json_reply(200, &entities(json!([user("u-new")]), json!([]))),
    ]);
    let create = server
        .mock_async(move |when, then| {
            when.method(POST).path(USERS_PATH);
            then.respond_with(responder);
        })
        .await;
    let created = bounded(falcon.create_user(DomainCreateUserRequest {
        uid: Some("new@example.com".into()),
        first_name: None,
        last_name: None,
        cid: None,
        password: None,
    }))
    .await
    .unwrap();
    assert_eq!(created.uuid.as_deref(), Some("u-new"));
    assert_eq!(
        create.calls_async().await,
        2,
        "nothing was done by a 429: safe to repeat"
    );
    assert_eq!(falcon.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_429_on_every_attempt_ends_after_the_attempt_budget() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(&server)
        .clock(clock.clone())
        .retry_policy(RetryPolicy::new().max_attempts(3))
        .build()
        .unwrap();
    let api = server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(429)
                .header("content-type", "application/json")
                .header("Retry-After", "1")
                .json_body(error_body(429, "API rate limit exceeded."));
        })
        .await;
    let err = query(&falcon).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(api.calls_async().await, 3);
    assert_eq!(falcon.stats().rate_limited, 3);
}

// ---- 11. 5xx ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_500_on_a_get_is_retried() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let api = scripted_query(
        &server,
        vec![
            json_reply(500, &error_body(500, "internal error")),
            ok_page(),
        ],
    )
    .await;
    assert_eq!(query(&falcon).await.unwrap(), ["u-1"]);
    assert_eq!(api.calls_async().await, 2);
    assert_eq!(falcon.stats().retries, 1);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1, "one backoff: {sleeps:?}");
    // First backoff: the upper half of the initial 200 ms, jittered.
    assert!(
        sleeps[0] >= Duration::from_millis(100) && sleeps[0] <= Duration::from_millis(200),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn a_500_on_a_read_only_post_is_retried() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, _clock) = with_clock(&server);
    let responder = reply_sequence(vec![
        json_reply(503, &error_body(503, "unavailable")),
        json_reply(200, &entities(json!([user("uuid-1")]), json!([]))),
    ]);
    let retrieve = server
        .mock_async(move |when, then| {
            when.method(POST).path(RETRIEVE_USERS_PATH);
            then.respond_with(responder);
        })
        .await;
    let found = bounded(falcon.get_users("uuid-1")).await.unwrap();
    assert_eq!(found.resources[0].uuid.as_deref(), Some("uuid-1"));
    assert_eq!(retrieve.calls_async().await, 2);
}

#[tokio::test]
async fn a_500_on_create_user_is_not_retried() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path(USERS_PATH);
            then.status(500)
                .header("content-type", "application/json")
                .json_body(error_body(500, "internal error"));
        })
        .await;
    let err = bounded(falcon.create_user(DomainCreateUserRequest {
        uid: Some("ann@example.com".into()),
        first_name: Some("Ann".into()),
        last_name: None,
        cid: None,
        password: None,
    }))
    .await
    .unwrap_err();
    match &err {
        Error::Api {
            operation: "createUserV1",
            status: 500,
            errors,
            ..
        } => assert_eq!(errors[0].message, "internal error"),
        other => panic!("expected Api 500, got {other:?}"),
    }
    assert_eq!(
        create.calls_async().await,
        1,
        "a create is never repeated blindly"
    );
    assert_eq!(falcon.stats().retries, 0);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_500_on_delete_user_is_not_retried() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, _clock) = with_clock(&server);
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path(USERS_PATH);
            then.status(502)
                .header("content-type", "application/json")
                .json_body(error_body(502, "bad gateway"));
        })
        .await;
    let err = bounded(falcon.delete_user("uuid-1")).await.unwrap_err();
    assert_eq!(err.status(), Some(502), "{err:?}");
    assert_eq!(delete.calls_async().await, 1);
}

#[tokio::test]
async fn a_500_forever_on_a_get_stops_after_max_attempts() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let api = server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(500)
                .header("content-type", "application/json")
                .json_body(error_body(500, "internal error"));
        })
        .await;
    let err = query(&falcon).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 500, .. }), "{err:?}");
    let attempts = RetryPolicy::default().max_attempts as usize;
    assert_eq!(attempts, 6, "the documented default");
    assert_eq!(api.calls_async().await, attempts);
    assert_eq!(clock.sleeps().len(), attempts - 1);
}

// ---- 12. concurrency limit -------------------------------------------------------------------

/// A loopback API answering after `delay`, and an authenticated handle on it with the limits
/// `limits` sets.
async fn concurrency_server(
    delay: Duration,
    limits: impl FnOnce(FalconBuilder) -> FalconBuilder,
) -> (Server, Falcon) {
    let server = Server::start(delay, |seen| {
        if seen.path() == TOKEN_PATH {
            Reply::json(201, &token_json("tok-mini", 1799))
        } else {
            Reply::json(200, &page(json!(["u-1"]), 0, 500, 1))
        }
    })
    .await;
    let builder = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(server.url(0)));
    let falcon = limits(builder).build().unwrap();
    bounded(falcon.authenticate()).await.unwrap();
    (server, falcon)
}

/// Runs 20 queries, handle `i % handles.len()` for the i-th, all at once; the most requests
/// the server saw in flight.
async fn max_in_flight(server: &Server, handles: &[Falcon]) -> usize {
    let calls = (0..20).map(|i| {
        let handle = handles[i % handles.len()].clone();
        async move { query(&handle).await }
    });
    let results = bounded(futures::future::join_all(calls)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.count(QUERY_USERS_PATH), 20);
    server.max_in_flight()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_flight_requests_stay_within_max_concurrency() {
    let (server, falcon) =
        concurrency_server(Duration::from_millis(50), |b| b.max_concurrency(3)).await;
    // Clones of a handle share its CID's limit.
    let max = max_in_flight(&server, &[falcon.clone(), falcon.clone()]).await;
    assert!(max <= 3, "{max} requests in flight with max_concurrency(3)");
    assert!(max > 1, "requests did run concurrently ({max})");
}

/// The limit is per CID, as the service's budget is: a member handle runs its own
/// `max_concurrency` beside the parent's instead of queueing behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_member_cid_has_its_own_concurrency_limit() {
    let (server, falcon) =
        concurrency_server(Duration::from_millis(200), |b| b.max_concurrency(3)).await;
    let member = falcon.for_member(&CID.parse().unwrap());
    bounded(member.authenticate()).await.unwrap();
    let max = max_in_flight(&server, &[falcon.clone(), member.clone(), member]).await;
    assert!(max <= 6, "{max} in flight: at most 3 per CID");
    assert!(max > 3, "the member ran beside the parent's 3 ({max})");
}

/// `max_in_flight` bounds the requests of every CID together: three CIDs of 3 each would run
/// 9 at once; with 4 overall slots they share 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_in_flight_bounds_every_cid_together() {
    let (server, falcon) = concurrency_server(Duration::from_millis(200), |b| {
        b.max_concurrency(3).max_in_flight(4)
    })
    .await;
    let first = falcon.for_member(&CID.parse().unwrap());
    let second = falcon.for_member(&"fedcba9876543210fedcba9876543210".parse().unwrap());
    for member in [&first, &second] {
        bounded(member.authenticate()).await.unwrap();
    }
    let max = max_in_flight(&server, &[falcon.clone(), first, second]).await;
    assert!(max <= 4, "{max} in flight with max_in_flight(4)");
    assert!(max > 3, "the CIDs still ran side by side ({max})");
    let refused = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .max_in_flight(0)
        .build()
        .unwrap_err();
    assert!(refused.to_string().contains("max_in_flight"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_concurrency_one_serialises_requests() {
    let (server, falcon) =
        concurrency_server(Duration::from_millis(10), |b| b.max_concurrency(1)).await;
    let results = bounded(futures::future::join_all((0..8).map(|_| query(&falcon)))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.max_in_flight(), 1);
    assert_eq!(server.seen().len(), 9, "1 token + 8 calls");
}

// ---- absurd rate-limit headers (nothing a server sends makes the client panic) -------------

/// A reply with `status` and these headers, and an error envelope.
fn with_headers(status: u16, headers: &[(&str, &str)]) -> HttpMockResponse {
    let mut reply = HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        reply = reply.header(*name, *value);
    }
    reply
        .body(error_body(status, "absurd headers").to_string())
        .build()
}

/// Time headers past what `SystemTime` can hold, on a 429 and on a 400 (the error path reads
/// them too): a clear error, no panic, no wait, and the handle still works afterwards.
#[tokio::test]
async fn retry_after_values_past_the_end_of_time_are_errors_not_panics() {
    for (status, header) in [
        (429, "X-RateLimit-RetryAfter"),
        (429, "Retry-After"),
        (400, "X-RateLimit-RetryAfter"),
        (400, "Retry-After"),
    ] {
        let server = MockServer::start_async().await;
        let _token = token_mock(&server, "tok").await;
        let (falcon, clock) = with_clock(&server);
        let absurd = with_headers(
            status,
            &[
                (header, "18446744073709551615"),
                ("X-RateLimit-Remaining", "0"),
            ],
        );
        let ok = json_reply(200, &page(json!(["u-1"]), 0, 500, 1));
        let api = scripted_query(&server, vec![absurd, ok]).await;
        let err = bounded(query(&falcon)).await.unwrap_err();
        match status {
            429 => assert!(
                matches!(err, Error::RateLimited { .. }),
                "{header}: {err:?}"
            ),
            _ => assert!(
                matches!(err, Error::Api { status: 400, .. }),
                "{header}: {err:?}"
            ),
        }
        assert!(
            clock.sleeps().iter().all(|d| *d < Duration::from_secs(60)),
            "{header}: {:?}",
            clock.sleeps()
        );
        // The same handle goes on working (a panic inside it would poison its state).
        bounded(query(&falcon)).await.unwrap();
        assert_eq!(api.calls_async().await, 2, "{status} {header}");
    }
}

/// A budget header beyond `u32` (`X-RateLimit-Limit: 4294967296`) with nothing remaining used to
/// divide by zero in pacing: the next calls are paced by a bounded wait and succeed.
#[tokio::test]
async fn a_rate_limit_beyond_u32_paces_without_panicking() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    let low = HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("X-RateLimit-Limit", "4294967296")
        .header("X-RateLimit-Remaining", "0")
        .body(page(json!(["u-1"]), 0, 500, 1).to_string())
        .build();
    let api = scripted_query(&server, vec![low]).await;
    for _ in 0..3 {
        bounded(query(&falcon)).await.unwrap();
    }
    assert_eq!(api.calls_async().await, 3);
    assert!(
        clock.sleeps().iter().all(|d| *d <= Duration::from_secs(60)),
        "{:?}",
        clock.sleeps()
    );
}

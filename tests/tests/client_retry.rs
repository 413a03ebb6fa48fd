//! Retries and rate limits: 429 waits, 5xx only for idempotent calls, concurrency limit,
//! bounded waits, raw error bodies.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use falcon_users::clock::{Clock, ManualClock};
use falcon_users::types::DomainCreateUserRequest;
use falcon_users::{Cloud, Error, Falcon, UserQuery};
use harness::scripted::{Answer, Scripted};
use harness::*;
use httpmock::Method::GET;
use httpmock::MockServer;
use serde_json::json;

const QUERY: &str = "/user-management/queries/users/v1";
const CREATE: &str = "/user-management/entities/users/v1";

fn token_answer() -> Answer {
    Answer::json(
        201,
        json!({"access_token": "tok", "token_type": "bearer", "expires_in": 1799}),
    )
}

/// A script: the token endpoint answers, every other request gets `first` for its first
/// `failures` calls, then `then`.
async fn failing_then_ok(
    failures: usize,
    first: impl Fn() -> Answer + Send + Sync + 'static,
) -> Scripted {
    let calls = AtomicUsize::new(0);
    Scripted::start(move |req, _| {
        if req.path == "/oauth2/token" {
            token_answer()
        } else if calls.fetch_add(1, Ordering::SeqCst) < failures {
            first()
        } else if req.path == CREATE {
            Answer::json(200, entities(json!([user("u-new")]), json!([])))
        } else {
            Answer::json(200, page(json!(["u-1"]), 0, 500, 1))
        }
    })
    .await
}

fn client(server: &Scripted, clock: &Arc<ManualClock>) -> Falcon {
    Falcon::builder()
        .client_id("id")
        .client_secret(SECRET)
        .cloud(Cloud::Custom(server.url()))
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn epoch_in(clock: &ManualClock, ahead: Duration) -> String {
    (clock.now() + ahead)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

fn new_user() -> DomainCreateUserRequest {
    DomainCreateUserRequest {
        cid: None,
        first_name: None,
        last_name: None,
        password: None,
        uid: Some("new@example.com".into()),
    }
}

#[tokio::test]
async fn a_429_waits_until_retry_after_then_succeeds() {
    let clock = Arc::new(ManualClock::new());
    let retry_at = epoch_in(&clock, Duration::from_secs(3));
    let server = failing_then_ok(1, move || {
        Answer::json(429, error_body(429, "rate limited"))
            .header("X-RateLimit-RetryAfter", retry_at.clone())
    })
    .await;
    let falcon = client(&server, &clock);
    let page = falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert_eq!(page.resources.unwrap(), ["u-1"]);
    assert_eq!(server.count(QUERY), 2);
    let waited: Duration = clock.sleeps().iter().sum();
    assert!(
        waited >= Duration::from_secs(2) && waited <= Duration::from_secs(4),
        "waited {waited:?}"
    );
    let stats = falcon.stats();
    assert_eq!((stats.rate_limited, stats.retries), (1, 1));
}

#[tokio::test]
async fn a_429_on_a_create_is_retried_too() {
    let clock = Arc::new(ManualClock::new());
    let retry_at = epoch_in(&clock, Duration::from_secs(1));
    let server = failing_then_ok(1, move || {
        Answer::json(429, error_body(429, "rate limited"))
            .header("X-RateLimit-RetryAfter", retry_at.clone())
    })
    .await;
    let created = client(&server, &clock)
        .create_user(new_user())
        .await
        .unwrap();
    assert_eq!(created.uuid.as_deref(), Some("u-new"));
    assert_eq!(
        server.count(CREATE),
        2,
        "nothing was done by a 429: safe to repeat"
    );
}

#[tokio::test]
async fn a_retry_after_in_the_past_still_pauses_briefly() {
    let clock = Arc::new(ManualClock::new());
    let past = epoch_in(&clock, Duration::ZERO).parse::<u64>().unwrap() - 60;
    let server = failing_then_ok(1, move || {
        Answer::json(429, error_body(429, "rate limited"))
            .header("X-RateLimit-RetryAfter", past.to_string())
    })
    .await;
    client(&server, &clock)
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap();
    let waited: Duration = clock.sleeps().iter().sum();
    assert!(
        waited > Duration::ZERO && waited < Duration::from_secs(1),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn an_absurd_retry_after_is_reported_not_waited() {
    let clock = Arc::new(ManualClock::new());
    let tomorrow = epoch_in(&clock, Duration::from_secs(86_400));
    let server = failing_then_ok(usize::MAX, move || {
        Answer::json(429, error_body(429, "rate limited"))
            .header("X-RateLimit-RetryAfter", tomorrow.clone())
    })
    .await;
    let err = client(&server, &clock)
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(server.count(QUERY), 1);
    assert!(clock.sleeps().iter().all(|d| *d < Duration::from_secs(60)));
}

#[tokio::test]
async fn a_500_on_a_read_is_retried() {
    let clock = Arc::new(ManualClock::new());
    let server = failing_then_ok(2, || Answer::json(500, error_body(500, "internal error"))).await;
    let page = client(&server, &clock)
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap();
    assert_eq!(page.resources.unwrap(), ["u-1"]);
    assert_eq!(server.count(QUERY), 3);
    assert_eq!(clock.sleeps().len(), 2, "one backoff per retry");
}

#[tokio::test]
async fn a_500_on_a_create_is_not_retried() {
    let clock = Arc::new(ManualClock::new());
    let server = failing_then_ok(1, || Answer::json(500, error_body(500, "internal error"))).await;
    let err = client(&server, &clock)
        .create_user(new_user())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 500, .. }), "{err:?}");
    assert_eq!(
        server.count(CREATE),
        1,
        "a create may have happened: never repeated blindly"
    );
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit() {
    let clock = Arc::new(ManualClock::new());
    let server = failing_then_ok(usize::MAX, || {
        Answer::json(503, error_body(503, "unavailable"))
    })
    .await;
    let err = client(&server, &clock)
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 503, .. }), "{err:?}");
    assert_eq!(server.count(QUERY), 6, "default policy: 6 attempts");
}

#[tokio::test]
async fn in_flight_requests_stay_under_the_limit() {
    let server = Scripted::start(|req, _| {
        if req.path == "/oauth2/token" {
            token_answer()
        } else {
            Answer::json(200, page(json!(["u-1"]), 0, 500, 1)).delay(Duration::from_millis(30))
        }
    })
    .await;
    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret(SECRET)
        .cloud(Cloud::Custom(server.url()))
        .max_concurrency(3)
        .build()
        .unwrap();
    let calls = (0..20).map(|_| {
        let falcon = falcon.clone();
        tokio::spawn(async move { falcon.query_user_ids(&UserQuery::new(), 0).await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(server.count(QUERY), 20);
    let max = server.max_in_flight();
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn html_error_bodies_are_kept_raw_with_their_status() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY);
            then.status(502)
                .header("content-type", "text/html")
                .header("X-CS-TRACEID", "trace-html")
                .body("<html><body>502 Bad Gateway</body></html>");
        })
        .await;
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(&server).clock(clock).build().unwrap();
    let err = falcon
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status,
            raw_body,
            errors,
            trace_id,
            ..
        } => {
            assert_eq!(*status, 502);
            assert!(
                raw_body
                    .as_deref()
                    .unwrap_or_default()
                    .contains("502 Bad Gateway")
            );
            assert!(errors.is_empty());
            assert_eq!(trace_id.as_deref(), Some("trace-html"));
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert!(
        err.to_string().contains("HTTP 502") && err.to_string().contains("trace-html"),
        "{err}"
    );
}

#[tokio::test]
async fn html_on_a_declared_error_status_keeps_the_status() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY);
            then.status(403)
                .header("content-type", "text/html")
                .body("<h1>Forbidden by proxy</h1>");
        })
        .await;
    let err = builder(&server)
        .build()
        .unwrap()
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 403, raw_body: Some(b), .. } if b.contains("Forbidden by proxy")),
        "{err:?}"
    );
}

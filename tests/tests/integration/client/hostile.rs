//! A hostile or broken server: bodies of any size, token answers that would leak the token,
//! deadlines the server tries to stretch, error bodies of any shape, and 2xx statuses the spec
//! does not declare. Each class of defect has a test that would have caught it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use falcon_users::{Cloud, Error, Falcon, FalconBuilder, RetryPolicy, UserQuery};
use falcon_users_tests::bounded;
use falcon_users_tests::loopback::{Flood, Reply, Server};
use falcon_users_tests::mock::*;
use falcon_users_tests::traces::capture_traces;
use futures::TryStreamExt;
use serde_json::json;

/// The token that must never be shown, whatever the token endpoint wraps it in.
const LEAKY_TOKEN: &str = "tok-MUST-NOT-LEAK-4a7c";

fn on(server: &Server) -> FalconBuilder {
    Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(server.url(0)))
        .retry_policy(RetryPolicy::new().initial_backoff(Duration::from_millis(5)))
}

fn token() -> Reply {
    Reply::json(201, &token_json("tok", 1799))
}

/// A server that mints a token, then answers every API request with `api`.
async fn api_answers(api: impl Fn() -> Reply + Send + Sync + 'static) -> Server {
    Server::start(Duration::ZERO, move |req| {
        if req.path() == TOKEN_PATH {
            token()
        } else {
            api()
        }
    })
    .await
}

async fn first_ids(falcon: &Falcon) -> falcon_users::Result<Vec<String>> {
    falcon
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .map(|page| page.resources.unwrap_or_default())
}

// ---- bounded memory ------------------------------------------------------------------------

/// An endless body (a 4 GB answer took the client to 2 GB RSS) ends in an error naming the limit
/// and the operation; the client stops reading soon after the limit.
#[tokio::test]
async fn an_endless_body_stops_at_the_limit_with_an_error_naming_it() {
    let server = api_answers(|| Reply::flood(200, Flood::Endless)).await;
    let falcon = on(&server).max_response_bytes(1024 * 1024).build().unwrap();
    let err = bounded(first_ids(&falcon)).await.unwrap_err();
    match &err {
        Error::BodyTooLarge { operation, limit } => {
            assert_eq!((*operation, *limit), ("queryUserV1", 1024 * 1024));
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("queryUserV1") && text.contains("1048576"),
        "{text}"
    );
    assert_eq!(
        server.count(QUERY_USERS_PATH),
        1,
        "a size verdict is not retried"
    );
    // Socket buffers hold a few MB more than the client read; a client reading on would take
    // hundreds.
    assert!(
        server.flooded() < 32 * 1024 * 1024,
        "{} bytes",
        server.flooded()
    );
    assert!(
        first_ids(&falcon).await.is_err(),
        "the handle still answers"
    );
}

/// A `Content-Length` past the limit is refused before the body is read; one under it is read.
#[tokio::test]
async fn an_announced_length_past_the_limit_is_refused_unread() {
    let server = api_answers(|| Reply::flood(200, Flood::Announced(4 * 1024 * 1024 * 1024))).await;
    let falcon = on(&server).max_response_bytes(1024 * 1024).build().unwrap();
    let err = bounded(first_ids(&falcon)).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");

    // Just under the limit: whitespace then a page still decodes.
    let page = page(json!(["u1"]), 0, 100, 1).to_string();
    let padded = format!("{}{page}", " ".repeat(4096 - page.len()));
    let server = api_answers(move || Reply {
        body: padded.clone(),
        ..Reply::json(200, &json!(null))
    })
    .await;
    let exact = on(&server).max_response_bytes(4096).build().unwrap();
    assert_eq!(bounded(first_ids(&exact)).await.unwrap(), ["u1"]);
    let short = on(&server).max_response_bytes(4095).build().unwrap();
    assert!(matches!(
        bounded(first_ids(&short)).await,
        Err(Error::BodyTooLarge { limit: 4095, .. })
    ));
}

/// The token answer is held to the limit too, and an error body as well.
#[tokio::test]
async fn the_token_answer_and_error_bodies_are_held_to_the_limit() {
    let server = Server::start(Duration::ZERO, |_| Reply::flood(201, Flood::Endless)).await;
    let falcon = on(&server).max_response_bytes(64 * 1024).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                operation: "oauth2AccessToken",
                ..
            }
        ),
        "{err:?}"
    );

    let server = api_answers(|| Reply::flood(500, Flood::Endless)).await;
    let falcon = on(&server).max_response_bytes(64 * 1024).build().unwrap();
    let err = bounded(first_ids(&falcon)).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");
}

// ---- no secret in any error ----------------------------------------------------------------

/// Token answers that do not decode, or come with an error status, hold the token; neither the
/// error's `Display`, its `Debug`, nor the logs may show it.
#[tokio::test]
async fn no_token_answer_reaches_an_error_or_a_log() {
    let leaky = |expires_in: serde_json::Value| json!({"access_token": LEAKY_TOKEN, "token_type": "bearer", "expires_in": expires_in});
    let answers = [
        Reply::json(201, &leaky(json!("1799"))),
        Reply::json(201, &json!({"access_token": {"nested": LEAKY_TOKEN}})),
        Reply::json(201, &json!([LEAKY_TOKEN])),
        Reply::json(500, &leaky(json!(1799))),
        Reply::json(
            400,
            &json!({"errors": [{"code": 400, "message": LEAKY_TOKEN, "id": LEAKY_TOKEN}]}),
        ),
        Reply::json(503, &with_error(meta("t"), 503, LEAKY_TOKEN)),
        Reply {
            body: format!("<html>{LEAKY_TOKEN}</html>"),
            ..Reply::json(502, &json!(null))
        },
        Reply {
            body: format!("access_token={LEAKY_TOKEN}"),
            ..Reply::json(200, &json!(null))
        },
    ];
    for answer in answers {
        let (logs, _guard) = capture_traces();
        let shown = answer.body.clone();
        let server = Server::start(Duration::ZERO, move |_| answer.clone()).await;
        let falcon = on(&server)
            .retry_policy(
                RetryPolicy::new()
                    .max_attempts(2)
                    .initial_backoff(Duration::from_millis(1)),
            )
            .build()
            .unwrap();
        for err in [
            bounded(falcon.authenticate()).await.unwrap_err(),
            bounded(first_ids(&falcon)).await.unwrap_err(),
        ] {
            let text = format!("{err} | {err:?}");
            assert!(!text.contains(LEAKY_TOKEN), "answer {shown}: {text}");
        }
        let logs = logs.contents();
        assert!(!logs.contains(LEAKY_TOKEN), "answer {shown}: {logs}");
    }
}

// ---- any 2xx with a decodable body is a success ------------------------------------------------

/// The spec declares 201 for the token and 200 for a create; a 200 token and a 201 create (or any
/// other 2xx) with a decodable body are successes.
#[tokio::test]
async fn a_2xx_the_spec_does_not_declare_is_still_a_success() {
    let server = Server::start(Duration::ZERO, |req| {
        if req.path() == TOKEN_PATH {
            Reply::json(200, &token_json("tok", 1799))
        } else {
            Reply::json(203, &page(json!(["u1", "u2"]), 0, 100, 2))
        }
    })
    .await;
    let falcon = on(&server).build().unwrap();
    bounded(falcon.authenticate())
        .await
        .expect("a 200 token is a token");
    assert_eq!(bounded(first_ids(&falcon)).await.unwrap(), ["u1", "u2"]);
}

// ---- error bodies of any shape keep their status -------------------------------------------------

/// An error body without `meta`, or JSON that is not the envelope, still reports the status
/// (it used to be a decode error); the API's own messages are kept as errors.
#[tokio::test]
async fn error_bodies_without_the_envelope_keep_their_status() {
    for (body, status, message) in [
        (
            json!({"errors": [{"code": 403, "message": "access denied"}]}),
            403,
            "access denied",
        ),
        (json!({"message": "upstream gone"}), 404, "upstream gone"),
        (json!(["odd"]), 409, "odd"),
        (json!(null), 400, "null"),
    ] {
        let reply = Reply::json(status, &body);
        let server = api_answers(move || reply.clone()).await;
        let falcon = on(&server).build().unwrap();
        let err = bounded(first_ids(&falcon)).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{body}: {err:?}");
        assert!(err.to_string().contains(message), "{body}: {err}");
    }
}

// ---- deadlines hold everywhere -----------------------------------------------------------------

/// Four callers queued behind one slow token request that fails: one request, and each caller is
/// back within its own deadline (they used to finish at 1, 2, 3 and 4 deadlines).
#[tokio::test]
async fn callers_queued_behind_a_failing_mint_each_keep_their_deadline() {
    let server = Server::start(Duration::ZERO, |req| {
        if req.path() == TOKEN_PATH {
            Reply::json(201, &token_json("tok", 1799)).delay(Duration::from_secs(10))
        } else {
            Reply::json(200, &page(json!([]), 0, 100, 0))
        }
    })
    .await;
    let deadline = Duration::from_millis(800);
    let falcon = on(&server)
        .request_timeout(deadline)
        .deadline(deadline)
        .build()
        .unwrap();
    let started = Instant::now();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let falcon = falcon.clone();
            tokio::spawn(async move { (first_ids(&falcon).await, started.elapsed()) })
        })
        .collect();
    for caller in callers {
        let (outcome, took) = bounded(caller).await.unwrap();
        let err = outcome.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(took < deadline * 2, "a caller took {took:?}");
    }
    assert_eq!(server.count(TOKEN_PATH), 1, "one mint for the four callers");
}

/// `X-RateLimit-Limit: 1` with nothing remaining asks for a minute between requests; with a
/// 500 ms deadline, the call that would have to wait fails at once with a timeout instead of
/// taking a minute.
#[tokio::test]
async fn a_pacing_wait_longer_than_the_deadline_is_a_timeout_not_a_wait() {
    let server = api_answers(|| {
        Reply::json(200, &page(json!(["u1"]), 0, 100, 1))
            .header("X-RateLimit-Limit", "1")
            .header("X-RateLimit-Remaining", "0")
    })
    .await;
    let falcon = on(&server)
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    bounded(first_ids(&falcon))
        .await
        .expect("nothing is known of the budget yet");
    bounded(first_ids(&falcon))
        .await
        .expect("the next slot is free: it starts at once");
    let started = Instant::now();
    let err = bounded(first_ids(&falcon)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "queryUserV1"
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.count(QUERY_USERS_PATH),
        2,
        "the refused wait sent nothing"
    );
}

/// Many callers on one handle, a server that answers every request with a new page of ids while
/// claiming a total it never reaches: bounded by the deadline whatever it does.
#[tokio::test]
async fn streams_on_a_server_that_stalls_end_within_the_deadline() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let server = api_answers(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Reply::json(200, &page(json!(["u1"]), 0, 100, 1)).delay(Duration::from_secs(30))
    })
    .await;
    let falcon = on(&server)
        .request_timeout(Duration::from_millis(300))
        .deadline(Duration::from_millis(700))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome: falcon_users::Result<Vec<String>> =
        bounded(falcon.user_ids(UserQuery::new()).try_collect()).await;
    assert!(outcome.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        hits.load(Ordering::SeqCst) <= 3,
        "{} requests",
        hits.load(Ordering::SeqCst)
    );
}

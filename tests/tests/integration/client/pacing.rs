//! Pacing per CID: the service budgets requests per customer (CID), so a Flight Control member
//! handle is paced, and held after a 429, by its own CID's budget; the parent handle and the
//! other members keep theirs. Measured on the manual clock: every wait the client takes is
//! recorded there.

use std::time::Duration;

use falcon_users::{Error, Falcon, RetryPolicy};
use falcon_users_httpmock::token::TOKEN_LIFETIME_SECS;
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockResponse, Mock, MockServer};
use serde_json::json;

const CHILD_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CHILD_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Token answers per CID: `tok-parent` for the credentials' own, `tok-<first letter>` for each
/// child.
async fn tokens(server: &MockServer) -> Vec<Mock<'_>> {
    let mut mocks = Vec::new();
    for (member, token) in [
        (None, "tok-parent"),
        (Some(CHILD_A), "tok-a"),
        (Some(CHILD_B), "tok-b"),
    ] {
        let form = token_form(member);
        let body = token_json(token, TOKEN_LIFETIME_SECS);
        mocks.push(
            server
                .mock_async(move |when, then| {
                    when.method(POST).path(TOKEN_PATH).body(form);
                    then.status(201)
                        .header("content-type", "application/json")
                        .json_body(body);
                })
                .await,
        );
    }
    mocks
}

/// `queryUserV1` for `token`, answering `reply` every time.
async fn query_answer<'a>(
    server: &'a MockServer,
    token: &str,
    reply: HttpMockResponse,
) -> Mock<'a> {
    let bearer = format!("Bearer {token}");
    let responder = reply_sequence(vec![reply]);
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path(QUERY_USERS_PATH)
                .header("authorization", bearer);
            then.respond_with(responder);
        })
        .await
}

/// A page with the budget headers `limit` / `remaining`.
fn page_with_budget(limit: u64, remaining: u64) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("X-RateLimit-Limit", limit.to_string())
        .header("X-RateLimit-Remaining", remaining.to_string())
        .body(page(json!(["u-1"]), 0, 500, 1).to_string())
        .build()
}

fn handles(falcon: &Falcon) -> (Falcon, Falcon) {
    (
        falcon.for_member(&CHILD_A.parse().unwrap()),
        falcon.for_member(&CHILD_B.parse().unwrap()),
    )
}

#[tokio::test]
async fn a_members_429_holds_that_member_only_not_the_parent_or_another_member() {
    let server = MockServer::start_async().await;
    let _tokens = tokens(&server).await;
    let (falcon, clock) = {
        let clock = std::sync::Arc::new(falcon_users::clock::ManualClock::new());
        let falcon = builder(&server)
            .clock(clock.clone())
            // One attempt: the 429 is reported, and the hold it sets stays for the next call.
            .retry_policy(RetryPolicy::new().max_attempts(1))
            .build()
            .unwrap();
        (falcon, clock)
    };
    let (a, b) = handles(&falcon);
    for handle in [&falcon, &a, &b] {
        bounded(handle.authenticate()).await.unwrap();
    }
    align_to_second(&clock);
    let limited = HttpMockResponse::builder()
        .status(429)
        .header("content-type", "application/json")
        .header("X-RateLimit-Limit", "6000")
        .header("X-RateLimit-Remaining", "0")
        .header(
            "X-RateLimit-RetryAfter",
            (epoch_secs(&clock) + 30).to_string(),
        )
        .body(error_body(429, "API rate limit exceeded.").to_string())
        .build();
    let on_a = query_answer(&server, "tok-a", limited).await;
    let on_parent = query_answer(&server, "tok-parent", page_with_budget(6000, 5999)).await;
    let on_b = query_answer(&server, "tok-b", page_with_budget(6000, 5999)).await;

    assert!(matches!(query(&a).await, Err(Error::RateLimited { .. })));
    for (what, handle) in [("parent", &falcon), ("other member", &b)] {
        for _ in 0..3 {
            assert_eq!(query(handle).await.unwrap(), ["u-1"], "{what}");
        }
        assert!(
            clock.sleeps().is_empty(),
            "the {what} waited for the child's budget: {:?}",
            clock.sleeps()
        );
    }
    assert_eq!(on_parent.calls_async().await, 3);
    assert_eq!(on_b.calls_async().await, 3);
    // The child itself is held until its RetryAfter.
    let _ = query(&a).await;
    assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
    assert_eq!(on_a.calls_async().await, 2);
}

#[tokio::test]
async fn a_members_spent_budget_paces_that_member_only() {
    let server = MockServer::start_async().await;
    let _tokens = tokens(&server).await;
    let (falcon, clock) = with_clock(&server);
    let (a, b) = handles(&falcon);
    // Child A reports 60 a minute with nothing left: its next request waits a second.
    let _on_a = query_answer(&server, "tok-a", page_with_budget(60, 0)).await;
    let _on_parent = query_answer(&server, "tok-parent", page_with_budget(6000, 5999)).await;
    let _on_b = query_answer(&server, "tok-b", page_with_budget(6000, 5999)).await;

    query(&a).await.unwrap();
    for (what, handle) in [("parent", &falcon), ("other member", &b)] {
        for _ in 0..3 {
            query(handle).await.unwrap();
        }
        assert!(
            clock.sleeps().is_empty(),
            "the {what} was paced by the child's budget: {:?}",
            clock.sleeps()
        );
    }
    query(&a).await.unwrap();
    query(&a).await.unwrap();
    let waited: Duration = clock.sleeps().iter().sum();
    assert!(
        waited >= Duration::from_secs(1),
        "the child is paced by its own budget: {:?}",
        clock.sleeps()
    );
}

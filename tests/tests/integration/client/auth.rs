//! Tokens of the ergonomic layer: reuse, the exact token form, proactive refresh on a manual
//! clock, member tokens kept apart, refresh-on-401 exactly once, and single flight.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use falcon_users::clock::ManualClock;
use falcon_users::{AuthProblem, Error};
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;

// ---- 1. token reuse, bearer header, exact form -----------------------------------------------

#[tokio::test]
async fn two_calls_share_one_token_sent_as_bearer() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(TOKEN_PATH)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(token_form(None));
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "us-1")
                .json_body(token_json("tok-reuse", 1799));
        })
        .await;
    let api_calls = query_for(&server, "tok-reuse", 200).await;
    let falcon = builder(&server).build().unwrap();

    // One call through the convenience method, one through the generated client.
    assert_eq!(query(&falcon).await.unwrap(), ["u-1"]);
    let raw = bounded(falcon.api().query_user_v1().limit(500).send())
        .await
        .unwrap();
    assert_eq!(raw.into_inner().resources.unwrap(), ["u-1"]);

    assert_eq!(token.calls_async().await, 1, "one token for both calls");
    assert_eq!(api_calls.calls_async().await, 2);
    let stats = falcon.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.requests, 3, "1 token request + 2 API requests");
    assert_eq!(stats.retries, 0);
}

#[tokio::test]
async fn clones_share_the_token_cache() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok-clone").await;
    let api_calls = query_for(&server, "tok-clone", 200).await;
    let falcon = builder(&server).build().unwrap();
    let clone = falcon.clone();
    query(&falcon).await.unwrap();
    query(&clone).await.unwrap();
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(api_calls.calls_async().await, 2);
    assert_eq!(clone.stats().token_requests, 1);
}

#[tokio::test]
async fn member_cid_from_the_builder_is_in_the_form_normalised() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(TOKEN_PATH)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(token_form(Some(CID)));
            then.status(201)
                .header("content-type", "application/json")
                .json_body(token_json("tok-member", 1799));
        })
        .await;
    let api_calls = query_for(&server, "tok-member", 200).await;
    let falcon = builder(&server).member_cid(CID_PASTED).build().unwrap();
    assert_eq!(falcon.member_cid().map(|c| c.as_str()), Some(CID));

    query(&falcon).await.unwrap();
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(api_calls.calls_async().await, 2);
    assert_eq!(falcon.stats().token_requests, 1);
}

// ---- 2. proactive refresh --------------------------------------------------------------------

#[tokio::test]
async fn token_is_renewed_once_the_renew_window_is_reached_and_not_before() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-first", "tok-second"], 1799).await;
    let first = query_for(&server, "tok-first", 200).await;
    let second = query_for(&server, "tok-second", 200).await;
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(&server)
        .clock(clock.clone())
        .token_renew_window(Duration::from_secs(300))
        .build()
        .unwrap();

    query(&falcon).await.unwrap();
    // Renewal is due at 1799 - 300 = 1499 s after minting.
    clock.advance(Duration::from_secs(1498));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 1, "still inside the lifetime");
    assert_eq!(falcon.stats().token_requests, 1);
    assert_eq!(first.calls_async().await, 2);

    clock.advance(Duration::from_secs(2));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 2, "renewed proactively");
    assert_eq!(falcon.stats().token_requests, 2);
    assert_eq!(second.calls_async().await, 1, "the new token is used");
    assert_eq!(first.calls_async().await, 2, "the old one is not");
    assert!(
        clock.sleeps().is_empty(),
        "no waiting: {:?}",
        clock.sleeps()
    );
}

#[tokio::test]
async fn default_renew_window_is_two_minutes() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-a", "tok-b"], 1799).await;
    let _a = query_for(&server, "tok-a", 200).await;
    let _b = query_for(&server, "tok-b", 200).await;
    let (falcon, clock) = with_clock(&server);
    query(&falcon).await.unwrap();
    clock.advance(Duration::from_secs(1799 - 120 - 1));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 1);
    clock.advance(Duration::from_secs(1));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 2);
}

#[tokio::test]
async fn a_renew_window_longer_than_the_lifetime_does_not_mint_on_every_call() {
    let server = MockServer::start_async().await;
    // 60 s tokens with the default 120 s window: renewing "120 s before expiry" would mean
    // every call mints; the window is capped at half the lifetime.
    let token = token_sequence(&server, &["short-1", "short-2"], 60).await;
    let _a = query_for(&server, "short-1", 200).await;
    let _b = query_for(&server, "short-2", 200).await;
    let (falcon, clock) = with_clock(&server);
    query(&falcon).await.unwrap();
    query(&falcon).await.unwrap();
    clock.advance(Duration::from_secs(29));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 1);
    clock.advance(Duration::from_secs(1));
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 2);
}

// ---- 3. member tokens ------------------------------------------------------------------------

#[tokio::test]
async fn member_handles_mint_apart_from_the_parent_and_share_per_cid() {
    let server = MockServer::start_async().await;
    let parent_token = minted_for(&server, None, "tok-parent").await;
    let member_token = minted_for(&server, Some(CID), "tok-member").await;
    let parent_calls = query_for(&server, "tok-parent", 200).await;
    let member_calls = query_for(&server, "tok-member", 200).await;

    let falcon = builder(&server).build().unwrap();
    query(&falcon).await.unwrap();

    let pasted = falcon.for_member(&CID_PASTED.parse().unwrap());
    let clean = falcon.for_member(&CID.parse().unwrap());
    assert_eq!(pasted.member_cid(), clean.member_cid());
    assert_eq!(pasted.member_cid().unwrap().as_str(), CID);
    assert_eq!(falcon.member_cid(), None);

    query(&pasted).await.unwrap();
    query(&clean).await.unwrap();
    // A member handle made later, from a clone, still shares the member token.
    let again = falcon
        .clone()
        .for_member(&format!("  {CID_PASTED}  ").parse().unwrap());
    query(&again).await.unwrap();
    // And the parent keeps its own token.
    query(&falcon).await.unwrap();

    assert_eq!(parent_token.calls_async().await, 1);
    assert_eq!(member_token.calls_async().await, 1);
    assert_eq!(parent_calls.calls_async().await, 2);
    assert_eq!(member_calls.calls_async().await, 3);
    assert_eq!(falcon.stats().token_requests, 2);
    assert_eq!(
        pasted.stats(),
        falcon.stats(),
        "one session, one set of counters"
    );
}

// ---- 4. refresh on 401 exactly once ----------------------------------------------------------

#[tokio::test]
async fn a_401_gets_one_fresh_token_and_the_call_succeeds() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-revoked", "tok-fresh"], 1799).await;
    let refused = query_for(&server, "tok-revoked", 401).await;
    let accepted = query_for(&server, "tok-fresh", 200).await;
    let falcon = builder(&server).build().unwrap();

    assert_eq!(query(&falcon).await.unwrap(), ["u-1"]);
    assert_eq!(token.calls_async().await, 2);
    assert_eq!(falcon.stats().token_requests, 2);
    assert_eq!(refused.calls_async().await, 1);
    assert_eq!(accepted.calls_async().await, 1);
    assert_eq!(falcon.stats().retries, 1);

    // The fresh token is kept.
    query(&falcon).await.unwrap();
    assert_eq!(token.calls_async().await, 2);
}

#[tokio::test]
async fn an_api_that_always_answers_401_fails_after_exactly_two_requests() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-1", "tok-2", "tok-3"], 1799).await;
    let api_calls = server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(401)
                .header("content-type", "application/json")
                .json_body(error_body(401, "access denied, invalid bearer token"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();

    let err = query(&falcon).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                problem: AuthProblem::Unauthorized,
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(api_calls.calls_async().await, 2, "one refresh, no loop");
    assert_eq!(token.calls_async().await, 2);
    assert_eq!(falcon.stats().token_requests, 2);
}

#[tokio::test]
async fn a_401_through_the_generated_client_is_also_refreshed_once() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-old", "tok-new"], 1799).await;
    let _refused = query_for(&server, "tok-old", 401).await;
    let accepted = query_for(&server, "tok-new", 200).await;
    let falcon = builder(&server).build().unwrap();
    let page = bounded(falcon.api().query_user_v1().send()).await.unwrap();
    assert_eq!(page.into_inner().resources.unwrap(), ["u-1"]);
    assert_eq!(token.calls_async().await, 2);
    assert_eq!(accepted.calls_async().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_callers_hit_by_401_mint_one_replacement() {
    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &["tok-stale", "tok-good", "tok-extra"], 1799).await;
    let _refused = query_for(&server, "tok-stale", 401).await;
    let accepted = query_for(&server, "tok-good", 200).await;
    let falcon = builder(&server).build().unwrap();
    bounded(falcon.authenticate()).await.unwrap();

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let falcon = falcon.clone();
            tokio::spawn(async move { query(&falcon).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        token.calls_async().await,
        2,
        "a token refused by many callers is replaced once"
    );
    assert_eq!(accepted.calls_async().await, 20);
}

// ---- 5. single flight ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_without_a_token_cause_one_token_request() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(201)
                .header("content-type", "application/json")
                .json_body(token_json("tok-once", 1799))
                .delay(Duration::from_millis(50));
        })
        .await;
    let api_calls = query_for(&server, "tok-once", 200).await;
    // Above the default limit of 16 in flight, so that all 50 callers compete for the token.
    let falcon = builder(&server).max_concurrency(64).build().unwrap();

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let falcon = falcon.clone();
            tokio::spawn(async move { query(&falcon).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), ["u-1"]);
    }
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(falcon.stats().token_requests, 1);
    assert_eq!(api_calls.calls_async().await, 50);
}

#[tokio::test]
async fn fifty_joined_callers_renewing_an_expired_token_cause_one_token_request() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(201)
                .header("content-type", "application/json")
                .json_body(token_json("tok-same", 1799))
                .delay(Duration::from_millis(20));
        })
        .await;
    let _api = query_for(&server, "tok-same", 200).await;
    let (falcon, clock) = with_clock(&server);
    bounded(falcon.authenticate()).await.unwrap();
    clock.advance(Duration::from_secs(1800));

    let results = bounded(futures::future::join_all((0..50).map(|_| query(&falcon)))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(token.calls_async().await, 2, "the first mint + one renewal");
    assert_eq!(falcon.stats().token_requests, 2);
}

// ---- 6. revoke -------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_sends_basic_auth_and_the_token_then_the_next_call_mints_anew() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok-to-revoke").await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{SECRET}").as_bytes())
    );
    let revoke = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/revoke")
                .header("authorization", basic)
                .body(format!("client_id={CLIENT_ID}&token=tok-to-revoke"));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(meta("t")));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    bounded(falcon.authenticate()).await.unwrap();
    bounded(falcon.revoke()).await.unwrap();
    revoke.assert_async().await;
    bounded(falcon.authenticate()).await.unwrap();
    assert_eq!(token.calls_async().await, 2);
    assert_eq!(falcon.stats().token_requests, 2);
}

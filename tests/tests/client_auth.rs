//! Tokens: reuse, proactive refresh, member tokens, refresh on 401, single flight, revoke.

mod harness;

use std::time::Duration;

use falcon_users::{AuthProblem, Error, UserQuery};
use harness::*;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

async fn query_mock<'a>(server: &'a MockServer, token: &str) -> httpmock::Mock<'a> {
    let bearer = format!("Bearer {token}");
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/user-management/queries/users/v1")
                .header("authorization", bearer);
            then.status(200).json_body(page(json!(["u-1"]), 0, 500, 1));
        })
        .await
}

#[tokio::test]
async fn one_token_serves_many_calls_and_the_form_is_exact() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("client_id=client-id-1&client_secret={SECRET}"));
            then.status(201)
                .json_body(json!({"access_token": "tok-1", "expires_in": 1799}));
        })
        .await;
    let query = query_mock(&server, "tok-1").await;
    let falcon = builder(&server).build().unwrap();
    for _ in 0..3 {
        falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    }
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(query.calls_async().await, 3);
    assert_eq!(falcon.stats().token_requests, 1);
}

#[tokio::test]
async fn member_cid_is_sent_normalised() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token").body(format!(
                "client_id=client-id-1&client_secret={SECRET}&member_cid=0123456789abcdef0123456789abcdef"
            ));
            then.status(201).json_body(json!({"access_token": "member-tok", "expires_in": 1799}));
        })
        .await;
    let falcon = builder(&server)
        .member_cid("0123456789ABCDEF0123456789ABCDEF-7C")
        .build()
        .unwrap();
    falcon.authenticate().await.unwrap();
    token.assert_async().await;
    assert_eq!(
        falcon.member_cid().unwrap().as_str(),
        "0123456789abcdef0123456789abcdef"
    );
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok").await;
    let _query = query_mock(&server, "tok").await;
    let (falcon, clock) = with_clock(&server);
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    // 1799 s lifetime, 120 s renew window: still fresh just before 1679 s.
    clock.advance(Duration::from_secs(1670));
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert_eq!(token.calls_async().await, 1);
    clock.advance(Duration::from_secs(20));
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert_eq!(
        token.calls_async().await,
        2,
        "renewed inside the window, before expiry"
    );
}

#[tokio::test]
async fn member_handles_keep_their_own_tokens() {
    let server = MockServer::start_async().await;
    let parent = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/token")
                .body(format!("client_id=client-id-1&client_secret={SECRET}"));
            then.status(201)
                .json_body(json!({"access_token": "parent-tok", "expires_in": 1799}));
        })
        .await;
    let member = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/token")
                .body_includes("member_cid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
            then.status(201)
                .json_body(json!({"access_token": "member-tok", "expires_in": 1799}));
        })
        .await;
    let parent_query = query_mock(&server, "parent-tok").await;
    let member_query = query_mock(&server, "member-tok").await;

    let falcon = builder(&server).build().unwrap();
    let child_a = falcon
        .for_member("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-1F")
        .unwrap();
    let child_b = falcon
        .for_member("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .unwrap();
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    child_a.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    child_b.query_user_ids(&UserQuery::new(), 0).await.unwrap();

    assert_eq!(parent.calls_async().await, 1);
    assert_eq!(
        member.calls_async().await,
        1,
        "two handles for one CID share its token"
    );
    assert_eq!(parent_query.calls_async().await, 1);
    assert_eq!(member_query.calls_async().await, 2);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_once() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok").await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path("/user-management/queries/users/v1");
            then.status(401)
                .json_body(error_body(401, "access denied, invalid bearer token"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let err = falcon
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
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
    assert_eq!(
        refused.calls_async().await,
        2,
        "one retry after one refresh, no loop"
    );
    assert_eq!(token.calls_async().await, 2);
}

#[tokio::test]
async fn a_401_then_success_succeeds_with_a_fresh_token() {
    let server = MockServer::start_async().await;
    let first_token = token_mock(&server, "stale").await;
    let stale = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/user-management/queries/users/v1")
                .header("authorization", "Bearer stale");
            then.status(401).json_body(error_body(401, "expired"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    falcon.authenticate().await.unwrap();
    first_token.delete_async().await;
    let _fresh_token = token_mock(&server, "fresh").await;
    let fresh = query_mock(&server, "fresh").await;

    let page = falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert_eq!(page.resources.unwrap(), vec!["u-1".to_string()]);
    assert_eq!(stale.calls_async().await, 1);
    assert_eq!(fresh.calls_async().await, 1);
    assert_eq!(falcon.stats().token_requests, 2);
}

#[tokio::test]
async fn fifty_concurrent_callers_cause_one_token_request() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .delay(Duration::from_millis(50))
                .json_body(json!({"access_token": "tok", "expires_in": 1799}));
        })
        .await;
    let query = query_mock(&server, "tok").await;
    let falcon = builder(&server).max_concurrency(64).build().unwrap();
    let calls = (0..50).map(|_| {
        let falcon = falcon.clone();
        tokio::spawn(async move { falcon.query_user_ids(&UserQuery::new(), 0).await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(query.calls_async().await, 50);
}

#[tokio::test]
async fn token_errors_say_what_to_check() {
    for (status, problem, hint) in [
        (401, AuthProblem::BadCredentials, "FALCON_CLIENT_SECRET"),
        (403, AuthProblem::Forbidden, "IP allow list"),
        (400, AuthProblem::BadRequest, "member CID"),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/oauth2/token");
                then.status(status).json_body(error_body(status, "denied"));
            })
            .await;
        let err = builder(&server)
            .build()
            .unwrap()
            .authenticate()
            .await
            .unwrap_err();
        match &err {
            Error::Auth {
                problem: p,
                status: s,
                ..
            } => {
                assert_eq!((*p, *s), (problem, Some(status)));
            }
            other => panic!("{status}: expected Auth, got {other:?}"),
        }
        assert!(err.to_string().contains(hint), "{status}: {err}");
        assert!(!err.to_string().contains(SECRET));
    }
}

#[tokio::test]
async fn revoke_sends_basic_auth_and_the_token() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok-to-revoke").await;
    // base64("client-id-1:s3cr3t-CLIENT-secret-value")
    let revoke = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/revoke")
                .header(
                    "authorization",
                    "Basic Y2xpZW50LWlkLTE6czNjcjN0LUNMSUVOVC1zZWNyZXQtdmFsdWU=",
                )
                .body("client_id=client-id-1&token=tok-to-revoke");
            then.status(200)
                .json_body(json!({"meta": {"query_time": 0.0, "trace_id": "t"}, "errors": []}));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    falcon.authenticate().await.unwrap();
    falcon.revoke().await.unwrap();
    revoke.assert_async().await;
    // Revoked: the next call mints a new token.
    falcon.authenticate().await.unwrap();
    assert_eq!(falcon.stats().token_requests, 2);
}

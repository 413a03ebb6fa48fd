//! Secrets stay secret (Debug, Display, TRACE-level logs) and errors say what happened: raw
//! bodies of non-JSON failures kept, token failures explained.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use falcon_users::types::DomainCreateUserRequest;
use falcon_users::{AuthProblem, Credentials, Error, Falcon, RetryPolicy, UserQuery};
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use falcon_users_tests::traces::capture_traces;
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};

const TOKEN_ONE: &str = "tokSENSITIVEone0123456789abcdef";
const TOKEN_TWO: &str = "tokSENSITIVEtwo0123456789abcdef";

async fn token_failure<'a>(server: &'a MockServer, status: u16, message: &str) -> Mock<'a> {
    let body = error_body(status, message);
    server
        .mock_async(move |when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(status)
                .header("content-type", "application/json")
                .header("X-Cs-Traceid", "trace-token-failure")
                .json_body(body);
        })
        .await
}

// ---- 13. secrets absent ----------------------------------------------------------------------

#[tokio::test]
async fn debug_output_never_shows_the_secret() {
    let server = MockServer::start_async().await;
    let builder = builder(&server).member_cid(CID_PASTED);
    let text = format!("{builder:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(
        text.contains(CLIENT_ID),
        "the client id is fine to show: {text}"
    );

    let falcon = builder.build().unwrap();
    for text in [format!("{falcon:?}"), format!("{falcon:#?}")] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains(CLIENT_ID), "{text}");
    }
    let member = falcon.for_member(&CID.parse().unwrap());
    assert!(!format!("{member:?}").contains(SECRET));

    let credentials = Credentials::new(CLIENT_ID, SECRET);
    let text = format!("{credentials:?}");
    assert!(
        !text.contains(SECRET) && text.contains("[redacted]"),
        "{text}"
    );
    // Credentials hand over to the builder without showing up either.
    let text = format!("{:?}", Falcon::builder().credentials(&credentials));
    assert!(!text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn debug_output_after_minting_never_shows_the_token() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, TOKEN_ONE).await;
    let _api = query_for(&server, TOKEN_ONE, 200).await;
    let falcon = builder(&server).build().unwrap();
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    let text = format!("{falcon:#?}");
    assert!(
        !text.contains(TOKEN_ONE) && !text.contains(SECRET),
        "{text}"
    );
}

/// Everything logged at TRACE (events and span enter/exit with their fields) while minting,
/// calling, refreshing after a 401, failing to authenticate and revoking.
#[tokio::test]
async fn trace_logs_never_contain_the_secret_or_a_token() {
    let (logs, guard) = capture_traces();

    let server = MockServer::start_async().await;
    let token = token_sequence(&server, &[TOKEN_ONE, TOKEN_TWO], 1799).await;
    let refused = query_for(&server, TOKEN_ONE, 401).await;
    let accepted = query_for(&server, TOKEN_TWO, 200).await;
    let revoke = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/revoke");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(meta("t-rev")));
        })
        .await;
    let falcon = builder(&server).build().unwrap();

    // Mint + API call + 401 refresh.
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    // Revoke (Basic auth with the secret).
    bounded(falcon.revoke()).await.unwrap();
    assert_eq!(token.calls_async().await, 2);
    assert_eq!(refused.calls_async().await, 1);
    assert_eq!(accepted.calls_async().await, 1);
    assert_eq!(revoke.calls_async().await, 1);

    // A token failure, and an API that refuses every token.
    let failing = MockServer::start_async().await;
    token_failure(&failing, 401, "access denied, invalid client").await;
    let err = bounded(builder(&failing).build().unwrap().authenticate())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }));

    drop(guard);
    let logs = logs.contents();
    assert!(
        logs.contains("minted a token") && logs.contains("discarding a token"),
        "the capture saw the SDK's events:\n{logs}"
    );
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{SECRET}").as_bytes());
    for needle in [SECRET, TOKEN_ONE, TOKEN_TWO, basic.as_str()] {
        assert!(
            !logs.contains(needle),
            "{needle} leaked into the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn auth_errors_do_not_contain_the_secret() {
    let server = MockServer::start_async().await;
    token_failure(&server, 401, "access denied, invalid client").await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(!text.contains(SECRET), "{text}");
    }
    // The same failure reached through an API call (the hook path) and the generated client.
    let err = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
    let err = bounded(falcon.api().query_user_v1().send())
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
}

#[tokio::test]
async fn an_unauthorized_api_error_does_not_contain_the_token() {
    let server = MockServer::start_async().await;
    let _token = token_sequence(&server, &[TOKEN_ONE, TOKEN_TWO], 1799).await;
    let _a = query_for(&server, TOKEN_ONE, 401).await;
    let _b = query_for(&server, TOKEN_TWO, 401).await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(
        err,
        Error::Auth {
            problem: AuthProblem::Unauthorized,
            ..
        }
    ));
    for needle in [SECRET, TOKEN_ONE, TOKEN_TWO] {
        assert!(!text.contains(needle), "{text}");
    }
}

// ---- 14. error mapping -----------------------------------------------------------------------

const GATEWAY_HTML: &str = "<html><head><title>502 Bad Gateway</title></head>\
<body><center><h1>502 Bad Gateway</h1></center></body></html>";

#[tokio::test]
async fn an_html_502_keeps_its_body_raw() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, _clock) = with_clock(&server);
    let api = server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(502)
                .header("content-type", "text/html")
                .header("X-Cs-Traceid", "trace-gw")
                .body(GATEWAY_HTML);
        })
        .await;
    let err = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            operation: "queryUserV1",
            status: 502,
            trace_id,
            errors,
            raw_body,
        } => {
            assert_eq!(raw_body.as_deref(), Some(GATEWAY_HTML));
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(trace_id.as_deref(), Some("trace-gw"));
        }
        other => panic!("expected Api 502, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("HTTP 502") && text.contains("502 Bad Gateway"),
        "{text}"
    );
    assert!(text.contains("trace-gw"), "{text}");
    // A GET: retried until the attempts ran out, then reported.
    assert_eq!(
        api.calls_async().await,
        RetryPolicy::default().max_attempts as usize
    );
}

#[tokio::test]
async fn an_html_500_of_a_declared_status_keeps_its_body_raw_too() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let (falcon, _clock) = with_clock(&server);
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path(USERS_PATH);
            then.status(500)
                .header("content-type", "text/html")
                .body("<html><body>Internal Server Error</body></html>");
        })
        .await;
    let err = bounded(falcon.create_user(DomainCreateUserRequest {
        uid: Some("ann@example.com".into()),
        cid: None,
        first_name: None,
        last_name: None,
        password: None,
    }))
    .await
    .unwrap_err();
    match &err {
        Error::Api {
            status: 500,
            errors,
            raw_body,
            ..
        } => {
            assert_eq!(
                raw_body.as_deref(),
                Some("<html><body>Internal Server Error</body></html>")
            );
            assert!(errors.is_empty());
        }
        other => panic!("expected Api 500, got {other:?}"),
    }
    assert_eq!(create.calls_async().await, 1);
}

#[tokio::test]
async fn a_json_error_envelope_is_parsed_not_kept_raw() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let falcon = builder(&server).build().unwrap();
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .json_body(with_error(
                    meta("trace-meta"),
                    403,
                    "access denied, authorization failed",
                ));
        })
        .await;
    let err = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status: 403,
            errors,
            raw_body: None,
            trace_id,
            ..
        } => {
            assert_eq!(errors[0].message, "access denied, authorization failed");
            assert_eq!(trace_id.as_deref(), Some("trace-meta"));
        }
        other => panic!("expected Api 403, got {other:?}"),
    }
}

#[tokio::test]
async fn token_401_is_bad_credentials_naming_the_secret_variable() {
    let server = MockServer::start_async().await;
    let token = token_failure(&server, 401, "access denied, invalid client").await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    match &err {
        Error::Auth {
            problem: AuthProblem::BadCredentials,
            status: Some(401),
            message,
            trace_id,
        } => {
            assert!(message.contains("FALCON_CLIENT_SECRET"), "{message}");
            assert_eq!(trace_id.as_deref(), Some("trace-token-failure"));
        }
        other => panic!("expected BadCredentials, got {other:?}"),
    }
    assert_eq!(
        token.calls_async().await,
        1,
        "bad credentials are not retried"
    );
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn token_403_is_forbidden_naming_the_ip_allow_list() {
    let server = MockServer::start_async().await;
    let token = token_failure(&server, 403, "access denied, IP not allowed").await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    match &err {
        Error::Auth {
            problem: AuthProblem::Forbidden,
            status: Some(403),
            message,
            ..
        } => {
            assert!(message.contains("IP allow list"), "{message}");
            // Wrong credentials get 403 from the service too.
            assert!(message.contains("FALCON_CLIENT_SECRET"), "{message}");
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert_eq!(token.calls_async().await, 1);
    assert!(!err.to_string().contains(SECRET), "{err}");
}

#[tokio::test]
async fn token_400_without_a_member_cid_still_names_the_member_cid() {
    let server = MockServer::start_async().await;
    token_failure(&server, 400, "bad request").await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                problem: AuthProblem::BadRequest,
                status: Some(400),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("member CID"), "{err}");
    assert!(!err.to_string().contains(SECRET), "{err}");
}

#[tokio::test]
async fn token_400_for_a_member_names_the_member_cid() {
    let server = MockServer::start_async().await;
    token_failure(&server, 400, "invalid member_cid").await;
    let falcon = builder(&server).member_cid(CID_PASTED).build().unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    match &err {
        Error::Auth {
            problem: AuthProblem::BadRequest,
            status: Some(400),
            message,
            ..
        } => assert!(message.contains(CID), "{message}"),
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_failure_surfaces_as_auth_through_every_entry_point() {
    let server = MockServer::start_async().await;
    token_failure(&server, 401, "access denied, invalid client").await;
    let api = catch_all(&server).await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.get_users("uuid-1")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                problem: AuthProblem::BadCredentials,
                ..
            }
        ),
        "{err:?}"
    );
    let err = bounded(falcon.role_ids()).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    // Through the generated client the hook's message is kept.
    let err = bounded(falcon.api().query_user_v1().send())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("FALCON_CLIENT_SECRET"), "{err}");
    assert_eq!(api.calls_async().await, 0, "no API call without a token");
}

/// A cloud URL with a user name or password (`--cloud`, `FALCON_CLOUD`, an override) is refused
/// before anything is sent: it would go out as HTTP Basic credentials and be echoed in output.
/// The refusal does not echo the password either.
#[tokio::test]
async fn cloud_urls_with_credentials_in_them_are_refused_without_echoing_them() {
    let server = MockServer::start_async().await;
    let api = catch_all(&server).await;
    let mut with_userinfo = url(&server);
    with_userinfo.set_username("someone").unwrap();
    with_userinfo.set_password(Some("hunter2")).unwrap();
    let attempts = [
        builder(&server).cloud_name(with_userinfo.as_str()).build(),
        builder(&server)
            .cloud(falcon_users::Cloud::Custom(with_userinfo.clone()))
            .build(),
        builder(&server)
            .cloud_name(format!("https://someone:hunter2@{}/", server.address()))
            .build(),
    ];
    for attempt in attempts {
        let err = attempt.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: "cloud", .. }),
            "{err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert_eq!(api.calls_async().await, 0);
}

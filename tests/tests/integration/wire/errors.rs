//! Error paths: declared error statuses decode into `Error::ErrorResponse` with the typed envelope;
//! undeclared ones surface as `Error::UnexpectedResponse` with their status.
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use falcon_users_api::{Error, types};
use falcon_users_httpmock::MockServerExt;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

fn expect_error_response(
    err: Error<types::MsaspecResponseFields>,
    status: u16,
) -> falcon_users_api::ResponseValue<types::MsaspecResponseFields> {
    match err {
        Error::ErrorResponse(resp) => {
            assert_eq!(resp.status(), status);
            resp
        }
        other => panic!("expected ErrorResponse({status}), got {other:?}"),
    }
}

#[tokio::test]
async fn grant_invalid_role_400_decodes_error_envelope() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path("/user-management/entities/user-role-actions/v1");
            then.status(400)
                .header("content-type", "application/json")
                .header("X-Cs-Traceid", TRACE_ID)
                .json_body(with_error(gateway_meta(), 400, "invalid roleID"));
        })
        .await;

    let err = api_client(&server)
        .user_roles_action_v1()
        .body(types::FlightcontrolapiGrantInput {
            action: Some("grant".into()),
            cid: Some(CHILD_CID.into()),
            role_ids: vec![CUSTOM_ROLE.into()],
            uuid: Some(USER_1.into()),
            expires_at: None,
        })
        .send()
        .await
        .expect_err("400");
    mock.assert_async().await;
    let resp = expect_error_response(err, 400);
    assert_eq!(resp.headers()["x-cs-traceid"], TRACE_ID);
    let body = resp.into_inner();
    let errors = body.errors.unwrap();
    assert_eq!(errors[0].code, 400);
    assert_eq!(errors[0].message, "invalid roleID");
    assert_eq!(body.meta.trace_id, TRACE_ID);
    assert_eq!(
        body.meta.powered_by.as_deref(),
        Some("crowdstrike-api-gateway")
    );
}

#[tokio::test]
async fn query_user_403_typed_helper_error() {
    let server = MockServer::start_async().await;
    let body: types::MsaspecResponseFields = serde_json::from_value(with_error(
        gateway_meta(),
        403,
        "access denied, authorization failed",
    ))
    .unwrap();
    let mock = server.query_user_v1(|when, then| {
        when.filter("status:'active'");
        then.forbidden(&body);
    });

    let err = api_client(&server)
        .query_user_v1()
        .filter("status:'active'")
        .send()
        .await
        .expect_err("403");
    mock.assert_async().await;
    let body = expect_error_response(err, 403).into_inner();
    assert_eq!(body.errors.as_ref().unwrap()[0].code, 403);
    assert_eq!(
        body.errors.unwrap()[0].message,
        "access denied, authorization failed"
    );
}

#[tokio::test]
async fn retrieve_users_429_has_retry_after() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path("/user-management/entities/users/GET/v1");
            then.status(429)
                .header("content-type", "application/json")
                .header("X-Ratelimit-Limit", "6000")
                .header("X-Ratelimit-Remaining", "0")
                .header("X-Ratelimit-Retryafter", "1749050471")
                .json_body(with_error(gateway_meta(), 429, "API rate limit exceeded."));
        })
        .await;

    let err = api_client(&server)
        .retrieve_users_get_v1()
        .body(types::MsaspecIdsRequest {
            ids: vec![USER_1.into()],
        })
        .send()
        .await
        .expect_err("429");
    mock.assert_async().await;
    let resp = expect_error_response(err, 429);
    // Header names are case-insensitive: the spec spells it `X-RateLimit-RetryAfter`.
    let retry_after: u64 = resp.headers()["X-RateLimit-RetryAfter"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1_749_050_471);
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    let body = resp.into_inner();
    assert_eq!(body.errors.unwrap()[0].message, "API rate limit exceeded.");
}

#[tokio::test]
async fn combined_user_roles_500_decodes_error_envelope() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path("/user-management/combined/user-roles/v2")
                .query_param("user_uuid", USER_1);
            then.status(500)
                .header("content-type", "application/json")
                .json_body(json!({
                    "meta": {"query_time": 1.502, "powered_by": "user-management", "trace_id": TRACE_ID},
                    "errors": [{"code": 500, "message": "internal server error", "id": "c0ffee00-1234-4abc-9def-0123456789ab"}],
                    "resources": null
                }));
        })
        .await;

    let err = api_client(&server)
        .combined_user_roles_v2()
        .user_uuid(USER_1)
        .send()
        .await
        .expect_err("500");
    mock.assert_async().await;
    let body = expect_error_response(err, 500).into_inner();
    let errors = body.errors.unwrap();
    assert_eq!(errors[0].code, 500);
    assert_eq!(
        errors[0].id.as_deref(),
        Some("c0ffee00-1234-4abc-9def-0123456789ab")
    );
    assert_eq!(body.meta.query_time, 1.502);
}

#[tokio::test]
async fn retrieve_user_404_decodes_error_envelope() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/users/entities/users/v1");
            then.status(404)
                .header("content-type", "application/json")
                .json_body(with_error(gateway_meta(), 404, "user not found"));
        })
        .await;

    let err = api_client(&server)
        .legacy_retrieve_user()
        .ids(vec![USER_3.to_owned()])
        .send()
        .await
        .expect_err("404");
    mock.assert_async().await;
    let body = expect_error_response(err, 404).into_inner();
    assert_eq!(body.errors.unwrap()[0].message, "user not found");
}

#[tokio::test]
async fn query_user_v2_401_gateway_error_is_declared() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path("/user-management/queries/users/v2");
            then.status(401)
                .header("content-type", "application/json")
                .json_body(with_error(
                    gateway_meta(),
                    401,
                    "access denied, invalid bearer token",
                ));
        })
        .await;

    let err = api_client(&server)
        .query_user_v2()
        .send()
        .await
        .expect_err("401");
    mock.assert_async().await;
    let body = expect_error_response(err, 401).into_inner();
    assert_eq!(body.errors.unwrap()[0].code, 401);
}

#[tokio::test]
async fn token_403_decodes_error_envelope() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/oauth2/token");
            then.status(403)
                .header("content-type", "application/json")
                .json_body(with_error(
                    gateway_meta(),
                    403,
                    "access denied, invalid client",
                ));
        })
        .await;

    let err = api_client(&server)
        .oauth2_access_token()
        .body(types::Oauth2AccessTokenBody {
            client_id: CLIENT_ID.into(),
            client_secret: "wrong".into(),
            member_cid: None,
        })
        .send()
        .await
        .expect_err("403");
    mock.assert_async().await;
    let body = expect_error_response(err, 403).into_inner();
    assert_eq!(
        body.errors.unwrap()[0].message,
        "access denied, invalid client"
    );
}

#[tokio::test]
async fn undeclared_502_html_is_unexpected_response() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path("/user-management/queries/users/v1");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>");
        })
        .await;

    let err = api_client(&server)
        .query_user_v1()
        .send()
        .await
        .expect_err("502");
    mock.assert_async().await;
    match err {
        Error::UnexpectedResponse(resp) => {
            assert_eq!(resp.status(), 502);
            let text = resp.text().await.unwrap();
            assert!(text.contains("502 Bad Gateway"), "{text}");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn declared_status_with_html_body_is_invalid_payload() {
    // A gateway error page on a declared status cannot decode into the envelope.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path("/user-management/queries/roles/v1");
            then.status(500)
                .header("content-type", "text/html")
                .body("<html><body>Internal Server Error</body></html>");
        })
        .await;

    let err = api_client(&server)
        .queries_roles_v1()
        .send()
        .await
        .expect_err("500 html");
    mock.assert_async().await;
    assert!(
        matches!(err, Error::InvalidResponsePayload(..)),
        "expected InvalidResponsePayload, got {err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), None);
}

//! Cloud autodiscovery, exercised on loopback through endpoint overrides: each named cloud is
//! mapped to its own mock server, so a region switch is visible as traffic moving between them.

use falcon_users::{Cloud, Error, Falcon};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;
use url::Url;

fn url(server: &MockServer) -> Url {
    Url::parse(&server.base_url()).expect("mock URL parses")
}

fn token_body(token: &str) -> serde_json::Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": 1799})
}

fn query_page() -> serde_json::Value {
    json!({"meta": {"query_time": 0.01, "trace_id": "t-1", "pagination": {"offset": 0, "limit": 500, "total": 1}},
           "resources": ["u-1"], "errors": []})
}

#[tokio::test]
async fn x_cs_region_moves_to_that_cloud_and_mints_there() {
    let us1 = MockServer::start_async().await;
    let us2 = MockServer::start_async().await;
    let us1_token = us1
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .header("X-Cs-Region", "us-2")
                .json_body(token_body("token-from-us1"));
        })
        .await;
    let us2_token = us2
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .header("X-Cs-Region", "us-2")
                .json_body(token_body("token-from-us2"));
        })
        .await;
    let us2_query = us2
        .mock_async(|when, then| {
            when.method(GET)
                .path("/user-management/queries/users/v1")
                .header("authorization", "Bearer token-from-us2");
            then.status(200).json_body(query_page());
        })
        .await;

    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .cloud(Cloud::Us1)
        .endpoint_override(Cloud::Us1, url(&us1))
        .endpoint_override(Cloud::Us2, url(&us2))
        .build()
        .unwrap();
    let page = falcon.query_user_ids(&Default::default(), 0).await.unwrap();

    assert_eq!(page.resources.unwrap(), vec!["u-1".to_string()]);
    us1_token.assert_async().await;
    us2_token.assert_async().await;
    us2_query.assert_async().await;
    assert_eq!(falcon.base_url().origin(), url(&us2).origin());
    // A later call stays on us-2 without asking for another token.
    falcon.query_user_ids(&Default::default(), 0).await.unwrap();
    assert_eq!(falcon.stats().token_requests, 2);
}

#[tokio::test]
async fn redirect_308_moves_to_the_location_cloud() {
    let us1 = MockServer::start_async().await;
    let eu1 = MockServer::start_async().await;
    let redirect = us1
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(308)
                .header("Location", "https://api.eu-1.crowdstrike.com/oauth2/token");
        })
        .await;
    let eu_token = eu1
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/token")
                .body("client_id=id&client_secret=secret");
            then.status(201)
                .header("X-Cs-Region", "eu-1")
                .json_body(token_body("eu-token"));
        })
        .await;

    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .endpoint_override(Cloud::Us1, url(&us1))
        .endpoint_override(Cloud::Eu1, url(&eu1))
        .build()
        .unwrap();
    falcon.authenticate().await.unwrap();

    redirect.assert_async().await;
    eu_token.assert_async().await;
    assert_eq!(falcon.base_url().origin(), url(&eu1).origin());
}

#[tokio::test]
async fn a_custom_url_is_never_left() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .header("X-Cs-Region", "us-2")
                .json_body(token_body("tok"));
        })
        .await;
    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .cloud(Cloud::Custom(url(&server)))
        .build()
        .unwrap();
    falcon.authenticate().await.unwrap();
    token.assert_async().await;
    assert_eq!(falcon.base_url().origin(), url(&server).origin());

    let redirecting = MockServer::start_async().await;
    redirecting
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(308)
                .header("Location", "https://api.us-2.crowdstrike.com/oauth2/token");
        })
        .await;
    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .cloud(Cloud::Custom(url(&redirecting)))
        .build()
        .unwrap();
    let err = falcon.authenticate().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(308),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("custom base URL is never changed"),
        "{err}"
    );
}

#[tokio::test]
async fn the_region_moves_only_once() {
    let us1 = MockServer::start_async().await;
    let us2 = MockServer::start_async().await;
    // Each says "the tenant is elsewhere": the client must stop after one move, not ping-pong.
    us1.mock_async(|when, then| {
        when.method(POST).path("/oauth2/token");
        then.status(308)
            .header("Location", "https://api.us-2.crowdstrike.com/oauth2/token");
    })
    .await;
    let us2_token = us2
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(308)
                .header("Location", "https://api.crowdstrike.com/oauth2/token");
        })
        .await;
    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .endpoint_override(Cloud::Us1, url(&us1))
        .endpoint_override(Cloud::Us2, url(&us2))
        .build()
        .unwrap();
    let err = falcon.authenticate().await.unwrap_err();
    assert!(
        err.to_string().contains("already switched region once"),
        "{err}"
    );
    us2_token.assert_async().await;
}

#[tokio::test]
async fn commercial_credentials_failure_suggests_setting_a_gov_cloud() {
    let us1 = MockServer::start_async().await;
    us1.mock_async(|when, then| {
        when.method(POST).path("/oauth2/token");
        then.status(401)
            .json_body(json!({"meta": {"query_time": 0.0, "trace_id": "t-9"},
            "errors": [{"code": 401, "message": "access denied, invalid bearer token"}]}));
    })
    .await;
    let falcon = Falcon::builder()
        .client_id("id")
        .client_secret("s3cr3t-value")
        .endpoint_override(Cloud::Us1, url(&us1))
        .build()
        .unwrap();
    let err = falcon.authenticate().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("government cloud") && text.contains("FALCON_CLOUD"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t-value"));
    assert_eq!(err.trace_id(), Some("t-9"));
}

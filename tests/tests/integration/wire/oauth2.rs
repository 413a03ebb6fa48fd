//! Wire format of the two OAuth2 operations: form bodies, 201 + `X-Cs-Region`, HTTP Basic revoke.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use falcon_users_api::{Auth, Error, Hooks, Operation, RequestHook, types};
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

const TOKEN: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1YmxpYzo0ZjI4In0.eyJzdWIiOiIwYTFiIn0.c2lnbmF0dXJl";

fn token_body() -> serde_json::Value {
    json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 1799})
}

#[tokio::test]
async fn oauth2_access_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            common_headers(when.method(Method::POST).path("/oauth2/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header_missing("authorization")
                .body(format!(
                    "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&member_cid={CHILD_CID}"
                ))
                .is_true(|req| req.uri().query().is_none());
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "eu-1")
                .header("X-Ratelimit-Limit", "6000")
                .header("X-Ratelimit-Remaining", "5999")
                .json_body(token_body());
        })
        .await;

    let resp = api_client(&server)
        .oauth2_access_token()
        .body(types::Oauth2AccessTokenBody {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            member_cid: Some(CHILD_CID.to_owned()),
        })
        .send()
        .await
        .expect("oauth2AccessToken");
    mock.assert_async().await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers().get("x-cs-region").unwrap().to_str().unwrap(),
        "eu-1"
    );
    assert_eq!(resp.headers().get("X-Ratelimit-Remaining").unwrap(), "5999");
    let token = resp.into_inner();
    assert_eq!(token.access_token.as_deref(), Some(TOKEN));
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(token.expires_in, Some(1799));
}

#[tokio::test]
async fn oauth2_access_token_form_escapes_and_omits_optional() {
    let server = MockServer::start_async().await;
    // A secret with characters that must be percent-encoded in a form body; no member_cid.
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path("/oauth2/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "client_id={CLIENT_ID}&client_secret=a%2Bb%2Fc%3Dd%26e+f"
                ));
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "us-2")
                .json_body(token_body());
        })
        .await;

    let resp = api_client(&server)
        .oauth2_access_token()
        .body(types::Oauth2AccessTokenBody {
            client_id: CLIENT_ID.to_owned(),
            client_secret: "a+b/c=d&e f".to_owned(),
            member_cid: None,
        })
        .send()
        .await
        .expect("oauth2AccessToken");
    mock.assert_async().await;
    assert_eq!(resp.headers()["x-cs-region"], "us-2");
}

#[tokio::test]
async fn oauth2_access_token_wrong_region_308_is_visible_without_redirects() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/oauth2/token");
            then.status(308)
                .header("Location", "https://api.us-2.crowdstrike.com/oauth2/token")
                .header("X-Cs-Region", "us-2");
        })
        .await;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = falcon_users_api::Client::new_with_client(&server.base_url(), http, Hooks::none());
    let err = client
        .oauth2_access_token()
        .body(types::Oauth2AccessTokenBody {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            member_cid: None,
        })
        .send()
        .await
        .expect_err("308 is not a declared response");
    mock.assert_async().await;
    match err {
        Error::UnexpectedResponse(resp) => {
            assert_eq!(resp.status(), 308);
            assert_eq!(
                resp.headers()["location"],
                "https://api.us-2.crowdstrike.com/oauth2/token"
            );
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn oauth2_access_token_308_is_followed_by_default_client() {
    // `Client::new` uses reqwest's default redirect policy: a 308 re-posts the form (with the
    // secret) to `Location` and the caller never sees the 308. Documents the behaviour the
    // ergonomic crate must opt out of if it wants to read `Location` itself.
    let us1 = MockServer::start_async().await;
    let us2 = MockServer::start_async().await;
    let form = format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}");
    let redirect = us1
        .mock_async(|when, then| {
            when.method(Method::POST).path("/oauth2/token");
            then.status(308)
                .header("Location", us2.url("/oauth2/token"));
        })
        .await;
    let target = us2
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path("/oauth2/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "us-2")
                .json_body(token_body());
        })
        .await;

    let resp = api_client(&us1)
        .oauth2_access_token()
        .body(types::Oauth2AccessTokenBody {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            member_cid: None,
        })
        .send()
        .await
        .expect("redirect followed");
    redirect.assert_async().await;
    target.assert_async().await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-cs-region"], "us-2");
}

/// Adds HTTP Basic credentials to the revoke call, as an auth layer would, and records the
/// operation ids it saw.
#[derive(Default)]
struct BasicAuthHook {
    seen: Mutex<Vec<&'static str>>,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl RequestHook for BasicAuthHook {
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(operation.id);
            if operation.auth == Auth::Basic {
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, HeaderValue::from_static(BASIC_AUTH));
            }
            Ok(())
        })
    }

    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        _operation: &'static Operation,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(client.execute(request))
    }
}

#[tokio::test]
async fn oauth2_revoke_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            common_headers(when.method(Method::POST).path("/oauth2/revoke"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", BASIC_AUTH)
                .body(format!("client_id={CLIENT_ID}&token={TOKEN}"))
                .is_true(|req| req.uri().query().is_none());
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(service_meta()));
        })
        .await;

    let hook = Arc::new(BasicAuthHook::default());
    let client = falcon_users_api::Client::new(&server.base_url(), Hooks::new(hook.clone()));
    let resp = client
        .oauth2_revoke_token()
        .body(types::Oauth2RevokeTokenBody {
            client_id: Some(CLIENT_ID.to_owned()),
            token: TOKEN.to_owned(),
        })
        .send()
        .await
        .expect("oauth2RevokeToken");
    mock.assert_async().await;
    assert_eq!(resp.status(), 200);
    let body = resp.into_inner();
    assert_eq!(body.meta.trace_id, TRACE_ID);
    assert_eq!(body.errors, Some(vec![]));
    assert_eq!(*hook.seen.lock().unwrap(), ["oauth2RevokeToken"]);
}

/// The typed httpmock helper matches the form body the client sends (the xtask patches
/// progenitor's JSON matcher for form operations).
#[tokio::test]
async fn oauth2_access_token_typed_helper_matches_the_form_body() {
    use falcon_users_httpmock::MockServerExt;
    let server = MockServer::start_async().await;
    let body = types::Oauth2AccessTokenBody {
        client_id: "client-1".into(),
        client_secret: "s&cret=1".into(),
        member_cid: Some("0123456789abcdef0123456789abcdef".into()),
    };
    let expected = body.clone();
    let mock = server.oauth2_access_token(move |when, then| {
        when.body(&expected);
        then.created(&types::DomainAccessTokenResponseV1 {
            access_token: Some("tok".into()),
            expires_in: Some(1799),
            id_token: None,
            issued_token_type: None,
            refresh_token: None,
            scope: None,
            token_type: Some("bearer".into()),
        });
    });
    let client = falcon_users_api::Client::new(&server.base_url(), Hooks::none());
    let token = client
        .oauth2_access_token()
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(token.access_token.as_deref(), Some("tok"));
    mock.assert();
}

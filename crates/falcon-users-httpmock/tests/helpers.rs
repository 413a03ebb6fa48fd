//! The hand-written helpers answer what a client of the service would read.

use falcon_users_httpmock::envelope::{error_body, json_reply, page, reply_sequence};
use falcon_users_httpmock::httpmock::MockServer;
use falcon_users_httpmock::token::{TOKEN_PATH, token_mock, token_sequence};
use serde_json::{Value, json};

async fn post_token(server: &MockServer) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(TOKEN_PATH))
        .body("client_id=a&client_secret=b")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let region = response.headers().get("x-cs-region").cloned();
    let mut body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    if let Some(region) = region {
        body["_region"] = json!(region.to_str().unwrap());
    }
    (status, body)
}

#[tokio::test]
async fn the_token_mock_answers_a_bearer_token_with_the_service_lifetime_and_region() {
    let server = MockServer::start_async().await;
    let mock = token_mock(&server, "tok-1").await;
    let (status, body) = post_token(&server).await;
    assert_eq!(status, 201);
    assert_eq!(body["access_token"], "tok-1");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1799);
    assert_eq!(body["_region"], "us-1");
    mock.assert_async().await;
}

#[tokio::test]
async fn a_token_sequence_answers_in_order_then_repeats_the_last() {
    let server = MockServer::start_async().await;
    let mock = token_sequence(&server, &["first", "second"], 60).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let (status, body) = post_token(&server).await;
        assert_eq!(status, 201);
        assert_eq!(body["expires_in"], 60);
        got.push(body["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(got, ["first", "second", "second"]);
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn an_empty_reply_sequence_answers_500_instead_of_panicking() {
    let server = MockServer::start_async().await;
    let responder = reply_sequence(Vec::new());
    server
        .mock_async(|when, then| {
            when.path("/x");
            then.respond_with(responder);
        })
        .await;
    let response = reqwest::get(server.url("/x")).await.unwrap();
    assert_eq!(response.status().as_u16(), 500);
}

#[test]
fn envelopes_parse_as_the_generated_types() {
    use falcon_users_api::types::{MsaspecQueryResponse, MsaspecResponseFields};
    let query: MsaspecQueryResponse =
        serde_json::from_value(page(json!(["u-1"]), 100, 1, 101)).unwrap();
    let paging = query.meta.pagination.unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (100, 1, 101));
    assert_eq!(query.resources, Some(vec!["u-1".to_owned()]));
    let failed: MsaspecResponseFields =
        serde_json::from_value(error_body(404, "user not found")).unwrap();
    let errors = failed.errors.unwrap();
    assert_eq!(
        (errors[0].code, errors[0].message.as_str()),
        (404, "user not found")
    );
    // And a reply carries the body as JSON.
    let _ = json_reply(404, &error_body(404, "user not found"));
}

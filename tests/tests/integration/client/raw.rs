//! `Falcon::send_raw`: any operation of the table, or one the spec does not have yet, sent as
//! JSON through the same pipeline as a typed call (token, retries by read-only, errors, limits).

use falcon_users::api::{Auth, HttpMethod, Operation, operations};
use falcon_users::{Cid, Error};
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use serde_json::json;

/// An operation the generated client does not have: what a caller declares the day upstream
/// adds one.
static QUERY_THINGS: Operation = Operation {
    id: "queryThingsV1",
    name: "query_things_v1",
    method: HttpMethod::Get,
    path: "/user-management/queries/things/v1",
    read_only: true,
    success: 200,
    statuses: &[200, 400, 403, 429, 500],
    secret_response: false,
    auth: Auth::Bearer {
        scopes: &["user-management:read"],
    },
    replaced_by: None,
    sort_values: &[],
    sort_fields: &[],
    filter_fields: &[],
};

/// A change the table does not have: not read-only, so never sent twice after a 5xx.
static CREATE_THING: Operation = Operation {
    id: "createThingV1",
    name: "create_thing_v1",
    method: HttpMethod::Post,
    path: "/user-management/entities/things/v1",
    read_only: false,
    success: 201,
    statuses: &[201, 400, 500],
    secret_response: false,
    auth: Auth::Bearer {
        scopes: &["user-management:write"],
    },
    replaced_by: None,
    sort_values: &[],
    sort_fields: &[],
    filter_fields: &[],
};

#[tokio::test]
async fn a_table_operation_is_sent_with_the_token_and_its_query_and_answers_whole_json() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok-raw").await;
    let mut body = page(json!(["u-1", "u-2"]), 0, 2, 7);
    // A field the generated types do not know survives: that is the point of a raw call.
    body["meta"]["upstream_new_field"] = json!("kept");
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(QUERY_USERS_PATH)
                .header("authorization", "Bearer tok-raw")
                .query_param("limit", "2")
                .query_param("filter", "uid:*'a*'");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let answer = bounded(falcon.send_raw(
        &operations::QUERY_USER_V1,
        &[("limit", "2"), ("filter", "uid:*'a*'")],
        None,
    ))
    .await
    .unwrap();
    api.assert_async().await;
    assert_eq!(answer["resources"], json!(["u-1", "u-2"]));
    assert_eq!(answer["meta"]["upstream_new_field"], "kept");
    assert_eq!(falcon.stats().requests, 2, "the token and the call");
}

#[tokio::test]
async fn a_new_path_with_a_body_and_repeated_names_reaches_the_server() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let api = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/user-management/entities/things/v1")
                .query_param("ids", "a")
                .query_param("ids", "b")
                .header("content-type", "application/json")
                .json_body(json!({"name": "x"}));
            then.status(201);
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let answer = bounded(falcon.send_raw(
        &CREATE_THING,
        &[("ids", "a"), ("ids", "b")],
        Some(&json!({"name": "x"})),
    ))
    .await
    .unwrap();
    api.assert_async().await;
    assert_eq!(answer, serde_json::Value::Null, "an empty body is null");
}

#[tokio::test]
async fn retries_follow_the_operations_read_only_fact() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let responder = reply_sequence(vec![
        json_reply(503, &error_body(503, "unavailable")),
        json_reply(200, &page(json!(["t-1"]), 0, 100, 1)),
    ]);
    let reads = server
        .mock_async(move |when, then| {
            when.method(GET).path("/user-management/queries/things/v1");
            then.respond_with(responder);
        })
        .await;
    let writes = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/user-management/entities/things/v1");
            then.status(503)
                .header("content-type", "application/json")
                .json_body(error_body(503, "unavailable"));
        })
        .await;
    let (falcon, _clock) = with_clock(&server);

    let read = bounded(falcon.send_raw(&QUERY_THINGS, &[], None))
        .await
        .unwrap();
    assert_eq!(read["resources"], json!(["t-1"]));
    assert_eq!(
        reads.calls_async().await,
        2,
        "a read is sent again after a 503"
    );

    let err = bounded(falcon.send_raw(&CREATE_THING, &[], Some(&json!({}))))
        .await
        .unwrap_err();
    assert_eq!(
        writes.calls_async().await,
        1,
        "a change is never sent twice"
    );
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 503,
                operation: "createThingV1",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_error_status_is_the_error_a_typed_call_gets() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let _gone = server
        .mock_async(|when, then| {
            when.method(DELETE).path(USERS_PATH);
            then.status(404)
                .header("content-type", "application/json")
                .header("X-CS-TRACEID", "trace-raw-404")
                .json_body(error_body(404, "user not found"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(falcon.send_raw(
        &operations::DELETE_USER_V1,
        &[("user_uuid", "00000000-0000-0000-0000-000000000001")],
        None,
    ))
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("deleteUserV1"), "{message}");
    assert!(message.contains("user not found"), "{message}");
}

#[tokio::test]
async fn the_response_limit_holds_for_a_raw_call() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let big = "x".repeat(8 * 1024);
    let _api = server
        .mock_async(move |when, then| {
            when.method(GET).path("/user-management/queries/things/v1");
            then.status(200)
                .header("content-type", "application/json")
                .body(format!("{{\"resources\":[\"{big}\"]}}"));
        })
        .await;
    let falcon = builder(&server).max_response_bytes(4096).build().unwrap();
    let err = bounded(falcon.send_raw(&QUERY_THINGS, &[], None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_member_handle_sends_with_its_own_token() {
    let server = MockServer::start_async().await;
    let member: Cid = CID.parse().unwrap();
    let _parent_token = minted_for(&server, None, "tok-parent").await;
    let _member_token = minted_for(&server, Some(CID), "tok-member").await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/user-management/queries/things/v1")
                .header("authorization", "Bearer tok-member");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(page(json!([]), 0, 100, 0));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    bounded(
        falcon
            .for_member(&member)
            .send_raw(&QUERY_THINGS, &[], None),
    )
    .await
    .unwrap();
    api.assert_async().await;
}

#[tokio::test]
async fn token_operations_are_refused_before_any_request() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server).await;
    let falcon = builder(&server).build().unwrap();
    for op in [
        &operations::OAUTH2_ACCESS_TOKEN,
        &operations::OAUTH2_REVOKE_TOKEN,
    ] {
        let err = bounded(falcon.send_raw(op, &[], None)).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidInput {
                    field: "operation",
                    ..
                }
            ),
            "{op}: {err:?}"
        );
        assert!(err.to_string().contains("token operation"), "{err}");
    }
    assert_eq!(any.calls_async().await, 0);
}

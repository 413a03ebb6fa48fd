//! Wire format of Flight Control discovery (`queryChildren`, `getChildrenV2`) and
//! `Falcon::children`: the largest page, details in batches of 500, the scope's 403.

use falcon_users::{CHILDREN_BATCH, CHILDREN_PAGE, Error};
use falcon_users_api::operations::{GET_CHILDREN_V2, QUERY_CHILDREN};
use falcon_users_api::types::{MsaspecIdsRequest, QueryChildrenSort};
use falcon_users_httpmock::envelope::{meta, paged_meta};
use falcon_users_tests::fixtures::service_meta;
use falcon_users_tests::mock::{builder, token_mock, with_resources};
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::{Value, json};

const PARENT: &str = "fedcba9876543210fedcba9876543210";

/// The `n`th child CID.
fn cid(n: usize) -> String {
    format!("{n:032x}")
}

/// `getChildrenV2`'s item for `cid`.
fn link(cid: &str) -> Value {
    json!({"child_cid": cid, "child_of": PARENT, "checksum": "7C",
           "name": format!("Customer {cid}"), "status": "active"})
}

#[tokio::test]
async fn query_children_and_get_children_v2() {
    assert_eq!(QUERY_CHILDREN.path, "/mssp/queries/children/v1");
    assert_eq!(GET_CHILDREN_V2.path, "/mssp/entities/children/GET/v2");
    let server = MockServer::start_async().await;
    let query = server
        .mock_async(|when, then| {
            let when = exact_query(
                when.method(Method::GET).path(QUERY_CHILDREN.path),
                &[
                    ("filter", "cid:'0a'"),
                    ("limit", "7"),
                    ("offset", "3"),
                    ("sort", "last_modified_timestamp|asc"),
                ],
            );
            no_body(when);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(meta("t"), 3, 7, 4),
                    json!([cid(10)]),
                ));
        })
        .await;
    let details = server
        .mock_async(|when, then| {
            json_request(
                when.method(Method::POST).path(GET_CHILDREN_V2.path),
                json!({"ids": [cid(10)]}),
            );
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), json!([link(&cid(10))])));
        })
        .await;
    let api = api_client(&server);
    let page = api
        .query_children()
        .filter("cid:'0a'")
        .limit(7)
        .offset(3)
        .sort(QueryChildrenSort::LastModifiedTimestampAsc)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.resources.unwrap(), [cid(10)]);
    assert_eq!(page.meta.pagination.unwrap().total, 4);
    let links = api
        .get_children_v2()
        .body(MsaspecIdsRequest { ids: vec![cid(10)] })
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap();
    assert_eq!(links[0].child_cid, cid(10));
    assert_eq!(links[0].child_of, PARENT);
    assert_eq!(
        links[0].name.as_deref(),
        Some(format!("Customer {}", cid(10)).as_str())
    );
    query.assert_async().await;
    details.assert_async().await;
}

/// 5,002 children: two pages of the largest size (5,000), then details in eleven batches of at
/// most 500, each asked once, in the order listed.
#[tokio::test]
async fn children_pages_at_the_largest_size_and_fetches_details_in_batches_of_500() {
    assert_eq!((CHILDREN_PAGE, CHILDREN_BATCH), (5000, 500));
    let all: Vec<String> = (0..5002).map(cid).collect();
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let mut pages = Vec::new();
    for (offset, ids) in [(0, &all[..5000]), (5000, &all[5000..])] {
        let ids = json!(ids);
        pages.push(
            server
                .mock_async(move |when, then| {
                    let when = exact_query(
                        when.method(Method::GET)
                            .path(QUERY_CHILDREN.path)
                            .header("authorization", "Bearer tok"),
                        &[("offset", &offset.to_string()), ("limit", "5000")],
                    );
                    no_body(when);
                    then.status(200)
                        .header("content-type", "application/json")
                        .json_body(with_resources(
                            paged_meta(meta("t"), offset, 5000, 5002),
                            ids,
                        ));
                })
                .await,
        );
    }
    let mut batches = Vec::new();
    for chunk in all.chunks(500) {
        let links: Vec<Value> = chunk.iter().map(|c| link(c)).collect();
        let ids = json!({"ids": chunk});
        batches.push(
            server
                .mock_async(move |when, then| {
                    json_request(when.method(Method::POST).path(GET_CHILDREN_V2.path), ids);
                    then.status(200)
                        .header("content-type", "application/json")
                        .json_body(with_resources(service_meta(), json!(links)));
                })
                .await,
        );
    }
    let children = builder(&server).build().unwrap().children().await.unwrap();
    let got: Vec<&str> = children.iter().map(|c| c.cid.as_str()).collect();
    assert_eq!(got, all);
    assert_eq!(children[0].parent.as_str(), PARENT);
    assert_eq!(children[0].status.as_deref(), Some("active"));
    assert_eq!(
        children[0].with_checksum(),
        format!("{}-7C", cid(0).to_uppercase())
    );
    for mock in pages.iter().chain(&batches) {
        assert_eq!(mock.calls_async().await, 1);
    }
    assert_eq!(batches.len(), 11);
}

/// No children: one query, no details request.
#[tokio::test]
async fn no_children_sends_no_details_request() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let query = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(QUERY_CHILDREN.path);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(paged_meta(meta("t"), 0, 5000, 0), json!([])));
        })
        .await;
    let details = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CHILDREN_V2.path);
            then.status(500);
        })
        .await;
    let children = builder(&server).build().unwrap().children().await.unwrap();
    assert!(children.is_empty());
    assert_eq!(query.calls_async().await, 1);
    assert_eq!(details.calls_async().await, 0);
}

/// A 403 names the console scope, the scope id, the operation and the service's words; other
/// failures are left as they are.
#[tokio::test]
async fn a_403_names_the_flight_control_read_scope() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(QUERY_CHILDREN.path);
            then.status(403)
                .header("content-type", "application/json")
                .header("X-CS-TRACEID", "trace-403")
                .json_body(json!({"meta": meta("trace-403"), "errors": [
                    {"code": 403, "message": "access denied, authorization failed"}]}));
        })
        .await;
    let err = builder(&server)
        .build()
        .unwrap()
        .children()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(403),
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    for needed in [
        "\"Flight Control: Read\"",
        "(mssp:read)",
        "queryChildren",
        "access denied, authorization failed",
        "trace-403",
    ] {
        assert!(message.contains(needed), "{needed} not in {message}");
    }
}

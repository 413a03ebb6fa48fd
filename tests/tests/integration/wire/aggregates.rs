//! Wire format of the user aggregate operations.

use falcon_users_api::types;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

fn requests() -> Vec<types::MsaAggregateQueryRequest> {
    serde_json::from_value(json!([aggregate_request(), aggregate_request_date()])).unwrap()
}

fn assert_results(body: &types::FlightcontrolapiAggregatesResponse) {
    let results = body.resources.as_ref().expect("resources");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].name, "status");
    assert_eq!(results[0].sum_other_doc_count, Some(0));
    let buckets = &results[0].buckets;
    assert_eq!(buckets.len(), 3);
    assert_eq!(buckets[1].key_as_string.as_deref(), Some("pending"));
    assert_eq!(buckets[1].count, 7);
    assert_eq!(results[1].name, "created");
    assert_eq!(results[1].buckets[1].value, Some(1_746_057_600_000.0));
}

#[tokio::test]
async fn aggregate_users_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/aggregates/users/v1");
            no_query(json_request(
                when,
                json!([aggregate_request(), aggregate_request_date()]),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), aggregation_results()));
        })
        .await;

    let resp = api_client(&server)
        .aggregate_users_v1()
        .body(requests())
        .send()
        .await
        .expect("aggregateUsersV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_results(&body);
    assert_eq!(body.meta.trace_id, TRACE_ID);
}

#[tokio::test]
async fn aggregate_users_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/aggregates/users/v2");
            let when = json_request(when, json!([aggregate_request(), aggregate_request_date()]));
            exact_query(when, &[("user_type", "internal")]);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), aggregation_results()));
        })
        .await;

    let resp = api_client(&server)
        .aggregate_users_v2()
        .user_type(types::AggregateUsersV2UserType::Internal)
        .body(requests())
        .send()
        .await
        .expect("aggregateUsersV2");
    mock.assert_async().await;
    assert_results(&resp.into_inner());
}

/// Terms buckets carry the bucket key in `label` as a plain JSON string (or number); upstream
/// types it as an object, our spec accepts any value (spec/CURATION.md, departure 7).
#[test]
fn aggregate_bucket_with_string_label_decodes() {
    let body = with_resources(
        service_meta(),
        json!([{
            "name": "status",
            "buckets": [
                {"label": "active", "count": 118},
                {"label": "pending", "count": 7}
            ]
        }]),
    );
    let decoded: types::FlightcontrolapiAggregatesResponse =
        serde_json::from_value(body).expect("string labels decode");
    let buckets = &decoded.resources.unwrap()[0].buckets;
    assert_eq!(buckets[0].count, 118);
}

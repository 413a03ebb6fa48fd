//! Wire format of the sensor-download CCID lookup (`GetSensorInstallersCCIDByQuery`), through the
//! generated client and `Falcon::own_cid`.

use falcon_users::Error;
use falcon_users_api::operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY;
use falcon_users_tests::fixtures::service_meta;
use falcon_users_tests::mock::{builder, token_mock, with_resources};
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::{Value, json};

const PATH: &str = "/sensors/queries/installers/ccid/v1";
const CCID: &str = "0123456789ABCDEF0123456789ABCDEF-7C";

/// A server whose CCID lookup (a GET with no query and no body) answers `resources`.
async fn server_answering(resources: Value) -> MockServer {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(move |when, then| {
            let when = when
                .method(Method::GET)
                .path(PATH)
                .header("authorization", "Bearer tok");
            no_body(no_query(when));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), resources));
        })
        .await;
    server
}

#[tokio::test]
async fn get_sensor_installers_ccid_by_query() {
    assert_eq!(GET_SENSOR_INSTALLERS_CCID_BY_QUERY.path, PATH);
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            no_body(no_query(when.method(Method::GET).path(PATH)));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), json!([CCID])));
        })
        .await;
    let answer = api_client(&server)
        .get_sensor_installers_ccid_by_query()
        .send()
        .await
        .expect("GetSensorInstallersCCIDByQuery");
    mock.assert_async().await;
    assert_eq!(answer.into_inner().resources.unwrap(), [CCID]);
}

#[tokio::test]
async fn own_cid_reads_the_console_form() {
    let server = server_answering(json!([CCID])).await;
    let own = builder(&server).build().unwrap().own_cid().await.unwrap();
    assert_eq!(own.cid.as_str(), "0123456789abcdef0123456789abcdef");
    assert_eq!(own.with_checksum, CCID);
}

/// An answer that is not one CID is a decoding error naming the operation, never a panic or a
/// made-up CID.
#[tokio::test]
async fn own_cid_refuses_an_answer_that_is_not_one_cid() {
    for (resources, says) in [
        (json!([]), "expected one CID, got 0"),
        (json!([CCID, CCID]), "expected one CID, got 2"),
        (json!(["not-a-cid"]), "the service's CID is not one"),
    ] {
        let server = server_answering(resources.clone()).await;
        let err = builder(&server)
            .build()
            .unwrap()
            .own_cid()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode { operation, .. } if *operation == "GetSensorInstallersCCIDByQuery"),
            "{resources}: {err:?}"
        );
        assert!(err.to_string().contains(says), "{resources}: {err}");
    }
}

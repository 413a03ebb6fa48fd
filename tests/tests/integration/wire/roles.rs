//! Wire format of the role catalogue operations.
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use falcon_users_api::types;
use falcon_users_httpmock::MockServerExt;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

#[tokio::test]
async fn queries_roles_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/queries/roles/v1");
            no_body(exact_query(
                when,
                &[("cid", CID), ("user_uuid", USER_1), ("action", "grant")],
            ));
            // queriesRolesV1 has no paging: no pagination block.
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!(["falcon_console_guest", "falconhost_read_only", CUSTOM_ROLE]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .queries_roles_v1()
        .cid(CID)
        .user_uuid(USER_1)
        .action("grant")
        .send()
        .await
        .expect("queriesRolesV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(
        body.resources.unwrap(),
        ["falcon_console_guest", "falconhost_read_only", CUSTOM_ROLE]
    );
    assert!(body.meta.pagination.is_none());
}

#[tokio::test]
async fn entities_roles_v1_typed_helpers() {
    let server = MockServer::start_async().await;
    let body: types::FlightcontrolapiGetRolesResponse =
        serde_json::from_value(with_resources(service_meta(), roles())).unwrap();
    let ids = vec![
        "falcon_console_guest".to_owned(),
        "falcon_administrator".to_owned(),
        CUSTOM_ROLE.to_owned(),
    ];
    let mock = server.legacy_entities_roles_v1(|when, then| {
        // The array setter matches each element as its own `ids=` key.
        let when = when.cid(CID).ids(&ids);
        no_body(exact_query(
            when.into_inner(),
            &[
                ("cid", CID),
                ("ids", "falcon_console_guest"),
                ("ids", "falcon_administrator"),
                ("ids", CUSTOM_ROLE),
            ],
        ))
        .query_param_count("^ids$", ".*", 3);
        then.ok(&body);
    });

    let resp = api_client(&server)
        .legacy_entities_roles_v1()
        .cid(CID)
        .ids(ids.clone())
        .send()
        .await
        .expect("entitiesRolesV1");
    mock.assert_async().await;
    let roles = resp.into_inner().resources.unwrap();
    assert_eq!(roles.len(), 3);
    assert_eq!(roles[1].id, "falcon_administrator");
    assert_eq!(roles[1].display_name, "Falcon Administrator");
    assert!(roles[0].is_global);
    assert_eq!(roles[2].cid.as_deref(), Some(CID));
    assert!(!roles[2].is_global);
    assert_eq!(
        roles[2].description,
        json!("Custom role for first-line analysts.")
    );
}

#[tokio::test]
async fn entities_roles_get_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/roles/GET/v2");
            let when = json_request(
                when,
                json!({"ids": ["falcon_console_guest", "falcon_administrator", CUSTOM_ROLE]}),
            );
            exact_query(when, &[("cid", CHILD_CID)]);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), roles()));
        })
        .await;

    let resp = api_client(&server)
        .entities_roles_get_v2()
        .cid(CHILD_CID)
        .body(types::MsaspecIdsRequest {
            ids: vec![
                "falcon_console_guest".to_owned(),
                "falcon_administrator".to_owned(),
                CUSTOM_ROLE.to_owned(),
            ],
        })
        .send()
        .await
        .expect("entitiesRolesGETV2");
    mock.assert_async().await;
    let roles = resp.into_inner().resources.unwrap();
    assert_eq!(
        roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["falcon_console_guest", "falcon_administrator", CUSTOM_ROLE]
    );
    assert_eq!(roles[2].display_name, "SOC Tier 1");
}

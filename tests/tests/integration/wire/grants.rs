//! Wire format of the role-grant operations (combined user roles, grant/revoke actions).
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use falcon_users_api::types;
use falcon_users_httpmock::MockServerExt;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

#[tokio::test]
async fn legacy_combined_user_roles_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/combined/user-roles/v1");
            no_body(exact_query(
                when,
                &[
                    ("user_uuid", USER_1),
                    ("cid", CID),
                    ("direct_only", "false"),
                    ("filter", "role_id:!'falcon_console_guest'"),
                    ("offset", "100"),
                    ("limit", "3"),
                    ("sort", "role_name|desc"),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 100, 3, 103),
                    combined_roles_v1(),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_combined_user_roles_v1()
        .user_uuid(USER_1)
        .cid(CID)
        .direct_only(false)
        .filter("role_id:!'falcon_console_guest'")
        .offset(100u64)
        .limit(nz(3))
        .sort(types::LegacyCombinedUserRolesV1Sort::RoleNameDesc)
        .send()
        .await
        .expect("combinedUserRolesV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    let grants = body.resources.unwrap();
    assert_eq!(grants.len(), 3);
    assert_eq!(grants[1].role_id, "falcon_console_guest");
    assert_eq!(grants[1].parent_cid.as_deref(), Some(CID));
    assert_eq!(grants[1].grant_type.as_deref(), Some("cid_group"));
    assert_eq!(grants[1].user_group_name.as_deref(), Some("SOC"));
    assert_eq!(grants[2].role_id, CUSTOM_ROLE);
    assert_eq!(body.meta.pagination.unwrap().total, 103);
}

#[tokio::test]
async fn combined_user_roles_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/combined/user-roles/v2");
            no_body(exact_query(
                when,
                &[
                    ("user_uuid", USER_2),
                    ("cid", CID),
                    ("direct_only", "true"),
                    ("filter", "expires_at:>'2025-06-01T00:00:00Z'"),
                    ("offset", "0"),
                    ("limit", "100"),
                    ("sort", "expires_at|asc"),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 0, 100, 3),
                    combined_roles_v2(),
                ));
        })
        .await;

    let resp = api_client(&server)
        .combined_user_roles_v2()
        .user_uuid(USER_2)
        .cid(CID)
        .direct_only(true)
        .filter("expires_at:>'2025-06-01T00:00:00Z'")
        .offset(0u64)
        .limit(nz(100))
        .sort(types::CombinedUserRolesV2Sort::ExpiresAtAsc)
        .send()
        .await
        .expect("CombinedUserRolesV2");
    mock.assert_async().await;
    let body = resp.into_inner();
    let grants = body.resources.unwrap();
    assert_eq!(
        grants[1].expires_at.as_deref(),
        Some("2025-06-09T12:00:00Z")
    );
    assert_eq!(grants[2].user_type.as_deref(), Some("external"));
    assert_eq!(grants[2].cid_group_name.as_deref(), Some("EMEA members"));
    let pagination = body.meta.pagination.unwrap();
    assert_eq!(
        (pagination.offset, pagination.limit, pagination.total),
        (0, 100, 3)
    );
}

#[tokio::test]
async fn combined_user_roles_v3() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/combined/user-roles/v3");
            no_body(exact_query(
                when,
                &[
                    ("user_uuid", USER_2),
                    ("cid", CHILD_CID),
                    ("direct_only", "false"),
                    ("filter", "grant_type:'cid_group'"),
                    ("offset", "3"),
                    ("limit", "3"),
                    ("sort", "cid|asc"),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 3, 3, 9),
                    combined_roles_v2(),
                ));
        })
        .await;

    let resp = api_client(&server)
        .combined_user_roles_v3()
        .user_uuid(USER_2)
        .cid(CHILD_CID)
        .direct_only(false)
        .filter("grant_type:'cid_group'")
        .offset(3u64)
        .limit(nz(3))
        .sort(types::CombinedUserRolesV3Sort::CidAsc)
        .send()
        .await
        .expect("CombinedUserRolesV3");
    mock.assert_async().await;
    let body = resp.into_inner();
    let grants = body.resources.unwrap();
    assert_eq!(grants.len(), 3);
    assert_eq!(grants[0].role_name.as_deref(), Some("Falcon Console Guest"));
    assert_eq!(grants[2].parent_cid.as_deref(), Some(CID));
    assert_eq!(body.meta.pagination.unwrap().offset, 3);
}

#[tokio::test]
async fn user_roles_action_v1_typed_helpers() {
    let server = MockServer::start_async().await;
    let grant = types::FlightcontrolapiGrantInput {
        action: Some("grant".to_owned()),
        cid: Some(CID.to_owned()),
        expires_at: None,
        role_ids: vec!["falcon_console_guest".to_owned(), CUSTOM_ROLE.to_owned()],
        uuid: Some(USER_2.to_owned()),
    };
    let body: types::MsaspecResponseFields =
        serde_json::from_value(meta_only(write_meta(service_meta(), 2))).unwrap();
    let mock = server.user_roles_action_v1(|when, then| {
        let when = when.body(&grant);
        no_query(json_request(
            when.into_inner(),
            json!({
                "action": "grant",
                "cid": CID,
                "role_ids": ["falcon_console_guest", CUSTOM_ROLE],
                "uuid": USER_2
            }),
        ));
        then.ok(&body);
    });

    let resp = api_client(&server)
        .user_roles_action_v1()
        .body(grant.clone())
        .send()
        .await
        .expect("userRolesActionV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.meta.writes.unwrap().resources_affected, 2);
    assert_eq!(body.meta.trace_id, TRACE_ID);
}

#[tokio::test]
async fn user_roles_action_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/user-role-actions/v2");
            no_query(json_request(
                when,
                json!({
                    "action": "grant",
                    "cid": CID,
                    "expires_at": "2025-06-10T12:00:00Z",
                    "role_ids": ["falconhost_read_only"],
                    "uuid": USER_3
                }),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(write_meta(service_meta(), 1)));
        })
        .await;

    let expires = "2025-06-10T12:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let resp = api_client(&server)
        .user_roles_action_v2()
        .body(types::DomainActionUserRolesRequestV2 {
            action: Some("grant".to_owned()),
            cid: Some(CID.to_owned()),
            expires_at: Some(expires),
            role_ids: vec!["falconhost_read_only".to_owned()],
            uuid: Some(USER_3.to_owned()),
        })
        .send()
        .await
        .expect("userRolesActionV2");
    mock.assert_async().await;
    assert_eq!(resp.into_inner().meta.writes.unwrap().resources_affected, 1);
}

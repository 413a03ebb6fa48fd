//! Wire format of the permission, invitation and allowed-action operations.

use falcon_users_api::types;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

#[tokio::test]
async fn entities_permission_groups_get_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/permission-groups/GET/v1");
            no_query(json_request(
                when,
                json!({"ids": ["pg_hosts", "pg_users", "pg_rtr"]}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), permission_groups()));
        })
        .await;

    let resp = api_client(&server)
        .entities_permission_groups_get_v1()
        .body(types::MsaspecIdsRequest {
            ids: vec!["pg_hosts".into(), "pg_users".into(), "pg_rtr".into()],
        })
        .send()
        .await
        .expect("entitiesPermissionGroupsGETV1");
    mock.assert_async().await;
    let groups = resp.into_inner().resources.unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[1].id, "pg_users");
    assert_eq!(groups[1].display_name, "Users and roles");
    assert_eq!(groups[2].type_, "falcon");
}

#[tokio::test]
async fn entities_permissions_get_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/permissions/GET/v1");
            no_query(json_request(
                when,
                json!({"ids": ["hosts:read", "hosts:write", "user-management:read"]}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), permissions()));
        })
        .await;

    let resp = api_client(&server)
        .entities_permissions_get_v1()
        .body_map(|b| {
            b.ids(vec![
                "hosts:read".to_owned(),
                "hosts:write".to_owned(),
                "user-management:read".to_owned(),
            ])
        })
        .send()
        .await
        .expect("entitiesPermissionsGETV1");
    mock.assert_async().await;
    let perms = resp.into_inner().resources.unwrap();
    assert_eq!(perms[1].id, "hosts:write");
    assert_eq!(perms[1].depends_on, ["hosts:read"]);
    assert_eq!(perms[0].is_required_for, ["hosts:write"]);
    assert_eq!(perms[2].permission_group_id, "pg_users");
    assert_eq!(perms[2].type_, "read");
}

#[tokio::test]
async fn entities_role_permissions_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/entities/role-permissions/v1");
            no_body(exact_query(when, &[("id", CUSTOM_ROLE)]));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!(["hosts:read", "hosts:write", "user-management:read"]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .entities_role_permissions_v1()
        .id(CUSTOM_ROLE)
        .send()
        .await
        .expect("entitiesRolePermissionsV1");
    mock.assert_async().await;
    assert_eq!(
        resp.into_inner().resources.unwrap(),
        ["hosts:read", "hosts:write", "user-management:read"]
    );
}

#[tokio::test]
async fn queries_permissions_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/queries/permissions/v1");
            no_body(exact_query(when, &[("limit", "3"), ("offset", "6")]));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 6, 3, 212),
                    json!(["hosts:read", "hosts:write", "user-management:read"]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .queries_permissions_v1()
        .limit(3i64)
        .offset(6i64)
        .send()
        .await
        .expect("queriesPermissionsV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.resources.unwrap()[2], "user-management:read");
    assert_eq!(body.meta.pagination.unwrap().total, 212);
}

#[tokio::test]
async fn query_user_invitations_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/queries/user-invitations/v1");
            no_body(exact_query(
                when,
                &[
                    ("filter", "status:'pending'"),
                    ("sort", "created_at|desc"),
                    ("offset", "0"),
                    ("limit", "50"),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 0, 50, 3),
                    json!(["inv-7c1e9a4b2d", "inv-3f52d08e61", "inv-a9b8c7d6e5"]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .query_user_invitations_v1()
        .filter("status:'pending'")
        .sort("created_at|desc")
        .offset(0u64)
        .limit(nz(50))
        .send()
        .await
        .expect("queryUserInvitationsV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.resources.unwrap()[1], "inv-3f52d08e61");
    let pagination = body.meta.pagination.unwrap();
    assert_eq!(
        (pagination.offset, pagination.limit, pagination.total),
        (0, 50, 3)
    );
}

#[tokio::test]
async fn get_user_invitations_get_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/user-invitations/GET/v1");
            no_query(json_request(
                when,
                json!({"ids": ["inv-7c1e9a4b2d", "inv-3f52d08e61", "inv-a9b8c7d6e5"]}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), invitations()));
        })
        .await;

    let resp = api_client(&server)
        .get_user_invitations_get_v1()
        .body(types::MsaspecIdsRequest {
            ids: vec![
                "inv-7c1e9a4b2d".into(),
                "inv-3f52d08e61".into(),
                "inv-a9b8c7d6e5".into(),
            ],
        })
        .send()
        .await
        .expect("getUserInvitationsGETV1");
    mock.assert_async().await;
    let invitations = resp.into_inner().resources.unwrap();
    assert_eq!(invitations.len(), 3);
    assert_eq!(invitations[0].status, "pending");
    assert_eq!(invitations[0].target_cid, CHILD_CID);
    assert_eq!(
        invitations[1].accepted_at.unwrap().to_rfc3339(),
        "2025-04-02T09:30:00+00:00"
    );
    assert_eq!(invitations[2].canceled_by.as_deref(), Some(USER_3));
    assert_eq!(
        invitations[0].updated_at.timestamp_subsec_millis(),
        481,
        "fractional seconds survive"
    );
}

#[tokio::test]
async fn user_allowed_actions_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/user-allowed-actions/v1");
            no_query(json_request(
                when,
                json!({"allowed_actions": [
                    {"action": "grant", "cid": CID, "uuid": USER_1,
                     "resource_ids": ["falcon_console_guest", CUSTOM_ROLE]},
                    {"action": "delete", "cid": CHILD_CID, "uuid": USER_3}
                ]}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), allowed_actions()));
        })
        .await;

    let resp = api_client(&server)
        .user_allowed_actions_v1()
        .body(types::DomainActionValidationRequest {
            allowed_actions: vec![
                types::DomainAllowedAction {
                    action: "grant".into(),
                    cid: CID.into(),
                    uuid: USER_1.into(),
                    resource_ids: vec!["falcon_console_guest".into(), CUSTOM_ROLE.into()],
                },
                types::DomainAllowedAction {
                    action: "delete".into(),
                    cid: CHILD_CID.into(),
                    uuid: USER_3.into(),
                    resource_ids: vec![],
                },
            ],
        })
        .send()
        .await
        .expect("userAllowedActionsV1");
    mock.assert_async().await;
    let allowed = resp.into_inner().resources.unwrap();
    assert_eq!(allowed.len(), 3);
    assert_eq!(allowed[1].action, "revoke");
    assert_eq!(allowed[1].resource_ids, ["falcon_administrator"]);
    assert!(allowed[2].resource_ids.is_empty());
}

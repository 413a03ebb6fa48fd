//! Wire format of the deprecated `/users/...` and `/user-roles/...` operations.
// These tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use falcon_users_api::types;
use falcon_users_httpmock::MockServerExt;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

#[tokio::test]
async fn get_roles() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-roles/entities/user-roles/v1");
            no_body(exact_query(
                when,
                &[
                    ("ids", "falcon_console_guest"),
                    ("ids", "falconhost_read_only"),
                    ("ids", CUSTOM_ROLE),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), user_roles_legacy()));
        })
        .await;

    let resp = api_client(&server)
        .legacy_get_roles()
        .ids(vec![
            "falcon_console_guest".to_owned(),
            "falconhost_read_only".to_owned(),
            CUSTOM_ROLE.to_owned(),
        ])
        .send()
        .await
        .expect("GetRoles");
    mock.assert_async().await;
    let roles = resp.into_inner().resources.unwrap();
    assert_eq!(roles.len(), 3);
    assert_eq!(roles[1].id, "falconhost_read_only");
    assert_eq!(roles[1].display_name, "Falcon Read Only");
    assert_eq!(roles[2].cid.as_deref(), Some(CID));
    assert!(roles[0].cid.is_none());
}

#[tokio::test]
async fn legacy_grant_user_role_ids() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-roles/entities/user-roles/v1");
            let when = json_request(
                when,
                json!({"roleIds": ["falcon_console_guest", CUSTOM_ROLE]}),
            );
            exact_query(when, &[("user_uuid", USER_2)]);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    write_meta(service_meta(), 2),
                    json!(["falcon_console_guest", "falconhost_read_only", CUSTOM_ROLE]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_grant_user_role_ids()
        .user_uuid(USER_2)
        .body(types::DomainRoleIds {
            role_ids: vec!["falcon_console_guest".to_owned(), CUSTOM_ROLE.to_owned()],
        })
        .send()
        .await
        .expect("GrantUserRoleIds");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.resources.unwrap()[2], CUSTOM_ROLE);
    assert_eq!(body.meta.writes.unwrap().resources_affected, 2);
}

#[tokio::test]
async fn revoke_user_role_ids_typed_helpers() {
    let server = MockServer::start_async().await;
    let ids = vec!["falconhost_read_only".to_owned(), CUSTOM_ROLE.to_owned()];
    let body: types::ApiUserRoleIdsResponse = serde_json::from_value(with_resources(
        write_meta(service_meta(), 2),
        json!(["falcon_console_guest"]),
    ))
    .unwrap();
    let mock = server.legacy_revoke_user_role_ids(|when, then| {
        let when = when.user_uuid(USER_2).ids(&ids);
        no_body(exact_query(
            when.into_inner(),
            &[
                ("user_uuid", USER_2),
                ("ids", "falconhost_read_only"),
                ("ids", CUSTOM_ROLE),
            ],
        ));
        then.ok(&body);
    });

    let resp = api_client(&server)
        .legacy_revoke_user_role_ids()
        .user_uuid(USER_2)
        .ids(ids.clone())
        .send()
        .await
        .expect("RevokeUserRoleIds");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.resources.unwrap(), ["falcon_console_guest"]);
    assert_eq!(body.meta.writes.unwrap().resources_affected, 2);
}

#[tokio::test]
async fn legacy_get_available_role_ids() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-roles/queries/user-role-ids-by-cid/v1");
            no_body(no_query(when));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!([
                        "falcon_administrator",
                        "falcon_console_guest",
                        "falconhost_read_only",
                        CUSTOM_ROLE
                    ]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_get_available_role_ids()
        .send()
        .await
        .expect("GetAvailableRoleIds");
    mock.assert_async().await;
    let ids = resp.into_inner().resources.unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[3], CUSTOM_ROLE);
}

#[tokio::test]
async fn legacy_get_user_role_ids() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-roles/queries/user-role-ids-by-user-uuid/v1");
            no_body(exact_query(when, &[("user_uuid", USER_1)]));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!(["falcon_administrator", "falcon_console_guest", CUSTOM_ROLE]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_get_user_role_ids()
        .user_uuid(USER_1)
        .send()
        .await
        .expect("GetUserRoleIds");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.resources.unwrap()[0], "falcon_administrator");
    assert_eq!(body.errors, Some(vec![]));
}

#[tokio::test]
async fn retrieve_user() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when.method(Method::GET).path("/users/entities/users/v1");
            no_body(exact_query(
                when,
                &[("ids", USER_1), ("ids", USER_2), ("ids", USER_3)],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), user_metadata()));
        })
        .await;

    let resp = api_client(&server)
        .legacy_retrieve_user()
        .ids(vec![
            USER_1.to_owned(),
            USER_2.to_owned(),
            USER_3.to_owned(),
        ])
        .send()
        .await
        .expect("retrieveUser");
    mock.assert_async().await;
    let users = resp.into_inner().resources.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[1].uuid, USER_2);
    assert_eq!(users[1].customer, CID);
    assert_eq!(users[1].first_name.as_deref(), Some("Bob"));
    assert_eq!(users[2].status, None);
}

#[tokio::test]
async fn create_user() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when.method(Method::POST).path("/users/entities/users/v1");
            no_query(json_request(
                when,
                json!({"firstName": "Carmen", "lastName": "Ruiz", "uid": EMAIL_3}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    write_meta(service_meta(), 1),
                    json!([user_metadata()[2].clone()]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_create_user()
        .body(types::DomainUserCreateRequest {
            first_name: Some("Carmen".to_owned()),
            last_name: Some("Ruiz".to_owned()),
            password: None,
            uid: Some(EMAIL_3.to_owned()),
        })
        .send()
        .await
        .expect("CreateUser");
    mock.assert_async().await;
    let body = resp.into_inner();
    let user = &body.resources.unwrap()[0];
    assert_eq!(user.uuid, USER_3);
    assert_eq!(user.last_name.as_deref(), Some("Ruiz"));
    assert_eq!(body.meta.writes.unwrap().resources_affected, 1);
}

#[tokio::test]
async fn delete_user() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when.method(Method::DELETE).path("/users/entities/users/v1");
            no_body(exact_query(when, &[("user_uuid", USER_3)]));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(write_meta(service_meta(), 1)));
        })
        .await;

    let resp = api_client(&server)
        .legacy_delete_user()
        .user_uuid(USER_3)
        .send()
        .await
        .expect("DeleteUser");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.meta.writes.unwrap().resources_affected, 1);
    assert_eq!(body.meta.trace_id, TRACE_ID);
}

#[tokio::test]
async fn update_user() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when.method(Method::PATCH).path("/users/entities/users/v1");
            let when = json_request(when, json!({"firstName": "Robert"}));
            exact_query(when, &[("user_uuid", USER_2)]);
            let mut user = user_metadata()[1].clone();
            user["firstName"] = json!("Robert");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(write_meta(service_meta(), 1), json!([user])));
        })
        .await;

    let resp = api_client(&server)
        .legacy_update_user()
        .user_uuid(USER_2)
        .body(types::DomainUpdateUserFields {
            first_name: Some("Robert".to_owned()),
            last_name: None,
        })
        .send()
        .await
        .expect("UpdateUser");
    mock.assert_async().await;
    let user = &resp.into_inner().resources.unwrap()[0];
    assert_eq!(user.first_name.as_deref(), Some("Robert"));
    assert_eq!(user.last_name.as_deref(), Some("Okafor"));
}

#[tokio::test]
async fn legacy_retrieve_emails_by_cid() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/users/queries/emails-by-cid/v1");
            no_body(no_query(when));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!([EMAIL_1, EMAIL_2, EMAIL_3]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_retrieve_emails_by_cid()
        .send()
        .await
        .expect("RetrieveEmailsByCID");
    mock.assert_async().await;
    assert_eq!(
        resp.into_inner().resources.unwrap(),
        [EMAIL_1, EMAIL_2, EMAIL_3]
    );
}

#[tokio::test]
async fn retrieve_user_uuids_by_cid() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/users/queries/user-uuids-by-cid/v1");
            no_body(no_query(when));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    service_meta(),
                    json!([USER_1, USER_2, USER_3]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .legacy_retrieve_user_uuids_by_cid()
        .send()
        .await
        .expect("RetrieveUserUUIDsByCID");
    mock.assert_async().await;
    assert_eq!(resp.into_inner().resources.unwrap()[2], USER_3);
}

#[tokio::test]
async fn retrieve_user_uuid_typed_helpers() {
    let server = MockServer::start_async().await;
    let emails = vec![EMAIL_1.to_owned(), EMAIL_3.to_owned()];
    let body: types::MsaQueryResponse =
        serde_json::from_value(with_resources(service_meta(), json!([USER_1, USER_3]))).unwrap();
    let mock = server.legacy_retrieve_user_uuid(|when, then| {
        let when = when.uid(&emails);
        no_body(exact_query(
            when.into_inner(),
            &[("uid", EMAIL_1), ("uid", EMAIL_3)],
        ));
        then.ok(&body);
    });

    let resp = api_client(&server)
        .legacy_retrieve_user_uuid()
        .uid(emails.clone())
        .send()
        .await
        .expect("RetrieveUserUUID");
    mock.assert_async().await;
    assert_eq!(resp.into_inner().resources.unwrap(), [USER_1, USER_3]);
}

//! The service's answers the swagger does not state, read by the library from a scripted server:
//! a partial lookup (207) keeps its items and names the ids it did not find, the 400
//! `invalid user uuid` form is "not found", the 400 `invalid roleID` form names the role and the
//! CID.

use falcon_users::{Cid, Error, GrantOptions, UserRef, UserUpdate};
use falcon_users_tests::mock::*;
use httpmock::Method::{DELETE, PATCH, POST};
use httpmock::MockServer;
use serde_json::json;

const USER: &str = "5a1e0000000000000000000000000001";
const GONE: &str = "5a1e0000000000000000000000000002";
const CUSTOM_ROLE: &str = "fedcba9876543210fedcba9876543210";

#[tokio::test]
async fn a_multi_status_lookup_keeps_the_users_found_and_names_the_rest() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(RETRIEVE_USERS_PATH);
            then.status(207)
                .header("content-type", "application/json")
                .json_body(entities(
                    json!([user(USER)]),
                    json!([{"code": 404, "id": GONE, "message": format!("user {GONE} not found")}]),
                ));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let found = falcon.get_users(vec![USER, GONE]).await.unwrap();
    assert_eq!(found.resources.len(), 1);
    assert_eq!(found.resources[0].uuid.as_deref(), Some(USER));
    assert_eq!(found.not_found().collect::<Vec<_>>(), [GONE]);
    assert_eq!(found.errors[0].message, format!("user {GONE} not found"));
    // The same answer read through `find_user`: the user asked for is there.
    let user = falcon.find_user(UserRef::Uuid(USER.into())).await.unwrap();
    assert_eq!(user.and_then(|u| u.uuid).as_deref(), Some(USER));
}

#[tokio::test]
async fn the_invalid_user_uuid_answer_is_not_found() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let gone = format!("invalid user uuid='{GONE}' specified");
    server
        .mock_async(|when, then| {
            when.method(PATCH).path(USERS_PATH);
            then.status(400)
                .header("content-type", "application/json")
                .json_body(error_body(400, &gone));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(DELETE).path(USERS_PATH);
            then.status(400)
                .header("content-type", "application/json")
                .json_body(error_body(400, "user_uuid is required"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let renamed = falcon
        .update_user(
            UserRef::Uuid(GONE.into()),
            UserUpdate::new().last_name("Lee"),
        )
        .await
        .unwrap_err();
    assert!(renamed.is_not_found(), "{renamed:?}");
    assert!(renamed.to_string().contains(&gone), "{renamed}");
    // Another 400 is not a missing user.
    let deleted = falcon
        .delete_user(UserRef::Uuid(GONE.into()))
        .await
        .unwrap_err();
    assert_eq!(deleted.status(), Some(400));
    assert!(!deleted.is_not_found(), "{deleted:?}");
}

#[tokio::test]
async fn an_invalid_role_id_answer_names_the_role_and_the_cid() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/user-management/entities/user-role-actions/v1")
                .body_includes(CUSTOM_ROLE);
            then.status(400)
                .header("content-type", "application/json")
                .header("X-Cs-Traceid", "trace-role")
                .json_body(error_body(
                    400,
                    &format!("invalid roleID='{CUSTOM_ROLE}' specified"),
                ));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/user-management/entities/user-role-actions/v1")
                .body_includes("no_such_role");
            then.status(400)
                .header("content-type", "application/json")
                .json_body(error_body(400, "invalid roleID='no_such_role' specified"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let cid: Cid = CID.parse().unwrap();
    let custom = falcon
        .grant_roles(
            UserRef::Uuid(USER.into()),
            CUSTOM_ROLE,
            GrantOptions::new().cid(cid.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&custom, Error::RoleRefused { role, cid, .. } if role == CUSTOM_ROLE && cid == CID),
        "{custom:?}"
    );
    assert_eq!(custom.trace_id(), Some("trace-role"));
    assert_eq!(
        custom.to_string(),
        format!(
            "userRolesActionV1: role {CUSTOM_ROLE} cannot be granted in CID {CID}: it is a custom \
             role of another CID (custom roles can only be granted in the CID that made them, to \
             users homed there) [trace id trace-role]"
        )
    );
    let unknown = falcon
        .grant_roles(
            UserRef::Uuid(USER.into()),
            "no_such_role",
            GrantOptions::new().cid(cid),
        )
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        format!(
            "userRolesActionV1: role no_such_role cannot be granted in CID {CID}: the CID has no \
             role with this id [trace id trace-err]"
        )
    );
}

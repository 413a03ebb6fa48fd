//! Wire format of the Flight Control groups and links as `fleet` reads and changes them
//! (`Falcon::user_groups`, the `FleetApi` of `Falcon`): pages of 500, getters in batches of
//! 500, a member getter's not-found as no members, a write's 207 item errors as its failure,
//! a link dissolved by `deletedRoles` without role ids.

use falcon_users::workflows::flight_control::{FleetApi, GroupKind};
use falcon_users::{CHILDREN_BATCH, GROUPS_PAGE};
use falcon_users_api::operations::{
    ADD_USER_GROUP_MEMBERS, DELETED_ROLES, GET_USER_GROUP_MEMBERS_BY_ID_V2,
    GET_USER_GROUPS_BY_ID_V2, QUERY_USER_GROUPS,
};
use falcon_users_httpmock::envelope::{meta, paged_meta};
use falcon_users_tests::fixtures::service_meta;
use falcon_users_tests::mock::{builder, token_mock, with_resources};
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::{Value, json};

/// The `n`th user group's id.
fn group(n: usize) -> String {
    format!("{n:032x}")
}

/// `n` ids as a repeated `ids` query.
fn ids_query(ids: &[String]) -> Vec<(&'static str, &str)> {
    ids.iter().map(|id| ("ids", id.as_str())).collect()
}

/// 501 user groups: two query pages of 500, details and members in two batches each
/// (500 + 1). The first members batch answers 207 with group 0 not found; the second
/// answers 404: both mean no members.
#[tokio::test]
async fn user_groups_page_at_the_largest_size_and_read_in_batches_of_500() {
    assert_eq!((GROUPS_PAGE, CHILDREN_BATCH), (500, 500));
    let all: Vec<String> = (0..501).map(group).collect();
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let mut mocks = Vec::new();
    for (offset, ids) in [(0, &all[..500]), (500, &all[500..])] {
        let ids = json!(ids);
        mocks.push(
            server
                .mock_async(move |when, then| {
                    let when = exact_query(
                        when.method(Method::GET)
                            .path(QUERY_USER_GROUPS.path)
                            .header("authorization", "Bearer tok"),
                        &[("offset", &offset.to_string()), ("limit", "500")],
                    );
                    no_body(when);
                    then.status(200)
                        .header("content-type", "application/json")
                        .json_body(with_resources(paged_meta(meta("t"), offset, 500, 501), ids));
                })
                .await,
        );
    }
    for (n, chunk) in all.chunks(500).enumerate() {
        let details: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"user_group_id": id, "name": format!("group {id}"), "description": "d"}))
            .collect();
        let query = ids_query(chunk);
        mocks.push(
            server
                .mock_async(|when, then| {
                    no_body(exact_query(
                        when.method(Method::GET).path(GET_USER_GROUPS_BY_ID_V2.path),
                        &query,
                    ));
                    then.status(200)
                        .header("content-type", "application/json")
                        .json_body(with_resources(service_meta(), json!(details)));
                })
                .await,
        );
        let members: Vec<Value> = chunk
            .iter()
            .skip(1)
            .map(|id| json!({"user_group_id": id, "user_uuids": [format!("uuid-of-{id}")]}))
            .collect();
        mocks.push(
            server
                .mock_async(|when, then| {
                    no_body(exact_query(
                        when.method(Method::GET)
                            .path(GET_USER_GROUP_MEMBERS_BY_ID_V2.path),
                        &query,
                    ));
                    if n == 0 {
                        then.status(207)
                            .header("content-type", "application/json")
                            .json_body(json!({
                                "meta": service_meta(),
                                "resources": members,
                                "errors": [{"code": 404, "id": group(0), "message": "user group not found"}],
                            }));
                    } else {
                        then.status(404)
                            .header("content-type", "application/json")
                            .json_body(json!({
                                "meta": service_meta(),
                                "resources": [],
                                "errors": [{"code": 404, "message": "user group members not found"}],
                            }));
                    }
                })
                .await,
        );
    }
    let groups = builder(&server)
        .build()
        .unwrap()
        .user_groups()
        .await
        .unwrap();
    assert_eq!(groups.len(), 501);
    assert_eq!(groups[1].name, format!("group {}", group(1)));
    assert_eq!(groups[1].description, "d");
    assert_eq!(
        groups[1].members.iter().collect::<Vec<_>>(),
        [&format!("uuid-of-{}", group(1))]
    );
    assert!(groups[0].members.is_empty(), "207 not found: no members");
    assert!(groups[500].members.is_empty(), "404: no members");
    for mock in &mocks {
        assert_eq!(mock.calls_async().await, 1);
    }
}

/// A member change answered 207 with an item error fails with the service's words.
#[tokio::test]
async fn a_write_answered_207_with_item_errors_fails_with_them() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let add = server
        .mock_async(|when, then| {
            json_request(
                when.method(Method::POST).path(ADD_USER_GROUP_MEMBERS.path),
                json!({"resources": [{"user_group_id": group(1), "user_uuids": ["u-1"]}]}),
            );
            then.status(207)
                .header("content-type", "application/json")
                .json_body(json!({
                    "meta": service_meta(),
                    "resources": [],
                    "errors": [{"code": 400, "id": "u-1", "message": "invalid user uuid='u-1' specified"}],
                }));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let err = falcon
        .add_members(GroupKind::User, &group(1), &["u-1".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(207), "{err}");
    assert!(
        err.to_string()
            .contains("invalid user uuid='u-1' specified"),
        "{err}"
    );
    add.assert_async().await;
}

/// `deletedRoles` with role ids takes those off; without them it dissolves the link, so the
/// body then names no `role_ids` at all.
#[tokio::test]
async fn a_link_is_dissolved_by_deleted_roles_without_role_ids() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let mut mocks = Vec::new();
    for body in [
        json!({"resources": [{"user_group_id": "u", "cid_group_id": "c", "role_ids": ["a"]}]}),
        json!({"resources": [{"user_group_id": "u", "cid_group_id": "c"}]}),
    ] {
        mocks.push(
            server
                .mock_async(|when, then| {
                    json_request(when.method(Method::DELETE).path(DELETED_ROLES.path), body);
                    then.status(200)
                        .header("content-type", "application/json")
                        .json_body(with_resources(service_meta(), json!([])));
                })
                .await,
        );
    }
    let falcon = builder(&server).build().unwrap();
    falcon
        .remove_roles("u", "c", Some(&["a".to_owned()]))
        .await
        .unwrap();
    falcon.remove_roles("u", "c", None).await.unwrap();
    for mock in &mocks {
        assert_eq!(mock.calls_async().await, 1);
    }
}

//! Wire format of the user operations under `/user-management/.../users`.

use falcon_users_api::types;
use falcon_users_httpmock::MockServerExt;
use falcon_users_tests::fixtures::*;
use falcon_users_tests::wire::*;
use httpmock::{Method, MockServer};
use serde_json::json;

#[tokio::test]
async fn query_user_v1_typed_helpers() {
    let server = MockServer::start_async().await;
    let body: types::MsaspecQueryResponse = serde_json::from_value(with_resources(
        paged_meta(service_meta(), 200, 3, 203),
        json!([USER_1, USER_2, USER_3]),
    ))
    .unwrap();
    let filter = "status:'active'+first_name:*'A*'";
    let mock = server.query_user_v1(|when, then| {
        let when = when
            .filter(filter)
            .limit(nz(3))
            .offset(200)
            .sort(types::QueryUserV1Sort::LastLoginAtDesc);
        let when = no_body(exact_query(
            when.into_inner(),
            &[
                ("filter", filter),
                ("limit", "3"),
                ("offset", "200"),
                ("sort", "last_login_at|desc"),
            ],
        ));
        // `+` of FQL must be percent-encoded, or the service reads it as a space.
        raw_query(
            when,
            "filter=status%3A%27active%27%2Bfirst_name%3A*%27A*%27&limit=3&offset=200&sort=last_login_at%7Cdesc",
        );
        then.ok(&body);
    });

    let resp = api_client(&server)
        .query_user_v1()
        .filter(filter)
        .limit(nz(3))
        .offset(200u64)
        .sort(types::QueryUserV1Sort::LastLoginAtDesc)
        .send()
        .await
        .expect("queryUserV1");
    mock.assert_async().await;
    assert_eq!(resp.status(), 200);
    let page = resp.into_inner();
    assert_eq!(
        page.resources.as_deref(),
        Some(&[USER_1.to_owned(), USER_2.to_owned(), USER_3.to_owned()][..])
    );
    let pagination = page.meta.pagination.expect("pagination");
    assert_eq!(
        (pagination.offset, pagination.limit, pagination.total),
        (200, 3, 203)
    );
    assert_eq!(page.meta.trace_id, TRACE_ID);
}

#[tokio::test]
async fn query_user_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::GET)
                .path("/user-management/queries/users/v2");
            no_body(exact_query(
                when,
                &[
                    ("filter", "uid:*'*@example.com'"),
                    ("offset", "0"),
                    ("limit", "500"),
                    ("sort", "created_at|asc"),
                    ("user_type", "external"),
                ],
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    paged_meta(service_meta(), 0, 500, 2),
                    json!([USER_2, USER_3]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .query_user_v2()
        .filter("uid:*'*@example.com'")
        .offset(0u64)
        .limit(nz(500))
        .sort(types::QueryUserV2Sort::CreatedAtAsc)
        .user_type(types::QueryUserV2UserType::External)
        .send()
        .await
        .expect("queryUserV2");
    mock.assert_async().await;
    let page = resp.into_inner();
    assert_eq!(page.resources.as_ref().unwrap()[1], USER_3);
    assert_eq!(page.meta.pagination.unwrap().total, 2);
}

#[tokio::test]
async fn retrieve_users_get_v1_typed_helpers() {
    let server = MockServer::start_async().await;
    let body: types::FlightcontrolapiUserResponse =
        serde_json::from_value(with_resources(service_meta(), users_v1())).unwrap();
    let ids = vec![USER_1.to_owned(), USER_2.to_owned(), USER_3.to_owned()];
    let mock = server.retrieve_users_get_v1(|when, then| {
        let when = when.body(&types::MsaspecIdsRequest { ids: ids.clone() });
        let when = json_request(when.into_inner(), json!({"ids": [USER_1, USER_2, USER_3]}));
        no_query(when);
        then.ok(&body);
    });

    let resp = api_client(&server)
        .retrieve_users_get_v1()
        .body(types::MsaspecIdsRequest { ids })
        .send()
        .await
        .expect("retrieveUsersGETV1");
    mock.assert_async().await;
    let users = resp.into_inner().resources.expect("resources");
    assert_eq!(users.len(), 3);
    assert_eq!(users[1].uuid.as_deref(), Some(USER_2));
    assert_eq!(users[1].status.as_deref(), Some("pending"));
    assert_eq!(users[2].cid.as_deref(), Some(CHILD_CID));
    assert_eq!(users[2].factors, ["totp", "webauthn"]);
    assert_eq!(
        users[0].access_granted_at.unwrap().to_rfc3339(),
        "2023-02-14T09:21:07+00:00"
    );
}

#[tokio::test]
async fn retrieve_users_get_v2() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/users/GET/v2");
            no_query(json_request(when, json!({"ids": [USER_1, USER_3]})));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(service_meta(), users_v1()));
        })
        .await;

    let resp = api_client(&server)
        .retrieve_users_get_v2()
        .body_map(|b| b.ids(vec![USER_1.to_owned(), USER_3.to_owned()]))
        .send()
        .await
        .expect("retrieveUsersGETV2");
    mock.assert_async().await;
    let body = resp.into_inner();
    let users = body.resources.unwrap();
    assert_eq!(users[2].user_type.as_deref(), Some("external"));
    assert_eq!(users[0].uid.as_deref(), Some(EMAIL_1));
    assert_eq!(body.errors, Some(vec![]));
}

#[tokio::test]
async fn create_user_v1_typed_helpers() {
    let server = MockServer::start_async().await;
    let request = types::DomainCreateUserRequest {
        cid: Some(CID.to_owned()),
        first_name: Some("Bob".to_owned()),
        last_name: Some("Okafor".to_owned()),
        password: None,
        uid: Some(EMAIL_2.to_owned()),
    };
    let created = json!([users_v1()[1].clone()]);
    let body: types::FlightcontrolapiUserResponse =
        serde_json::from_value(with_resources(write_meta(service_meta(), 1), created)).unwrap();
    let mock = server.create_user_v1(|when, then| {
        let when = when.validate_only(true).body(&request);
        let when = json_request(
            when.into_inner(),
            json!({"cid": CID, "first_name": "Bob", "last_name": "Okafor", "uid": EMAIL_2}),
        );
        exact_query(when, &[("validate_only", "true")]);
        then.ok(&body);
    });

    let resp = api_client(&server)
        .create_user_v1()
        .validate_only(true)
        .body(request.clone())
        .send()
        .await
        .expect("createUserV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.meta.writes.unwrap().resources_affected, 1);
    let user = &body.resources.unwrap()[0];
    assert_eq!(user.uuid.as_deref(), Some(USER_2));
    assert_eq!(user.uid.as_deref(), Some(EMAIL_2));
}

#[tokio::test]
async fn delete_user_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::DELETE)
                .path("/user-management/entities/users/v1");
            no_body(exact_query(when, &[("user_uuid", USER_3)]));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(write_meta(service_meta(), 1)));
        })
        .await;

    let resp = api_client(&server)
        .delete_user_v1()
        .user_uuid(USER_3)
        .send()
        .await
        .expect("deleteUserV1");
    mock.assert_async().await;
    let body = resp.into_inner();
    assert_eq!(body.meta.writes.unwrap().resources_affected, 1);
    assert_eq!(body.errors, Some(vec![]));
}

#[tokio::test]
async fn update_user_v1() {
    let server = MockServer::start_async().await;
    let mut updated = users_v1()[0].clone();
    updated["last_name"] = json!("Nguyen-Smith");
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::PATCH)
                .path("/user-management/entities/users/v1");
            let when = json_request(
                when,
                json!({"first_name": "Alice", "last_name": "Nguyen-Smith"}),
            );
            exact_query(when, &[("user_uuid", USER_1)]);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(with_resources(
                    write_meta(service_meta(), 1),
                    json!([updated]),
                ));
        })
        .await;

    let resp = api_client(&server)
        .update_user_v1()
        .user_uuid(USER_1)
        .body(types::DomainUpdateUserRequest {
            first_name: Some("Alice".to_owned()),
            last_name: Some("Nguyen-Smith".to_owned()),
        })
        .send()
        .await
        .expect("updateUserV1");
    mock.assert_async().await;
    let user = &resp.into_inner().resources.unwrap()[0];
    assert_eq!(user.last_name.as_deref(), Some("Nguyen-Smith"));
    assert_eq!(user.uuid.as_deref(), Some(USER_1));
}

#[tokio::test]
async fn user_action_v1() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            let when = when
                .method(Method::POST)
                .path("/user-management/entities/user-actions/v1");
            no_query(json_request(
                when,
                json!({"action": {"action_name": "reset_2fa"}, "ids": [USER_1, USER_2]}),
            ));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(meta_only(write_meta(service_meta(), 2)));
        })
        .await;

    let resp = api_client(&server)
        .user_action_v1()
        .body(types::DomainUserActionRequest {
            action: types::DomainUserAction {
                action_name: types::DomainUserActionActionName::Reset2fa,
                action_value: None,
            },
            ids: vec![USER_1.to_owned(), USER_2.to_owned()],
        })
        .send()
        .await
        .expect("userActionV1");
    mock.assert_async().await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_inner().meta.writes.unwrap().resources_affected, 2);
}

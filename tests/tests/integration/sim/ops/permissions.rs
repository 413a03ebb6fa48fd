//! queriesPermissionsV1, entitiesPermissionsGETV1, entitiesPermissionGroupsGETV1,
//! entitiesRolePermissionsV1, userAllowedActionsV1

use super::*;

const CATALOGUE: [&str; 6] = [
    "hosts:read",
    "hosts:write",
    "detections:read",
    "detections:write",
    "users:read",
    "users:write",
];

#[tokio::test]
async fn queries_permissions_v1_pages_the_catalogue() {
    let c = ctx().await;
    let all =
        c.ro.queries_permissions_v1()
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        all.resources.unwrap(),
        CATALOGUE.map(str::to_owned).to_vec()
    );
    let paging = all.meta.pagination.unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (0, 100, 6));
    let page =
        c.ro.queries_permissions_v1()
            .offset(2)
            .limit(2)
            .send()
            .await
            .unwrap();
    assert_eq!(
        page.resources.clone().unwrap(),
        vec!["detections:read".to_owned(), "detections:write".to_owned()]
    );

    let too_many = failure(c.ro.queries_permissions_v1().limit(5001).send().await).await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.declared);
    assert!(too_many.mentions("between 1 and 5000"));
    let negative = failure(c.ro.queries_permissions_v1().offset(-1).send().await).await;
    assert_eq!(negative.status, 400);
}

#[tokio::test]
async fn entities_permissions_get_v1_details_and_dependencies() {
    let c = ctx().await;
    let answer =
        c.ro.entities_permissions_get_v1()
            .body(ids(&["users:write", "nope", "users:read"]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].id, "users:write");
    assert_eq!(found[0].depends_on, vec!["users:read".to_owned()]);
    assert_eq!(found[0].permission_group_id, "users");
    assert_eq!(found[0].type_, "permission");
    assert_eq!(found[1].is_required_for, vec!["users:write".to_owned()]);
    assert!(found[1].depends_on.is_empty());
    let errors = answer.errors.unwrap();
    assert_eq!(
        (errors[0].code, errors[0].id.as_deref()),
        (404, Some("nope"))
    );

    let missing = failure(
        c.ro.entities_permissions_get_v1()
            .body(ids(&["nope"]))
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    let many: Vec<String> = (0..501).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let too_many = failure(
        c.ro.entities_permissions_get_v1()
            .body(ids(&refs))
            .send()
            .await,
    )
    .await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.mentions("between 1 and 500 ids"));
    let none = failure(
        c.ro.entities_permissions_get_v1()
            .body(ids(&[]))
            .send()
            .await,
    )
    .await;
    assert_eq!(none.status, 400);
}

#[tokio::test]
async fn entities_permission_groups_get_v1_by_id() {
    let c = ctx().await;
    let answer =
        c.ro.entities_permission_groups_get_v1()
            .body(ids(&["users", "hosts"]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let groups = answer.resources.unwrap();
    let got: Vec<(&str, &str, &str)> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str(), g.type_.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("users", "User management", "permission_group"),
            ("hosts", "Hosts", "permission_group")
        ]
    );
    let missing = failure(
        c.ro.entities_permission_groups_get_v1()
            .body(ids(&["nope"]))
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    let empty = failure(
        c.ro.entities_permission_groups_get_v1()
            .body(ids(&[]))
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn entities_role_permissions_v1_lists_a_role_permissions() {
    let c = ctx().await;
    let admin =
        c.ro.entities_role_permissions_v1()
            .id("falcon_administrator")
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        admin.resources.unwrap(),
        CATALOGUE.map(str::to_owned).to_vec()
    );
    for role in [
        "falcon_console_guest".to_owned(),
        c.custom_role(&c.parent, 0),
    ] {
        let perms =
            c.ro.entities_role_permissions_v1()
                .id(&role)
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap();
        for read in ["hosts:read", "detections:read", "users:read"] {
            assert!(perms.contains(&read.to_owned()), "{role} lacks {read}");
        }
        assert!(perms.iter().all(|p| CATALOGUE.contains(&p.as_str())));
    }

    let unknown = failure(c.ro.entities_role_permissions_v1().id("nope").send().await).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.declared);
    assert!(unknown.mentions("role nope not found"));
    let foreign = c.custom_role(&c.children[0], 0);
    let other_cid = failure(
        c.ro.entities_role_permissions_v1()
            .id(&foreign)
            .send()
            .await,
    )
    .await;
    assert_eq!(other_cid.status, 404);
}

fn allowed(action: &str, cid: &str, uuid: &str) -> types::DomainAllowedAction {
    types::DomainAllowedAction {
        action: action.into(),
        cid: cid.into(),
        resource_ids: vec!["r1".into()],
        uuid: uuid.into(),
    }
}

#[tokio::test]
async fn user_allowed_actions_v1_echoes_permitted_actions() {
    let c = ctx().await;
    let parent_user = c.users(&c.parent)[0].uuid.clone();
    let child = &c.children[0];
    let child_user = c.users(child)[0].uuid.clone();
    let answer =
        c.rw.user_allowed_actions_v1()
            .body(types::DomainActionValidationRequest {
                allowed_actions: vec![
                    allowed("reset_password", &c.parent, &parent_user),
                    allowed("grant", child, &child_user),
                    allowed("grant", &c.parent, "ghost"),
                    allowed("grant", "0123456789abcdef0123456789abcdef", &parent_user),
                ],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    let got = answer.resources.unwrap();
    assert_eq!(
        got,
        vec![
            types::DomainAllowedActionResponse {
                action: "reset_password".into(),
                cid: c.parent.clone(),
                resource_ids: vec!["r1".into()],
                uuid: parent_user.clone(),
            },
            types::DomainAllowedActionResponse {
                action: "grant".into(),
                cid: child.clone(),
                resource_ids: vec!["r1".into()],
                uuid: child_user.clone(),
            },
        ]
    );

    // A child token may not act in its sibling.
    let member = c.member(child).await;
    let sibling_user = c.users(&c.children[1])[0].uuid.clone();
    let answer = member
        .user_allowed_actions_v1()
        .body(types::DomainActionValidationRequest {
            allowed_actions: vec![allowed("grant", &c.children[1], &sibling_user)],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(answer.resources.clone().unwrap(), Vec::new());

    let read_only = failure(
        c.ro.user_allowed_actions_v1()
            .body(types::DomainActionValidationRequest {
                allowed_actions: vec![allowed("grant", &c.parent, &parent_user)],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert!(read_only.declared);
}

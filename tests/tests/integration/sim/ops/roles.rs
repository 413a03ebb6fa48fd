//! queriesRolesV1, entitiesRolesV1, entitiesRolesGETV2

use super::*;

#[tokio::test]
async fn queries_roles_v1_lists_roles_of_a_cid_and_held_roles() {
    let c = ctx().await;
    let all = c.ro.queries_roles_v1().send().await.unwrap();
    assert_eq!(all.resources.clone().unwrap(), c.role_ids(&c.parent));
    assert_eq!(all.resources.as_ref().unwrap().len(), 12 + 20);
    assert!(
        all.meta.pagination.is_none(),
        "queriesRolesV1 is not paginated"
    );

    let child = &c.children[0];
    let in_child = c.ro.queries_roles_v1().cid(child).send().await.unwrap();
    let in_child = in_child.resources.clone().unwrap();
    assert_eq!(in_child, c.role_ids(child));
    assert!(in_child.contains(&c.custom_role(child, 0)));
    assert!(!in_child.contains(&c.custom_role(&c.parent, 0)));

    let holder = c.user_holding(&c.parent, 2);
    let mut held =
        c.ro.queries_roles_v1()
            .user_uuid(&holder.uuid)
            .action("revoke")
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    held.sort();
    assert_eq!(held, c.held(&c.parent, &holder.uuid));
}

#[tokio::test]
async fn queries_roles_v1_answers_for_the_action_asked() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 2);
    let held = c.held(&c.parent, &holder.uuid);
    let ask = |action: Option<&'static str>| {
        let mut request = c.ro.queries_roles_v1().user_uuid(&holder.uuid);
        if let Some(action) = action {
            request = request.action(action);
        }
        async move {
            let mut ids = request
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap();
            ids.sort();
            ids
        }
    };
    // `grant` (the default): the roles of the CID the user does not hold yet.
    let mut grantable: Vec<String> = c
        .role_ids(&c.parent)
        .into_iter()
        .filter(|id| !held.contains(id))
        .collect();
    grantable.sort();
    assert_eq!(ask(None).await, grantable);
    assert_eq!(ask(Some("grant")).await, grantable);
    assert_eq!(ask(Some("revoke")).await, held);
    assert_eq!(
        grantable.len() + held.len(),
        c.role_ids(&c.parent).len(),
        "grantable and revocable split the CID's roles"
    );
    let bad = failure(
        c.ro.queries_roles_v1()
            .user_uuid(&holder.uuid)
            .action("promote")
            .send()
            .await,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.declared);
}

#[tokio::test]
async fn queries_roles_v1_refuses_cids_out_of_reach() {
    let c = ctx().await;
    let member = c.member(&c.children[0]).await;
    let sideways = failure(member.queries_roles_v1().cid(&c.children[1]).send().await).await;
    assert_eq!(sideways.status, 403);
    assert!(sideways.declared);
    let upwards = failure(member.queries_roles_v1().cid(&c.parent).send().await).await;
    assert_eq!(upwards.status, 403);
    let unknown = failure(
        c.rw.queries_roles_v1()
            .cid("0123456789abcdef0123456789abcdef")
            .send()
            .await,
    )
    .await;
    assert_eq!(unknown.status, 403);
    // Its own CID is fine.
    member
        .queries_roles_v1()
        .cid(&c.children[0])
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn entities_roles_v1_by_query_ids() {
    let c = ctx().await;
    let custom = c.custom_role(&c.parent, 3);
    let answer =
        c.ro.legacy_entities_roles_v1()
            .ids(vec![
                "falcon_console_guest".to_owned(),
                custom.clone(),
                "nope".to_owned(),
            ])
            .send()
            .await
            .unwrap();
    // Some ids unknown: a multi-status answer, the roles found and an error per unknown id.
    assert_eq!(answer.status().as_u16(), 207);
    let answer = answer.into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(
        found,
        vec![
            c.role(&c.parent, "falcon_console_guest"),
            c.role(&c.parent, &custom)
        ]
    );
    assert!(found[0].is_global && found[0].cid.is_none());
    // The seed text of the built-in role, as the real API names it.
    assert_eq!(found[0].display_name, "Falcon Console Guest");
    assert_eq!(found[1].cid.as_deref(), Some(c.parent.as_str()));
    assert!(!found[1].is_global);
    assert_eq!(found[1].id.len(), 32);
    let errors = answer.errors.unwrap();
    assert_eq!(
        (errors[0].code, errors[0].id.as_deref()),
        (404, Some("nope"))
    );

    // A child's custom role is not a role of the parent...
    let child = &c.children[0];
    let child_role = c.custom_role(child, 0);
    let missing = failure(
        c.ro.legacy_entities_roles_v1()
            .ids(vec![child_role.clone()])
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    assert_eq!(missing.errors[0].1.as_deref(), Some(child_role.as_str()));
    // ...but is found in the child.
    let found =
        c.ro.legacy_entities_roles_v1()
            .cid(child)
            .ids(vec![child_role.clone()])
            .send()
            .await
            .unwrap();
    assert_eq!(
        found.resources.clone().unwrap(),
        vec![c.role(child, &child_role)]
    );

    let empty = failure(
        c.ro.legacy_entities_roles_v1()
            .ids(Vec::<String>::new())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn entities_roles_get_v2_by_body_ids() {
    let c = ctx().await;
    let custom = c.custom_role(&c.parent, 0);
    let answer =
        c.rw.entities_roles_get_v2()
            .body(ids(&["user_admin", &custom]))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        answer.resources.unwrap(),
        vec![c.role(&c.parent, "user_admin"), c.role(&c.parent, &custom)]
    );
    assert_eq!(answer.errors, Some(Vec::new()));
    // Every role of the CID in one call.
    let every = c.role_ids(&c.parent);
    let refs: Vec<&str> = every.iter().map(String::as_str).collect();
    let all =
        c.rw.entities_roles_get_v2()
            .body(ids(&refs))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(all.resources.unwrap().len(), every.len());

    let child = &c.children[1];
    let child_role = c.custom_role(child, 1);
    let in_child =
        c.rw.entities_roles_get_v2()
            .cid(child)
            .body(ids(&[&child_role]))
            .send()
            .await
            .unwrap();
    assert_eq!(
        in_child.resources.clone().unwrap()[0].cid.as_deref(),
        Some(child.as_str())
    );

    let missing = failure(
        c.rw.entities_roles_get_v2()
            .body(ids(&[&child_role]))
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    let empty = failure(c.rw.entities_roles_get_v2().body(ids(&[])).send().await).await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
}

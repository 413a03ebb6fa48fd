//! combinedUserRolesV1, CombinedUserRolesV2, CombinedUserRolesV3, userRolesActionV1,
//! userRolesActionV2

use super::*;

fn in_hours(hours: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::hours(hours)
}

#[tokio::test]
async fn temporary_grants_must_end_at_least_an_hour_ahead() {
    let c = ctx().await;
    let user = c.users(&c.parent).pop().unwrap();
    let role = c.custom_role(&c.parent, 0);
    let grant = |ahead: chrono::Duration| {
        c.rw.user_roles_action_v2()
            .body(types::DomainActionUserRolesRequestV2 {
                action: Some("grant".into()),
                cid: Some(c.parent.clone()),
                expires_at: Some(chrono::Utc::now() + ahead),
                role_ids: vec![role.clone()],
                uuid: Some(user.uuid.clone()),
            })
            .send()
    };
    let short = failure(grant(chrono::Duration::minutes(59)).await).await;
    assert_eq!(short.status, 400, "59 minutes is under the hour");
    assert!(short.mentions("between 1 hour and 7 days"));
    assert!(!c.held(&c.parent, &user.uuid).contains(&role));
    let long = failure(grant(chrono::Duration::days(7) + chrono::Duration::minutes(1)).await).await;
    assert_eq!(long.status, 400, "over 7 days");
    grant(chrono::Duration::hours(1))
        .await
        .expect("exactly an hour");
    assert!(c.held(&c.parent, &user.uuid).contains(&role));
}

#[tokio::test]
async fn combined_user_roles_v2_lists_sorts_filters_and_pages() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 2);
    let held = c.held(&c.parent, &holder.uuid);
    let answer =
        c.ro.combined_user_roles_v2()
            .user_uuid(&holder.uuid)
            .send()
            .await
            .unwrap()
            .into_inner();
    let grants = answer.resources.unwrap();
    let mut got: Vec<String> = grants.iter().map(|g| g.role_id.clone()).collect();
    got.sort();
    assert_eq!(got, held);
    let names: Vec<String> = grants
        .iter()
        .map(|g| g.role_name.clone().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "default sort is role_name|asc");
    for g in &grants {
        assert_eq!(g.cid.as_deref(), Some(c.parent.as_str()));
        assert_eq!(g.uuid.as_deref(), Some(holder.uuid.as_str()));
        assert_eq!(g.grant_type.as_deref(), Some("direct"));
        assert_eq!(g.parent_cid, None);
        assert_eq!(g.expires_at, None);
        assert_eq!(
            g.role_name.clone().unwrap(),
            c.role(&c.parent, &g.role_id).display_name
        );
    }
    let paging = answer.meta.pagination.unwrap();
    assert_eq!(
        (paging.offset, paging.limit, paging.total),
        (0, 100, held.len() as i64)
    );

    let desc =
        c.ro.combined_user_roles_v2()
            .user_uuid(&holder.uuid)
            .sort(types::CombinedUserRolesV2Sort::RoleNameDesc)
            .send()
            .await
            .unwrap();
    let mut reversed = names.clone();
    reversed.reverse();
    let desc: Vec<String> = desc
        .resources
        .clone()
        .unwrap()
        .into_iter()
        .map(|g| g.role_name.unwrap())
        .collect();
    assert_eq!(desc, reversed);

    let one =
        c.ro.combined_user_roles_v2()
            .user_uuid(&holder.uuid)
            .filter(format!("role_id:'{}'", held[0]))
            .send()
            .await
            .unwrap();
    assert_eq!(one.resources.clone().unwrap().len(), 1);
    assert_eq!(one.resources.clone().unwrap()[0].role_id, held[0]);

    let page =
        c.ro.combined_user_roles_v2()
            .user_uuid(&holder.uuid)
            .offset(1u64)
            .limit(1u64)
            .send()
            .await
            .unwrap();
    assert_eq!(page.resources.clone().unwrap().len(), 1);
    assert_eq!(
        page.resources.clone().unwrap()[0].role_name.as_deref(),
        Some(names[1].as_str())
    );
    assert_eq!(
        page.meta.pagination.as_ref().unwrap().total,
        held.len() as i64
    );
}

#[tokio::test]
async fn combined_user_roles_v2_refuses_unknown_users_bad_limits_and_bad_fql() {
    let c = ctx().await;
    let unknown = failure(
        c.ro.combined_user_roles_v2()
            .user_uuid("ghost")
            .send()
            .await,
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.declared);
    assert!(unknown.mentions("invalid user uuid='ghost' specified"));
    let uuid = c.users(&c.parent)[0].uuid.clone();
    let limit = failure(
        c.ro.combined_user_roles_v2()
            .user_uuid(&uuid)
            .limit(501u64)
            .send()
            .await,
    )
    .await;
    assert_eq!(limit.status, 400);
    let fql = failure(
        c.ro.combined_user_roles_v2()
            .user_uuid(&uuid)
            .filter("uid:'x'")
            .send()
            .await,
    )
    .await;
    assert_eq!(fql.status, 400);
    assert!(fql.mentions("invalid filter"));
}

#[tokio::test]
async fn combined_user_roles_v1_in_a_child_cid() {
    let c = ctx().await;
    let child = &c.children[0];
    let user = c.user_without_roles(&c.parent);
    // A built-in role: a child's custom role is refused to a user homed in the parent.
    let role = c.builtin_not_held(child, &user.uuid);
    c.rw.user_roles_action_v1()
        .body(grant_v1("grant", &user.uuid, child, &[&role], None))
        .send()
        .await
        .unwrap();
    let answer =
        c.ro.legacy_combined_user_roles_v1()
            .user_uuid(&user.uuid)
            .cid(child)
            .direct_only(true)
            .send()
            .await
            .unwrap()
            .into_inner();
    let grants = answer.resources.unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g.role_id, role);
    assert_eq!(g.cid.as_deref(), Some(child.as_str()));
    assert_eq!(g.parent_cid.as_deref(), Some(c.parent.as_str()));
    assert_eq!(
        g.role_name.clone().unwrap(),
        c.role(child, &role).display_name
    );
    assert_eq!(g.uuid.as_deref(), Some(user.uuid.as_str()));
    // Nothing in the parent.
    let home =
        c.ro.legacy_combined_user_roles_v1()
            .user_uuid(&user.uuid)
            .send()
            .await
            .unwrap();
    assert_eq!(home.resources.clone().unwrap().len(), 0);

    let member = c.member(&c.children[1]).await;
    let refused = failure(
        member
            .legacy_combined_user_roles_v1()
            .user_uuid(&user.uuid)
            .cid(child)
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(refused.declared);
}

#[tokio::test]
async fn combined_user_roles_v3_lists_grants() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 1);
    let answer =
        c.ro.combined_user_roles_v3()
            .user_uuid(&holder.uuid)
            .sort("role_name|asc")
            .send()
            .await
            .unwrap()
            .into_inner();
    let mut got: Vec<String> = answer
        .resources
        .unwrap()
        .into_iter()
        .map(|g| g.role_id)
        .collect();
    got.sort();
    assert_eq!(got, c.held(&c.parent, &holder.uuid));
    // A page of one of a user's two or more grants, with the total of them.
    let two = c.user_holding(&c.parent, 2);
    let page =
        c.ro.combined_user_roles_v3()
            .user_uuid(&two.uuid)
            .limit(1)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(page.resources.unwrap().len(), 1);
    let held = c.held(&c.parent, &two.uuid).len();
    assert_eq!(page.meta.pagination.unwrap().total, held as i64);

    let fql = failure(
        c.ro.combined_user_roles_v3()
            .user_uuid(&holder.uuid)
            .filter("role_name:'unterminated")
            .send()
            .await,
    )
    .await;
    assert_eq!(fql.status, 400);
    assert!(fql.declared);
    let anonymous = failure(
        bearer(&c.base, "us-1.not-a-token")
            .combined_user_roles_v3()
            .user_uuid(&holder.uuid)
            .send()
            .await,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.declared, "CombinedUserRolesV3 declares 401");
}

#[tokio::test]
async fn user_roles_action_v1_grants_and_revokes() {
    let c = ctx().await;
    let user = c.user_without_roles(&c.parent);
    let custom = c.custom_role(&c.parent, 5);
    let expires = in_hours(48).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let granted =
        c.rw.user_roles_action_v1()
            .body(grant_v1(
                "grant",
                &user.uuid,
                &c.parent,
                &["falcon_console_guest", &custom],
                Some(expires.clone()),
            ))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(granted.meta.writes.as_ref().unwrap().resources_affected, 2);
    let mut expected = vec!["falcon_console_guest".to_owned(), custom.clone()];
    expected.sort();
    assert_eq!(c.held(&c.parent, &user.uuid), expected);
    c.sim.inspect(|s| {
        for g in &s.tenants[&c.parent].grants[&user.uuid] {
            assert_eq!(g.expires_at.as_deref(), Some(expires.as_str()));
            assert_eq!(g.cid, c.parent);
        }
    });
    let listed =
        c.ro.combined_user_roles_v2()
            .user_uuid(&user.uuid)
            .send()
            .await
            .unwrap();
    assert!(
        listed
            .resources
            .clone()
            .unwrap()
            .iter()
            .all(|g| g.expires_at.as_deref() == Some(expires.as_str()))
    );
    // A wildcard filter: the custom role's id is 32 hex digits, so only the built-in matches.
    let falcon_only =
        c.ro.combined_user_roles_v2()
            .user_uuid(&user.uuid)
            .filter("role_id:'falcon*'")
            .send()
            .await
            .unwrap()
            .into_inner();
    let role_ids: Vec<String> = falcon_only
        .resources
        .unwrap()
        .into_iter()
        .map(|g| g.role_id)
        .collect();
    assert_eq!(role_ids, ["falcon_console_guest"]);

    let revoked =
        c.rw.user_roles_action_v1()
            .body(grant_v1("revoke", &user.uuid, &c.parent, &[&custom], None))
            .send()
            .await
            .unwrap();
    assert_eq!(revoked.meta.writes.as_ref().unwrap().resources_affected, 1);
    assert_eq!(
        c.held(&c.parent, &user.uuid),
        vec!["falcon_console_guest".to_owned()]
    );
    // Revoking what is not held changes nothing.
    let noop =
        c.rw.user_roles_action_v1()
            .body(grant_v1("revoke", &user.uuid, &c.parent, &[&custom], None))
            .send()
            .await
            .unwrap();
    assert_eq!(noop.meta.writes.as_ref().unwrap().resources_affected, 0);
}

#[tokio::test]
async fn user_roles_action_v1_refuses_foreign_roles_bad_expiry_and_missing_fields() {
    let c = ctx().await;
    let user = c.user_without_roles(&c.parent);
    let foreign = c.custom_role(&c.children[0], 0);
    let refused = failure(
        c.rw.user_roles_action_v1()
            .body(grant_v1("grant", &user.uuid, &c.parent, &[&foreign], None))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.declared);
    assert!(refused.mentions(&format!("invalid roleID='{foreign}' specified")));
    assert!(c.held(&c.parent, &user.uuid).is_empty());

    for hours in [0, 24 * 8] {
        let at =
            (chrono::Utc::now() + chrono::Duration::minutes(10) + chrono::Duration::hours(hours))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let refused = failure(
            c.rw.user_roles_action_v1()
                .body(grant_v1(
                    "grant",
                    &user.uuid,
                    &c.parent,
                    &["user_admin"],
                    Some(at),
                ))
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400, "expires in {hours}h");
        assert!(refused.mentions("between 1 hour and 7 days"));
    }

    let no_cid = failure(
        c.rw.user_roles_action_v1()
            .body(grant_v1("grant", &user.uuid, "", &["user_admin"], None))
            .send()
            .await,
    )
    .await;
    assert_eq!(no_cid.status, 400);
    assert!(no_cid.mentions("cid is required"));

    let ghost = failure(
        c.rw.user_roles_action_v1()
            .body(grant_v1("grant", "ghost", &c.parent, &["user_admin"], None))
            .send()
            .await,
    )
    .await;
    assert_eq!(ghost.status, 400);

    let read_only = failure(
        c.ro.user_roles_action_v1()
            .body(grant_v1(
                "grant",
                &user.uuid,
                &c.parent,
                &["user_admin"],
                None,
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert!(c.held(&c.parent, &user.uuid).is_empty());
}

#[tokio::test]
async fn user_roles_action_v2_assigns_and_removes_in_a_child() {
    let c = ctx().await;
    let child = &c.children[1];
    let user = c.users(&c.parent)[1].clone();
    // A built-in role: a child's custom role is refused to a user homed in the parent.
    let role = "falconhost_analyst".to_owned();
    let expires = in_hours(3);
    let assigned =
        c.rw.user_roles_action_v2()
            .body(grant_v2(
                "assign-role",
                &user.uuid,
                child,
                &[&role, "endpoint_manager"],
                Some(expires),
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(assigned.meta.writes.as_ref().unwrap().resources_affected, 2);
    let mut expected = vec![role.clone(), "endpoint_manager".to_owned()];
    expected.sort();
    assert_eq!(c.held(child, &user.uuid), expected);
    c.sim.inspect(|s| {
        let g = &s.tenants[child].grants[&user.uuid][0];
        let stored =
            chrono::DateTime::parse_from_rfc3339(g.expires_at.as_deref().unwrap()).unwrap();
        assert!((stored.timestamp() - expires.timestamp()).abs() <= 1);
    });

    let removed =
        c.rw.user_roles_action_v2()
            .body(grant_v2(
                "remove-role",
                &user.uuid,
                child,
                &[&role, "endpoint_manager"],
                None,
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(removed.meta.writes.as_ref().unwrap().resources_affected, 2);
    assert!(c.held(child, &user.uuid).is_empty());
    c.sim
        .inspect(|s| assert!(!s.tenants[child].grants.contains_key(&user.uuid)));

    let bad = failure(
        c.rw.user_roles_action_v2()
            .body(grant_v2("promote", &user.uuid, child, &[&role], None))
            .send()
            .await,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.declared);
    assert!(bad.mentions("invalid action"));
    let late = failure(
        c.rw.user_roles_action_v2()
            .body(grant_v2(
                "grant",
                &user.uuid,
                child,
                &[&role],
                Some(in_hours(24 * 8)),
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(late.status, 400);

    let member = c.member(&c.children[0]).await;
    let sideways = failure(
        member
            .user_roles_action_v2()
            .body(grant_v2("grant", &user.uuid, child, &[&role], None))
            .send()
            .await,
    )
    .await;
    assert_eq!(sideways.status, 403);
    assert!(c.held(child, &user.uuid).is_empty());
}

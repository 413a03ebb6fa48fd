//! queryUserV1, queryUserV2, retrieveUsersGETV1, retrieveUsersGETV2, createUserV1, updateUserV1,
//! deleteUserV1, userActionV1

use super::*;

#[tokio::test]
async fn query_user_v1_filters_sorts_and_pages() {
    let c = ctx().await;
    let all = c.users(&c.parent);

    let mut inactive: Vec<&User> = all.iter().filter(|u| u.status == "inactive").collect();
    inactive.reverse(); // uid|desc
    let page =
        c.rw.query_user_v1()
            .filter("status:'inactive'")
            .sort("uid|desc")
            .limit(500u64)
            .send()
            .await
            .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let expected: Vec<String> = inactive.iter().map(|u| u.uuid.clone()).collect();
    assert!(!expected.is_empty());
    assert_eq!(page.resources.clone().unwrap(), expected);
    let paging = page.meta.pagination.clone().unwrap();
    assert_eq!(
        (paging.offset, paging.limit, paging.total),
        (0, 500, expected.len() as i64)
    );

    // Default order is by login; offset/limit page through it.
    let page =
        c.ro.query_user_v1()
            .offset(2u64)
            .limit(3u64)
            .send()
            .await
            .unwrap();
    let expected: Vec<String> = all[2..5].iter().map(|u| u.uuid.clone()).collect();
    assert_eq!(page.resources.clone().unwrap(), expected);
    let paging = page.meta.pagination.clone().unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (2, 3, 50));

    // Wildcards, case-insensitive, on the login.
    let first = &all[0];
    let pattern = format!("uid:'{}*'", first.uid[..4].to_uppercase());
    let page =
        c.rw.query_user_v1()
            .filter(pattern)
            .limit(500u64)
            .send()
            .await
            .unwrap();
    let expected: Vec<String> = all
        .iter()
        .filter(|u| u.uid.starts_with(&first.uid[..4]))
        .map(|u| u.uuid.clone())
        .collect();
    assert_eq!(page.resources.clone().unwrap(), expected);
}

#[tokio::test]
async fn query_user_v1_refuses_bad_limits_and_bad_fql() {
    let c = ctx().await;
    let too_many = failure(c.rw.query_user_v1().limit(501u64).send().await).await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.declared);
    assert!(too_many.mentions("limit must be between 1 and 500"));
    assert_eq!(too_many.errors[0].0, 400);

    for bad in ["status:'active", "nope:'x'", "status", "status:'a' uid:'b'"] {
        let refused = failure(c.rw.query_user_v1().filter(bad).send().await).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert!(refused.mentions("invalid filter"), "{bad}: {refused:?}");
    }

    let deep = failure(
        c.rw.query_user_v1()
            .offset(9_950u64)
            .limit(100u64)
            .send()
            .await,
    )
    .await;
    assert_eq!(deep.status, 400);
    assert!(deep.mentions("offset + limit"));
}

#[tokio::test]
async fn query_user_v1_huge_offset_is_400_not_a_dropped_connection() {
    let c = ctx().await;
    let result =
        c.rw.query_user_v1()
            .offset(i64::MAX as u64)
            .limit(100u64)
            .send()
            .await;
    let (status, _) = outcome(result);
    assert_eq!(status, 400);
    let result = c.rw.queries_permissions_v1().offset(i64::MAX).send().await;
    let (status, _) = outcome(result);
    assert_eq!(status, 400);
}

/// Users of the parent matching `filter` through `queryUserV1` (or v2), in answer order.
async fn found(c: &Ctx, v2: bool, filter: &str) -> Vec<String> {
    let page = if v2 {
        c.rw.query_user_v2()
            .filter(filter)
            .limit(500u64)
            .send()
            .await
            .map(ResponseValue::into_inner)
    } else {
        c.rw.query_user_v1()
            .filter(filter)
            .limit(500u64)
            .send()
            .await
            .map(ResponseValue::into_inner)
    };
    let page = page.unwrap_or_else(|e| panic!("filter {filter}: {e:?}"));
    page.resources.unwrap()
}

async fn sorted(c: &Ctx, sort: &str) -> Vec<String> {
    c.rw.query_user_v1()
        .sort(sort)
        .limit(500u64)
        .send()
        .await
        .unwrap_or_else(|e| panic!("sort {sort}: {e:?}"))
        .into_inner()
        .resources
        .unwrap()
}

#[tokio::test]
async fn query_user_v1_answers_every_documented_sort_and_filter_field() {
    // Without the seeded review cases: the one temporary grant is the test's own.
    let c = ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        review_cases: false,
        ..SimConfig::default()
    })
    .await;
    let all: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uuid).collect();
    let (parent, child) = (c.parent.clone(), c.children[0].clone());
    // One parent user holds a role in a child until the day after tomorrow: the only
    // temporary grant, and the only grant of a parent user outside the parent.
    let temp = all[3].clone();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(48))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    c.rw.user_roles_action_v1()
        .body(grant_v1(
            "grant",
            &temp,
            &child,
            &["falcon_console_guest"],
            Some(expires),
        ))
        .send()
        .await
        .unwrap();
    let only_temp = vec![temp.clone()];
    let others: Vec<String> = all.iter().filter(|u| **u != temp).cloned().collect();
    let granted_in_parent: Vec<String> = all
        .iter()
        .filter(|u| !c.held(&parent, u).is_empty())
        .cloned()
        .collect();
    assert!(!granted_in_parent.is_empty() && granted_in_parent.len() < all.len());

    assert_eq!(
        found(&c, false, "has_temporary_roles:'true'").await,
        only_temp
    );
    assert_eq!(
        found(&c, false, "has_temporary_roles:'false'").await,
        others
    );
    assert_eq!(found(&c, false, "has_temporary_roles:false").await, others);
    let temporarily = format!("temporarily_assigned_cids:'{child}'");
    assert_eq!(found(&c, false, &temporarily).await, only_temp);
    let nowhere = format!("temporarily_assigned_cids:'{parent}'");
    assert!(found(&c, false, &nowhere).await.is_empty());
    for field in [
        "assigned_cids",
        "direct_assigned_cids",
        "non_ancestor_assigned_cids",
    ] {
        let in_child = format!("{field}:'{child}'");
        assert_eq!(found(&c, false, &in_child).await, only_temp, "{field}");
    }
    for field in ["assigned_cids", "direct_assigned_cids"] {
        let in_parent = format!("{field}:'{parent}'");
        assert_eq!(
            found(&c, false, &in_parent).await,
            granted_in_parent,
            "{field}"
        );
    }
    // The parent is every child's ancestor: never a non-ancestor assignment.
    let ancestor = format!("non_ancestor_assigned_cids:'{parent}'");
    assert!(found(&c, false, &ancestor).await.is_empty());
    // Several values per field: an OR of two CIDs, and a negation that no value matches.
    let either = format!("assigned_cids:'{child}',assigned_cids:'{parent}'");
    let mut expected = granted_in_parent.clone();
    if !expected.contains(&temp) {
        expected.push(temp.clone());
    }
    expected.sort_by_key(|u| all.iter().position(|a| a == u));
    assert_eq!(found(&c, false, &either).await, expected);
    let not_child = format!("assigned_cids:!'{child}'");
    assert_eq!(found(&c, false, &not_child).await, others);
    // The simulator has no MFA factors.
    assert!(found(&c, false, "factors:'*'").await.is_empty());
    assert_eq!(found(&c, false, "factors:!'totp'").await, all);
    // v2 adds associated_cids (the home CID and the assigned ones); v1 does not have it.
    let home = format!("associated_cids:'{parent}'");
    assert_eq!(found(&c, true, &home).await, all);
    let associated = format!("associated_cids:'{child}'");
    assert_eq!(found(&c, true, &associated).await, only_temp);
    let refused = failure(c.rw.query_user_v1().filter(home).send().await).await;
    assert_eq!(refused.status, 400);
    assert!(refused.mentions("associated_cids"), "{refused:?}");

    // Sorts: the one temporary user first when descending, last when ascending (ties by
    // login); every user has the same home CID, so cid_name leaves the login order.
    for sort in ["has_temporary_roles|desc", "temporarily_assigned_cids|desc"] {
        let order = sorted(&c, sort).await;
        assert_eq!(order[0], temp, "{sort}");
    }
    let order = sorted(&c, "has_temporary_roles|asc").await;
    assert_eq!(order.last(), Some(&temp));
    assert_eq!(order[..49], others[..]);
    assert_eq!(sorted(&c, "cid_name|asc").await, all);
    assert_eq!(sorted(&c, "cid_name").await, all);
}

/// Each operation's sort values and filter fields as the table states them, sent as
/// written: the simulator accepts them all (400 would mean it copied a list by hand).
#[tokio::test]
async fn every_sort_value_and_filter_field_of_the_table_is_accepted() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let uuid = c.user_holding(&c.parent, 1).uuid;
    let http = reqwest::Client::new();
    let mut tried = 0;
    for op in operations::ALL {
        let sorts = op
            .sort_values
            .iter()
            .map(|v| ("sort", (*v).to_owned()))
            .chain(op.sort_fields.iter().map(|f| ("sort", format!("{f}|desc"))));
        let filters = op
            .filter_fields
            .iter()
            .map(|f| ("filter", format!("{f}:'x*'")));
        for (name, value) in sorts.chain(filters) {
            // What queries require, each ignored where it is not: `user_uuid` (the grant
            // queries, Flight Control's user group members), `cid` (its CID group members) and
            // a group id (its links need a user group's or a CID group's).
            let response = http
                .request(op.method.as_http(), format!("{}{}", c.base, op.path))
                .bearer_auth(&token)
                .query(&[
                    (name, value.as_str()),
                    ("user_uuid", uuid.as_str()),
                    ("cid", c.parent.as_str()),
                    ("user_group_id", "0123456789abcdef0123456789abcdef"),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, 200, "{op} {name}={value}: {body}");
            tried += 1;
        }
    }
    assert!(tried > 0, "the table states sorts and filters");
    // And what the table does not state is refused.
    for (name, value) in [("sort", "nope|asc"), ("filter", "nope:'x'")] {
        let response = http
            .get(format!("{}{}", c.base, operations::QUERY_USER_V1.path))
            .bearer_auth(&token)
            .query(&[(name, value)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{name}={value}");
    }
}

#[tokio::test]
async fn query_user_v2_internal_and_external() {
    let c = ctx().await;
    let all: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uuid).collect();
    let internal =
        c.ro.query_user_v2()
            .user_type(types::QueryUserV2UserType::Internal)
            .limit(500u64)
            .send()
            .await
            .unwrap();
    assert_eq!(internal.resources.clone().unwrap(), all);
    let unfiltered = c.ro.query_user_v2().limit(500u64).send().await.unwrap();
    assert_eq!(unfiltered.resources.clone().unwrap(), all);
    // A filter selects among them, in login order.
    let active: Vec<String> = c
        .users(&c.parent)
        .into_iter()
        .filter(|u| u.status == "active")
        .map(|u| u.uuid)
        .collect();
    assert!(!active.is_empty() && active.len() < all.len());
    let filtered =
        c.ro.query_user_v2()
            .filter("status:'active'")
            .limit(500u64)
            .send()
            .await
            .unwrap();
    assert_eq!(filtered.resources.clone().unwrap(), active);
    // The simulated tenants have no invited external users.
    let external =
        c.ro.query_user_v2()
            .user_type(types::QueryUserV2UserType::External)
            .send()
            .await
            .unwrap();
    assert_eq!(external.resources.clone().unwrap(), Vec::<String>::new());
    assert_eq!(external.meta.pagination.as_ref().unwrap().total, 0);

    let refused = failure(c.ro.query_user_v2().limit(501u64).send().await).await;
    assert_eq!(refused.status, 400);
    assert!(refused.declared);
    let refused = failure(
        c.ro.query_user_v2()
            .sort("uid|desc")
            .filter("uid:'")
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
}

fn assert_same_user(api: &types::DomainUser, user: &User) {
    assert_eq!(api.uuid.as_deref(), Some(user.uuid.as_str()));
    assert_eq!(api.uid.as_deref(), Some(user.uid.as_str()));
    assert_eq!(api.first_name.as_deref(), Some(user.first_name.as_str()));
    assert_eq!(api.last_name.as_deref(), Some(user.last_name.as_str()));
    assert_eq!(api.cid.as_deref(), Some(user.cid.as_str()));
    assert_eq!(api.status.as_deref(), Some(user.status.as_str()));
    assert_eq!(api.created_at.as_deref(), Some(user.created_at.as_str()));
    assert_eq!(
        api.last_login_at.as_deref(),
        Some(user.last_login_at.as_str()).filter(|s| !s.is_empty())
    );
    assert_eq!(api.user_type.as_deref(), Some("internal"));
}

#[tokio::test]
async fn retrieve_users_get_v1_by_uuid_with_per_id_errors() {
    let c = ctx().await;
    let all = c.users(&c.parent);
    let (a, b) = (&all[3], &all[7]);
    let answer =
        c.ro.retrieve_users_get_v1()
            .body(ids(&[&a.uuid, "no-such-user", &b.uuid]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(found.len(), 2);
    assert_same_user(&found[0], a);
    assert_same_user(&found[1], b);
    let errors = answer.errors.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, 404);
    assert_eq!(errors[0].id.as_deref(), Some("no-such-user"));

    let empty = failure(c.ro.retrieve_users_get_v1().body(ids(&[])).send().await).await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
    assert!(empty.mentions("between 1 and 5000 ids"));
    let many: Vec<String> = (0..5001).map(|i| format!("id-{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let too_many = failure(c.ro.retrieve_users_get_v1().body(ids(&refs)).send().await).await;
    assert_eq!(too_many.status, 400);
}

#[tokio::test]
async fn retrieve_users_get_v2_by_uuid() {
    let c = ctx().await;
    let user = c.users(&c.parent)[10].clone();
    let answer =
        c.rw.retrieve_users_get_v2()
            .body(ids(&[&user.uuid]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(found.len(), 1);
    assert_same_user(&found[0], &user);
    assert_eq!(answer.errors, Some(Vec::new()));

    let unknown =
        c.rw.retrieve_users_get_v2()
            .body(ids(&["ghost"]))
            .send()
            .await
            .unwrap()
            .into_inner();
    // None known: empty `resources` and no error entry, what clients read as "gone".
    assert_eq!(unknown.resources, Some(Vec::new()));
    assert_eq!(unknown.errors, Some(Vec::new()));
    let mixed =
        c.rw.retrieve_users_get_v2()
            .body(ids(&[&user.uuid, "ghost"]))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(mixed.resources.unwrap().len(), 1);
    assert_eq!(mixed.errors.unwrap()[0].id.as_deref(), Some("ghost"));

    let empty = failure(c.rw.retrieve_users_get_v2().body(ids(&[])).send().await).await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
}

#[tokio::test]
async fn child_tokens_see_only_their_own_cid() {
    let c = ctx().await;
    let (child1, child2) = (&c.children[0], &c.children[1]);
    let member = c.member(child1).await;
    let page = member.query_user_v1().limit(500u64).send().await.unwrap();
    let mine: BTreeSet<String> = c.users(child1).into_iter().map(|u| u.uuid).collect();
    let seen: BTreeSet<String> = page.resources.clone().unwrap().into_iter().collect();
    assert_eq!(seen, mine);

    // Another child's user is not visible to it...
    let other = c.users(child2)[0].clone();
    let answer = member
        .retrieve_users_get_v1()
        .body(ids(&[&other.uuid]))
        .send()
        .await
        .unwrap()
        .into_inner();
    // Not found: empty `resources` and no error entry, as for a user that does not exist.
    assert_eq!(answer.resources, Some(Vec::new()));
    assert_eq!(answer.errors, Some(Vec::new()));
    // ...nor reachable with the `cid` parameter.
    let refused = failure(
        member
            .combined_user_roles_v2()
            .user_uuid(&other.uuid)
            .cid(child2)
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(refused.declared);
    assert!(refused.mentions(&format!("access denied to CID {child2}")));
    // The parent may act in its children.
    c.rw.combined_user_roles_v2()
        .user_uuid(&other.uuid)
        .cid(child2)
        .send()
        .await
        .unwrap();
}

/// Flight Control: what the parent creates in a child it reads back, renames and deletes
/// by UUID (those operations take no `cid`); a sibling child still cannot reach it.
#[tokio::test]
async fn a_user_the_parent_creates_in_a_child_is_read_back_by_the_parent() {
    let c = ctx().await;
    let child = &c.children[0];
    let created =
        c.rw.create_user_v1()
            .body(new_user("kid@example.com", child))
            .send()
            .await
            .unwrap()
            .into_inner();
    let uuid = created.resources.unwrap().remove(0).uuid.unwrap();
    let read = |client: Client| {
        let uuid = uuid.clone();
        async move {
            client
                .retrieve_users_get_v1()
                .body(ids(&[&uuid]))
                .send()
                .await
                .map(|a| a.into_inner().resources.unwrap_or_default())
        }
    };
    let found = read(c.rw.clone()).await.expect("the parent reads it back");
    assert_eq!(found[0].cid.as_deref(), Some(child.as_str()));
    let own = read(c.member(child).await)
        .await
        .expect("the child reads it");
    assert_eq!(own[0].uuid.as_deref(), Some(uuid.as_str()));
    let sibling = read(c.member(&c.children[1]).await).await;
    assert!(
        sibling.is_err() || sibling.as_ref().is_ok_and(|r| r.is_empty()),
        "a sibling child reached it: {sibling:?}"
    );
    c.rw.update_user_v1()
        .user_uuid(&uuid)
        .body(types::DomainUpdateUserRequest {
            first_name: Some("Renamed".into()),
            last_name: None,
        })
        .send()
        .await
        .expect("the parent renames it");
    assert_eq!(c.user(child, &uuid).unwrap().first_name, "Renamed");
    c.rw.delete_user_v1()
        .user_uuid(&uuid)
        .send()
        .await
        .expect("the parent deletes it");
    assert!(c.user(child, &uuid).is_none());
}

/// A new user; an empty `cid` means the token's.
#[tokio::test]
async fn create_user_v1_creates_in_the_parent_or_a_child() {
    let c = ctx().await;
    let created =
        c.rw.create_user_v1()
            .body(new_user("Grace.Hopper@Example.COM", ""))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(created.meta.writes.as_ref().unwrap().resources_affected, 1);
    let user = created.resources.unwrap().remove(0);
    assert_eq!(user.uid.as_deref(), Some("grace.hopper@example.com"));
    assert_eq!(user.first_name.as_deref(), Some("Grace"));
    assert_eq!(user.last_name.as_deref(), Some("Hopper"));
    assert_eq!(user.cid.as_deref(), Some(c.parent.as_str()));
    assert_eq!(user.status.as_deref(), Some("active"));
    let uuid = user.uuid.unwrap();
    let stored = c.user(&c.parent, &uuid).expect("stored");
    assert_eq!(stored.uid, "grace.hopper@example.com");
    assert_eq!(c.user_count(&c.parent), 51);
    c.sim.inspect(|s| {
        assert_eq!(
            s.tenants[&c.parent].by_uid["grace.hopper@example.com"],
            uuid
        );
        assert!(!s.tenants[&c.parent].grants.contains_key(&uuid));
    });

    let child = &c.children[1];
    let in_child =
        c.rw.create_user_v1()
            .body(new_user("kid@example.com", child))
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap()
            .remove(0);
    assert_eq!(in_child.cid.as_deref(), Some(child.as_str()));
    assert!(c.user(child, in_child.uuid.as_deref().unwrap()).is_some());
    assert_eq!(c.user_count(child), 6);

    // validate_only creates nothing.
    let checked =
        c.rw.create_user_v1()
            .validate_only(true)
            .body(new_user("dry.run@example.com", ""))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(checked.resources, Some(Vec::new()));
    assert_eq!(c.user_count(&c.parent), 51);
    c.sim.inspect(|s| {
        assert!(
            !s.tenants[&c.parent]
                .by_uid
                .contains_key("dry.run@example.com")
        )
    });
}

#[tokio::test]
async fn create_user_v1_refuses_duplicates_bad_logins_read_only_and_foreign_cids() {
    let c = ctx().await;
    let existing = c.users(&c.parent)[0].uid.clone();
    let duplicate = failure(
        c.rw.create_user_v1()
            .body(new_user(&existing.to_uppercase(), ""))
            .send()
            .await,
    )
    .await;
    assert_eq!(duplicate.status, 400);
    assert!(duplicate.declared);
    assert!(duplicate.mentions("already exists"));
    assert_eq!(c.user_count(&c.parent), 50);

    let bad = failure(
        c.rw.create_user_v1()
            .body(new_user("not-an-email", ""))
            .send()
            .await,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.mentions("an email address is required"));

    let read_only = failure(
        c.ro.create_user_v1()
            .body(new_user("ro@example.com", ""))
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert!(read_only.declared);

    let foreign = failure(
        c.rw.create_user_v1()
            .body(new_user(
                "x@example.com",
                "0123456789abcdef0123456789abcdef",
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(foreign.status, 403);

    let member = c.member(&c.children[0]).await;
    let sideways = failure(
        member
            .create_user_v1()
            .body(new_user("y@example.com", &c.children[1]))
            .send()
            .await,
    )
    .await;
    assert_eq!(sideways.status, 403);
    assert_eq!(c.user_count(&c.children[1]), 5);
}

#[tokio::test]
async fn create_user_v1_validate_only_refuses_a_taken_login() {
    let c = ctx().await;
    let existing = c.users(&c.parent)[0].uid.clone();
    let refused = failure(
        c.rw.create_user_v1()
            .validate_only(true)
            .body(new_user(&existing, ""))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.mentions("already exists"));
}

#[tokio::test]
async fn update_user_v1_renames() {
    let c = ctx().await;
    let before = c.users(&c.parent)[5].clone();
    let answer =
        c.rw.update_user_v1()
            .user_uuid(&before.uuid)
            .body(types::DomainUpdateUserRequest {
                first_name: Some(" Ada ".into()),
                last_name: None,
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 1);
    let user = &answer.resources.unwrap()[0];
    assert_eq!(user.first_name.as_deref(), Some("Ada"));
    assert_eq!(user.last_name.as_deref(), Some(before.last_name.as_str()));
    let after = c.user(&c.parent, &before.uuid).unwrap();
    assert_eq!(after.first_name, "Ada");
    assert_eq!(after.last_name, before.last_name);
    assert_eq!(after.uid, before.uid);
    assert_ne!(after.updated_at, before.updated_at);
    assert_eq!(user.updated_at.as_deref(), Some(after.updated_at.as_str()));
    chrono::DateTime::parse_from_rfc3339(&after.updated_at).unwrap();
}

#[tokio::test]
async fn update_user_v1_unknown_user_and_empty_change_are_400() {
    let c = ctx().await;
    let missing = failure(
        c.rw.update_user_v1()
            .user_uuid("no-such-user")
            .body(types::DomainUpdateUserRequest {
                first_name: Some("X".into()),
                last_name: None,
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(
        missing.status, 400,
        "updateUserV1 declares no 404: not found is its 400"
    );
    assert!(missing.declared);
    assert!(missing.mentions("invalid user uuid='no-such-user' specified"));

    let original = c.users(&c.parent)[0].clone();
    let uuid = original.uuid.clone();
    let empty = failure(
        c.rw.update_user_v1()
            .user_uuid(&uuid)
            .body(types::DomainUpdateUserRequest::default())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);

    let read_only = failure(
        c.ro.update_user_v1()
            .user_uuid(&uuid)
            .body(types::DomainUpdateUserRequest {
                first_name: Some("X".into()),
                last_name: None,
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert_eq!(c.user(&c.parent, &uuid).unwrap(), original);
}

#[tokio::test]
async fn delete_user_v1_removes_the_user_and_their_grants() {
    let c = ctx().await;
    let victim = c.user_holding(&c.parent, 1);
    let answer =
        c.rw.delete_user_v1()
            .user_uuid(&victim.uuid)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 1);
    assert_eq!(answer.errors, Some(Vec::new()));
    assert!(c.user(&c.parent, &victim.uuid).is_none());
    assert_eq!(c.user_count(&c.parent), 49);
    c.sim.inspect(|s| {
        let t = &s.tenants[&c.parent];
        assert!(!t.by_uid.contains_key(&victim.uid));
        assert!(!t.grants.contains_key(&victim.uuid));
    });

    let again = failure(c.rw.delete_user_v1().user_uuid(&victim.uuid).send().await).await;
    assert_eq!(
        again.status, 400,
        "deleteUserV1 declares no 404: not found is its 400"
    );
    assert!(again.declared);

    let other = c.users(&c.parent)[0].uuid.clone();
    let read_only = failure(c.ro.delete_user_v1().user_uuid(&other).send().await).await;
    assert_eq!(read_only.status, 403);
    assert!(read_only.declared);
    assert!(c.user(&c.parent, &other).is_some());
}

#[tokio::test]
async fn delete_user_v1_removes_grants_in_child_cids_too() {
    let c = ctx().await;
    let child = &c.children[0];
    let user = c.users(&c.parent)[0].clone();
    c.rw.user_roles_action_v1()
        .body(grant_v1(
            "grant",
            &user.uuid,
            child,
            &["falcon_console_guest"],
            None,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.held(child, &user.uuid),
        vec!["falcon_console_guest".to_owned()]
    );
    c.rw.delete_user_v1()
        .user_uuid(&user.uuid)
        .send()
        .await
        .unwrap();
    // The user is gone: naming them is the service's 400 `invalid user uuid`.
    let held = failure(
        c.rw.queries_roles_v1()
            .cid(child)
            .user_uuid(&user.uuid)
            .action("revoke")
            .send()
            .await,
    )
    .await;
    assert_eq!(held.status, 400);
    assert!(held.mentions(&format!("invalid user uuid='{}' specified", user.uuid)));
    c.sim.inspect(|s| {
        for (cid, tenant) in &s.tenants {
            assert!(
                !tenant.grants.contains_key(&user.uuid),
                "grants left in {cid}"
            );
        }
    });
}

fn action(
    name: types::DomainUserActionActionName,
    uuids: &[&str],
) -> types::DomainUserActionRequest {
    types::DomainUserActionRequest {
        action: types::DomainUserAction {
            action_name: name,
            action_value: None,
        },
        ids: uuids.iter().map(|u| (*u).to_owned()).collect(),
    }
}

#[tokio::test]
async fn user_action_v1_applies_to_existing_users_only() {
    let c = ctx().await;
    let all = c.users(&c.parent);
    let answer =
        c.rw.user_action_v1()
            .body(action(
                types::DomainUserActionActionName::ResetPassword,
                &[&all[0].uuid, &all[1].uuid],
            ))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 2);
    assert_eq!(answer.errors, Some(Vec::new()));
    let answer =
        c.rw.user_action_v1()
            .body(action(
                types::DomainUserActionActionName::Reset2fa,
                &[&all[2].uuid],
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 1);
    // The users are untouched otherwise.
    assert_eq!(c.users(&c.parent), all);

    let unknown = failure(
        c.rw.user_action_v1()
            .body(action(
                types::DomainUserActionActionName::ResetPassword,
                &[&all[0].uuid, "ghost"],
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.declared);
    assert!(unknown.mentions("invalid user uuid='ghost' specified"));

    let empty = failure(
        c.rw.user_action_v1()
            .body(action(
                types::DomainUserActionActionName::ResetPassword,
                &[],
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);

    let read_only = failure(
        c.ro.user_action_v1()
            .body(action(
                types::DomainUserActionActionName::ResetPassword,
                &[&all[0].uuid],
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert!(read_only.mentions("authorization failed"));
}

#[tokio::test]
async fn the_name_filter_matches_the_whole_first_or_last_name() {
    let c = ctx().await;
    let users = c.users(&c.parent);
    let ada = users.first().unwrap();
    let whole = format!("{} {}", ada.first_name, ada.last_name);
    let names = |u: &User| {
        [
            format!("{} {}", u.first_name, u.last_name).to_lowercase(),
            u.first_name.to_lowercase(),
            u.last_name.to_lowercase(),
        ]
    };
    let find = |filter: String| {
        let query = c.ro.query_user_v1().filter(filter).limit(500u64);
        async move { query.send().await.unwrap().into_inner().resources.unwrap() }
    };
    let part = ada.last_name[1..].to_lowercase();
    type Fits = Box<dyn Fn(&str) -> bool>;
    let cases: Vec<(String, Fits)> = vec![
        (format!("name:'{whole}'"), {
            let w = whole.to_lowercase();
            Box::new(move |n: &str| n == w)
        }),
        (format!("name:'{}'", ada.first_name), {
            let f = ada.first_name.to_lowercase();
            Box::new(move |n: &str| n == f)
        }),
        (format!("name:'{}'", ada.last_name), {
            let l = ada.last_name.to_lowercase();
            Box::new(move |n: &str| n == l)
        }),
        (format!("name:'*{part}*'"), {
            let p = part.clone();
            Box::new(move |n: &str| n.contains(&p))
        }),
    ];
    for (filter, fits) in &cases {
        let found = find(filter.clone()).await;
        assert!(found.contains(&ada.uuid), "{filter}: {found:?}");
        // Exactly the users one of whose names fits.
        let expected: Vec<&String> = users
            .iter()
            .filter(|u| names(u).iter().any(|n| fits(n)))
            .map(|u| &u.uuid)
            .collect();
        assert_eq!(found.len(), expected.len(), "{filter}");
    }
    let none = find(format!("name:'{} x'", ada.first_name)).await;
    assert!(none.is_empty(), "{none:?}");
}

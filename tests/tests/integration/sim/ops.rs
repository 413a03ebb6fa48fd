//! Every operation of `spec/user-management.json` (the operation table,
//! `falcon_users_api::operations::ALL`), each driven through the generated
//! `falcon_users_api::Client` against a running simulator: the happy path (the typed response and
//! the state it leaves, read with `Simulator::inspect`) and its main error path. Plus the headers
//! every answer carries and the rate limit. The coverage guarantees come from the table alone
//! (`gateway`): a raw request for every operation of `operations::ALL`, from its method and path,
//! is routed and answered with trace and rate headers, refused without a valid token, and refused
//! to a read-only token exactly where it writes; so a new operation needs only its spec entry,
//! `cargo xtask generate` and a simulator handler to keep this file green.
//!
//! Tests whose expectation the simulator does not meet yet are `#[ignore = "sim bug: ..."]`: they
//! assert the correct behaviour and say what the simulator does instead.
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use std::collections::{BTreeMap, BTreeSet};

use falcon_users_api::types;
use falcon_users_api::{Auth, Client, Hooks, HttpMethod, Operation, ResponseValue, operations};
use falcon_users_sim::state::User;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::*;
use reqwest::header::HeaderMap;

fn grant_v1(
    action: &str,
    uuid: &str,
    cid: &str,
    roles: &[&str],
    expires_at: Option<String>,
) -> types::FlightcontrolapiGrantInput {
    types::FlightcontrolapiGrantInput {
        action: Some(action.into()),
        // An empty `cid` leaves the member out.
        cid: (!cid.is_empty()).then(|| cid.to_owned()),
        expires_at,
        role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
        uuid: Some(uuid.into()),
    }
}

fn grant_v2(
    action: &str,
    uuid: &str,
    cid: &str,
    roles: &[&str],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> types::DomainActionUserRolesRequestV2 {
    types::DomainActionUserRolesRequestV2 {
        action: Some(action.into()),
        cid: Some(cid.into()),
        expires_at,
        role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
        uuid: Some(uuid.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// oauth2AccessToken, oauth2RevokeToken
// ---------------------------------------------------------------------------------------------

mod oauth2 {
    use super::*;

    #[tokio::test]
    async fn access_token_mints_a_working_bearer_token() {
        let c = ctx().await;
        let plain = Client::new(&c.base, Hooks::none());
        let minted = plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, None))
            .send()
            .await
            .unwrap();
        assert_eq!(minted.status().as_u16(), 201);
        assert_eq!(header(minted.headers(), "x-cs-region"), Some("us-1"));
        assert!(header(minted.headers(), "x-cs-traceid").is_some());
        let minted = minted.into_inner();
        assert_eq!(minted.token_type.as_deref(), Some("bearer"));
        assert_eq!(minted.expires_in, Some(1799));
        let token = minted.access_token.unwrap();
        assert!(!token.is_empty());

        let page = bearer(&c.base, &token)
            .query_user_v1()
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            page.meta.pagination.unwrap().total,
            c.user_count(&c.parent) as i64
        );
        assert_eq!(c.sim.request_count(&operations::OAUTH2_ACCESS_TOKEN), 3);
    }

    #[tokio::test]
    async fn access_token_with_member_cid_acts_in_the_child() {
        let c = ctx().await;
        let child = &c.children[0];
        // CIDs are case-insensitive on input.
        let member = bearer(
            &c.base,
            &mint(&c.base, RW_ID, RW_SECRET, Some(&child.to_uppercase())).await,
        );
        let page = member.query_user_v1().limit(500u64).send().await.unwrap();
        let expected: Vec<String> = c.users(child).into_iter().map(|u| u.uuid).collect();
        assert_eq!(page.resources.clone().unwrap(), expected);
        assert_eq!(page.meta.pagination.as_ref().unwrap().total, 5);
    }

    #[tokio::test]
    async fn access_token_refuses_bad_credentials_and_foreign_member_cids() {
        let c = ctx().await;
        let plain = Client::new(&c.base, Hooks::none());

        let wrong_secret = failure(
            plain
                .oauth2_access_token()
                .body(token_body(RW_ID, "not-the-secret", None))
                .send()
                .await,
        )
        .await;
        // The service's answer, seen by many clients: 403 "Failed to issue access token".
        assert_eq!(wrong_secret.status, 403, "{wrong_secret:?}");
        assert!(wrong_secret.declared, "the spec declares 403");
        assert!(wrong_secret.mentions("Failed to issue access token"));

        let unknown_client = failure(
            plain
                .oauth2_access_token()
                .body(token_body("nobody", RW_SECRET, None))
                .send()
                .await,
        )
        .await;
        assert_eq!(unknown_client.status, 403);

        // A member CID that is not a child of the client's CID.
        let foreign = "0123456789abcdef0123456789abcdef";
        let refused = failure(
            plain
                .oauth2_access_token()
                .body(token_body(RW_ID, RW_SECRET, Some(foreign)))
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(refused.declared);
        assert!(refused.mentions("invalid member_cid"));
        assert_eq!(refused.errors[0].0, 400);
    }

    #[tokio::test]
    async fn revoke_token_with_basic_auth_invalidates_the_token() {
        let c = ctx().await;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let victim = bearer(&c.base, &token);
        victim.query_user_v1().send().await.unwrap();

        assert_eq!(
            basic_header(RW_ID, RW_SECRET),
            "Basic c2ltLXJ3LWNsaWVudDpzaW0tcnctc2VjcmV0"
        );
        let revoked = basic(&c.base, RW_ID, RW_SECRET)
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: Some(RW_ID.into()),
                token: token.clone(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status().as_u16(), 200);
        assert!(header(revoked.headers(), "x-cs-traceid").is_some());
        let revoked = revoked.into_inner();
        assert_eq!(revoked.errors, Some(Vec::new()));
        assert!(!revoked.meta.trace_id.is_empty());

        let refused = failure(victim.query_user_v1().send().await).await;
        assert_eq!(refused.status, 401);
        assert!(refused.mentions("expired") || refused.mentions("invalid"));
        // The other tokens stay valid.
        c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(c.sim.request_count(&operations::OAUTH2_REVOKE_TOKEN), 1);
    }

    #[tokio::test]
    async fn revoke_token_without_valid_basic_auth_is_403() {
        let c = ctx().await;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let body = types::Oauth2RevokeTokenBody {
            client_id: None,
            token: token.clone(),
        };
        for client in [
            Client::new(&c.base, Hooks::none()),
            basic(&c.base, RW_ID, "wrong-secret"),
            basic(&c.base, "nobody", RW_SECRET),
            bearer(&c.base, &token),
        ] {
            let refused =
                failure(client.oauth2_revoke_token().body(body.clone()).send().await).await;
            assert_eq!(refused.status, 403, "{refused:?}");
            assert!(refused.declared);
            assert!(refused.mentions("client credentials required"));
        }
        // Nothing was revoked.
        bearer(&c.base, &token)
            .query_user_v1()
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn expired_tokens_are_401_and_new_ones_work() {
        let c = ctx().await;
        c.rw.query_user_v1().send().await.unwrap();
        c.sim.expire_tokens();
        let refused = failure(c.rw.query_user_v1().send().await).await;
        assert_eq!(refused.status, 401);
        assert!(!refused.declared, "queryUserV1 declares no 401");
        assert!(refused.mentions("expired bearer token"));
        let v2 = failure(c.ro.query_user_v2().send().await).await;
        assert_eq!(v2.status, 401);
        assert!(v2.declared, "queryUserV2 declares 401");
        let fresh = bearer(&c.base, &mint(&c.base, RW_ID, RW_SECRET, None).await);
        fresh.query_user_v1().send().await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// queryUserV1, queryUserV2, retrieveUsersGETV1, retrieveUsersGETV2, createUserV1, updateUserV1,
// deleteUserV1, userActionV1
// ---------------------------------------------------------------------------------------------

mod users {
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
                // `user_uuid` is what the grant queries require; the others ignore it.
                let response = http
                    .request(op.method.as_http(), format!("{}{}", c.base, op.path))
                    .bearer_auth(&token)
                    .query(&[(name, value.as_str()), ("user_uuid", uuid.as_str())])
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
        assert_eq!(unknown.resources, Some(Vec::new()));
        assert_eq!(unknown.errors.unwrap()[0].code, 404);
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
        assert_eq!(answer.resources, Some(Vec::new()));
        assert_eq!(
            answer.errors.unwrap()[0].id.as_deref(),
            Some(other.uuid.as_str())
        );
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
        assert!(missing.mentions("user no-such-user not found"));

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
        let held =
            c.rw.queries_roles_v1()
                .cid(child)
                .user_uuid(&user.uuid)
                .action("revoke")
                .send()
                .await
                .unwrap();
        assert_eq!(held.resources.clone().unwrap(), Vec::<String>::new());
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
        assert!(unknown.mentions("1 of the users do not exist"));

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
}

// ---------------------------------------------------------------------------------------------
// queriesRolesV1, entitiesRolesV1, entitiesRolesGETV2
// ---------------------------------------------------------------------------------------------

mod roles {
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
        assert_eq!(answer.status().as_u16(), 200);
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
}

// ---------------------------------------------------------------------------------------------
// combinedUserRolesV1, CombinedUserRolesV2, CombinedUserRolesV3, userRolesActionV1,
// userRolesActionV2
// ---------------------------------------------------------------------------------------------

mod grants {
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
        let long =
            failure(grant(chrono::Duration::days(7) + chrono::Duration::minutes(1)).await).await;
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
        assert!(unknown.mentions("user ghost not found"));
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
        let role = c.custom_role(child, 2);
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
        assert!(refused.mentions(&format!("invalid roleID {foreign}")));
        assert!(c.held(&c.parent, &user.uuid).is_empty());

        for hours in [0, 24 * 8] {
            let at = (chrono::Utc::now()
                + chrono::Duration::minutes(10)
                + chrono::Duration::hours(hours))
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
        let role = c.custom_role(child, 4);
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
}

// ---------------------------------------------------------------------------------------------
// The deprecated /users and /user-roles operations: retrieveUser, CreateUser, UpdateUser,
// DeleteUser, RetrieveEmailsByCID, RetrieveUserUUIDsByCID, RetrieveUserUUID, GetRoles,
// LegacyGrantUserRoleIds, LegacyRevokeUserRoleIds, LegacyGetAvailableRoleIds, LegacyGetUserRoleIds
// ---------------------------------------------------------------------------------------------

mod legacy {
    use super::*;

    fn same(meta: &types::DomainUserMetadata, user: &User) {
        assert_eq!(meta.uuid, user.uuid);
        assert_eq!(meta.customer, user.cid);
        assert_eq!(meta.uid.as_deref(), Some(user.uid.as_str()));
        assert_eq!(meta.first_name.as_deref(), Some(user.first_name.as_str()));
        assert_eq!(meta.last_name.as_deref(), Some(user.last_name.as_str()));
        assert_eq!(meta.status.as_deref(), Some(user.status.as_str()));
    }

    #[tokio::test]
    async fn retrieve_user_by_query_ids() {
        let c = ctx().await;
        let all = c.users(&c.parent);
        let answer =
            c.ro.legacy_retrieve_user()
                .ids(vec![
                    all[0].uuid.clone(),
                    "ghost".into(),
                    all[9].uuid.clone(),
                ])
                .send()
                .await
                .unwrap()
                .into_inner();
        let found = answer.resources.unwrap();
        assert_eq!(found.len(), 2);
        same(&found[0], &all[0]);
        same(&found[1], &all[9]);
        let errors = answer.errors.unwrap();
        assert_eq!(
            (errors[0].code, errors[0].id.as_deref()),
            (404, Some("ghost"))
        );

        let empty = failure(
            c.ro.legacy_retrieve_user()
                .ids(Vec::<String>::new())
                .send()
                .await,
        )
        .await;
        assert_eq!(empty.status, 400);
        assert!(empty.declared);
        assert!(empty.mentions("ids is required"));
    }

    #[tokio::test]
    async fn retrieve_user_with_only_unknown_ids_is_404() {
        let c = ctx().await;
        let missing = failure(
            c.ro.legacy_retrieve_user()
                .ids(vec!["ghost".to_owned()])
                .send()
                .await,
        )
        .await;
        assert_eq!(missing.status, 404);
        assert!(missing.declared);
    }

    #[tokio::test]
    async fn create_user_in_the_token_cid() {
        let c = ctx().await;
        let answer =
            c.rw.legacy_create_user()
                .body(types::DomainUserCreateRequest {
                    first_name: Some("Alan".into()),
                    last_name: Some("Turing".into()),
                    password: None,
                    uid: Some("Alan.Turing@Example.org".into()),
                })
                .send()
                .await
                .unwrap()
                .into_inner();
        let created = &answer.resources.unwrap()[0];
        assert_eq!(created.uid.as_deref(), Some("alan.turing@example.org"));
        assert_eq!(created.customer, c.parent);
        let stored = c.user(&c.parent, &created.uuid).unwrap();
        same(created, &stored);
        assert_eq!(c.user_count(&c.parent), 51);

        let duplicate = failure(
            c.rw.legacy_create_user()
                .body(types::DomainUserCreateRequest {
                    uid: Some("alan.turing@example.org".into()),
                    ..Default::default()
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(duplicate.status, 400);
        assert!(duplicate.declared);
        assert!(duplicate.mentions("already exists"));
        let read_only = failure(
            c.ro.legacy_create_user()
                .body(types::DomainUserCreateRequest {
                    uid: Some("ro@example.org".into()),
                    ..Default::default()
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(read_only.status, 403);
        assert_eq!(c.user_count(&c.parent), 51);
    }

    #[tokio::test]
    async fn update_user_renames_and_unknown_is_404() {
        let c = ctx().await;
        let before = c.users(&c.parent)[4].clone();
        let answer =
            c.rw.legacy_update_user()
                .user_uuid(&before.uuid)
                .body(types::DomainUpdateUserFields {
                    first_name: None,
                    last_name: Some("Lovelace".into()),
                })
                .send()
                .await
                .unwrap()
                .into_inner();
        let after = c.user(&c.parent, &before.uuid).unwrap();
        assert_eq!(after.last_name, "Lovelace");
        assert_eq!(after.first_name, before.first_name);
        same(&answer.resources.unwrap()[0], &after);

        let missing = failure(
            c.rw.legacy_update_user()
                .user_uuid("ghost")
                .body(types::DomainUpdateUserFields {
                    first_name: Some("X".into()),
                    last_name: None,
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(missing.status, 404);
        assert!(missing.declared, "UpdateUser declares 404");
    }

    #[tokio::test]
    async fn delete_user_and_unknown_is_404() {
        let c = ctx().await;
        let victim = c.user_holding(&c.parent, 1);
        let answer =
            c.rw.legacy_delete_user()
                .user_uuid(&victim.uuid)
                .send()
                .await
                .unwrap()
                .into_inner();
        assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 1);
        assert!(c.user(&c.parent, &victim.uuid).is_none());
        assert!(c.held(&c.parent, &victim.uuid).is_empty());
        assert_eq!(c.user_count(&c.parent), 49);

        let again = failure(
            c.rw.legacy_delete_user()
                .user_uuid(&victim.uuid)
                .send()
                .await,
        )
        .await;
        assert_eq!(again.status, 404);
        assert!(again.declared, "DeleteUser declares 404");
        let read_only = failure(
            c.ro.legacy_delete_user()
                .user_uuid(&c.users(&c.parent)[0].uuid)
                .send()
                .await,
        )
        .await;
        assert_eq!(read_only.status, 403);
    }

    #[tokio::test]
    async fn retrieve_emails_by_cid_lists_logins() {
        let c = ctx().await;
        let answer =
            c.ro.legacy_retrieve_emails_by_cid()
                .send()
                .await
                .unwrap()
                .into_inner();
        let expected: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uid).collect();
        assert_eq!(answer.resources.unwrap(), expected);

        let child = &c.children[0];
        let member = c.member(child).await;
        let theirs = member.legacy_retrieve_emails_by_cid().send().await.unwrap();
        let expected: Vec<String> = c.users(child).into_iter().map(|u| u.uid).collect();
        assert_eq!(theirs.resources.clone().unwrap(), expected);

        let anonymous = failure(
            bearer(&c.base, "forged")
                .legacy_retrieve_emails_by_cid()
                .send()
                .await,
        )
        .await;
        assert_eq!(anonymous.status, 401);
        assert!(!anonymous.declared);
        assert!(anonymous.mentions("invalid bearer token"));
    }

    #[tokio::test]
    async fn retrieve_user_uuids_by_cid_lists_uuids() {
        let c = ctx().await;
        let answer =
            c.ro.legacy_retrieve_user_uuids_by_cid()
                .send()
                .await
                .unwrap()
                .into_inner();
        let expected: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uuid).collect();
        assert_eq!(answer.resources.unwrap(), expected);
        assert_eq!(answer.errors, Some(Vec::new()));
        c.sim.expire_tokens();
        let expired = failure(c.ro.legacy_retrieve_user_uuids_by_cid().send().await).await;
        assert_eq!(expired.status, 401);
    }

    #[tokio::test]
    async fn retrieve_user_uuid_resolves_logins() {
        let c = ctx().await;
        let all = c.users(&c.parent);
        let answer =
            c.ro.legacy_retrieve_user_uuid()
                .uid(vec![
                    all[2].uid.to_uppercase(),
                    "nobody@example.com".into(),
                    all[8].uid.clone(),
                ])
                .send()
                .await
                .unwrap();
        assert_eq!(
            answer.resources.clone().unwrap(),
            vec![all[2].uuid.clone(), all[8].uuid.clone()]
        );

        let missing = failure(
            c.ro.legacy_retrieve_user_uuid()
                .uid(vec!["nobody@example.com".to_owned()])
                .send()
                .await,
        )
        .await;
        assert_eq!(missing.status, 404);
        assert!(missing.declared);
        let empty = failure(
            c.ro.legacy_retrieve_user_uuid()
                .uid(Vec::<String>::new())
                .send()
                .await,
        )
        .await;
        assert_eq!(empty.status, 400);
    }

    #[tokio::test]
    async fn get_roles_by_query_ids() {
        let c = ctx().await;
        let custom = c.custom_role(&c.parent, 7);
        let answer =
            c.ro.legacy_get_roles()
                .ids(vec![
                    "falconhost_analyst".to_owned(),
                    custom.clone(),
                    "nope".into(),
                ])
                .send()
                .await
                .unwrap()
                .into_inner();
        let found = answer.resources.unwrap();
        assert_eq!(found.len(), 2);
        for (got, id) in found.iter().zip(["falconhost_analyst", custom.as_str()]) {
            let role = c.role(&c.parent, id);
            assert_eq!(got.id, role.id);
            assert_eq!(got.display_name, role.display_name);
            assert_eq!(got.description, role.description);
            assert_eq!(got.cid, role.cid);
        }
        assert_eq!(answer.errors.unwrap()[0].id.as_deref(), Some("nope"));

        let missing = failure(
            c.ro.legacy_get_roles()
                .ids(vec!["nope".to_owned()])
                .send()
                .await,
        )
        .await;
        assert_eq!(missing.status, 404);
        assert!(missing.declared);
        let empty = failure(
            c.ro.legacy_get_roles()
                .ids(Vec::<String>::new())
                .send()
                .await,
        )
        .await;
        assert_eq!(empty.status, 400);
    }

    #[tokio::test]
    async fn grant_user_role_ids_grants_in_the_token_cid() {
        let c = ctx().await;
        let holder = c.user_holding(&c.parent, 1);
        let role = c.builtin_not_held(&c.parent, &holder.uuid);
        let before = c.held(&c.parent, &holder.uuid);
        let answer =
            c.rw.legacy_grant_user_role_ids()
                .user_uuid(&holder.uuid)
                .body(types::DomainRoleIds {
                    role_ids: vec![role.clone()],
                })
                .send()
                .await
                .unwrap()
                .into_inner();
        let mut returned = answer.resources.unwrap();
        returned.sort();
        let mut expected = before.clone();
        expected.push(role.clone());
        expected.sort();
        assert_eq!(returned, expected);
        assert_eq!(c.held(&c.parent, &holder.uuid), expected);

        let foreign = c.custom_role(&c.children[1], 0);
        let refused = failure(
            c.rw.legacy_grant_user_role_ids()
                .user_uuid(&holder.uuid)
                .body(types::DomainRoleIds {
                    role_ids: vec![foreign.clone()],
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(refused.declared);
        assert!(refused.mentions("invalid roleID"));
        let ghost = failure(
            c.rw.legacy_grant_user_role_ids()
                .user_uuid("ghost")
                .body(types::DomainRoleIds {
                    role_ids: vec![role.clone()],
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(ghost.status, 400);
        let read_only = failure(
            c.ro.legacy_grant_user_role_ids()
                .user_uuid(&holder.uuid)
                .body(types::DomainRoleIds {
                    role_ids: vec!["user_admin".into()],
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(read_only.status, 403);
        assert_eq!(c.held(&c.parent, &holder.uuid), expected);
    }

    #[tokio::test]
    async fn revoke_user_role_ids_revokes_in_the_token_cid() {
        let c = ctx().await;
        let holder = c.user_holding(&c.parent, 2);
        let held = c.held(&c.parent, &holder.uuid);
        let answer =
            c.rw.legacy_revoke_user_role_ids()
                .user_uuid(&holder.uuid)
                .ids(vec![held[0].clone()])
                .send()
                .await
                .unwrap()
                .into_inner();
        let mut left = answer.resources.unwrap();
        left.sort();
        assert_eq!(left, held[1..].to_vec());
        assert_eq!(c.held(&c.parent, &holder.uuid), held[1..].to_vec());

        let empty = failure(
            c.rw.legacy_revoke_user_role_ids()
                .user_uuid(&holder.uuid)
                .ids(Vec::<String>::new())
                .send()
                .await,
        )
        .await;
        assert_eq!(empty.status, 400);
        assert!(empty.declared);
        let read_only = failure(
            c.ro.legacy_revoke_user_role_ids()
                .user_uuid(&holder.uuid)
                .ids(vec![held[1].clone()])
                .send()
                .await,
        )
        .await;
        assert_eq!(read_only.status, 403);
        assert_eq!(c.held(&c.parent, &holder.uuid), held[1..].to_vec());
    }

    #[tokio::test]
    async fn get_available_role_ids_lists_the_token_cid_roles() {
        let c = ctx().await;
        let answer =
            c.ro.legacy_get_available_role_ids()
                .send()
                .await
                .unwrap()
                .into_inner();
        assert_eq!(answer.resources.unwrap(), c.role_ids(&c.parent));
        let child = &c.children[1];
        let member = c.member(child).await;
        let theirs = member.legacy_get_available_role_ids().send().await.unwrap();
        assert_eq!(theirs.resources.clone().unwrap(), c.role_ids(child));

        let anonymous = failure(
            bearer(&c.base, "eu-1.0123")
                .legacy_get_available_role_ids()
                .send()
                .await,
        )
        .await;
        assert_eq!(anonymous.status, 401);
        assert!(anonymous.mentions("another cloud region"));
    }

    #[tokio::test]
    async fn get_user_role_ids_lists_held_roles() {
        let c = ctx().await;
        let holder = c.user_holding(&c.parent, 2);
        let mut answer =
            c.ro.legacy_get_user_role_ids()
                .user_uuid(&holder.uuid)
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap();
        answer.sort();
        assert_eq!(answer, c.held(&c.parent, &holder.uuid));
        let none = c.user_without_roles(&c.parent);
        let empty =
            c.ro.legacy_get_user_role_ids()
                .user_uuid(&none.uuid)
                .send()
                .await
                .unwrap();
        assert_eq!(empty.resources.clone().unwrap(), Vec::<String>::new());

        let ghost = failure(
            c.ro.legacy_get_user_role_ids()
                .user_uuid("ghost")
                .send()
                .await,
        )
        .await;
        assert_eq!(ghost.status, 400);
        assert!(ghost.declared);
    }
}

// ---------------------------------------------------------------------------------------------
// queriesPermissionsV1, entitiesPermissionsGETV1, entitiesPermissionGroupsGETV1,
// entitiesRolePermissionsV1, userAllowedActionsV1
// ---------------------------------------------------------------------------------------------

mod permissions {
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
}

// ---------------------------------------------------------------------------------------------
// queryUserInvitationsV1, getUserInvitationsGETV1
// ---------------------------------------------------------------------------------------------

mod invitations {
    use super::*;

    #[tokio::test]
    async fn query_user_invitations_v1_pages_over_none() {
        let c = ctx().await;
        let answer =
            c.ro.query_user_invitations_v1()
                .send()
                .await
                .unwrap()
                .into_inner();
        assert_eq!(answer.resources, Some(Vec::new()));
        let paging = answer.meta.pagination.unwrap();
        assert_eq!((paging.offset, paging.limit, paging.total), (0, 100, 0));
        let page =
            c.ro.query_user_invitations_v1()
                .filter("status:'pending'")
                .sort("created_at.desc")
                .offset(20u64)
                .limit(10u64)
                .send()
                .await
                .unwrap();
        let paging = page.meta.pagination.clone().unwrap();
        assert_eq!((paging.offset, paging.limit, paging.total), (20, 10, 0));

        let too_many = failure(c.ro.query_user_invitations_v1().limit(501u64).send().await).await;
        assert_eq!(too_many.status, 400);
        assert!(too_many.declared);
    }

    #[tokio::test]
    async fn query_user_invitations_v1_refuses_bad_fql() {
        let c = ctx().await;
        let refused = failure(
            c.ro.query_user_invitations_v1()
                .filter("status:'pending")
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400);
    }

    #[tokio::test]
    async fn get_user_invitations_get_v1_reports_each_unknown_id() {
        let c = ctx().await;
        let answer = failure(
            c.ro.get_user_invitations_get_v1()
                .body(ids(&["inv-1", "inv-2"]))
                .send()
                .await,
        )
        .await;
        // No invitation exists in the simulated tenants: every id is reported not found, with
        // the 400 getUserInvitationsGETV1 declares (it declares no 404).
        assert_eq!(answer.status, 400);
        assert!(answer.declared);
        let reported: Vec<(i64, Option<String>)> =
            answer.errors.iter().map(|e| (e.0, e.1.clone())).collect();
        assert_eq!(
            reported,
            vec![
                (404, Some("inv-1".to_owned())),
                (404, Some("inv-2".to_owned()))
            ]
        );

        let empty = failure(
            c.ro.get_user_invitations_get_v1()
                .body(ids(&[]))
                .send()
                .await,
        )
        .await;
        assert_eq!(empty.status, 400);
        assert!(empty.declared);
    }
}

// ---------------------------------------------------------------------------------------------
// aggregateUsersV1, aggregateUsersV2
// ---------------------------------------------------------------------------------------------

mod aggregates {
    use super::*;

    fn counts(c: &Ctx, cid: &str, field: impl Fn(&User) -> String) -> Vec<(String, i64)> {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for u in c.users(cid) {
            *counts.entry(field(&u)).or_default() += 1;
        }
        let mut buckets: Vec<(String, i64)> = counts.into_iter().collect();
        buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        buckets
    }

    fn buckets(result: &types::MsaAggregationResult) -> Vec<(String, i64)> {
        result
            .buckets
            .iter()
            .map(|b| {
                (
                    b.label
                        .as_ref()
                        .and_then(|l| l.as_str())
                        .unwrap()
                        .to_owned(),
                    b.count,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn aggregate_users_v1_counts_terms() {
        let c = ctx().await;
        let answer =
            c.ro.aggregate_users_v1()
                .body(vec![
                    terms("status", "", 10),
                    terms("first_name", "", 2),
                    terms("status", "status:'active'", 10),
                ])
                .send()
                .await
                .unwrap()
                .into_inner();
        let results = answer.resources.unwrap();
        assert_eq!(results.len(), 3);

        let by_status = counts(&c, &c.parent, |u| u.status.clone());
        assert_eq!(results[0].name, "by_status");
        assert_eq!(buckets(&results[0]), by_status);
        assert_eq!(results[0].sum_other_doc_count, Some(0));
        assert_eq!(
            results[0].buckets[0].key_as_string.as_deref(),
            Some("active")
        );
        assert_eq!(by_status.iter().map(|b| b.1).sum::<i64>(), 50);

        let by_name = counts(&c, &c.parent, |u| u.first_name.clone());
        assert_eq!(buckets(&results[1]), by_name[..2].to_vec());
        assert_eq!(
            results[1].sum_other_doc_count,
            Some(by_name[2..].iter().map(|b| b.1).sum::<i64>())
        );

        let active = by_status.iter().find(|b| b.0 == "active").unwrap().clone();
        assert_eq!(buckets(&results[2]), vec![active]);

        let refused = failure(
            c.ro.aggregate_users_v1()
                .body(vec![terms("uid", "", 10)])
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.declared,
            "aggregateUsersV1 declares 400 (spec/CURATION.md, 9)"
        );
        assert!(refused.mentions("only terms aggregations"));
        let mut range = terms("status", "", 10);
        range.type_ = Some("range".into());
        let refused = failure(c.ro.aggregate_users_v1().body(vec![range]).send().await).await;
        assert_eq!(refused.status, 400);
        let fql = failure(
            c.ro.aggregate_users_v1()
                .body(vec![terms("status", "status:'x", 10)])
                .send()
                .await,
        )
        .await;
        assert_eq!(fql.status, 400);
    }

    #[tokio::test]
    async fn aggregate_users_v2_counts_internal_users() {
        let c = ctx().await;
        let answer =
            c.ro.aggregate_users_v2()
                .user_type(types::AggregateUsersV2UserType::Internal)
                .body(vec![terms("status", "", 10)])
                .send()
                .await
                .unwrap()
                .into_inner();
        assert_eq!(
            buckets(&answer.resources.unwrap()[0]),
            counts(&c, &c.parent, |u| u.status.clone())
        );
        // By CID, the parent's token counts its own users.
        let by_cid =
            c.ro.aggregate_users_v2()
                .body(vec![terms("cid", "", 10)])
                .send()
                .await
                .unwrap()
                .into_inner();
        let parent_users = c.user_count(&c.parent) as i64;
        assert_eq!(
            buckets(&by_cid.resources.unwrap()[0])[0],
            (c.parent.clone(), parent_users)
        );

        let child = &c.children[0];
        let member = c.member(child).await;
        let theirs = member
            .aggregate_users_v2()
            .body(vec![terms("cid", "", 10)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            buckets(&theirs.resources.clone().unwrap()[0]),
            vec![(child.clone(), 5)]
        );

        let anonymous = failure(
            bearer(&c.base, "forged")
                .aggregate_users_v2()
                .body(vec![terms("status", "", 10)])
                .send()
                .await,
        )
        .await;
        assert_eq!(anonymous.status, 401);
        assert!(anonymous.declared, "aggregateUsersV2 declares 401");
    }

    #[tokio::test]
    async fn aggregate_users_v2_external_counts_no_internal_user() {
        let c = ctx().await;
        let answer =
            c.ro.aggregate_users_v2()
                .user_type(types::AggregateUsersV2UserType::External)
                .body(vec![terms("status", "", 10)])
                .send()
                .await
                .unwrap()
                .into_inner();
        assert!(answer.resources.unwrap()[0].buckets.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Headers, rate limits, and the sweep over every operation
// ---------------------------------------------------------------------------------------------

mod gateway {
    use super::*;

    /// What the sweep acts on.
    struct Targets {
        cid: String,
        uuid: String,
        uid: String,
        victim_v1: String,
        victim_legacy: String,
        role: String,
    }

    impl Targets {
        fn new(c: &Ctx) -> Targets {
            let users = c.users(&c.parent);
            Targets {
                cid: c.parent.clone(),
                uuid: users[0].uuid.clone(),
                uid: users[0].uid.clone(),
                victim_v1: users[1].uuid.clone(),
                victim_legacy: users[2].uuid.clone(),
                role: "falcon_console_guest".into(),
            }
        }
    }

    /// One typed call, with valid arguments, of each bearer-token operation it knows (every one
    /// of the table today): (operation, status, headers). A behaviour test of those calls; that
    /// EVERY operation of the table is routed, authenticated and scoped is asserted from the table
    /// alone by [`raw`] (`every_operation_of_the_table_…`), so a new operation needs no line here.
    async fn sweep(api: &Client, t: &Targets) -> Vec<(&'static Operation, u16, HeaderMap)> {
        let mut out = Vec::new();
        let mut add = |op: &'static Operation, (status, headers): (u16, HeaderMap)| {
            out.push((op, status, headers))
        };
        let uuid = t.uuid.as_str();
        let role = t.role.as_str();
        add(
            &operations::AGGREGATE_USERS_V1,
            outcome(
                api.aggregate_users_v1()
                    .body(vec![terms("status", "", 10)])
                    .send()
                    .await,
            ),
        );
        add(
            &operations::AGGREGATE_USERS_V2,
            outcome(
                api.aggregate_users_v2()
                    .body(vec![terms("status", "", 10)])
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_COMBINED_USER_ROLES_V1,
            outcome(
                api.legacy_combined_user_roles_v1()
                    .user_uuid(uuid)
                    .send()
                    .await,
            ),
        );
        add(
            &operations::COMBINED_USER_ROLES_V2,
            outcome(api.combined_user_roles_v2().user_uuid(uuid).send().await),
        );
        add(
            &operations::COMBINED_USER_ROLES_V3,
            outcome(api.combined_user_roles_v3().user_uuid(uuid).send().await),
        );
        add(
            &operations::ENTITIES_PERMISSION_GROUPS_GET_V1,
            outcome(
                api.entities_permission_groups_get_v1()
                    .body(ids(&["users"]))
                    .send()
                    .await,
            ),
        );
        add(
            &operations::ENTITIES_PERMISSIONS_GET_V1,
            outcome(
                api.entities_permissions_get_v1()
                    .body(ids(&["users:read"]))
                    .send()
                    .await,
            ),
        );
        add(
            &operations::ENTITIES_ROLE_PERMISSIONS_V1,
            outcome(api.entities_role_permissions_v1().id(role).send().await),
        );
        add(
            &operations::ENTITIES_ROLES_GET_V2,
            outcome(api.entities_roles_get_v2().body(ids(&[role])).send().await),
        );
        add(
            &operations::LEGACY_ENTITIES_ROLES_V1,
            outcome(
                api.legacy_entities_roles_v1()
                    .ids(vec![role.to_owned()])
                    .send()
                    .await,
            ),
        );
        add(
            &operations::GET_USER_INVITATIONS_GET_V1,
            outcome(
                api.get_user_invitations_get_v1()
                    .body(ids(&["inv-1"]))
                    .send()
                    .await,
            ),
        );
        add(
            &operations::RETRIEVE_USERS_GET_V1,
            outcome(api.retrieve_users_get_v1().body(ids(&[uuid])).send().await),
        );
        add(
            &operations::RETRIEVE_USERS_GET_V2,
            outcome(api.retrieve_users_get_v2().body(ids(&[uuid])).send().await),
        );
        add(
            &operations::QUERIES_PERMISSIONS_V1,
            outcome(api.queries_permissions_v1().send().await),
        );
        add(
            &operations::QUERIES_ROLES_V1,
            outcome(api.queries_roles_v1().send().await),
        );
        add(
            &operations::QUERY_USER_INVITATIONS_V1,
            outcome(api.query_user_invitations_v1().send().await),
        );
        add(
            &operations::QUERY_USER_V1,
            outcome(api.query_user_v1().send().await),
        );
        add(
            &operations::QUERY_USER_V2,
            outcome(api.query_user_v2().send().await),
        );
        add(
            &operations::LEGACY_GET_ROLES,
            outcome(
                api.legacy_get_roles()
                    .ids(vec![role.to_owned()])
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_GET_AVAILABLE_ROLE_IDS,
            outcome(api.legacy_get_available_role_ids().send().await),
        );
        add(
            &operations::LEGACY_GET_USER_ROLE_IDS,
            outcome(api.legacy_get_user_role_ids().user_uuid(uuid).send().await),
        );
        add(
            &operations::LEGACY_RETRIEVE_USER,
            outcome(
                api.legacy_retrieve_user()
                    .ids(vec![uuid.to_owned()])
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_RETRIEVE_EMAILS_BY_CID,
            outcome(api.legacy_retrieve_emails_by_cid().send().await),
        );
        add(
            &operations::LEGACY_RETRIEVE_USER_UUIDS_BY_CID,
            outcome(api.legacy_retrieve_user_uuids_by_cid().send().await),
        );
        add(
            &operations::LEGACY_RETRIEVE_USER_UUID,
            outcome(
                api.legacy_retrieve_user_uuid()
                    .uid(vec![t.uid.clone()])
                    .send()
                    .await,
            ),
        );
        // Writes.
        let action = types::DomainUserActionRequest {
            action: types::DomainUserAction {
                action_name: types::DomainUserActionActionName::ResetPassword,
                action_value: None,
            },
            ids: vec![uuid.to_owned()],
        };
        add(
            &operations::USER_ACTION_V1,
            outcome(api.user_action_v1().body(action).send().await),
        );
        add(
            &operations::USER_ALLOWED_ACTIONS_V1,
            outcome(
                api.user_allowed_actions_v1()
                    .body(types::DomainActionValidationRequest {
                        allowed_actions: Vec::new(),
                    })
                    .send()
                    .await,
            ),
        );
        add(
            &operations::USER_ROLES_ACTION_V1,
            outcome(
                api.user_roles_action_v1()
                    .body(grant_v1("grant", uuid, &t.cid, &[role], None))
                    .send()
                    .await,
            ),
        );
        add(
            &operations::USER_ROLES_ACTION_V2,
            outcome(
                api.user_roles_action_v2()
                    .body(grant_v2("revoke", uuid, &t.cid, &[role], None))
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_GRANT_USER_ROLE_IDS,
            outcome(
                api.legacy_grant_user_role_ids()
                    .user_uuid(uuid)
                    .body(types::DomainRoleIds {
                        role_ids: vec![role.to_owned()],
                    })
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_REVOKE_USER_ROLE_IDS,
            outcome(
                api.legacy_revoke_user_role_ids()
                    .user_uuid(uuid)
                    .ids(vec![role.to_owned()])
                    .send()
                    .await,
            ),
        );
        let create = types::DomainCreateUserRequest {
            uid: Some("sweep.v1@example.com".into()),
            ..Default::default()
        };
        add(
            &operations::CREATE_USER_V1,
            outcome(api.create_user_v1().body(create).send().await),
        );
        let rename = types::DomainUpdateUserRequest {
            first_name: Some("Swept".into()),
            last_name: None,
        };
        add(
            &operations::UPDATE_USER_V1,
            outcome(
                api.update_user_v1()
                    .user_uuid(uuid)
                    .body(rename)
                    .send()
                    .await,
            ),
        );
        add(
            &operations::DELETE_USER_V1,
            outcome(api.delete_user_v1().user_uuid(&t.victim_v1).send().await),
        );
        let create = types::DomainUserCreateRequest {
            uid: Some("sweep.legacy@example.com".into()),
            ..Default::default()
        };
        add(
            &operations::LEGACY_CREATE_USER,
            outcome(api.legacy_create_user().body(create).send().await),
        );
        let rename = types::DomainUpdateUserFields {
            first_name: None,
            last_name: Some("Swept".into()),
        };
        add(
            &operations::LEGACY_UPDATE_USER,
            outcome(
                api.legacy_update_user()
                    .user_uuid(uuid)
                    .body(rename)
                    .send()
                    .await,
            ),
        );
        add(
            &operations::LEGACY_DELETE_USER,
            outcome(
                api.legacy_delete_user()
                    .user_uuid(&t.victim_legacy)
                    .send()
                    .await,
            ),
        );
        out
    }

    /// operationId → required scope (None for the token operations), from the spec itself: the
    /// table the simulator is built from must say the same.
    fn spec_operations() -> BTreeMap<String, Option<String>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/user-management.json");
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut ops = BTreeMap::new();
        for methods in spec["paths"].as_object().unwrap().values() {
            for op in methods.as_object().unwrap().values() {
                let Some(id) = op["operationId"].as_str() else {
                    continue;
                };
                let scope = op["security"][0]["oauth2"][0].as_str().map(str::to_owned);
                ops.insert(id.to_owned(), scope);
            }
        }
        ops
    }

    fn table_scope(op: &Operation) -> Option<String> {
        match op.auth {
            Auth::Bearer { scopes } => scopes.first().map(|s| (*s).to_owned()),
            Auth::None | Auth::Basic => None,
        }
    }

    /// The ids of `ops`, joined, for failure messages.
    fn named<'a>(ops: impl IntoIterator<Item = &'a Operation>) -> String {
        ops.into_iter()
            .map(|op| op.id)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A raw request for `op` built from the table alone: its method and path; for a bearer
    /// operation `authorization` (if any) and, on a POST/PATCH/PUT, the body `{}`; for the token
    /// operation the read-write client's credentials as a form; for revoke its Basic credentials
    /// and a form naming `token`. The arguments are not valid: the answer is the simulator's, not
    /// necessarily a success.
    async fn raw(
        c: &Ctx,
        op: &Operation,
        authorization: Option<&str>,
        token: &str,
    ) -> (u16, HeaderMap, serde_json::Value) {
        let url = format!("{}{}", c.base, op.path);
        let request = reqwest::Client::new().request(op.method.as_http(), url);
        let request = match op.auth {
            Auth::None => request.form(&[("client_id", RW_ID), ("client_secret", RW_SECRET)]),
            Auth::Basic => request
                .header("authorization", basic_header(RW_ID, RW_SECRET))
                .form(&[("token", token)]),
            Auth::Bearer { .. } => {
                let request = match authorization {
                    Some(value) => request.header("authorization", value),
                    None => request,
                };
                match op.method {
                    HttpMethod::Post | HttpMethod::Patch | HttpMethod::Put => request
                        .header("content-type", "application/json")
                        .body("{}"),
                    HttpMethod::Get | HttpMethod::Delete => request,
                }
            }
        };
        let answer = request.send().await.unwrap_or_else(|e| panic!("{op}: {e}"));
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let body = answer.json().await.unwrap_or_default();
        (status, headers, body)
    }

    /// The message of the first error of an envelope.
    fn message(body: &serde_json::Value) -> &str {
        body["errors"][0]["message"].as_str().unwrap_or_default()
    }

    fn bearer_ops() -> impl Iterator<Item = &'static Operation> {
        operations::ALL
            .iter()
            .filter(|op| matches!(op.auth, Auth::Bearer { .. }))
    }

    /// Every user and their grants, in every CID: to show that refused requests changed nothing.
    fn snapshot(c: &Ctx) -> BTreeMap<(String, String), (User, Vec<String>)> {
        c.sim.inspect(|s| {
            s.tenants
                .iter()
                .flat_map(|(cid, t)| {
                    t.users.iter().map(move |(uuid, user)| {
                        let grants = roles_held(t, uuid);
                        ((cid.clone(), uuid.clone()), (user.clone(), grants))
                    })
                })
                .collect()
        })
    }

    #[tokio::test]
    async fn every_operation_of_the_table_is_routed_and_answers_with_trace_and_rate_headers() {
        let c = ctx().await;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let spare = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let authorization = format!("Bearer {token}");
        let mut unrouted = Vec::new();
        for op in operations::ALL {
            // What the router answers for a path no operation has, with the same method.
            let made_up = Operation {
                path: "/user-management/queries/made-up/v1",
                ..*op
            };
            let (router_status, _, router_body) =
                raw(&c, &made_up, Some(&authorization), &spare).await;
            assert_eq!(router_status, 404, "{op}: a made-up path");
            let router_message = message(&router_body).replace(made_up.path, op.path);
            assert!(router_message.contains(op.path), "{router_message}");

            let (status, headers, body) = raw(&c, op, Some(&authorization), &spare).await;
            if status == 405 || (status == 404 && message(&body) == router_message) {
                unrouted.push(format!("{op} ({status}: {})", message(&body)));
                continue;
            }
            let trace =
                header(&headers, "X-CS-TRACEID").unwrap_or_else(|| panic!("{op}: no trace id"));
            assert!(trace.starts_with("sim-"), "{op}: {trace}");
            // Every answer reports the budget of the client that authenticated; the API's
            // operations spend it, the token endpoints do not.
            assert_eq!(header_num(&headers, "X-RateLimit-Limit"), 6000, "{op}");
            let remaining = header_num(&headers, "X-RateLimit-Remaining");
            if matches!(op.auth, Auth::Bearer { .. }) {
                assert!(remaining < 6000, "{op}: remaining {remaining}");
            }
        }
        assert!(unrouted.is_empty(), "not routed: {}", unrouted.join("; "));
        // Every request reached its operation's handler, counted under the table's id.
        let unanswered: Vec<&Operation> = operations::ALL
            .iter()
            .filter(|op| c.sim.request_count(op) == 0)
            .collect();
        assert!(
            unanswered.is_empty(),
            "the simulator counted no {}",
            named(unanswered)
        );
        let counted: BTreeSet<&str> = c.sim.request_counts().into_keys().collect();
        let table: BTreeSet<&str> = operations::ALL.iter().map(|op| op.id).collect();
        assert_eq!(counted, table, "counts are keyed by the table's ids");
    }

    /// One provocation of an operation: the `Authorization` value, the query, and the body (a
    /// form for the token endpoints, JSON for the rest).
    struct Provocation {
        why: &'static str,
        authorization: Option<String>,
        query: String,
        body: Option<String>,
    }

    /// What each operation is sent to draw out its statuses: success, bad input, unknown ids,
    /// another CID, a read-only token, wrong credentials.
    fn provocations(c: &Ctx, op: &Operation, rw: &str, ro: &str, spare: &str) -> Vec<Provocation> {
        let user = c.users(&c.parent).pop().expect("a seeded user");
        let role = c.custom_role(&c.parent, 0);
        let foreign = "0123456789abcdef0123456789abcdef";
        let p =
            |why, authorization: Option<String>, query: String, body: Option<String>| Provocation {
                why,
                authorization,
                query,
                body,
            };
        let known_query = format!(
            "ids={u}&uuid={u}&user_uuid={u}&uid={login}&id={role}&role_id={role}&cid={cid}&action=grant",
            u = user.uuid,
            login = user.uid,
            cid = c.parent,
        );
        let known_body = serde_json::json!({
            "ids": [user.uuid],
            "uuid": user.uuid,
            "uid": format!("new.{}", user.uid),
            "cid": c.parent,
            "role_ids": [role],
            "action": "grant",
            "action_name": "reset_password",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "roleIds": [role],
        })
        .to_string();
        // The aggregates take a list of aggregation requests.
        let known_body = if op.path.contains("/aggregates/") {
            serde_json::to_string(&[terms("status", "", 10)]).expect("serialisable")
        } else {
            known_body
        };
        match op.auth {
            Auth::None => vec![
                p(
                    "good credentials",
                    None,
                    String::new(),
                    Some(format!("client_id={RW_ID}&client_secret={RW_SECRET}")),
                ),
                p(
                    "wrong credentials",
                    None,
                    String::new(),
                    Some(format!("client_id={RW_ID}&client_secret=wrong")),
                ),
                p("no credentials", None, String::new(), Some(String::new())),
                p(
                    "a foreign member CID",
                    None,
                    String::new(),
                    Some(format!(
                        "client_id={RW_ID}&client_secret={RW_SECRET}&member_cid={foreign}"
                    )),
                ),
            ],
            Auth::Basic => vec![
                p(
                    "a token",
                    Some(basic_header(RW_ID, RW_SECRET)),
                    String::new(),
                    Some(format!("token={spare}")),
                ),
                p(
                    "no token",
                    Some(basic_header(RW_ID, RW_SECRET)),
                    String::new(),
                    Some(String::new()),
                ),
                p(
                    "wrong credentials",
                    Some(basic_header(RW_ID, "wrong")),
                    String::new(),
                    Some(format!("token={spare}")),
                ),
            ],
            Auth::Bearer { .. } => {
                let rw = Some(format!("Bearer {rw}"));
                vec![
                    p("nothing", rw.clone(), String::new(), Some("{}".into())),
                    p("known ids", rw.clone(), known_query.clone(), Some(known_body.clone())),
                    p("unknown ids", rw.clone(), "ids=nope&uuid=nope&user_uuid=nope&uid=nobody@example.com&id=nope&role_id=nope&action=revoke".into(), Some(r#"{"ids":["nope"],"uuid":"nope","uid":"nobody","cid":"","role_ids":["nope"],"action":"revoke","roleIds":["nope"]}"#.into())),
                    p("another CID", rw.clone(), format!("cid={foreign}&ids={}", user.uuid), Some(format!(r#"{{"ids":["{}"],"cid":"{foreign}","uuid":"{}","role_ids":["{role}"],"action":"grant"}}"#, user.uuid, user.uuid))),
                    p("bad input", rw.clone(), "limit=-1&offset=-5&sort=nope&filter=bogus:'x".into(), Some("not json".into())),
                    p("a read-only token", Some(format!("Bearer {ro}")), known_query, Some(known_body)),
                ]
            }
        }
    }

    #[tokio::test]
    async fn every_status_the_simulator_answers_is_one_the_spec_declares_for_the_operation() {
        let c = ctx().await;
        let http = reqwest::Client::new();
        let mut seen: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
        let mut undeclared = Vec::new();
        for op in operations::ALL {
            let rw = mint(&c.base, RW_ID, RW_SECRET, None).await;
            let ro = mint(&c.base, RO_ID, RO_SECRET, None).await;
            let spare = mint(&c.base, RW_ID, RW_SECRET, None).await;
            for case in provocations(&c, op, &rw, &ro, &spare) {
                let mut url = format!("{}{}", c.base, op.path);
                if !case.query.is_empty() {
                    url = format!("{url}?{}", case.query);
                }
                let mut request = http.request(op.method.as_http(), url);
                if let Some(value) = &case.authorization {
                    request = request.header("authorization", value);
                }
                if let Some(body) = case.body {
                    let kind = match op.auth {
                        Auth::Bearer { .. } => "application/json",
                        _ => "application/x-www-form-urlencoded",
                    };
                    request = request.header("content-type", kind).body(body);
                }
                let answer = request.send().await.unwrap_or_else(|e| panic!("{op}: {e}"));
                let status = answer.status().as_u16();
                let body: serde_json::Value = answer.json().await.unwrap_or_default();
                seen.entry(op.id).or_default().insert(status);
                // The gateway's 401 and 429 may come to any operation.
                if !op.statuses.contains(&status) && !matches!(status, 401 | 429) {
                    undeclared.push(format!(
                        "{op} with {}: {status} ({}), declared {:?}",
                        case.why,
                        message(&body),
                        op.statuses
                    ));
                }
            }
        }
        assert!(
            undeclared.is_empty(),
            "undeclared statuses:\n{}",
            undeclared.join("\n")
        );
        // The provocations drew out more than successes: refusals for bad input, another CID,
        // a read-only token, unknown ids and wrong credentials, each from some operation.
        let all: BTreeSet<u16> = seen.values().flatten().copied().collect();
        for status in [200, 201, 400, 403, 404] {
            assert!(
                all.contains(&status),
                "no operation answered {status}: {all:?}"
            );
        }
        let successes = operations::ALL
            .iter()
            .filter(|op| seen[op.id].contains(&op.success))
            .count();
        assert!(
            successes * 3 >= operations::ALL.len() * 2,
            "only {successes} operations succeeded: {seen:?}"
        );
    }

    #[tokio::test]
    async fn every_bearer_operation_of_the_table_refuses_missing_unknown_revoked_and_expired_tokens()
     {
        // Hundreds of refused requests from one address: past the service's 15 a minute.
        let c = ctx_with(SimConfig {
            users: 50,
            child_cids: 2,
            refused_per_minute: 100_000,
            ..SimConfig::default()
        })
        .await;
        let before = snapshot(&c);
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let revoked = mint(&c.base, RW_ID, RW_SECRET, None).await;
        basic(&c.base, RW_ID, RW_SECRET)
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token: revoked.clone(),
            })
            .send()
            .await
            .unwrap();
        let cases = [
            ("no", None),
            ("a revoked", Some(format!("Bearer {revoked}"))),
            (
                "an unknown",
                Some("Bearer us-1.0000000000000000".to_owned()),
            ),
            (
                "another region's",
                Some("Bearer eu-1.0000000000000000".to_owned()),
            ),
            ("a malformed", Some("Bearer".to_owned())),
        ];
        for (why, authorization) in &cases {
            for op in bearer_ops() {
                let (status, headers, _) = raw(&c, op, authorization.as_deref(), "").await;
                assert_eq!(status, 401, "{op} with {why} token");
                assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
            }
        }
        c.sim.expire_tokens();
        let expired = format!("Bearer {token}");
        for op in bearer_ops() {
            let (status, headers, _) = raw(&c, op, Some(&expired), "").await;
            assert_eq!(status, 401, "{op} with an expired token");
            assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
        }
        assert_eq!(snapshot(&c), before, "a refused request changed the state");
    }

    #[tokio::test]
    async fn a_read_only_token_gets_403_on_exactly_the_operations_of_the_table_that_write() {
        let c = ctx().await;
        let before = snapshot(&c);
        let read_only = format!("Bearer {}", mint(&c.base, RO_ID, RO_SECRET, None).await);
        let mut writes = 0;
        for op in bearer_ops() {
            let (status, headers, _) = raw(&c, op, Some(&read_only), "").await;
            assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
            if op.needs_scope("user-management:write") {
                writes += 1;
                assert_eq!(status, 403, "{op} needs the write scope");
            } else {
                assert!(op.needs_scope("user-management:read"), "{op}");
                assert_ne!(status, 403, "{op} needs only the read scope");
                assert_ne!(status, 401, "{op}");
            }
        }
        assert!(writes > 0, "the table has writes");
        assert_eq!(snapshot(&c), before, "a refused write changed the state");
    }

    #[test]
    fn the_operation_table_is_the_spec() {
        let table: BTreeMap<String, Option<String>> = operations::ALL
            .iter()
            .map(|op| (op.id.to_owned(), table_scope(op)))
            .collect();
        assert_eq!(table, spec_operations());
    }

    #[tokio::test]
    async fn the_typed_sweep_succeeds_with_trace_and_rate_headers_and_its_writes_land() {
        let c = ctx().await;
        let t = Targets::new(&c);
        let results = sweep(&c.rw, &t).await;
        let swept: BTreeSet<&str> = results.iter().map(|(op, _, _)| op.id).collect();
        assert_eq!(
            swept.len(),
            results.len(),
            "the sweep calls an operation twice"
        );
        for (op, status, headers) in &results {
            let expected = if **op == operations::GET_USER_INVITATIONS_GET_V1 {
                400
            } else {
                200
            };
            assert_eq!(*status, expected, "{op}");
            let trace =
                header(headers, "X-CS-TRACEID").unwrap_or_else(|| panic!("{op}: no trace id"));
            assert!(trace.starts_with("sim-"), "{op}: {trace}");
            assert_eq!(header_num(headers, "X-RateLimit-Limit"), 6000, "{op}");
            // Every answer spent one request of the budget (it refills at 100 a second, so
            // successive answers need not count down under load).
            let remaining = header_num(headers, "x-ratelimit-remaining");
            assert!(remaining < 6000, "{op}: remaining {remaining}");
        }
        // The sweep's writes landed.
        c.sim.inspect(|s| {
            let t2 = &s.tenants[&c.parent];
            assert!(t2.by_uid.contains_key("sweep.v1@example.com"));
            assert!(t2.by_uid.contains_key("sweep.legacy@example.com"));
            assert!(!t2.users.contains_key(&t.victim_v1));
            assert!(!t2.users.contains_key(&t.victim_legacy));
            assert_eq!(t2.users[&t.uuid].first_name, "Swept");
            assert_eq!(t2.users[&t.uuid].last_name, "Swept");
        });
    }

    #[tokio::test]
    async fn typed_calls_refuse_unknown_foreign_expired_and_revoked_tokens() {
        // More refused requests from one address than the service's 15 a minute.
        let c = ctx_with(SimConfig {
            users: 50,
            child_cids: 2,
            refused_per_minute: 100_000,
            ..SimConfig::default()
        })
        .await;
        let t = Targets::new(&c);
        let revoked = mint(&c.base, RW_ID, RW_SECRET, None).await;
        basic(&c.base, RW_ID, RW_SECRET)
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token: revoked.clone(),
            })
            .send()
            .await
            .unwrap();
        let unauthenticated = Client::new(&c.base, Hooks::none());
        let clients = [
            ("no token", unauthenticated),
            ("unknown", bearer(&c.base, "us-1.0000000000000000")),
            ("other region", bearer(&c.base, "eu-1.0000000000000000")),
            ("revoked", bearer(&c.base, &revoked)),
        ];
        for (why, api) in &clients {
            for (op, status, headers) in sweep(api, &t).await {
                assert_eq!(status, 401, "{op} with a {why} token");
                assert!(header(&headers, "x-cs-traceid").is_some(), "{op}");
            }
        }
        c.sim.expire_tokens();
        for (op, status, _) in sweep(&c.rw, &t).await {
            assert_eq!(status, 401, "{op} with an expired token");
        }
        // Nothing was changed by the refused writes.
        assert_eq!(c.user_count(&c.parent), 50);
        assert!(c.user(&c.parent, &t.victim_v1).is_some());
    }

    #[tokio::test]
    async fn read_only_clients_get_403_on_the_typed_writes_and_only_there() {
        let c = ctx().await;
        let t = Targets::new(&c);
        let results = sweep(&c.ro, &t).await;
        for (op, status, _) in &results {
            if op.needs_scope("user-management:write") {
                assert_eq!(*status, 403, "{op} needs the write scope");
            } else {
                assert!(op.needs_scope("user-management:read"), "{op}");
                assert_ne!(*status, 403, "{op} needs only the read scope");
            }
        }
        assert_eq!(c.user_count(&c.parent), 50);
        assert_ne!(c.user(&c.parent, &t.uuid).unwrap().first_name, "Swept");
    }

    #[tokio::test]
    async fn trace_id_matches_meta_and_rate_headers_count_down() {
        let service_like = ctx().await.rw.query_user_v1().send().await.unwrap();
        assert_eq!(
            header_num(service_like.headers(), "x-ratelimit-limit"),
            6000
        );
        // A budget that refills one request per 10 s: the countdown cannot be undone by a
        // refill between two requests, however slow the machine (at 6,000 a minute, one comes
        // back every 10 ms).
        let c = ctx_with(SimConfig {
            rate_limit_per_minute: 6,
            ..SimConfig::default()
        })
        .await;
        let first = c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(
            header(first.headers(), "x-cs-traceid"),
            Some(first.meta.trace_id.as_str())
        );
        assert_eq!(header_num(first.headers(), "x-ratelimit-limit"), 6);
        let r1 = header_num(first.headers(), "x-ratelimit-remaining");
        assert!(r1 < 6);

        let declared = failure(c.rw.query_user_v1().limit(501u64).send().await).await;
        let r2 = header_num(&declared.headers, "x-ratelimit-remaining");
        assert!(r2 < r1);
        assert!(header(&declared.headers, "x-cs-traceid").is_some());

        // A status the operation does not declare (scripted: the simulator answers none).
        c.sim.fail_next(&operations::UPDATE_USER_V1, 404, 1);
        let undeclared = failure(
            c.rw.update_user_v1()
                .user_uuid("ghost")
                .body(types::DomainUpdateUserRequest {
                    first_name: Some("X".into()),
                    last_name: None,
                })
                .send()
                .await,
        )
        .await;
        assert!(!undeclared.declared);
        assert!(header_num(&undeclared.headers, "X-RATELIMIT-REMAINING") < r2);
        assert!(header(&undeclared.headers, "X-Cs-TraceId").is_some());
        // Trace ids are unique per answer.
        let second = c.rw.query_user_v1().send().await.unwrap();
        assert_ne!(second.meta.trace_id, first.meta.trace_id);
    }

    /// The rate headers of an answer: (limit, remaining); panics naming `what` without them.
    fn rate(headers: &HeaderMap, what: &str) -> (u64, u64) {
        for name in ["x-ratelimit-limit", "x-ratelimit-remaining"] {
            assert!(header(headers, name).is_some(), "{what}: no {name}");
        }
        (
            header_num(headers, "x-ratelimit-limit"),
            header_num(headers, "x-ratelimit-remaining"),
        )
    }

    #[tokio::test]
    async fn token_revoke_and_401_answers_carry_rate_limit_headers() {
        let c = ctx().await;
        let plain = Client::new(&c.base, Hooks::none());
        let minted = plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, None))
            .send()
            .await
            .unwrap();
        // A mint reports its client's budget.
        assert_eq!(rate(minted.headers(), "token 201").0, 6000);
        let token = minted.into_inner().access_token.unwrap();
        let revoked = basic(&c.base, RW_ID, RW_SECRET)
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(rate(revoked.headers(), "revoke 200").0, 6000);

        // Failed authentications are charged to the source address: 15 a minute.
        let refused = failure(bearer(&c.base, "forged").query_user_v1().send().await).await;
        assert_eq!(refused.status, 401);
        assert_eq!(rate(&refused.headers, "401"), (15, 14));
        let missing = failure(
            Client::new(&c.base, Hooks::none())
                .query_user_v1()
                .send()
                .await,
        )
        .await;
        assert_eq!(rate(&missing.headers, "401 without a token"), (15, 13));
        let wrong = failure(
            plain
                .oauth2_access_token()
                .body(token_body(RW_ID, "wrong", None))
                .send()
                .await,
        )
        .await;
        assert_eq!(wrong.status, 403);
        assert_eq!(rate(&wrong.headers, "token 403"), (15, 12));
        let wrong_basic = failure(
            basic(&c.base, RW_ID, "wrong")
                .oauth2_revoke_token()
                .body(types::Oauth2RevokeTokenBody {
                    client_id: None,
                    token: "x".into(),
                })
                .send()
                .await,
        )
        .await;
        assert_eq!(wrong_basic.status, 403);
        assert_eq!(rate(&wrong_basic.headers, "revoke 403"), (15, 11));

        // Answers no operation gives (unknown path, wrong method) report the address's budget
        // without spending it.
        let http = reqwest::Client::new();
        for (method, path, status) in [
            (reqwest::Method::GET, "/no/such/path", 404),
            (reqwest::Method::DELETE, "/oauth2/token", 405),
        ] {
            let answer = http
                .request(method, format!("{}{path}", c.base))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), status, "{path}");
            assert_eq!(rate(answer.headers(), path), (15, 11), "{path}");
        }
    }

    #[tokio::test]
    async fn requests_failing_authentication_are_limited_per_source_address() {
        let c = ctx().await;
        let forged = bearer(&c.base, "us-1.0000000000000000");
        for n in 0..15u64 {
            let refused = failure(forged.query_user_v1().send().await).await;
            assert_eq!(refused.status, 401, "request {n}");
            assert_eq!(rate(&refused.headers, "401"), (15, 14 - n));
        }
        let before = now_secs();
        let limited = failure(forged.query_user_v1().send().await).await;
        assert_eq!(limited.status, 429);
        assert!(limited.mentions("rate limit exceeded"));
        assert_eq!(rate(&limited.headers, "429"), (15, 0));
        let retry_after = header_num(&limited.headers, "X-RateLimit-RetryAfter");
        assert!(retry_after > before, "retry at {retry_after}, now {before}");
        assert!(
            retry_after <= before + 60,
            "epoch seconds, within the minute: {retry_after}"
        );
        // Wrong client credentials share that budget.
        let wrong = failure(
            Client::new(&c.base, Hooks::none())
                .oauth2_access_token()
                .body(token_body(RW_ID, "wrong", None))
                .send()
                .await,
        )
        .await;
        assert_eq!(wrong.status, 429);
        // A valid token is charged to its client's budget, not the address's.
        let ok = c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(header_num(ok.headers(), "x-ratelimit-limit"), 6000);
    }

    #[tokio::test]
    async fn authorization_schemes_are_case_insensitive() {
        let c = ctx().await;
        use base64::Engine as _;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{RW_ID}:{RW_SECRET}"));
        let http = reqwest::Client::new();
        let query = |authorization: String| {
            http.get(format!("{}{}", c.base, operations::QUERY_USER_V1.path))
                .header("authorization", authorization)
                .send()
        };
        for (scheme, expected) in [
            ("Bearer", 200),
            ("bearer", 200),
            ("BEARER", 200),
            ("bEaReR", 200),
            ("Basic", 401),
            ("Bearerx", 401),
        ] {
            let answer = query(format!("{scheme} {token}")).await.unwrap();
            assert_eq!(answer.status(), expected, "{scheme}");
        }
        assert_eq!(
            query(format!("Bearer  {token} ")).await.unwrap().status(),
            200
        );
        assert_eq!(query("Bearer ".into()).await.unwrap().status(), 401);

        for (scheme, expected) in [
            ("Basic", 200),
            ("basic", 200),
            ("BASIC", 200),
            ("Bearer", 403),
        ] {
            let victim = mint(&c.base, RW_ID, RW_SECRET, None).await;
            let answer = http
                .post(format!(
                    "{}{}",
                    c.base,
                    operations::OAUTH2_REVOKE_TOKEN.path
                ))
                .header("authorization", format!("{scheme} {pair}"))
                .form(&[("token", victim.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), expected, "{scheme}");
            let still = bearer(&c.base, &victim).query_user_v1().send().await;
            assert_eq!(
                still.is_ok(),
                expected != 200,
                "{scheme}: revoked iff accepted"
            );
        }
    }

    #[tokio::test]
    async fn only_the_client_a_token_was_issued_to_revokes_it() {
        let c = ctx().await;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let revoke = |id: &'static str, secret: &'static str| {
            let token = token.clone();
            let base = c.base.clone();
            async move {
                basic(&base, id, secret)
                    .oauth2_revoke_token()
                    .body(types::Oauth2RevokeTokenBody {
                        client_id: None,
                        token,
                    })
                    .send()
                    .await
                    .map(|a| a.status().as_u16())
            }
        };
        // RFC 7009 §2.1/§2.2: another client's token is not revoked, and the answer is 200
        // all the same (an invalid token gets 200 too).
        assert_eq!(revoke(RO_ID, RO_SECRET).await.unwrap(), 200);
        bearer(&c.base, &token)
            .query_user_v1()
            .send()
            .await
            .expect("another client's revoke left the token working");
        assert_eq!(revoke(RW_ID, RW_SECRET).await.unwrap(), 200);
        let gone = failure(bearer(&c.base, &token).query_user_v1().send().await).await;
        assert_eq!(gone.status, 401, "its own client revoked it");
    }

    #[tokio::test]
    async fn an_empty_bucket_answers_429_with_retry_after_in_the_future() {
        let c = ctx_with(SimConfig {
            users: 50,
            child_cids: 2,
            rate_limit_per_minute: 5,
            ..SimConfig::default()
        })
        .await;
        for n in 0..5u64 {
            let ok = c.rw.query_user_v1().send().await.unwrap();
            assert_eq!(header_num(ok.headers(), "x-ratelimit-limit"), 5);
            assert_eq!(header_num(ok.headers(), "x-ratelimit-remaining"), 4 - n);
        }
        let before = now_secs();
        let limited = failure(c.rw.query_user_v1().send().await).await;
        assert_eq!(limited.status, 429);
        assert!(limited.declared, "queryUserV1 declares 429");
        assert!(limited.mentions("rate limit exceeded"));
        assert_eq!(limited.errors[0].0, 429);
        assert_eq!(header_num(&limited.headers, "x-ratelimit-limit"), 5);
        assert_eq!(header_num(&limited.headers, "x-ratelimit-remaining"), 0);
        let retry_after = header_num(&limited.headers, "X-RateLimit-RetryAfter");
        assert!(retry_after > before, "retry at {retry_after}, now {before}");
        assert!(
            retry_after <= before + 60,
            "epoch seconds, within the minute: {retry_after}"
        );
        assert!(header(&limited.headers, "x-cs-traceid").is_some());

        // The bucket is per client: the read-only client still has its own budget.
        c.ro.query_user_v1().send().await.unwrap();
        // A legacy operation that declares 429 too.
        let legacy = failure(c.rw.legacy_retrieve_emails_by_cid().send().await).await;
        assert_eq!(legacy.status, 429);
    }

    #[tokio::test]
    async fn a_childs_budget_spent_to_429_leaves_the_parents_and_the_other_childs_whole() {
        // The service budgets requests per customer (CID): a parent's member token spends
        // the child's budget, not the parent's.
        let c = ctx_with(SimConfig {
            users: 50,
            child_cids: 2,
            rate_limit_per_minute: 5,
            ..SimConfig::default()
        })
        .await;
        let (first, second) = (&c.children[0], &c.children[1]);
        let member = c.member(first).await;
        for n in 0..5u64 {
            let ok = member.query_user_v1().send().await.unwrap();
            assert_eq!(header_num(ok.headers(), "x-ratelimit-remaining"), 4 - n);
        }
        let limited = failure(member.query_user_v1().send().await).await;
        assert_eq!(limited.status, 429);
        assert!(header(&limited.headers, "X-RateLimit-RetryAfter").is_some());

        // The token endpoint checks the budget of the CID asked for: the spent child is
        // refused a new token, the parent and the other child are not.
        let plain = Client::new(&c.base, Hooks::none());
        let again = failure(
            plain
                .oauth2_access_token()
                .body(token_body(RW_ID, RW_SECRET, Some(first)))
                .send()
                .await,
        )
        .await;
        assert_eq!(again.status, 429, "the spent child's budget");
        assert_eq!(header_num(&again.headers, "x-ratelimit-remaining"), 0);
        for (what, cid) in [("parent", None), ("other child", Some(second.as_str()))] {
            let minted = plain
                .oauth2_access_token()
                .body(token_body(RW_ID, RW_SECRET, cid))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                header_num(minted.headers(), "x-ratelimit-remaining"),
                5,
                "{what}'s budget is whole"
            );
        }
        let parent = c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(header_num(parent.headers(), "x-ratelimit-remaining"), 4);
        let sibling = c.member(second).await.query_user_v1().send().await.unwrap();
        assert_eq!(header_num(sibling.headers(), "x-ratelimit-remaining"), 4);
        // The parent acting in the child with `cid` spends its own CID's budget (the token's).
        let in_child = c.rw.queries_roles_v1().cid(first).send().await.unwrap();
        assert_eq!(header_num(in_child.headers(), "x-ratelimit-remaining"), 3);
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_answer_the_error_envelope() {
        let c = ctx().await;
        let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let http = reqwest::Client::new();
        let made_up = http
            .get(format!("{}/user-management/queries/made-up/v1", c.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(made_up.status().as_u16(), 404);
        assert!(header(made_up.headers(), "x-cs-traceid").is_some());
        let body: serde_json::Value = made_up.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 404);
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("/user-management/queries/made-up/v1"),
            "{message}"
        );
        assert!(body["meta"]["trace_id"].is_string(), "{body}");

        // PUT on the users entity path: its operations are POST, PATCH and DELETE.
        let wrong = http
            .put(format!("{}{}", c.base, operations::CREATE_USER_V1.path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 405);
        let allow = header(wrong.headers(), "allow").unwrap().to_owned();
        for op in [
            operations::CREATE_USER_V1,
            operations::UPDATE_USER_V1,
            operations::DELETE_USER_V1,
        ] {
            let method = op.method.as_http();
            assert!(allow.contains(method.as_str()), "{allow} lacks {method}");
        }
        let body: serde_json::Value = wrong.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 405);
    }

    #[tokio::test]
    async fn fail_next_fails_exactly_the_scripted_operation_the_scripted_times() {
        let c = ctx().await;
        c.sim.fail_next(&operations::QUERY_USER_V1, 503, 2);
        for n in 0..2 {
            let (status, headers) = outcome(c.rw.query_user_v1().send().await);
            assert_eq!(status, 503, "call {n}");
            assert!(header(&headers, "x-cs-traceid").is_some());
        }
        // Other operations were never affected; the third call succeeds.
        c.rw.query_user_v2().send().await.unwrap();
        c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(c.sim.request_count(&operations::QUERY_USER_V1), 3);
        assert_eq!(c.sim.request_count(&operations::QUERY_USER_V2), 1);

        // The token endpoint too (it has no bearer token, but the same table entry).
        c.sim.fail_next(&operations::OAUTH2_ACCESS_TOKEN, 500, 1);
        let refused = Client::new(&c.base, Hooks::none())
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, None))
            .send()
            .await;
        assert_eq!(outcome(refused).0, 500);
        mint(&c.base, RW_ID, RW_SECRET, None).await;

        // Zero times cancels.
        c.sim.fail_next(&operations::QUERY_USER_V1, 500, 3);
        c.sim.fail_next(&operations::QUERY_USER_V1, 500, 0);
        c.rw.query_user_v1().send().await.unwrap();
    }

    #[test]
    #[should_panic(expected = "userRoleActionV1 is not an operation of the table")]
    fn fail_next_refuses_an_operation_not_in_the_table() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sim = runtime
            .block_on(Simulator::start(SimConfig {
                users: 5,
                ..SimConfig::default()
            }))
            .unwrap();
        let misspelled = Operation {
            id: "userRoleActionV1",
            ..operations::USER_ROLES_ACTION_V1
        };
        sim.fail_next(&misspelled, 400, 1);
    }
}

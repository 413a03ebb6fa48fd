//! The everyday questions as the library's query options, on a seeded simulator: each gives
//! the users a caller would find by filtering every user by hand, whether the service answers
//! it (status) or the library does (the times, a role, privilege), and the listing says which.

use chrono::{DateTime, TimeZone, Utc};
use falcon_users::workflows::InventoryOptions;
use falcon_users::workflows::review::RoleBook;
use falcon_users::{Error, User, UserInfo, UserQuery, UserStatus};
use falcon_users_api::operations::QUERY_USER_V1;
use falcon_users_tests::sim::workflow_tenant;
use futures::TryStreamExt;

fn june() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn uuids<'a>(users: impl IntoIterator<Item = &'a User>) -> Vec<String> {
    let mut ids: Vec<String> = users.into_iter().map(|u| UserInfo::from(u).uuid).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn each_user_question_gives_the_users_found_by_hand() {
    let (_sim, falcon) = workflow_tenant(200).await;
    let all: Vec<User> = falcon.users(UserQuery::new()).try_collect().await.unwrap();
    type Keep = fn(&UserInfo) -> bool;
    let cases: [(UserQuery, Keep); 5] = [
        (UserQuery::new().never_logged_in(), |u| {
            u.last_login_at.is_none()
        }),
        (UserQuery::new().last_login_before(june()), |u| {
            u.last_login_at.is_some_and(|t| t < june())
        }),
        (UserQuery::new().created_before(june()), |u| {
            u.created_at.is_some_and(|t| t < june())
        }),
        (UserQuery::new().status(UserStatus::Inactive), |u| {
            u.status == Some(UserStatus::Inactive)
        }),
        (
            UserQuery::new()
                .status(UserStatus::Active)
                .never_logged_in(),
            |u| u.status == Some(UserStatus::Active) && u.last_login_at.is_none(),
        ),
    ];
    for (query, keep) in cases {
        let by_hand = uuids(all.iter().filter(|u| keep(&UserInfo::from(*u))));
        assert!(!by_hand.is_empty(), "{:?} picks nobody", query.filters());
        let asked: Vec<User> = falcon.users(query.clone()).try_collect().await.unwrap();
        assert_eq!(uuids(&asked), by_hand, "{:?}", query.filters());
        // The ids alone, for a question answered here, come from the users read.
        let mut ids: Vec<String> = falcon.user_ids(query.clone()).try_collect().await.unwrap();
        ids.sort();
        assert_eq!(ids, by_hand, "user_ids {:?}", query.filters());
    }
}

#[tokio::test]
async fn what_the_service_cannot_filter_is_never_sent_to_it() {
    let (_sim, falcon) = workflow_tenant(20).await;
    // The service refuses a filter on the login time: the reason it is answered here.
    let refused = falcon
        .users(UserQuery::new().filter("last_login_at:null"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Api { status: 400, .. }),
        "{refused:?}"
    );
    let plan = UserQuery::new()
        .never_logged_in()
        .status(UserStatus::Active)
        .filter_plan();
    assert_eq!(plan.service.len(), 1);
    assert_eq!(plan.local.len(), 1);
    // One page of ids cannot answer a question about the users: refused, saying where to go.
    let err = falcon
        .query_user_ids(&UserQuery::new().never_logged_in(), 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid query: \"never logged in\" is answered on the users themselves, not by the \
         service: list them with Falcon::users or Falcon::user_ids"
    );
    // The status alone is the service's: one page of ids answers it.
    let page = falcon
        .query_user_ids(&UserQuery::new().status(UserStatus::Inactive), 0)
        .await
        .unwrap();
    let inactive: Vec<User> = falcon
        .users(UserQuery::new())
        .try_filter(|u| futures::future::ready(u.status.as_deref() == Some("inactive")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(page.resources.unwrap_or_default().len(), inactive.len());
    assert!(QUERY_USER_V1.filter_fields.contains(&"status"));
}

#[tokio::test]
async fn role_and_privilege_keep_the_users_holding_them() {
    let (_sim, falcon) = workflow_tenant(120).await;
    let rows: Vec<_> = falcon
        .inventory(UserQuery::new(), InventoryOptions::new())
        .try_collect()
        .await
        .unwrap();
    let holders = |role: &str| -> Vec<String> {
        let mut ids: Vec<String> = rows
            .iter()
            .filter(|r| r.grants.iter().any(|g| g.role_id == role))
            .map(|r| UserInfo::from(&r.user).uuid)
            .collect();
        ids.sort();
        ids
    };
    let expected = holders("falcon_administrator");
    assert!(!expected.is_empty() && expected.len() < rows.len());
    for name in [
        "falcon_administrator",
        "Falcon Administrator",
        "falcon administrator",
    ] {
        let kept: Vec<_> = falcon
            .inventory(UserQuery::new(), InventoryOptions::new().role(name))
            .try_collect()
            .await
            .unwrap();
        let kept = uuids(kept.iter().map(|r| &r.user));
        assert_eq!(kept, expected, "--role {name}");
    }
    // Privilege as the review judges it: the same verdicts, read the same way.
    let book = RoleBook::new(
        falcon
            .role_verdicts(&falcon_users::workflows::review::Review::new())
            .await
            .unwrap(),
    );
    let mut privileged: Vec<String> = rows
        .iter()
        .filter(|r| r.grants.iter().any(|g| book.is_privileged(&g.role_id)))
        .map(|r| UserInfo::from(&r.user).uuid)
        .collect();
    privileged.sort();
    assert!(!privileged.is_empty() && privileged.len() < rows.len());
    let kept: Vec<_> = falcon
        .inventory(UserQuery::new(), InventoryOptions::new().privileged(true))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(uuids(kept.iter().map(|r| &r.user)), privileged);
    // An unknown name: refused before any row, with the nearest.
    let err = falcon
        .inventory(
            UserQuery::new(),
            InventoryOptions::new().role("Falcon Adminstrator"),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid role: no role \"Falcon Adminstrator\" in this CID; did you mean Falcon \
         Administrator?"
    );
}

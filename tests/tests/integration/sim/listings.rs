//! Listings past the offset ceiling against the simulator (a ceiling of 50 here; 10,000 and
//! 50,000 users in the `load` binary): every user once, with the caller's filter, logins of
//! every shape; a login no part covers reported as missing; a user deleted while an inventory
//! runs reported, not fatal.

use std::collections::BTreeSet;

use falcon_users::workflows::InventoryOptions;
use falcon_users::{Error, Falcon, UserQuery};
use falcon_users_api::operations::QUERY_USER_V1;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::bounded;
use falcon_users_tests::sim::tenant_with;
use futures::{StreamExt, TryStreamExt};

/// Logins starting with digits and punctuation.
const ODD: &[&str] = &[
    "1st@corp.io",
    "_svc@corp.io",
    "+plus@corp.io",
    "~tilde@corp.io",
];

/// Logins past the ceiling of 50 under prefixes that must be escaped in the filter (`'`, `*`,
/// `\`), and under a prefix that is itself a login (`ann@x.io`, then `ann@x.io0`...).
fn crowded() -> Vec<String> {
    let mut uids: Vec<String> = (0..60).map(|n| format!("o'b*{n}@corp.io")).collect();
    uids.extend((0..60).map(|n| format!("q\\{n}@corp.io")));
    uids.push("ann@x.io".into());
    uids.extend((0..55).map(|n| format!("ann@x.io{n}")));
    uids
}

/// 300 seeded users, [`ODD`] and [`crowded`] ones, a ceiling of 50, and the client.
async fn tenant() -> (Simulator, Falcon) {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 300,
        child_cids: 0,
        offset_ceiling: 50,
        ..SimConfig::default()
    })
    .await;
    for uid in ODD.iter().map(|u| u.to_string()).chain(crowded()) {
        create(&sim, &uid);
    }
    (sim, falcon)
}

fn create(sim: &Simulator, uid: &str) {
    sim.seed()
        .user(uid)
        .first_name("Odd")
        .last_name("Login")
        .create()
        .unwrap();
}

/// The logins of the parent CID's users for which `keep(status)` holds.
fn logins(sim: &Simulator, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    sim.users(&sim.parent_cid())
        .into_iter()
        .filter(|u| keep(&u.status))
        .map(|u| u.uid)
        .collect()
}

async fn listed(falcon: &Falcon, query: UserQuery) -> Vec<String> {
    let users: Vec<_> = bounded(falcon.users(query).try_collect()).await.unwrap();
    users.into_iter().map(|u| u.uid.unwrap()).collect()
}

fn once(logins: &[String]) -> BTreeSet<String> {
    let set: BTreeSet<String> = logins.iter().cloned().collect();
    assert_eq!(set.len(), logins.len(), "no login twice");
    set
}

#[tokio::test]
async fn a_tenant_past_the_ceiling_is_listed_whole_with_the_callers_filter() {
    let (sim, falcon) = tenant().await;
    let all = logins(&sim, |_| true);
    assert_eq!(all.len(), 300 + ODD.len() + crowded().len());

    // Told the ceiling: split from the first count on.
    let before = sim.request_count(&QUERY_USER_V1);
    let told = listed(&falcon, UserQuery::new().page_size(25).offset_ceiling(50)).await;
    let told_pages = sim.request_count(&QUERY_USER_V1) - before;
    assert_eq!(once(&told), all);

    // Not told (10,000 assumed): the first refusal teaches it, the rows before come once.
    let before = sim.request_count(&QUERY_USER_V1);
    let learned = listed(&falcon, UserQuery::new().page_size(25)).await;
    let learned_pages = sim.request_count(&QUERY_USER_V1) - before;
    assert_eq!(once(&learned), all);
    assert!(
        learned_pages > told_pages,
        "{learned_pages} vs {told_pages}"
    );

    // The caller's filter holds in every part, an OR inside it too.
    let active = listed(
        &falcon,
        UserQuery::new().page_size(25).filter("status:'active'"),
    )
    .await;
    assert_eq!(once(&active), logins(&sim, |s| s == "active"));
    assert!(active.len() > 50, "the filter alone is past the ceiling");
    let either = UserQuery::new()
        .page_size(25)
        .filter("status:'inactive',status:'active'");
    assert_eq!(once(&listed(&falcon, either).await), all);
}

#[tokio::test]
async fn a_login_no_part_covers_is_reported_missing_after_every_other_user() {
    let (sim, falcon) = tenant().await;
    create(&sim, "élise@corp.io");
    let mut stream = falcon.users(UserQuery::new().page_size(25).offset_ceiling(50));
    let mut got = Vec::new();
    let err = loop {
        match bounded(stream.next()).await {
            Some(Ok(user)) => got.push(user.uid.unwrap()),
            Some(Err(err)) => break err,
            None => panic!("the listing ended as if complete"),
        }
    };
    assert!(
        bounded(stream.next()).await.is_none(),
        "nothing after the error"
    );
    let mut want = logins(&sim, |_| true);
    assert!(want.remove("élise@corp.io"));
    assert_eq!(once(&got), want, "everyone else");
    match &err {
        Error::ListingIncomplete {
            operation: "queryUserV1",
            missing: Some(1),
            ..
        } => {}
        other => panic!("expected one missing user, got {other:?}"),
    }
    assert!(err.to_string().contains("1 row not listed"), "{err}");
}

#[tokio::test]
async fn a_user_deleted_while_the_inventory_runs_is_marked_and_the_rest_follows() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 30,
        child_cids: 0,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    // The last user in login order: their grants are asked for last.
    let (last, uuids) = sim.inspect(|s| {
        let t = &s.tenants[&parent];
        let last = t.by_uid.values().next_back().unwrap().clone();
        (last, t.users.keys().cloned().collect::<BTreeSet<_>>())
    });

    let mut stream = falcon.inventory(UserQuery::new(), InventoryOptions::new().concurrency(1));
    let first = bounded(stream.next()).await.unwrap().unwrap();
    falcon.delete_user(&last).await.unwrap();
    let mut rows = vec![first];
    rows.extend(bounded(stream.try_collect::<Vec<_>>()).await.unwrap());

    let listed: BTreeSet<String> = rows.iter().map(|r| r.user.uuid.clone().unwrap()).collect();
    assert_eq!(listed, uuids, "every user, the deleted one included");
    assert_eq!(rows.len(), 30);
    for row in &rows {
        let uuid = row.user.uuid.as_deref().unwrap();
        assert_eq!(row.deleted, uuid == last, "{uuid}");
        if row.deleted {
            assert!(row.grants.is_empty());
        }
    }
}

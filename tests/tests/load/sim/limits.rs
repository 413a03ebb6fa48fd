//! The most users a CID holds (`falcon_users_sim::config::USERS`), seeded and created together:
//! a create beyond it is refused with a 400 in the envelope, and the tenant stays at the bound.

use falcon_users_sim::config::USERS;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::{RW_ID, RW_SECRET, bearer, failure, mint, new_user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cid_holds_at_most_the_bounded_number_of_users() {
    let sim = Simulator::start(SimConfig {
        users: USERS.max - 1,
        roles: 0,
        child_cids: 0,
        rate_limit_per_minute: 10_000_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let parent = sim.parent_cid();
    let count = || sim.inspect(|s| s.tenants[&parent].users.len());
    assert_eq!(count(), USERS.max - 1);
    let client = bearer(
        &sim.base_url_str(),
        &mint(&sim.base_url_str(), RW_ID, RW_SECRET, None).await,
    );
    let create = |uid: &str| client.create_user_v1().body(new_user(uid, "")).send();
    create("last.one@example.com")
        .await
        .expect("the last user fits");
    let refused = failure(create("one.too.many@example.com").await).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused.mentions("the most users it can hold"),
        "{refused:?}"
    );
    assert_eq!(count(), USERS.max);
    // Deleting one makes room again.
    let uuid = sim.inspect(|s| s.tenants[&parent].by_uid["last.one@example.com"].clone());
    client
        .delete_user_v1()
        .user_uuid(&uuid)
        .send()
        .await
        .unwrap();
    create("one.too.many@example.com")
        .await
        .expect("room again");
}

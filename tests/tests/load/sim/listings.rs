//! Tenants beyond the offset ceiling: 50,000 users listed whole (10,000 per query is all the
//! service pages), equal to the simulator's state, within 1.05× the fewest requests the
//! partitioning needs; and the full inventory of a tenant past the ceiling.
//!
//! **The minimum.** The listing splits the query by the first character of the login (every
//! part then fits under the ceiling). A client that knew each part's size `n_c` in advance
//! would still send one token request, `⌈n_c / 500⌉` pages for each non-empty part, and
//! `⌈N / 500⌉` entity batches for the `N` users (plus one grants listing per user for an
//! inventory). What the SDK adds to that is the count of the whole (its first page, whose ids
//! come again in the parts) and the counts of empty parts, if any are asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use falcon_users::workflows::InventoryOptions;
use falcon_users::{Falcon, UserQuery};
use falcon_users_api::operations::{QUERY_USER_V1, RETRIEVE_USERS_GET_V1};
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::tenant_with;
use futures::TryStreamExt;

const PAGE: u64 = 500;

/// A parent tenant of `users` users (no children, default offset ceiling), a rate limit that
/// does not bind, and the client on it.
async fn big_tenant(users: usize) -> (Simulator, Falcon) {
    tenant_with(SimConfig {
        users,
        child_cids: 0,
        rate_limit_per_minute: 100_000_000,
        ..SimConfig::default()
    })
    .await
}

/// (uuid, uid) of every user of the parent CID.
fn state(sim: &Simulator) -> BTreeMap<String, String> {
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        let t = &s.tenants[&parent];
        t.users
            .values()
            .map(|u| (u.uuid.clone(), u.uid.clone()))
            .collect()
    })
}

/// The fewest page and batch requests for the partition by the first login character, and
/// the token: see the module's doc.
fn minimum(users: &BTreeMap<String, String>) -> u64 {
    let mut parts: BTreeMap<char, u64> = BTreeMap::new();
    for uid in users.values() {
        let first = uid.chars().next().unwrap().to_ascii_lowercase();
        *parts.entry(first).or_default() += 1;
    }
    assert!(
        parts.values().all(|n| *n <= 10_000),
        "one level of parts fits under the ceiling: {parts:?}"
    );
    let pages: u64 = parts.values().map(|n| n.div_ceil(PAGE)).sum();
    1 + pages + (users.len() as u64).div_ceil(PAGE)
}

#[tokio::test]
async fn fifty_thousand_users_are_listed_whole_within_five_percent_of_the_fewest_requests() {
    let started = Instant::now();
    let (sim, falcon) = big_tenant(50_000).await;
    let seeded = started.elapsed();
    let want = state(&sim);
    assert_eq!(want.len(), 50_000);

    let listed = Instant::now();
    let users: Vec<_> = falcon.users(UserQuery::new()).try_collect().await.unwrap();
    let wall = listed.elapsed();

    let got: BTreeMap<String, String> = users
        .iter()
        .map(|u| (u.uuid.clone().unwrap(), u.uid.clone().unwrap()))
        .collect();
    assert_eq!(got.len(), users.len(), "no user twice");
    assert_eq!(got, want, "every user, with their login");

    let sent = falcon.stats().requests;
    let least = minimum(&want);
    let pages = sim.request_count(&QUERY_USER_V1);
    let batches = sim.request_count(&RETRIEVE_USERS_GET_V1);
    eprintln!(
        "50,000 users: {} delivered; {sent} requests ({pages} pages, {batches} batches, 1 \
         token), minimum {least} ({:.4}×); listed in {wall:?} (seeded in {seeded:?})",
        users.len(),
        sent as f64 / least as f64
    );
    assert_eq!(
        sent,
        1 + pages + batches,
        "nothing but token, pages and batches"
    );
    assert!(
        sent as f64 <= least as f64 * 1.05,
        "{sent} requests against a minimum of {least}"
    );
}

#[tokio::test]
async fn the_inventory_of_a_tenant_past_the_ceiling_equals_the_state() {
    // 12,000 users: past the ceiling, and 12,000 grants listings keep the wall time modest (the
    // 50,000-user listing above covers the parts at size).
    let (sim, falcon) = big_tenant(12_000).await;
    let started = Instant::now();
    let rows: Vec<_> = falcon
        .inventory(UserQuery::new(), InventoryOptions::new().concurrency(32))
        .try_collect()
        .await
        .unwrap();
    let wall = started.elapsed();
    let parent = sim.parent_cid();
    let want: BTreeMap<String, BTreeSet<String>> = sim.inspect(|s| {
        let t = &s.tenants[&parent];
        t.users
            .keys()
            .map(|uuid| {
                let held = t.grants.get(uuid).into_iter().flatten();
                (uuid.clone(), held.map(|g| g.role_id.clone()).collect())
            })
            .collect()
    });
    let got: BTreeMap<String, BTreeSet<String>> = rows
        .iter()
        .map(|r| {
            let held = r.grants.iter().map(|g| g.role_id.clone());
            (r.user.uuid.clone().unwrap(), held.collect())
        })
        .collect();
    assert_eq!(got.len(), rows.len(), "no user twice");
    assert!(rows.iter().all(|r| !r.deleted));
    assert_eq!(got, want, "every user with exactly their grants");
    let sent = falcon.stats().requests;
    let least = minimum(&state(&sim)) + 12_000;
    eprintln!(
        "12,000-user inventory: {} rows; {sent} requests, minimum {least} ({:.4}×); {wall:?}",
        rows.len(),
        sent as f64 / least as f64
    );
    assert!(sent as f64 <= least as f64 * 1.05, "{sent} against {least}");
}

//! The fault storm ([`storm`](falcon_users_tests::sim::storm)) at size (seeded): an inventory of 5,000 users is exactly the
//! simulator's state, and provisioning 500 users creates each once with exactly its roles.

use std::collections::{BTreeMap, BTreeSet};

use falcon_users::UserQuery;
use falcon_users::workflows::{InventoryOptions, Provision};
use falcon_users_api::operations;
use falcon_users_sim::Simulator;
use falcon_users_tests::sim::{falcon_builder, fast_retries, roles_held, storm};
use futures::{StreamExt, TryStreamExt};

#[tokio::test]
async fn an_inventory_of_5000_users_under_a_storm_is_exact() {
    let sim = Simulator::start(storm(7, 5_000)).await.unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let got: Vec<_> = falcon
        .inventory(
            UserQuery::new().page_size(500),
            InventoryOptions::new().concurrency(16),
        )
        .try_collect()
        .await
        .unwrap();
    let parent = sim.parent_cid();
    // (role, cid) for every grant the user holds, in the parent and in any child.
    type Grants = BTreeSet<(String, String)>;
    let want: BTreeMap<String, Grants> = sim.inspect(|s| {
        s.tenants[&parent]
            .users
            .keys()
            .map(|uuid| {
                let held = s.tenants.values().flat_map(|t| {
                    let grants = t.grants.get(uuid).into_iter().flatten();
                    grants.map(|g| (g.role_id.clone(), g.cid.clone()))
                });
                (uuid.clone(), held.collect())
            })
            .collect()
    });
    let seen: BTreeMap<String, Grants> = got
        .iter()
        .map(|u| {
            let held = u.grants.iter().map(|g| {
                let cid = g.cid.clone().unwrap_or_default();
                (g.role_id.clone(), cid)
            });
            (u.user.uuid.clone().unwrap(), held.collect())
        })
        .collect();
    assert_eq!(got.len(), 5_000, "nothing twice");
    assert_eq!(seen, want, "every user with exactly their grants");
    let stats = falcon.stats();
    let injected = sim.faults_injected();
    eprintln!("storm inventory: {stats:?}; injected {injected:?}");
    assert!(
        injected.rate_limited > 500 && injected.server_errors > 100 && injected.dropped > 50,
        "the storm was survived, not avoided: {injected:?}"
    );
    assert_eq!(
        stats.rate_limited, injected.rate_limited,
        "every 429 seen and retried"
    );
}

#[tokio::test]
async fn a_bulk_provisioning_of_500_users_under_a_storm_creates_each_once_with_its_roles() {
    let sim = Simulator::start(storm(11, 20)).await.unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let role_sets: [&[&str]; 3] = [
        &["falcon_console_guest"],
        &["falcon_console_guest", "falconhost_read_only"],
        &[
            "falconhost_analyst",
            "falconhost_read_only",
            "falconhost_investigator",
        ],
    ];
    // Sorted, as `roles_held` lists them.
    let wanted = |n: usize| -> Vec<String> {
        let set: BTreeSet<String> = role_sets[n % role_sets.len()]
            .iter()
            .map(|r| r.to_string())
            .collect();
        set.into_iter().collect()
    };
    let jobs: Vec<_> = (0..500)
        .map(|n| Provision::new(format!("storm.hire{n}@example.com"), role_sets[n % 3]))
        .collect();
    let failures: Vec<String> = futures::stream::iter(&jobs)
        .map(|job| {
            let falcon = &falcon;
            async move { (job.uid(), falcon.provision(job).await) }
        })
        .buffer_unordered(16)
        .filter_map(|(uid, outcome)| async move { outcome.err().map(|e| format!("{uid}: {e}")) })
        .collect()
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        for n in 0..500 {
            let uid = format!("storm.hire{n}@example.com");
            let uuid = tenant
                .by_uid
                .get(&uid)
                .unwrap_or_else(|| panic!("{uid} missing"));
            assert_eq!(roles_held(tenant, uuid), wanted(n), "{uid}: each role once");
        }
        let hires = tenant
            .users
            .values()
            .filter(|u| u.uid.starts_with("storm.hire"))
            .count();
        assert_eq!(hires, 500, "each user exists exactly once");
    });
    let counts = sim.request_counts();
    let injected = sim.faults_injected();
    eprintln!(
        "storm provisioning: {:?}; injected {injected:?}; simulator saw {counts:?}",
        falcon.stats()
    );
    assert!(
        injected.rate_limited > 100 && injected.server_errors > 20 && injected.dropped > 10,
        "the storm was survived, not avoided: {injected:?}"
    );
    // Lost creates were looked up by uid, not sent again: one create ran per user.
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 500);
}

//! Faults injected by the simulator (seeded): the client returns exactly the simulator's state,
//! and provisioning under lost answers leaves every user once with exactly their roles.
//!
//! How a lost create is handled: `provision` first looks the uid up (already there → only the
//! missing roles are granted). When a create's outcome is unknown (dropped answer, timeout, 5xx),
//! it is not re-sent blindly: the workflow looks the uid up again and only creates if the user is
//! absent. A grant with an unknown outcome is checked by listing the user's roles before it is
//! repeated. The simulator counts handler runs, so "one `createUserV1` per user" is asserted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use falcon_users::workflows::Provision;
use falcon_users::{Cloud, Falcon, RetryPolicy, UserQuery};
use falcon_users_api::operations;
use falcon_users_sim::state::Tenant;
use falcon_users_sim::{Faults, SimConfig, Simulator};
use futures::{StreamExt, TryStreamExt};
use url::Url;

fn client(sim: &Simulator) -> Falcon {
    let creds = sim.credentials();
    Falcon::builder()
        .client_id(creds.client_id)
        .client_secret(creds.client_secret)
        .cloud(Cloud::Custom(Url::parse(&sim.base_url()).unwrap()))
        .retry_policy(RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

/// The roles `uid` holds in `tenant`; fails if the user is missing or holds a role twice.
fn roles_held_once(tenant: &Tenant, uid: &str) -> BTreeSet<String> {
    let uuid = tenant
        .by_uid
        .get(uid)
        .unwrap_or_else(|| panic!("{uid} missing"));
    let grants = &tenant.grants[uuid];
    let held: BTreeSet<String> = grants.iter().map(|g| g.role_id.clone()).collect();
    assert_eq!(grants.len(), held.len(), "{uid}: no grant twice");
    held
}

/// The storm: 20 % 429s, 5 % 500/503s, 2 % dropped answers (work done, answer lost).
fn storm(seed: u64, users: usize) -> SimConfig {
    SimConfig {
        users,
        seed,
        faults: Faults {
            rate_limited: 0.20,
            server_errors: 0.05,
            dropped: 0.02,
            ..Faults::default()
        },
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn faults_repeat_with_the_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = Simulator::start(storm(42, 50)).await.unwrap();
        // 200 requests: at these rates about 40 429s, 10 5xx and 4 dropped answers.
        let raw = reqwest::Client::new();
        let token: serde_json::Value = raw
            .post(format!("{}/oauth2/token", sim.base_url()))
            .form(&[
                ("client_id", "sim-rw-client"),
                ("client_secret", "sim-rw-secret"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let mut statuses = Vec::new();
        for _ in 0..200 {
            let outcome = raw
                .get(format!(
                    "{}/user-management/queries/users/v1?limit=1",
                    sim.base_url()
                ))
                .header("authorization", &bearer)
                .send()
                .await;
            // An HTTP status, or 1 for an answer that never arrived whole (whether the cut
            // came before or after the headers depends on timing, not on the seed).
            let status = match outcome {
                Ok(r) => {
                    let code = r.status().as_u16();
                    if r.bytes().await.is_ok() { code } else { 1 }
                }
                Err(_) => 1,
            };
            statuses.push(status);
        }
        runs.push((statuses, sim.request_counts()));
    }
    assert_eq!(runs[0].0, runs[1].0, "the same seed drops the same answers");
    let seen = &runs[0].0;
    assert!(seen.contains(&1), "some answers were dropped: {seen:?}");
    assert!(seen.iter().any(|s| *s >= 500), "some 5xx: {seen:?}");
    assert!(seen.contains(&200), "most succeed: {seen:?}");
}

#[tokio::test]
async fn an_inventory_of_5000_users_under_a_storm_is_exact() {
    let sim = Simulator::start(storm(7, 5_000)).await.unwrap();
    let falcon = client(&sim);
    let got: Vec<_> = falcon
        .inventory(UserQuery::new().page_size(500), 16)
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
    let falcon = client(&sim);
    let role_sets: [&[&str]; 3] = [
        &["falcon_console_guest"],
        &["falcon_console_guest", "falconhost_read_only"],
        &[
            "falconhost_analyst",
            "falconhost_read_only",
            "falconhost_investigator",
        ],
    ];
    let wanted = |n: usize| -> BTreeSet<String> {
        role_sets[n % role_sets.len()]
            .iter()
            .map(|r| r.to_string())
            .collect()
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
            assert_eq!(roles_held_once(tenant, &uid), wanted(n), "{uid}");
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

#[tokio::test]
async fn provisioning_under_lost_answers_creates_each_user_once() {
    let sim = Simulator::start(SimConfig {
        users: 10,
        seed: 11,
        faults: Faults {
            dropped: 0.15,
            server_errors: 0.05,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let falcon = client(&sim);
    let roles = ["falcon_console_guest", "falconhost_read_only"];
    let mut failures = Vec::new();
    for n in 0..60 {
        let uid = format!("new.hire{n}@example.com");
        if let Err(e) = falcon.provision(&Provision::new(&uid, roles)).await {
            failures.push(format!("{uid}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        for n in 0..60 {
            let uid = format!("new.hire{n}@example.com");
            let want = BTreeSet::from(roles.map(String::from));
            assert_eq!(roles_held_once(tenant, &uid), want, "{uid}");
        }
        let hires = tenant
            .by_uid
            .keys()
            .filter(|u| u.starts_with("new.hire"))
            .count();
        assert_eq!(hires, 60, "no duplicates");
    });
}

//! Faults injected by the simulator (seeded): the client returns exactly the simulator's state,
//! and provisioning under lost answers leaves every user once with exactly their roles.

use std::collections::BTreeSet;
use std::time::Duration;

use falcon_users::workflows::Provision;
use falcon_users::{Cloud, Falcon, RetryPolicy, UserQuery};
use falcon_users_sim::{Faults, SimConfig, Simulator};
use futures::TryStreamExt;
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

fn storm(seed: u64, users: usize) -> SimConfig {
    SimConfig {
        users,
        seed,
        faults: Faults {
            rate_limited: 0.05,
            server_errors: 0.10,
            dropped: 0.05,
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
        for _ in 0..60 {
            let outcome = raw
                .get(format!(
                    "{}/user-management/queries/users/v1?limit=1",
                    sim.base_url()
                ))
                .header("authorization", &bearer)
                .send()
                .await;
            // An HTTP status, 1 for a body cut short, 2 for an answer that never came.
            let status = match outcome {
                Ok(r) => {
                    let code = r.status().as_u16();
                    if r.bytes().await.is_ok() { code } else { 1 }
                }
                Err(_) => 2,
            };
            statuses.push(status);
        }
        runs.push((statuses, sim.request_counts()));
    }
    assert_eq!(runs[0].0, runs[1].0, "the same seed drops the same answers");
    let seen = &runs[0].0;
    assert!(
        seen.iter().any(|s| *s <= 2),
        "some answers were dropped: {seen:?}"
    );
    assert!(seen.iter().any(|s| *s >= 500), "some 5xx: {seen:?}");
    assert!(seen.contains(&200), "most succeed: {seen:?}");
}

#[tokio::test]
async fn an_inventory_under_a_storm_is_exact() {
    let sim = Simulator::start(storm(7, 2_000)).await.unwrap();
    let falcon = client(&sim);
    let users: Vec<_> = falcon
        .users(UserQuery::new().page_size(200))
        .try_collect()
        .await
        .unwrap();
    let got: BTreeSet<String> = users.iter().map(|u| u.uuid.clone().unwrap()).collect();
    let want: BTreeSet<String> =
        sim.inspect(|s| s.tenants[&sim.parent_cid()].users.keys().cloned().collect());
    assert_eq!(users.len(), got.len(), "nothing twice");
    assert_eq!(got, want, "nothing lost");
    assert!(
        falcon.stats().retries > 0,
        "the storm was survived, not avoided"
    );
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
            let uuid = tenant
                .by_uid
                .get(&uid)
                .unwrap_or_else(|| panic!("{uid} missing"));
            let held: BTreeSet<&str> = tenant.grants[uuid]
                .iter()
                .map(|g| g.role_id.as_str())
                .collect();
            assert_eq!(held, roles.into_iter().collect(), "{uid}");
        }
        let hires = tenant
            .by_uid
            .keys()
            .filter(|u| u.starts_with("new.hire"))
            .count();
        assert_eq!(hires, 60, "no duplicates");
    });
}

//! The simulator under load (loopback only, bounded): 20,000 requests from 64 concurrent tasks,
//! a quarter of them creates. Every created user must be in the state exactly once.

use std::collections::BTreeSet;

use falcon_users::UserQuery;
use falcon_users::types::DomainCreateUserRequest;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::falcon_builder;

const TASKS: usize = 64;
const REQUESTS: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_requests_lose_and_duplicate_nothing() {
    let sim = Simulator::start(SimConfig {
        users: 500,
        rate_limit_per_minute: 10_000_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .max_concurrency(TASKS)
        .build()
        .unwrap();
    let before = sim.inspect(|s| s.tenants[&sim.parent_cid()].users.len());
    let per_task = REQUESTS / TASKS;
    let tasks = (0..TASKS).map(|task| {
        let falcon = falcon.clone();
        tokio::spawn(async move {
            let mut created = Vec::new();
            for n in 0..per_task {
                if n % 4 == 0 {
                    let uid = format!("load.t{task}.n{n}@example.com");
                    let user = DomainCreateUserRequest {
                        cid: None,
                        first_name: None,
                        last_name: None,
                        password: None,
                        uid: Some(uid.clone()),
                    };
                    falcon.create_user(user).await.expect("create");
                    created.push(uid);
                } else {
                    falcon
                        .query_user_ids(&UserQuery::new().page_size(10), (n % 50) as u64)
                        .await
                        .expect("query");
                }
            }
            created
        })
    });
    let mut created = Vec::new();
    for task in futures::future::join_all(tasks).await {
        created.extend(task.unwrap());
    }
    let stats = falcon.stats();
    assert_eq!(
        stats.requests as usize,
        per_task * TASKS + 1,
        "every request sent once (+1 token)"
    );
    assert_eq!(stats.retries, 0);
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        assert_eq!(
            tenant.users.len(),
            before + created.len(),
            "nothing lost, nothing extra"
        );
        let uids: BTreeSet<&String> = tenant.users.values().map(|u| &u.uid).collect();
        assert_eq!(uids.len(), tenant.users.len(), "no uid twice");
        for uid in &created {
            assert!(tenant.by_uid.contains_key(uid), "{uid} missing");
        }
    });
}

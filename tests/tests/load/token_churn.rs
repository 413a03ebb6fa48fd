//! Token churn: tokens that live 2 s, a 60 s mixed workload from 32 concurrent tasks. No call
//! may fail, and the client must mint about one token per lifetime (single flight).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use falcon_users::UserQuery;
use falcon_users::types::DomainCreateUserRequest;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::falcon_builder;
use futures::TryStreamExt;

const RUN: Duration = Duration::from_secs(60);
const TTL: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_every_two_seconds_fail_no_call() {
    let sim = Simulator::start(SimConfig {
        users: 300,
        token_ttl: TTL,
        rate_limit_per_minute: 10_000_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .token_renew_window(Duration::from_millis(300))
        .max_concurrency(32)
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + RUN;
    let tasks = (0..32).map(|task| {
        let (falcon, calls) = (falcon.clone(), calls.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let result = match n % 10 {
                    0 => {
                        let uid = format!("churn.t{task}.n{n}@example.com");
                        let user = DomainCreateUserRequest {
                            cid: None,
                            first_name: None,
                            last_name: None,
                            password: None,
                            uid: Some(uid),
                        };
                        falcon.create_user(user).await.map(drop)
                    }
                    1 => falcon
                        .user_ids(UserQuery::new().page_size(100))
                        .try_collect::<Vec<_>>()
                        .await
                        .map(drop),
                    _ => falcon
                        .query_user_ids(&UserQuery::new().page_size(5), n % 100)
                        .await
                        .map(drop),
                };
                result.unwrap_or_else(|e| panic!("task {task} call {n} failed: {e}"));
                calls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    let stats = falcon.stats();
    let lifetimes = RUN.as_secs_f64() / (TTL - Duration::from_millis(300)).as_secs_f64();
    eprintln!(
        "{} calls, {} token requests over {} token lifetimes, {stats:?}",
        calls.load(Ordering::Relaxed),
        stats.token_requests,
        lifetimes.round()
    );
    assert!(calls.load(Ordering::Relaxed) > 10_000, "the workload ran");
    assert!(
        (stats.token_requests as f64) <= lifetimes * 1.3 + 2.0,
        "{} token requests for ~{lifetimes:.0} lifetimes: not single flight",
        stats.token_requests
    );
}

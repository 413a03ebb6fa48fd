//! The simulator's rate limit against the real clock, through the ergonomic client (~5 s).

use std::time::Duration;

use falcon_users::UserQuery;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::falcon;

#[tokio::test]
async fn the_rate_limit_binds_and_the_client_waits_it_out() {
    let sim = Simulator::start(SimConfig {
        rate_limit_per_minute: 600,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let falcon = falcon(&sim, sim.credentials());
    // 600/min = 10/s: a bucket of 600 then refills; 650 calls must meet the limit.
    let started = std::time::Instant::now();
    for _ in 0..650 {
        falcon
            .query_user_ids(&UserQuery::new().page_size(1), 0)
            .await
            .unwrap();
    }
    // The last 50 must wait for the refill (~5 s): the limit bound, and no 429 reached us.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(4),
        "{elapsed:?}: the limit did not bind"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

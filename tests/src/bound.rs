//! Every test is bounded: a hang fails the test instead of blocking the suite.

use std::future::Future;
use std::time::Duration;

/// Every test is bounded: a hang fails after this long instead of blocking the suite.
pub const BOUND: Duration = Duration::from_secs(20);

/// Awaits `f`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("the call did not finish in time (loop or hang)")
}

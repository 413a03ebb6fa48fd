//! Exactly once: a change whose answer was lost is not sent again blindly. The state is read
//! first, and the change repeated only if it did not land.

use std::future::Future;

use tracing::warn;

use crate::client::Falcon;
use crate::error::{Error, Result};

/// Runs `change` so that it takes effect once. When its outcome is unknown (lost answer, timeout,
/// 5xx), `landed` reads the state first, and the change is repeated only if it did not land;
/// attempts and backoff follow the handle's retry policy.
pub(crate) async fn exactly_once<T, Change, Changed, Landed, Found>(
    falcon: &Falcon,
    mut change: Change,
    mut landed: Landed,
) -> Result<T>
where
    Change: FnMut() -> Changed,
    Changed: Future<Output = Result<T>>,
    Landed: FnMut() -> Found,
    Found: Future<Output = Option<T>>,
{
    let policy = falcon.retry_policy();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match change().await {
            Err(err) if outcome_unknown(&err) && attempt < policy.max_attempts => {
                warn!(error = %err, attempt, "outcome unknown; reading the state before trying again");
                if let Some(done) = landed().await {
                    return Ok(done);
                }
                falcon.clock().sleep(policy.backoff(attempt)).await;
            }
            other => return other,
        }
    }
}

/// Errors after which the change may or may not have happened.
fn outcome_unknown(err: &Error) -> bool {
    match err {
        Error::Transport { .. } | Error::Timeout { .. } => true,
        Error::Api { status, .. } => *status >= 500,
        _ => false,
    }
}

//! When to send a request again, how long to wait, and how fast to go near the rate limit.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::Clock;

/// How failed requests are retried. Bounded by attempts and by the call's overall deadline.
///
/// ```
/// use std::time::Duration;
/// use falcon_users::RetryPolicy;
/// let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
/// assert_eq!(policy.initial_backoff, Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1 disables retries).
    pub max_attempts: u32,
    /// First backoff after a 5xx or connection error; doubles each time, with jitter.
    pub initial_backoff: Duration,
    /// Ceiling of one backoff.
    pub max_backoff: Duration,
    /// Longest single wait a 429 may ask for; a longer `RetryAfter` is reported, not waited.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (attempt counts from 1), with full jitter in
    /// its upper half so that many clients do not retry in lockstep.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// `X-RateLimit-RetryAfter` (Unix epoch seconds) or `Retry-After` (delay seconds).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<SystemTime> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
    };
    if let Some(epoch) = read("x-ratelimit-retryafter") {
        return Some(UNIX_EPOCH + Duration::from_secs(epoch));
    }
    read("retry-after").map(|secs| now + Duration::from_secs(secs))
}

/// Keeps in-flight requests under the concurrency limit and paces them when the API says the
/// per-minute budget is nearly spent, so that bulk jobs slow down instead of collecting 429s.
#[derive(Debug)]
pub(crate) struct Limiter {
    permits: Semaphore,
    max_concurrency: u64,
    pace: Mutex<Pace>,
}

#[derive(Debug, Default)]
struct Pace {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// No request starts before this instant (set by pacing and by 429 waits).
    next_slot: Option<SystemTime>,
}

impl Limiter {
    pub(crate) fn new(max_concurrency: usize) -> Self {
        Self {
            permits: Semaphore::new(max_concurrency.max(1)),
            max_concurrency: max_concurrency.max(1) as u64,
            pace: Mutex::new(Pace::default()),
        }
    }

    /// Waits for a free slot; hold the permit for as long as the request is in flight.
    pub(crate) async fn acquire(&self, clock: &dyn Clock) -> SemaphorePermit<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the limiter's semaphore is never closed");
        let wait = {
            let mut pace = self.lock();
            let now = clock.now();
            let start = pace.next_slot.filter(|t| *t > now).unwrap_or(now);
            if let (Some(limit), Some(remaining)) = (pace.limit, pace.remaining) {
                // Low on budget: spread what is left at the refill rate (limit per minute).
                let low_water = (limit / 20).max(self.max_concurrency);
                if remaining <= low_water {
                    pace.next_slot = Some(start + Duration::from_secs(60) / limit.max(1) as u32);
                    pace.remaining = Some(remaining.saturating_sub(1));
                }
            }
            start.duration_since(now).unwrap_or_default()
        };
        if !wait.is_zero() {
            clock.sleep(wait).await;
        }
        permit
    }

    /// Records the budget the API reported.
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        };
        let mut pace = self.lock();
        if let Some(limit) = read("x-ratelimit-limit") {
            pace.limit = Some(limit);
        }
        if let Some(remaining) = read("x-ratelimit-remaining") {
            pace.remaining = Some(remaining);
        }
    }

    /// After a 429, nobody starts before `until`: one wait for all, not a herd of retries.
    pub(crate) fn hold_until(&self, until: SystemTime) {
        let mut pace = self.lock();
        if pace.next_slot.is_none_or(|t| t < until) {
            pace.next_slot = Some(until);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use falcon_users_api::operations;

    /// Retries repeat only what the operation table calls read-only: creates, deletes and role
    /// changes are never sent twice blindly; ids-in-the-body POSTs are.
    #[test]
    fn writes_are_never_read_only() {
        for (op, read_only) in [
            (operations::CREATE_USER_V1, false),
            (operations::USER_ROLES_ACTION_V1, false),
            (operations::DELETE_USER_V1, false),
            (operations::USER_ACTION_V1, false),
            (operations::OAUTH2_REVOKE_TOKEN, false),
            (operations::QUERY_USER_V1, true),
            (operations::RETRIEVE_USERS_GET_V1, true),
        ] {
            assert_eq!(op.read_only, read_only, "{op}");
        }
    }
}

//! Pacing: a concurrency limit, and slowing down as the API's per-minute budget runs low, so bulk
//! jobs spread their requests instead of collecting 429s.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::{Clock, later};

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
                    // In nanoseconds: a limit beyond u32 (any number a server sends) must not
                    // truncate to a zero divisor.
                    let gap = Duration::from_nanos(60_000_000_000 / limit.max(1));
                    pace.next_slot = Some(later(start, gap));
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
    use std::time::Duration;

    use reqwest::header::{HeaderMap, HeaderValue};

    use super::Limiter;
    use crate::clock::{ABSURD_HEADER_NUMBERS, ManualClock};

    /// Whatever budget a server reports (any size, negative, fractional, junk), pacing waits at
    /// most one refill interval (a minute divided by the limit) and never panics.
    #[tokio::test]
    async fn any_reported_budget_gives_a_bounded_wait() {
        for limit in ABSURD_HEADER_NUMBERS {
            for remaining in ABSURD_HEADER_NUMBERS {
                let limiter = Limiter::new(4);
                let mut headers = HeaderMap::new();
                headers.insert("x-ratelimit-limit", HeaderValue::from_static(limit));
                headers.insert("x-ratelimit-remaining", HeaderValue::from_static(remaining));
                limiter.observe(&headers);
                let clock = ManualClock::new();
                for _ in 0..3 {
                    drop(limiter.acquire(&clock).await);
                }
                let waited: Duration = clock.sleeps().iter().sum();
                assert!(
                    waited <= Duration::from_secs(3 * 60),
                    "limit {limit:?}, remaining {remaining:?}: waited {waited:?}"
                );
            }
        }
    }
}

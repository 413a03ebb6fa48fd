//! Pacing: a concurrency limit, and slowing down as the API's per-minute budget runs low, so bulk
//! jobs spread their requests instead of collecting 429s.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::Clock;

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

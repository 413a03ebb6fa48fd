//! Pacing: a concurrency limit, and slowing down as the API's per-minute budget runs low, so bulk
//! jobs spread their requests instead of collecting 429s.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::{Clock, later};
use crate::runtime::rate::RateHeaders;

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

    /// Waits for a free slot and the pacing gap; hold the permit for as long as the request is
    /// in flight. `None` when the wait would outlast `within` (the call's time left): a wait the
    /// deadline cannot cover is refused at once, and the slot it would have taken stays free.
    ///
    /// The pacing gap is a pure wait, taken on `clock`; waiting for another request to give back
    /// its permit is waiting on real work, so it is bounded in real time.
    pub(crate) async fn acquire(
        &self,
        clock: &dyn Clock,
        within: Duration,
    ) -> Option<SemaphorePermit<'_>> {
        // A free slot is taken at once: no timer is set up for a wait that does not happen.
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => tokio::time::timeout(within, self.permits.acquire())
                .await
                .ok()?
                .ok()?,
        };
        let wait = {
            let mut pace = self.lock();
            let now = clock.now();
            let slot = next_slot(&pace, now, self.max_concurrency);
            let wait = slot.start.duration_since(now).unwrap_or_default();
            if wait > within {
                return None;
            }
            if let Some(next) = slot.then {
                pace.next_slot = Some(next);
                pace.remaining = pace.remaining.map(|r| r.saturating_sub(1));
            }
            wait
        };
        if !wait.is_zero() {
            clock.sleep(wait).await;
        }
        Some(permit)
    }

    /// Records the budget the API reported (a header it left out keeps the last value).
    pub(crate) fn observe(&self, rate: &RateHeaders) {
        if rate.limit.is_none() && rate.remaining.is_none() {
            return;
        }
        let mut pace = self.lock();
        if let Some(limit) = rate.limit {
            pace.limit = Some(limit);
        }
        if let Some(remaining) = rate.remaining {
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

/// When the next request may start, and the slot after it when the budget is low.
#[derive(Debug, PartialEq)]
struct Slot {
    start: SystemTime,
    /// Set when pacing: nobody else starts before this.
    then: Option<SystemTime>,
}

/// The pacing decision: start at the held slot (or now); when the reported budget is at its low
/// water mark, the next start is one refill interval later (the limit spread over a minute).
fn next_slot(pace: &Pace, now: SystemTime, max_concurrency: u64) -> Slot {
    let start = pace.next_slot.filter(|t| *t > now).unwrap_or(now);
    let then = match (pace.limit, pace.remaining) {
        (Some(limit), Some(remaining)) if remaining <= (limit / 20).max(max_concurrency) => {
            // In nanoseconds: a limit beyond u32 (any number a server sends) must not truncate
            // to a zero divisor.
            let gap = Duration::from_nanos(60_000_000_000 / limit.max(1));
            Some(later(start, gap))
        }
        _ => None,
    };
    Slot { start, then }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::header::{HeaderMap, HeaderValue};

    use std::time::SystemTime;

    use super::{Limiter, Pace, Slot, next_slot};
    use crate::clock::{ABSURD_HEADER_NUMBERS, Clock, ManualClock};
    use crate::runtime::rate::RateHeaders;

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
                let clock = ManualClock::new();
                limiter.observe(&RateHeaders::read(&headers, clock.now()));
                for _ in 0..3 {
                    drop(limiter.acquire(&clock, Duration::from_secs(3600)).await);
                }
                let waited: Duration = clock.sleeps().iter().sum();
                assert!(
                    waited <= Duration::from_secs(3 * 60),
                    "limit {limit:?}, remaining {remaining:?}: waited {waited:?}"
                );
            }
        }
    }

    /// A pacing wait longer than the time left is refused at once, takes no slot, and waits
    /// nothing; one that fits is waited on the clock.
    #[tokio::test]
    async fn a_wait_the_deadline_cannot_cover_is_refused_without_waiting() {
        let limiter = Limiter::new(4);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("1"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let clock = ManualClock::new();
        limiter.observe(&RateHeaders::read(&headers, clock.now()));
        let first = limiter.acquire(&clock, Duration::from_secs(5)).await;
        assert!(first.is_some(), "the first request starts now");
        drop(first);
        assert!(
            limiter
                .acquire(&clock, Duration::from_secs(5))
                .await
                .is_none(),
            "the next slot is 60 s away: more than the 5 s left"
        );
        assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
        assert!(
            limiter
                .acquire(&clock, Duration::from_secs(61))
                .await
                .is_some()
        );
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(60)]);
    }

    /// A free slot is taken without setting up a timer (the common case, on every request): on a
    /// runtime with no timers at all, it is still granted; a full limiter still waits, bounded.
    #[test]
    fn a_free_slot_is_taken_without_a_timer() {
        let no_timers = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let limiter = Limiter::new(1);
        let clock = ManualClock::new();
        let permit = no_timers.block_on(limiter.acquire(&clock, Duration::from_secs(5)));
        assert!(permit.is_some());
        assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
        let with_timers = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let second = with_timers.block_on(limiter.acquire(&clock, Duration::from_millis(20)));
        assert!(
            second.is_none(),
            "the one slot is taken: refused once the wait runs out"
        );
    }

    #[test]
    fn the_slot_decision() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let pace = |limit, remaining, next_slot| Pace {
            limit,
            remaining,
            next_slot,
        };
        let secs = |s| now + Duration::from_secs(s);
        for (pace, expected) in [
            (
                pace(None, None, None),
                Slot {
                    start: now,
                    then: None,
                },
            ),
            (
                pace(Some(6000), Some(5000), None),
                Slot {
                    start: now,
                    then: None,
                },
            ),
            (
                pace(Some(6000), Some(10), None),
                Slot {
                    start: now,
                    then: Some(now + Duration::from_millis(10)),
                },
            ),
            (
                pace(None, None, Some(secs(30))),
                Slot {
                    start: secs(30),
                    then: None,
                },
            ),
            (
                pace(
                    None,
                    None,
                    Some(secs(0).checked_sub(Duration::from_secs(1)).unwrap()),
                ),
                Slot {
                    start: now,
                    then: None,
                },
            ),
            (
                pace(Some(1), Some(0), Some(secs(5))),
                Slot {
                    start: secs(5),
                    then: Some(secs(65)),
                },
            ),
            (
                pace(Some(0), Some(0), None),
                Slot {
                    start: now,
                    then: Some(secs(60)),
                },
            ),
        ] {
            assert_eq!(next_slot(&pace, now, 4), expected, "{pace:?}");
        }
    }
}

//! The simulator's clock: real time plus however far a test has advanced it, so that tokens
//! expire and temporary grants lapse without the test waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

/// The time every part of a simulator reads: real time, moved forward by [`SimClock::advance`].
/// Clones share the same offset, so the handle a test holds moves the running simulator's time.
///
/// ```
/// use std::time::Duration;
/// use falcon_users_sim::SimClock;
///
/// let clock = SimClock::default();
/// let before = clock.utc();
/// clock.advance(Duration::from_secs(2 * 86_400));
/// assert!(clock.utc() - before >= chrono::Duration::days(2));
/// assert_eq!(clock.advanced(), Duration::from_secs(2 * 86_400));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    /// Nanoseconds added to real time.
    offset_nanos: Arc<AtomicU64>,
}

impl SimClock {
    /// Moves the simulator's time forward by `by` (it never goes back).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: an absurd advance pins the clock far ahead instead of wrapping back.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// How far the clock has been advanced in total.
    pub fn advanced(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }

    /// Now, as a monotonic instant (what token lifetimes and rate buckets measure).
    pub fn instant(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.advanced()).unwrap_or(now)
    }

    /// Now, as wall-clock time (what `Retry-After` and rate-limit reset headers state).
    pub fn system(&self) -> SystemTime {
        let now = SystemTime::now();
        now.checked_add(self.advanced()).unwrap_or(now)
    }

    /// Now, in UTC (what `created_at`, `updated_at` and grant expiries are compared with).
    pub fn utc(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.system())
    }
}

/// The SDK's clock on the simulator's time, linking the two: `now` reads the simulator's clock
/// and `sleep` advances it at once, so a client waiting for the simulator (a read-after-write
/// lag, a rate-limit reset, a token's end) waits no real time, and the simulator sees the time
/// pass. Concurrent sleeps add up (two 2 s sleeps at once move it 4 s), as with the SDK's own
/// `ManualClock`. Give it to a client with `FalconBuilder::clock(Arc::new(sim.clock().clone()))`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use falcon_users::clock::Clock;
/// use falcon_users_sim::SimClock;
///
/// let clock = SimClock::default();
/// clock.sleep(Duration::from_secs(30)).await;
/// assert_eq!(clock.advanced(), Duration::from_secs(30));
/// # }
/// ```
#[cfg(feature = "falcon")]
impl falcon_users::clock::Clock for SimClock {
    fn now(&self) -> SystemTime {
        self.system()
    }

    fn sleep(&self, duration: Duration) -> futures::future::BoxFuture<'static, ()> {
        self.advance(duration);
        // Still a yield point, as a real sleep is: other tasks run before the sleeper goes on.
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset_and_advances_add_up() {
        let clock = SimClock::default();
        let other = clock.clone();
        other.advance(Duration::from_secs(60));
        clock.advance(Duration::from_secs(30));
        assert_eq!(clock.advanced(), Duration::from_secs(90));
        assert!(clock.instant() >= Instant::now() + Duration::from_secs(89));
    }

    #[test]
    fn an_absurd_advance_saturates_instead_of_wrapping() {
        let clock = SimClock::default();
        clock.advance(Duration::MAX);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.advanced(), Duration::from_nanos(u64::MAX));
        // Still answers (falls back to real time where the platform cannot represent it).
        let _ = (clock.instant(), clock.system(), clock.utc());
    }
}

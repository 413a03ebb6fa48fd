//! Time as the SDK sees it: injectable, so token expiry and rate-limit waits can be tested
//! without waiting.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

/// Wall-clock time and sleeping. [`SystemClock`] in production; [`ManualClock`] in tests.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// `time + by`, saturating: a server may send any number of seconds, and `SystemTime` panics on
/// overflow. Past the representable range the answer is a century after `time`, which every
/// caller treats as "too long to wait".
pub(crate) fn later(time: SystemTime, by: Duration) -> SystemTime {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    time.checked_add(by)
        .or_else(|| time.checked_add(CENTURY))
        .unwrap_or(time)
}

/// Numbers as a hostile or broken server may send them in a time or budget header: zero, small,
/// past `u32`, past `i64`, past `u64`, negative, fractional, junk, empty. For the tests of every
/// parser that reads such a header.
#[cfg(test)]
pub(crate) const ABSURD_HEADER_NUMBERS: &[&str] = &[
    "0",
    "1",
    "20",
    "1700000000",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "99999999999999999999999",
    "-1",
    "1.5",
    "junk",
    "",
];

/// The real clock: `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that only moves when told to; `sleep` advances it at once and records the wait.
///
/// ```
/// use std::time::Duration;
/// use falcon_users::clock::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(1800));
/// assert_eq!(clock.now().duration_since(t0).unwrap(), Duration::from_secs(1800));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock set to the current wall-clock time.
    pub fn new() -> Self {
        Self {
            now: Mutex::new(SystemTime::now()),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Every wait requested through [`Clock::sleep`], in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        self.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}

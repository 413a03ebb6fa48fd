//! Counters of what a `Falcon` handle sent, for tests, benchmarks and the CLI's summaries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters shared by every clone of one `Falcon` (and its member handles).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    /// Shared with the listings, which count into it as they page.
    pub(crate) duplicates: Arc<AtomicU64>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP requests sent, token requests and retries included.
    pub requests: u64,
    /// Requests that were sent again after a 429, a 5xx, a 401 or a connection error.
    pub retries: u64,
    /// 429 responses received (whether or not a retry then succeeded).
    pub rate_limited: u64,
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// Rows a listing received more than once (an id on two pages, or twice on one) and
    /// delivered once: a server that does this is misbehaving, but no row is lost to it.
    pub duplicates_dropped: u64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            token_requests: self.token_requests.load(Ordering::Relaxed),
            duplicates_dropped: self.duplicates.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

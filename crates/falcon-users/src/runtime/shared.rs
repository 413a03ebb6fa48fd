//! The request runtime one `Falcon` handle, its clones and its Flight Control member handles share:
//! HTTP client, endpoint, credentials, pacing, retry policy, clock, limits, counters and the token
//! caches of the member CIDs. State only; the pipeline and the minter act on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::model::cid::Cid;
use crate::model::credentials::Credentials;
use crate::model::ids::BatchLimits;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::pacing::Limiter;
use crate::runtime::retry::RetryPolicy;
use crate::runtime::stats::Stats;
use crate::runtime::token::TokenCache;

/// The settings a [`Runtime`] is built from (what the builder checked).
pub(crate) struct Settings {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_concurrency: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) renew_window: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) batch: BatchLimits,
}

/// Everything the requests of one handle (and its members) share.
pub(crate) struct Runtime {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) limiter: Limiter,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) renew_window: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Duration,
    /// The most bytes one response body may have.
    pub(crate) max_response_bytes: u64,
    pub(crate) batch: BatchLimits,
    pub(crate) stats: Stats,
    members: Mutex<HashMap<Cid, Arc<TokenCache>>>,
}

impl Runtime {
    /// A runtime with no token cached yet.
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            http: settings.http,
            endpoint: settings.endpoint,
            credentials: settings.credentials,
            retry: settings.retry,
            limiter: Limiter::new(settings.max_concurrency),
            clock: settings.clock,
            renew_window: settings.renew_window,
            request_timeout: settings.request_timeout,
            deadline: settings.deadline,
            max_response_bytes: settings.max_response_bytes,
            batch: settings.batch,
            stats: Stats::default(),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// The token cache of one member CID, created on first use and kept for the runtime.
    pub(crate) fn member(&self, cid: &Cid) -> Arc<TokenCache> {
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            members
                .entry(cid.clone())
                .or_insert_with(|| Arc::new(TokenCache::new(Some(cid.clone())))),
        )
    }
}

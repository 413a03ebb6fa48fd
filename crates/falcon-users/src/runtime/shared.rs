//! The request runtime one `Falcon` handle, its clones and its Flight Control member handles share:
//! HTTP client, endpoint, credentials, retry policy, clock, limits, counters, and one [`Lane`]
//! (token cache and pacing) per CID: the service budgets requests per customer (CID), so each
//! member CID is paced on its own budget, not on the parent's. State only; the pipeline and the
//! minter act on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::model::cid::Cid;
use crate::model::credentials::Credentials;
use crate::model::ids::BatchLimits;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::pacing::Limiter;
use crate::runtime::retry::RetryPolicy;
use crate::runtime::stats::Stats;
use crate::runtime::token::TokenCache;
use crate::runtime::transport::Transport;

/// The settings a [`Runtime`] is built from and keeps (what the builder checked).
pub(crate) struct Settings {
    pub(crate) transport: Transport,
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_concurrency: usize,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) renew_window: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) batch: BatchLimits,
}

/// What one CID has of its own: its token cache and its [`Limiter`] (concurrency, pacing by the
/// budget the API reports for that CID, and the hold after a 429 there). Cheap to clone.
#[derive(Clone)]
pub(crate) struct Lane {
    pub(crate) cache: Arc<TokenCache>,
    pub(crate) limiter: Arc<Limiter>,
}

impl Lane {
    fn new(member: Option<Cid>, max_concurrency: usize) -> Self {
        Self {
            cache: Arc::new(TokenCache::new(member)),
            limiter: Arc::new(Limiter::new(max_concurrency)),
        }
    }
}

/// Everything the requests of one handle (and its members) share: the settings as the builder
/// checked them, held once, and the state their requests build up.
pub(crate) struct Runtime {
    pub(crate) settings: Settings,
    /// The lane of the credentials' own CID.
    pub(crate) home: Lane,
    /// Slots shared by every lane, when the handle bounds its requests in flight overall.
    pub(crate) in_flight: Option<Semaphore>,
    pub(crate) stats: Stats,
    members: Mutex<HashMap<Cid, Lane>>,
}

impl Runtime {
    /// A runtime with no token cached yet.
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            home: Lane::new(None, settings.max_concurrency),
            in_flight: settings.max_in_flight.map(Semaphore::new),
            settings,
            stats: Stats::default(),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// The lane of one member CID (`None`: the credentials' own), created on first use and
    /// kept for the runtime, so that every handle acting in a CID shares its token and budget.
    pub(crate) fn lane(&self, member: Option<&Cid>) -> Lane {
        let Some(cid) = member else {
            return self.home.clone();
        };
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        members
            .entry(cid.clone())
            .or_insert_with(|| Lane::new(Some(cid.clone()), self.settings.max_concurrency))
            .clone()
    }
}

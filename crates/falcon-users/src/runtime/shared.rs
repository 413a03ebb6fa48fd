//! The request runtime one `Falcon` handle, its clones and its Flight Control member handles share:
//! HTTP client, endpoint, credentials, retry policy, clock, limits, counters, and one [`Lane`]
//! (token cache and pacing) per CID: the service budgets requests per customer (CID), so each
//! member CID is paced on its own budget, not on the parent's. State only; the pipeline and the
//! minter act on it.
//!
//! Member lanes are kept while a handle (or a client from [`Falcon::api`](crate::Falcon::api))
//! uses them, and up to [`IDLE_LANES`] more, least recently used first out, so that a handle
//! walked over every CID of a large fleet does not keep a token and a budget for each.

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
    pub(crate) deadline: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) batch: BatchLimits,
}

/// How many member lanes no handle uses are kept (their tokens and budgets reused if a handle
/// for that CID comes back) before the least recently used is dropped. A bound, as an identity
/// cache has: a walk over a few hundred children keeps this many, not one per child.
pub(crate) const IDLE_LANES: usize = 64;

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

    /// Nothing but the runtime's map holds this lane: no handle, no client, no request in
    /// flight. Only then may it be dropped: two lanes for one CID would split its budget.
    fn idle(&self) -> bool {
        Arc::strong_count(&self.cache) == 1 && Arc::strong_count(&self.limiter) == 1
    }
}

/// The member lanes, each with when it was last asked for.
#[derive(Default)]
struct Members {
    lanes: HashMap<Cid, (Lane, u64)>,
    /// Counts requests for a lane: the order of use, for dropping the least recent.
    tick: u64,
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
    members: Mutex<Members>,
}

impl Runtime {
    /// A runtime with no token cached yet.
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            home: Lane::new(None, settings.max_concurrency),
            in_flight: settings.max_in_flight.map(Semaphore::new),
            settings,
            stats: Stats::default(),
            members: Mutex::new(Members::default()),
        }
    }

    /// The lane of one member CID (`None`: the credentials' own), created on first use and
    /// kept while in use, so that every handle acting in a CID shares its token and budget;
    /// creating one drops the least recently used idle lanes past [`IDLE_LANES`].
    pub(crate) fn lane(&self, member: Option<&Cid>) -> Lane {
        let Some(cid) = member else {
            return self.home.clone();
        };
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        members.tick += 1;
        let tick = members.tick;
        if let Some((lane, used)) = members.lanes.get_mut(cid) {
            *used = tick;
            return lane.clone();
        }
        let lane = Lane::new(Some(cid.clone()), self.settings.max_concurrency);
        members.lanes.insert(cid.clone(), (lane.clone(), tick));
        // The new lane is held (`lane`), so it is not among the idle ones dropped here; room
        // is left for it, as it is idle again when its handle goes.
        let mut idle: Vec<(u64, Cid)> = members
            .lanes
            .iter()
            .filter(|(_, (lane, _))| lane.idle())
            .map(|(cid, (_, used))| (*used, cid.clone()))
            .collect();
        let keep = IDLE_LANES - 1;
        if idle.len() > keep {
            idle.sort_unstable();
            for (_, cid) in &idle[..idle.len() - keep] {
                members.lanes.remove(cid);
            }
        }
        lane
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{IDLE_LANES, Runtime, Settings};
    use crate::clock::SystemClock;
    use crate::model::cid::Cid;
    use crate::model::cloud::Cloud;
    use crate::model::credentials::Credentials;
    use crate::runtime::endpoint::Endpoint;
    use crate::runtime::transport::{Transport, TransportSettings};

    /// A runtime for the US-1 cloud that sends nothing until asked.
    pub(crate) fn runtime() -> Runtime {
        let transport = Transport::new(TransportSettings {
            user_agent: "test".into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            idle_per_host: 1,
            proxy: None,
            root_certificates: Vec::new(),
            plain_http: false,
        })
        .unwrap();
        Runtime::new(Settings {
            transport,
            endpoint: Endpoint::new(&Cloud::Us1, HashMap::new(), None),
            credentials: Credentials::new("id", "secret"),
            retry: Default::default(),
            max_concurrency: 4,
            max_in_flight: None,
            clock: Arc::new(SystemClock),
            renew_window: Duration::from_secs(120),
            deadline: Duration::from_secs(180),
            max_response_bytes: 1024,
            batch: Default::default(),
        })
    }

    fn cid(n: usize) -> Cid {
        format!("{n:032x}").parse().unwrap()
    }

    fn lanes(runtime: &Runtime) -> usize {
        runtime.members.lock().unwrap().lanes.len()
    }

    /// A handle walked over a large fleet, one member handle after another, keeps the most
    /// recent lanes (their tokens reused if it comes back to them) and drops the others.
    #[test]
    fn a_fleet_walk_keeps_a_bounded_number_of_lanes() {
        assert_eq!(
            IDLE_LANES, 64,
            "the number for_member's doc and the README give"
        );
        let runtime = runtime();
        let children = 10 * IDLE_LANES;
        let mut caches = Vec::new();
        for n in 0..children {
            let lane = runtime.lane(Some(&cid(n)));
            caches.push(Arc::downgrade(&lane.cache));
        }
        assert_eq!(lanes(&runtime), IDLE_LANES);
        let kept = caches.iter().filter(|c| c.upgrade().is_some()).count();
        assert_eq!(kept, IDLE_LANES, "dropped lanes free their memory");
        // The most recent children still have theirs; the first do not.
        let last = runtime.lane(Some(&cid(children - 1)));
        assert!(Arc::ptr_eq(
            &last.cache,
            &caches[children - 1].upgrade().unwrap()
        ));
        assert!(caches[0].upgrade().is_none());
    }

    /// A lane asked for again is recent again: a CID worked over and over stays while newer
    /// one-off CIDs come and go.
    #[test]
    fn a_lane_used_again_is_kept_before_older_ones() {
        let runtime = runtime();
        let regular = Arc::downgrade(&runtime.lane(Some(&cid(0))).cache);
        for n in 1..5 * IDLE_LANES {
            runtime.lane(Some(&cid(n)));
            runtime.lane(Some(&cid(0)));
        }
        let again = runtime.lane(Some(&cid(0)));
        assert!(Arc::ptr_eq(&again.cache, &regular.upgrade().unwrap()));
    }

    /// A lane a handle holds, or only a client's limiter, or a request in flight, is never
    /// dropped, however many CIDs come after: a second lane for its CID would split its budget.
    #[test]
    fn a_lane_in_use_is_never_evicted() {
        let runtime = runtime();
        let held = runtime.lane(Some(&cid(0)));
        let limiter_only = Arc::clone(&runtime.lane(Some(&cid(1))).limiter);
        for n in 2..10 * IDLE_LANES {
            runtime.lane(Some(&cid(n)));
        }
        assert_eq!(lanes(&runtime), IDLE_LANES + 2);
        assert!(Arc::ptr_eq(&runtime.lane(Some(&cid(0))).cache, &held.cache));
        assert!(Arc::ptr_eq(
            &runtime.lane(Some(&cid(1))).limiter,
            &limiter_only
        ));
    }
}

//! What every handler shares: the configuration, the domain state, the API clients, and the
//! simulator's records of the run (requests per operation, scripted and injected failures).
//! It sits below HTTP so that handlers, the gate and the fault layer all reach it without
//! reaching the server that starts them.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use falcon_users_api::Operation;

use crate::clients::Clients;
use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::lag::Lag;
use crate::state::State;

/// How many faults the simulator injected, by kind (see [`crate::Simulator::faults_injected`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectedFaults {
    /// 429s sent by the injected throttle (the per-client budget's own 429s are not counted).
    pub rate_limited: u64,
    /// 500s and 503s.
    pub server_errors: u64,
    /// Answers cut off after the handler did its work.
    pub dropped: u64,
    /// Answers sent slowly.
    pub slow_bodies: u64,
}

/// What handlers share.
pub struct Shared {
    /// The configuration it started with.
    pub config: SimConfig,
    /// Tenants: the true state, what writes are checked against and change.
    state: RwLock<State>,
    /// What reads see when they lag writes ([`SimConfig::read_lag`]); none without a lag.
    /// Boxed: without a lag, what every request touches stays laid out as it was.
    lag: Option<Box<Lag>>,
    /// Clients, tokens, rate limits.
    pub clients: Clients,
    /// Seeded randomness of the faults.
    pub fault_rng: Mutex<fastrand::Rng>,
    /// Faults injected so far.
    pub injected: Mutex<InjectedFaults>,
    /// Requests answered, by upstream operationId.
    counts: Mutex<BTreeMap<&'static str, u64>>,
    /// Failures scripted by tests: operationId → (status, how many more times).
    scripted: Mutex<BTreeMap<&'static str, (u16, u32)>>,
    /// When the first temporary grant lapses (Unix seconds; `i64::MAX` when none does), so
    /// that reads purge lapsed grants only when one is due.
    next_lapse: AtomicI64,
}

/// The state, locked for a write; what the write changed is handed to the read-after-write
/// lag, if any, when it is dropped.
pub struct StateWrite<'a> {
    state: RwLockWriteGuard<'a, State>,
    shared: &'a Shared,
    immediate: bool,
}

impl Deref for StateWrite<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for StateWrite<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateWrite<'_> {
    fn drop(&mut self) {
        if let Some(lag) = &self.shared.lag {
            lag.record(&self.state, self.shared.clock().utc(), self.immediate);
        }
    }
}

/// Locks `mutex`, recovering a poisoned one: every write leaves the data consistent.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Everything a fresh simulator shares: `state` seeded, `clients` registered. Writes
    /// `state` saved unseen ([`State::pending`]) stay unseen until their time with a lag, and
    /// are seen at once without one (the tenants already hold them).
    pub fn new(config: SimConfig, mut state: State, clients: Clients) -> Shared {
        let next = state.lapse_grants(clients.clock().utc());
        let lag = if config.read_lag.is_zero() {
            state.pending.clear();
            None
        } else {
            Some(Box::new(Lag::new(config.read_lag, &mut state)))
        };
        state.clock_advanced_ms = 0;
        Shared {
            lag,
            next_lapse: AtomicI64::new(next.map_or(i64::MAX, |t| t.timestamp())),
            fault_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0xFA17)),
            config,
            state: RwLock::new(state),
            clients,
            injected: Mutex::default(),
            counts: Mutex::default(),
            scripted: Mutex::default(),
        }
    }

    /// The state as reads of users and grants see it (a poisoned lock is recovered: the data
    /// stays consistent per write), temporary grants that have lapsed by the clock gone: the
    /// true state, or with a read-after-write lag the writes old enough to be seen.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        if self.lapse_due() {
            drop(self.write());
        }
        match &self.lag {
            None => self.state.read().unwrap_or_else(|p| p.into_inner()),
            Some(lag) => lag.view(self.clock().utc()),
        }
    }

    /// The true state, every write in it even with a lag: what a write is checked against
    /// (a login already taken, a user that exists) and what a test asks the simulator;
    /// temporary grants that have lapsed by the clock gone.
    pub fn truth(&self) -> RwLockReadGuard<'_, State> {
        if self.lapse_due() {
            drop(self.write());
        }
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the state, temporary grants that have lapsed by the clock gone. With a lag, what
    /// the write changed is seen by reads only that long after (when the guard is dropped).
    pub fn write(&self) -> StateWrite<'_> {
        self.write_seen(false)
    }

    /// [`Shared::write`] whose changes reads see at once, lag or not: a test seeding its tenant.
    pub fn write_now(&self) -> StateWrite<'_> {
        self.write_seen(true)
    }

    fn write_seen(&self, immediate: bool) -> StateWrite<'_> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if self.lapse_due() {
            let now = self.clock().utc();
            let next = state.lapse_grants(now);
            if let Some(lag) = &self.lag {
                lag.lapse(now);
            }
            // Under the write lock: no grant can be added between the purge and this store.
            self.next_lapse
                .store(next.map_or(i64::MAX, |t| t.timestamp()), Ordering::SeqCst);
        }
        StateWrite {
            state,
            shared: self,
            immediate,
        }
    }

    /// The true state with the writes reads do not see yet and the clock's advance: what a
    /// simulator started from it (perhaps in another process) needs to go on as this one would.
    pub fn snapshot(&self) -> State {
        // The queue is read under the truth's lock, which every write holds while it queues: the
        // two agree.
        let truth = self.truth();
        let mut state = truth.clone();
        if let Some(lag) = &self.lag {
            state.pending = lag.pending();
        }
        drop(truth);
        state.clock_advanced_ms =
            u64::try_from(self.clock().advanced().as_millis()).unwrap_or(u64::MAX);
        state
    }

    /// Notes a temporary grant lapsing at `at`. Call it holding the write lock that added it.
    pub fn lapses_at(&self, at: DateTime<Utc>) {
        self.next_lapse.fetch_min(at.timestamp(), Ordering::SeqCst);
    }

    fn lapse_due(&self) -> bool {
        self.clock().utc().timestamp() >= self.next_lapse.load(Ordering::SeqCst)
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &SimClock {
        self.clients.clock()
    }

    /// Now by the clock, as the service writes times (`2026-12-01T19:00:00Z`).
    pub fn now_text(&self) -> String {
        self.clock()
            .utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Counts one request of `operation`.
    pub fn count(&self, operation: &'static Operation) {
        *lock(&self.counts).entry(operation.id).or_default() += 1;
    }

    /// Requests answered per upstream operationId.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.counts).clone()
    }

    /// Makes the next `times` requests of `operation` fail with `status`.
    pub fn script_failure(&self, operation: &'static Operation, status: u16, times: u32) {
        let mut scripted = lock(&self.scripted);
        if times == 0 {
            scripted.remove(operation.id);
        } else {
            scripted.insert(operation.id, (status, times));
        }
    }

    /// The status to fail this request of `operation` with, if a test scripted one.
    pub fn scripted_failure(&self, operation: &Operation) -> Option<u16> {
        let mut scripted = lock(&self.scripted);
        let (status, left) = scripted.get_mut(operation.id)?;
        let status = *status;
        *left -= 1;
        if *left == 0 {
            scripted.remove(operation.id);
        }
        Some(status)
    }
}

//! What every handler shares: the configuration, the domain state, the API clients, and the
//! simulator's records of the run (requests per operation, scripted and injected failures).
//! It sits below HTTP so that handlers, the gate and the fault layer all reach it without
//! reaching the server that starts them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use falcon_users_api::Operation;

use crate::clients::Clients;
use crate::clock::SimClock;
use crate::config::SimConfig;
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
    /// Tenants.
    pub state: RwLock<State>,
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

/// Locks `mutex`, recovering a poisoned one: every write leaves the data consistent.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Everything a fresh simulator shares: `state` seeded, `clients` registered.
    pub fn new(config: SimConfig, mut state: State, clients: Clients) -> Shared {
        let next = state.lapse_grants(clients.clock().utc());
        Shared {
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

    /// Reads the state (a poisoned lock is recovered: the data stays consistent per write),
    /// temporary grants that have lapsed by the clock gone.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        if self.lapse_due() {
            drop(self.write());
        }
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the state, temporary grants that have lapsed by the clock gone.
    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if self.lapse_due() {
            let next = state.lapse_grants(self.clock().utc());
            // Under the write lock: no grant can be added between the purge and this store.
            self.next_lapse
                .store(next.map_or(i64::MAX, |t| t.timestamp()), Ordering::SeqCst);
        }
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

//! Read-after-write lag: what reads see when the service's listings trail its writes.
//!
//! One mechanism for every route: the true state (what writes are checked against and change)
//! is kept as it is, and beside it a *visible* copy that reads answer from, plus the queue of
//! writes the visible copy has not taken yet, each with the time reads start seeing it. After
//! each write the changed records are found by comparing the true state with the one before
//! the write (a third copy, `committed`), and queued; before each read the writes that are due
//! by the simulator's clock are applied to the visible copy. Without a lag none of this exists.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::{PendingWrite, State};

/// The visible copy and the writes it has yet to take.
#[derive(Debug)]
pub struct Lag {
    /// How long a write stays unseen.
    delay: chrono::Duration,
    /// The true state as of the last write, and the queue, oldest first.
    queue: Mutex<Queue>,
    /// What reads see.
    visible: RwLock<State>,
    /// When the oldest queued write is due (Unix milliseconds; `i64::MAX` when none is), so a
    /// read takes the queue's lock only when there is something to apply.
    next_due: AtomicI64,
}

#[derive(Debug)]
struct Queue {
    committed: State,
    pending: VecDeque<PendingWrite>,
}

fn millis(at: Option<DateTime<Utc>>) -> i64 {
    at.map_or(i64::MAX, |t| t.timestamp_millis())
}

impl Lag {
    /// A lag of `delay` over the true state `truth`, whose [`State::pending`] writes (saved by
    /// a previous simulator, in the order they were made) are taken out of it into the queue,
    /// still unseen until their time.
    pub fn new(delay: Duration, truth: &mut State) -> Lag {
        // Kept in write order, not sorted by time: undoing them must go newest write first.
        let pending = std::mem::take(&mut truth.pending);
        let mut visible = truth.clone();
        // What reads saw when it was saved: the true state with each unseen write undone,
        // newest first.
        for write in pending.iter().rev() {
            for change in write.changes.iter().rev() {
                visible.apply(change, false);
            }
        }
        Lag {
            delay: chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
            next_due: AtomicI64::new(millis(pending.first().map(|w| w.visible_at))),
            queue: Mutex::new(Queue {
                committed: truth.clone(),
                pending: pending.into(),
            }),
            visible: RwLock::new(visible),
        }
    }

    /// Records the write that left the true state as `truth`, at `now`: unseen until `now` plus
    /// the lag, or seen at once when `immediate` (a test seeding its tenant), which also drops
    /// the queued writes of the same records (they are older than this one). Custom roles are
    /// never lagged (no API call changes them).
    pub fn record(&self, truth: &State, now: DateTime<Utc>, immediate: bool) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let changes = truth.changes_since(&queue.committed);
        let roles_changed = truth.tenants.iter().any(|(cid, t)| {
            queue.committed.tenants.get(cid).map(|c| &c.custom_roles) != Some(&t.custom_roles)
        });
        if changes.is_empty() && !roles_changed {
            return;
        }
        for change in &changes {
            queue.committed.apply(change, true);
        }
        if roles_changed || immediate {
            let mut visible = self.visible.write().unwrap_or_else(|p| p.into_inner());
            for (cid, tenant) in &truth.tenants {
                for copy in [&mut queue.committed, &mut *visible] {
                    if let Some(c) = copy.tenants.get_mut(cid) {
                        c.custom_roles.clone_from(&tenant.custom_roles);
                    }
                }
            }
            if immediate {
                for change in &changes {
                    visible.apply(change, true);
                    for write in &mut queue.pending {
                        write.changes.retain(|c| !c.same_record(change));
                    }
                }
                queue.pending.retain(|w| !w.changes.is_empty());
                self.next_due.store(
                    millis(queue.pending.front().map(|w| w.visible_at)),
                    Ordering::SeqCst,
                );
                return;
            }
        }
        if changes.is_empty() {
            return;
        }
        let visible_at = now + self.delay;
        queue.pending.push_back(PendingWrite {
            visible_at,
            changes,
        });
        self.next_due
            .fetch_min(visible_at.timestamp_millis(), Ordering::SeqCst);
    }

    /// What reads see at `now`: the visible copy, with every write due by then applied.
    pub fn view(&self, now: DateTime<Utc>) -> RwLockReadGuard<'_, State> {
        if now.timestamp_millis() >= self.next_due.load(Ordering::SeqCst) {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let mut visible = self.visible.write().unwrap_or_else(|p| p.into_inner());
            while let Some(write) = queue.pending.front().filter(|w| w.visible_at <= now) {
                for change in &write.changes {
                    visible.apply(change, true);
                }
                queue.pending.pop_front();
            }
            // A temporary grant written while unseen may have ended since.
            visible.lapse_grants(now);
            self.next_due.store(
                millis(queue.pending.front().map(|w| w.visible_at)),
                Ordering::SeqCst,
            );
        }
        self.visible.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the temporary grants due by `now` in what reads see, as the true state's end
    /// (ending is not a write anyone waits to see).
    pub fn lapse(&self, now: DateTime<Utc>) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.committed.lapse_grants(now);
        let mut visible = self.visible.write().unwrap_or_else(|p| p.into_inner());
        visible.lapse_grants(now);
    }

    /// The writes not seen yet, oldest first (to save them with the state).
    pub fn pending(&self) -> Vec<PendingWrite> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pending
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::state::Grant;

    fn seeded() -> State {
        let config = SimConfig {
            users: 5,
            child_cids: 1,
            review_cases: false,
            ..SimConfig::default()
        };
        let mut state = crate::tenant_gen::tenant(&config, Utc::now());
        state.rebuild_indexes();
        state
    }

    fn grants(state: &State, uuid: &str) -> Vec<String> {
        state
            .grants_of(uuid)
            .into_iter()
            .map(|g| g.role_id)
            .collect()
    }

    /// A grant is unseen until its time, then seen; the queue saved and loaded again gives the
    /// same view.
    #[test]
    fn a_write_is_seen_after_the_lag_and_a_saved_queue_keeps_it_unseen() {
        let mut truth = seeded();
        let lag = Lag::new(Duration::from_secs(30), &mut truth);
        let parent = truth.parent_cid.clone();
        let uuid = truth.tenants[&parent]
            .by_uid
            .values()
            .next()
            .unwrap()
            .clone();
        let before = grants(&truth, &uuid);
        let t0 = Utc::now();
        truth
            .tenants
            .get_mut(&parent)
            .unwrap()
            .grants
            .entry(uuid.clone())
            .or_default()
            .push(Grant {
                role_id: "falcon_console_guest".into(),
                cid: parent.clone(),
                expires_at: None,
            });
        lag.record(&truth, t0, false);
        let after = grants(&truth, &uuid);
        assert_ne!(before, after);
        assert_eq!(grants(&lag.view(t0), &uuid), before);
        assert_eq!(
            grants(&lag.view(t0 + chrono::Duration::seconds(29)), &uuid),
            before
        );

        let mut saved = truth.clone();
        saved.pending = lag.pending();
        let reloaded = Lag::new(Duration::from_secs(30), &mut saved);
        assert!(saved.pending.is_empty(), "taken into the queue");
        assert_eq!(grants(&reloaded.view(t0), &uuid), before);

        let later = t0 + chrono::Duration::seconds(30);
        assert_eq!(grants(&lag.view(later), &uuid), after);
        assert_eq!(grants(&reloaded.view(later), &uuid), after);
        assert!(lag.pending().is_empty());
    }

    /// A change of the Flight Control groups (here a user group made) is one write like any
    /// other: unseen until its time, also after a save and load, then seen whole.
    #[test]
    fn a_fleet_change_is_seen_after_the_lag_also_when_reloaded() {
        let mut truth = seeded();
        let lag = Lag::new(Duration::from_secs(30), &mut truth);
        let t0 = Utc::now();
        truth.fleet.user_groups.insert(
            "ug".into(),
            crate::state::fleet::UserGroup {
                id: "ug".into(),
                name: "Analysts".into(),
                description: String::new(),
                members: Default::default(),
                modified_at: t0,
            },
        );
        lag.record(&truth, t0, false);
        let mut saved = truth.clone();
        saved.pending = lag.pending();
        let reloaded = Lag::new(Duration::from_secs(30), &mut saved);
        for view in [lag.view(t0), reloaded.view(t0)] {
            assert!(view.fleet.is_empty());
        }
        let later = t0 + chrono::Duration::seconds(30);
        for view in [lag.view(later), reloaded.view(later)] {
            assert_eq!(view.fleet, truth.fleet);
        }
    }

    /// A created and a deleted user: unseen (the index too, which queries page over) until
    /// their time, also after a save and load, then seen.
    #[test]
    fn users_created_and_deleted_are_seen_after_the_lag_also_when_reloaded() {
        let mut truth = seeded();
        let lag = Lag::new(Duration::from_secs(30), &mut truth);
        let parent = truth.parent_cid.clone();
        let tenant = truth.tenants.get_mut(&parent).unwrap();
        let gone = tenant.users.values().next().unwrap().clone();
        let mut new = gone.clone();
        new.uuid = "9".repeat(32);
        new.uid = "new@example.com".into();
        assert!(tenant.insert(new.clone()));
        truth.remove_user(&parent, &gone.uuid).unwrap();
        let t0 = Utc::now();
        lag.record(&truth, t0, false);
        let mut saved = truth.clone();
        saved.pending = lag.pending();
        let reloaded = Lag::new(Duration::from_secs(30), &mut saved);
        let seen = |state: &State, user: &crate::state::User| {
            let tenant = &state.tenants[&parent];
            let indexed = tenant.by_uid.get(&user.uid) == Some(&user.uuid);
            assert_eq!(
                tenant.users.contains_key(&user.uuid),
                indexed,
                "{}",
                user.uid
            );
            indexed
        };
        for view in [lag.view(t0), reloaded.view(t0)] {
            assert!(!seen(&view, &new) && seen(&view, &gone));
        }
        let later = t0 + chrono::Duration::seconds(30);
        for view in [lag.view(later), reloaded.view(later)] {
            assert!(seen(&view, &new) && !seen(&view, &gone));
            assert_eq!(view.tenants[&parent].users, truth.tenants[&parent].users);
            assert_eq!(view.tenants[&parent].by_uid, truth.tenants[&parent].by_uid);
        }
    }
}

//! Waiting for the service to show a workflow's own changes. The service's listings lag its
//! writes (seen to disagree for more than 30 s after a grant or revoke), so a workflow that
//! returned at once would leave a rerun, or a plan made right after, reading the state from
//! before it: a second create, a revoke of grants already gone, the same changes planned again.
//!
//! A workflow waits once, after all its changes, for the one it made last: the service shows
//! writes in the order it took them (a guess recorded in `spec/CURATION.md`), so when the last
//! is visible every earlier one is. The check reads that one user again (one to three
//! requests); on a service without lag it passes at once, and nothing waits.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::client::Falcon;
use crate::error::Result;

/// How long a workflow waits for the service to show its own changes, and how it says so.
///
/// ```
/// use std::time::Duration;
/// use falcon_users::workflows::Settle;
/// let patient = Settle::new().limit(Duration::from_secs(120));
/// assert_eq!(patient.limit, Duration::from_secs(120));
/// assert_eq!(Settle::new().interval, Duration::from_secs(2));
/// assert!(Settle::off().limit.is_zero());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Settle {
    /// The longest wait, in pauses between checks (default 90 s, as CrowdStrike's own
    /// Terraform provider waits); zero checks nothing and returns at once.
    pub limit: Duration,
    /// Time between two checks (default 2 s).
    pub interval: Duration,
    progress: Option<Progress>,
}

/// What [`Settle::on_progress`] calls.
type Progress = Arc<dyn Fn(&Waiting) + Send + Sync>;

impl fmt::Debug for Settle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settle")
            .field("limit", &self.limit)
            .field("interval", &self.interval)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for Settle {
    fn default() -> Self {
        Self {
            limit: Duration::from_secs(90),
            interval: Duration::from_secs(2),
            progress: None,
        }
    }
}

impl Settle {
    /// Up to 90 s, checking every 2 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// No wait and no check: for a caller that reads nothing back (or checks itself).
    pub fn off() -> Self {
        Self::new().limit(Duration::ZERO)
    }

    /// The longest wait.
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Time between two checks (at least 1 ms).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Called when a wait starts and when it ends (not when the first check passes).
    pub fn on_progress(mut self, progress: impl Fn(&Waiting) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// Where a wait stands, as [`Settle::on_progress`] is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What is waited for (`"the changes"`, `"ann@example.com's grants"`).
    pub what: String,
    /// Waited so far.
    pub waited: Duration,
    /// The longest wait.
    pub limit: Duration,
    /// `None` while waiting; `Some(true)` once shown, `Some(false)` when the wait ran out.
    pub shown: Option<bool>,
}

/// What a wait came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Settled {
    /// Nothing to wait for: no change made, or [`Settle::off`].
    #[default]
    NotChecked,
    /// The service showed the change after this long (zero: at the first check).
    Shown {
        /// How long it took.
        waited: Duration,
    },
    /// Not shown within the limit. The changes were made (the service accepted them); a read
    /// right after may still show the state from before them.
    NotShown {
        /// How long was waited.
        waited: Duration,
    },
}

/// The next step of a wait, from how long it has waited: the decision alone, so that it is a
/// table of cases rather than a clock in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Sleep this long, then check again.
    Wait(Duration),
    /// The limit is reached.
    GiveUp,
}

pub(crate) fn next_step(settle: &Settle, waited: Duration) -> Step {
    if waited >= settle.limit {
        return Step::GiveUp;
    }
    // Never past the limit: the last check comes at the limit itself.
    Step::Wait(settle.interval.min(settle.limit - waited))
}

impl Falcon {
    /// Checks with `shown` until it says the change is visible, waiting [`Settle::interval`]
    /// between checks on the handle's clock, for [`Settle::limit`] at most. A check that fails
    /// (an error reading) ends the wait as not shown: the changes themselves were made.
    pub(crate) async fn settle<F, Fut>(&self, settle: &Settle, what: &str, mut shown: F) -> Settled
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        if settle.limit.is_zero() {
            return Settled::NotChecked;
        }
        let tell = |waited: Duration, shown: Option<bool>| {
            if let Some(progress) = &settle.progress {
                progress(&Waiting {
                    what: what.to_owned(),
                    waited,
                    limit: settle.limit,
                    shown,
                });
            }
        };
        // Counted as the pauses taken (the reads between them aside), so that "shown at the
        // first check" is exactly zero whatever the clock.
        let mut waited = Duration::ZERO;
        loop {
            match shown().await {
                Ok(true) => {
                    if !waited.is_zero() {
                        info!(
                            what,
                            waited_s = waited.as_secs(),
                            "the service shows the change"
                        );
                        tell(waited, Some(true));
                    }
                    return Settled::Shown { waited };
                }
                Ok(false) => {}
                Err(err) => {
                    warn!(what, error = %err, "could not check that the service shows the change");
                    tell(waited, Some(false));
                    return Settled::NotShown { waited };
                }
            }
            match next_step(settle, waited) {
                Step::Wait(pause) => {
                    if waited.is_zero() {
                        info!(
                            what,
                            limit_s = settle.limit.as_secs(),
                            "waiting for the service to show the change"
                        );
                        tell(waited, None);
                    }
                    self.clock().sleep(pause).await;
                    waited += pause;
                }
                Step::GiveUp => {
                    warn!(
                        what,
                        waited_s = waited.as_secs(),
                        "the service does not show the change yet; a read right after may not see it"
                    );
                    tell(waited, Some(false));
                    return Settled::NotShown { waited };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_checks_every_interval_and_last_at_the_limit() {
        let s = |limit, interval| {
            Settle::new()
                .limit(Duration::from_secs(limit))
                .interval(Duration::from_secs(interval))
        };
        let secs = Duration::from_secs;
        let cases = [
            (s(90, 2), 0, Step::Wait(secs(2))),
            (s(90, 2), 88, Step::Wait(secs(2))),
            (s(90, 2), 89, Step::Wait(secs(1))),
            (s(90, 2), 90, Step::GiveUp),
            (s(90, 2), 200, Step::GiveUp),
            (s(5, 10), 0, Step::Wait(secs(5))),
            (s(0, 2), 0, Step::GiveUp),
        ];
        for (settle, waited, want) in cases {
            assert_eq!(
                next_step(&settle, secs(waited)),
                want,
                "{settle:?} at {waited}"
            );
        }
    }
}

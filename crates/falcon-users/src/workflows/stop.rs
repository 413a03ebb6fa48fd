//! Stopping a workflow between its steps. The caller raises a [`Stop`] (on Ctrl-C, say); the
//! step in flight finishes, no further step starts, a step that only makes sense with the next
//! one is compensated as its workflow documents, and the error lists the steps done and not done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::info;

use crate::error::{Error, Result};

/// A request to stop, shared by clones: raise it from anywhere (a signal handler, another task);
/// a workflow given it checks it before each step. A new `Stop` is not raised.
///
/// ```
/// use falcon_users::workflows::{Provision, Stop};
/// let stop = Stop::new();
/// let job = Provision::new("ann@example.com", ["falcon_console_guest"]).stop_on(stop.clone());
/// // later, e.g. on SIGINT:
/// stop.raise();
/// assert!(stop.is_raised());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A stop nobody has raised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every workflow watching this stop to start no further step.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Stop::raise`] was called.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Called before step `next` of `steps`: [`Error::Stopped`] if the stop was raised (steps
    /// before `next` are done, the rest are not), else logs the step as starting.
    pub(crate) fn before(
        &self,
        workflow: &'static str,
        steps: &[String],
        next: usize,
    ) -> Result<()> {
        let (done, left) = steps.split_at(next.min(steps.len()));
        if self.is_raised() {
            return Err(Error::Stopped {
                workflow,
                done: done.to_vec(),
                not_done: left.to_vec(),
            });
        }
        if let Some(step) = left.first() {
            info!(workflow, step = %step, "step starting");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_stop_refuses_the_next_step_and_lists_what_was_done() {
        let steps = vec!["revoke a in CID x".to_owned(), "delete user u".to_owned()];
        let stop = Stop::new();
        assert!(stop.before("offboarding", &steps, 0).is_ok());
        stop.clone().raise();
        match stop.before("offboarding", &steps, 1) {
            Err(Error::Stopped {
                workflow,
                done,
                not_done,
            }) => {
                assert_eq!(workflow, "offboarding");
                assert_eq!(done, ["revoke a in CID x"]);
                assert_eq!(not_done, ["delete user u"]);
            }
            other => panic!("expected Stopped, got {other:?}"),
        }
        let err = stop.before("offboarding", &steps, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "offboarding stopped on request before its next step; done: nothing; not done: \
             revoke a in CID x, delete user u"
        );
    }
}

//! SIGINT and SIGTERM. A run that has not begun changing the tenant stops at once: its work is
//! dropped, so an output file being written is deleted and the previous one stays. A run that
//! is changing it raises the workflows' [`Stop`]: the step in flight finishes (or is
//! compensated), no other starts, and the run reports what exists now. A second signal, or
//! [`GRACE`] without an end, stops at once. Either way the exit code is the shell's for the
//! first signal (130, 143), unless the command had already started its last step and completed.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use falcon_users::workflows::Stop;
use tokio::sync::mpsc;

use crate::failure::{Abandon, Failure, Outcome, Signal};
use crate::output::console;

/// How long a change in flight may take to finish after the first signal.
pub const GRACE: Duration = Duration::from_secs(30);

/// Whether the command has begun changing the tenant, and the stop its workflows watch.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    begun: Arc<AtomicBool>,
    stop: Stop,
}

impl Changes {
    /// Called right before the first change: from now on a signal lets the step in flight
    /// finish. Returns the stop to hand to the workflow.
    pub fn begin(&self) -> Stop {
        self.begun.store(true, Ordering::SeqCst);
        self.stop.clone()
    }

    fn begun(&self) -> bool {
        self.begun.load(Ordering::SeqCst)
    }
}

/// The signals received, in order.
pub struct Signals(mpsc::UnboundedReceiver<Signal>);

impl Signals {
    /// Takes over SIGINT and SIGTERM (Ctrl-C elsewhere than Unix) for this process. Must run
    /// inside the runtime.
    pub fn install() -> io::Result<Signals> {
        let (tx, rx) = mpsc::unbounded_channel();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut interrupt = signal(SignalKind::interrupt())?;
            let mut terminate = signal(SignalKind::terminate())?;
            tokio::spawn(async move {
                loop {
                    let received = tokio::select! {
                        Some(()) = interrupt.recv() => Signal::Interrupt,
                        Some(()) = terminate.recv() => Signal::Terminate,
                        else => return,
                    };
                    if tx.send(received).is_err() {
                        return;
                    }
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if tx.send(Signal::Interrupt).is_err() {
                    return;
                }
            }
        });
        Ok(Signals(rx))
    }

    /// The next signal (never, once nothing can send one).
    async fn next(&mut self) -> Signal {
        match self.0.recv().await {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }
}

/// Runs `work` and decides what a signal does to it (see the module documentation).
pub async fn supervise(
    work: impl Future<Output = Outcome>,
    changes: &Changes,
    signals: &mut Signals,
    grace: Duration,
) -> Outcome {
    let mut work = std::pin::pin!(work);
    let signal = tokio::select! {
        outcome = &mut work => return outcome,
        signal = signals.next() => signal,
    };
    if !changes.begun() {
        // Returning drops `work`, and with it any temporary output file.
        return Err(Failure::Interrupted(signal));
    }
    changes.stop.raise();
    console::line(format_args!(
        "{signal}: finishing the change in flight, then stopping ({signal} again stops at once)"
    ));
    tokio::select! {
        outcome = &mut work => outcome.map_err(|failure| Failure::Stopped(signal, Box::new(failure))),
        _ = signals.next() => Err(Failure::Abandoned(signal, Abandon::SecondSignal)),
        () = tokio::time::sleep(grace) => Err(Failure::Abandoned(signal, Abandon::Grace(grace))),
    }
}

#[cfg(test)]
mod tests {
    use std::process::ExitCode;

    use super::*;
    use crate::exit;

    fn signals() -> (mpsc::UnboundedSender<Signal>, Signals) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, Signals(rx))
    }

    /// Sets its flag when dropped: shows that the work was dropped, not left running.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    async fn until_raised(stop: &Stop) {
        while !stop.is_raised() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn work_that_ends_without_a_signal_keeps_its_outcome() {
        let (_tx, mut signals) = signals();
        let changes = Changes::default();
        let outcome = supervise(
            async { Ok(ExitCode::from(5)) },
            &changes,
            &mut signals,
            GRACE,
        );
        assert_eq!(outcome.await.unwrap(), ExitCode::from(5));
    }

    #[tokio::test]
    async fn a_signal_before_any_change_drops_the_work_at_once() {
        let (tx, mut signals) = signals();
        let changes = Changes::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(dropped.clone());
        tx.send(Signal::Terminate).unwrap();
        let work = async move {
            let _guard = guard;
            std::future::pending::<Outcome>().await
        };
        let outcome = supervise(work, &changes, &mut signals, GRACE).await;
        assert!(matches!(
            outcome,
            Err(Failure::Interrupted(Signal::Terminate))
        ));
        assert!(dropped.load(Ordering::SeqCst), "the work was dropped");
        assert!(!changes.stop.is_raised());
    }

    /// Supervises work that begins a change, then gets `signals` one after the other (the next
    /// once the stop is raised), and ends with `end` (or never).
    async fn change_interrupted(
        signals_sent: &[Signal],
        grace: Duration,
        end: Option<Outcome>,
    ) -> Outcome {
        let (tx, mut signals) = signals();
        let changes = Changes::default();
        let sent = signals_sent.to_vec();
        let work = {
            let changes = changes.clone();
            async move {
                let stop = changes.begin();
                for (n, signal) in sent.into_iter().enumerate() {
                    tx.send(signal).unwrap();
                    if n == 0 {
                        until_raised(&stop).await;
                    }
                }
                match end {
                    Some(outcome) => outcome,
                    None => std::future::pending().await,
                }
            }
        };
        supervise(work, &changes, &mut signals, grace).await
    }

    #[tokio::test]
    async fn a_signal_during_a_change_lets_the_step_finish_and_keeps_its_report() {
        let report = Err(Failure::Exit(exit::PARTIAL, "stopped before step 2".into()));
        match change_interrupted(&[Signal::Interrupt], GRACE, Some(report)).await {
            Err(Failure::Stopped(Signal::Interrupt, inner)) => {
                assert_eq!(inner.to_string(), "stopped before step 2");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_change_that_completes_after_the_signal_exits_as_usual() {
        let done = Some(Ok(ExitCode::SUCCESS));
        let outcome = change_interrupted(&[Signal::Interrupt], GRACE, done).await;
        assert_eq!(outcome.unwrap(), ExitCode::SUCCESS);
    }

    #[tokio::test]
    async fn a_second_signal_or_the_grace_abandons_the_change_in_flight() {
        let twice = [Signal::Interrupt, Signal::Terminate];
        for (sent, grace, expected) in [
            (&twice[..], GRACE, Abandon::SecondSignal),
            (&twice[..1], Duration::ZERO, Abandon::Grace(Duration::ZERO)),
        ] {
            match change_interrupted(sent, grace, None).await {
                Err(Failure::Abandoned(signal, why)) => {
                    assert_eq!(why, expected);
                    assert_eq!(signal, Signal::Interrupt, "the first signal's code");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

//! How a command ends when it does not succeed, and the exit code each ending gets: the
//! vocabulary every layer of the CLI reports in, so it sits below all of them.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use falcon_users::Error;

use crate::exit;

/// A command's failure: an SDK error or an output error.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The SDK failed.
    #[error(transparent)]
    Sdk(#[from] Error),
    /// Writing the output failed.
    #[error("could not write the output: {0}")]
    Io(#[from] std::io::Error),
    /// A specific exit code with its message.
    #[error("{1}")]
    Exit(u8, String),
    /// A signal came before the command changed anything; it stopped at once.
    #[error("stopped by {0}; nothing was changed and no output file was replaced")]
    Interrupted(Signal),
    /// A signal came during a change: the step in flight finished, no other started; the
    /// failure says what was done.
    #[error("stopped by {0}: {1}")]
    Stopped(Signal, Box<Failure>),
    /// A change in flight was left unfinished.
    #[error("{}", abandoned(*.0, *.1))]
    Abandoned(Signal, Abandon),
}

impl Failure {
    /// The exit code of this failure (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Sdk(err) => exit::for_error(err),
            Failure::Io(_) => exit::LOCAL,
            Failure::Exit(code, _) => *code,
            Failure::Interrupted(signal)
            | Failure::Stopped(signal, _)
            | Failure::Abandoned(signal, _) => signal.exit_code(),
        }
    }
}

fn abandoned(signal: Signal, why: Abandon) -> String {
    let when = match why {
        Abandon::SecondSignal => format!("by a second {signal}"),
        Abandon::Grace(grace) => format!(
            "{} s after {signal} without the change in flight finishing",
            grace.as_secs()
        ),
    };
    format!(
        "stopped at once {when}: that change may or may not have taken effect; look at the \
         user (`users get`, `grants list`) before running the command again (provision and \
         offboard are safe to re-run)"
    )
}

/// The result of a command.
pub type Outcome = Result<ExitCode, Failure>;

/// A signal that asks the run to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code a shell reports for a process ended by this signal (128 + its number).
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => exit::SIGINT,
            Signal::Terminate => exit::SIGTERM,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Why a change in flight was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandon {
    /// A second signal came.
    SecondSignal,
    /// The change did not finish within this grace after the first signal.
    Grace(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{LOCAL, NOT_CONFIRMED, PARTIAL, SIGINT, SIGTERM, USAGE};

    #[test]
    fn every_failure_has_a_documented_code() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory");
        let sdk = |e| Failure::Sdk(e);
        let cases = [
            (sdk(Error::Config("x".into())), USAGE),
            (
                sdk(Error::InvalidInput {
                    field: "uid",
                    reason: "x".into(),
                }),
                USAGE,
            ),
            (
                sdk(Error::Stopped {
                    workflow: "offboarding",
                    done: vec![],
                    not_done: vec![],
                }),
                PARTIAL,
            ),
            (Failure::Io(io()), LOCAL),
            (Failure::Exit(NOT_CONFIRMED, "no".into()), NOT_CONFIRMED),
            (Failure::Interrupted(Signal::Interrupt), SIGINT),
            (Failure::Interrupted(Signal::Terminate), SIGTERM),
            (
                Failure::Stopped(Signal::Terminate, Box::new(Failure::Io(io()))),
                SIGTERM,
            ),
            (
                Failure::Abandoned(Signal::Interrupt, Abandon::SecondSignal),
                SIGINT,
            ),
        ];
        for (failure, code) in cases {
            assert_eq!(failure.exit_code(), code, "{failure:?}");
        }
    }
}

//! What every command is handed: the connected client and the output settings.

use falcon_users::Falcon;
use std::path::PathBuf;
use std::time::Duration;

use falcon_users::workflows::roster::ColumnMap;
use falcon_users::workflows::{Settle, Waiting};

use crate::interrupt::Changes;
use crate::output::Format;
use crate::output::console;

/// What every command needs.
pub struct Ctx {
    /// The client.
    pub falcon: Falcon,
    /// The output format.
    pub format: Format,
    /// The format of records `-f` named, if any (an output file's extension decides otherwise).
    pub explicit_format: Option<Format>,
    /// `-f html`: a page (only `review` gets this far with it).
    pub html: bool,
    /// `--yes` was given.
    pub yes: bool,
    /// Marks the start of changes, so that a signal lets the step in flight finish.
    pub changes: Changes,
    /// How long a command that changed the tenant waits for the service to show it.
    pub settle: Settle,
    /// Where this command records its snapshot in the history (the file, and whether it is
    /// the default place), or why no place could be found; `None`: it records none.
    pub history: Option<Result<(PathBuf, bool), String>>,
    /// The profile's column mapping for rosters and lists of users (`--map` wins over it).
    pub map: Option<ColumnMap>,
}

/// The wait `--settle SECS` asks for, saying on stderr when it starts and how it ended (a check
/// that passes at once says nothing).
pub fn settle(secs: u64) -> Settle {
    Settle::new()
        .limit(Duration::from_secs(secs))
        .on_progress(|w: &Waiting| match w.shown {
            None => console::line(format_args!(
                "waiting up to {} s for the service to show {}",
                w.limit.as_secs(),
                w.what
            )),
            Some(true) => console::line(format_args!(
                "the service shows {} after {} s",
                w.what,
                w.waited.as_secs()
            )),
            Some(false) => console::line(format_args!(
                "warning: the service does not show {} after {} s; a command run right after \
                 may not see them yet",
                w.what,
                w.waited.as_secs()
            )),
        })
}

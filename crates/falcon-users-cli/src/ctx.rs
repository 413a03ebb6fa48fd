//! What every command is handed: the connected client and the output settings.

use falcon_users::Falcon;

use crate::interrupt::Changes;
use crate::output::Format;

/// What every command needs.
pub struct Ctx {
    /// The client.
    pub falcon: Falcon,
    /// The output format.
    pub format: Format,
    /// The format `-f` named, if any (an output file's extension decides otherwise).
    pub explicit_format: Option<Format>,
    /// `--yes` was given.
    pub yes: bool,
    /// Marks the start of changes, so that a signal lets the step in flight finish.
    pub changes: Changes,
}

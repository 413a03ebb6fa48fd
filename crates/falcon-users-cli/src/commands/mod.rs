//! One module per command family; each takes the connected client and the output settings.

pub mod auth;
pub mod bulk;
pub mod completions;
pub mod config;
pub mod grants;
pub mod inventory;
pub mod lifecycle;
pub mod man;
pub mod reconcile;
pub mod review;
pub mod roles;
pub mod sim;
pub mod users;

use std::process::ExitCode;

use falcon_users::types::DomainRole;
use falcon_users::{Catalogue, Error, Falcon, StatsSnapshot};

use crate::cli::Format;
use crate::interrupt::{Abandon, Changes, GRACE, Signal};

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

fn abandoned(signal: Signal, why: Abandon) -> String {
    let when = match why {
        Abandon::SecondSignal => format!("by a second {signal}"),
        Abandon::Grace => format!(
            "{} s after {signal} without the change in flight finishing",
            GRACE.as_secs()
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

/// What the client sent, for a command's last line: requests, retries, 429s, and the rows the
/// service sent twice (dropped, so each user counts once), when it did.
pub fn requests_summary(stats: &StatsSnapshot) -> String {
    let duplicates = match stats.duplicates_dropped {
        0 => String::new(),
        n => format!(", {n} rows sent twice by the service dropped"),
    };
    format!(
        "{} requests ({} retried, {} rate limited{duplicates})",
        stats.requests, stats.retries, stats.rate_limited
    )
}

/// Role ids for roles written by id or display name, resolved by the library against the roles
/// the CID offers (one read of them, which is returned too). Every name that matches no role is
/// reported in one usage error, a line each, with a "did you mean" when one is close. With
/// `pass_unknown` (a change in another CID, whose roles may differ) a name that matches nothing
/// is passed on as an id for the service to judge.
pub async fn resolve_roles(
    falcon: &Falcon,
    written: &[String],
    pass_unknown: bool,
) -> Result<(Vec<String>, Vec<DomainRole>), Failure> {
    let offered = falcon.roles().await?;
    let catalogue = Catalogue::from_roles(&offered);
    let ids = if pass_unknown {
        catalogue.resolve_or_pass(written)
    } else {
        catalogue
            .resolve_all(written)
            .map_err(|problems| Failure::Exit(crate::exit::USAGE, problems.join("\n")))?
    };
    Ok((ids, offered))
}

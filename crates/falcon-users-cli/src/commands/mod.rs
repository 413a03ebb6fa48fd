//! One module per command family; each takes the connected client and the output settings.

pub mod auth;
pub mod grants;
pub mod inventory;
pub mod lifecycle;
pub mod roles;
pub mod sim;
pub mod users;

use std::process::ExitCode;

use falcon_users::{Error, Falcon};

use crate::cli::Format;

/// What every command needs.
pub struct Ctx {
    /// The client.
    pub falcon: Falcon,
    /// The output format.
    pub format: Format,
    /// `--yes` was given.
    pub yes: bool,
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
    /// A specific exit code with a message already printed.
    #[error("{1}")]
    Exit(u8, String),
}

/// The result of a command.
pub type Outcome = Result<ExitCode, Failure>;

/// A UUID from a UUID or a login (email).
pub async fn resolve_uuid(falcon: &Falcon, user: &str) -> Result<String, Error> {
    if user.contains('@') {
        let found = falcon.find_user_by_uid(user).await?;
        found
            .and_then(|u| u.uuid)
            .ok_or_else(|| Error::InvalidInput {
                field: "user",
                reason: format!("no user with login {user}"),
            })
    } else {
        Ok(user.trim().to_owned())
    }
}

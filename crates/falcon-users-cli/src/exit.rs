//! Exit codes that let scripts tell failures apart.

use std::process::ExitCode;

use falcon_users::Error;

/// Bad arguments or input refused before any request (clap also uses 2).
pub const USAGE: u8 = 2;
/// Credentials, scopes or cloud.
pub const AUTH: u8 = 3;
/// The API or the network failed.
pub const API: u8 = 4;
/// Some items succeeded and some failed.
pub const PARTIAL: u8 = 5;
/// A destructive change was not confirmed.
pub const NOT_CONFIRMED: u8 = 6;

/// The exit code for an SDK error.
pub fn for_error(err: &Error) -> ExitCode {
    ExitCode::from(match err {
        Error::InvalidInput { .. } | Error::Config(_) => USAGE,
        Error::Auth { .. } => AUTH,
        Error::ProvisionIncomplete { .. } => PARTIAL,
        _ => API,
    })
}

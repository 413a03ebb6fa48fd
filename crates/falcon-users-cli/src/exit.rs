//! Exit codes that let scripts tell failures apart. The README's table lists the same codes.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | done (also when stdout is a pipe its reader closed early, as `head` does) |
//! | 2    | bad arguments, or input refused before any request (also: a saved simulated tenant that cannot be read; a `--member-cids` CID that is not a child, refused before any change) |
//! | 3    | credentials, scopes or cloud |
//! | 4    | the API or the network failed (`auth check`: a scope could not be checked) |
//! | 5    | some items succeeded and some failed |
//! | 6    | a destructive change was not confirmed |
//! | 7    | the output could not be written (file, directory, stdout, the simulated tenant's state file, the review history: the run's own output is then complete), or the process could not start |
//! | 8    | `review --fail-on`: a finding of a kind it names was found (the review itself completed) |
//! | 9    | `review verify`: the file was altered since it was written |
//! | 130  | stopped by SIGINT (Ctrl-C) before it finished |
//! | 143  | stopped by SIGTERM before it finished |
//!
//! Any other code (101: a panic) is a bug.

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
/// The output could not be written, or the process could not set itself up (runtime, signals).
pub const LOCAL: u8 = 7;
/// `review --fail-on`: a finding of a kind it names was found.
pub const FINDINGS: u8 = 8;
/// `review verify`: the file of evidence was altered since it was written.
pub const ALTERED: u8 = 9;
/// Stopped by SIGINT: 128 + 2, as shells report it.
pub const SIGINT: u8 = 130;
/// Stopped by SIGTERM: 128 + 15, as shells report it.
pub const SIGTERM: u8 = 143;

/// The number an [`ExitCode`] carries (the type does not say; it does compare).
pub fn code_of(code: ExitCode) -> u8 {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(u8::MAX)
}

/// An exit code in a word, for a machine that reads the run's summary (`--summary-json`).
pub fn reason(code: u8) -> &'static str {
    match code {
        0 => "ok",
        USAGE => "usage",
        AUTH => "auth",
        API => "api",
        PARTIAL => "partial",
        NOT_CONFIRMED => "not_confirmed",
        LOCAL => "local",
        FINDINGS => "findings",
        ALTERED => "altered",
        SIGINT => "interrupted",
        SIGTERM => "terminated",
        _ => "bug",
    }
}

/// The exit code for an SDK error.
pub fn for_error(err: &Error) -> u8 {
    match err {
        Error::InvalidInput { .. }
        | Error::Config(_)
        | Error::Roster { .. }
        | Error::Decisions { .. }
        | Error::FleetFile { .. }
        | Error::PlanRefused { .. } => USAGE,
        Error::Auth { .. } => AUTH,
        Error::ProvisionIncomplete { .. } | Error::Stopped { .. } => PARTIAL,
        _ => API,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code this module defines, in the README's order.
    const ALL: [u8; 11] = [
        0,
        USAGE,
        AUTH,
        API,
        PARTIAL,
        NOT_CONFIRMED,
        LOCAL,
        FINDINGS,
        ALTERED,
        SIGINT,
        SIGTERM,
    ];

    /// The README's exit-code table and this module's agree, code by code.
    #[test]
    fn the_readme_documents_every_exit_code() {
        let readme = include_str!("../../../README.md");
        let table: Vec<u8> = readme
            .lines()
            .filter_map(|line| line.strip_prefix("| "))
            .filter_map(|rest| rest.split_once(" |"))
            .filter_map(|(code, _)| code.trim().parse().ok())
            .collect();
        let codes = ALL;
        assert_eq!(table, codes, "README exit-code table");
    }

    /// Each code has its own word in a run's summary; only an unknown code is a bug.
    #[test]
    fn every_exit_code_has_its_own_reason() {
        let codes = ALL;
        let reasons: std::collections::BTreeSet<&str> = codes.iter().map(|c| reason(*c)).collect();
        assert_eq!(reasons.len(), codes.len(), "{reasons:?}");
        assert!(!reasons.contains("bug"));
        assert_eq!(reason(101), "bug", "a panic");
    }
}

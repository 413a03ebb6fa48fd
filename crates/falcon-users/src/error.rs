//! One error type for everything the SDK can report, classified by HTTP status, never by body shape.
//!
//! A leaf: every layer reports through it, so it imports none of them. Turning a response into an
//! [`Error`] is the request runtime's job (it knows the headers and the wrapped bodies).

use std::sync::Arc;
use std::time::SystemTime;

use falcon_users_api::types::MsaspecError;

/// What went wrong with the OAuth2 token, so the message can say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthProblem {
    /// The token endpoint rejected the client id or secret (or the cloud is wrong).
    BadCredentials,
    /// The client is valid but may not act here: missing scope, IP allow list, or member CID.
    Forbidden,
    /// The request to the token endpoint was malformed (e.g. an unknown member CID).
    BadRequest,
    /// An API call was still unauthorized after a fresh token.
    Unauthorized,
}

/// Why a request did not reach the API or its answer did not come back, so the message can
/// say what to check. `Display` is the phrase the [`Error::Transport`] message ends with.
///
/// ```
/// use falcon_users::error::NetworkProblem;
/// assert_eq!(
///     NetworkProblem::Refused.to_string(),
///     "connection refused (nothing listens on that port, or a firewall refuses the connection)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkProblem {
    /// The host refused the TCP connection.
    Refused,
    /// The connection was reset or aborted by the other end (or a proxy).
    Reset,
    /// The connection attempt timed out.
    TimedOut,
    /// The host name did not resolve; the resolver's message.
    Dns(String),
    /// The server's TLS certificate was refused; rustls' reason.
    Certificate(String),
    /// The server did not answer in TLS (typically a plain-HTTP server on an `https` URL).
    NotTls,
    /// The TLS handshake failed otherwise; rustls' reason.
    Tls(String),
    /// Anything else: the innermost cause's message.
    Other(String),
}

impl std::fmt::Display for NetworkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkProblem::Refused => f.write_str(
                "connection refused (nothing listens on that port, or a firewall refuses the connection)",
            ),
            NetworkProblem::Reset => {
                f.write_str("the connection was reset by the server or a proxy on the way")
            }
            NetworkProblem::TimedOut => f.write_str("the connection timed out"),
            NetworkProblem::Dns(why) => {
                write!(f, "the host name could not be resolved ({why}); check the cloud or URL and DNS")
            }
            NetworkProblem::Certificate(why) => write!(
                f,
                "the server's TLS certificate was refused ({why}); behind a TLS-inspecting proxy, its CA must be trusted (the system's certificate store, or FalconBuilder::add_root_certificate_pem)"
            ),
            NetworkProblem::NotTls => f.write_str(
                "the TLS handshake failed: the server did not answer in TLS (a plain-HTTP server on an https URL?)",
            ),
            NetworkProblem::Tls(why) => write!(f, "the TLS handshake failed ({why})"),
            NetworkProblem::Other(why) => f.write_str(why),
        }
    }
}

/// Every failure of the `falcon-users` crate.
///
/// `Display` is a sentence a user can act on; secrets never appear in it. Errors are `Clone` so
/// that one failure can be reported to every caller that waited on it (a token mint shared by
/// concurrent calls).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input was refused before any request was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument or setting at fault (e.g. `ids`, `cid`, `cloud`).
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// Authentication failed.
    #[error("{message}")]
    Auth {
        /// The kind of failure.
        problem: AuthProblem,
        /// HTTP status of the failing response, when there was one.
        status: Option<u16>,
        /// A sentence that says what to check.
        message: String,
        /// `X-CS-TRACEID` of the failing response.
        trace_id: Option<String>,
    },

    /// The API answered with an error status.
    #[error("{operation} failed with HTTP {status}{}{}", summary(errors, raw_body.as_deref()), trace(trace_id.as_deref()))]
    Api {
        /// The operationId that failed.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// `X-CS-TRACEID` / `meta.trace_id`, for CrowdStrike support.
        trace_id: Option<String>,
        /// The envelope's `errors`.
        errors: Vec<MsaspecError>,
        /// The body as received when it was not the JSON envelope (e.g. an HTML gateway page).
        raw_body: Option<String>,
    },

    /// The service refused to grant a role in a CID (HTTP 400 `invalid roleID='…'
    /// specified`): a custom role (32-hex id) belongs to the CID it was made in and can only be
    /// granted there, to users homed there; any other id is not a role of that CID.
    ///
    /// ```
    /// use falcon_users::Error;
    /// let err = Error::RoleRefused {
    ///     operation: "userRolesActionV1",
    ///     role: "0123456789abcdef0123456789abcdef".into(),
    ///     cid: "fedcba9876543210fedcba9876543210".into(),
    ///     trace_id: None,
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "userRolesActionV1: role 0123456789abcdef0123456789abcdef cannot be granted in CID fedcba9876543210fedcba9876543210: it is a custom role of another CID (custom roles can only be granted in the CID that made them, to users homed there)"
    /// );
    /// assert_eq!(err.status(), Some(400));
    /// ```
    #[error("{operation}: role {role} cannot be granted in CID {cid}: {}{}", refusal(role), trace(trace_id.as_deref()))]
    RoleRefused {
        /// The operationId that refused it.
        operation: &'static str,
        /// The role id the service named.
        role: String,
        /// The CID the grant was for.
        cid: String,
        /// `X-CS-TRACEID` of the refusal.
        trace_id: Option<String>,
    },

    /// Still rate limited after the retry budget was spent.
    #[error("{operation} was rate limited (HTTP 429){}{}", retry_after.map(|t| format!("; the API asked to wait until {}", humantime(t))).unwrap_or_default(), trace(trace_id.as_deref()))]
    RateLimited {
        /// The operationId that was limited.
        operation: &'static str,
        /// When the API said to retry.
        retry_after: Option<SystemTime>,
        /// `X-CS-TRACEID` of the 429.
        trace_id: Option<String>,
    },

    /// The request could not be sent or the response could not be read: the message names the
    /// host and the root cause (connection refused, a name that does not resolve, a refused TLS
    /// certificate, ...).
    #[error("{operation}: could not reach the Falcon API{}: {problem}", host.as_deref().map(|h| format!(" at {h}")).unwrap_or_default())]
    Transport {
        /// The operationId in flight.
        operation: &'static str,
        /// `host:port` of the server that could not be reached, when known.
        host: Option<String>,
        /// What failed, found in the underlying error's chain of causes.
        problem: NetworkProblem,
        /// The underlying error.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// A response body was larger than the handle accepts; nothing of it was kept.
    #[error(
        "{operation}: the response body exceeds the limit of {limit} bytes and was not read (raise it with FalconBuilder::max_response_bytes if the answer is legitimate)"
    )]
    BodyTooLarge {
        /// The operationId whose answer was too large.
        operation: &'static str,
        /// The limit in bytes.
        limit: u64,
    },

    /// A success response whose body does not match the spec.
    #[error("{operation}: the response body could not be decoded: {message}")]
    Decode {
        /// The operationId whose response failed to decode.
        operation: &'static str,
        /// What did not match.
        message: String,
    },

    /// The API refused to page further (it caps `offset + limit`) and the listing could not be
    /// split into parts it pages through; the results so far were delivered, the rest needs a
    /// narrower filter. (User listings split themselves by login instead: see
    /// [`crate::Falcon::user_ids`].)
    #[error(
        "{operation} refused to page past offset {offset}; narrow the filter to fetch the rest ({source})"
    )]
    PagingRefused {
        /// The paged operation.
        operation: &'static str,
        /// The offset that was refused.
        offset: u64,
        /// The API's answer.
        #[source]
        source: Box<Error>,
    },

    /// A listing ended without some of the rows the service counted for it. Every row it could
    /// list was delivered before this error, with no duplicates; `missing` says how many were
    /// not (when the service's counts tell), `reason` why and what to do.
    ///
    /// ```
    /// use falcon_users::Error;
    /// let err = Error::ListingIncomplete {
    ///     operation: "queryUserV1",
    ///     missing: Some(3),
    ///     reason: "logins starting with 'a' count 3 rows fewer than the whole".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "queryUserV1: the listing is incomplete, 3 rows not listed: logins starting with 'a' count 3 rows fewer than the whole"
    /// );
    /// ```
    #[error("{operation}: the listing is incomplete, {} not listed: {reason}", rows(*missing))]
    ListingIncomplete {
        /// The paged operation.
        operation: &'static str,
        /// How many rows the service counted but the listing could not reach, when known.
        missing: Option<u64>,
        /// Why, in a sentence that says what to do.
        reason: String,
    },

    /// A bug in this crate (for example a background task that panicked), not a problem with
    /// the input, the settings or the service. Please report it with the message.
    #[error("{operation}: internal error in falcon-users (a bug, please report it): {message}")]
    Internal {
        /// The operationId in flight.
        operation: &'static str,
        /// What failed.
        message: String,
    },

    /// Provisioning created the user but could not grant the roles.
    #[error("provisioning {uid} is incomplete: user {user_uuid} was created but the roles {} were not granted ({source}); {}", roles_not_granted.join(", "), if *rolled_back { "the user was deleted again" } else { "the user still exists without them" })]
    ProvisionIncomplete {
        /// The login being provisioned.
        uid: String,
        /// The UUID the user was created with.
        user_uuid: String,
        /// Whether the user was deleted again.
        rolled_back: bool,
        /// The roles that were not granted.
        roles_not_granted: Vec<String>,
        /// Why the grant failed.
        #[source]
        source: Box<Error>,
    },

    /// An attempt hit the request timeout, or the call ran out of its overall deadline.
    #[error(
        "{operation} timed out (request timeout or call deadline); raise them or check connectivity"
    )]
    Timeout {
        /// The operationId in flight.
        operation: &'static str,
    },

    /// A workflow stopped between two steps because its
    /// [`Stop`](crate::workflows::Stop) was raised; the step in flight had finished.
    #[error(
        "{workflow} stopped on request before its next step; done: {}; not done: {}",
        steps(done),
        steps(not_done)
    )]
    Stopped {
        /// The workflow (`provisioning`, `offboarding`).
        workflow: &'static str,
        /// The steps that were done, in order.
        done: Vec<String>,
        /// The steps that were not started, in order.
        not_done: Vec<String>,
    },

    /// A roster (or another list of users to act on) was refused before anything was planned or
    /// changed: every problem found, each with the row it is on.
    ///
    /// ```
    /// use falcon_users::error::{Error, RowProblem};
    /// let err = Error::Roster {
    ///     problems: vec![RowProblem::new(3, "uid", "\"ann\" is not an email address: no @")],
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the roster was refused (1 problem): row 3, uid: \"ann\" is not an email address: no @"
    /// );
    /// ```
    #[error("the roster was refused ({}): {}", count(problems.len(), "problem"), listed(problems))]
    Roster {
        /// What is wrong, row by row, in file order.
        problems: Vec<RowProblem>,
    },

    /// A review's decision sheet ([`decisions`](crate::workflows::review::decisions)) was
    /// refused before anything was changed: every problem found, each with its row (undecided
    /// or unknown decisions, rows that are not the review's findings, rows the tenant no longer
    /// matches).
    ///
    /// ```
    /// use falcon_users::error::{Error, RowProblem};
    /// let err = Error::Decisions {
    ///     problems: vec![RowProblem::new(4, "decision", "undecided")],
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the decisions were refused (1 problem): row 4, decision: undecided"
    /// );
    /// ```
    #[error("the decisions were refused ({}): {}", count(problems.len(), "problem"), listed(problems))]
    Decisions {
        /// What is wrong, row by row, in sheet order.
        problems: Vec<RowProblem>,
    },

    /// A Flight Control access file ([`flight_control`](crate::workflows::flight_control)) was
    /// refused: every problem, with the file, line and field, before anything is read.
    ///
    /// ```
    /// use falcon_users::error::{Error, FileProblem};
    /// let err = Error::FleetFile {
    ///     file: "fleet.toml".into(),
    ///     problems: vec![FileProblem::new(4, "user_group.name", "\"Ops\" is declared twice")],
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "fleet.toml was refused (1 problem): line 4, user_group.name: \"Ops\" is declared twice"
    /// );
    /// ```
    #[error("{file} was refused ({}): {}", count(problems.len(), "problem"), listed(problems))]
    FleetFile {
        /// The file as named (a path, or `-` for stdin).
        file: String,
        /// What is wrong, in file order.
        problems: Vec<FileProblem>,
    },

    /// A plan was refused before any change: a guardrail it would cross (raise the named limit
    /// to go ahead), or a saved plan whose starting point no longer holds (plan again).
    #[error("the plan was refused: {reason}")]
    PlanRefused {
        /// Why, and what to do.
        reason: String,
    },

    /// Settings could not be turned into a client (bad proxy, unreadable CA, missing variable).
    #[error("configuration error: {0}")]
    Config(String),
}

/// One problem in a file a person edits: the line (from 1), the field (`user_group.members`,
/// ...; `file` for the file as a whole), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The line, from 1.
    pub line: usize,
    /// The field at fault.
    pub field: String,
    /// Why it was refused.
    pub reason: String,
}

impl FileProblem {
    /// A problem on `line` in `field`.
    pub fn new(line: usize, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.field, self.reason)
    }
}

/// One problem on one row of a roster: the row (the line in a CSV file, counting the header as
/// line 1; the entry's position, from 1, in a JSON array), the column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The row.
    pub row: usize,
    /// The column at fault (`uid`, `roles`, ...), or `row` for the row as a whole.
    pub column: String,
    /// Why it was refused.
    pub reason: String,
}

impl RowProblem {
    /// A problem on `row` in `column`.
    pub fn new(row: usize, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            row,
            column: column.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}, {}: {}", self.row, self.column, self.reason)
    }
}

/// The first problems of a list, then how many more (a truncated 100,000-row export must not
/// make a message of 100,000 lines).
fn listed(problems: &[impl std::fmt::Display]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = problems
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect();
    if problems.len() > SHOWN {
        text.push(format!("and {} more", problems.len() - SHOWN));
    }
    text.join("; ")
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Shorthand for `Result<T, falcon_users::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status behind this error, if a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Auth { status, .. } => *status,
            Error::RateLimited { .. } => Some(429),
            Error::RoleRefused { .. } => Some(400),
            _ => None,
        }
    }

    /// Whether the service answered that what was asked for does not exist: an unknown UUID,
    /// role or permission (HTTP 404), or a user that does not exist or was deleted, which the
    /// service answers on user-scoped operations (a user's grants, grant and revoke, rename,
    /// delete) with a 400 `invalid user uuid='…' specified` instead. A lookup that finds
    /// nothing is an answer, not a failure, so callers map this to "absent" (`None`, an empty
    /// list) and pass every other error on.
    ///
    /// ```
    /// use falcon_users::Error;
    /// use falcon_users::types::MsaspecError;
    /// let api = |status, message: &str| Error::Api {
    ///     operation: "CombinedUserRolesV2",
    ///     status,
    ///     trace_id: None,
    ///     errors: vec![MsaspecError { code: status as i32, id: None, message: message.into() }],
    ///     raw_body: None,
    /// };
    /// assert!(api(404, "not found").is_not_found());
    /// assert!(api(400, "invalid user uuid='5a1e' specified").is_not_found());
    /// assert!(!api(400, "invalid roleID='abc' specified").is_not_found());
    /// assert!(!Error::Timeout { operation: "retrieveUsersGETV1" }.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api { status: 404, .. } => true,
            Error::Api {
                status: 400,
                errors,
                ..
            } => errors.iter().any(|e| unknown_user(&e.message).is_some()),
            _ => false,
        }
    }

    /// The role the service refused to grant (400 `invalid roleID='<id>' specified`): one the
    /// CID does not have, or a custom role that belongs to another CID.
    ///
    /// ```
    /// use falcon_users::Error;
    /// use falcon_users::types::MsaspecError;
    /// let err = Error::Api {
    ///     operation: "userRolesActionV1",
    ///     status: 400,
    ///     trace_id: None,
    ///     errors: vec![MsaspecError {
    ///         code: 400,
    ///         id: None,
    ///         message: "invalid roleID='0123456789abcdef0123456789abcdef' specified".into(),
    ///     }],
    ///     raw_body: None,
    /// };
    /// assert_eq!(err.refused_role(), Some("0123456789abcdef0123456789abcdef"));
    /// ```
    pub fn refused_role(&self) -> Option<&str> {
        match self {
            Error::Api {
                status: 400,
                errors,
                ..
            } => errors
                .iter()
                .find_map(|e| quoted(&e.message, "invalid roleID=")),
            _ => None,
        }
    }

    /// The trace id of the failing response, for CrowdStrike support tickets.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Api { trace_id, .. }
            | Error::RoleRefused { trace_id, .. }
            | Error::Auth { trace_id, .. }
            | Error::RateLimited { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

/// Why the service refuses `role` in a CID, told by the id's form: custom roles have 32-hex ids.
fn refusal(role: &str) -> &'static str {
    if role.len() == 32 && role.bytes().all(|b| b.is_ascii_hexdigit()) {
        "it is a custom role of another CID (custom roles can only be granted in the CID that made them, to users homed there)"
    } else {
        "the CID has no role with this id"
    }
}

/// The UUID in the service's answer to a user that does not exist,
/// `invalid user uuid='<uuid>' specified` (the prefix in any case).
fn unknown_user(message: &str) -> Option<&str> {
    quoted(message, "invalid user uuid=")
}

/// The value quoted after `prefix` (matched in any case) at the start of `message`:
/// `prefix'<value>'`.
fn quoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let head = message.trim_start().get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = message.trim_start()[prefix.len()..].strip_prefix('\'')?;
    rest.split_once('\'').map(|(value, _)| value)
}

fn summary(errors: &[MsaspecError], raw: Option<&str>) -> String {
    if !errors.is_empty() {
        let parts: Vec<String> = errors
            .iter()
            .map(|e| format!("{} (code {})", e.message, e.code))
            .collect();
        format!(": {}", parts.join("; "))
    } else if let Some(raw) = raw.filter(|r| !r.trim().is_empty()) {
        format!(": {}", truncate(raw.trim(), 200))
    } else {
        String::new()
    }
}

/// A list of steps for a sentence: `nothing` when empty.
fn steps(list: &[String]) -> String {
    if list.is_empty() {
        "nothing".to_owned()
    } else {
        list.join(", ")
    }
}

fn rows(missing: Option<u64>) -> String {
    match missing {
        Some(1) => "1 row".to_owned(),
        Some(n) => format!("{n} rows"),
        None => "an unknown number of rows".to_owned(),
    }
}

pub(crate) fn trace(trace_id: Option<&str>) -> String {
    trace_id
        .map(|t| format!(" [trace id {t}]"))
        .unwrap_or_default()
}

fn humantime(t: SystemTime) -> String {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => format!("{}s from now", d.as_secs()),
        Err(_) => "a moment already past".to_owned(),
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

//! One error type for everything the SDK can report, classified by HTTP status, never by body shape.

use std::time::SystemTime;

use falcon_users_api::types::{MsaspecError, MsaspecResponseFields};

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

/// Every failure of the `falcon-users` crate.
///
/// `Display` is a sentence a user can act on; secrets never appear in it.
#[derive(Debug, thiserror::Error)]
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

    /// The request could not be sent or the response could not be read.
    #[error("{operation}: could not reach the Falcon API: {source}")]
    Transport {
        /// The operationId in flight.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// A success response whose body does not match the spec.
    #[error("{operation}: the response body could not be decoded: {message}")]
    Decode {
        /// The operationId whose response failed to decode.
        operation: &'static str,
        /// What did not match.
        message: String,
    },

    /// The API refused to page further (many services cap the offset); the results so far were
    /// delivered, the rest needs a narrower filter.
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

    /// Settings could not be turned into a client (bad proxy, unreadable CA, missing variable).
    #[error("configuration error: {0}")]
    Config(String),
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
            _ => None,
        }
    }

    /// The trace id of the failing response, for CrowdStrike support tickets.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Api { trace_id, .. }
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

    /// Turns a generated-client error into ours; reads the body of undeclared responses.
    pub(crate) async fn from_api(
        operation: &'static str,
        err: falcon_users_api::Error<MsaspecResponseFields>,
    ) -> Self {
        use falcon_users_api::Error as E;
        match err {
            E::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let trace_id = header(rv.headers(), "x-cs-traceid")
                    .or_else(|| Some(rv.meta.trace_id.clone()).filter(|t| !t.is_empty()));
                let retry_after = crate::retry::retry_after(rv.headers(), SystemTime::now());
                let raw = rv.headers().contains_key(crate::transport::RAW_BODY_HEADER);
                let (errors, raw_body) = split_raw(raw, rv.into_inner().errors.unwrap_or_default());
                classify(operation, status, trace_id, errors, raw_body, retry_after)
            }
            E::UnexpectedResponse(resp) => {
                let status = resp.status().as_u16();
                let trace_id = header(resp.headers(), "x-cs-traceid");
                let retry_after = crate::retry::retry_after(resp.headers(), SystemTime::now());
                let raw = resp
                    .headers()
                    .contains_key(crate::transport::RAW_BODY_HEADER);
                let body = resp.text().await.unwrap_or_default();
                // Classified by status; the body is kept (JSON or not) for the user to read.
                let envelope = serde_json::from_str::<MsaspecResponseFields>(&body).ok();
                let trace_id = trace_id.or_else(|| {
                    envelope
                        .as_ref()
                        .map(|e| e.meta.trace_id.clone())
                        .filter(|t| !t.is_empty())
                });
                let errors = envelope.and_then(|b| b.errors).unwrap_or_default();
                let (errors, raw_body) = match split_raw(raw, errors) {
                    // Not the envelope at all: keep whatever came.
                    (errors, None) if errors.is_empty() => (errors, Some(truncate(&body, 2048))),
                    split => split,
                };
                classify(operation, status, trace_id, errors, raw_body, retry_after)
            }
            E::InvalidResponsePayload(bytes, e) => Error::Decode {
                operation,
                message: format!(
                    "{e} (body starts with {:?})",
                    truncate(&String::from_utf8_lossy(&bytes), 200)
                ),
            },
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Error::from_reqwest(operation, e)
            }
            E::InvalidRequest(message) => Error::InvalidInput {
                field: "request",
                reason: message,
            },
            E::Custom(message) => Error::Auth {
                problem: AuthProblem::Unauthorized,
                status: None,
                message,
                trace_id: None,
            },
        }
    }

    pub(crate) fn from_reqwest(operation: &'static str, e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Error::Timeout { operation }
        } else if e.is_decode() {
            Error::Decode {
                operation,
                message: e.to_string(),
            }
        } else {
            Error::Transport {
                operation,
                source: e.without_url(),
            }
        }
    }
}

fn classify(
    operation: &'static str,
    status: u16,
    trace_id: Option<String>,
    errors: Vec<MsaspecError>,
    raw_body: Option<String>,
    retry_after: Option<SystemTime>,
) -> Error {
    match status {
        429 => Error::RateLimited {
            operation,
            retry_after,
            trace_id,
        },
        401 => Error::Auth {
            problem: AuthProblem::Unauthorized,
            status: Some(401),
            message: format!(
                "{operation} was refused as unauthorized even with a fresh token (HTTP 401); check that the API client still exists{}",
                trace(trace_id.as_deref())
            ),
            trace_id,
        },
        _ => Error::Api {
            operation,
            status,
            trace_id,
            errors,
            raw_body,
        },
    }
}

/// A body the transport wrapped because it was not JSON comes back as text, not as API errors.
fn split_raw(wrapped: bool, errors: Vec<MsaspecError>) -> (Vec<MsaspecError>, Option<String>) {
    if wrapped {
        let text = errors
            .into_iter()
            .next()
            .map(|e| truncate(&e.message, 2048));
        (Vec::new(), text)
    } else {
        (errors, None)
    }
}

pub(crate) fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
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

fn trace(trace_id: Option<&str>) -> String {
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

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Awaits a generated call and converts its error, naming the operation.
pub(crate) async fn call<T>(
    operation: &'static str,
    request: impl std::future::Future<
        Output = std::result::Result<
            falcon_users_api::ResponseValue<T>,
            falcon_users_api::Error<MsaspecResponseFields>,
        >,
    >,
) -> Result<T> {
    match request.await {
        Ok(value) => Ok(value.into_inner()),
        Err(err) => Err(Error::from_api(operation, err).await),
    }
}

//! Generated-client results turned into [`Error`]s, classified by HTTP status, naming the
//! operation from the table.

use std::sync::Arc;
use std::time::SystemTime;

use falcon_users_api::Operation;
use falcon_users_api::types::{MsaspecError, MsaspecResponseFields};

use crate::error::{AuthProblem, Error, Result, trace, truncate};
use crate::runtime::body::RAW_BODY_HEADER;
use crate::runtime::carry::carried;
use crate::runtime::network;
use crate::runtime::rate::RateHeaders;

/// Awaits a generated call and converts its error, naming the operation.
pub(crate) async fn call<T>(
    op: &'static Operation,
    request: impl std::future::Future<
        Output = std::result::Result<
            falcon_users_api::ResponseValue<T>,
            falcon_users_api::Error<MsaspecResponseFields>,
        >,
    >,
) -> Result<T> {
    match request.await {
        Ok(value) => Ok(value.into_inner()),
        Err(err) => Err(from_api(op, err).await),
    }
}

/// Turns a generated-client error into ours; reads the body of undeclared responses.
///
/// For an operation whose answers may hold a credential ([`Operation::secret_response`]), no part
/// of the body reaches the error: status, trace id and error codes only.
pub(crate) async fn from_api(
    op: &'static Operation,
    err: falcon_users_api::Error<MsaspecResponseFields>,
) -> Error {
    let error = convert(op, err).await;
    if op.secret_response {
        withhold_body(error)
    } else {
        error
    }
}

async fn convert(
    op: &'static Operation,
    err: falcon_users_api::Error<MsaspecResponseFields>,
) -> Error {
    use falcon_users_api::Error as E;
    let operation = op.id;
    match err {
        E::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let trace_id = header(rv.headers(), "x-cs-traceid")
                .or_else(|| Some(rv.meta.trace_id.clone()).filter(|t| !t.is_empty()));
            let retry_after = RateHeaders::stamped(rv.headers());
            let raw = rv.headers().contains_key(RAW_BODY_HEADER);
            let (errors, raw_body) = split_raw(raw, rv.into_inner().errors.unwrap_or_default());
            classify(operation, status, trace_id, errors, raw_body, retry_after)
        }
        E::UnexpectedResponse(resp) => {
            let status = resp.status().as_u16();
            let trace_id = header(resp.headers(), "x-cs-traceid");
            let retry_after = RateHeaders::stamped(resp.headers());
            let raw = resp.headers().contains_key(RAW_BODY_HEADER);
            let body = falcon_users_api::body::body_of(resp)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
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
        E::InvalidResponsePayload(_, e) if op.secret_response => Error::Decode {
            operation,
            // serde's message may quote a value of the body; its position does not.
            message: format!(
                "{:?} error at line {} column {} (the body is withheld: it may hold a token)",
                e.classify(),
                e.line(),
                e.column()
            ),
        },
        E::InvalidResponsePayload(bytes, e) => undecodable(operation, &e, &bytes),
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            from_reqwest(operation, e)
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

/// A body that is not what the operation answers: serde's reason and the body's start. Not
/// for an operation whose answers may hold a credential ([`Operation::secret_response`]).
pub(crate) fn undecodable(operation: &'static str, e: &serde_json::Error, bytes: &[u8]) -> Error {
    Error::Decode {
        operation,
        message: format!(
            "{e} (body starts with {:?})",
            truncate(&String::from_utf8_lossy(bytes), 200)
        ),
    }
}

fn from_reqwest(operation: &'static str, e: reqwest::Error) -> Error {
    if let Some(ours) = carried(&e) {
        ours
    } else if e.is_timeout() {
        Error::Timeout { operation }
    } else if e.is_decode() {
        Error::Decode {
            operation,
            message: e.to_string(),
        }
    } else {
        Error::Transport {
            operation,
            host: e.url().and_then(network::host_port),
            problem: network::problem_of(&e),
            source: Arc::new(e.without_url()),
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

/// The error without anything the server wrote in the body (messages, raw text).
fn withhold_body(error: Error) -> Error {
    match error {
        Error::Api {
            operation,
            status,
            trace_id,
            errors,
            raw_body,
        } => Error::Api {
            operation,
            status,
            trace_id,
            errors: errors
                .into_iter()
                .map(|e| MsaspecError {
                    code: e.code,
                    id: None,
                    message: "[withheld]".into(),
                })
                .collect(),
            raw_body: raw_body.map(|_| "[withheld: the answer may hold a token]".into()),
        },
        other => other,
    }
}

/// A body the pipeline wrapped because it was not JSON comes back as text, not as API errors.
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

/// A header's value as text, when present and printable.
pub(crate) fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

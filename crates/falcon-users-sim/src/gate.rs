//! What every request passes before its handler runs. The router puts the request's
//! `&'static Operation` in its extensions, so the gate counts it, checks what its `auth` says
//! (bearer token, region, the scopes it names, the rate limit) and applies a scripted failure
//! without the handler naming the operation.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use falcon_users_api::{Auth, Operation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clients::{RateVerdict, TokenInfo, TokenProblem};
use crate::envelope::{Headers, error, same_shape, trace_id};
use crate::rate;
use crate::shared::Shared;
use crate::state::State;

/// A request that arrived for an operation: counted, and past any scripted failure. The
/// token endpoints take it; they check their own credentials.
pub struct Arrival {
    /// When it arrived.
    pub started: Instant,
    /// Answer headers (trace id).
    pub headers: Headers,
    /// Its source address (what a failed authentication is charged to).
    pub source: std::net::IpAddr,
}

/// A request admitted by a bearer token carrying the operation's scopes, within its client's
/// rate limit in the CID the token acts in.
pub struct Admitted {
    /// The operation, from the table.
    pub op: &'static Operation,
    /// When it arrived.
    pub started: Instant,
    /// Answer headers (trace id, rate limit).
    pub headers: Headers,
    /// The token's meaning.
    pub token: TokenInfo,
}

/// The operation the router filed the request under; a route without one is a router bug.
fn operation(parts: &Parts, started: Instant) -> Result<&'static Operation, Response> {
    parts
        .extensions
        .get::<&'static Operation>()
        .copied()
        .ok_or_else(|| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &Headers::new(trace_id()),
                started,
                "route without an operation",
            )
        })
}

/// The answer to a request that failed to authenticate, charged to its source address's
/// `verdict`: `status` with `message` while that budget lasts, 429 past it.
pub fn refused(
    verdict: RateVerdict,
    status: StatusCode,
    mut headers: Headers,
    started: Instant,
    message: &str,
) -> Response {
    headers.rate = Some((verdict.limit, verdict.remaining));
    match verdict.retry_after {
        Some(at) => {
            headers.retry_after = Some(at);
            error(
                StatusCode::TOO_MANY_REQUESTS,
                &headers,
                started,
                "API rate limit exceeded: too many requests that failed to authenticate",
            )
        }
        None => error(status, &headers, started, message),
    }
}

/// Answers a failure a test scripted for `op`, if any.
fn scripted(
    shared: &Shared,
    op: &Operation,
    headers: &Headers,
    started: Instant,
) -> Result<(), Response> {
    match shared.scripted_failure(op) {
        None => Ok(()),
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(error(
                status,
                headers,
                started,
                "failure scripted by the test",
            ))
        }
    }
}

impl FromRequestParts<Arc<Shared>> for Arrival {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let started = Instant::now();
        let op = operation(parts, started)?;
        shared.count(op);
        let headers = Headers::new(trace_id());
        scripted(shared, op, &headers, started)?;
        Ok(Arrival {
            started,
            headers,
            source: rate::source(&parts.extensions),
        })
    }
}

impl FromRequestParts<Arc<Shared>> for Admitted {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let started = Instant::now();
        let op = operation(parts, started)?;
        shared.count(op);
        let mut headers = Headers::new(trace_id());
        let Auth::Bearer { scopes } = op.auth else {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &headers,
                started,
                format!("{op} takes no bearer token: its handler must not ask for one"),
            ));
        };
        let denied =
            |headers: &Headers, status, message: &str| error(status, headers, started, message);
        let bearer = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| rate::credentials(v, "Bearer"));
        let checked = match bearer {
            None => Err("access denied, authorization failed"),
            Some(bearer) => shared
                .clients
                .check(bearer)
                .map_err(|problem| match problem {
                    TokenProblem::Unknown => "access denied, invalid bearer token",
                    TokenProblem::Expired => "access denied, expired bearer token",
                    TokenProblem::OtherRegion => {
                        "access denied, token was issued for another cloud region"
                    }
                }),
        };
        let token = match checked {
            Ok(token) => token,
            Err(message) => {
                // Refused requests are charged to their source address (15 a minute).
                let verdict = shared
                    .clients
                    .spend_unauthenticated(rate::source(&parts.extensions));
                return Err(refused(
                    verdict,
                    StatusCode::UNAUTHORIZED,
                    headers,
                    started,
                    message,
                ));
            }
        };
        let verdict = shared.clients.spend(&token.client_id, &token.cid);
        headers.rate = Some((verdict.limit, verdict.remaining));
        if let Some(at) = verdict.retry_after {
            headers.retry_after = Some(at);
            return Err(denied(
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                "API rate limit exceeded",
            ));
        }
        if !scopes.iter().all(|s| token.scopes.contains(s)) {
            return Err(denied(
                &headers,
                StatusCode::FORBIDDEN,
                "access denied, authorization failed",
            ));
        }
        scripted(shared, op, &headers, started)?;
        Ok(Admitted {
            op,
            started,
            headers,
            token,
        })
    }
}

impl Admitted {
    /// The CID to act in: the `cid` parameter if given (the parent may act in its children),
    /// else the token's.
    pub fn cid(&self, shared: &Shared, requested: Option<&str>) -> Result<String, Response> {
        let Some(requested) = requested.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(self.token.cid.clone());
        };
        let requested = requested.to_lowercase();
        let state = shared.read();
        let allowed = requested == self.token.cid
            || (self.token.cid == state.parent_cid && state.child_cids.contains(&requested));
        if allowed && state.knows(&requested) {
            Ok(requested)
        } else {
            Err(self.fail(
                StatusCode::FORBIDDEN,
                format!("access denied to CID {requested}"),
            ))
        }
    }

    /// The CIDs whose users this token reaches by UUID (the operations that name users by
    /// UUID take no `cid`): its own, and for a Flight Control parent its children too, the same
    /// reach [`Admitted::cid`] gives creating users there, so that a user the parent created
    /// in a child is read, renamed and deleted by the token that created it.
    pub fn user_cids(&self, state: &State) -> Vec<String> {
        let mut cids = vec![self.token.cid.clone()];
        if self.token.cid == state.parent_cid {
            cids.extend(state.child_cids.iter().cloned());
        }
        cids
    }

    /// The CID among [`Admitted::user_cids`] that `uuid` is homed in.
    pub fn home_of(&self, state: &State, uuid: &str) -> Option<String> {
        self.user_cids(state).into_iter().find(|cid| {
            state
                .tenants
                .get(cid)
                .is_some_and(|t| t.users.contains_key(uuid))
        })
    }

    /// The status for "not found": 404 where the operation declares it, else the 400 every
    /// operation that looks anything up declares (an undeclared status is one no client of
    /// the spec expects).
    pub fn not_found(&self) -> StatusCode {
        if self.op.statuses.contains(&404) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// Whether `uuid` is a user this request may name in `cid`: homed there, or homed in the
    /// token's own CID (a parent's user acting in a child).
    pub fn knows_user(&self, state: &State, cid: &str, uuid: &str) -> bool {
        [cid, self.token.cid.as_str()].iter().any(|c| {
            state
                .tenants
                .get(*c)
                .is_some_and(|t| t.users.contains_key(uuid))
        })
    }

    /// The service's answer to a user-scoped operation naming a user that does not exist (never
    /// did, or was deleted): `invalid user uuid='<uuid>' specified`, as a 400 (the service does
    /// not answer these with 404), or a 404 where the operation declares one (the legacy
    /// `/users` operations). See `spec/CURATION.md`, "Answers the swagger does not state".
    pub fn unknown_user(&self, uuid: &str) -> Response {
        self.fail(
            self.not_found(),
            format!("invalid user uuid='{uuid}' specified"),
        )
    }

    /// The service's answer to a grant or revoke naming a role that cannot be granted there
    /// (unknown in the CID, or a custom role of another CID): 400
    /// `invalid roleID='<id>' specified`.
    pub fn invalid_role(&self, id: &str) -> Response {
        self.fail(
            StatusCode::BAD_REQUEST,
            format!("invalid roleID='{id}' specified"),
        )
    }

    /// An error answer with this request's headers.
    pub fn fail(&self, status: StatusCode, message: impl Into<String>) -> Response {
        error(status, &self.headers, self.started, message)
    }

    /// [`same_shape`] with this request's headers.
    pub fn reshape<A: Serialize, B: DeserializeOwned>(&self, value: &A) -> Result<B, Response> {
        same_shape(value, &self.headers, self.started)
    }
}

#[cfg(test)]
mod tests {
    use crate::rate::credentials;

    #[test]
    fn scheme_names_are_case_insensitive_and_credentials_required() {
        for (value, scheme, expected) in [
            ("Bearer abc", "Bearer", Some("abc")),
            ("bearer abc", "Bearer", Some("abc")),
            ("BEARER abc", "Bearer", Some("abc")),
            ("Basic dXNlcg==", "Basic", Some("dXNlcg==")),
            ("basic dXNlcg==", "Basic", Some("dXNlcg==")),
            ("BASIC dXNlcg==", "Basic", Some("dXNlcg==")),
            ("Bearer   abc  ", "Bearer", Some("abc")),
            ("Bearer", "Bearer", None),
            ("Bearer ", "Bearer", None),
            ("Bearerabc", "Bearer", None),
            ("Basic abc", "Bearer", None),
            ("Bearer abc", "Basic", None),
            ("", "Bearer", None),
        ] {
            assert_eq!(
                credentials(value, scheme),
                expected,
                "{value:?} as {scheme}"
            );
        }
    }
}

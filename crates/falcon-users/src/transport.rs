//! The one path every request takes: current API host, bearer token, concurrency limit, rate-limit
//! pacing, retries and refresh-on-401, all inside the call's deadline.

use std::sync::Arc;
use std::time::Duration;

use falcon_users_api::{Auth, Operation, RequestHook};
use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};
use secrecy::ExposeSecret;
use tracing::{debug, warn};

use crate::auth::TokenProvider;
use crate::retry::retry_after;
use crate::session::Session;
use crate::stats::Stats;

pub(crate) struct Transport {
    session: Arc<Session>,
    /// `None` for the token endpoint itself.
    auth: Option<Arc<TokenProvider>>,
    deadline: Duration,
}

impl Transport {
    pub(crate) fn new(
        session: Arc<Session>,
        auth: Option<Arc<TokenProvider>>,
        deadline: Duration,
    ) -> Self {
        Self {
            session,
            auth,
            deadline,
        }
    }

    async fn prepare_request(
        &self,
        request: &mut Request,
        operation: &'static Operation,
    ) -> Result<(), String> {
        // Autodiscovery may have moved the tenant to another host after this client was built.
        let base = self.session.endpoint.url();
        let url = request.url_mut();
        if url.host_str() != base.host_str()
            || url.port() != base.port()
            || url.scheme() != base.scheme()
        {
            let _ = url.set_scheme(base.scheme());
            let _ = url.set_host(base.host_str());
            let _ = url.set_port(base.port());
        }
        match operation.auth {
            Auth::None => Ok(()),
            Auth::Basic => {
                let creds = &self.session.credentials;
                let basic = basic_auth(&creds.client_id, creds.client_secret.expose_secret());
                request.headers_mut().insert(AUTHORIZATION, basic);
                Ok(())
            }
            Auth::Bearer { .. } => {
                let Some(auth) = &self.auth else {
                    return Ok(());
                };
                let token = auth.token(&self.session).await.map_err(|e| e.to_string())?;
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, bearer(token.value.expose_secret()));
                Ok(())
            }
        }
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        op: &'static Operation,
    ) -> reqwest::Result<Response> {
        let operation = op.id;
        let session = &self.session;
        let clock = session.clock.as_ref();
        let policy = &session.retry;
        let started = clock.now();
        // Only what changes nothing may be sent again after a 5xx or a lost answer.
        let idempotent = op.read_only;
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let elapsed = clock.now().duration_since(started).unwrap_or_default();
            let remaining = self
                .deadline
                .saturating_sub(elapsed)
                .max(Duration::from_millis(1));
            *request.timeout_mut() = Some(session.request_timeout.min(remaining));
            let mut next = request.try_clone();
            let permit = session.limiter.acquire(clock).await;
            Stats::bump(&session.stats.requests);
            let result = match client.execute(request).await {
                // Reading the body here puts truncated and dropped bodies inside the retry loop.
                Ok(response) => buffer(response).await,
                Err(e) => Err(e),
            };
            drop(permit);
            let within_deadline = |wait: Duration| {
                clock.now().duration_since(started).unwrap_or_default() + wait < self.deadline
            };
            let mut held = false;
            let retry_wait = match &result {
                Ok(resp) => {
                    session.limiter.observe(resp.headers());
                    let status = resp.status();
                    debug!(operation, status = status.as_u16(), attempt, "response");
                    if status == StatusCode::UNAUTHORIZED && !refreshed {
                        match (&self.auth, next.as_mut()) {
                            (Some(auth), Some(retry)) => {
                                refreshed = true;
                                let sent = bearer_value(retry);
                                auth.invalidate(&sent).await;
                                match auth.token(session).await {
                                    Ok(token) => {
                                        retry.headers_mut().insert(
                                            AUTHORIZATION,
                                            bearer(token.value.expose_secret()),
                                        );
                                        Some(Duration::ZERO)
                                    }
                                    Err(e) => {
                                        warn!(operation, error = %e, "token refresh after 401 failed");
                                        None
                                    }
                                }
                            }
                            _ => None,
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS {
                        Stats::bump(&session.stats.rate_limited);
                        let now = clock.now();
                        let wait = retry_after(resp.headers(), now)
                            .and_then(|t| t.duration_since(now).ok())
                            .filter(|w| !w.is_zero())
                            // A RetryAfter already past still deserves a short pause.
                            .unwrap_or_else(|| policy.backoff(attempt));
                        if wait <= policy.max_rate_limit_wait {
                            // A spent budget stops everyone until it refills; any other 429
                            // (a throttle in front of the API) delays only this request.
                            if budget_spent(resp.headers()) {
                                session.limiter.hold_until(now + wait);
                                held = true;
                            }
                            Some(wait)
                        } else {
                            warn!(
                                operation,
                                wait_secs = wait.as_secs(),
                                "429 asks for a longer wait than allowed; giving up"
                            );
                            None
                        }
                    } else if status.is_server_error() && idempotent {
                        Some(policy.backoff(attempt))
                    } else {
                        None
                    }
                }
                // A connect failure never reached the server: safe to repeat for any request.
                Err(e) if idempotent || e.is_connect() => Some(policy.backoff(attempt)),
                Err(_) => None,
            };
            match (retry_wait, next) {
                (Some(wait), Some(retry))
                    if attempt < policy.max_attempts && within_deadline(wait) =>
                {
                    Stats::bump(&session.stats.retries);
                    debug!(
                        operation,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    // A held limiter makes the wait for all callers; the rest is taken here.
                    if !wait.is_zero() && !held {
                        clock.sleep(wait).await;
                    }
                    request = retry;
                }
                _ => return result,
            }
        }
    }
}

/// Whether a 429 says the client's whole budget is spent (`X-RateLimit-Remaining: 0`).
fn budget_spent(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// Marks a response whose error body was not JSON and was wrapped by [`buffer`].
pub(crate) const RAW_BODY_HEADER: &str = "x-falcon-users-raw-body";

/// Reads the whole body (within the attempt's timeout) and rebuilds the response from memory.
///
/// Gateways answer some errors with HTML. The generated client would report those as an
/// undecodable payload and lose the status; wrapping the text in the error envelope keeps the
/// status, the headers and the raw body (flagged by [`RAW_BODY_HEADER`]).
async fn buffer(response: Response) -> reqwest::Result<Response> {
    let status = response.status();
    let version = response.version();
    let mut headers = response.headers().clone();
    let body = response.bytes().await?;
    let failed = status.is_client_error() || status.is_server_error();
    let body = if !failed || serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
        body
    } else {
        let trace_id = headers
            .get("x-cs-traceid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        headers.insert(RAW_BODY_HEADER, HeaderValue::from_static("1"));
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.remove(reqwest::header::CONTENT_LENGTH);
        serde_json::json!({
            "meta": {"query_time": 0.0, "trace_id": trace_id},
            "errors": [{"code": status.as_u16(), "message": String::from_utf8_lossy(&body)}],
        })
        .to_string()
        .into()
    };
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(Response::from(rebuilt))
}

impl RequestHook for Transport {
    fn prepare<'a>(
        &'a self,
        request: &'a mut Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.prepare_request(request, operation))
    }

    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, reqwest::Result<Response>> {
        Box::pin(self.send(client, request, operation))
    }
}

fn bearer(token: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    value.set_sensitive(true);
    value
}

fn bearer_value(request: &Request) -> String {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

fn basic_auth(user: &str, password: &str) -> HeaderValue {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic invalid"));
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::budget_spent;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn with_remaining(value: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert("X-RateLimit-Remaining", HeaderValue::from_static(v));
        }
        headers
    }

    /// Only a 429 that says the budget is gone may pause every caller; a throttle 429 (no
    /// budget headers, or budget left) must not stall the other requests in flight.
    #[test]
    fn only_a_spent_budget_holds_everyone() {
        assert!(budget_spent(&with_remaining(Some("0"))));
        assert!(budget_spent(&with_remaining(Some(" 0 "))));
        assert!(!budget_spent(&with_remaining(Some("12"))));
        assert!(!budget_spent(&with_remaining(Some("zero"))));
        assert!(!budget_spent(&with_remaining(None)));
    }
}

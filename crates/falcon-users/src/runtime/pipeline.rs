//! The request pipeline: the hook every generated request goes through. It points the request at
//! the current API host, authenticates it, waits for the limiter, sends it, reads the body within
//! the size limit, and carries out what [`decide`] says about the outcome, all inside the call's
//! deadline: the pacing wait counts against it like the retries do (the wait for a token has a
//! deadline of its own, as `Falcon::authenticate` has).

use std::sync::Arc;
use std::time::Duration;

use falcon_users_api::types::MsaspecResponseFields;
use falcon_users_api::{Auth, Client, Hooks, Operation, RequestHook};
use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response};
use secrecy::ExposeSecret;
use tracing::{debug, warn};

use crate::clock::later;
use crate::error::{Error, NetworkProblem};
use crate::runtime::body::buffer;
use crate::runtime::carry::{carried, carry};
use crate::runtime::network;
use crate::runtime::pacing::Limiter;
use crate::runtime::rate::RateHeaders;
use crate::runtime::retry::{Attempt, Budget, First, Outcome, Then, decide};
use crate::runtime::shared::Runtime;
use crate::runtime::stats::Stats;
use crate::runtime::trace;

/// Where a request's bearer token comes from. The minter implements it; the pipeline only asks,
/// so minting (which itself sends requests through a pipeline) sits above it.
pub(crate) trait BearerSource: Send + Sync {
    /// The `Authorization` header of a token to send, minted if none is cached; waits at most
    /// `within`.
    fn bearer(&self, within: Duration) -> BoxFuture<'_, Result<HeaderValue, Error>>;
    /// The `Authorization` header of a cached token not yet due for renewal, if there is one:
    /// what nearly every request sends, with no future to allocate.
    fn cached(&self) -> Option<HeaderValue>;
    /// The API refused `sent`: forget it if it is still the cached one.
    fn refused(&self, sent: &str);
}

/// A generated client whose every request goes through a [`Pipeline`] paced by `limiter` (the
/// lane of the CID it acts in); `bearer` is `None` for the token endpoint itself.
pub(crate) fn client(
    runtime: &Arc<Runtime>,
    limiter: Arc<Limiter>,
    bearer: Option<Arc<dyn BearerSource>>,
    deadline: Duration,
) -> Client {
    let pipeline = Pipeline {
        runtime: Arc::clone(runtime),
        limiter,
        bearer,
        deadline,
    };
    Client::new_with_client(
        runtime
            .settings
            .endpoint
            .url()
            .as_str()
            .trim_end_matches('/'),
        runtime.settings.transport.builder_client(),
        Hooks::new(Arc::new(pipeline)),
    )
}

/// Sends one request built by hand (not by the generated client) through the same hook a
/// generated call of `operation` goes through: host, token, pacing, retries, body limit and
/// deadline alike. `bearer` is the handle's token source.
pub(crate) async fn send_built(
    runtime: &Arc<Runtime>,
    limiter: Arc<Limiter>,
    bearer: Arc<dyn BearerSource>,
    deadline: Duration,
    mut request: Request,
    operation: &'static Operation,
) -> Result<Response, falcon_users_api::Error<MsaspecResponseFields>> {
    let pipeline = Pipeline {
        runtime: Arc::clone(runtime),
        limiter,
        bearer: Some(bearer),
        deadline,
    };
    pipeline
        .prepare_request(&mut request, operation)
        .await
        .map_err(falcon_users_api::Error::Custom)?;
    pipeline
        .send(Box::new(request), operation)
        .await
        .map_err(falcon_users_api::Error::CommunicationError)
}

/// The hook of one generated client.
struct Pipeline {
    runtime: Arc<Runtime>,
    /// The budget of the CID the requests act in.
    limiter: Arc<Limiter>,
    bearer: Option<Arc<dyn BearerSource>>,
    deadline: Duration,
}

impl Pipeline {
    async fn prepare_request(
        &self,
        request: &mut Request,
        operation: &'static Operation,
    ) -> Result<(), String> {
        // Autodiscovery may have moved the tenant to another host after this client was built.
        self.runtime.settings.endpoint.retarget(request.url_mut());
        match operation.auth {
            Auth::None => Ok(()),
            Auth::Basic => {
                let creds = &self.runtime.settings.credentials;
                let basic = basic_auth(&creds.client_id, creds.client_secret.expose_secret());
                request.headers_mut().insert(AUTHORIZATION, basic);
                Ok(())
            }
            Auth::Bearer { .. } => {
                let Some(source) = &self.bearer else {
                    return Ok(());
                };
                // Here, not in `send`, so that the generated client reports a token failure with
                // its message; the wait is bounded by the call's deadline all the same.
                let header = match source.cached() {
                    Some(header) => header,
                    None => source
                        .bearer(self.deadline)
                        .await
                        .map_err(|e| e.to_string())?,
                };
                request.headers_mut().insert(AUTHORIZATION, header);
                Ok(())
            }
        }
    }

    /// Sends `request` until [`decide`] says the outcome is final.
    ///
    /// The request (and its spare copy for a retry) is held boxed and the body is read in a
    /// future of its own: this future is allocated on every call, and kept a small block (the
    /// test `the_future_of_a_request_is_a_small_allocation`) it comes from the allocator's
    /// per-thread cache instead of its slow path for large blocks (it was 2.9 KB, a
    /// measurable share of a call's CPU).
    async fn send(
        &self,
        mut request: Box<Request>,
        op: &'static Operation,
    ) -> reqwest::Result<Response> {
        let operation = op.id;
        let runtime = &self.runtime;
        let clock = runtime.settings.clock.as_ref();
        let started = clock.now();
        let time_left = || {
            self.deadline
                .saturating_sub(clock.now().duration_since(started).unwrap_or_default())
        };
        let timed_out = || Error::Timeout { operation };
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let Some(permit) = self.limiter.acquire(clock, time_left()).await else {
                return Err(carry(timed_out()).await);
            };
            // The CID's own slot first, then one of the handle's overall slots (always in this
            // order, so two requests never hold one each of what the other waits for).
            let overall = match &runtime.in_flight {
                Some(slots) => match tokio::time::timeout(time_left(), slots.acquire()).await {
                    Ok(Ok(slot)) => Some(slot),
                    _ => return Err(carry(timed_out()).await),
                },
                None => None,
            };
            let remaining = time_left();
            if remaining.is_zero() {
                return Err(carry(timed_out()).await);
            }
            // The client's own timeout is the request timeout; a request carries one of its own
            // only when the deadline comes sooner (and then on every later attempt too, as the
            // time left only shrinks).
            if remaining < runtime.settings.transport.request_timeout() {
                *request.timeout_mut() = Some(remaining);
            }
            // Boxed like the request, so the two copies cost the pipeline's future no room.
            let next = request.try_clone().map(Box::new);
            Stats::bump(&runtime.stats.requests);
            // Chosen by the URL, so a plain-http endpoint never goes through a proxy.
            let client = runtime.settings.transport.for_url(request.url());
            let mut result = match client.execute(*request).await {
                // Reading the body here puts truncated and dropped bodies inside the retry loop.
                // Boxed: the largest state of the loop, and only while the body is read.
                Ok(response) => {
                    Box::pin(buffer(response, op, runtime.settings.max_response_bytes)).await
                }
                Err(e) => Err(e),
            };
            drop(overall);
            drop(permit);
            // The pipeline's own verdict (a body over the limit): final, never retried.
            if let Err(e) = &result
                && carried(e).is_some()
            {
                return result;
            }
            let now = clock.now();
            let (outcome, budget) = match &mut result {
                Ok(resp) => {
                    // Read once, on the handle's clock: the pacing, the retry decision below and
                    // the error a 429 becomes all take this reading.
                    let rate = RateHeaders::read(resp.headers(), now);
                    rate.stamp(resp.headers_mut());
                    self.limiter.observe(&rate);
                    trace::note(resp.headers());
                    let status = resp.status().as_u16();
                    debug!(operation, status, attempt, "response");
                    if status == 429 {
                        Stats::bump(&runtime.stats.rate_limited);
                    }
                    (Outcome::Status(status), Budget::at(&rate, now))
                }
                Err(e) if e.is_connect() => match network::problem_of(e) {
                    NetworkProblem::Certificate(_) | NetworkProblem::NotTls => {
                        (Outcome::TlsRefused, Budget::default())
                    }
                    _ => (Outcome::ConnectFailed, Budget::default()),
                },
                Err(_) => (Outcome::Lost, Budget::default()),
            };
            // A request that cannot be cloned cannot be sent again, whatever the outcome.
            let Some(mut retry) = next else {
                return result;
            };
            let situation = Attempt {
                number: attempt,
                token_refreshable: self.bearer.is_some() && !refreshed,
                time_left: self
                    .deadline
                    .saturating_sub(now.duration_since(started).unwrap_or_default()),
                jitter: fastrand::f64(),
            };
            // Only what changes nothing may be sent again after a 5xx or a lost answer.
            let action = decide(
                outcome,
                op.read_only,
                budget,
                situation,
                &runtime.settings.retry,
            );
            match action.first {
                First::Nothing => {}
                First::HoldAll { wait } => self.limiter.hold_until(later(now, wait)),
                First::RefreshToken => {
                    refreshed = true;
                    if !self.refresh(&mut retry, operation, time_left()).await {
                        return result;
                    }
                }
            }
            match action.then {
                Then::Retry { after } => {
                    Stats::bump(&runtime.stats.retries);
                    debug!(
                        operation,
                        attempt,
                        wait_ms = after.as_millis() as u64,
                        "retrying"
                    );
                    if !after.is_zero() {
                        clock.sleep(after).await;
                    }
                    request = retry;
                }
                Then::GiveUp => {
                    if outcome == Outcome::Status(429) {
                        warn!(
                            operation,
                            attempt,
                            "429 not retried: a longer wait than allowed, or attempts or deadline spent"
                        );
                    }
                    return result;
                }
            }
        }
    }

    /// Replaces the refused bearer token of `retry` with a fresh one; false when none could be
    /// minted (the 401 is then the answer).
    async fn refresh(
        &self,
        retry: &mut Request,
        operation: &'static str,
        time_left: Duration,
    ) -> bool {
        let Some(source) = &self.bearer else {
            return false;
        };
        source.refused(&bearer_value(retry));
        match source.bearer(time_left).await {
            Ok(header) => {
                retry.headers_mut().insert(AUTHORIZATION, header);
                true
            }
            Err(e) => {
                warn!(operation, error = %e, "token refresh after 401 failed");
                false
            }
        }
    }
}

impl RequestHook for Pipeline {
    fn prepare<'a>(
        &'a self,
        request: &'a mut Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.prepare_request(request, operation))
    }

    fn execute<'a>(
        &'a self,
        _client: &'a reqwest::Client,
        request: Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, reqwest::Result<Response>> {
        Box::pin(self.send(Box::new(request), operation))
    }
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
    use super::*;
    use crate::runtime::shared::tests::runtime;

    /// A bearer source with a token in hand, whose minting path must not be taken.
    struct Cached(HeaderValue);

    impl BearerSource for Cached {
        fn bearer(&self, _within: Duration) -> BoxFuture<'_, Result<HeaderValue, Error>> {
            Box::pin(async {
                Err(Error::Config(
                    "minted for a request a cached token serves".into(),
                ))
            })
        }
        fn cached(&self) -> Option<HeaderValue> {
            Some(self.0.clone())
        }
        fn refused(&self, _sent: &str) {}
    }

    /// A request goes with the cached token's header, without asking for a token (a future
    /// allocated for every call): the answer nearly every request gets.
    #[tokio::test]
    async fn a_cached_token_is_sent_without_asking_for_one() {
        let pipeline = Pipeline {
            runtime: Arc::new(runtime()),
            limiter: Arc::new(Limiter::new(4)),
            bearer: Some(Arc::new(Cached(HeaderValue::from_static("Bearer cached")))),
            deadline: Duration::from_secs(1),
        };
        let mut request = reqwest::Client::new()
            .get("https://api.crowdstrike.com/user-management/queries/users/v1")
            .build()
            .unwrap();
        pipeline
            .prepare_request(&mut request, &falcon_users_api::operations::QUERY_USER_V1)
            .await
            .unwrap();
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer cached");
    }

    /// The size the future of one request stays under: the largest block glibc's per-thread
    /// cache serves (1,032 bytes) less room to spare; a larger block takes the allocator's slow
    /// path, which also sweeps its free lists, on every call.
    const SMALL_ALLOCATION: usize = 1_000;

    /// The future every call allocates stays a small block (see [`SMALL_ALLOCATION`]); a
    /// change that makes it larger makes every call slower.
    #[test]
    fn the_future_of_a_request_is_a_small_allocation() {
        let pipeline = Pipeline {
            runtime: Arc::new(runtime()),
            limiter: Arc::new(Limiter::new(4)),
            bearer: None,
            deadline: Duration::from_secs(1),
        };
        let request = reqwest::Client::new()
            .get("http://127.0.0.1:9/user-management/queries/users/v1")
            .build()
            .unwrap();
        let client = reqwest::Client::new();
        let send = pipeline.execute(
            &client,
            request,
            &falcon_users_api::operations::QUERY_USER_V1,
        );
        let size = std::mem::size_of_val(&*send);
        assert!(size <= SMALL_ALLOCATION, "{size} bytes");
    }
}

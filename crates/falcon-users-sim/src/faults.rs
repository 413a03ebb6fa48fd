//! Injected faults, drawn from the seeded RNG so a run repeats: latency, 429s, 5xx, dropped
//! answers (the work is done, the answer is lost) and slow bodies. The router wraps each
//! operation's handler in it; the token endpoints (no bearer token) are spared.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use falcon_users_api::{Auth, Operation};
use futures::StreamExt;

use crate::envelope::{Headers, error, trace_id};
use crate::shared::{Shared, lock};

enum Fault {
    None,
    RateLimited,
    ServerError(StatusCode),
    Dropped,
    Slow,
}

/// Applies the configured faults around the handler.
pub async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let faults = &shared.config.faults;
    let bearer = request
        .extensions()
        .get::<&'static Operation>()
        .is_some_and(|op| matches!(op.auth, Auth::Bearer { .. }));
    if !bearer || *faults == Default::default() {
        return next.run(request).await;
    }
    let (delay, fault) = {
        let mut rng = lock(&shared.fault_rng);
        let delay = faults.latency + faults.jitter.mul_f64(rng.f64());
        let roll = rng.f64();
        let limited = faults.rate_limited;
        let failed = limited + faults.server_errors;
        let dropped = failed + faults.dropped;
        let slow = dropped + faults.slow_bodies;
        let fault = if roll < limited {
            Fault::RateLimited
        } else if roll < failed {
            let status = if rng.bool() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Fault::ServerError(status)
        } else if roll < dropped {
            Fault::Dropped
        } else if roll < slow {
            Fault::Slow
        } else {
            Fault::None
        };
        let mut injected = lock(&shared.injected);
        match fault {
            Fault::None => {}
            Fault::RateLimited => injected.rate_limited += 1,
            Fault::ServerError(_) => injected.server_errors += 1,
            Fault::Dropped => injected.dropped += 1,
            Fault::Slow => injected.slow_bodies += 1,
        }
        (delay, fault)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let started = Instant::now();
    match fault {
        Fault::None => next.run(request).await,
        Fault::RateLimited => {
            // A throttle in front of the API, not the client's budget (that one is the gate's):
            // no budget headers, and a RetryAfter already due (whole epoch seconds, rounded down).
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                &Headers::new(trace_id()),
                started,
                "API rate limit exceeded (injected)",
            );
            let due = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            response
                .headers_mut()
                .insert("x-ratelimit-retryafter", due.into());
            response
        }
        Fault::ServerError(status) => error(
            status,
            &Headers::new(trace_id()),
            started,
            "internal error (injected)",
        ),
        Fault::Dropped => {
            // The handler runs (a create happens) but the answer never arrives whole.
            let response = next.run(request).await;
            let (mut parts, _) = response.into_parts();
            parts.headers.remove("content-length");
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped (injected)"))
            });
            Response::from_parts(parts, Body::from_stream(broken))
        }
        Fault::Slow => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            parts.headers.remove("content-length");
            let pause = shared.config.faults.slow_body_delay;
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let pieces: Vec<Bytes> = bytes.chunks(64).map(Bytes::copy_from_slice).collect();
            let slow = futures::stream::iter(pieces).then(move |piece| async move {
                tokio::time::sleep(pause).await;
                Ok::<Bytes, std::io::Error>(piece)
            });
            Response::from_parts(parts, Body::from_stream(slow))
        }
    }
}

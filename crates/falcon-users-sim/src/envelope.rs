//! The envelope every answer carries (`meta`, `resources`, `errors`) and the standard headers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use falcon_users_api::types::{
    MsaspecError, MsaspecMetaInfo, MsaspecPaging, MsaspecResponseFields, MsaspecWrites,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

static TRACE: AtomicU64 = AtomicU64::new(1);

/// A fresh trace id.
pub fn trace_id() -> String {
    format!("sim-{:012x}", TRACE.fetch_add(1, Ordering::Relaxed))
}

/// `meta` for an answer that took since `started`.
pub fn meta(started: Instant, trace: &str) -> MsaspecMetaInfo {
    MsaspecMetaInfo {
        pagination: None,
        powered_by: Some("falcon-users-sim".into()),
        query_time: started.elapsed().as_secs_f64(),
        trace_id: trace.to_owned(),
        writes: None,
    }
}

/// `meta` with a pagination block.
pub fn paged_meta(
    started: Instant,
    trace: &str,
    offset: usize,
    limit: usize,
    total: usize,
) -> MsaspecMetaInfo {
    MsaspecMetaInfo {
        pagination: Some(MsaspecPaging {
            limit: limit as i32,
            offset: offset as i32,
            total: total as i64,
        }),
        ..meta(started, trace)
    }
}

/// `meta` reporting how many resources a write affected.
pub fn write_meta(started: Instant, trace: &str, affected: usize) -> MsaspecMetaInfo {
    MsaspecMetaInfo {
        writes: Some(MsaspecWrites {
            resources_affected: affected as i32,
        }),
        ..meta(started, trace)
    }
}

/// The headers of every answer.
#[derive(Debug, Clone)]
pub struct Headers {
    /// `X-CS-TRACEID`.
    pub trace: String,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`.
    pub rate: Option<(u32, u32)>,
    /// `X-RateLimit-RetryAfter` (epoch seconds).
    pub retry_after: Option<SystemTime>,
}

impl Headers {
    /// Only a trace id.
    pub fn new(trace: String) -> Self {
        Self {
            trace,
            rate: None,
            retry_after: None,
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        put("x-cs-traceid", self.trace.clone());
        if let Some((limit, remaining)) = self.rate {
            put("x-ratelimit-limit", limit.to_string());
            put("x-ratelimit-remaining", remaining.to_string());
        }
        if let Some(at) = self.retry_after {
            let secs = at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + 1)
                .unwrap_or_default();
            put("x-ratelimit-retryafter", secs.to_string());
        }
    }
}

/// A JSON answer with the standard headers.
pub fn answer<T: Serialize>(status: StatusCode, headers: &Headers, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    headers.apply(response.headers_mut());
    response
}

/// The error envelope.
pub fn error(
    status: StatusCode,
    headers: &Headers,
    started: Instant,
    message: impl Into<String>,
) -> Response {
    let body = MsaspecResponseFields {
        errors: Some(vec![MsaspecError {
            code: i32::from(status.as_u16()),
            id: None,
            message: message.into(),
        }]),
        meta: meta(started, &headers.trace),
    };
    answer(status, headers, &body)
}

/// A generic envelope, converted to the typed responses with [`same_shape`].
#[derive(Serialize)]
pub struct Envelope<T: Serialize> {
    /// Per-item or request errors.
    pub errors: Vec<MsaspecError>,
    /// `meta`.
    pub meta: MsaspecMetaInfo,
    /// The resources.
    pub resources: Vec<T>,
}

/// Converts between envelope types the spec gives the same shape (`msaspec.*` and `msa.*`);
/// failing would be the simulator's own bug, so it answers 500.
pub fn same_shape<A: Serialize, B: DeserializeOwned>(
    value: &A,
    headers: &Headers,
    started: Instant,
) -> Result<B, Response> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                headers,
                started,
                format!("envelope conversion: {e}"),
            )
        })
}

//! The service's JSON envelope (`{meta, resources, errors}`) for hand-written mocks and wire
//! tests: one vocabulary for every test in the workspace.
//!
//! Built in two steps. A `meta` ([`meta`], or a test's own realistic one) gains blocks with
//! [`paged_meta`] and [`write_meta`]; a body wraps it with [`with_resources`], [`meta_only`] or
//! [`with_error`]. [`page`], [`entities`] and [`error_body`] are the common bodies in one call.
//! [`json_reply`] and [`reply_sequence`] turn bodies into `respond_with` answers.

use std::sync::atomic::{AtomicUsize, Ordering};

use httpmock::{HttpMockRequest, HttpMockResponse};
use serde_json::{Value, json};

/// `meta` as the service sends it, with a query time and `trace_id`.
///
/// ```
/// let meta = falcon_users_httpmock::envelope::meta("trace-1");
/// assert_eq!(meta["trace_id"], "trace-1");
/// assert!(meta["query_time"].is_number());
/// ```
pub fn meta(trace_id: &str) -> Value {
    json!({"query_time": 0.01, "trace_id": trace_id})
}

/// `meta` with the pagination block that user, grant and invitation queries answer with.
///
/// ```
/// use falcon_users_httpmock::envelope::{meta, paged_meta};
/// let meta = paged_meta(meta("trace-1"), 100, 50, 203);
/// assert_eq!(meta["pagination"]["offset"], 100);
/// assert_eq!(meta["pagination"]["limit"], 50);
/// assert_eq!(meta["pagination"]["total"], 203);
/// assert_eq!(meta["trace_id"], "trace-1");
/// ```
pub fn paged_meta(mut meta: Value, offset: u64, limit: u64, total: u64) -> Value {
    meta["pagination"] = json!({"offset": offset, "limit": limit, "total": total});
    meta
}

/// `meta` with the `writes` block that creates, updates, deletes and grants answer with.
///
/// ```
/// use falcon_users_httpmock::envelope::{meta, write_meta};
/// let meta = write_meta(meta("trace-1"), 2);
/// assert_eq!(meta["writes"]["resources_affected"], 2);
/// ```
pub fn write_meta(mut meta: Value, affected: u64) -> Value {
    meta["writes"] = json!({"resources_affected": affected});
    meta
}

/// `{meta, resources, errors: []}`: a successful answer carrying `resources`.
///
/// ```
/// use falcon_users_httpmock::envelope::{meta, with_resources};
/// use serde_json::json;
/// let body = with_resources(meta("trace-1"), json!(["u-1"]));
/// assert_eq!(body, json!({"meta": meta("trace-1"), "resources": ["u-1"], "errors": []}));
/// ```
pub fn with_resources(meta: Value, resources: Value) -> Value {
    json!({"meta": meta, "resources": resources, "errors": []})
}

/// `{meta, errors: []}`: a successful answer with no `resources` at all (writes that answer
/// only their count, token revocation).
///
/// ```
/// use falcon_users_httpmock::envelope::{meta, meta_only, write_meta};
/// use serde_json::json;
/// let body = meta_only(write_meta(meta("trace-1"), 1));
/// assert!(body.get("resources").is_none());
/// assert_eq!(body["errors"], json!([]));
/// ```
pub fn meta_only(meta: Value) -> Value {
    json!({"meta": meta, "errors": []})
}

/// `{meta, errors: [{code, message}]}`: an error answer with one entry and no `resources`.
///
/// ```
/// use falcon_users_httpmock::envelope::{meta, with_error};
/// let body = with_error(meta("trace-1"), 404, "user not found");
/// assert_eq!(body["errors"][0]["code"], 404);
/// assert_eq!(body["errors"][0]["message"], "user not found");
/// assert!(body.get("resources").is_none());
/// ```
pub fn with_error(meta: Value, code: u16, message: &str) -> Value {
    json!({"meta": meta, "errors": [{"code": code, "message": message}]})
}

/// `{meta, resources, errors}` with a pagination block, as user and grant queries answer.
///
/// ```
/// use serde_json::json;
/// let body = falcon_users_httpmock::envelope::page(json!(["u-1", "u-2"]), 0, 2, 5);
/// assert_eq!(body["meta"]["pagination"]["total"], 5);
/// assert_eq!(body["resources"][1], "u-2");
/// ```
pub fn page(resources: Value, offset: u64, limit: u64, total: u64) -> Value {
    with_resources(
        paged_meta(meta("trace-page"), offset, limit, total),
        resources,
    )
}

/// `{meta, resources, errors}` without pagination, as entity lookups answer (`errors` lists
/// the ids not found).
///
/// ```
/// use serde_json::json;
/// let body = falcon_users_httpmock::envelope::entities(json!([{"uuid": "u-1"}]), json!([]));
/// assert_eq!(body["resources"][0]["uuid"], "u-1");
/// assert!(body["meta"].get("pagination").is_none());
/// ```
pub fn entities(resources: Value, errors: Value) -> Value {
    json!({"meta": meta("trace-entities"), "resources": resources, "errors": errors})
}

/// An error envelope with one error entry.
///
/// ```
/// let body = falcon_users_httpmock::envelope::error_body(403, "access denied");
/// assert_eq!(body["errors"][0]["code"], 403);
/// assert_eq!(body["errors"][0]["message"], "access denied");
/// ```
pub fn error_body(code: u16, message: &str) -> Value {
    let mut meta = meta("trace-err");
    meta["query_time"] = json!(0.0);
    with_error(meta, code, message)
}

/// A JSON response for `then.respond_with(...)`.
pub fn json_reply(status: u16, body: &Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

/// A responder giving the i-th reply to the i-th request (the last reply repeats; with no
/// replies at all, every request gets a 500 saying so).
///
/// ```
/// use falcon_users_httpmock::envelope::{error_body, json_reply, page, reply_sequence};
/// use serde_json::json;
/// let server = httpmock::MockServer::start();
/// let responder = reply_sequence(vec![
///     json_reply(503, &error_body(503, "busy")),
///     json_reply(200, &page(json!([]), 0, 100, 0)),
/// ]);
/// server.mock(|when, then| {
///     when.path("/user-management/queries/users/v1");
///     then.respond_with(responder);
/// });
/// ```
pub fn reply_sequence(
    replies: Vec<HttpMockResponse>,
) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
    let next = AtomicUsize::new(0);
    move |_req| {
        let i = next.fetch_add(1, Ordering::SeqCst);
        match replies.get(i.min(replies.len().saturating_sub(1))) {
            Some(reply) => reply.clone(),
            None => json_reply(500, &error_body(500, "reply_sequence: no reply scripted")),
        }
    }
}

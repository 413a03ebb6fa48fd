//! Request matchers and the generated client for the wire-format tests (httpmock).

use httpmock::{HttpMockRequest, MockServer, When};
use serde_json::Value;

/// A client with no hook, talking to the mock server.
pub fn api_client(server: &MockServer) -> falcon_users_api::Client {
    falcon_users_api::Client::new(&server.base_url(), falcon_users_api::Hooks::none())
}

pub fn nz(n: u64) -> std::num::NonZeroU64 {
    std::num::NonZeroU64::new(n).expect("non-zero")
}

// ---------------------------------------------------------------------------------------------
// Request matchers
// ---------------------------------------------------------------------------------------------

/// Requires the decoded query string to be exactly `expected` as a multiset of pairs (order of
/// keys free, repeated keys counted), plus per-pair matchers so a mismatch is easy to read.
pub fn exact_query(when: When, expected: &[(&str, &str)]) -> When {
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    let when = expected
        .iter()
        .fold(when, |when, (k, v)| when.query_param(*k, *v));
    when.is_true(move |req: &HttpMockRequest| {
        let mut got = req.query_params();
        got.sort();
        got == want
    })
}

/// Requires the raw (still percent-encoded) query string to be exactly `raw`.
pub fn raw_query(when: When, raw: &'static str) -> When {
    when.is_true(move |req: &HttpMockRequest| req.uri().query() == Some(raw))
}

/// Requires that the request has no query string at all.
pub fn no_query(when: When) -> When {
    when.is_true(|req: &HttpMockRequest| req.uri().query().is_none_or(str::is_empty))
}

/// Headers every generated call must send or must not send.
pub fn common_headers(when: When) -> When {
    when.header_missing("api-version")
        .header("accept", "application/json")
}

/// A JSON request body: content type and exact JSON value.
pub fn json_request(when: When, body: Value) -> When {
    common_headers(when)
        .header("content-type", "application/json")
        .json_body(body)
}

/// A request without a body (GET/DELETE): no content type, empty body.
pub fn no_body(when: When) -> When {
    common_headers(when)
        .header_missing("content-type")
        .is_true(|req: &HttpMockRequest| req.body_ref().is_empty())
}

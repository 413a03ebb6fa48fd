//! Response bodies read whole inside the retry loop, and non-JSON error bodies kept readable.

use reqwest::Response;
use reqwest::header::HeaderValue;

/// Marks a response whose error body was not JSON and was wrapped by [`buffer`].
pub(crate) const RAW_BODY_HEADER: &str = "x-falcon-users-raw-body";

/// Reads the whole body (within the attempt's timeout) and rebuilds the response from memory.
///
/// Gateways answer some errors with HTML. The generated client would report those as an
/// undecodable payload and lose the status; wrapping the text in the error envelope keeps the
/// status, the headers and the raw body (flagged by [`RAW_BODY_HEADER`]).
pub(crate) async fn buffer(response: Response) -> reqwest::Result<Response> {
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

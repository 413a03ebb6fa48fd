//! Response bodies read whole inside the retry loop, within a size limit; any 2xx read as the one
//! the spec declares; error bodies made into the error envelope so their status is never lost.

use bytes::Bytes;
use falcon_users_api::Operation;
use falcon_users_api::body::ReadBody;
use falcon_users_api::types::MsaspecResponseFields;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Response, ResponseBuilderExt, StatusCode};
use tracing::debug;

use crate::error::Error;
use crate::runtime::carry::carry;

/// Marks a response whose error body was not the JSON envelope and was wrapped by [`buffer`].
pub(crate) const RAW_BODY_HEADER: &str = "x-falcon-users-raw-body";

/// [`RAW_BODY_HEADER`] as a name made once: every answer is cleared of it, and a name given as
/// text is parsed again at each lookup.
static RAW_BODY: HeaderName = HeaderName::from_static(RAW_BODY_HEADER);

/// The default limit on one response body: far above the largest legitimate answer (a page of
/// 500 grants or 100 users is well under a megabyte), far below what hurts a process.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads the whole body (within the attempt's timeout and `limit` bytes). A body over the limit
/// fails with [`Error::BodyTooLarge`] (carried), read no further than the limit, and a declared
/// `Content-Length` over it is refused unread.
///
/// An answer with the operation's declared status (nearly every one) is handed on as it came,
/// its body kept beside it as a [`ReadBody`], which the generated client decodes from: no second
/// response is built. The generated client knows one 2xx per operation and reports any other as
/// unexpected; the service sometimes answers another (a 200 for the token's 201), so any 2xx is
/// read as the declared one and a decodable body is a success. Gateways answer some errors with
/// HTML or with JSON that is not the envelope; the generated client would report those as an
/// undecodable payload and lose the status, so they are made into the envelope (see
/// [`envelope`]). Those answers, whose status or body changes, are rebuilt from memory.
pub(crate) async fn buffer(
    mut response: Response,
    op: &'static Operation,
    limit: u64,
) -> reqwest::Result<Response> {
    let too_large = || Error::BodyTooLarge {
        operation: op.id,
        limit,
    };
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(carry(too_large()).await);
    }
    // Ours alone to set: a server that sent it would have its error envelope read as raw text.
    response.headers_mut().remove(&RAW_BODY);
    let mut body = Body::default();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(carry(too_large()).await);
        }
        body.push(chunk);
    }
    let mut status = response.status();
    if status.as_u16() == op.success {
        response
            .extensions_mut()
            .insert(ReadBody(body.into_bytes()));
        return Ok(response);
    }
    if status.is_success()
        && let Ok(declared) = StatusCode::from_u16(op.success)
    {
        debug!(
            operation = op.id,
            status = status.as_u16(),
            "read as {declared}"
        );
        status = declared;
    }
    let version = response.version();
    // Moved, not copied: the response is rebuilt from these parts (its URL kept, for errors
    // that name it).
    let url = response.url().clone();
    let mut headers = std::mem::take(response.headers_mut());
    let failed = status.is_client_error() || status.is_server_error();
    let body = if failed {
        Bytes::from(envelope(status, &mut headers, body.into_vec()))
    } else {
        body.into_bytes()
    };
    let mut rebuilt = http::Response::builder()
        .status(status)
        .version(version)
        .url(url)
        .body(body)
        .unwrap_or_default();
    *rebuilt.headers_mut() = headers;
    Ok(Response::from(rebuilt))
}

/// A body as it arrives: most answers come in one chunk, kept as it is; only a body of several
/// is copied into one buffer.
#[derive(Default)]
struct Body {
    first: Bytes,
    rest: Vec<u8>,
}

impl Body {
    fn len(&self) -> usize {
        self.first.len() + self.rest.len()
    }

    fn push(&mut self, chunk: Bytes) {
        if self.first.is_empty() {
            self.first = chunk;
        } else {
            if self.rest.is_empty() {
                self.rest.extend_from_slice(&self.first);
            }
            self.rest.extend_from_slice(&chunk);
        }
    }

    fn into_bytes(self) -> Bytes {
        if self.rest.is_empty() {
            self.first
        } else {
            Bytes::from(self.rest)
        }
    }

    fn into_vec(self) -> Vec<u8> {
        self.into_bytes().into()
    }
}

/// An error body as the envelope the generated client decodes: as sent when it is one; with a
/// `meta` added when only that is missing from an object that states `errors`; else the text wrapped as one error message and flagged
/// with [`RAW_BODY_HEADER`] (kept for the user to read, never parsed as API errors).
fn envelope(
    status: StatusCode,
    headers: &mut reqwest::header::HeaderMap,
    body: Vec<u8>,
) -> Vec<u8> {
    let trace_id = headers
        .get("x-cs-traceid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let meta = serde_json::json!({"query_time": 0.0, "trace_id": trace_id});
    let decodes = |bytes: &[u8]| serde_json::from_slice::<MsaspecResponseFields>(bytes).is_ok();
    if decodes(&body) {
        return body;
    }
    if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(&body)
        && !object.contains_key("meta")
        && object.contains_key("errors")
    {
        object.insert("meta".into(), meta.clone());
        if let Ok(patched) = serde_json::to_vec(&object)
            && decodes(&patched)
        {
            headers.remove(reqwest::header::CONTENT_LENGTH);
            return patched;
        }
    }
    headers.insert(RAW_BODY.clone(), HeaderValue::from_static("1"));
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.remove(reqwest::header::CONTENT_LENGTH);
    serde_json::json!({
        "meta": meta,
        "errors": [{"code": status.as_u16(), "message": String::from_utf8_lossy(&body)}],
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn wrapped(body: &str) -> (serde_json::Value, bool) {
        let mut headers = HeaderMap::new();
        let out = envelope(
            StatusCode::FORBIDDEN,
            &mut headers,
            body.as_bytes().to_vec(),
        );
        (
            serde_json::from_slice(&out).expect("json"),
            headers.contains_key(RAW_BODY_HEADER),
        )
    }

    /// The response rebuilt from memory is the one that came: its URL (which errors of the
    /// low-level client show), status, headers, and every chunk of its body in order.
    #[tokio::test]
    async fn a_buffered_response_keeps_its_url_headers_and_whole_body() {
        let url = url::Url::parse("http://127.0.0.1:9/user-management/queries/users/v1").unwrap();
        let chunks = ["{\"resources\":", "[\"u-1\"],", "\"meta\":{}}"];
        for split in [&chunks[..], &[&chunks.concat()[..]][..]] {
            let stream = futures::stream::iter(
                split
                    .iter()
                    .map(|c| Ok::<_, std::io::Error>(Bytes::from(c.to_string())))
                    .collect::<Vec<_>>(),
            );
            let sent = http::Response::builder()
                .status(200)
                .url(url.clone())
                .header("x-cs-traceid", "t-1")
                .body(reqwest::Body::wrap_stream(stream))
                .unwrap();
            let op = &falcon_users_api::operations::QUERY_USER_V1;
            let got = buffer(Response::from(sent), op, 1024).await.unwrap();
            assert_eq!(got.url(), &url);
            assert_eq!(got.status(), 200);
            assert_eq!(got.headers()["x-cs-traceid"], "t-1");
            let body = falcon_users_api::body::body_of(got).await.unwrap();
            assert_eq!(body, chunks.concat(), "{split:?}");
        }
    }

    /// The flag that marks a body as raw text is ours: one a server sends is dropped, so its
    /// error envelope stays the API's errors.
    #[tokio::test]
    async fn a_raw_body_flag_sent_by_the_server_is_dropped() {
        let full =
            r#"{"meta":{"query_time":0.1,"trace_id":"t"},"errors":[{"code":403,"message":"no"}]}"#;
        let sent = http::Response::builder()
            .status(403)
            .header(RAW_BODY_HEADER, "1")
            .body(reqwest::Body::from(full))
            .unwrap();
        let op = &falcon_users_api::operations::QUERY_USER_V1;
        let got = buffer(Response::from(sent), op, 1024).await.unwrap();
        assert!(!got.headers().contains_key(RAW_BODY_HEADER));
        let body = falcon_users_api::body::body_of(got).await.unwrap();
        assert_eq!(body, full);
    }

    #[test]
    fn error_bodies_become_the_envelope_and_keep_what_they_say() {
        let full =
            r#"{"meta":{"query_time":0.1,"trace_id":"t"},"errors":[{"code":403,"message":"no"}]}"#;
        assert_eq!(wrapped(full), (serde_json::from_str(full).unwrap(), false));

        let (no_meta, raw) = wrapped(r#"{"errors":[{"code":403,"message":"access denied"}]}"#);
        assert!(!raw, "the errors are the API's own: kept as errors");
        assert_eq!(no_meta["errors"][0]["message"], "access denied");
        assert!(no_meta["meta"].is_object());

        for text in ["<html>502</html>", r#"{"message":"gateway"}"#, "[1,2]", ""] {
            let (body, raw) = wrapped(text);
            assert!(raw, "{text}");
            assert_eq!(body["errors"][0]["message"], text);
            assert_eq!(body["errors"][0]["code"], 403);
        }
    }
}

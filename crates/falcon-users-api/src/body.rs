//! Answers whose body a [`RequestHook`](crate::RequestHook) has already read whole.
//!
//! A hook that reads the body inside its retry loop (so that a body cut short is sent for again)
//! leaves the bytes beside the response as a [`ReadBody`] instead of building a second response
//! around them; the generated client decodes from them, and [`body_of`] gives them to anyone
//! else holding the response. A response without one is read as usual.

use bytes::Bytes;
use progenitor_client::{Error, ResponseValue};
use serde::de::DeserializeOwned;

/// The whole body of a response, read by a hook and kept in the response's extensions (the
/// response's own body is then spent).
#[derive(Clone, Debug)]
pub struct ReadBody(pub Bytes);

/// The body of `response`: the one a hook read, else read now.
pub async fn body_of(mut response: reqwest::Response) -> reqwest::Result<Bytes> {
    match response.extensions_mut().remove::<ReadBody>() {
        Some(ReadBody(bytes)) => Ok(bytes),
        None => response.bytes().await,
    }
}

/// What progenitor's `ResponseValue::from_response` does, without copying the headers or reading
/// a body a hook already read. Every generated call decodes its JSON answers here.
#[doc(hidden)]
pub async fn response_value<T: DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let full = body_of(response).await.map_err(Error::ResponseBodyError)?;
    let inner =
        serde_json::from_slice(&full).map_err(|e| Error::InvalidResponsePayload(full, e))?;
    Ok(ResponseValue::new(inner, status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &'static str) -> reqwest::Response {
        reqwest::Response::from(
            http::Response::builder()
                .status(200)
                .header("x-cs-traceid", "t-1")
                .body(body)
                .expect("a response"),
        )
    }

    /// A body a hook read is decoded from what it kept (the response's own body is spent), and
    /// the headers come along.
    #[tokio::test]
    async fn a_read_body_is_decoded_from_what_the_hook_kept() {
        let mut response = answer("");
        response
            .extensions_mut()
            .insert(ReadBody(Bytes::from_static(br#"{"n":1}"#)));
        let value = response_value::<serde_json::Value, ()>(response)
            .await
            .expect("decoded");
        assert_eq!(value.headers()["x-cs-traceid"], "t-1");
        assert_eq!(value.into_inner()["n"], 1);
    }

    /// Without a hook that read it, the body is read as usual.
    #[tokio::test]
    async fn without_a_read_body_the_body_is_read() {
        let value = response_value::<serde_json::Value, ()>(answer(r#"{"n":2}"#))
            .await
            .expect("decoded");
        assert_eq!(value.into_inner()["n"], 2);
        let bytes = body_of(answer("plain")).await.expect("read");
        assert_eq!(bytes, "plain");
    }

    /// A kept body that is not the declared JSON is an undecodable payload holding its bytes.
    #[tokio::test]
    async fn an_undecodable_read_body_keeps_its_bytes() {
        let mut response = answer("");
        response
            .extensions_mut()
            .insert(ReadBody(Bytes::from_static(b"<html>")));
        match response_value::<serde_json::Value, ()>(response).await {
            Err(Error::InvalidResponsePayload(bytes, _)) => assert_eq!(bytes, "<html>"),
            other => panic!("{other:?}"),
        }
    }
}

//! An [`Error`] carried through the generated client.
//!
//! The generated client's hook may only fail with a `reqwest::Error`, which has no public
//! constructor. A response body that fails with the error as its cause is the one way to make
//! one; the conversion back ([`carried`]) finds the error again in the source chain, so a
//! pipeline decision (a deadline spent, a body over the limit, a token that could not be had)
//! reaches the caller as the typed error it is. A caller of the raw generated client sees a
//! communication error whose source chain reads the same sentence.

use std::error::Error as StdError;
use std::fmt;

use futures::future::BoxFuture;

use crate::error::Error;

/// The wrapper that marks an error as ours in a `reqwest::Error`'s source chain.
#[derive(Debug)]
struct Carried(Error);

impl fmt::Display for Carried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for Carried {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// A `reqwest::Error` that carries `err`; no request is sent.
///
/// Boxed: the future holds a whole response while it reads it, and every `carry(..).await`
/// would otherwise reserve that room in its caller's state, the request pipeline's included,
/// which is allocated on every call while the errors it carries are rare.
pub(crate) fn carry(err: Error) -> BoxFuture<'static, reqwest::Error> {
    Box::pin(async move {
        let failing = futures::stream::once(async move { Err::<Vec<u8>, _>(Carried(err)) });
        let response =
            reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(failing)));
        response
            .bytes()
            .await
            .expect_err("a body whose only item is an error cannot be read")
    })
}

/// The error a [`carry`] put into `err`, if it holds one.
pub(crate) fn carried(err: &reqwest::Error) -> Option<Error> {
    let mut next: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(cause) = next {
        if let Some(Carried(inner)) = cause.downcast_ref::<Carried>() {
            return Some(inner.clone());
        }
        next = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_carried_error_comes_back_as_itself() {
        let sent = Error::BodyTooLarge {
            operation: "queryUserV1",
            limit: 10,
        };
        let carrier = carry(sent.clone()).await;
        let back = carried(&carrier).expect("carried");
        assert_eq!(back.to_string(), sent.to_string());
        assert!(matches!(back, Error::BodyTooLarge { limit: 10, .. }));
    }

    #[tokio::test]
    async fn an_ordinary_reqwest_error_carries_nothing() {
        let failing =
            futures::stream::once(async { Err::<Vec<u8>, _>(std::io::Error::other("cut")) });
        let response =
            reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(failing)));
        let err = response.bytes().await.unwrap_err();
        assert!(carried(&err).is_none());
    }
}

//! The slot every generated call goes through: a [`RequestHook`] or none.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::operation::Operation;

/// Request policy plugged into every generated call: authentication, retries, rate limits.
///
/// The `falcon-users` crate implements it; implement it yourself to add your own behaviour
/// without forking the generated code.
pub trait RequestHook: Send + Sync + 'static {
    /// Adjusts the request before it is sent (e.g. adds the bearer token). An `Err` aborts the
    /// call with [`Error::Custom`](crate::Error::Custom) carrying the message.
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Sends the request, possibly several times (retries, token refresh).
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'static Operation,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>>;
}

/// The hook slot of a [`Client`](crate::Client): empty (plain `reqwest`) or a shared [`RequestHook`].
#[derive(Clone, Default)]
pub struct Hooks(pub(crate) Option<Arc<dyn RequestHook>>);

impl Hooks {
    /// No hook: requests go out exactly as built, through the given `reqwest::Client`.
    pub fn none() -> Self {
        Self(None)
    }

    /// Routes every request through `hook`.
    pub fn new(hook: Arc<dyn RequestHook>) -> Self {
        Self(Some(hook))
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Hooks(custom)"
        } else {
            "Hooks(none)"
        })
    }
}

//! The request runtime: what happens to every request between a method call and the wire.
//!
//! From the bottom: the [`endpoint`] in force, the [`rate`] headers of a response (read once),
//! [`pacing`], the [`retry`] decision (a pure function), [`stats`], the [`token`] cache, response [`body`] handling and [`response`]
//! classification, the [`trace`] ids of answers, the [`network`] cause of a transport failure,
//! the [`transport`] (the HTTP clients: plain http never through a proxy);
//! [`shared::Runtime`] composes that state; the [`pipeline`] is the hook that
//! runs each request through it; the [`minter`] gets tokens (its requests use a pipeline too).

pub(crate) mod body;
pub(crate) mod carry;
pub(crate) mod endpoint;
pub(crate) mod minter;
pub(crate) mod network;
pub(crate) mod pacing;
pub(crate) mod pipeline;
pub(crate) mod rate;
pub(crate) mod response;
pub mod retry;
pub(crate) mod shared;
pub(crate) mod stats;
pub(crate) mod token;
pub(crate) mod trace;
pub(crate) mod transport;

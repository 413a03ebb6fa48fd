//! Support for the tests in `tests/`: one library for every test binary.
//!
//! - [`fixtures`] and [`wire`]: the generated client's wire-format and decode tests (httpmock).
//! - [`mock`]: the ergonomic client against httpmock.
//! - [`loopback`]: a hand-written HTTP/1.1 server on 127.0.0.1 (scripted answers, delays, a
//!   forward proxy that keeps every request on loopback, in-flight counts).
//! - [`traces`]: capturing `tracing` output.
//! - [`sim`]: the simulator: contexts with read-write and read-only generated clients, reading
//!   answers, the ergonomic client on it, the roles a user holds, the fault storm.
//! - [`module_edges`]: the import graph of a crate, for the layer checks.
//!
//! Envelopes have one vocabulary, `falcon_users_httpmock::envelope`, which [`fixtures`] and
//! [`mock`] both re-export. Their tenant constants repeat with different values (`CID`,
//! `CLIENT_ID`): glob-import [`fixtures`] or [`mock`], never both; [`sim`] only alone.

/// The README's Rust examples, compiled as doctests so that they keep up with the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

mod bound;
pub use bound::{BOUND, bounded};

pub mod fixtures;
pub mod loopback;
pub mod mock;
pub mod module_edges;
pub mod sim;
pub mod traces;
pub mod wire;

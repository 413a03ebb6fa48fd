//! # falcon-users-sim
//!
//! A stateful, in-memory simulator of the CrowdStrike Falcon **User Management** API on
//! 127.0.0.1, for tests, demos and benchmarks: every operation of the spec, OAuth2 clients with
//! scopes and expiring tokens, Flight Control parent and child CIDs, offset pagination and the
//! documented FQL filters and sorts, per-client rate limits with the real headers, seeded
//! fault injection, and the service's read-after-write lag ([`SimConfig::read_lag`]) on a clock
//! tests advance ([`SimClock`], also the SDK's clock when given to the client). Request and response bodies are the generated `falcon-users-api` types.
//!
//! It is fair to every client ([`Limits`]): a connection that has not sent a whole request head
//! within [`config::HEADER_READ_TIMEOUT`] (5 s) of opening or of its previous answer is closed,
//! so idle and half-open connections hold a connection slot for no longer than that; and the
//! bound on live tokens is each API client's own, so one client minting in a loop is refused
//! (429) while every other client still gets tokens.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use falcon_users_sim::{SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig { users: 1000, seed: 7, ..SimConfig::default() }).await?;
//! let creds = sim.credentials();
//! println!("FALCON_CLOUD={} FALCON_CLIENT_ID={}", sim.base_url(), creds.client_id);
//! assert_eq!(sim.users(&sim.parent_cid()).len(), 1000);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
// Handlers answer failures with ready-made error responses (`Result<_, Response>` and `?`);
// boxing them would only add an allocation to every failing request.
#![allow(clippy::result_large_err)]

// Layers, bottom first (imports point down; `tests/tests/integration/layers.rs` checks it):
// configuration; the domain (state, FQL, API clients and tokens, seeding); what handlers share;
// HTTP (envelope, extractors, gate, fault and body layers, the handlers, the router built from
// the operation table); the server.
mod body;
pub mod clients;
mod clock;
pub mod config;
mod envelope;
mod extract;
mod faults;
pub mod fql;
mod gate;
mod lag;
mod rate;
mod router;
mod routes;
mod seeder;
mod server;
mod shared;
pub mod state;
mod tenant_gen;

pub use clients::ClientCredentials;
pub use clock::SimClock;
pub use config::{ConfigError, Faults, Limits, SimConfig};
pub use seeder::{SeedError, Seeder, UserSeed};
pub use server::Simulator;
pub use shared::InjectedFaults;

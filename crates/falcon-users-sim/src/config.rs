//! How a simulator instance behaves: tenant size, seed, token lifetime, limits and faults.

use std::time::Duration;

/// Settings of a simulator. `SimConfig::default()` is a small realistic tenant.
///
/// ```
/// use falcon_users_sim::SimConfig;
/// let config = SimConfig { users: 1000, seed: 7, ..SimConfig::default() };
/// assert_eq!(config.region, "us-1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Users seeded in the parent CID (children get a tenth each).
    pub users: usize,
    /// Custom roles seeded per CID, beside the built-in ones.
    pub roles: usize,
    /// Flight Control child CIDs under the parent.
    pub child_cids: usize,
    /// Seed of everything random (tenant data and faults): same seed, same run.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Region this instance plays (`X-Cs-Region`); tokens from another region are refused.
    pub region: String,
    /// Lifetime of minted tokens.
    pub token_ttl: Duration,
    /// Requests per minute per API client (token bucket).
    pub rate_limit_per_minute: u32,
    /// Requests a client may send at once before the per-minute rate binds; `None` is a whole
    /// minute's worth (as the service counts). Benchmarks set it lower so the limit binds early.
    pub rate_limit_burst: Option<u32>,
    /// Largest `offset + limit` a query accepts (the service refuses to page further).
    pub offset_ceiling: u64,
    /// Injected faults.
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            users: 200,
            roles: 20,
            child_cids: 2,
            seed: 7,
            port: 0,
            region: "us-1".into(),
            token_ttl: Duration::from_secs(1799),
            rate_limit_per_minute: 6000,
            rate_limit_burst: None,
            offset_ceiling: 10_000,
            faults: Faults::default(),
        }
    }
}

/// Faults injected into API responses (never into the token endpoint), drawn from the seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added to every response.
    pub latency: Duration,
    /// Up to this much more, uniformly.
    pub jitter: Duration,
    /// Fraction (0–1) of requests answered 429.
    pub rate_limited: f64,
    /// Fraction answered 500 or 503.
    pub server_errors: f64,
    /// Fraction whose connection is dropped after the work is done, before the answer is whole.
    pub dropped: f64,
    /// Fraction whose body is sent slowly (in pieces, `slow_body_delay` apart).
    pub slow_bodies: f64,
    /// Pause between pieces of a slow body.
    pub slow_body_delay: Duration,
}

//! How a simulator instance behaves: tenant size, seed, token lifetime, limits and faults, and
//! the one check of all of them ([`SimConfig::validate`]) that starting a simulator and every
//! command line that sizes one go through.

use std::time::Duration;

/// Requests per minute a source address may send that fail to authenticate (a bad or expired
/// token, wrong client credentials): the service's limit, per the reference.
pub const UNAUTHENTICATED_PER_MINUTE: u32 = 15;

/// Settings of a simulator. `SimConfig::default()` is a small realistic tenant.
///
/// ```
/// use falcon_users_sim::SimConfig;
/// let config = SimConfig { users: 1000, seed: 7, ..SimConfig::default() };
/// assert_eq!(config.region, "us-1");
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Users seeded in the parent CID; at most [`USERS`]`.max`.
    pub users: usize,
    /// Users seeded in each Flight Control child; `None` is a tenth of `users`. At most
    /// [`USERS`]`.max`.
    pub users_per_child: Option<usize>,
    /// Custom roles seeded per CID, beside the built-in ones; at most [`ROLES`]`.max`.
    pub roles: usize,
    /// Flight Control child CIDs under the parent; at most [`CHILD_CIDS`]`.max`.
    pub child_cids: usize,
    /// Seed of everything random (tenant data and faults): same seed, same run.
    pub seed: u64,
    /// Give a few of the parent's users what an access review looks for, so that each of its
    /// findings occurs: a login long ago (the second user by login), temporary grants
    /// ending within days, an administrator, an inactive user with roles, a user without
    /// roles, one who never logged in. `true` by default; `false` seeds the tenant without them.
    pub review_cases: bool,
    /// Seed a small Flight Control setup when there are children, so that an export of it
    /// means something: two user groups of the parent's users, two CID groups (every child;
    /// the first child) and two links giving built-in roles through them. `false` by default
    /// (a test seeds the groups it needs); the `falcon-users-sim` binary and the CLI's
    /// embedded simulator turn it on.
    pub flight_control_groups: bool,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Region this instance plays (`X-Cs-Region`); tokens from another region are refused.
    pub region: String,
    /// Lifetime of minted tokens (at most [`MAX_TOKEN_TTL`]).
    pub token_ttl: Duration,
    /// Requests per minute per customer (CID), as the service budgets them: each API client has
    /// this many for its own CID and as many again for each Flight Control child it acts in
    /// (token bucket per client and CID).
    pub rate_limit_per_minute: u32,
    /// Requests a client may send at once in one CID before the per-minute rate binds; `None` is a whole
    /// minute's worth (as the service counts). Benchmarks set it lower so the limit binds early.
    pub rate_limit_burst: Option<u32>,
    /// Requests per minute a source address may send that fail to authenticate (a bad or
    /// expired token, wrong client credentials) before it gets 429; the service's 15 by default.
    pub refused_per_minute: u32,
    /// Largest `offset + limit` a query accepts (the service refuses to page further).
    pub offset_ceiling: u64,
    /// What clients may make the simulator hold, and how long it waits for them.
    pub limits: Limits,
    /// Injected faults.
    pub faults: Faults,
    /// Read-after-write lag: how long after a write (a user created, renamed or deleted, roles
    /// granted or revoked) reads of users and grants still answer as before it, as the
    /// service's listings do for more than 30 s. Measured on the simulator's clock, so a test
    /// advances past it instead of waiting. Writes are checked against the true state at once.
    /// Zero (the default) is no lag; at most [`MAX_READ_LAG`].
    pub read_lag: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            users: 200,
            users_per_child: None,
            roles: 20,
            child_cids: 2,
            seed: 7,
            review_cases: true,
            flight_control_groups: false,
            port: 0,
            region: "us-1".into(),
            token_ttl: Duration::from_secs(1799),
            rate_limit_per_minute: 6000,
            rate_limit_burst: None,
            refused_per_minute: UNAUTHENTICATED_PER_MINUTE,
            offset_ceiling: 10_000,
            limits: Limits::default(),
            faults: Faults::default(),
            read_lag: Duration::ZERO,
        }
    }
}

/// The default [`Limits::header_read_timeout`].
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What clients may make a simulator hold, and how long it waits for them: a client that
/// connects and sends nothing, half a request or a huge or endless body, or mints tokens in a
/// loop, costs a bounded amount and only for a bounded time.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Time a connection has to deliver a whole request head, counted from when it opens or its
    /// previous answer is sent: so it is also how long an idle keep-alive connection stays open.
    /// Past it the connection is closed. Default [`HEADER_READ_TIMEOUT`] (5 s): every client is
    /// on this machine and sends its head at once, so a connection that has not is a slow or
    /// idle one, and holds a connection slot for no longer than that.
    pub header_read_timeout: Duration,
    /// Time a request body has to arrive whole once its head has; past it the answer is 408.
    /// Default 5 s (the largest legitimate body crosses loopback in milliseconds).
    pub body_timeout: Duration,
    /// Largest request body, in bytes; a larger one is answered 413. Default 2 MiB (the
    /// largest legitimate body, 5,000 ids, is about 200 KB).
    pub max_body_bytes: usize,
    /// Connections served at once; further ones wait to be accepted until one closes (an idle
    /// one does within `header_read_timeout`). Default 1,000.
    pub max_connections: usize,
    /// Tokens alive at once for each client (API client id); a client at its bound is answered
    /// 429 until one of its own tokens expires or is revoked, and other clients mint as before.
    /// Default 100,000.
    pub max_live_tokens_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_timeout: Duration::from_secs(5),
            max_body_bytes: 2 * 1024 * 1024,
            max_connections: 1000,
            max_live_tokens_per_client: 100_000,
        }
    }
}

/// Faults injected into API responses (never into the token endpoint), drawn from the seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added to every response (at most [`MAX_FAULT_DELAY`], as are `jitter` and
    /// `slow_body_delay`).
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

/// The range of a size setting. The tenant lives in memory (about 1 KB a user), so the sizes
/// are bounded where a test machine still holds it easily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The setting, as messages name it.
    pub name: &'static str,
    /// Its largest value.
    pub max: usize,
}

/// Users seeded in one CID (the parent, or each child): at most 200,000. Also the most users
/// one CID holds, seeded and created together: a create beyond it is refused.
pub const USERS: Bound = Bound {
    name: "users",
    max: 200_000,
};

/// Custom roles per CID: at most 1,000.
pub const ROLES: Bound = Bound {
    name: "roles",
    max: 1_000,
};

/// Flight Control child CIDs: at most 500 (an MSSP's fleet in the hundreds, as the fleet
/// benchmark's 200 children need); what they hold together is bounded by [`TOTAL_USERS`].
pub const CHILD_CIDS: Bound = Bound {
    name: "child CIDs",
    max: 500,
};

/// Users seeded in the parent and every child together: at most 4,200,000 (the most 20
/// children of 200,000 and their parent held when 20 was the children's bound), so that more
/// children do not raise what a simulator may hold.
pub const TOTAL_USERS: Bound = Bound {
    name: "users in all",
    max: 4_200_000,
};

/// Longest first or last name a user may be given, in characters (longer ones are refused
/// with a 400): what the simulator holds per user stays small.
pub const MAX_NAME_CHARS: usize = 256;

/// Longest token lifetime: a day (the service's is 30 minutes).
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Longest injected latency, jitter or slow-body pause: an hour.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(3600);

/// Longest read-after-write lag: an hour (the service's is tens of seconds).
pub const MAX_READ_LAG: Duration = Duration::from_secs(3600);

/// Parses a read-after-write lag in whole seconds, from 0 to [`MAX_READ_LAG`] (what
/// `--read-lag` and the CLI's `--sim-read-lag` take, as a clap `value_parser`).
pub fn parse_read_lag(text: &str) -> Result<Duration, String> {
    let max = MAX_READ_LAG.as_secs();
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|secs| *secs <= max)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("the read lag must be a whole number of seconds from 0 to {max}"))
}

/// A setting a simulator cannot run with, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// The setting.
    pub setting: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

impl Bound {
    /// `value` if it is within the bound.
    pub fn check(&self, value: usize) -> Result<usize, ConfigError> {
        if value > self.max {
            return Err(ConfigError {
                setting: self.name,
                problem: format!(
                    "{value} is more than the simulator holds (at most {} {})",
                    self.max, self.name
                ),
            });
        }
        Ok(value)
    }

    /// Parses a command-line value and checks it (what `--users` and the like take, as a clap
    /// `value_parser`).
    pub fn parse(&self, text: &str) -> Result<usize, String> {
        let value = text.trim().parse::<usize>().map_err(|_| {
            format!(
                "{} must be a whole number from 0 to {}",
                self.name, self.max
            )
        })?;
        self.check(value).map_err(|e| e.problem)
    }
}

/// [`USERS`]`.parse`, for a clap `value_parser`.
pub fn parse_users(text: &str) -> Result<usize, String> {
    USERS.parse(text)
}

/// [`ROLES`]`.parse`, for a clap `value_parser`.
pub fn parse_roles(text: &str) -> Result<usize, String> {
    ROLES.parse(text)
}

/// [`CHILD_CIDS`]`.parse`, for a clap `value_parser`.
pub fn parse_child_cids(text: &str) -> Result<usize, String> {
    CHILD_CIDS.parse(text)
}

impl SimConfig {
    /// Users seeded in each Flight Control child: [`SimConfig::users_per_child`], or a tenth of
    /// the parent's.
    pub fn child_users(&self) -> usize {
        self.users_per_child.unwrap_or(self.users / 10)
    }

    /// Checks every setting: the sizes against their bounds, durations that the simulator adds
    /// to the clock against theirs, and limits that must let something through. The first
    /// problem is the error. [`crate::Simulator::start`] refuses a config this refuses.
    pub fn validate(&self) -> Result<(), ConfigError> {
        USERS.check(self.users)?;
        if let Some(per_child) = self.users_per_child {
            USERS.check(per_child).map_err(|e| ConfigError {
                setting: "users_per_child",
                ..e
            })?;
        }
        ROLES.check(self.roles)?;
        CHILD_CIDS.check(self.child_cids)?;
        let total = self
            .child_cids
            .saturating_mul(self.child_users())
            .saturating_add(self.users);
        TOTAL_USERS.check(total).map_err(|e| ConfigError {
            setting: "users_per_child",
            problem: format!(
                "{} (the parent's users and {} children of {} each)",
                e.problem,
                self.child_cids,
                self.child_users()
            ),
        })?;
        let at_most = |setting: &'static str, value: Duration, max: Duration| {
            if value > max {
                return Err(ConfigError {
                    setting,
                    problem: format!("{value:?} is longer than {max:?}"),
                });
            }
            Ok(())
        };
        at_most("token_ttl", self.token_ttl, MAX_TOKEN_TTL)?;
        at_most("faults.latency", self.faults.latency, MAX_FAULT_DELAY)?;
        at_most("faults.jitter", self.faults.jitter, MAX_FAULT_DELAY)?;
        let slow = self.faults.slow_body_delay;
        at_most("faults.slow_body_delay", slow, MAX_FAULT_DELAY)?;
        at_most("read_lag", self.read_lag, MAX_READ_LAG)?;
        let limits = &self.limits;
        let positive = [
            (
                "limits.header_read_timeout",
                limits.header_read_timeout.is_zero(),
            ),
            ("limits.body_timeout", limits.body_timeout.is_zero()),
            ("limits.max_body_bytes", limits.max_body_bytes == 0),
            ("limits.max_connections", limits.max_connections == 0),
            (
                "limits.max_live_tokens_per_client",
                limits.max_live_tokens_per_client == 0,
            ),
        ];
        if let Some((setting, _)) = positive.into_iter().find(|(_, zero)| *zero) {
            return Err(ConfigError {
                setting,
                problem: "must be more than zero".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let base = SimConfig::default;
        let hour = Duration::from_secs(3600);
        let mut cases: Vec<(SimConfig, Option<&str>)> = vec![
            (base(), None),
            (
                SimConfig {
                    users: 200_000,
                    roles: 1_000,
                    child_cids: 20,
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    users: 0,
                    roles: 0,
                    child_cids: 0,
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    users: 200_001,
                    ..base()
                },
                Some("users"),
            ),
            (
                SimConfig {
                    users: usize::MAX,
                    ..base()
                },
                Some("users"),
            ),
            (
                SimConfig {
                    roles: 1_001,
                    ..base()
                },
                Some("roles"),
            ),
            (
                SimConfig {
                    child_cids: 501,
                    ..base()
                },
                Some("child CIDs"),
            ),
            (
                SimConfig {
                    child_cids: 500,
                    users_per_child: Some(8_000),
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    child_cids: 21,
                    users_per_child: Some(200_000),
                    ..base()
                },
                Some("users_per_child"),
            ),
            (
                SimConfig {
                    users_per_child: Some(200_000),
                    child_cids: 20,
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    users_per_child: Some(200_001),
                    ..base()
                },
                Some("users_per_child"),
            ),
            (
                SimConfig {
                    token_ttl: 24 * hour,
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    token_ttl: Duration::MAX,
                    ..base()
                },
                Some("token_ttl"),
            ),
            (
                SimConfig {
                    read_lag: hour,
                    ..base()
                },
                None,
            ),
            (
                SimConfig {
                    read_lag: hour + Duration::from_secs(1),
                    ..base()
                },
                Some("read_lag"),
            ),
            (
                SimConfig {
                    faults: Faults {
                        latency: Duration::MAX,
                        ..Faults::default()
                    },
                    ..base()
                },
                Some("faults.latency"),
            ),
            (
                SimConfig {
                    faults: Faults {
                        jitter: 2 * hour,
                        ..Faults::default()
                    },
                    ..base()
                },
                Some("faults.jitter"),
            ),
            (
                SimConfig {
                    faults: Faults {
                        slow_body_delay: 2 * hour,
                        ..Faults::default()
                    },
                    ..base()
                },
                Some("faults.slow_body_delay"),
            ),
        ];
        for (setting, limits) in [
            (
                "limits.header_read_timeout",
                Limits {
                    header_read_timeout: Duration::ZERO,
                    ..Limits::default()
                },
            ),
            (
                "limits.body_timeout",
                Limits {
                    body_timeout: Duration::ZERO,
                    ..Limits::default()
                },
            ),
            (
                "limits.max_body_bytes",
                Limits {
                    max_body_bytes: 0,
                    ..Limits::default()
                },
            ),
            (
                "limits.max_connections",
                Limits {
                    max_connections: 0,
                    ..Limits::default()
                },
            ),
            (
                "limits.max_live_tokens_per_client",
                Limits {
                    max_live_tokens_per_client: 0,
                    ..Limits::default()
                },
            ),
        ] {
            cases.push((SimConfig { limits, ..base() }, Some(setting)));
        }
        for (config, refused) in cases {
            let result = config.validate();
            assert_eq!(
                result.as_ref().err().map(|e| e.setting),
                refused,
                "{config:?}: {result:?}"
            );
        }
    }

    #[test]
    fn command_line_values_are_parsed_and_bounded() {
        assert_eq!(parse_users("200000"), Ok(200_000));
        assert_eq!(parse_users(" 0 "), Ok(0));
        assert_eq!(parse_roles("1000"), Ok(1000));
        assert_eq!(parse_child_cids("500"), Ok(500));
        for (parse, text, message) in [
            (
                parse_users as fn(&str) -> Result<usize, String>,
                "100000000",
                "100000000 is more than the simulator holds (at most 200000 users)",
            ),
            (
                parse_users,
                "18446744073709551616",
                "users must be a whole number from 0 to 200000",
            ),
            (
                parse_users,
                "-1",
                "users must be a whole number from 0 to 200000",
            ),
            (
                parse_roles,
                "1001",
                "1001 is more than the simulator holds (at most 1000 roles)",
            ),
            (
                parse_child_cids,
                "many",
                "child CIDs must be a whole number from 0 to 500",
            ),
        ] {
            assert_eq!(parse(text), Err(message.to_owned()), "{text}");
        }
    }

    #[test]
    fn a_read_lag_is_whole_seconds_up_to_an_hour() {
        assert_eq!(parse_read_lag("0"), Ok(Duration::ZERO));
        assert_eq!(parse_read_lag(" 30 "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_read_lag("3600"), Ok(MAX_READ_LAG));
        for bad in ["3601", "-1", "1.5", "30s", ""] {
            assert_eq!(
                parse_read_lag(bad),
                Err("the read lag must be a whole number of seconds from 0 to 3600".into()),
                "{bad}"
            );
        }
    }
}

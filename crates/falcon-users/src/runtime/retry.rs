//! Whether to send a request again, and after how long: the policy, and the decision as a pure
//! function of what came back, so every rule is a row of a table test rather than an HTTP script.

use std::time::{Duration, SystemTime};

use crate::runtime::rate::RateHeaders;

/// How failed requests are retried. Bounded by attempts and by the call's overall deadline.
///
/// ```
/// use std::time::Duration;
/// use falcon_users::RetryPolicy;
/// let policy = RetryPolicy::new().max_attempts(3);
/// assert_eq!(policy.max_attempts, 3);
/// assert_eq!(policy.initial_backoff, Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1 disables retries).
    pub max_attempts: u32,
    /// First backoff after a 5xx or connection error; doubles each time, with jitter.
    pub initial_backoff: Duration,
    /// Ceiling of one backoff.
    pub max_backoff: Duration,
    /// Longest single wait a 429 may ask for; a longer `RetryAfter` is reported, not waited.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// Six attempts, backoff from 200 ms up to 10 s, rate-limit waits up to 90 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attempts per request, the first included (1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// First backoff after a 5xx or connection error.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Ceiling of one backoff.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Longest single wait a 429 may ask for.
    pub fn max_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.max_rate_limit_wait = wait;
        self
    }

    /// The backoff before attempt `attempt + 1` (attempt counts from 1), with full jitter in
    /// its upper half so that many clients do not retry in lockstep.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_with(attempt, fastrand::f64())
    }

    /// [`RetryPolicy::backoff`] with the random draw given (`jitter` in `0.0..1.0`).
    fn backoff_with(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// What one attempt came to, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response with this HTTP status.
    Status(u16),
    /// The connection was never made: the request did not reach the server.
    ConnectFailed,
    /// The server's TLS was refused (its certificate, or no TLS at all): the same server
    /// answers the same way again, so repeating only delays the error.
    TlsRefused,
    /// Sent, but the answer was lost (timeout, reset, truncated body): it may have landed.
    Lost,
}

/// What a response said about the rate-limit budget (only a 429's is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Budget {
    /// `X-RateLimit-Remaining: 0`: the client's whole budget is spent, not just this request.
    pub(crate) spent: bool,
    /// How long the API asked to wait, when it said and the time is still ahead.
    pub(crate) retry_after: Option<Duration>,
}

impl Budget {
    /// What the retry decision takes from the rate headers as of `now`: whether the whole
    /// budget is spent (not just this request throttled), and the wait still ahead, if the API
    /// asked for one.
    pub(crate) fn at(rate: &RateHeaders, now: SystemTime) -> Self {
        Budget {
            spent: rate.remaining == Some(0),
            retry_after: rate
                .retry_at
                .and_then(|t| t.duration_since(now).ok())
                .filter(|w| !w.is_zero()),
        }
    }
}

/// Where a request stands when its attempt came back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Attempt {
    /// The attempt that just ended, from 1.
    pub(crate) number: u32,
    /// A bearer token was sent and has not been replaced yet for this request.
    pub(crate) token_refreshable: bool,
    /// Time left before the call's deadline.
    pub(crate) time_left: Duration,
    /// The random draw for this attempt's backoff, `0.0..1.0` (given, so the decision is pure).
    pub(crate) jitter: f64,
}

/// What the pipeline does with an attempt's outcome: a change to shared state first, then
/// another attempt or the result as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Action {
    /// Done before anything else, retry or not.
    pub(crate) first: First,
    /// Whether the request goes again.
    pub(crate) then: Then,
}

/// The change to shared state an outcome calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum First {
    /// Nothing.
    Nothing,
    /// The budget is spent: no request in the CID whose budget it is (any handle acting
    /// there) starts for `wait`; other CIDs have budgets of their own.
    HoldAll {
        /// How long everyone waits.
        wait: Duration,
    },
    /// The token was refused: drop it and mint another (the next call needs one either way).
    RefreshToken,
}

/// After the change: send again or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Send again after this request alone waited `after` (zero when everyone is held).
    Retry {
        /// This request's own wait.
        after: Duration,
    },
    /// Return the outcome to the caller.
    GiveUp,
}

/// Decides what follows an attempt. `idempotent` says the operation changes nothing (the table's
/// `read_only`): only then may a 5xx or a lost answer be sent again.
pub(crate) fn decide(
    outcome: Outcome,
    idempotent: bool,
    budget: Budget,
    attempt: Attempt,
    policy: &RetryPolicy,
) -> Action {
    let backoff = policy.backoff_with(attempt.number, attempt.jitter);
    let retry = |after: Duration| {
        if attempt.number < policy.max_attempts && after < attempt.time_left {
            Then::Retry { after }
        } else {
            Then::GiveUp
        }
    };
    let (first, then) = match outcome {
        Outcome::Status(401) if attempt.token_refreshable => {
            (First::RefreshToken, retry(Duration::ZERO))
        }
        Outcome::Status(429) => {
            // A RetryAfter already past still deserves a short pause.
            let wait = budget.retry_after.unwrap_or(backoff);
            if wait > policy.max_rate_limit_wait {
                (First::Nothing, Then::GiveUp)
            } else if budget.spent {
                // A spent budget stops everyone in its CID until it refills; the held limiter is the wait.
                let then = match retry(wait) {
                    Then::Retry { .. } => Then::Retry {
                        after: Duration::ZERO,
                    },
                    give_up => give_up,
                };
                (First::HoldAll { wait }, then)
            } else {
                // Any other 429 (a throttle in front of the API) delays only this request.
                (First::Nothing, retry(wait))
            }
        }
        Outcome::Status(status) if status >= 500 && idempotent => (First::Nothing, retry(backoff)),
        Outcome::Status(_) => (First::Nothing, Then::GiveUp),
        // A connect failure never reached the server: safe to repeat for any request.
        Outcome::ConnectFailed => (First::Nothing, retry(backoff)),
        Outcome::TlsRefused => (First::Nothing, Then::GiveUp),
        Outcome::Lost if idempotent => (First::Nothing, retry(backoff)),
        Outcome::Lost => (First::Nothing, Then::GiveUp),
    };
    Action { first, then }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use falcon_users_api::operations;
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::{Action, Attempt, Budget, First, Outcome, RetryPolicy, Then, decide};
    use crate::clock::ABSURD_HEADER_NUMBERS;
    use crate::runtime::rate::RateHeaders;

    const MS: Duration = Duration::from_millis(1);

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: 100 * MS,
            max_backoff: 1000 * MS,
            max_rate_limit_wait: 5000 * MS,
        }
    }

    /// Attempt 1 of a bearer request with a minute left; jitter 0 makes the backoff its lower
    /// half (100 ms → 50 ms at attempt 1).
    fn first() -> Attempt {
        Attempt {
            number: 1,
            token_refreshable: true,
            time_left: Duration::from_secs(60),
            jitter: 0.0,
        }
    }

    fn act(first: First, then: Then) -> Action {
        Action { first, then }
    }

    fn retry(ms: u32) -> Then {
        Then::Retry { after: ms * MS }
    }

    /// Every rule of the retry decision, one row each: outcome, read-only, budget, attempt →
    /// what the pipeline does.
    #[test]
    fn the_retry_decision_table() {
        use First::{HoldAll, Nothing, RefreshToken};
        use Outcome::{ConnectFailed, Lost, Status, TlsRefused};
        use Then::GiveUp;
        let none = Budget::default();
        let spent = |ms| Budget {
            spent: true,
            retry_after: Some(ms * MS),
        };
        let throttled = |ms| Budget {
            spent: false,
            retry_after: Some(ms * MS),
        };
        let refreshed = Attempt {
            token_refreshable: false,
            ..first()
        };
        let last = Attempt {
            number: 4,
            ..first()
        };
        let third = Attempt {
            number: 3,
            jitter: 0.5,
            ..first()
        };
        let late = Attempt {
            time_left: 40 * MS,
            ..first()
        };
        #[rustfmt::skip]
        let table: [(&str, Outcome, bool, Budget, Attempt, Action); 21] = [
            ("401 first time refreshes", Status(401), true, none, first(), act(RefreshToken, retry(0))),
            ("401 on a write refreshes too", Status(401), false, none, first(), act(RefreshToken, retry(0))),
            ("401 after a refresh gives up", Status(401), true, none, refreshed, act(Nothing, GiveUp)),
            ("401 on the last attempt still replaces the token", Status(401), true, none, last, act(RefreshToken, GiveUp)),
            ("429 with Remaining 0 holds everyone", Status(429), false, spent(2000), first(), act(HoldAll { wait: 2000 * MS }, retry(0))),
            ("429 with Remaining 0 on the last attempt still holds", Status(429), true, spent(2000), last, act(HoldAll { wait: 2000 * MS }, GiveUp)),
            ("429 without a spent budget delays only itself", Status(429), false, throttled(2000), first(), act(Nothing, retry(2000))),
            ("429 without RetryAfter backs off", Status(429), true, none, first(), act(Nothing, retry(50))),
            ("429 asking beyond max_rate_limit_wait gives up", Status(429), true, spent(6000), first(), act(Nothing, GiveUp)),
            ("429 past the deadline gives up", Status(429), true, throttled(2000), late, act(Nothing, GiveUp)),
            ("5xx read-only backs off", Status(503), true, none, first(), act(Nothing, retry(50))),
            ("5xx backoff doubles with the attempt", Status(500), true, none, third, act(Nothing, retry(300))),
            ("5xx write gives up", Status(500), false, none, first(), act(Nothing, GiveUp)),
            ("connect error on a write backs off", ConnectFailed, false, none, first(), act(Nothing, retry(50))),
            ("connect error on a read backs off", ConnectFailed, true, none, first(), act(Nothing, retry(50))),
            ("a refused TLS certificate gives up at once", TlsRefused, true, none, first(), act(Nothing, GiveUp)),
            ("lost answer on a read backs off", Lost, true, none, first(), act(Nothing, retry(50))),
            ("lost answer on a write gives up", Lost, false, none, first(), act(Nothing, GiveUp)),
            ("attempts exhausted gives up", Status(502), true, none, last, act(Nothing, GiveUp)),
            ("other 4xx gives up", Status(404), true, none, first(), act(Nothing, GiveUp)),
            ("success is returned", Status(200), true, none, first(), act(Nothing, GiveUp)),
        ];
        for (case, outcome, idempotent, budget, attempt, expected) in table {
            assert_eq!(
                decide(outcome, idempotent, budget, attempt, &policy()),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn backoff_is_capped_and_jitter_stays_in_the_upper_half() {
        let p = policy();
        assert_eq!(p.backoff_with(1, 0.0), 50 * MS);
        assert_eq!(p.backoff_with(1, 1.0), 100 * MS);
        assert_eq!(p.backoff_with(30, 1.0), 1000 * MS);
        for attempt in 1..8 {
            let b = p.backoff(attempt);
            assert!(b >= p.backoff_with(attempt, 0.0) && b <= p.backoff_with(attempt, 1.0));
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        headers
    }

    /// Only a 429 that says the budget is gone may pause every caller; a throttle 429 (no
    /// budget headers, or budget left) must not stall the other requests in flight.
    #[test]
    fn only_a_spent_budget_holds_everyone() {
        let now = SystemTime::now();
        let spent = |pairs| Budget::at(&RateHeaders::read(&headers(pairs), now), now).spent;
        assert!(spent(&[("X-RateLimit-Remaining", "0")]));
        assert!(spent(&[("X-RateLimit-Remaining", " 0 ")]));
        assert!(!spent(&[("X-RateLimit-Remaining", "12")]));
        assert!(!spent(&[("X-RateLimit-Remaining", "zero")]));
        assert!(!spent(&[]));
    }

    #[test]
    fn a_retry_after_in_the_past_or_now_is_no_wait() {
        let now = SystemTime::now();
        let wait = |pairs| Budget::at(&RateHeaders::read(&headers(pairs), now), now).retry_after;
        assert_eq!(wait(&[("Retry-After", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(wait(&[("Retry-After", "0")]), None);
        assert_eq!(wait(&[("X-RateLimit-RetryAfter", "1")]), None);
        assert_eq!(wait(&[]), None);
    }

    /// Spent means no request left in the minute; the wait is what is still ahead at `now`.
    #[test]
    fn the_budget_the_retry_decision_takes() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |secs| Some(UNIX_EPOCH + Duration::from_secs(secs));
        let budget = |remaining, retry_at| {
            let rate = RateHeaders {
                limit: Some(10),
                remaining,
                retry_at,
            };
            Budget::at(&rate, now)
        };
        let expect = |spent, wait: Option<u64>| Budget {
            spent,
            retry_after: wait.map(Duration::from_secs),
        };
        assert_eq!(budget(Some(0), at(1_030)), expect(true, Some(30)));
        assert_eq!(budget(Some(3), at(1_030)), expect(false, Some(30)));
        assert_eq!(budget(None, None), expect(false, None));
        assert_eq!(
            budget(Some(0), at(1_000)),
            expect(true, None),
            "now: no wait"
        );
        assert_eq!(
            budget(Some(0), at(999)),
            expect(true, None),
            "past: no wait"
        );
    }

    /// Retries repeat only what the operation table calls read-only: creates, deletes and role
    /// changes are never sent twice blindly; ids-in-the-body POSTs are.
    #[test]
    fn writes_are_never_read_only() {
        for (op, read_only) in [
            (operations::CREATE_USER_V1, false),
            (operations::USER_ROLES_ACTION_V1, false),
            (operations::DELETE_USER_V1, false),
            (operations::USER_ACTION_V1, false),
            (operations::OAUTH2_REVOKE_TOKEN, false),
            (operations::QUERY_USER_V1, true),
            (operations::RETRIEVE_USERS_GET_V1, true),
        ] {
            assert_eq!(op.read_only, read_only, "{op}");
        }
    }

    /// Any value a server puts in the retry-after headers (any size, negative, fractional,
    /// junk), on a 429 or any other status, parses without panicking and leads to a wait within
    /// the policy or to giving up: never an unbounded wait.
    #[test]
    fn any_retry_after_value_gives_a_bounded_wait_or_gives_up() {
        let now = SystemTime::now();
        for value in ABSURD_HEADER_NUMBERS {
            for name in ["x-ratelimit-retryafter", "retry-after"] {
                let mut headers = HeaderMap::new();
                headers.insert(name, HeaderValue::from_static(value));
                headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
                let budget = Budget::at(&RateHeaders::read(&headers, now), now);
                for status in [429, 400, 503] {
                    let action = decide(Outcome::Status(status), true, budget, first(), &policy());
                    let wait = match (action.first, action.then) {
                        (First::HoldAll { wait }, _) => wait,
                        (_, Then::Retry { after }) => after,
                        (_, Then::GiveUp) => Duration::ZERO,
                    };
                    assert!(
                        wait <= policy().max_rate_limit_wait,
                        "{status} with {name}: {value:?} waits {wait:?}"
                    );
                }
            }
        }
    }
}

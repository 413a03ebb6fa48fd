//! The slow load and soak tests, in their own binary (`cargo test -p falcon-users-tests --test
//! load`); `cargo test --workspace` (and so `.ci/run`) still runs them.

mod token_churn;

/// The simulator at size: 20,000 concurrent requests, fault storms over 5,000 and 500 users, an
/// inventory of 5,000 users, the rate limit against the real clock, listings of 50,000 users
/// past the offset ceiling, a CID at its most users.
mod sim {
    mod concurrency;
    mod e2e;
    mod faults;
    mod limits;
    mod listings;
    mod workflows;
}

//! The slow load and soak tests, in their own binary (`cargo test -p falcon-users-tests --test
//! load`); `cargo test --workspace` (and so `.ci/run`) still runs them.

mod token_churn;

//! # falcon-users
//!
//! The Rust SDK for the CrowdStrike Falcon **User Management** API: users, roles, grants and
//! Flight Control, with the plumbing done for you.
//!
//! - [`Falcon`]: one handle (cheap to clone) with OAuth2 client credentials, token caching and
//!   refresh, cloud autodiscovery, retries, rate-limit pacing and a concurrency limit.
//! - Typed convenience methods for everyday work ([`Falcon::users`], [`Falcon::get_users`],
//!   [`Falcon::create_user`], [`Falcon::grant_roles`], ...) that take [`IdList`]s, page and batch
//!   for you, and return the spec's own types.
//! - [`Falcon::api`]: the generated client for every other operation, through the same pipeline.
//!
//! ```no_run
//! # async fn demo() -> falcon_users::Result<()> {
//! use falcon_users::{Falcon, UserQuery};
//! use futures::TryStreamExt;
//!
//! let falcon = Falcon::from_env()?;
//! let mut users = falcon.users(UserQuery::new().filter("status:'active'"));
//! while let Some(user) = users.try_next().await? {
//!     println!("{} {}", user.uuid.unwrap_or_default(), user.uid.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! ## TLS
//!
//! HTTPS goes through rustls with the `ring` crypto provider and the platform's certificate
//! verifier. It builds far faster than aws-lc. If your application installs a rustls
//! `CryptoProvider` before it builds a [`Falcon`], that provider is used instead. Otherwise
//! `ring` is installed as the process default.
//!
//! ## Throttling
//!
//! A 429 with `X-RateLimit-Remaining: 0` means the budget is spent, so every caller on this
//! handle waits until `X-RateLimit-RetryAfter`. Any other 429 delays only its own request.

#![warn(missing_docs)]

// The crate is a one-way stack, bottom first; each module imports only from below it (checked by
// `tests/tests/integration/layers.rs`). Values and the error at the bottom, then the request
// runtime, the handle and its builder, the operations, the workflows.
mod builder;
mod client;
pub mod clock;
pub mod error;
pub mod history;
mod model;
mod ops;
mod runtime;
pub mod workflows;

// The modules whose items are not all at the root, public under their own names (`validation`:
// the argument checks the workflows share with the operations).
/// The everyday questions about users as filters, and where each is answered.
pub use model::user_filter as filters;
pub use model::{access, cid, cloud, fql, ids, validation, views};
pub use ops::paging;
pub use runtime::retry;

pub use builder::FalconBuilder;
pub use client::Falcon;
pub use error::{AuthProblem, Error, NetworkProblem, Result};
pub use model::catalogue::Catalogue;
pub use model::cid::Cid;
pub use model::cloud::Cloud;
pub use model::credentials::Credentials;
pub use model::ids::{BatchLimits, IdList};
pub use model::role_ref::RoleRef;
pub use model::user_ref::UserRef;
pub use model::views::{Grant, GrantView, Role, User, UserInfo, UserStatus, UserType, UserView};
pub use ops::children::{CHILDREN_BATCH, CHILDREN_PAGE, Child, FLIGHT_CONTROL_READ};
pub use ops::flight_control::{FLIGHT_CONTROL_WRITE, GROUPS_PAGE};
pub use ops::grants::{GrantOptions, GrantQuery, RevokeOptions};
pub use ops::own_cid::{OwnCid, SENSOR_DOWNLOAD_READ};
pub use ops::paging::Entities;
pub use ops::users::{UserQuery, UserUpdate};
pub use retry::RetryPolicy;
pub use runtime::stats::StatsSnapshot;

/// The date-time crate of the signatures (grant ends, typed timestamps), re-exported so that a
/// caller's version always matches.
pub use chrono;
/// The stream crate of the signatures (listings are `BoxStream`s), re-exported likewise.
pub use futures;
/// The URL type of [`Cloud::Custom`].
pub use url::Url;

/// What most programs use, in one import: the handle, the query and option builders, the
/// short type names with their typed views, and the stream extension traits the listings need.
///
/// ```no_run
/// use falcon_users::prelude::*;
///
/// # async fn demo() -> falcon_users::Result<()> {
/// let falcon = Falcon::from_env()?;
/// let mut users = falcon.users(UserQuery::new().filter("status:'active'"));
/// while let Some(user) = users.try_next().await? {
///     let seen = user.last_login_at().map(|t| t.to_rfc3339());
///     println!("{:?} last seen {seen:?}", user.uid);
/// }
/// falcon
///     .grant_roles("ann@example.com", "falcon_console_guest", GrantOptions::new())
///     .await?;
/// # Ok(()) }
/// ```
pub mod prelude {
    pub use crate::model::views::{
        Grant, GrantView, Role, User, UserInfo, UserStatus, UserType, UserView,
    };
    pub use crate::workflows::InventoryOptions;
    pub use crate::{
        Cid, Error, Falcon, GrantOptions, GrantQuery, Result, RevokeOptions, RoleRef, UserQuery,
        UserRef, UserUpdate,
    };
    pub use futures::{StreamExt, TryStreamExt};
}

/// The generated low-level crate, re-exported: its `types` are the types this crate returns.
pub use falcon_users_api as api;
/// The spec's request and response types.
pub use falcon_users_api::types;

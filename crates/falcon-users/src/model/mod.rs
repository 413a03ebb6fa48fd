//! Values: what users type (ids, users, roles, CIDs, clouds, credentials, FQL) checked and
//! normalised before any request exists, the roles a CID offers, and typed views of what the
//! service returns (grants with their sources: [`access`]). Nothing here sends anything.

pub mod access;
pub mod catalogue;
pub mod cid;
pub mod cloud;
pub mod credentials;
pub mod fql;
pub mod ids;
pub mod role_ref;
pub(crate) mod spelling;
pub mod user_filter;
pub mod user_ref;
pub mod validation;
pub mod views;

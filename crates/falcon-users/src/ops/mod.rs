//! The convenience operations on [`crate::client::Falcon`]: typed arguments checked before
//! sending, ids batched, pages streamed, the spec's own types returned.

pub(crate) mod children;
pub(crate) mod flight_control;
pub(crate) mod grants;
pub(crate) mod own_cid;
pub mod paging;
pub(crate) mod partition;
pub(crate) mod raw;
pub(crate) mod roles;
pub(crate) mod scope;
pub(crate) mod users;

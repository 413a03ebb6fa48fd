//! One module per command family; each takes the connected client and the output settings.

pub mod access;
pub mod auth;
pub mod children;
pub mod completions;
pub mod config;
pub mod decisions;
pub mod fleet;
pub mod grants;
pub mod history;
pub mod inventory;
pub mod lifecycle;
pub mod man;
pub mod reconcile;
pub mod review;
pub mod roles;
pub mod sim;
pub mod users;

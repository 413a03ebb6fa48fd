//! The handlers, one module per concept of the API; [`crate::router`] files them under the
//! operations of the table.

pub mod aggregates;
pub mod children;
pub mod flight_control;
pub mod grants;
pub mod invitations;
pub mod legacy;
pub mod oauth2;
pub mod permissions;
pub mod roles;
pub mod sensor_download;
pub mod users;

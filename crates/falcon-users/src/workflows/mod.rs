//! The multi-step jobs that go wrong by hand: provisioning (create, then grant), offboarding
//! (revoke, then delete), a full inventory of users with their grants, bulk role changes, jobs
//! over a Flight Control fleet of child CIDs, [`roster`]s reconciled by plan and apply, and the
//! access [`review`], and effective access (who holds which role where, and why); the
//! [`evidence`] every review and inventory file carries about itself.
//!
//! Each step is a call of the ergonomic layer (a `Falcon` method); the workflows add ordering,
//! validation before any change, exactly-once changes, and an exact account of what happened when
//! a step fails. Provisioning and offboarding can be stopped between steps with a [`Stop`].

mod access;
mod across;
mod bulk;
pub mod evidence;
mod fleet;
pub mod flight_control;
mod inventory;
mod offboard;
mod once;
mod provision;
pub mod review;
pub mod roster;
mod settle;
mod stop;

/// Where [`UserRef`] was first defined; it lives in the crate root now.
pub use crate::model::user_ref::UserRef;
pub use access::{
    AccessItem, AccessOptions, AccessPart, AccessReport, EffectiveAccess, Fleet, FleetScope,
    UserAccess,
};
pub use across::{AcrossOptions, AcrossOutcome, AcrossPlan, CidRoleChange, split_roles};
pub use bulk::{BulkOptions, BulkOutcome, RoleChange};
pub use fleet::{FleetItem, LinkReach};
pub use inventory::{InventoryOptions, UserWithGrants};
pub use offboard::{Offboard, OffboardPlan, OffboardReport};
pub use provision::{OnGrantFailure, Provision, ProvisionOutcome};
pub use settle::{Settle, Settled, Waiting};
pub use stop::Stop;

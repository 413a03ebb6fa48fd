//! The access review: every user with their grants, read once, and what a reviewer should look
//! at, as findings (a user, a CID and why): users without roles, privileged roles, stale
//! accounts, temporary grants about to end, parent users' roles in child CIDs, grants held
//! outside the user's home CID, and inactive users who still hold roles.
//!
//! The decisions are pure functions ([`row_findings`], [`judge`], [`is_privileged_permission`]),
//! tested as tables; [`Falcon::review`](crate::Falcon::review) only reads (one inventory, plus
//! the roles and their permissions once per CID) and feeds them.
//!
//! One concept per module, each importing only those before it: what a finding is (`finding`),
//! whether a role is privileged (`privilege`), the rules that find them in a row (`rules`), the
//! counts (`tally`), and the run against a tenant (`run`); then what a reviewer decides on the
//! findings ([`decisions`]), turned into a roster plan.

mod finding;
#[cfg(test)]
mod fixtures;
pub(crate) mod privilege;
mod rules;
mod run;
mod tally;
// Last: it reads the findings and plans through the roster.
pub mod decisions;

pub use finding::{Finding, FindingKind};
pub use privilege::{
    Basis, FALLBACK_PRIVILEGED_ROLES, RoleBook, RoleVerdict, is_privileged_permission, judge,
};
pub use rules::{ReviewOptions, row_findings};
pub use run::{Review, ReviewReport};
pub use tally::{LOGIN_AGE_BANDS, LoginAges, LoginBand, ReviewSummary, RoleTally};

//! Flight Control access as code: the user groups (members), CID groups (child CIDs) and links
//! (a user group's roles in every CID of a CID group) of a parent CID, declared in one TOML file
//! ([`FleetFile`]; why TOML: see [`doc`](FleetFile)), and reconciled as a roster is: read the
//! state ([`FleetState`]), plan the changes ([`plan()`], pure: the [`steps`] and their
//! [`effect`] on who holds which role in which child), apply them ([`apply()`]) with the
//! roster's guarantees: a plan bound to its tenant, a guardrail on how many users lose access
//! ([`Guardrails::max_removals`](crate::workflows::roster::Guardrails::max_removals)), a stale
//! plan refused, every step journaled ([`Journal`](crate::workflows::roster::Journal)), and a
//! run after a kill doing only what is left.
//!
//! ```
//! use falcon_users::workflows::flight_control::{FleetFile, FleetModel, steps};
//! let file = FleetFile::parse("[[user_group]]\nname = \"Tier 1\"\n", "fleet.toml").unwrap();
//! assert_eq!(file.user_groups[0].name, "Tier 1");
//! assert!(steps(&FleetModel::default(), &FleetModel::default()).is_empty());
//! ```

mod apply;
mod doc;
mod plan;
mod read;
mod state;

pub use apply::{FleetApi, FleetApplyOptions, FleetApplyReport, StepOutcome, StepResult, apply};
pub use doc::{
    CidGroupDecl, FleetFile, Item, LinkDecl, MAX_BYTES, MAX_GROUPS, MAX_MEMBERS, UserGroupDecl,
};
pub use plan::{
    AccessChange, FLEET_PLAN_VERSION, FleetPlan, Step, desired, effect, plan, position, steps,
};
pub use state::{
    CidGroup, FleetModel, FleetState, Group, GroupKind, Link, Links, UserGroup, UserIndex,
};

//! Rosters: the users a tenant should have (an HR or IdP export, a spreadsheet), and the
//! reconciliation of a tenant with one: read the tenant ([`Falcon::roster_state`]), plan the
//! changes ([`plan()`], a pure function), apply them ([`Falcon::apply`]): each change once, under
//! the rate limit, recorded in a journal, safe to run again after an interruption.
//!
//! A roster is CSV (RFC 4180, with a header row) or JSON (an array of objects), with the columns
//! `uid` (the login email, required), `first_name`, `last_name`, `roles` (role ids or display
//! names, separated by `;`), `cid` (a Flight Control member CID; default the handle's own) and
//! `expires_at` (RFC 3339: the row's roles are temporary grants ending then). A single role may
//! carry its own end as `role@2030-01-02T15:04:05Z`. Every problem is reported with its row
//! before anything is read or planned.
//!
//! A file with other headers (an HR export) is read through a [`ColumnMap`]
//! ([`ReadOptions::map`]): only the columns it names are read, the others listed in
//! [`ReadNotes::ignored`]. A CSV's delimiter (`,`, `;` or a tab) is told from its header line;
//! rows with every cell empty are skipped; [`ReadOptions::default_roles`] gives the rows that
//! name no roles the batch's.
//!
//! ```
//! use falcon_users::workflows::roster::{ReadOptions, Roster};
//! let export = "Email;First Name;Last Name;Department\n\
//!               ann@example.com;Ann;Lee;Sales\n\
//!               ;;;\n";
//! let options = ReadOptions::new()
//!     .map("uid=Email,first_name=First Name,last_name=Last Name".parse().unwrap())
//!     .default_roles(["falcon_console_guest"]);
//! let (roster, notes) = Roster::read_csv(export.as_bytes(), &options).unwrap();
//! assert_eq!(roster.entries()[0].roles[0].role, "falcon_console_guest");
//! assert_eq!((notes.delimiter, notes.ignored, notes.blank_rows), (Some(';'), vec!["Department".to_owned()], 1));
//! ```
//!
//! ```
//! use falcon_users::workflows::roster::Roster;
//! let csv = "uid,first_name,last_name,roles\n\
//!            ann@example.com,Ann,Lee,falcon_console_guest\n\
//!            bob@example.com,Bob,Ray,\"Falcon Analyst;falcon_console_guest\"\n";
//! let roster = Roster::from_csv(csv.as_bytes()).unwrap();
//! assert_eq!(roster.entries().len(), 2);
//! assert_eq!(roster.entries()[1].roles[0].role, "Falcon Analyst");
//!
//! let err = Roster::from_csv("uid,role\nann@example.com,x\n".as_bytes()).unwrap_err();
//! assert!(err.to_string().contains("unknown column \"role\""));
//! ```

mod apply;
mod columns;
mod journal;
mod origin;
mod plan;
mod read;
mod rows;
mod state;
mod targeted;

use chrono::Utc;

use crate::client::Falcon;
use crate::error::Result;

/// Where [`Catalogue`] was first defined; it lives with the roles now.
pub use crate::model::catalogue::Catalogue;
pub use apply::{ApplyOptions, ApplyReport, ChangeOutcome, ChangeResult};
pub use columns::{COLUMNS, ColumnMap, ReadNotes, ReadOptions, detect_delimiter};
pub use journal::{Journal, JournalEntry};
pub use origin::Origin;
pub use plan::{
    Action, Change, Guardrails, Mode, PLAN_VERSION, Plan, PlanOptions, actions, plan, position,
};
pub(crate) use rows::{Bounded, csv_problem};
pub use rows::{
    MAX_BYTES, MAX_ENTRIES, MAX_LINE_BYTES, MAX_ROLES_PER_ENTRY, Roster, RosterEntry, RosterFormat,
    RosterRole,
};
pub use state::{CidState, TenantState, UserState};
pub use targeted::{BulkPlan, RoleEdit, Targets, edit_plan, locate, offboard_plan};

impl Falcon {
    /// Reads the CIDs `roster` and `options` need ([`Falcon::roster_state`]) and plans against
    /// them now ([`plan`](crate::workflows::roster::plan())).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::roster::{ApplyOptions, Journal, PlanOptions, Roster};
    ///
    /// let roster = Roster::from_path("staff.csv".as_ref())?;
    /// let plan = falcon.plan_roster(&roster, &PlanOptions::new()).await?;
    /// for change in &plan.changes {
    ///     println!("{} {}: {:?}", change.kind(), change.uid, change.actions());
    /// }
    /// // Just read: no need to read each user again before changing them.
    /// let options = ApplyOptions::new().verify(false);
    /// let report = falcon.apply(&plan, &options, &Journal::in_memory()).await?;
    /// assert!(report.is_complete());
    /// # Ok(()) }
    /// ```
    pub async fn plan_roster(&self, roster: &Roster, options: &PlanOptions) -> Result<Plan> {
        let state = self
            .roster_state(&options.cids_to_read(roster), options)
            .await?;
        plan(roster, &state, options, Utc::now())
    }
}

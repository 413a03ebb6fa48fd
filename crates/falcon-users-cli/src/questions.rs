//! The everyday questions (`--role`, `--privileged`, `--never-logged-in`,
//! `--last-login-before`, `--created-before`, `--status`) as the library's query options, the
//! same for `users list` and `inventory`, and the note that says where they were answered.

use falcon_users::UserQuery;
use falcon_users::UserStatus;
use falcon_users::filters::FilterPlan;
use falcon_users::workflows::{AccessOptions, InventoryOptions};

use crate::cli::{StatusArg, UserQuestions};
use crate::output::console;

impl From<StatusArg> for UserStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Active => UserStatus::Active,
            StatusArg::Inactive => UserStatus::Inactive,
        }
    }
}

impl UserQuestions {
    /// `query` narrowed by the questions about the users themselves.
    pub fn narrow(&self, mut query: UserQuery) -> UserQuery {
        if let Some(status) = self.status {
            query = query.status(status.into());
        }
        if self.never_logged_in {
            query = query.never_logged_in();
        }
        if let Some(at) = self.last_login_before {
            query = query.last_login_before(at);
        }
        if let Some(at) = self.created_before {
            query = query.created_before(at);
        }
        query
    }

    /// `options` narrowed by the questions about grants.
    pub fn inventory(&self, options: InventoryOptions) -> InventoryOptions {
        let options = options.privileged(self.privileged);
        match &self.role {
            Some(role) => options.role(role),
            None => options,
        }
    }

    /// `options` narrowed by the questions about grants, for a fleet's reading.
    pub fn access(&self, mut options: AccessOptions) -> AccessOptions {
        options.inventory = self.inventory(options.inventory);
        options
    }
}

/// Says on stderr which questions the service answered and which were answered here (at the
/// cost of reading every user, and their grants); nothing without questions.
pub fn note_plan(plan: &FilterPlan) {
    if !plan.is_empty() {
        console::line(format_args!("note: {plan}"));
    }
}

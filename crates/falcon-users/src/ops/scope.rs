//! API client scopes beyond User Management's: an operation refused for lack of one (HTTP 403)
//! is reported naming the scope as the Falcon console shows it, which is what a person ticks
//! when editing the API client.

use falcon_users_api::{Auth, Operation};

use crate::error::{AuthProblem, Error, trace};

/// `error` of `op`, an [`Error::Auth`] ([`AuthProblem::Forbidden`]) naming the console scope
/// `console` (and the table's scope ids) when it is a 403; any other error as it is. `what` says
/// what needed the scope ("reading the CID").
pub(crate) fn needs_scope(
    error: Error,
    op: &'static Operation,
    console: &str,
    what: &str,
) -> Error {
    let Error::Api {
        status: 403,
        trace_id,
        errors,
        ..
    } = error
    else {
        return error;
    };
    let said: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let ids = match op.auth {
        Auth::Bearer { scopes } => scopes.join(", "),
        Auth::None | Auth::Basic => String::new(),
    };
    Error::Auth {
        problem: AuthProblem::Forbidden,
        status: Some(403),
        message: format!(
            "{op} was refused (HTTP 403{}): {what} needs the API client scope \"{console}\" \
             ({ids}); add it to the API client in the Falcon console{}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {}", said.join("; "))
            },
            trace(trace_id.as_deref()),
        ),
        trace_id,
    }
}

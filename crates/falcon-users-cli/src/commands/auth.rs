//! `auth check`: token, cloud and scopes.
//!
//! Each scope is probed with one request, and only an answer the API gives after its scope
//! check counts: the answer itself for the read probe, a success or a verdict on the content
//! (400, 409, 422) for the write probe (`validate_only`, nothing is created). A 403 proves the
//! scope is missing. Anything else (401, 429, 5xx, no answer) proves nothing: the scope is
//! reported unknown, with the reason, and the exit code is 4.
//!
//! It also shows the CID the handle acts in, as the service states it (`Falcon::own_cid`, the
//! sensor-download lookup). That needs a scope the CLI needs for nothing else ("Sensor Download:
//! Read"), so its probe is reported like the others but never decides the exit code: a client
//! without it is told so plainly and still passes. The Flight Control read scope (children
//! discovery, `--member-cids all`) is probed and reported the same way: one `queryChildren`
//! asking for one child.

use std::process::ExitCode;

use falcon_users::api::Operation;
use falcon_users::api::operations::{
    CREATE_USER_V1, GET_SENSOR_INSTALLERS_CCID_BY_QUERY, QUERY_CHILDREN, QUERY_USER_V1,
};
use falcon_users::types::DomainCreateUserRequest;
use falcon_users::{FLIGHT_CONTROL_READ, OwnCid, SENSOR_DOWNLOAD_READ, UserQuery};
use serde_json::{Map, Value, json};

use crate::cli::AuthCommand;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::Outcome;
use crate::output::Format;
use crate::output::{print_json, print_lines};

/// What a probe proved about a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    Granted,
    Denied,
    /// The answer proves nothing either way; why.
    Unknown(String),
}

impl Access {
    fn json(&self) -> Value {
        match self {
            Access::Granted => Value::Bool(true),
            Access::Denied => Value::Bool(false),
            Access::Unknown(_) => Value::Null,
        }
    }

    fn text(&self) -> String {
        match self {
            Access::Granted => "yes".into(),
            Access::Denied => "no".into(),
            Access::Unknown(why) => format!("unknown ({why})"),
        }
    }
}

/// How a probe was answered: `Ok`, or the status of the failing answer (`None` when there was
/// none) and what went wrong.
type Answer = Result<(), (Option<u16>, String)>;

/// The verdict of a probe of `operation`. `content_statuses` are the error statuses the operation
/// gives only after the scope check passed.
fn verdict(operation: &str, answer: Answer, content_statuses: &[u16]) -> Access {
    match answer {
        Ok(()) => Access::Granted,
        Err((Some(403), _)) => Access::Denied,
        Err((Some(status), _)) if content_statuses.contains(&status) => Access::Granted,
        Err((Some(status), _)) => Access::Unknown(format!("{operation} answered HTTP {status}")),
        Err((None, why)) => Access::Unknown(format!("{operation}: {why}")),
    }
}

/// Runs an `auth` subcommand.
pub async fn run(ctx: &Ctx, command: AuthCommand) -> Outcome {
    let AuthCommand::Check = command;
    let falcon = &ctx.falcon;
    falcon.authenticate().await?;
    let read_answer = falcon
        .query_user_ids(&UserQuery::new().page_size(1), 0)
        .await
        .map(drop)
        .map_err(|e| (e.status(), e.to_string()));
    let read = verdict(QUERY_USER_V1.id, read_answer, &[]);
    // `validate_only` asks whether a create would be allowed without creating anything.
    let write_answer = falcon
        .api()
        .create_user_v1()
        .validate_only(true)
        .body(DomainCreateUserRequest {
            cid: None,
            first_name: None,
            last_name: None,
            password: None,
            uid: Some("scope-check@example.invalid".into()),
        })
        .send()
        .await
        .map(drop)
        .map_err(raw_failure);
    let write = verdict(CREATE_USER_V1.id, write_answer, &[400, 409, 422]);
    let fleet_answer = falcon
        .api()
        .query_children()
        .limit(1)
        .send()
        .await
        .map(drop)
        .map_err(raw_failure);
    let fleet = verdict(QUERY_CHILDREN.id, fleet_answer, &[]);
    let fleet_scope = scope_of(&QUERY_CHILDREN, "mssp:read");
    let scopes = [
        ("user-management:read", &read),
        ("user-management:write", &write),
    ];
    let (own, sensor) = match falcon.own_cid().await {
        Ok(own) => (Some(own), Access::Granted),
        Err(e) => (
            None,
            verdict(
                GET_SENSOR_INSTALLERS_CCID_BY_QUERY.id,
                Err((e.status(), e.to_string())),
                &[],
            ),
        ),
    };
    let sensor_scope = scope_of(
        &GET_SENSOR_INSTALLERS_CCID_BY_QUERY,
        "sensor-installers:read",
    );
    let base = falcon.base_url();
    match ctx.format {
        Format::Json => {
            let mut found = Map::new();
            let mut unknown = Map::new();
            let optional = [(sensor_scope, &sensor), (fleet_scope, &fleet)];
            for (scope, access) in scopes.into_iter().chain(optional) {
                found.insert(scope.into(), access.json());
                if let Access::Unknown(why) = access {
                    unknown.insert(scope.into(), Value::String(why.clone()));
                }
            }
            print_json(&json!({
                "token": "ok", "base_url": base.as_str(),
                "member_cid": falcon.member_cid().map(ToString::to_string),
                "cid": own.as_ref().map(|o| o.with_checksum.clone()),
                "scopes": found, "unknown": unknown
            }))?;
        }
        _ => {
            let mut lines = vec!["token:     ok".to_owned(), format!("api:       {base}")];
            if let Some(cid) = falcon.member_cid() {
                lines.push(format!("member:    {cid}"));
            }
            lines.push(format!("cid:       {}", cid_line(own.as_ref(), &sensor)));
            lines.push(format!("read:      {}", read.text()));
            lines.push(format!("write:     {}", write.text()));
            lines.push(format!(
                "fleet:     {}",
                optional_line(&fleet, FLIGHT_CONTROL_READ, fleet_scope)
            ));
            print_lines(&lines)?;
        }
    }
    // Only the User Management scopes decide: the CID lookup and Flight Control are shown,
    // not required.
    let inconclusive = scopes
        .iter()
        .any(|(_, access)| matches!(access, Access::Unknown(_)));
    Ok(if inconclusive {
        ExitCode::from(exit::API)
    } else {
        ExitCode::SUCCESS
    })
}

/// How a probe through the generated client failed: the status, and what went wrong.
fn raw_failure<E>(e: falcon_users::api::Error<E>) -> (Option<u16>, String) {
    let why = match &e {
        falcon_users::api::Error::CommunicationError(inner) => format!("no answer ({inner})"),
        falcon_users::api::Error::Custom(message) => message.clone(),
        _ => "the answer could not be read".to_owned(),
    };
    (e.status().map(|s| s.as_u16()), why)
}

/// The scope id `operation` needs, from the operation table (`fallback` if it names none).
fn scope_of(operation: &Operation, fallback: &'static str) -> &'static str {
    match operation.auth {
        falcon_users::api::Auth::Bearer {
            scopes: [scope, ..],
        } => scope,
        _ => fallback,
    }
}

/// The line of a scope only some commands need: `yes`, the scope missing by its console name
/// and id, or why it is unknown.
fn optional_line(access: &Access, console_name: &str, scope: &str) -> String {
    match access {
        Access::Denied => format!("missing: {console_name} ({scope})"),
        other => other.text(),
    }
}

/// The `cid:` line: the CID as the service states it, or why it is not shown.
fn cid_line(own: Option<&OwnCid>, access: &Access) -> String {
    match (own, access) {
        (Some(own), _) => own.with_checksum.clone(),
        (None, Access::Denied) => format!(
            "not shown: the API client lacks the scope \"{SENSOR_DOWNLOAD_READ}\" ({}), which \
             only this lookup needs",
            scope_of(
                &GET_SENSOR_INSTALLERS_CCID_BY_QUERY,
                "sensor-installers:read"
            )
        ),
        (None, other) => other.text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answer_given_after_the_scope_check_proves_access() {
        let write = [400, 409, 422];
        let no_answer = || (None, "no answer (connection refused)".to_owned());
        let status = |s| (Some(s), String::new());
        let unknown = |s| Access::Unknown(format!("op answered HTTP {s}"));
        let cases: Vec<(Answer, &[u16], Access)> = vec![
            (Ok(()), &write, Access::Granted),
            (Err(status(400)), &write, Access::Granted),
            (Err(status(409)), &write, Access::Granted),
            (Err(status(403)), &write, Access::Denied),
            (Err(status(403)), &[], Access::Denied),
            (Err(status(400)), &[], unknown(400)),
            (Err(status(401)), &write, unknown(401)),
            (Err(status(429)), &write, unknown(429)),
            (Err(status(500)), &write, unknown(500)),
            (Err(status(503)), &write, unknown(503)),
            (Err(status(404)), &write, unknown(404)),
            (
                Err(no_answer()),
                &write,
                Access::Unknown("op: no answer (connection refused)".into()),
            ),
        ];
        for (answer, content, expected) in cases {
            assert_eq!(
                verdict("op", answer.clone(), content),
                expected,
                "{answer:?}"
            );
        }
    }
}

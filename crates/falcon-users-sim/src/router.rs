//! The router, built from the operation table: a registry files each handler under its
//! `&'static Operation`, and the route takes its path and method from the table entry. Each
//! route puts the operation in the request's extensions (for the gate and the fault layer), and
//! a table operation without a handler is an error naming it, not a silent 404.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Extension, Router};
use falcon_users_api::{HttpMethod, Operation, operations};

use crate::body;
use crate::envelope::{Headers, error, trace_id};
use crate::faults;
use crate::rate;
use crate::routes::{
    aggregates, children, flight_control, grants, invitations, legacy, oauth2, permissions, roles,
    sensor_download, users,
};
use crate::shared::Shared;
use crate::state::fleet::{CidGroup, UserGroup};

type Route = MethodRouter<Arc<Shared>>;

/// One handler, filed under the operation it answers.
struct Entry {
    op: &'static Operation,
    route: Route,
}

/// Files `handler` under `op`, on the method the table gives it.
fn handle<H, T>(op: &'static Operation, handler: H) -> Entry
where
    H: Handler<T, Arc<Shared>>,
    T: 'static,
{
    let filter = match op.method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    };
    Entry {
        op,
        route: on(filter, handler),
    }
}

/// Every handler of the simulator, by operation.
fn registry() -> Vec<Entry> {
    use operations as op;
    vec![
        handle(&op::OAUTH2_ACCESS_TOKEN, oauth2::token),
        handle(&op::OAUTH2_REVOKE_TOKEN, oauth2::revoke),
        handle(&op::QUERY_USER_V1, users::query_v1),
        handle(&op::QUERY_USER_V2, users::query_v2),
        handle(&op::RETRIEVE_USERS_GET_V1, users::retrieve_v1),
        handle(&op::RETRIEVE_USERS_GET_V2, users::retrieve_v2),
        handle(&op::CREATE_USER_V1, users::create),
        handle(&op::UPDATE_USER_V1, users::update),
        handle(&op::DELETE_USER_V1, users::delete),
        handle(&op::USER_ACTION_V1, users::action),
        handle(&op::QUERIES_ROLES_V1, roles::query),
        handle(&op::LEGACY_ENTITIES_ROLES_V1, roles::entities_v1),
        handle(&op::ENTITIES_ROLES_GET_V2, roles::entities_v2),
        handle(&op::LEGACY_COMBINED_USER_ROLES_V1, grants::combined_v1),
        handle(&op::COMBINED_USER_ROLES_V2, grants::combined_v2),
        handle(&op::COMBINED_USER_ROLES_V3, grants::combined_v2),
        handle(&op::USER_ROLES_ACTION_V1, grants::action_v1),
        handle(&op::USER_ROLES_ACTION_V2, grants::action_v2),
        handle(&op::AGGREGATE_USERS_V1, aggregates::aggregate_v1),
        handle(&op::AGGREGATE_USERS_V2, aggregates::aggregate_v2),
        handle(&op::USER_ALLOWED_ACTIONS_V1, permissions::allowed_actions),
        handle(&op::QUERIES_PERMISSIONS_V1, permissions::query_permissions),
        handle(&op::ENTITIES_PERMISSIONS_GET_V1, permissions::permissions),
        handle(
            &op::ENTITIES_PERMISSION_GROUPS_GET_V1,
            permissions::permission_groups,
        ),
        handle(
            &op::ENTITIES_ROLE_PERMISSIONS_V1,
            permissions::role_permissions,
        ),
        handle(
            &op::QUERY_USER_INVITATIONS_V1,
            invitations::query_invitations,
        ),
        handle(&op::GET_USER_INVITATIONS_GET_V1, invitations::invitations),
        handle(&op::LEGACY_RETRIEVE_USER, legacy::retrieve),
        handle(&op::LEGACY_CREATE_USER, legacy::create),
        handle(&op::LEGACY_UPDATE_USER, legacy::update),
        handle(&op::LEGACY_DELETE_USER, legacy::delete),
        handle(&op::LEGACY_RETRIEVE_EMAILS_BY_CID, legacy::emails),
        handle(&op::LEGACY_RETRIEVE_USER_UUIDS_BY_CID, legacy::uuids),
        handle(&op::LEGACY_RETRIEVE_USER_UUID, legacy::uuids_by_email),
        handle(&op::LEGACY_GET_ROLES, legacy::get_roles),
        handle(&op::LEGACY_GRANT_USER_ROLE_IDS, legacy::grant),
        handle(&op::LEGACY_REVOKE_USER_ROLE_IDS, legacy::revoke),
        handle(
            &op::LEGACY_GET_AVAILABLE_ROLE_IDS,
            legacy::available_role_ids,
        ),
        handle(&op::LEGACY_GET_USER_ROLE_IDS, legacy::user_role_ids),
        handle(
            &op::GET_SENSOR_INSTALLERS_CCID_BY_QUERY,
            sensor_download::ccid,
        ),
        handle(&op::QUERY_CHILDREN, children::query),
        handle(&op::GET_CHILDREN_V2, children::details),
        handle(&op::GET_CHILDREN, children::details_by_query),
        handle(
            &op::QUERY_CID_GROUPS,
            flight_control::query_groups::<CidGroup>,
        ),
        handle(
            &op::GET_CID_GROUP_BY_ID_V2,
            flight_control::groups::<CidGroup>,
        ),
        handle(
            &op::CREATE_CID_GROUPS,
            flight_control::create_groups::<CidGroup>,
        ),
        handle(
            &op::UPDATE_CID_GROUPS,
            flight_control::update_groups::<CidGroup>,
        ),
        handle(
            &op::DELETE_CID_GROUPS,
            flight_control::delete_groups::<CidGroup>,
        ),
        handle(
            &op::QUERY_CID_GROUP_MEMBERS,
            flight_control::query_memberships::<CidGroup>,
        ),
        handle(
            &op::GET_CID_GROUP_MEMBERS_BY_V2,
            flight_control::group_members::<CidGroup>,
        ),
        handle(
            &op::ADD_CID_GROUP_MEMBERS,
            flight_control::add_members::<CidGroup>,
        ),
        handle(
            &op::DELETE_CID_GROUP_MEMBERS_V2,
            flight_control::remove_members::<CidGroup>,
        ),
        handle(
            &op::QUERY_USER_GROUPS,
            flight_control::query_groups::<UserGroup>,
        ),
        handle(
            &op::GET_USER_GROUPS_BY_ID_V2,
            flight_control::groups::<UserGroup>,
        ),
        handle(
            &op::CREATE_USER_GROUPS,
            flight_control::create_groups::<UserGroup>,
        ),
        handle(
            &op::UPDATE_USER_GROUPS,
            flight_control::update_groups::<UserGroup>,
        ),
        handle(
            &op::DELETE_USER_GROUPS,
            flight_control::delete_groups::<UserGroup>,
        ),
        handle(
            &op::QUERY_USER_GROUP_MEMBERS,
            flight_control::query_memberships::<UserGroup>,
        ),
        handle(
            &op::GET_USER_GROUP_MEMBERS_BY_ID_V2,
            flight_control::group_members::<UserGroup>,
        ),
        handle(
            &op::ADD_USER_GROUP_MEMBERS,
            flight_control::add_members::<UserGroup>,
        ),
        handle(
            &op::DELETE_USER_GROUP_MEMBERS,
            flight_control::remove_members::<UserGroup>,
        ),
        handle(&op::QUERY_ROLES, flight_control::query_links),
        handle(&op::GET_ROLES_BY_ID, flight_control::links),
        handle(&op::ADD_ROLE, flight_control::add_link_roles),
        handle(&op::DELETED_ROLES, flight_control::delete_link_roles),
    ]
}

/// What is wrong with `entries` against the table: operations without a handler, handlers of
/// operations the table lacks, operations with two. Empty when every operation has one.
fn problems(entries: &[Entry]) -> Vec<String> {
    let mut problems = Vec::new();
    let missing: Vec<&str> = operations::ALL
        .iter()
        .filter(|op| !entries.iter().any(|e| e.op == *op))
        .map(|op| op.id)
        .collect();
    if !missing.is_empty() {
        // The maintainer reads this after adding an operation to the spec: say where it goes.
        problems.push(format!(
            "no simulator handler for {}: write it in crates/falcon-users-sim/src/routes/<area>.rs \
             and file it under its operation in `registry()` in crates/falcon-users-sim/src/router.rs",
            missing.join(", ")
        ));
    }
    for (n, entry) in entries.iter().enumerate() {
        if !operations::ALL.contains(entry.op) {
            problems.push(format!("{} is not an operation of the table", entry.op));
        }
        if entries[..n].iter().any(|e| e.op == entry.op) {
            problems.push(format!("{} has two handlers", entry.op));
        }
    }
    problems
}

/// The router of every operation of the table, or what keeps it from being whole.
pub fn router(shared: Arc<Shared>) -> Result<Router, String> {
    let entries = registry();
    let problems = problems(&entries);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let mut paths: BTreeMap<&'static str, (Route, Vec<&'static str>)> = BTreeMap::new();
    for Entry { op, route } in entries {
        // The extension is the outer layer: the fault layer and the gate both read it.
        let route: Route = route
            .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
                shared.clone(),
                faults::inject,
            ))
            .layer::<_, std::convert::Infallible>(Extension(op));
        let method = method_name(op.method);
        // axum answers one path with one method router: the table's operations on a path merge.
        let merged = match paths.remove(op.path) {
            Some((previous, mut methods)) => {
                methods.push(method);
                (previous.merge(route), methods)
            }
            None => (route, vec![method]),
        };
        paths.insert(op.path, merged);
    }
    let mut router = Router::new();
    for (path, (route, methods)) in paths {
        let allow = methods.join(", ");
        router = router.route(
            path,
            route.fallback(move |method: Method| async move { method_not_allowed(method, allow) }),
        );
    }
    let max_body = shared.config.limits.max_body_bytes;
    Ok(router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            body::bounded,
        ))
        // The body layer enforces the limit: the extractors must not refuse what it admitted.
        .layer(DefaultBodyLimit::max(max_body))
        // Outermost: every answer, whatever layer gave it, leaves with rate headers.
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            rate::stamp,
        ))
        .with_state(shared))
}

/// The method's name, for `Allow`.
fn method_name(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
    }
}

/// A path of the API asked with a method none of its operations has: 405 in the envelope.
fn method_not_allowed(method: Method, allow: String) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &Headers::new(trace_id()),
        Instant::now(),
        format!("method {method} not allowed here; allowed: {allow}"),
    );
    if let Ok(value) = allow.parse() {
        response.headers_mut().insert("allow", value);
    }
    response
}

/// A path no operation has: 404 in the envelope, like every other answer.
async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &Headers::new(trace_id()),
        Instant::now(),
        format!("no operation at {method} {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_table_has_exactly_one_handler() {
        let problems = problems(&registry());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_missing_or_doubled_handler_is_named() {
        let mut entries = registry();
        let dropped = entries
            .iter()
            .position(|e| *e.op == operations::USER_ROLES_ACTION_V1)
            .expect("registered");
        entries.remove(dropped);
        entries.push(handle(&operations::QUERY_USER_V1, users::query_v1));
        assert_eq!(
            problems(&entries),
            [
                "no simulator handler for userRolesActionV1: write it in \
                 crates/falcon-users-sim/src/routes/<area>.rs and file it under its operation in \
                 `registry()` in crates/falcon-users-sim/src/router.rs",
                "queryUserV1 has two handlers"
            ]
        );
    }
}

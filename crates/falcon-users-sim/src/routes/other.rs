//! Aggregates, allowed actions, the permission catalogue, and invitations.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use falcon_users_api::types::{
    DomainActionValidationRequest, DomainActionValidationResponse, DomainAllowedActionResponse,
    DomainPermissionDetails, DomainPermissionGroup, FlightcontrolapiAggregatesResponse,
    FlightcontrolapiGetPermissionGroupsResponse, FlightcontrolapiGetPermissionsResponse,
    FlightcontrolapiGetRolePermissionsResponse, FlightcontrolapiInvitationResponse,
    FlightcontrolapiQueryInvitationResponse, MsaAggregateQueryRequest, MsaAggregationResult,
    MsaAggregationResultItem, MsaspecError, MsaspecIdsRequest, MsaspecQueryResponse,
    MsaspecResponseFields,
};
use serde::Serialize;

use super::users::{parse_filter, same_shape};
use super::{Params, body};
use crate::envelope::{answer, meta, paged_meta};
use crate::fql::{Filter, Sort};
use crate::gate::{Admitted, admit};
use crate::server::Shared;

type Answer = Result<Response, Response>;

/// Fields invitation queries filter and sort on.
const INVITATION_FIELDS: &[&str] = &[
    "status",
    "target_cid",
    "invitee_email",
    "inviter_email",
    "created_at",
    "expires_at",
];

/// Fields a terms aggregation can count users by.
const AGGREGATABLE: &[&str] = &["status", "cid", "first_name", "last_name"];

pub async fn aggregate_v1(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "aggregateUsersV1", false)?;
    aggregate(&shared, &gate, &bytes, false)
}

pub async fn aggregate_v2(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "aggregateUsersV2", false)?;
    match Params::parse(raw.as_deref()).get("user_type") {
        None | Some("" | "internal") => aggregate(&shared, &gate, &bytes, false),
        // The simulated tenants have no external users: every bucket count is zero.
        Some("external") => aggregate(&shared, &gate, &bytes, true),
        Some(other) => Err(gate.fail(
            StatusCode::BAD_REQUEST,
            format!("invalid user_type {other:?}"),
        )),
    }
}

/// Terms aggregations (bucket counts) over the token CID's users.
fn aggregate(shared: &Shared, gate: &Admitted, bytes: &[u8], external_only: bool) -> Answer {
    let requests: Vec<MsaAggregateQueryRequest> = body(bytes, gate)?;
    let state = shared.read();
    let tenant = state.tenants.get(&gate.token.cid);
    let mut results = Vec::new();
    for request in &requests {
        if request.type_.as_deref().is_some_and(|t| t != "terms")
            || !AGGREGATABLE.contains(&request.field.as_str())
        {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "only terms aggregations on {} are supported",
                    AGGREGATABLE.join(", ")
                ),
            ));
        }
        let filter = parse_filter(Some(request.filter.as_str()), gate)?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for user in tenant
            .into_iter()
            .filter(|_| !external_only)
            .flat_map(|t| t.users.values())
        {
            let value = |name: &str| -> Option<&str> {
                Some(match name {
                    "status" => &user.status,
                    "cid" => &user.cid,
                    "first_name" | "name" => &user.first_name,
                    "last_name" => &user.last_name,
                    "uid" => &user.uid,
                    "uuid" => &user.uuid,
                    _ => return None,
                })
            };
            if filter.as_ref().is_none_or(|f| f.matches(value)) {
                *counts
                    .entry(value(&request.field).unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        let mut buckets: Vec<(String, i64)> = counts.into_iter().collect();
        buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let size = if request.size > 0 {
            request.size as usize
        } else {
            10
        };
        let other: i64 = buckets.iter().skip(size).map(|b| b.1).sum();
        results.push(MsaAggregationResult {
            buckets: buckets
                .into_iter()
                .take(size)
                .map(|(label, count)| MsaAggregationResultItem {
                    count,
                    from: None,
                    key_as_string: Some(label.clone()),
                    label: Some(serde_json::Value::String(label)),
                    string_from: None,
                    string_to: None,
                    sub_aggregates: Vec::new(),
                    to: None,
                    value: None,
                    value_as_string: None,
                })
                .collect(),
            doc_count_error_upper_bound: Some(0),
            hits: None,
            name: request.name.clone(),
            sum_other_doc_count: Some(other),
        });
    }
    let body = FlightcontrolapiAggregatesResponse {
        errors: Some(Vec::new()),
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(results),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `userAllowedActionsV1`: echoes the actions the caller may perform (users it can see, in CIDs
/// it can act in).
pub async fn allowed_actions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "userAllowedActionsV1", true)?;
    let request: DomainActionValidationRequest = body(&bytes, &gate)?;
    let mut allowed = Vec::new();
    for action in request.allowed_actions {
        let Ok(cid) = gate.cid(&shared, Some(&action.cid)) else {
            continue;
        };
        let state = shared.read();
        let user_visible = [cid.as_str(), gate.token.cid.as_str()].iter().any(|c| {
            state
                .tenants
                .get(*c)
                .is_some_and(|t| t.users.contains_key(&action.uuid))
        });
        if user_visible {
            allowed.push(DomainAllowedActionResponse {
                action: action.action,
                cid,
                resource_ids: action.resource_ids,
                uuid: action.uuid,
            });
        }
    }
    let envelope = Envelope {
        errors: Vec::new(),
        meta: meta(gate.started, &gate.headers.trace),
        resources: allowed,
    };
    let body: DomainActionValidationResponse = same_shape(&envelope, &gate)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// A generic envelope, converted to the msa.* typed responses with [`same_shape`].
#[derive(Serialize)]
struct Envelope<T: Serialize> {
    errors: Vec<MsaspecError>,
    meta: falcon_users_api::types::MsaspecMetaInfo,
    resources: Vec<T>,
}

const GROUPS: &[(&str, &str)] = &[
    ("hosts", "Hosts"),
    ("detections", "Detections"),
    ("users", "User management"),
];

/// (id, group, name, depends on)
const PERMISSIONS: &[(&str, &str, &str, &[&str])] = &[
    ("hosts:read", "hosts", "View hosts", &[]),
    ("hosts:write", "hosts", "Manage hosts", &["hosts:read"]),
    ("detections:read", "detections", "View detections", &[]),
    (
        "detections:write",
        "detections",
        "Update detections",
        &["detections:read"],
    ),
    ("users:read", "users", "View users and roles", &[]),
    (
        "users:write",
        "users",
        "Manage users and grants",
        &["users:read"],
    ),
];

fn permission(id: &str) -> Option<DomainPermissionDetails> {
    let (pid, group, name, deps) = PERMISSIONS.iter().find(|p| p.0 == id)?;
    Some(DomainPermissionDetails {
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        description: format!("{name}."),
        display_name: (*name).into(),
        id: (*pid).into(),
        is_required_for: PERMISSIONS
            .iter()
            .filter(|p| p.3.contains(pid))
            .map(|p| p.0.to_owned())
            .collect(),
        permission_group_id: (*group).into(),
        type_: "permission".into(),
    })
}

pub async fn query_permissions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    let gate = admit(&shared, &headers, "queriesPermissionsV1", false)?;
    let (offset, limit) = Params::parse(raw.as_deref()).page(&gate, 5000, u64::MAX)?;
    let ids: Vec<String> = PERMISSIONS
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| p.0.to_owned())
        .collect();
    let body = MsaspecQueryResponse {
        meta: paged_meta(
            gate.started,
            &gate.headers.trace,
            offset,
            limit,
            PERMISSIONS.len(),
        ),
        resources: Some(ids),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

fn by_ids<T: Serialize>(
    gate: &Admitted,
    ids: &[String],
    find: impl Fn(&str) -> Option<T>,
) -> Result<(Envelope<T>, StatusCode), Response> {
    if ids.is_empty() || ids.len() > 500 {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            "between 1 and 500 ids are required",
        ));
    }
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match find(id) {
            Some(item) => found.push(item),
            None => errors.push(MsaspecError {
                code: 404,
                id: Some(id.clone()),
                message: format!("{id} not found"),
            }),
        }
    }
    let status = if found.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Ok((
        Envelope {
            errors,
            meta: meta(gate.started, &gate.headers.trace),
            resources: found,
        },
        status,
    ))
}

pub async fn permissions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "entitiesPermissionsGETV1", false)?;
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, permission)?;
    let body: FlightcontrolapiGetPermissionsResponse = same_shape(&envelope, &gate)?;
    Ok(answer(status, &gate.headers, &body))
}

pub async fn permission_groups(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "entitiesPermissionGroupsGETV1", false)?;
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, |id| {
        GROUPS
            .iter()
            .find(|g| g.0 == id)
            .map(|(gid, name)| DomainPermissionGroup {
                description: format!("Permissions for {name}."),
                display_name: (*name).into(),
                id: (*gid).into(),
                type_: "permission_group".into(),
            })
    })?;
    let body: FlightcontrolapiGetPermissionGroupsResponse = same_shape(&envelope, &gate)?;
    Ok(answer(status, &gate.headers, &body))
}

/// Administrators get every permission, other roles a read-only or a stable subset.
pub async fn role_permissions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    let gate = admit(&shared, &headers, "entitiesRolePermissionsV1", false)?;
    let id = Params::parse(raw.as_deref()).required("id", &gate)?;
    if shared.read().role(&gate.token.cid, &id).is_none() {
        return Err(gate.fail(StatusCode::NOT_FOUND, format!("role {id} not found")));
    }
    let ids: Vec<String> = PERMISSIONS
        .iter()
        .filter(|p| {
            id.contains("admin") || p.0.ends_with(":read") || (id.len() + p.0.len()) % 3 == 0
        })
        .map(|p| p.0.to_owned())
        .collect();
    let envelope = Envelope {
        errors: Vec::new(),
        meta: meta(gate.started, &gate.headers.trace),
        resources: ids,
    };
    let body: FlightcontrolapiGetRolePermissionsResponse = same_shape(&envelope, &gate)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// The simulated tenants have no pending invitations: queries page over none.
pub async fn query_invitations(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    let gate = admit(&shared, &headers, "queryUserInvitationsV1", false)?;
    let params = Params::parse(raw.as_deref());
    let (offset, limit) = params.page(&gate, 500, shared.config.offset_ceiling)?;
    if let Some(filter) = params.get("filter").filter(|f| !f.trim().is_empty()) {
        Filter::parse(filter, INVITATION_FIELDS)
            .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")))?;
    }
    if let Some(sort) = params.get("sort").filter(|s| !s.trim().is_empty()) {
        Sort::parse(sort, INVITATION_FIELDS)
            .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid sort: {e}")))?;
    }
    let envelope = Envelope::<String> {
        errors: Vec::new(),
        meta: paged_meta(gate.started, &gate.headers.trace, offset, limit, 0),
        resources: Vec::new(),
    };
    let body: FlightcontrolapiQueryInvitationResponse = same_shape(&envelope, &gate)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

pub async fn invitations(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let gate = admit(&shared, &headers, "getUserInvitationsGETV1", false)?;
    let request: MsaspecIdsRequest = body(&bytes, &gate)?;
    let (envelope, status) = by_ids(&gate, &request.ids, |_| None::<MsaspecResponseFields>)?;
    let empty = Envelope::<String> {
        errors: envelope.errors,
        meta: envelope.meta,
        resources: Vec::new(),
    };
    let body: FlightcontrolapiInvitationResponse = same_shape(&empty, &gate)?;
    Ok(answer(status, &gate.headers, &body))
}

//! Grants: a user's roles in a CID (combined v1–v3: direct grants and, unless `direct_only`,
//! the roles Flight Control links give), granting and revoking (v1, v2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use falcon_users_api::types::{
    DomainActionUserRolesRequestV2, FlightcontrolapiCombinedUserRolesResourceV2,
    FlightcontrolapiCombinedUserRolesResponseV1, FlightcontrolapiCombinedUserRolesResponseV2,
    FlightcontrolapiGrantInput, MsaspecResponseFields,
};

use crate::envelope::{answer, paged_meta, write_meta};
use crate::extract::{Params, body};
use crate::fql::Sort;
use crate::gate::Admitted;
use crate::shared::Shared;
use crate::state::{Grant, grant_resource, link_grant_resource};

type Answer = Result<Response, Response>;

/// `combinedUserRolesV1`: v2's answer in the v1 envelope.
pub async fn combined_v1(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let (gate, resources, paging) = combined(&shared, gate, raw.as_deref())?;
    let v2 = FlightcontrolapiCombinedUserRolesResponseV2 {
        errors: Some(Vec::new()),
        meta: paging,
        resources: Some(resources),
    };
    let body: FlightcontrolapiCombinedUserRolesResponseV1 = gate.reshape(&v2)?;
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

/// `CombinedUserRolesV2` and `CombinedUserRolesV3` (v3 answers like v2: the simulated tenants
/// have no partner-homed users).
pub async fn combined_v2(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
) -> Answer {
    let (gate, resources, paging) = combined(&shared, gate, raw.as_deref())?;
    let body = FlightcontrolapiCombinedUserRolesResponseV2 {
        errors: Some(Vec::new()),
        meta: paging,
        resources: Some(resources),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

type Combined = (
    Admitted,
    Vec<FlightcontrolapiCombinedUserRolesResourceV2>,
    falcon_users_api::types::MsaspecMetaInfo,
);

fn combined(shared: &Shared, gate: Admitted, raw: Option<&str>) -> Result<Combined, Response> {
    let params = Params::parse(raw);
    let uuid = params.required("user_uuid", &gate)?;
    let cid = gate.cid(shared, params.get("cid"))?;
    // Without it, the roles the parent's Flight Control links give in this CID are listed too.
    let direct_only = params.flag("direct_only", &gate)?;
    let (offset, limit) = params.page(&gate, 500, shared.config.offset_ceiling)?;
    let filter = params.filter(&gate, shared.clock().utc())?;
    let sort = params.sort(&gate)?.unwrap_or(Sort {
        field: "role_name".into(),
        descending: false,
    });
    let state = shared.read();
    if !gate.knows_user(&state, &cid, &uuid) {
        return Err(gate.unknown_user(&uuid));
    }
    let direct = state
        .tenants
        .get(&cid)
        .and_then(|t| t.grants.get(&uuid))
        .into_iter()
        .flatten()
        .map(|g| grant_resource(&state, &uuid, g));
    let linked = if direct_only {
        Vec::new()
    } else {
        state.fleet.link_grants(&uuid, &cid)
    };
    let linked = linked
        .iter()
        .map(|g| link_grant_resource(&state, &uuid, &cid, g));
    let mut all: Vec<FlightcontrolapiCombinedUserRolesResourceV2> = direct
        .chain(linked)
        .filter(|g| {
            filter.as_ref().is_none_or(|f| {
                f.matches(|field| match field {
                    "role_id" => Some(g.role_id.as_str()),
                    "role_name" => g.role_name.as_deref(),
                    "expires_at" => g.expires_at.as_deref(),
                    _ => None,
                })
            })
        })
        .collect();
    let key = |g: &FlightcontrolapiCombinedUserRolesResourceV2| -> String {
        match sort.field.as_str() {
            "cid" => g.cid.clone().unwrap_or_default(),
            "expires_at" => g.expires_at.clone().unwrap_or_default(),
            "type" => g.grant_type.clone().unwrap_or_default(),
            "user_uuid" => g.uuid.clone().unwrap_or_default(),
            _ => g.role_name.clone().unwrap_or_default(),
        }
    };
    // Ties (one role held directly and through links) in a fixed order: direct first, then
    // by user group and CID group.
    all.sort_by_key(|g| {
        (
            key(g),
            g.role_id.clone(),
            g.user_group_id.clone(),
            g.cid_group_id.clone(),
        )
    });
    if sort.descending {
        all.reverse();
    }
    let total = all.len();
    let page = all.into_iter().skip(offset).take(limit).collect();
    let paging = paged_meta(gate.started, &gate.headers.trace, offset, limit, total);
    Ok((gate, page, paging))
}

/// `userRolesActionV1`: grant or revoke roles, optionally until `expires_at`.
pub async fn action_v1(State(shared): State<Arc<Shared>>, gate: Admitted, bytes: Bytes) -> Answer {
    let input: FlightcontrolapiGrantInput = body(&bytes, &gate)?;
    let expires = match input.expires_at.as_deref().filter(|e| !e.is_empty()) {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    gate.fail(
                        StatusCode::BAD_REQUEST,
                        format!("invalid expires_at {text:?}"),
                    )
                })?
                .with_timezone(&Utc),
        ),
    };
    let action = match input.action.as_deref() {
        Some("grant") => true,
        Some("revoke") => false,
        other => {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("invalid action {other:?}: grant or revoke"),
            ));
        }
    };
    apply(
        &shared,
        &gate,
        action,
        input.uuid.as_deref(),
        input.cid.as_deref(),
        &input.role_ids,
        expires,
    )
}

/// `userRolesActionV2`: v1 with the action names of v2.
pub async fn action_v2(State(shared): State<Arc<Shared>>, gate: Admitted, bytes: Bytes) -> Answer {
    let input: DomainActionUserRolesRequestV2 = body(&bytes, &gate)?;
    let action = match input.action.as_deref() {
        Some("grant" | "assign-role") => true,
        Some("revoke" | "remove-role") => false,
        other => {
            return Err(gate.fail(StatusCode::BAD_REQUEST, format!("invalid action {other:?}")));
        }
    };
    apply(
        &shared,
        &gate,
        action,
        input.uuid.as_deref(),
        input.cid.as_deref(),
        &input.role_ids,
        input.expires_at,
    )
}

/// How far a request may have travelled (and the client's clock be behind) for a grant
/// computed as "one hour from now" to still count as one hour ahead.
const TRANSIT_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// Whether a temporary grant ending `ahead` of the request's arrival is allowed: 1 hour to
/// 7 days (the reference), less [`TRANSIT_GRACE`] at the short end.
fn expiry_allowed(ahead: chrono::Duration) -> bool {
    ahead >= chrono::Duration::hours(1) - TRANSIT_GRACE && ahead <= chrono::Duration::days(7)
}

fn apply(
    shared: &Shared,
    gate: &Admitted,
    grant: bool,
    uuid: Option<&str>,
    cid: Option<&str>,
    role_ids: &[String],
    expires_at: Option<DateTime<Utc>>,
) -> Answer {
    let uuid = uuid
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| gate.fail(StatusCode::BAD_REQUEST, "uuid is required"))?;
    if cid.is_none_or(|c| c.trim().is_empty()) {
        return Err(gate.fail(StatusCode::BAD_REQUEST, "cid is required"));
    }
    let cid = gate.cid(shared, cid)?;
    if role_ids.is_empty() {
        return Err(gate.fail(StatusCode::BAD_REQUEST, "role_ids is required"));
    }
    if let Some(at) = expires_at {
        // Measured from when the request arrived, not from when the lock was won.
        let arrived = shared.clock().utc() - gate.started.elapsed();
        if !expiry_allowed(at - arrived) {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                "expires_at must be between 1 hour and 7 days from now",
            ));
        }
    }
    let mut state = shared.write();
    if !gate.knows_user(&state, &cid, uuid) {
        return Err(gate.unknown_user(uuid));
    }
    if let Some(bad) = state.refused_role(&cid, role_ids, uuid, grant) {
        return Err(gate.invalid_role(bad));
    }
    let expires = expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let tenant = state
        .tenants
        .get_mut(&cid)
        .ok_or_else(|| gate.fail(StatusCode::FORBIDDEN, "unknown CID"))?;
    let held = tenant.grants.entry(uuid.to_owned()).or_default();
    let mut changed = 0;
    for role in role_ids {
        let position = held.iter().position(|g| &g.role_id == role);
        match (grant, position) {
            (true, None) => {
                held.push(Grant {
                    role_id: role.clone(),
                    cid: cid.clone(),
                    expires_at: expires.clone(),
                });
                changed += 1;
            }
            (true, Some(i)) => held[i].expires_at = expires.clone(),
            (false, Some(i)) => {
                held.remove(i);
                changed += 1;
            }
            (false, None) => {}
        }
    }
    if held.is_empty() {
        tenant.grants.remove(uuid);
    }
    if let Some(at) = expires_at.filter(|_| grant) {
        shared.lapses_at(at);
    }
    let body = MsaspecResponseFields {
        errors: Some(Vec::new()),
        meta: write_meta(gate.started, &gate.headers.trace, changed),
    };
    Ok(answer(StatusCode::OK, &gate.headers, &body))
}

#[cfg(test)]
mod tests {
    use super::expiry_allowed;
    use chrono::Duration;

    #[test]
    fn temporary_grants_last_one_hour_to_seven_days() {
        for (ahead, allowed) in [
            (Duration::minutes(59), false),
            (Duration::minutes(59) + Duration::seconds(49), false),
            (Duration::minutes(59) + Duration::seconds(50), true),
            (Duration::hours(1), true),
            (Duration::days(7), true),
            (Duration::days(7) + Duration::seconds(1), false),
            (Duration::hours(-1), false),
        ] {
            assert_eq!(expiry_allowed(ahead), allowed, "{ahead}");
        }
    }
}

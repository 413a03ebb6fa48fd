//! Aggregates: terms (bucket counts) over the users of the token's CID.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::{
    FlightcontrolapiAggregatesResponse, MsaAggregationResult, MsaAggregationResultItem,
};
use falcon_users_api::{Operation, operations};

use serde::Deserialize;

use crate::envelope::{answer, meta};
use crate::extract::{Params, body, filter};
use crate::gate::Admitted;
use crate::shared::Shared;

type Answer = Result<Response, Response>;

/// The fields an aggregation's filter may name. The table states none for the aggregate
/// operations (the filter travels in the body), so they take the user query's of the same
/// version: the same users, filtered the same way.
fn filter_fields(op: &Operation) -> &'static [&'static str] {
    if *op == operations::AGGREGATE_USERS_V2 {
        operations::QUERY_USER_V2.filter_fields
    } else {
        operations::QUERY_USER_V1.filter_fields
    }
}

/// One aggregation of the request body: the members the simulator reads, each defaulting to
/// empty when absent. The spec marks all fifteen members of `msa.AggregateQueryRequest`
/// required, but the service takes partial bodies: FalconPy's `aggregate_payload` sends only
/// the members its caller names ("no parameters shown below are required"), and the other
/// members are ignored here as the service ignores what a terms aggregation does not use.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Aggregation {
    field: String,
    filter: String,
    name: String,
    size: i32,
    #[serde(rename = "type")]
    type_: Option<String>,
}

/// Fields a terms aggregation can count users by.
const AGGREGATABLE: &[&str] = &["status", "cid", "first_name", "last_name"];

/// `aggregateUsersV1`.
pub async fn aggregate_v1(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    bytes: Bytes,
) -> Answer {
    aggregate(&shared, &gate, &bytes, false)
}

/// `aggregateUsersV2`: v1 and `user_type`.
pub async fn aggregate_v2(
    State(shared): State<Arc<Shared>>,
    gate: Admitted,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
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
    let requests: Vec<Aggregation> = body(bytes, gate)?;
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
        let filter = filter(
            Some(request.filter.as_str()),
            filter_fields(gate.op),
            gate,
            shared.clock().utc(),
        )?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for user in tenant
            .into_iter()
            .filter(|_| !external_only)
            .flat_map(|t| t.users.values())
        {
            let values = |name: &str| state.user_values(user, name);
            if filter.as_ref().is_none_or(|f| f.matches(values)) {
                *counts.entry(values(&request.field).concat()).or_default() += 1;
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

#[cfg(test)]
mod tests {
    use super::Aggregation;

    /// A partial body, as FalconPy's `aggregate_payload` builds it, is read; absent members are
    /// empty and members the simulator does not use are ignored.
    #[test]
    fn a_partial_aggregation_body_is_read() {
        let partial = br#"[{"field": "status", "name": "by_status", "type": "terms", "size": 5},
                           {"field": "cid", "ranges": [], "q": ""}]"#;
        let read: Vec<Aggregation> = serde_json::from_slice(partial).unwrap();
        let got: Vec<_> = read
            .iter()
            .map(|a| {
                (
                    a.field.as_str(),
                    a.name.as_str(),
                    a.filter.as_str(),
                    a.size,
                    a.type_.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("status", "by_status", "", 5, Some("terms")),
                ("cid", "", "", 0, None)
            ]
        );
    }
}

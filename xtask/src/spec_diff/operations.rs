//! Operations present on both sides: what differs about them.

use anyhow::Result;
use serde_json::Value;

use super::finding::{Finding, Pair};
use super::inputs::{diff_body, diff_params, ours_inputs, upstream_inputs};
use super::operation::Operation;
use super::responses::diff_responses;

/// Differences within one operation present in both documents.
pub(super) fn diff_operation(
    pair: &Pair<'_>,
    id: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    if up.method != ours.method {
        findings.push(Finding::new(
            format!("op.method:{id}"),
            format!(
                "method differs: upstream {}, ours {}",
                up.method.to_uppercase(),
                ours.method.to_uppercase()
            ),
        ));
    }
    if up.path != ours.path {
        findings.push(Finding::new(
            format!("op.path:{id}"),
            format!("path differs: upstream {}, ours {}", up.path, ours.path),
        ));
    }
    let (up_dep, ours_dep) = (is_deprecated(up.op), is_deprecated(ours.op));
    if up_dep != ours_dep {
        findings.push(Finding::new(
            format!("op.deprecated:{id}"),
            format!("deprecated differs: upstream {up_dep}, ours {ours_dep}"),
        ));
    }
    let up_inputs = upstream_inputs(pair.upstream, up)?;
    let ours_inputs = ours_inputs(pair.ours, ours)?;
    findings.extend(diff_params(
        pair,
        id,
        &up_inputs.params,
        &ours_inputs.params,
    )?);
    findings.extend(diff_body(pair, id, up_inputs.body, ours_inputs.body)?);
    findings.extend(diff_responses(pair, id, up, ours)?);
    Ok(findings)
}

fn is_deprecated(op: &Value) -> bool {
    op.get("deprecated")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

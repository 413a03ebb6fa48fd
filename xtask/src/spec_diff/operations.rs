//! Operations: which exist on each side, where they live, and what differs about them.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::document::Document;
use super::inputs::{diff_body, diff_params, ours_inputs, upstream_inputs};
use super::responses::diff_responses;
use super::{Finding, Pair};

/// The HTTP methods that can key an operation in a path item (both formats).
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An operation and where it lives.
pub(crate) struct Operation<'a> {
    pub(crate) method: &'static str,
    pub(crate) path: &'a str,
    pub(crate) path_item: &'a Value,
    pub(crate) op: &'a Value,
}

/// All operations of `doc`, keyed by operationId (or `method:path` when it has none).
pub(crate) fn operations(doc: &Document) -> Result<BTreeMap<String, Operation<'_>>> {
    let paths = doc
        .root
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("{}: no `paths` object", doc.path.display()))?;
    let mut ops = BTreeMap::new();
    for (path, item) in paths {
        let path_item = doc.deref(item)?;
        for method in METHODS {
            let Some(op) = path_item.get(method) else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{method}:{path}"), str::to_owned);
            let operation = Operation {
                method,
                path,
                path_item,
                op,
            };
            if ops.insert(id.clone(), operation).is_some() {
                bail!("{}: duplicate operationId `{id}`", doc.path.display());
            }
        }
    }
    Ok(ops)
}

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

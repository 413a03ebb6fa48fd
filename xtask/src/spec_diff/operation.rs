//! Operations: which exist in a document, and where they live.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::document::Document;

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

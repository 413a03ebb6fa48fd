//! `cargo xtask spec-diff`: compare our OpenAPI 3.0 spec with upstream's Swagger 2.0 documents.
//!
//! Upstream publishes one document per collection (User Management; Flight Control with the
//! sensor-download CCID lookup), and our spec holds operations of several. Each operation of ours
//! is compared with the first upstream document given that has it; it is `op.extra` only when
//! none has it. The collections the spec covers are its top-level `tags`: an upstream operation
//! tagged only with others (Flight Control's `mssp`) is out of scope, not missing, and so are
//! the definitions only such operations use. A spec without `tags` covers everything. A tag marked
//! `x-falcon-partial: true` is a collection being curated an operation at a time: each of its
//! upstream operations ours lacks is one `op.uncurated:<tag>:<operationId>` (so one curation
//! pattern per collection says why, and the list of what is left stays in the report) instead of
//! an `op.missing`, and the definitions only those operations use are not `schema.missing`.
//!
//! Our spec is curated by hand, so it can silently drift from the API it describes. This task
//! lists every factual difference (operations, parameters, request bodies, responses, schema
//! names) with a stable key such as `param.type:queryUserV1:query.limit`. `spec/CURATION.md`
//! explains deliberate differences with glob patterns over those keys; CI fails only on drift
//! that nobody has explained yet.
//!
//! Both documents are read as plain `serde_json::Value`s: the upstream is Swagger 2.0, which
//! `openapiv3` cannot parse, and a structural walk over JSON treats both formats alike.
//! Schemas are compared by shape, never by name: `$ref`s are resolved, so two differently named
//! definitions with the same properties and types are not drift.
//!
//! Key format, `<kind>:<context>` with `<kind>` one of:
//!
//! | kind                       | context                          |
//! |----------------------------|----------------------------------|
//! | `op.missing` / `op.extra`  | `<operationId>`                  |
//! | `op.uncurated`             | `<tag>:<operationId>`            |
//! | `op.method` / `op.path`    | `<operationId>`                  |
//! | `op.deprecated`            | `<operationId>`                  |
//! | `param.missing` / `param.extra` / `param.required` / `param.array` / `param.type` / `param.style` | `<operationId>:<location>.<name>` |
//! | `body.missing` / `body.extra` / `body.required` / `body.type` | `<operationId>` |
//! | `body.prop.missing` / `body.prop.extra` / `body.prop.type` | `<operationId>:<property path>` |
//! | `response.status.missing` / `response.status.extra` | `<operationId>:<status>` |
//! | `response.schema.missing` / `response.schema.extra` / `response.type` | `<operationId>:<status>` |
//! | `response.prop.missing` / `response.prop.extra` / `response.prop.type` | `<operationId>:<status>:<property path>` |
//! | `model.prop.missing` / `model.prop.extra` / `model.prop.type` | `<model>:<property path>` |
//! | `schema.missing`           | `<definition name>`              |
//!
//! "missing" means upstream has it and we do not; "extra" the reverse. Locations are `query`,
//! `path`, `header`, `cookie` and `formData` (a property of our form-encoded request body).
//! Property paths are dotted, with `[]` for array items and `{}` for map values, e.g.
//! `resources[].user_type`.
//!
//! A difference inside a named schema (a `$ref` on either side) belongs to that model, the
//! innermost one around it: it is reported once as `model.prop.*:<model>:<path inside it>`,
//! with the operations whose bodies or responses reach it listed in the message, instead of once
//! per operation. `<model>` is the definition name when both sides use the same one, else
//! `<upstream name>=<our name>` (`-` for an inline side): `msa.QueryResponse=msaspec.ResponseFields`
//! is upstream's `msa.QueryResponse` where we answer with `msaspec.ResponseFields`, so a pattern
//! for that substitution never hides drift in our own `msa.QueryResponse`. Only differences
//! outside every named schema keep the per-operation `body.*`/`response.*` keys.
//!
//! Modules, one per concern: [`document`] (loading, `$ref`s), [`finding`] (what a difference
//! is), [`operation`] (which operations each side has), [`operations`] (how two differ), [`inputs`]
//! (parameters, request bodies), [`responses`], [`schema`] (shape comparison and models),
//! [`curation`] (the explained-drift patterns) and [`report`].

pub(crate) mod curation;
pub(crate) mod document;
mod finding;
mod inputs;
pub(crate) mod operation;
mod operations;
mod report;
mod responses;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use curation::Curation;
use document::Document;
use finding::{Finding, Pair};
use report::Report;
use serde_json::Value;

/// Compares `upstreams` (Swagger 2.0, one or more) with `spec` (our OpenAPI 3.0), prints one
/// line per difference (only the unexplained ones with `unexplained_only`) and a summary, and
/// returns whether every difference is explained by `curation`.
pub fn run(
    upstreams: &[PathBuf],
    spec: &Path,
    curation: &Path,
    unexplained_only: bool,
) -> Result<bool> {
    let upstream_docs = upstreams
        .iter()
        .map(|path| Document::load(path))
        .collect::<Result<Vec<_>>>()?;
    let ours_doc = Document::load(spec)?;
    let curation = Curation::load(curation)?;
    let findings = diff(&upstream_docs, &ours_doc)?;
    let report = Report::build(&findings, &curation, unexplained_only);
    let names: Vec<String> = upstreams.iter().map(|p| p.display().to_string()).collect();
    println!(
        "spec-diff: comparing {} with upstream {}",
        spec.display(),
        names.join(", ")
    );
    print!("{}", report.text);
    Ok(report.unexplained == 0)
}

/// The collections (tags) our spec covers, each with whether it is only partly curated
/// (`x-falcon-partial: true`); `None` when the spec declares none (it covers all).
fn collections(ours: &Document) -> Option<BTreeMap<&str, bool>> {
    let tags = ours.root.get("tags")?.as_array()?;
    Some(
        tags.iter()
            .filter_map(|t| {
                let name = t.get("name").and_then(Value::as_str)?;
                let partial = t.get("x-falcon-partial").and_then(Value::as_bool) == Some(true);
                Some((name, partial))
            })
            .collect(),
    )
}

/// How an upstream operation our spec lacks is judged.
#[derive(Debug, PartialEq, Eq)]
enum Scope<'a> {
    /// In a collection the spec covers: missing.
    Covered,
    /// Only in a collection being curated (the tag named): not curated yet.
    Partial(&'a str),
    /// Only in collections the spec does not cover: not compared.
    Out,
}

/// Where an upstream operation falls among the spec's collections (an untagged one is covered,
/// and a covering tag wins over a partial one).
fn scope<'a>(op: &'a Value, covered: Option<&BTreeMap<&str, bool>>) -> Scope<'a> {
    let Some(covered) = covered else {
        return Scope::Covered;
    };
    let tags: Vec<&str> = op
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if tags.is_empty() || tags.iter().any(|t| covered.get(t) == Some(&false)) {
        return Scope::Covered;
    }
    match tags.iter().find(|t| covered.get(*t) == Some(&true)) {
        Some(tag) => Scope::Partial(tag),
        None => Scope::Out,
    }
}

/// Every difference between the upstream documents and ours: by operation (in operationId
/// order), then operations only we have, then model differences (each once, in key order), then
/// schema names.
fn diff(upstreams: &[Document], ours: &Document) -> Result<Vec<Finding>> {
    let covered = collections(ours);
    let ours_ops = operation::operations(ours)?;
    // Each upstream operation with the document it is compared in: the first that has it.
    let mut upstream_ops: BTreeMap<String, (&Document, operation::Operation<'_>)> = BTreeMap::new();
    let mut uncurated: BTreeMap<String, Finding> = BTreeMap::new();
    for doc in upstreams {
        for (id, op) in operation::operations(doc)? {
            if !ours_ops.contains_key(&id) {
                match scope(op.op, covered.as_ref()) {
                    Scope::Covered => {}
                    Scope::Out => continue,
                    Scope::Partial(tag) => {
                        uncurated.entry(id.clone()).or_insert_with(|| {
                            Finding::new(
                                format!("op.uncurated:{tag}:{id}"),
                                format!(
                                    "upstream has {} {} in the `{tag}` collection, not curated yet",
                                    op.method.to_uppercase(),
                                    op.path
                                ),
                            )
                        });
                        continue;
                    }
                }
            }
            upstream_ops.entry(id).or_insert((doc, op));
        }
    }
    let mut findings = Vec::new();
    for (id, (doc, up_op)) in &upstream_ops {
        match ours_ops.get(id) {
            None => findings.push(Finding::new(
                format!("op.missing:{id}"),
                format!(
                    "upstream has {} {}, ours does not",
                    up_op.method.to_uppercase(),
                    up_op.path
                ),
            )),
            Some(our_op) => {
                let pair = Pair::new(doc, ours);
                findings.extend(operations::diff_operation(&pair, id, up_op, our_op)?);
            }
        }
    }
    for (id, our_op) in &ours_ops {
        if !upstream_ops.contains_key(id) {
            findings.push(Finding::new(
                format!("op.extra:{id}"),
                format!(
                    "ours has {} {}, upstream does not",
                    our_op.method.to_uppercase(),
                    our_op.path
                ),
            ));
        }
    }
    // An operation that only one document leaves uncurated is still compared in the other.
    findings.extend(
        uncurated
            .into_iter()
            .filter(|(id, _)| !upstream_ops.contains_key(id))
            .map(|(_, finding)| finding),
    );
    let mut findings = merge_models(findings);
    let mut missing = BTreeMap::new();
    for doc in upstreams {
        let used: Vec<&Value> = upstream_ops
            .values()
            .filter(|(d, _)| std::ptr::eq(*d, doc))
            .map(|(_, op)| op.op)
            .collect();
        for finding in schema::diff_schema_names(doc, ours, &used)? {
            missing.entry(finding.key.clone()).or_insert(finding);
        }
    }
    findings.extend(missing.into_values());
    Ok(findings)
}

/// Keeps operation findings in order and folds the model findings, which every use of a model
/// repeats, into one per key listing all the uses.
fn merge_models(findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept = Vec::new();
    let mut models: BTreeMap<String, Finding> = BTreeMap::new();
    for finding in findings {
        if finding.used_in.is_empty() {
            kept.push(finding);
            continue;
        }
        match models.get_mut(&finding.key) {
            Some(merged) => {
                for used in finding.used_in {
                    if !merged.used_in.contains(&used) {
                        merged.used_in.push(used);
                    }
                }
            }
            None => {
                models.insert(finding.key.clone(), finding);
            }
        }
    }
    kept.extend(models.into_values());
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_collection_reports_the_operations_ours_lacks_as_uncurated_not_missing() {
        use serde_json::json;
        let upstream = document::test_document(json!({
            "swagger": "2.0",
            "paths": {
                "/a": {"get": {"operationId": "a", "tags": ["part"],
                    "responses": {"200": {"description": "ok"}}}},
                "/b": {"get": {"operationId": "b", "tags": ["part"],
                    "responses": {"200": {"description": "ok",
                        "schema": {"$ref": "#/definitions/OnlyB"}}}}},
                "/c": {"get": {"operationId": "c", "tags": ["whole"],
                    "responses": {"200": {"description": "ok"}}}},
                "/d": {"get": {"operationId": "d", "tags": ["other"],
                    "responses": {"200": {"description": "ok"}}}}
            },
            "definitions": {"OnlyB": {"type": "object", "properties": {"x": {"type": "string"}}}}
        }));
        let ours = |partial: bool| {
            document::test_document(json!({
                "openapi": "3.0.3",
                "tags": [{"name": "part", "x-falcon-partial": partial}, {"name": "whole"}],
                "paths": {"/a": {"get": {"operationId": "a", "tags": ["part"],
                    "responses": {"200": {"description": "ok"}}}}},
                "components": {"schemas": {}}
            }))
        };
        let keys = |ours: &Document| -> Vec<String> {
            diff(std::slice::from_ref(&upstream), ours)
                .unwrap()
                .into_iter()
                .map(|f| f.key)
                .collect()
        };
        assert_eq!(
            keys(&ours(true)),
            ["op.missing:c", "op.uncurated:part:b"],
            "b is left for later, c is missing, d is out of scope, OnlyB is not missing"
        );
        assert_eq!(
            keys(&ours(false)),
            ["op.missing:b", "op.missing:c", "schema.missing:OnlyB"],
            "a fully covered collection holds every operation"
        );
    }

    #[test]
    fn model_findings_are_merged_by_key_and_keep_every_use_once() {
        let model = |used: &str| Finding {
            used_in: vec![used.to_owned()],
            ..Finding::new("model.prop.missing:M:x", "upstream has it")
        };
        let merged = merge_models(vec![
            model("a 200"),
            Finding::new("op.missing:b", "gone"),
            model("c 400"),
            model("a 200"),
        ]);
        let keys: Vec<_> = merged.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["op.missing:b", "model.prop.missing:M:x"]);
        assert_eq!(merged[1].used_in, ["a 200", "c 400"]);
    }
}

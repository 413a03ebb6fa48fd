//! Structural schema comparison, and which shared model a difference belongs to.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::Value;

use super::document::Document;
use super::finding::{Finding, Pair};

/// How deep the structural schema walk goes. Real envelopes nest about five levels; the limit
/// only guards against pathological documents, the cycle guard handles recursive schemas.
const MAX_SCHEMA_DEPTH: usize = 32;

/// Upstream definitions that our `components.schemas` lacks, among those the compared
/// operations `used` reach (directly or through other definitions): a definition only an
/// out-of-scope operation uses is not ours to have. Only this direction: names are what SDK
/// users see, and a helper schema only we have is our own business.
pub(super) fn diff_schema_names(
    upstream: &Document,
    ours: &Document,
    used: &[&Value],
) -> Result<Vec<Finding>> {
    let ours_names = ours.keys_at("/components/schemas")?;
    let defined = upstream.keys_at("/definitions")?;
    let mut reached = BTreeSet::new();
    let mut todo: Vec<&Value> = used.to_vec();
    while let Some(value) = todo.pop() {
        let mut names = Vec::new();
        definition_refs(value, &mut names);
        for name in names {
            let pointer = format!(
                "/definitions/{}",
                name.replace('~', "~0").replace('/', "~1")
            );
            if defined.contains(name)
                && reached.insert(name)
                && let Some(def) = upstream.root.pointer(&pointer)
            {
                todo.push(def);
            }
        }
    }
    Ok(reached
        .difference(&ours_names)
        .map(|name| {
            Finding::new(
                format!("schema.missing:{name}"),
                "upstream defines it, our components.schemas does not",
            )
        })
        .collect())
}

/// The definition names of every `#/definitions/...` reference inside `value`.
fn definition_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => {
                        if let Some(name) = r.strip_prefix("#/definitions/") {
                            out.push(name);
                        }
                    }
                    _ => definition_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| definition_refs(v, out)),
        _ => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DiffKind {
    /// Upstream has the property, we do not.
    Missing,
    /// We have the property, upstream does not.
    Extra,
    /// Both have it, with different types.
    Type,
}

/// One shape difference, with both type labels. Inside a named schema, `model` names it and
/// `path` is relative to it; otherwise `path` is relative to the compared schema (empty for
/// the schema itself).
#[derive(Debug)]
pub(super) struct SchemaDiff {
    pub(super) kind: DiffKind,
    pub(super) model: Option<String>,
    pub(super) path: String,
    pub(super) upstream: String,
    pub(super) ours: String,
}

/// Turns shape differences into findings: `model.prop.<kind>:<model>:<path>` inside a named
/// schema (used at `use_site`, merged with the model's other uses later); otherwise
/// `<prefix>.type:<context>` for the schema itself and `<prefix>.prop.<kind>:<context>:<path>`
/// below it.
pub(super) fn schema_findings(
    prefix: &str,
    context: &str,
    use_site: &str,
    diffs: &[SchemaDiff],
) -> Vec<Finding> {
    diffs
        .iter()
        .map(|diff| {
            let kind = match diff.kind {
                DiffKind::Missing => "missing",
                DiffKind::Extra => "extra",
                DiffKind::Type => "type",
            };
            let detail = match diff.kind {
                DiffKind::Type => {
                    format!(
                        "type differs: upstream {}, ours {}",
                        diff.upstream, diff.ours
                    )
                }
                DiffKind::Missing => format!("upstream has it ({}), ours does not", diff.upstream),
                DiffKind::Extra => format!("ours has it ({}), upstream does not", diff.ours),
            };
            match (&diff.model, diff.path.is_empty()) {
                (Some(model), _) => Finding {
                    used_in: vec![use_site.to_owned()],
                    ..Finding::new(format!("model.prop.{kind}:{model}:{}", diff.path), detail)
                },
                (None, true) => Finding::new(format!("{prefix}.type:{context}"), detail),
                (None, false) => Finding::new(
                    format!("{prefix}.prop.{kind}:{context}:{}", diff.path),
                    detail,
                ),
            }
        })
        .collect()
}

/// Compares two schemas by shape (resolving `$ref`s on both sides) and lists the differences.
pub(super) fn compare_schemas(
    pair: &Pair<'_>,
    up: &Value,
    ours: &Value,
) -> Result<Vec<SchemaDiff>> {
    let mut walk = SchemaWalk {
        pair: *pair,
        stack: Vec::new(),
        diffs: Vec::new(),
    };
    walk.compare(up, ours, "")?;
    Ok(walk.diffs)
}

/// The `$ref`s (if any) each side took to reach a schema.
type Refs<'a> = (Option<&'a str>, Option<&'a str>);

/// A schema being compared further up the walk.
struct Frame<'a> {
    refs: Refs<'a>,
    /// Its path from the compared schema.
    path: String,
}

/// State of one structural comparison.
struct SchemaWalk<'a> {
    pair: Pair<'a>,
    /// The schemas being compared further up: so recursive schemas (a tree of
    /// `sub_aggregates`) stop where they would repeat instead of recursing forever, and so a
    /// difference can be charged to the innermost named model around it.
    stack: Vec<Frame<'a>>,
    diffs: Vec<SchemaDiff>,
}

impl<'a> SchemaWalk<'a> {
    fn compare(&mut self, up: &'a Value, ours: &'a Value, path: &str) -> Result<()> {
        if self.stack.len() >= MAX_SCHEMA_DEPTH {
            return Ok(());
        }
        let (up, up_ref) = self.pair.upstream.resolve(up)?;
        let (ours, ours_ref) = self.pair.ours.resolve(ours)?;
        let refs = (up_ref, ours_ref);
        if refs != (None, None) && self.stack.iter().any(|frame| frame.refs == refs) {
            return Ok(());
        }
        let (up_type, ours_type) = (type_label(up), type_label(ours));
        if up_type != ours_type {
            // A schema replaced by one of another type is a change of whatever holds it.
            self.push(DiffKind::Type, path.to_owned(), up_type, ours_type);
            return Ok(());
        }
        self.stack.push(Frame {
            refs,
            path: path.to_owned(),
        });
        let result = self.compare_children(up, ours, path);
        self.stack.pop();
        result
    }

    /// Properties, array items and map values of two schemas of the same type.
    fn compare_children(&mut self, up: &'a Value, ours: &'a Value, path: &str) -> Result<()> {
        self.compare_properties(up, ours, path)?;
        if let (Some(up_items), Some(ours_items)) = (up.get("items"), ours.get("items")) {
            self.compare(up_items, ours_items, &format!("{path}[]"))?;
        }
        if let (Some(up_values), Some(ours_values)) = (map_values(up), map_values(ours)) {
            self.compare(up_values, ours_values, &format!("{path}{{}}"))?;
        }
        Ok(())
    }

    fn compare_properties(&mut self, up: &'a Value, ours: &'a Value, path: &str) -> Result<()> {
        let up_props = properties(up);
        let ours_props = properties(ours);
        for (name, up_prop) in &up_props {
            let child = join_path(path, name);
            match ours_props.get(name) {
                Some(ours_prop) => self.compare(up_prop, ours_prop, &child)?,
                None => {
                    let label = type_label(self.pair.upstream.deref(up_prop)?);
                    self.push(DiffKind::Missing, child, label, String::new());
                }
            }
        }
        for (name, ours_prop) in &ours_props {
            if !up_props.contains_key(name) {
                let label = type_label(self.pair.ours.deref(ours_prop)?);
                self.push(DiffKind::Extra, join_path(path, name), String::new(), label);
            }
        }
        Ok(())
    }

    /// Records a difference at `path`, charged to the innermost named schema around it.
    fn push(&mut self, kind: DiffKind, path: String, upstream: String, ours: String) {
        let owner = self
            .stack
            .iter()
            .rev()
            .find(|frame| frame.refs != (None, None));
        let (model, path) = match owner {
            Some(frame) => (Some(model_name(frame.refs)), relative(&path, &frame.path)),
            None => (None, path),
        };
        self.diffs.push(SchemaDiff {
            kind,
            model,
            path,
            upstream,
            ours,
        });
    }
}

/// The model a pair of references denotes: the definition name when both sides agree, else
/// `<upstream>=<ours>`, with `-` for a side that is inline.
fn model_name((up, ours): Refs<'_>) -> String {
    let (up, ours) = (ref_name(up), ref_name(ours));
    if up == ours {
        up.to_owned()
    } else {
        format!("{up}={ours}")
    }
}

/// The definition a reference names (`#/definitions/msa.Foo` → `msa.Foo`), `-` for none.
fn ref_name(reference: Option<&str>) -> &str {
    reference.map_or("-", |r| r.rsplit('/').next().unwrap_or(r))
}

/// `path` below `prefix`: `resources[].label` below `resources[]` is `label`, `[]` below the
/// root is `[]`.
fn relative(path: &str, prefix: &str) -> String {
    let rest = path.strip_prefix(prefix).unwrap_or(path);
    rest.strip_prefix('.').unwrap_or(rest).to_owned()
}

/// A schema's properties by name (sorted, so the report is stable).
pub(super) fn properties(schema: &Value) -> BTreeMap<&str, &Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str(), value))
        .collect()
}

/// The value schema of a map (`additionalProperties` given as a schema, not a boolean).
fn map_values(schema: &Value) -> Option<&Value> {
    schema
        .get("additionalProperties")
        .filter(|values| values.is_object())
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A schema's type for comparison: `type` with its `format` (`integer(int64)`), `map` for an
/// object whose values are typed by `additionalProperties`, and an inferred `object`/`array`
/// (or `any`) when `type` is absent. Descriptions, `nullable`, `required`, enums and examples
/// are not part of it.
pub(super) fn type_label(schema: &Value) -> String {
    let declared = schema.get("type").and_then(Value::as_str);
    let base = match declared {
        Some("object") | None if map_values(schema).is_some() => "map",
        Some(declared) => declared,
        None if schema.get("properties").is_some() => "object",
        None if schema.get("items").is_some() => "array",
        None => "any",
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base}({format})"),
        None => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_diff::document::test_document as doc;
    use serde_json::json;

    #[test]
    fn type_labels() {
        assert_eq!(
            type_label(&json!({"type": "integer", "format": "int64"})),
            "integer(int64)"
        );
        assert_eq!(type_label(&json!({"properties": {}})), "object");
        assert_eq!(type_label(&json!({"items": {}})), "array");
        assert_eq!(
            type_label(&json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "map"
        );
        assert_eq!(
            type_label(&json!({"type": "object", "additionalProperties": true})),
            "object"
        );
        assert_eq!(type_label(&json!({})), "any");
    }

    #[test]
    fn recursive_schemas_terminate_and_nested_paths_are_dotted() {
        let upstream = doc(json!({"definitions": {
            "Tree": {"type": "object", "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}
            }}
        }}));
        let ours = doc(json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {
                "name": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
            }}
        }}}));
        let pair = Pair::new(&upstream, &ours);
        let diffs = compare_schemas(
            &pair,
            &json!({"$ref": "#/definitions/Tree"}),
            &json!({"$ref": "#/components/schemas/Node"}),
        )
        .unwrap();
        let paths: Vec<_> = diffs.iter().map(|d| d.path.as_str()).collect();
        // `children[]` is `Tree` vs `Node` again: already being compared, so not repeated.
        assert_eq!(paths, ["name"]);
        assert!(diffs.iter().all(|d| d.kind == DiffKind::Type));
    }
}

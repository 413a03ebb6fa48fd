//! Spec shapes progenitor 0.15.1 cannot take are rewritten or refused here, before generation.
//!
//! The curated spec is already generator-friendly; these checks keep it that way when a maintainer
//! pastes in upstream shapes: progenitor panics on `default` responses that differ from the others,
//! on per-status error schemas and on request bodies with two media types, and names that collide
//! after case folding produce code that does not compile. One rewrite is for the docs only: a
//! property that is a `$ref` with a `description` beside it keeps that description.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::naming::generator_id;

/// Returns the spec with the rewrites applied, or an error naming every shape that cannot be fixed.
pub fn normalize(mut spec: Value) -> Result<Value> {
    let headers = spec
        .pointer("/components/headers")
        .cloned()
        .unwrap_or(Value::Null);
    let mut problems = Vec::new();
    let mut op_names: BTreeMap<String, String> = BTreeMap::new();

    let paths = spec
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .context("spec has no `paths` object")?;
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{method} {path}"));
            // Names are progenitor's snake_case of the operationId: hand it one whose words are
            // already split (acronyms as words, `legacy` before deprecated operations).
            let deprecated = op.get("deprecated").and_then(Value::as_bool) == Some(true);
            let renamed = match generator_id(&id, deprecated) {
                Ok(renamed) => renamed,
                Err(e) => {
                    problems.push(e);
                    id.clone()
                }
            };
            let folded = crate::naming::rust_name(&id, deprecated);
            op.insert("operationId".into(), Value::String(renamed));
            if let Some(other) = op_names.insert(folded.clone(), id.clone()) {
                problems.push(format!(
                    "operationIds `{other}` and `{id}` both become `{folded}` in Rust"
                ));
            }
            if let Some(body) = op.get_mut("requestBody") {
                keep_one_media_type(body);
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                // A `default` response would become a second error type: drop it; undeclared
                // statuses still reach callers as `UnexpectedResponse` with status and headers.
                responses.remove("default");
                inline_header_refs(responses, &headers);
                if let Err(e) = check_single_error_schema(responses) {
                    problems.push(format!("{id}: {e}"));
                }
            }
        }
    }

    let mut type_names: BTreeMap<String, String> = BTreeMap::new();
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for name in schemas.keys() {
            let folded = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(other) = type_names.insert(folded.clone(), name.clone()) {
                problems.push(format!(
                    "schemas `{other}` and `{name}` collide after case folding (`{folded}`)"
                ));
            }
        }
    }

    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            wrap_described_refs(schema);
        }
    }

    if !problems.is_empty() {
        bail!(
            "the spec has shapes progenitor cannot generate:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(spec)
}

/// progenitor refuses bodies offered in two media types; JSON is what the service documents.
fn keep_one_media_type(body: &mut Value) {
    if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut)
        && content.len() > 1
        && content.contains_key("application/json")
    {
        content.retain(|media, _| media == "application/json");
    }
}

/// Header `$ref`s are resolved so the generator sees plain header objects.
fn inline_header_refs(responses: &mut serde_json::Map<String, Value>, headers: &Value) {
    for response in responses.values_mut() {
        let Some(hs) = response.get_mut("headers").and_then(Value::as_object_mut) else {
            continue;
        };
        for header in hs.values_mut() {
            let target = header
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/headers/"))
                .and_then(|name| headers.get(name));
            if let Some(resolved) = target {
                *header = resolved.clone();
            }
        }
    }
}

/// OpenAPI 3.0 ignores the siblings of a `$ref`, and so does progenitor: a property given as
/// `{"$ref": ..., "description": ...}` would lose its doc comment. `{"allOf": [{"$ref": ...}],
/// "description": ...}` means the same type (typify generates the referenced type itself) and
/// keeps the description. Nested properties are rewritten too.
fn wrap_described_refs(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for property in properties.values_mut() {
        if let Some(object) = property.as_object_mut()
            && object.len() > 1
            && let Some(reference) = object.remove("$ref")
        {
            object.insert(
                "allOf".into(),
                Value::Array(vec![serde_json::json!({"$ref": reference})]),
            );
        }
        wrap_described_refs(property);
    }
}

/// Every 4xx/5xx of one operation must share a schema: progenitor emits one error type per call.
fn check_single_error_schema(responses: &serde_json::Map<String, Value>) -> Result<()> {
    let mut seen: Option<(&str, &Value)> = None;
    for (status, response) in responses {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let schema = response
            .pointer("/content/application~1json/schema")
            .unwrap_or(&Value::Null);
        match seen {
            None => seen = Some((status, schema)),
            Some((first, s)) if s != schema => {
                bail!(
                    "error responses {first} and {status} use different schemas; use one error envelope"
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn colliding_operation_ids_are_refused() {
        let spec = json!({"paths": {
            "/a": {"get": {"operationId": "retrieveUser", "responses": {}}},
            "/b": {"get": {"operationId": "RetrieveUser", "responses": {}}}
        }});
        let err = normalize(spec).unwrap_err().to_string();
        assert!(err.contains("retrieve_user"), "{err}");
    }

    #[test]
    fn operation_ids_are_handed_over_word_split() {
        let spec = json!({"paths": {
            "/a": {"post": {"operationId": "retrieveUsersGETV1", "responses": {}}},
            "/b": {"get": {"operationId": "RetrieveUserUUIDsByCID", "deprecated": true, "responses": {}}}
        }});
        let out = normalize(spec).unwrap();
        assert_eq!(
            out.pointer("/paths/~1a/post/operationId"),
            Some(&json!("retrieveUsersGetV1"))
        );
        assert_eq!(
            out.pointer("/paths/~1b/get/operationId"),
            Some(&json!("legacyRetrieveUserUuidsByCid"))
        );
    }

    #[test]
    fn mixed_error_schemas_are_refused_and_default_dropped() {
        let spec = json!({"paths": {"/a": {"get": {"operationId": "a", "responses": {
            "default": {"description": "x"},
            "400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
            "500": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}
        }}}}});
        let err = normalize(spec).unwrap_err().to_string();
        assert!(err.contains("400 and 500"), "{err}");

        let ok = json!({"paths": {"/a": {"get": {"operationId": "a", "responses": {
            "default": {"description": "x"}, "200": {"description": "ok"}
        }}}}});
        let out = normalize(ok).unwrap();
        assert!(out.pointer("/paths/~1a/get/responses/default").is_none());
    }

    #[test]
    fn described_refs_become_a_one_element_all_of() {
        let spec = json!({
            "paths": {},
            "components": {"schemas": {"A": {"type": "object", "properties": {
                "described": {"description": "d", "$ref": "#/components/schemas/B"},
                "plain": {"$ref": "#/components/schemas/B"},
                "inline": {"type": "object", "properties": {
                    "deep": {"description": "e", "$ref": "#/components/schemas/B"}
                }}
            }}}}
        });
        let out = normalize(spec).unwrap();
        let props = "/components/schemas/A/properties";
        assert_eq!(
            out.pointer(&format!("{props}/described")),
            Some(&json!({"description": "d", "allOf": [{"$ref": "#/components/schemas/B"}]}))
        );
        assert_eq!(
            out.pointer(&format!("{props}/plain")),
            Some(&json!({"$ref": "#/components/schemas/B"}))
        );
        assert_eq!(
            out.pointer(&format!("{props}/inline/properties/deep/allOf/0/$ref")),
            Some(&json!("#/components/schemas/B"))
        );
    }

    #[test]
    fn header_refs_are_inlined() {
        let spec = json!({
            "components": {"headers": {"T": {"schema": {"type": "string"}}}},
            "paths": {"/a": {"get": {"operationId": "a", "responses": {
                "200": {"description": "ok", "headers": {"X-T": {"$ref": "#/components/headers/T"}}}
            }}}}
        });
        let out = normalize(spec).unwrap();
        assert_eq!(
            out.pointer("/paths/~1a/get/responses/200/headers/X-T/schema/type"),
            Some(&json!("string"))
        );
    }
}

//! The spec documents its models: every schema and every property has a description, and those
//! descriptions reach the generated types as doc comments.

use std::path::PathBuf;

use serde_json::Value;

fn workspace_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn spec() -> Value {
    let path = workspace_file("spec/user-management.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Why `description` (at `at`) is not acceptable, if it is not: missing or empty, not a
/// sentence, or text rustdoc would read as a link or an HTML tag.
fn description_problem(description: Option<&Value>, at: &str) -> Option<String> {
    let Some(text) = description.and_then(Value::as_str).map(str::trim) else {
        return Some(format!("{at}: no description"));
    };
    if text.is_empty() {
        return Some(format!("{at}: empty description"));
    }
    // `cargo xtask new-operation` leaves this where a person has to write.
    if text.contains("TODO") {
        return Some(format!("{at}: still to write (TODO)"));
    }
    if !text.ends_with('.') {
        return Some(format!("{at}: description is not a sentence ending in `.`"));
    }
    if text.contains('[') || text.contains('<') || text.contains("://") {
        return Some(format!(
            "{at}: description has `[`, `<` or a URL, which rustdoc reads as a link or a tag"
        ));
    }
    None
}

/// The problems of every operation's words: its summary, each parameter, its body and each
/// response must say what they are (`cargo xtask new-operation` leaves them to write).
fn operation_description_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // The collections and scopes an operation brings (`cargo xtask new-operation` declares
    // new ones with a placeholder).
    for tag in spec["tags"].as_array().into_iter().flatten() {
        let at = format!("tag {}", tag["name"].as_str().unwrap_or("?"));
        problems.extend(description_problem(tag.get("description"), &at));
    }
    let scopes = spec.pointer("/components/securitySchemes/oauth2/flows/clientCredentials/scopes");
    for (scope, text) in scopes.and_then(Value::as_object).into_iter().flatten() {
        problems.extend(description_problem(Some(text), &format!("scope {scope}")));
    }
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or(path);
            problems.extend(description_problem(
                op.get("summary"),
                &format!("{id} summary"),
            ));
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or("?");
                let at = format!("{id} parameter {name}");
                problems.extend(description_problem(param.get("description"), &at));
            }
            // A body may go without words (the type says it), but not with a placeholder.
            if let Some(body) = op.pointer("/requestBody/description") {
                let at = format!("{method} {path} body");
                problems.extend(description_problem(Some(body), &at));
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let at = format!("{id} response {status}");
                problems.extend(description_problem(response.get("description"), &at));
            }
        }
    }
    problems
}

/// The problems of every property below `schema` (nested objects and array items included).
fn property_problems(schema: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let here = format!("{at}.{name}");
            out.extend(description_problem(property.get("description"), &here));
            property_problems(property, &here, out);
        }
    }
    if let Some(items) = schema.get("items") {
        property_problems(items, &format!("{at}[]"), out);
    }
}

fn spec_description_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        problems.extend(description_problem(schema.get("description"), name));
        property_problems(schema, name, &mut problems);
    }
    // Inline bodies (the OAuth2 forms) become generated structs as well.
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let Some(content) = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (media, body) in content {
                let schema = &body["schema"];
                if schema.get("properties").is_some() {
                    let at = format!("{method} {path} body ({media})");
                    problems.extend(description_problem(schema.get("description"), &at));
                    property_problems(schema, &at, &mut problems);
                }
            }
        }
    }
    problems
}

#[test]
fn every_spec_schema_and_property_is_described() {
    let spec = spec();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    assert!(
        schemas.len() >= 60,
        "the spec lost schemas: {}",
        schemas.len()
    );
    let problems = spec_description_problems(&spec);
    assert!(
        problems.is_empty(),
        "spec/user-management.json has undocumented or badly documented models \
         (write a description in the project's own words):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_spec_operation_is_described() {
    let problems = operation_description_problems(&spec());
    assert!(
        problems.is_empty(),
        "spec/user-management.json has operations without their words (write the summary and \
         descriptions in the project's own words, not upstream's):\n  {}",
        problems.join("\n  ")
    );
}

/// The operation check finds a missing summary, a placeholder left by `cargo xtask
/// new-operation` (on a parameter, the body, a response) and passes a described operation.
#[test]
fn the_operation_description_check_finds_what_is_missing() {
    let todo = "TODO: describe in the project's own words";
    let spec = serde_json::json!({
    "tags": [{"name": "old", "description": "Old."}, {"name": "fresh", "description": todo}],
    "components": {"securitySchemes": {"oauth2": {"flows": {"clientCredentials": {"scopes": {
        "a:read": "Reads.", "b:read": todo
    }}}}}},
    "paths": {
        "/done": {"get": {
            "operationId": "done", "summary": "Fine.",
            "parameters": [{"name": "ids", "description": "Ids."}],
            "responses": {"200": {"description": "Success."}}
        }},
        "/new": {"post": {
            "operationId": "fresh",
            "parameters": [{"name": "limit", "description": todo}],
            "requestBody": {"description": todo},
            "responses": {"200": {"description": "Success."}, "418": {"description": todo}}
        }}
    }});
    let problems = operation_description_problems(&spec);
    assert_eq!(
        problems,
        [
            "tag fresh: still to write (TODO)",
            "scope b:read: still to write (TODO)",
            "fresh summary: no description",
            "fresh parameter limit: still to write (TODO)",
            "post /new body: still to write (TODO)",
            "fresh response 418: still to write (TODO)",
        ]
    );
}

/// The check itself: a property without a description, one nested in an array, a description
/// that rustdoc would mangle and a schema without one are all reported.
#[test]
fn the_spec_description_check_finds_what_is_missing() {
    let spec = serde_json::json!({
        "paths": {"/t": {"post": {"requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "description": "A body.",
            "properties": {"f": {"type": "string"}}
        }}}}}}},
        "components": {"schemas": {
            "A": {"type": "object", "properties": {
                "ok": {"type": "string", "description": "Fine."},
                "bare": {"type": "string"},
                "link": {"type": "string", "description": "See [there]."},
                "list": {"type": "array", "description": "Items.", "items": {
                    "type": "object", "properties": {"inner": {"type": "integer"}}
                }}
            }},
            "B": {"type": "object", "description": "No full stop"}
        }}
    });
    let problems = spec_description_problems(&spec);
    let places: Vec<&str> = problems
        .iter()
        .map(|p| p.split(':').next().unwrap())
        .collect();
    assert_eq!(
        places,
        [
            "A",
            "A.bare",
            "A.link",
            "A.list[].inner",
            "B",
            "post /t body (application/json).f"
        ],
        "{problems:#?}"
    );
}

fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// progenitor turns descriptions into doc comments, except where it drops them (a `$ref` with a
/// description beside it, unless the xtask rewrites it): every struct of the generated `types`
/// and every field has its own doc, not just the type name progenitor puts there by default.
#[test]
fn the_generated_types_carry_the_spec_descriptions() {
    let path = workspace_file("crates/falcon-users-api/src/generated.rs");
    let file = syn::parse_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .expect("generated.rs has a `types` module");
    let mut problems = Vec::new();
    let mut fields = 0;
    for item in types {
        let syn::Item::Struct(s) = item else {
            continue;
        };
        let name = s.ident.to_string();
        match doc_text(&s.attrs) {
            Some(doc) if doc.trim() != format!("`{name}`") => {}
            _ => problems.push(format!("{name}: no doc beyond its name")),
        }
        for field in &s.fields {
            let Some(ident) = &field.ident else {
                continue;
            };
            fields += 1;
            if doc_text(&field.attrs).is_none() {
                problems.push(format!("{name}.{ident}: no doc"));
            }
        }
    }
    assert!(
        fields >= 254,
        "only {fields} fields found in the generated types"
    );
    assert!(
        problems.is_empty(),
        "generated types without docs (describe them in the spec and run `cargo xtask generate`):\n  {}",
        problems.join("\n  ")
    );
}

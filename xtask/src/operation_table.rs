//! The operation table: one constant per operation of the spec, for hand-written code to read
//! every operation fact from (retry classes, the simulator's router and scopes, FQL fields).
//!
//! Read from the curated spec as written (upstream operationIds), with the extensions that
//! `spec/CURATION.md` documents: `x-falcon-read-only` on POSTs that change nothing,
//! `x-falcon-replaced-by` on deprecated operations, `x-falcon-secret-response` where the success
//! body is a credential, and `x-falcon-filter-fields` (and `x-falcon-sort-fields` where the sort
//! parameter is free text) on the query parameters.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::naming::{const_name, rust_name};

/// Every fact the table states about one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub id: String,
    pub name: String,
    pub method: String,
    pub path: String,
    pub read_only: bool,
    pub success: u16,
    pub statuses: Vec<u16>,
    pub secret_response: bool,
    pub auth: AuthFacts,
    pub replaced_by: Option<String>,
    pub sort_values: Vec<String>,
    pub sort_fields: Vec<String>,
    pub filter_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFacts {
    None,
    Basic,
    Bearer(Vec<String>),
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The facts of every operation, in path then method order; an error names each operation
/// whose facts are incomplete or contradictory.
pub fn read(spec: &Value) -> Result<Vec<Facts>> {
    let global_security = spec.get("security").cloned().unwrap_or(Value::Null);
    let paths = spec
        .get("paths")
        .and_then(Value::as_object)
        .context("spec has no `paths` object")?;
    let mut all = Vec::new();
    let mut problems = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            match facts(path, method, op, &global_security) {
                Ok(f) => all.push(f),
                Err(e) => problems.push(format!("{method} {path}: {e}")),
            }
        }
    }
    let ids: BTreeSet<&str> = all.iter().map(|f| f.id.as_str()).collect();
    for f in &all {
        if let Some(to) = &f.replaced_by
            && !ids.contains(to.as_str())
        {
            problems.push(format!(
                "{}: x-falcon-replaced-by names `{to}`, which is not an operation",
                f.id
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the spec does not state every operation fact:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(all)
}

fn facts(path: &str, method: &str, op: &Value, global_security: &Value) -> Result<Facts, String> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or("no operationId")?
        .to_owned();
    let deprecated = op.get("deprecated").and_then(Value::as_bool) == Some(true);
    let replaced_by = match op.get("x-falcon-replaced-by") {
        None if deprecated => {
            return Err(format!(
                "{id} is deprecated but names no replacement (x-falcon-replaced-by)"
            ));
        }
        None => None,
        Some(_) if !deprecated => {
            return Err(format!("{id} names a replacement but is not deprecated"));
        }
        Some(v) => Some(
            v.as_str()
                .ok_or("x-falcon-replaced-by must be an operationId")?
                .to_owned(),
        ),
    };
    let read_only = match (method, op.get("x-falcon-read-only")) {
        (_, None) => method == "get",
        ("get", Some(_)) => return Err(format!("{id}: a GET is read-only already")),
        (_, Some(v)) => v.as_bool().ok_or("x-falcon-read-only must be a boolean")?,
    };
    let success = success_status(op).map_err(|e| format!("{id}: {e}"))?;
    let statuses = declared_statuses(op);
    let secret_response = match op.get("x-falcon-secret-response") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or("x-falcon-secret-response must be a boolean")?,
    };
    let security = op.get("security").unwrap_or(global_security);
    let auth = auth(security).map_err(|e| format!("{id}: {e}"))?;

    let param = |name: &str| {
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    };
    let strings = |v: Option<&Value>, what: &str| -> Result<Vec<String>, String> {
        let Some(v) = v else { return Ok(Vec::new()) };
        v.as_array()
            .ok_or(format!("{id}: {what} must be a list of strings"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("{id}: {what} must be a list of strings"))
            })
            .collect()
    };
    let filter_fields = match param("filter") {
        None => Vec::new(),
        Some(p) => match p.get("x-falcon-filter-fields") {
            None => {
                return Err(format!(
                    "{id}: the filter parameter states no x-falcon-filter-fields"
                ));
            }
            Some(v) => strings(Some(v), "x-falcon-filter-fields")?,
        },
    };
    let (sort_values, sort_fields) = match param("sort") {
        None => (Vec::new(), Vec::new()),
        Some(p) => {
            let values = strings(p.pointer("/schema/enum"), "the sort enum")?;
            let stated = strings(p.get("x-falcon-sort-fields"), "x-falcon-sort-fields")?;
            let fields = match (values.is_empty(), stated.is_empty()) {
                (false, true) => sort_fields_of(&values),
                (true, false) => stated,
                (false, false) => {
                    return Err(format!(
                        "{id}: the sort enum already states the fields; drop x-falcon-sort-fields"
                    ));
                }
                (true, true) => {
                    return Err(format!(
                        "{id}: the sort parameter has no enum and states no x-falcon-sort-fields"
                    ));
                }
            };
            (values, fields)
        }
    };
    Ok(Facts {
        name: rust_name(&id, deprecated),
        id,
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        read_only,
        success,
        statuses,
        secret_response,
        auth,
        replaced_by,
        sort_values,
        sort_fields,
        filter_fields,
    })
}

/// Every status the operation's `responses` declare, ascending (`default` is no status).
fn declared_statuses(op: &Value) -> Vec<u16> {
    let mut statuses: Vec<u16> = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(code, _)| code.parse::<u16>().ok())
        .collect();
    statuses.sort_unstable();
    statuses
}

/// The one 2xx status the operation declares besides a 207: every operation of this API has
/// exactly one, and an entity lookup may also declare the multi-status 207 (a partial answer
/// in the same envelope, read as a success like any 2xx).
fn success_status(op: &Value) -> Result<u16, String> {
    let declared: Vec<u16> = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(code, _)| code.parse::<u16>().ok())
        .filter(|code| (200..300).contains(code) && *code != 207)
        .collect();
    match declared.as_slice() {
        [one] => Ok(*one),
        [] => Err("declares no 2xx response".into()),
        _ => Err(format!(
            "declares several 2xx responses {declared:?}; the table holds one"
        )),
    }
}

/// `[{"oauth2": [scopes]}]`, `[{"basicAuth": []}]` or `[]` (none).
fn auth(security: &Value) -> Result<AuthFacts, String> {
    let Some(requirements) = security.as_array() else {
        return Err("security must be a list".into());
    };
    match requirements.as_slice() {
        [] => Ok(AuthFacts::None),
        [one] => {
            let scheme = one
                .as_object()
                .filter(|o| o.len() == 1)
                .ok_or("one security scheme per operation")?;
            let (name, scopes) = scheme.iter().next().expect("one entry");
            match name.as_str() {
                "basicAuth" => Ok(AuthFacts::Basic),
                "oauth2" => Ok(AuthFacts::Bearer(
                    scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect(),
                )),
                other => Err(format!("unknown security scheme `{other}`")),
            }
        }
        _ => Err("one security requirement per operation".into()),
    }
}

/// `uid`, `uid|asc`, `uid|desc` → `uid`, in the enum's order.
fn sort_fields_of(values: &[String]) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for v in values {
        let field = v
            .strip_suffix("|asc")
            .or_else(|| v.strip_suffix("|desc"))
            .unwrap_or(v);
        if !fields.iter().any(|f| f == field) {
            fields.push(field.to_owned());
        }
    }
    fields
}

/// The Rust source of `crates/falcon-users-api/src/operations.rs` (before formatting).
pub fn render(all: &[Facts]) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
        format!("&[{}]", quoted.join(", "))
    };
    let mut out = String::from(
        "//! Every operation of the spec, with the facts hand-written code needs about it.\n\
         //!\n\
         //! Generated from the spec's paths, methods, security, deprecations, sort enums and\n\
         //! `x-falcon-*` extensions; see `spec/CURATION.md`.\n\n\
         use crate::operation::{Auth, HttpMethod, Operation};\n\n",
    );
    for f in all {
        let auth = match &f.auth {
            AuthFacts::None => "Auth::None".to_owned(),
            AuthFacts::Basic => "Auth::Basic".to_owned(),
            AuthFacts::Bearer(scopes) => format!("Auth::Bearer {{ scopes: {} }}", list(scopes)),
        };
        let method = match f.method.as_str() {
            "GET" => "Get",
            "POST" => "Post",
            "PUT" => "Put",
            "PATCH" => "Patch",
            _ => "Delete",
        };
        let doc = match &f.replaced_by {
            Some(to) => format!(
                "`{}` (`{} {}`), deprecated: use `{to}`.",
                f.id, f.method, f.path
            ),
            None => format!("`{}` (`{} {}`).", f.id, f.method, f.path),
        };
        out.push_str(&format!(
            "#[doc = \" {doc}\"]\npub const {}: Operation = Operation {{ id: {:?}, name: {:?}, \
             method: HttpMethod::{method}, path: {:?}, read_only: {}, success: {}, \
             statuses: &{:?}, secret_response: {}, auth: {auth}, replaced_by: {}, sort_values: {}, \
             sort_fields: {}, filter_fields: {} }};\n",
            const_name(&f.name),
            f.id,
            f.name,
            f.path,
            f.read_only,
            f.success,
            f.statuses,
            f.secret_response,
            match &f.replaced_by {
                Some(to) => format!("Some({to:?})"),
                None => "None".to_owned(),
            },
            list(&f.sort_values),
            list(&f.sort_fields),
            list(&f.filter_fields),
        ));
    }
    let consts: Vec<String> = all.iter().map(|f| const_name(&f.name)).collect();
    out.push_str(&format!(
        "\n/// Every operation, in path then method order.\npub const ALL: &[Operation] = &[{}];\n",
        consts.join(", ")
    ));
    let arms = |key: fn(&Facts) -> &str| {
        all.iter()
            .map(|f| format!("{:?} => Some(&{}),", key(f), const_name(&f.name)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    out.push_str(&format!(
        "\n/// The operation with this Rust name (as the generated client's hooks see it).\n\
         pub fn by_name(name: &str) -> Option<&'static Operation> {{ match name {{ {} _ => None }} }}\n\
         \n/// The operation with this upstream operationId.\n\
         pub fn by_id(id: &str) -> Option<&'static Operation> {{ match id {{ {} _ => None }} }}\n",
        arms(|f| &f.name),
        arms(|f| &f.id),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A spec with one operation at `POST /a`; a 200 is added unless `op` states its responses.
    fn spec(mut op: Value) -> Value {
        if op.get("responses").is_none() {
            op["responses"] = json!({"200": {}, "400": {}});
        }
        json!({"security": [{"oauth2": []}], "paths": {"/a": {"post": op}}})
    }

    #[test]
    fn facts_come_from_the_spec() {
        let all = read(&spec(json!({
            "operationId": "retrieveThingsGETV1",
            "x-falcon-read-only": true,
            "x-falcon-secret-response": true,
            "responses": {"403": {}, "201": {}, "default": {}},
            "security": [{"oauth2": ["things:read"]}],
            "parameters": [
                {"name": "filter", "in": "query", "x-falcon-filter-fields": ["a", "b"]},
                {"name": "sort", "in": "query", "schema": {"enum": ["a", "a|asc", "a|desc", "b|desc"]}}
            ]
        })))
        .unwrap();
        assert_eq!(
            all,
            vec![Facts {
                id: "retrieveThingsGETV1".into(),
                name: "retrieve_things_get_v1".into(),
                method: "POST".into(),
                path: "/a".into(),
                read_only: true,
                success: 201,
                statuses: vec![201, 403],
                secret_response: true,
                auth: AuthFacts::Bearer(vec!["things:read".into()]),
                replaced_by: None,
                sort_values: vec!["a".into(), "a|asc".into(), "a|desc".into(), "b|desc".into()],
                sort_fields: vec!["a".into(), "b".into()],
                filter_fields: vec!["a".into(), "b".into()],
            }]
        );
    }

    #[test]
    fn a_multi_status_beside_the_success_is_not_a_second_success() {
        let all = read(&spec(json!({
            "operationId": "lookup",
            "responses": {"200": {}, "207": {}, "404": {}}
        })))
        .unwrap();
        assert_eq!(all[0].success, 200);
        assert_eq!(all[0].statuses, vec![200, 207, 404]);
    }

    #[test]
    fn missing_facts_are_refused_by_operation() {
        for (op, expected) in [
            (
                json!({"operationId": "old", "deprecated": true}),
                "old is deprecated but names no replacement",
            ),
            (
                json!({"operationId": "q", "parameters": [{"name": "filter", "in": "query"}]}),
                "q: the filter parameter states no x-falcon-filter-fields",
            ),
            (
                json!({"operationId": "s", "parameters": [{"name": "sort", "in": "query"}]}),
                "s: the sort parameter has no enum",
            ),
            (
                json!({"operationId": "old", "deprecated": true, "x-falcon-replaced-by": "nope"}),
                "names `nope`, which is not an operation",
            ),
            (
                json!({"operationId": "w", "security": [{"apiKey": []}]}),
                "unknown security scheme `apiKey`",
            ),
            (
                json!({"operationId": "n", "responses": {"400": {}}}),
                "n: declares no 2xx response",
            ),
            (
                json!({"operationId": "m", "responses": {"200": {}, "202": {}}}),
                "m: declares several 2xx responses [200, 202]",
            ),
            (
                json!({"operationId": "p", "responses": {"207": {}}}),
                "p: declares no 2xx response",
            ),
        ] {
            let err = format!("{:#}", read(&spec(op)).unwrap_err());
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn the_table_parses_as_rust() {
        let all = read(&spec(json!({"operationId": "createThingV1"}))).unwrap();
        let code = render(&all);
        syn::parse_file(&code).unwrap();
        assert!(
            code.contains("pub const CREATE_THING_V1: Operation"),
            "{code}"
        );
        assert!(
            code.contains("\"create_thing_v1\" => Some(&CREATE_THING_V1)"),
            "{code}"
        );
    }
}

//! `cargo xtask new-operation <operationId> <upstream swagger>`: the first step of adding an
//! operation (README, "Adding an operation").
//!
//! It writes the operation's entry into our spec from the upstream Swagger 2.0 facts, converted
//! to OpenAPI 3.0 in the curated spec's style (`spec/CURATION.md`): query and path parameters
//! with their schema, the body as a `requestBody`, every response with our own per-status
//! description and header `$ref`s, errors in our one error envelope (departure 1), the scope.
//! Facts upstream states in prose are taken where the prose is regular (`Supported filters:`,
//! `Please use <operationId>`); the rest is left for a person and printed. Descriptions are never
//! taken from upstream: the summary, every parameter and the body get [`TO_WRITE`], which the
//! integration test `spec::every_spec_operation_is_described` refuses until a person writes them.
//! Then it prints every file the new operation needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::spec_diff::document::Document;
use crate::spec_diff::operation::{Operation, operations};

/// What the entry says where a description is for a person to write in the project's words.
pub const TO_WRITE: &str = "TODO: describe in the project's own words";

/// Parameter schema keywords, in the order the curated spec writes them.
const SCHEMA_KEYWORDS: [&str; 15] = [
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
];

/// JSON with its keys in the order they were added, so the entry reads like its neighbours
/// (`serde_json::Value` sorts them).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An object, keys in order.
    Object(Vec<(String, Node)>),
    /// An array.
    Array(Vec<Node>),
    /// Anything else, or a value copied whole.
    Leaf(Value),
}

impl Node {
    fn object() -> Self {
        Node::Object(Vec::new())
    }

    /// Adds `key` (objects only).
    fn with(mut self, key: &str, value: impl Into<Node>) -> Self {
        if let Node::Object(fields) = &mut self {
            fields.push((key.to_owned(), value.into()));
        }
        self
    }

    /// The value, for comparing and checking.
    pub fn to_value(&self) -> Value {
        match self {
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Leaf(value) => value.clone(),
        }
    }

    /// Pretty JSON as the spec file has it (two spaces a level), starting at `indent`.
    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| " ".repeat(n);
        match self {
            Node::Object(fields) if !fields.is_empty() => {
                out.push_str("{\n");
                for (n, (key, value)) in fields.iter().enumerate() {
                    let _ = write!(out, "{}{}: ", pad(indent + 2), Value::from(key.as_str()));
                    value.write(out, indent + 2);
                    out.push_str(if n + 1 < fields.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
            Node::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (n, item) in items.iter().enumerate() {
                    out.push_str(&pad(indent + 2));
                    item.write(out, indent + 2);
                    out.push_str(if n + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Node::Object(_) => out.push_str("{}"),
            Node::Array(_) => out.push_str("[]"),
            Node::Leaf(value) => {
                let text = serde_json::to_string_pretty(value).unwrap_or_default();
                out.push_str(&text.replace('\n', &format!("\n{}", pad(indent))));
            }
        }
    }
}

impl From<Value> for Node {
    fn from(value: Value) -> Self {
        Node::Leaf(value)
    }
}

impl From<&str> for Node {
    fn from(value: &str) -> Self {
        Node::Leaf(value.into())
    }
}

/// The entry for one operation and what is left for a person.
#[derive(Debug)]
pub struct NewOperation {
    /// The upstream operationId.
    pub id: String,
    /// Its path.
    pub path: String,
    /// Its method, lowercase.
    pub method: &'static str,
    /// The entry under `paths.<path>.<method>`.
    pub entry: Node,
    /// Facts upstream does not state in a form this task can read, for a person to add.
    pub to_decide: Vec<String>,
    /// Schemas the entry references that our spec does not have yet.
    pub missing_schemas: Vec<String>,
    /// Its tags (upstream's collections) that our spec's top-level `tags` does not declare yet.
    pub new_tags: Vec<String>,
    /// Those of `new_tags` under which upstream has other operations too: they are declared
    /// `x-falcon-partial` (curated an operation at a time), so `spec-diff` reports the rest as
    /// not yet curated rather than missing.
    pub partial_tags: Vec<String>,
    /// Its OAuth2 scopes that our `oauth2` security scheme does not declare yet.
    pub new_scopes: Vec<String>,
}

/// What our spec already says, which a new entry reuses: per-status response descriptions
/// (our words), header `$ref`s by header name, and the one error envelope.
struct House {
    status_descriptions: BTreeMap<String, String>,
    headers: BTreeMap<String, Value>,
    error_envelope: Value,
    schemas: BTreeSet<String>,
}

impl House {
    fn read(ours: &Document) -> Result<Self> {
        let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut headers = BTreeMap::new();
        let mut error_envelope = None;
        for op in operations(ours)?.values() {
            let Some(responses) = op.op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for (status, response) in responses {
                if let Some(text) = response.get("description").and_then(Value::as_str) {
                    *counts
                        .entry(status.clone())
                        .or_default()
                        .entry(text.to_owned())
                        .or_default() += 1;
                }
                if let Some(declared) = response.get("headers").and_then(Value::as_object) {
                    for (name, header) in declared {
                        headers
                            .entry(name.clone())
                            .or_insert_with(|| header.clone());
                    }
                }
                if error_envelope.is_none() && status.starts_with(['4', '5']) {
                    error_envelope = response
                        .pointer("/content/application~1json/schema")
                        .cloned();
                }
            }
        }
        let status_descriptions = counts
            .into_iter()
            .filter_map(|(status, texts)| {
                let (text, _) = texts.into_iter().max_by_key(|(_, n)| *n)?;
                Some((status, text))
            })
            .collect();
        Ok(Self {
            status_descriptions,
            headers,
            error_envelope: error_envelope.ok_or_else(|| {
                anyhow!(
                    "{}: no error response to copy the envelope from",
                    ours.path.display()
                )
            })?,
            schemas: ours
                .keys_at("/components/schemas")?
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// Swagger's `#/definitions/X` as OpenAPI 3.0's `#/components/schemas/X`, everywhere in `value`;
/// the names referenced go into `refs`.
fn rewrite_refs(value: &Value, refs: &mut BTreeSet<String>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| match (key.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => {
                        let name = r.strip_prefix("#/definitions/").unwrap_or(r);
                        refs.insert(name.to_owned());
                        (key.clone(), format!("#/components/schemas/{name}").into())
                    }
                    _ => (key.clone(), rewrite_refs(v, refs)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite_refs(v, refs)).collect()),
        other => other.clone(),
    }
}

/// The fields after `Supported filters:` in upstream's prose, if it has that sentence.
fn filter_fields(description: &str) -> Option<Vec<String>> {
    let (_, rest) = description.split_once("Supported filters:")?;
    let fields: Vec<String> = rest
        .split(',')
        .map(str::trim)
        .map(|f| f.trim_end_matches('.'))
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    (!fields.is_empty()
        && fields
            .iter()
            .all(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')))
    .then_some(fields)
}

/// The operationId after `Please use` in upstream's summary, if it names one of `known`.
fn replacement(op: &Value, known: &BTreeMap<String, Operation<'_>>) -> Option<String> {
    let summary = op.get("summary").and_then(Value::as_str)?;
    let (_, rest) = summary.split_once("Please use ")?;
    let name = rest.split_whitespace().next()?;
    known.contains_key(name).then(|| name.to_owned())
}

/// A query, path or header parameter.
fn parameter(
    id: &str,
    param: &Value,
    refs: &mut BTreeSet<String>,
    to_decide: &mut Vec<String>,
) -> Result<Node> {
    let name = param
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{id}: a parameter has no name"))?;
    let location = param.get("in").and_then(Value::as_str).unwrap_or("query");
    let mut node = Node::object()
        .with("name", name)
        .with("in", location)
        .with("description", TO_WRITE);
    if param.get("required").and_then(Value::as_bool) == Some(true) {
        node = node.with("required", Value::Bool(true));
    }
    match param.get("collectionFormat").and_then(Value::as_str) {
        Some("multi") => {
            node = node
                .with("style", "form")
                .with("explode", Value::Bool(true))
        }
        Some("csv") => {
            node = node
                .with("style", "form")
                .with("explode", Value::Bool(false))
        }
        Some(other) => {
            bail!("{id}: parameter {name}: collectionFormat `{other}` has no OpenAPI 3.0 form here")
        }
        None => {}
    }
    let mut schema = Node::object();
    for keyword in SCHEMA_KEYWORDS {
        if let Some(value) = param.get(keyword) {
            schema = schema.with(keyword, rewrite_refs(value, refs));
        }
    }
    node = node.with("schema", schema);
    let described = param
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name == "filter" {
        match filter_fields(described) {
            Some(fields) => {
                node = node.with("x-falcon-filter-fields", Value::from(fields));
            }
            None => to_decide.push(format!(
                "x-falcon-filter-fields on the `filter` parameter: upstream names no fields in a \
                 form this task reads (its words: {described:?})"
            )),
        }
    }
    if name == "sort" && param.get("enum").is_none() {
        to_decide.push(format!(
            "x-falcon-sort-fields on the `sort` parameter: it has no enum (upstream's words: {described:?})"
        ));
    }
    Ok(node)
}

/// The entry for upstream's `id`, in the curated spec's style.
pub fn entry_for(upstream: &Document, ours: &Document, id: &str) -> Result<NewOperation> {
    let upstream_ops = operations(upstream)?;
    let Some(op) = upstream_ops.get(id) else {
        bail!("{}: no operation `{id}`", upstream.path.display());
    };
    let our_ops = operations(ours)?;
    if let Some(there) = our_ops.get(id) {
        bail!(
            "{} already has `{id}` ({} {}): nothing to add",
            ours.path.display(),
            there.method.to_uppercase(),
            there.path
        );
    }
    if let Some(taken) = our_ops
        .values()
        .find(|o| o.path == op.path && o.method == op.method)
    {
        let taken_id = taken
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("?");
        bail!(
            "{} already has {} {} as `{taken_id}`",
            ours.path.display(),
            op.method.to_uppercase(),
            op.path
        );
    }
    let house = House::read(ours)?;
    let up = op.op;
    let mut refs = BTreeSet::new();
    let mut to_decide = Vec::new();

    let mut entry = Node::object()
        .with("operationId", id)
        .with("summary", TO_WRITE);
    if let Some(tags) = up.get("tags") {
        entry = entry.with("tags", tags.clone());
    }
    if up.get("deprecated").and_then(Value::as_bool) == Some(true) {
        entry = entry.with("deprecated", Value::Bool(true));
        match replacement(up, &upstream_ops) {
            Some(by) => {
                to_decide.push(format!(
                    "x-falcon-replaced-by: upstream's summary says `{by}`; keep it or name a newer one"
                ));
                entry = entry.with("x-falcon-replaced-by", by.as_str());
            }
            None => to_decide.push(
                "x-falcon-replaced-by: the operation is deprecated and upstream names no \
                 replacement; `cargo xtask generate` refuses it without one"
                    .to_owned(),
            ),
        }
    }
    if op.method == "post" {
        if op.path.contains("/GET/") {
            entry = entry.with("x-falcon-read-only", Value::Bool(true));
        } else {
            to_decide.push(
                "x-falcon-read-only: true if this POST changes nothing (its path has no `/GET/`, \
                 so it was written as a change)"
                    .to_owned(),
            );
        }
    }

    let mut params = Vec::new();
    let mut body = None;
    for holder in [op.path_item, up] {
        for param in holder
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let param = upstream.deref(param)?;
            match param.get("in").and_then(Value::as_str) {
                Some("body") => body = Some(param),
                Some("formData") => bail!(
                    "{id} takes a form (formData): write its application/x-www-form-urlencoded \
                     body by hand, as for the OAuth2 operations (spec/CURATION.md, departure 3)"
                ),
                _ => params.push(parameter(id, param, &mut refs, &mut to_decide)?),
            }
        }
    }
    if !params.is_empty() {
        entry = entry.with("parameters", Node::Array(params));
    }
    let media = up
        .pointer("/consumes/0")
        .or_else(|| upstream.root.pointer("/consumes/0"))
        .and_then(Value::as_str)
        .unwrap_or("application/json");
    if let Some(body) = body {
        let schema = rewrite_refs(body.get("schema").unwrap_or(&Value::Null), &mut refs);
        entry = entry.with(
            "requestBody",
            Node::object()
                // Every body is required (spec/CURATION.md, Guesses).
                .with("required", Value::Bool(true))
                .with(
                    "content",
                    Node::object().with(media, Node::object().with("schema", schema)),
                )
                .with("description", TO_WRITE),
        );
    }

    let produces = up
        .pointer("/produces/0")
        .or_else(|| upstream.root.pointer("/produces/0"))
        .and_then(Value::as_str)
        .unwrap_or("application/json");
    let mut responses = Node::object();
    let statuses = up
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("{id}: upstream declares no responses"))?;
    for (status, response) in statuses {
        let response = upstream.deref(response)?;
        let description = house
            .status_descriptions
            .get(status)
            .map_or(TO_WRITE, String::as_str);
        let mut node = Node::object().with("description", description);
        if let Some(declared) = response.get("headers").and_then(Value::as_object) {
            let mut headers = Node::object();
            for (name, header) in declared {
                let ours = house.headers.get(name).cloned().unwrap_or_else(|| {
                    serde_json::json!({"description": TO_WRITE, "schema": {"type": header.get("type").cloned().unwrap_or(Value::Null)}})
                });
                headers = headers.with(name, ours);
            }
            node = node.with("headers", headers);
        }
        if let Some(schema) = response.get("schema") {
            // Every error answers with our one envelope (spec/CURATION.md, departure 1).
            let schema = if status.starts_with(['4', '5']) {
                house.error_envelope.clone()
            } else {
                rewrite_refs(schema, &mut refs)
            };
            node = node.with(
                "content",
                Node::object().with(produces, Node::object().with("schema", schema)),
            );
        }
        responses = responses.with(status, node);
    }
    entry = entry.with("responses", responses);
    if let Some(security) = up.get("security") {
        entry = entry.with("security", security.clone());
    }
    let missing_schemas = refs
        .into_iter()
        .filter(|r| !house.schemas.contains(r))
        .collect();
    let declared_tags: BTreeSet<&str> = ours
        .root
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .collect();
    let new_tags: Vec<String> = strings(up.get("tags"))
        .filter(|t| !declared_tags.contains(t))
        .map(str::to_owned)
        .collect();
    let partial_tags = new_tags
        .iter()
        .filter(|tag| {
            upstream_ops.iter().any(|(other, o)| {
                other != id && strings(o.op.get("tags")).any(|t| t == tag.as_str())
            })
        })
        .cloned()
        .collect();
    let declared_scopes = ours.keys_at(SCOPES)?;
    let new_scopes = up
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|requirement| strings(requirement.get("oauth2")))
        .filter(|s| !declared_scopes.contains(s))
        .map(str::to_owned)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    Ok(NewOperation {
        id: id.to_owned(),
        path: op.path.to_owned(),
        method: op.method,
        entry,
        to_decide,
        missing_schemas,
        new_tags,
        partial_tags,
        new_scopes,
    })
}

/// Where our spec declares its OAuth2 scopes.
const SCOPES: &str = "/components/securitySchemes/oauth2/flows/clientCredentials/scopes";

/// The strings of a JSON array (none for anything else).
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `spec_text` with `new`'s tags declared in the top-level `tags` and its scopes in the `oauth2`
/// scheme, each described [`TO_WRITE`] for a person: an operation of a collection or scope the
/// spec had no word for brings its declaration with it. Only those lines are added.
pub fn declare(spec_text: &str, new: &NewOperation) -> Result<String> {
    let mut text = spec_text.to_owned();
    // The file is pretty JSON, two spaces a level: the top-level `tags` list closes at `\n  ]`
    // and the scopes object at the `}` indented as its key.
    for tag in &new.new_tags {
        let open = text
            .find("\n  \"tags\": [\n")
            .ok_or_else(|| anyhow!("the spec has no top-level `tags` list to declare {tag} in"))?;
        let close = open
            + text[open..]
                .find("\n  ]")
                .ok_or_else(|| anyhow!("cannot find the end of the top-level `tags` list"))?;
        let partial = if new.partial_tags.contains(tag) {
            ",\n      \"x-falcon-partial\": true"
        } else {
            ""
        };
        let item = format!(
            ",\n    {{\n      \"name\": {},\n      \"description\": {}{partial}\n    }}",
            Value::from(tag.as_str()),
            Value::from(TO_WRITE)
        );
        text.insert_str(close, &item);
    }
    for scope in &new.new_scopes {
        let scheme = text
            .find("\"clientCredentials\": {")
            .ok_or_else(|| anyhow!("the spec's oauth2 scheme has no clientCredentials flow"))?;
        let key = scheme
            + text[scheme..]
                .find("\"scopes\": {\n")
                .ok_or_else(|| anyhow!("the spec's oauth2 flow declares no `scopes`"))?;
        let indent = key - text[..key].rfind('\n').map_or(0, |n| n + 1);
        let end = format!("\n{}}}", " ".repeat(indent));
        let close = key
            + text[key..]
                .find(&end)
                .ok_or_else(|| anyhow!("cannot find the end of the oauth2 `scopes`"))?;
        let line = format!(
            ",\n{}{}: {}",
            " ".repeat(indent + 2),
            Value::from(scope.as_str()),
            Value::from(TO_WRITE)
        );
        text.insert_str(close, &line);
    }
    // The file must still parse and declare each of them.
    let written: Value = serde_json::from_str(&text).context("the spec after the declarations")?;
    for tag in &new.new_tags {
        let found = written
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|t| t.get("name").and_then(Value::as_str) == Some(tag));
        if !found {
            bail!("the tag {tag} did not land in the top-level `tags`");
        }
    }
    for scope in &new.new_scopes {
        if written.pointer(SCOPES).and_then(|s| s.get(scope)).is_none() {
            bail!("the scope {scope} did not land in the oauth2 scheme");
        }
    }
    Ok(text)
}

impl NewOperation {
    /// Puts response headers in the order the spec file first lists them (upstream's order is
    /// lost in parsing), so the entry reads like its neighbours.
    pub fn order_headers_as(&mut self, spec_text: &str) {
        let rank = |name: &str| {
            spec_text
                .find(&format!("{}: {{", Value::from(name)))
                .unwrap_or(usize::MAX)
        };
        let Node::Object(fields) = &mut self.entry else {
            return;
        };
        for (key, responses) in fields.iter_mut() {
            let (true, Node::Object(statuses)) = (key == "responses", responses) else {
                continue;
            };
            for (_, response) in statuses {
                let Node::Object(parts) = response else {
                    continue;
                };
                for (key, headers) in parts {
                    if let (true, Node::Object(headers)) = (key == "headers", headers) {
                        headers.sort_by_key(|(name, _)| rank(name));
                    }
                }
            }
        }
    }
}

/// `spec_text` with `new`'s entry in place: in its path's object when the path is there, else
/// as a new path in sorted order. Only that text is added: the rest of the file is unchanged.
pub fn insert(spec_text: &str, new: &NewOperation) -> Result<String> {
    let spec: Value = serde_json::from_str(spec_text).context("parsing the spec")?;
    let paths = spec
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("the spec has no `paths` object"))?;
    let key_line = |path: &str| format!("\n    {}: {{\n", Value::from(path));
    let find = |path: &str| -> Result<usize> {
        let line = key_line(path);
        let mut hits = spec_text.match_indices(&line);
        match (hits.next(), hits.next()) {
            (Some((at, _)), None) => Ok(at),
            _ => bail!("cannot find the one line that opens path {path} in the spec"),
        }
    };
    let mut entry = String::new();
    new.entry.write(&mut entry, 6);
    let method = Value::from(new.method);
    let mut text = spec_text.to_owned();
    if paths.contains_key(&new.path) {
        let at = find(&new.path)? + key_line(&new.path).len();
        text.insert_str(at, &format!("      {method}: {entry},\n"));
    } else {
        let block = format!(
            "    {}: {{\n      {method}: {entry}\n    }}",
            Value::from(new.path.as_str())
        );
        match paths.keys().find(|p| p.as_str() > new.path.as_str()) {
            Some(next) => {
                let at = find(next)? + 1;
                text.insert_str(at, &format!("{block},\n"));
            }
            None => {
                let last = paths
                    .keys()
                    .next_back()
                    .ok_or_else(|| anyhow!("the spec has no paths"))?;
                let from = find(last)?;
                let close = text[from..]
                    .find("\n    }")
                    .ok_or_else(|| anyhow!("cannot find the end of path {last} in the spec"))?
                    + from
                    + "\n    }".len();
                text.insert_str(close, &format!(",\n{block}"));
            }
        }
    }
    // The file must still parse and hold exactly this entry there.
    let written: Value = serde_json::from_str(&text).context("the spec after the insertion")?;
    let pointer = format!(
        "/paths/{}/{}",
        new.path.replace('~', "~0").replace('/', "~1"),
        new.method
    );
    if written.pointer(&pointer) != Some(&new.entry.to_value()) {
        bail!("the entry did not land at {pointer}");
    }
    Ok(text)
}

/// Writes the entry for `id` from `upstream` into `spec` and prints what else it needs.
pub fn run(root: &Path, id: &str, upstream: &Path, spec: &Path) -> Result<bool> {
    let upstream_doc = Document::load(upstream)?;
    let ours = Document::load(spec)?;
    let mut new = entry_for(&upstream_doc, &ours, id)?;
    let text =
        std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    new.order_headers_as(&text);
    let written = declare(&insert(&text, &new)?, &new)?;
    std::fs::write(spec, written).with_context(|| format!("writing {}", spec.display()))?;
    print!("{}", next_steps(root, spec, &new));
    Ok(true)
}

/// Every file the new operation needs, in the order to do them.
fn next_steps(root: &Path, spec: &Path, new: &NewOperation) -> String {
    let shown = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut out = format!(
        "new-operation: wrote {} {} ({}) into {}\n\nNext, in this order:\n",
        new.method.to_uppercase(),
        new.path,
        new.id,
        shown(spec)
    );
    let mut step = 0;
    let mut say = |out: &mut String, text: String| {
        step += 1;
        let _ = writeln!(out, "{step}. {text}");
    };
    say(
        &mut out,
        format!(
            "{}: write the summary and every `{TO_WRITE}` in the project's own words (never \
             upstream's); the test spec::every_spec_operation_is_described fails until then.",
            shown(spec)
        ),
    );
    for tag in &new.new_tags {
        say(
            &mut out,
            format!(
                "{}: the collection `{tag}` is new to the spec and was declared in its top-level \
                 `tags` (describe it); `cargo xtask spec-diff` now holds upstream's `{tag}` \
                 operations to the spec: pass it the upstream document that has them.{}",
                shown(spec),
                if new.partial_tags.contains(tag) {
                    " It is marked `x-falcon-partial`: upstream's other operations of it are \
                     reported as `op.uncurated`, to explain once in spec/CURATION.md; remove \
                     the mark when the collection is complete."
                } else {
                    ""
                }
            ),
        );
    }
    for scope in &new.new_scopes {
        say(
            &mut out,
            format!(
                "{}: the scope `{scope}` is new to the spec and was declared in the oauth2 scheme \
                 (describe it); the simulator's full client holds every scope of the table, its \
                 read-only client only `user-management:read`.",
                shown(spec)
            ),
        );
    }
    for fact in &new.to_decide {
        say(&mut out, format!("{}: {fact}.", shown(spec)));
    }
    for schema in &new.missing_schemas {
        say(
            &mut out,
            format!(
                "{}: add components/schemas/{schema} from upstream's definitions, each property \
                 described in our words (spec/CURATION.md, departure 10).",
                shown(spec)
            ),
        );
    }
    say(
        &mut out,
        "cargo xtask generate: regenerates crates/falcon-users-api/src/generated.rs (the client), \
         crates/falcon-users-api/src/operations.rs (the operation table) and \
         crates/falcon-users-httpmock/src/generated.rs (the mocks). Never edit them by hand."
            .to_owned(),
    );
    let routes = root.join("crates/falcon-users-sim/src/routes");
    let areas: Vec<String> = std::fs::read_dir(&routes)
        .map(|dir| {
            let mut names: Vec<String> = dir
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".rs") && n != "mod.rs")
                .collect();
            names.sort();
            names
        })
        .unwrap_or_default();
    say(
        &mut out,
        format!(
            "crates/falcon-users-sim/src/routes/<area>.rs (one of {}): the simulator's handler, \
             filed under its operation in `registry()` in crates/falcon-users-sim/src/router.rs; \
             until then the simulator refuses to start and names the operation.",
            areas.join(", ")
        ),
    );
    say(
        &mut out,
        "tests: its wire format and behaviour on the simulator in tests/tests/integration/sim/ops.rs; \
         the coverage tests (router::tests in crates/falcon-users-sim/src/router.rs, and \
         sim::ops::every_operation_of_the_table_is_routed_and_answers_with_trace_and_rate_headers) \
         hold it to the table."
            .to_owned(),
    );
    say(
        &mut out,
        format!(
            "cargo xtask spec-diff <upstream swagger>: no new drift for {}.",
            new.id
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::spec_diff::curation::Curation;
    use crate::spec_diff::document::test_document;

    /// The upstream reference `name`, beside the clone as CI has it; `None` (and a line saying
    /// so) when it is absent.
    fn reference(name: &str) -> Option<Document> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference")
            .join(name);
        if !path.exists() {
            eprintln!(
                "skipped: {} is absent, so new-operation is not checked against upstream",
                path.display()
            );
            return None;
        }
        Some(Document::load(&path).expect("the upstream swagger loads"))
    }

    /// The User Management reference.
    fn upstream() -> Option<Document> {
        reference("upstream-user-management.swagger.json")
    }

    /// Every upstream document the spec takes operations from (User Management; Flight Control,
    /// which has the CCID lookup); `None` unless all are present.
    fn upstreams() -> Option<Vec<Document>> {
        Some(vec![
            upstream()?,
            reference("upstream-flight-control.swagger.json")?,
        ])
    }

    fn spec_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/user-management.json")
    }

    /// `value` without any `description` or `summary`: what a person writes.
    fn without_descriptions(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| *k != "description" && *k != "summary")
                    .map(|(k, v)| (k.clone(), without_descriptions(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_descriptions).collect()),
            other => other.clone(),
        }
    }

    /// Every descriptive text the entry holds, with where it is.
    fn texts(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let here = format!("{at}/{k}");
                    match (k.as_str(), v.as_str()) {
                        ("description" | "summary", Some(text)) => {
                            out.push((here, text.to_owned()))
                        }
                        _ => texts(v, &here, out),
                    }
                }
            }
            Value::Array(items) => {
                for (n, v) in items.iter().enumerate() {
                    texts(v, &format!("{at}/{n}"), out);
                }
            }
            _ => {}
        }
    }

    /// Every upstream operation is in our spec, so each is taken out of a copy of the spec in
    /// turn and written back: the entry equals the curated one apart from descriptions, for
    /// every operation whose facts upstream states in a form the task reads.
    #[test]
    fn an_operation_taken_out_of_the_spec_is_written_back_as_curated() {
        let Some(upstreams) = upstreams() else { return };
        let text = std::fs::read_to_string(spec_path()).unwrap();
        let spec: Value = serde_json::from_str(&text).unwrap();
        // Where the curated entry states what upstream does not (spec/CURATION.md): the OAuth2
        // forms (departures 3-5), read-only POSTs without `/GET/` (the aggregates, which also
        // declare a 400, departure 9), filter and sort fields
        // upstream gives only as examples, and replacements newer than the one upstream's
        // summary names. The 207 of entity lookups (departure 11) is left out of the
        // comparison, and so is every status CURATION's explained drift declares beyond
        // upstream's (`response.status.extra:<id>:<status>`, e.g. departures 9 and 13): a
        // status explained there is a person's decision the task cannot know.
        let curation = Curation::load(&curation_path()).unwrap();
        let person_decides = [
            "oauth2AccessToken",
            "oauth2RevokeToken",
            "aggregateUsersV1",
            "aggregateUsersV2",
            "userAllowedActionsV1",
            "queryUserInvitationsV1",
            "GetRoles",
            "GetUserRoleIds",
            "RetrieveEmailsByCID",
            "entitiesRolesV1",
        ];
        let ours_full = test_document(spec.clone());
        let mut checked = 0;
        for (id, op) in operations(&ours_full).unwrap() {
            if person_decides.contains(&id.as_str()) {
                continue;
            }
            let pointer = format!("/paths/{}", op.path.replace('/', "~1"));
            let mut without = spec.clone();
            let item = without
                .pointer_mut(&pointer)
                .unwrap()
                .as_object_mut()
                .unwrap();
            item.remove(op.method);
            if item.is_empty() {
                without["paths"].as_object_mut().unwrap().remove(op.path);
            }
            // Each from the upstream document that has it.
            let upstream = upstreams
                .iter()
                .find(|doc| operations(doc).unwrap().contains_key(&id))
                .unwrap_or_else(|| panic!("{id}: no upstream document has it"));
            let new = entry_for(upstream, &test_document(without.clone()), &id)
                .unwrap_or_else(|e| panic!("{id}: {e:#}"));
            let curated_op = without_explained_statuses(&curation, &id, op.op);
            assert_eq!(
                without_descriptions(&without_multi_status(&new.entry.to_value())),
                without_descriptions(&without_multi_status(&curated_op)),
                "{id}"
            );
            assert!(
                new.missing_schemas.is_empty(),
                "{id}: {:?}",
                new.missing_schemas
            );
            // Written into the file without the operation, it lands where it was.
            let text_without = serde_json::to_string_pretty(&without).unwrap();
            let back: Value = serde_json::from_str(&insert(&text_without, &new).unwrap()).unwrap();
            let mut expected = spec.clone();
            let curated = expected.pointer_mut(&pointer).unwrap();
            curated[op.method] = curated_op;
            // The 207 stays where upstream declares it too (the Flight Control entity calls).
            if new.entry.to_value()["responses"].get("207").is_none() {
                curated[op.method] = without_multi_status(&curated[op.method]);
            }
            assert_eq!(
                without_descriptions(&back),
                without_descriptions(&expected),
                "{id}"
            );
            checked += 1;
        }
        assert!(checked >= 25, "only {checked} operations checked");
    }

    /// `spec/CURATION.md`, whose explained drift the comparison of entries honours.
    fn curation_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/CURATION.md")
    }

    /// The curated operation `id` without the statuses CURATION explains as declared beyond
    /// upstream's (`response.status.extra:<id>:<status>`), which `new-operation` cannot write.
    fn without_explained_statuses(curation: &Curation, id: &str, op: &Value) -> Value {
        let mut op = op.clone();
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            responses.retain(|status, _| {
                curation
                    .explain(&format!("response.status.extra:{id}:{status}"))
                    .is_none()
            });
        }
        op
    }

    /// An operation without the 207 the spec adds to entity lookups (departure 11), which
    /// upstream does not declare and so `new-operation` does not write.
    fn without_multi_status(op: &Value) -> Value {
        let mut op = op.clone();
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            responses.remove("207");
        }
        op
    }

    /// No description is taken from upstream: the summary, the parameters and the body are
    /// left to write, and the responses carry the spec's own words.
    #[test]
    fn descriptions_are_ours_or_left_to_write() {
        let Some(upstream) = upstream() else { return };
        let text = std::fs::read_to_string(spec_path()).unwrap();
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        let path = "/user-management/entities/permissions/GET/v1";
        spec["paths"].as_object_mut().unwrap().remove(path);
        let new = entry_for(&upstream, &test_document(spec), "entitiesPermissionsGETV1").unwrap();
        let up = upstream
            .root
            .pointer("/paths/~1user-management~1entities~1permissions~1GET~1v1/post")
            .unwrap();
        let mut upstream_texts = Vec::new();
        texts(up, "", &mut upstream_texts);
        let mut written = Vec::new();
        texts(&new.entry.to_value(), "", &mut written);
        let left: Vec<&str> = written
            .iter()
            .filter(|(_, t)| t == TO_WRITE)
            .map(|(at, _)| at.as_str())
            .collect();
        assert_eq!(left, ["/requestBody/description", "/summary"]);
        for (at, text) in &written {
            assert!(
                !upstream_texts.iter().any(|(_, t)| t == text),
                "{at} copies upstream's {text:?}"
            );
        }
    }

    #[test]
    fn the_entry_is_written_in_place_and_the_rest_of_the_file_is_untouched() {
        let spec = serde_json::json!({"paths": {
            "/a": {"get": {"operationId": "a"}},
            "/c": {"get": {"operationId": "c"}}
        }, "components": {}});
        let text = serde_json::to_string_pretty(&spec).unwrap();
        for (path, method) in [("/b", "post"), ("/a", "post"), ("/d", "get"), ("/0", "put")] {
            let new = NewOperation {
                id: "n".into(),
                path: path.into(),
                method,
                entry: Node::object().with("operationId", "n"),
                to_decide: Vec::new(),
                missing_schemas: Vec::new(),
                new_tags: Vec::new(),
                partial_tags: Vec::new(),
                new_scopes: Vec::new(),
            };
            let written = insert(&text, &new).unwrap();
            let value: Value = serde_json::from_str(&written).unwrap();
            assert_eq!(value["paths"][path][method]["operationId"], "n", "{path}");
            assert_eq!(value["paths"]["/c"], spec["paths"]["/c"]);
            // Only lines were added: the old ones are all there, in order (the last path
            // gains a comma when the new one goes after it).
            let mut new_lines = written.lines();
            for line in text.lines() {
                assert!(
                    new_lines.any(|l| l == line || l == format!("{line},")),
                    "{path}: lost {line:?} in\n{written}"
                );
            }
            let order: Vec<&String> = value["paths"].as_object().unwrap().keys().collect();
            assert!(order.is_sorted(), "{order:?}");
        }
    }

    /// The first operation of a collection upstream has more of (Flight Control's children
    /// query, taken out of the spec with its tag) declares the collection partly curated, so
    /// `spec-diff` reports upstream's other operations of it as not yet curated.
    #[test]
    fn a_new_collection_with_more_upstream_operations_is_declared_partial() {
        let Some(upstreams) = upstreams() else { return };
        let text = std::fs::read_to_string(spec_path()).unwrap();
        let mut without: Value = serde_json::from_str(&text).unwrap();
        let paths = without["paths"].as_object_mut().unwrap();
        paths.retain(|path, _| !path.starts_with("/mssp/"));
        without["tags"]
            .as_array_mut()
            .unwrap()
            .retain(|t| t["name"] != "mssp");
        let new = entry_for(
            &upstreams[1],
            &test_document(without.clone()),
            "queryChildren",
        )
        .unwrap();
        assert_eq!(new.new_tags, ["mssp"]);
        assert_eq!(new.partial_tags, ["mssp"]);
        let text_without = serde_json::to_string_pretty(&without).unwrap();
        let written = declare(&insert(&text_without, &new).unwrap(), &new).unwrap();
        let back: Value = serde_json::from_str(&written).unwrap();
        let tag = back["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "mssp")
            .unwrap();
        assert_eq!(tag["x-falcon-partial"], true);
    }

    /// An operation of a collection and a scope the spec has no word for (the CCID lookup,
    /// taken out of the spec with its tag and scope) brings their declarations with it, left
    /// for a person to describe; apart from descriptions the spec is as curated.
    #[test]
    fn a_new_collection_and_scope_are_declared_with_the_operation() {
        let Some(upstreams) = upstreams() else { return };
        let text = std::fs::read_to_string(spec_path()).unwrap();
        let spec: Value = serde_json::from_str(&text).unwrap();
        let mut without = spec.clone();
        without["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/sensors/queries/installers/ccid/v1")
            .expect("the CCID lookup is in the spec");
        without["tags"]
            .as_array_mut()
            .unwrap()
            .retain(|t| t["name"] != "sensor_download");
        without
            .pointer_mut(SCOPES)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("sensor-installers:read")
            .expect("its scope is declared");
        let new = entry_for(
            &upstreams[1],
            &test_document(without.clone()),
            "GetSensorInstallersCCIDByQuery",
        )
        .unwrap();
        assert_eq!(new.new_tags, ["sensor_download"]);
        assert!(
            new.partial_tags.is_empty(),
            "the CCID lookup is the only sensor_download operation upstream"
        );
        assert_eq!(new.new_scopes, ["sensor-installers:read"]);
        let text_without = serde_json::to_string_pretty(&without).unwrap();
        let written = declare(&insert(&text_without, &new).unwrap(), &new).unwrap();
        let back: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(
            back.pointer(SCOPES).unwrap()["sensor-installers:read"],
            TO_WRITE
        );
        let tag = back["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "sensor_download")
            .unwrap();
        assert_eq!(tag["description"], TO_WRITE);
        // Scope descriptions are plain strings: compare the spec with them blanked.
        let blank_scopes = |mut v: Value| {
            for (_, d) in v.pointer_mut(SCOPES).unwrap().as_object_mut().unwrap() {
                *d = Value::Null;
            }
            without_descriptions(&v)
        };
        assert_eq!(blank_scopes(back), blank_scopes(spec));
        // Nothing to declare when the spec already has both.
        let again = entry_for(
            &upstreams[1],
            &test_document(serde_json::from_str(&written).unwrap()),
            "GetSensorInstallersCCIDByQuery",
        );
        assert!(again.is_err(), "already in the spec");
    }

    #[test]
    fn an_operation_already_in_the_spec_or_unknown_upstream_is_refused() {
        let upstream = test_document(serde_json::json!({"paths": {
            "/x": {"get": {"operationId": "x", "responses": {}}}
        }}));
        let ours = test_document(serde_json::json!({"paths": {
            "/x": {"get": {"operationId": "x", "responses": {"500": {"description": "Failed.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/E"}}}}}}}
        }, "components": {"schemas": {}}}));
        let err = entry_for(&upstream, &ours, "x").unwrap_err().to_string();
        assert!(err.contains("already has `x` (GET /x)"), "{err}");
        let err = entry_for(&upstream, &ours, "nope").unwrap_err().to_string();
        assert!(err.contains("no operation `nope`"), "{err}");
    }
}

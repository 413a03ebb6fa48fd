//! `cargo xtask spec-diff`: compare our OpenAPI 3.0 spec with upstream's Swagger 2.0 document.
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
//! | `op.method` / `op.path`    | `<operationId>`                  |
//! | `op.deprecated`            | `<operationId>`                  |
//! | `param.missing` / `param.extra` / `param.required` / `param.array` / `param.type` / `param.style` | `<operationId>:<location>.<name>` |
//! | `body.missing` / `body.extra` / `body.required` / `body.type` | `<operationId>` |
//! | `body.prop.missing` / `body.prop.extra` / `body.prop.type` | `<operationId>:<property path>` |
//! | `response.status.missing` / `response.status.extra` | `<operationId>:<status>` |
//! | `response.schema.missing` / `response.schema.extra` / `response.type` | `<operationId>:<status>` |
//! | `response.prop.missing` / `response.prop.extra` / `response.prop.type` | `<operationId>:<status>:<property path>` |
//! | `schema.missing`           | `<definition name>`              |
//!
//! "missing" means upstream has it and we do not; "extra" the reverse. Locations are `query`,
//! `path`, `header`, `cookie` and `formData` (a property of our form-encoded request body).
//! Property paths are dotted, with `[]` for array items and `{}` for map values, e.g.
//! `resources[].user_type`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use regex::Regex;
use serde_json::Value;

/// The HTTP methods that can key an operation in a path item (both formats).
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How deep the structural schema walk goes. Real envelopes nest about five levels; the limit
/// only guards against pathological documents, the cycle guard handles recursive schemas.
const MAX_SCHEMA_DEPTH: usize = 32;

/// How many `$ref` hops a single reference may take before we call it a loop.
const MAX_REF_HOPS: usize = 32;

/// Stands in for an absent schema, so that "no schema" compares as type `any`.
static NO_SCHEMA: Value = Value::Null;

/// Heading of the CURATION.md section whose bullets hold the patterns.
const EXPLAINED_HEADING: &str = "explained drift";

/// Compares `upstream` (Swagger 2.0) with `spec` (our OpenAPI 3.0), prints one line per
/// difference and a summary, and returns whether every difference is explained by `curation`.
pub fn run(upstream: &Path, spec: &Path, curation: &Path) -> Result<bool> {
    let upstream_doc = Document::load(upstream)?;
    let ours_doc = Document::load(spec)?;
    let curation = Curation::load(curation)?;
    let findings = diff(&upstream_doc, &ours_doc)?;
    let report = Report::build(&findings, &curation);
    println!(
        "spec-diff: comparing {} with upstream {}",
        spec.display(),
        upstream.display()
    );
    print!("{}", report.text);
    Ok(report.unexplained == 0)
}

// ---------------------------------------------------------------------------------------------
// Documents and references
// ---------------------------------------------------------------------------------------------

/// A parsed JSON document plus its path, so every error can say which file is at fault.
struct Document {
    path: PathBuf,
    root: Value,
}

impl Document {
    fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let root = serde_json::from_str(&text)
            .with_context(|| format!("parsing {} as JSON", path.display()))?;
        Ok(Self::new(path.to_path_buf(), root))
    }

    fn new(path: PathBuf, root: Value) -> Self {
        Self { path, root }
    }

    /// Follows `value`'s `$ref` chain (if any) to the referenced value. Also returns the last
    /// reference taken, which identifies named schemas for the cycle guard.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> Result<(&'a Value, Option<&'a str>)> {
        let mut last_ref = None;
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = value.get("$ref") else {
                return Ok((value, last_ref));
            };
            let reference = reference
                .as_str()
                .ok_or_else(|| anyhow!("{}: a `$ref` is not a string", self.path.display()))?;
            let pointer = reference.strip_prefix('#').ok_or_else(|| {
                anyhow!(
                    "{}: only local references are supported, found `{reference}`",
                    self.path.display()
                )
            })?;
            value = self.root.pointer(pointer).ok_or_else(|| {
                anyhow!("{}: unresolvable `$ref` `{reference}`", self.path.display())
            })?;
            last_ref = Some(reference);
        }
        bail!(
            "{}: `$ref` chain longer than {MAX_REF_HOPS} hops (a reference loop?)",
            self.path.display()
        )
    }

    /// Like [`Document::resolve`], for callers that do not care about the reference name.
    fn deref<'a>(&'a self, value: &'a Value) -> Result<&'a Value> {
        Ok(self.resolve(value)?.0)
    }

    /// The names in the object at `pointer` (empty when that optional section is absent).
    fn keys_at(&self, pointer: &str) -> Result<BTreeSet<&str>> {
        let Some(value) = self.root.pointer(pointer) else {
            return Ok(BTreeSet::new());
        };
        let object = value
            .as_object()
            .ok_or_else(|| anyhow!("{}: `{pointer}` is not an object", self.path.display()))?;
        Ok(object.keys().map(String::as_str).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// One difference: a stable key for curation patterns and a sentence with both values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    key: String,
    detail: String,
}

impl Finding {
    fn new(key: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            detail: detail.into(),
        }
    }
}

/// Every difference between the two documents, grouped by operation (in operationId order),
/// then operations only we have, then schema names.
fn diff(upstream: &Document, ours: &Document) -> Result<Vec<Finding>> {
    let upstream_ops = operations(upstream)?;
    let ours_ops = operations(ours)?;
    let pair = Pair::new(upstream, ours);
    let mut findings = Vec::new();
    for (id, up_op) in &upstream_ops {
        match ours_ops.get(id) {
            None => findings.push(Finding::new(
                format!("op.missing:{id}"),
                format!(
                    "upstream has {} {}, ours does not",
                    up_op.method.to_uppercase(),
                    up_op.path
                ),
            )),
            Some(our_op) => findings.extend(diff_operation(&pair, id, up_op, our_op)?),
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
    findings.extend(diff_schema_names(upstream, ours)?);
    Ok(findings)
}

/// Upstream definitions that our `components.schemas` lacks. Only this direction: names are
/// what SDK users see, and a helper schema only we have is our own business.
fn diff_schema_names(upstream: &Document, ours: &Document) -> Result<Vec<Finding>> {
    let ours_names = ours.keys_at("/components/schemas")?;
    Ok(upstream
        .keys_at("/definitions")?
        .difference(&ours_names)
        .map(|name| {
            Finding::new(
                format!("schema.missing:{name}"),
                "upstream defines it, our components.schemas does not",
            )
        })
        .collect())
}

/// The two documents being compared, passed around together.
#[derive(Clone, Copy)]
struct Pair<'a> {
    upstream: &'a Document,
    ours: &'a Document,
}

impl<'a> Pair<'a> {
    fn new(upstream: &'a Document, ours: &'a Document) -> Self {
        Self { upstream, ours }
    }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// An operation and where it lives.
struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    path_item: &'a Value,
    op: &'a Value,
}

/// All operations of `doc`, keyed by operationId (or `method:path` when it has none).
fn operations(doc: &Document) -> Result<BTreeMap<String, Operation<'_>>> {
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
fn diff_operation(
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

// ---------------------------------------------------------------------------------------------
// Parameters and request bodies
// ---------------------------------------------------------------------------------------------

/// A parameter reduced to what both formats express alike.
struct Param<'a> {
    required: bool,
    /// Holds `type`/`format`/`items`: the parameter itself in Swagger 2.0, its `schema` (or a
    /// form-body property) in OpenAPI 3.0.
    schema: &'a Value,
    /// How an array is serialised, in Swagger 2.0 `collectionFormat` terms (`multi`, `csv`,
    /// ...); `None` for scalars and form fields.
    collection: Option<String>,
}

/// A JSON request body.
#[derive(Clone, Copy)]
struct Body<'a> {
    required: bool,
    schema: &'a Value,
}

/// The inputs of an operation: parameters keyed `<location>.<name>`, and the JSON body.
#[derive(Default)]
struct Inputs<'a> {
    params: BTreeMap<String, Param<'a>>,
    body: Option<Body<'a>>,
}

/// Path-level then operation-level parameters, so an operation's own definition wins.
fn raw_params<'a>(doc: &'a Document, op: &Operation<'a>) -> Result<Vec<&'a Value>> {
    let mut params = Vec::new();
    for holder in [op.path_item, op.op] {
        let Some(list) = holder.get("parameters") else {
            continue;
        };
        let list = list.as_array().ok_or_else(|| {
            anyhow!(
                "{}: `parameters` of {} {} is not an array",
                doc.path.display(),
                op.method,
                op.path
            )
        })?;
        for param in list {
            params.push(doc.deref(param)?);
        }
    }
    Ok(params)
}

/// The parameter's `name` and `in`, which both formats require.
fn name_and_location<'a>(doc: &Document, param: &'a Value) -> Result<(&'a str, &'a str)> {
    let field = |field: &str| {
        param.get(field).and_then(Value::as_str).ok_or_else(|| {
            anyhow!(
                "{}: a parameter lacks a string `{field}`: {param}",
                doc.path.display()
            )
        })
    };
    Ok((field("name")?, field("in")?))
}

fn is_required(value: &Value) -> bool {
    value
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Swagger 2.0 inputs: `in: body` is the JSON body, everything else (including `formData`) a
/// parameter whose type fields sit on the parameter itself.
fn upstream_inputs<'a>(doc: &'a Document, op: &Operation<'a>) -> Result<Inputs<'a>> {
    let mut inputs = Inputs::default();
    for param in raw_params(doc, op)? {
        let (name, location) = name_and_location(doc, param)?;
        if location == "body" {
            inputs.body = Some(Body {
                required: is_required(param),
                schema: param.get("schema").unwrap_or(&NO_SCHEMA),
            });
            continue;
        }
        let collection = (location != "formData" && type_label(param) == "array").then(|| {
            param
                .get("collectionFormat")
                .and_then(Value::as_str)
                .unwrap_or("csv")
                .to_owned()
        });
        let param = Param {
            required: is_required(param),
            schema: param,
            collection,
        };
        inputs.params.insert(format!("{location}.{name}"), param);
    }
    Ok(inputs)
}

/// OpenAPI 3.0 inputs: parameters carry a `schema`; a JSON request body is the body, and the
/// properties of a form-encoded body are `formData` parameters, as Swagger 2.0 models them.
fn ours_inputs<'a>(doc: &'a Document, op: &Operation<'a>) -> Result<Inputs<'a>> {
    let mut inputs = Inputs::default();
    for param in raw_params(doc, op)? {
        let (name, location) = name_and_location(doc, param)?;
        let schema = match param.get("schema") {
            Some(schema) => doc.deref(schema)?,
            None => first_content_schema(param).unwrap_or(&NO_SCHEMA),
        };
        let collection =
            (type_label(schema) == "array").then(|| openapi_collection(param, location));
        let param = Param {
            required: is_required(param),
            schema,
            collection,
        };
        inputs.params.insert(format!("{location}.{name}"), param);
    }
    let Some(request_body) = op.op.get("requestBody") else {
        return Ok(inputs);
    };
    let request_body = doc.deref(request_body)?;
    let content = request_body
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    for (media_type, media) in content {
        let schema = media.get("schema").unwrap_or(&NO_SCHEMA);
        if is_form_media_type(media_type) {
            insert_form_fields(doc, schema, &mut inputs.params)?;
        } else if media_type.contains("json") && inputs.body.is_none() {
            inputs.body = Some(Body {
                required: is_required(request_body),
                schema,
            });
        }
    }
    Ok(inputs)
}

fn is_form_media_type(media_type: &str) -> bool {
    media_type == "application/x-www-form-urlencoded" || media_type == "multipart/form-data"
}

/// Adds each property of a form body schema as a `formData.<name>` parameter, required when
/// the schema's `required` list names it.
fn insert_form_fields<'a>(
    doc: &'a Document,
    schema: &'a Value,
    params: &mut BTreeMap<String, Param<'a>>,
) -> Result<()> {
    let schema = doc.deref(schema)?;
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    for (name, property) in properties {
        let param = Param {
            required: required.contains(name.as_str()),
            schema: doc.deref(property)?,
            collection: None,
        };
        params.insert(format!("formData.{name}"), param);
    }
    Ok(())
}

/// A parameter's schema given through `content` instead of `schema` (rare, but valid).
fn first_content_schema(param: &Value) -> Option<&Value> {
    param
        .get("content")?
        .as_object()?
        .values()
        .find_map(|media| media.get("schema"))
}

/// Translates OpenAPI 3.0 `style`/`explode` (with their per-location defaults) into the
/// Swagger 2.0 `collectionFormat` with the same wire format, so the two can be compared.
fn openapi_collection(param: &Value, location: &str) -> String {
    let default_style = if matches!(location, "query" | "cookie") {
        "form"
    } else {
        "simple"
    };
    let style = param
        .get("style")
        .and_then(Value::as_str)
        .unwrap_or(default_style);
    let explode = param
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == "form");
    match (style, explode) {
        ("form", true) => "multi",
        ("form" | "simple", false) | ("simple", true) => "csv",
        ("spaceDelimited", _) => "ssv",
        ("pipeDelimited", _) => "pipes",
        (other, _) => other,
    }
    .to_owned()
}

/// Parameter differences by `<location>.<name>`.
fn diff_params(
    pair: &Pair<'_>,
    id: &str,
    up: &BTreeMap<String, Param<'_>>,
    ours: &BTreeMap<String, Param<'_>>,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for (key, up_param) in up {
        match ours.get(key) {
            None => findings.push(Finding::new(
                format!("param.missing:{id}:{key}"),
                format!(
                    "upstream has it ({}), ours does not",
                    describe_param(pair.upstream, up_param)?
                ),
            )),
            Some(our_param) => {
                findings.extend(diff_param(
                    pair,
                    &format!("{id}:{key}"),
                    up_param,
                    our_param,
                )?);
            }
        }
    }
    for (key, our_param) in ours {
        if !up.contains_key(key) {
            findings.push(Finding::new(
                format!("param.extra:{id}:{key}"),
                format!(
                    "ours has it ({}), upstream does not",
                    describe_param(pair.ours, our_param)?
                ),
            ));
        }
    }
    Ok(findings)
}

/// Differences of one parameter present in both: required, array-ness, element type, and the
/// array wire format. Element types are compared even when array-ness differs, so `ids: string`
/// vs `ids: [string]` is one finding, not two.
fn diff_param(
    pair: &Pair<'_>,
    context: &str,
    up: &Param<'_>,
    ours: &Param<'_>,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    if up.required != ours.required {
        findings.push(Finding::new(
            format!("param.required:{context}"),
            format!(
                "required differs: upstream {}, ours {}",
                up.required, ours.required
            ),
        ));
    }
    let up_array = type_label(up.schema) == "array";
    let ours_array = type_label(ours.schema) == "array";
    if up_array != ours_array {
        findings.push(Finding::new(
            format!("param.array:{context}"),
            format!("array-ness differs: upstream array={up_array}, ours array={ours_array}"),
        ));
    }
    let up_element = element_label(pair.upstream, up.schema)?;
    let ours_element = element_label(pair.ours, ours.schema)?;
    if up_element != ours_element {
        findings.push(Finding::new(
            format!("param.type:{context}"),
            format!("type differs: upstream {up_element}, ours {ours_element}"),
        ));
    }
    if let (Some(up_format), Some(ours_format)) = (&up.collection, &ours.collection)
        && up_format != ours_format
    {
        findings.push(Finding::new(
            format!("param.style:{context}"),
            format!(
                "array serialisation differs: upstream {up_format}, ours {ours_format} \
                 (in collectionFormat terms)"
            ),
        ));
    }
    Ok(findings)
}

/// The type of a scalar parameter, or of an array parameter's items.
fn element_label(doc: &Document, schema: &Value) -> Result<String> {
    let schema = doc.deref(schema)?;
    if type_label(schema) != "array" {
        return Ok(type_label(schema));
    }
    let items = schema.get("items").unwrap_or(&NO_SCHEMA);
    Ok(type_label(doc.deref(items)?))
}

/// E.g. `required array<string>`, for findings about a parameter only one side has.
fn describe_param(doc: &Document, param: &Param<'_>) -> Result<String> {
    let requirement = if param.required {
        "required"
    } else {
        "optional"
    };
    let element = element_label(doc, param.schema)?;
    Ok(if type_label(doc.deref(param.schema)?) == "array" {
        format!("{requirement} array<{element}>")
    } else {
        format!("{requirement} {element}")
    })
}

/// JSON body differences: presence, `required`, and the schema's shape.
fn diff_body(
    pair: &Pair<'_>,
    id: &str,
    up: Option<Body<'_>>,
    ours: Option<Body<'_>>,
) -> Result<Vec<Finding>> {
    match (up, ours) {
        (None, None) => Ok(Vec::new()),
        (Some(up), None) => Ok(vec![Finding::new(
            format!("body.missing:{id}"),
            format!(
                "upstream takes a JSON body ({}), ours does not",
                type_label(pair.upstream.deref(up.schema)?)
            ),
        )]),
        (None, Some(ours)) => Ok(vec![Finding::new(
            format!("body.extra:{id}"),
            format!(
                "ours takes a JSON body ({}), upstream does not",
                type_label(pair.ours.deref(ours.schema)?)
            ),
        )]),
        (Some(up), Some(ours)) => {
            let mut findings = Vec::new();
            if up.required != ours.required {
                findings.push(Finding::new(
                    format!("body.required:{id}"),
                    format!(
                        "required differs: upstream {}, ours {}",
                        up.required, ours.required
                    ),
                ));
            }
            let diffs = compare_schemas(pair, up.schema, ours.schema)?;
            findings.extend(schema_findings("body", id, &diffs));
            Ok(findings)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// Response differences: status codes, and for shared statuses the body schema's shape.
/// Headers and descriptions are deliberately ignored.
fn diff_responses(
    pair: &Pair<'_>,
    id: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
) -> Result<Vec<Finding>> {
    let up_responses = response_schemas(pair.upstream, up, |response| response.get("schema"))?;
    let ours_responses = response_schemas(pair.ours, ours, json_content_schema)?;
    let mut findings = Vec::new();
    for (status, up_schema) in &up_responses {
        let context = format!("{id}:{status}");
        match ours_responses.get(status) {
            None => findings.push(Finding::new(
                format!("response.status.missing:{context}"),
                "upstream declares this status, ours does not",
            )),
            Some(ours_schema) => {
                findings.extend(diff_response_schema(
                    pair,
                    &context,
                    *up_schema,
                    *ours_schema,
                )?);
            }
        }
    }
    for status in ours_responses.keys() {
        if !up_responses.contains_key(status) {
            findings.push(Finding::new(
                format!("response.status.extra:{id}:{status}"),
                "ours declares this status, upstream does not",
            ));
        }
    }
    Ok(findings)
}

/// Status code → body schema (if any), using `schema_of` to find the schema in a response.
fn response_schemas<'a>(
    doc: &'a Document,
    op: &Operation<'a>,
    schema_of: impl Fn(&'a Value) -> Option<&'a Value>,
) -> Result<BTreeMap<String, Option<&'a Value>>> {
    let Some(responses) = op.op.get("responses") else {
        return Ok(BTreeMap::new());
    };
    let responses = responses.as_object().ok_or_else(|| {
        anyhow!(
            "{}: `responses` of {} {} is not an object",
            doc.path.display(),
            op.method,
            op.path
        )
    })?;
    responses
        .iter()
        .map(|(status, response)| Ok((status.clone(), schema_of(doc.deref(response)?))))
        .collect()
}

/// The schema of an OpenAPI 3.0 response: its JSON content, else whatever content it has.
fn json_content_schema(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(media_type, _)| media_type.contains("json"))
        .or_else(|| content.iter().next())
        .and_then(|(_, media)| media.get("schema"))
}

fn diff_response_schema(
    pair: &Pair<'_>,
    context: &str,
    up: Option<&Value>,
    ours: Option<&Value>,
) -> Result<Vec<Finding>> {
    Ok(match (up, ours) {
        (None, None) => Vec::new(),
        (Some(up), None) => vec![Finding::new(
            format!("response.schema.missing:{context}"),
            format!(
                "upstream has a body ({}), ours has none",
                type_label(pair.upstream.deref(up)?)
            ),
        )],
        (None, Some(ours)) => vec![Finding::new(
            format!("response.schema.extra:{context}"),
            format!(
                "ours has a body ({}), upstream has none",
                type_label(pair.ours.deref(ours)?)
            ),
        )],
        (Some(up), Some(ours)) => {
            schema_findings("response", context, &compare_schemas(pair, up, ours)?)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Structural schema comparison
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DiffKind {
    /// Upstream has the property, we do not.
    Missing,
    /// We have the property, upstream does not.
    Extra,
    /// Both have it, with different types.
    Type,
}

/// One shape difference at `path` (empty for the schema itself), with both type labels.
#[derive(Debug)]
struct SchemaDiff {
    kind: DiffKind,
    path: String,
    upstream: String,
    ours: String,
}

/// Turns shape differences into findings: `<prefix>.type:<context>` for the schema itself,
/// `<prefix>.prop.<kind>:<context>:<path>` below it.
fn schema_findings(prefix: &str, context: &str, diffs: &[SchemaDiff]) -> Vec<Finding> {
    diffs
        .iter()
        .map(|diff| {
            let key = match (diff.kind, diff.path.is_empty()) {
                (DiffKind::Type, true) => format!("{prefix}.type:{context}"),
                (DiffKind::Type, false) => format!("{prefix}.prop.type:{context}:{}", diff.path),
                (DiffKind::Missing, _) => format!("{prefix}.prop.missing:{context}:{}", diff.path),
                (DiffKind::Extra, _) => format!("{prefix}.prop.extra:{context}:{}", diff.path),
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
            Finding::new(key, detail)
        })
        .collect()
}

/// Compares two schemas by shape (resolving `$ref`s on both sides) and lists the differences.
fn compare_schemas(pair: &Pair<'_>, up: &Value, ours: &Value) -> Result<Vec<SchemaDiff>> {
    let mut walk = SchemaWalk {
        pair: *pair,
        stack: Vec::new(),
        diffs: Vec::new(),
    };
    walk.compare(up, ours, "")?;
    Ok(walk.diffs)
}

/// State of one structural comparison.
struct SchemaWalk<'a> {
    pair: Pair<'a>,
    /// The `$ref` pairs being compared further up, so recursive schemas (a tree of
    /// `sub_aggregates`) stop where they would repeat instead of recursing forever.
    stack: Vec<(Option<&'a str>, Option<&'a str>)>,
    diffs: Vec<SchemaDiff>,
}

impl<'a> SchemaWalk<'a> {
    fn compare(&mut self, up: &'a Value, ours: &'a Value, path: &str) -> Result<()> {
        if self.stack.len() >= MAX_SCHEMA_DEPTH {
            return Ok(());
        }
        let (up, up_ref) = self.pair.upstream.resolve(up)?;
        let (ours, ours_ref) = self.pair.ours.resolve(ours)?;
        let frame = (up_ref, ours_ref);
        if frame != (None, None) && self.stack.contains(&frame) {
            return Ok(());
        }
        let (up_type, ours_type) = (type_label(up), type_label(ours));
        if up_type != ours_type {
            self.push(DiffKind::Type, path.to_owned(), up_type, ours_type);
            return Ok(());
        }
        self.stack.push(frame);
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

    fn push(&mut self, kind: DiffKind, path: String, upstream: String, ours: String) {
        self.diffs.push(SchemaDiff {
            kind,
            path,
            upstream,
            ours,
        });
    }
}

/// A schema's properties by name (sorted, so the report is stable).
fn properties(schema: &Value) -> BTreeMap<&str, &Value> {
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
fn type_label(schema: &Value) -> String {
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

// ---------------------------------------------------------------------------------------------
// Curation
// ---------------------------------------------------------------------------------------------

/// The "Explained drift" patterns of CURATION.md.
struct Curation {
    path: PathBuf,
    found: bool,
    patterns: Vec<Pattern>,
    /// Problems in the file worth telling the maintainer about, without failing.
    warnings: Vec<String>,
}

/// A glob from CURATION.md, compiled to an anchored regex.
struct Pattern {
    glob: String,
    line: usize,
    regex: Regex,
}

impl Curation {
    /// Reads `path`; a missing file means no difference is explained (a fresh checkout or a
    /// project without curation notes is still diffable).
    fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(err).with_context(|| format!("reading {}", path.display()));
            }
        };
        let (patterns, warnings) = match &text {
            Some(text) => parse_curation(text).with_context(|| format!("in {}", path.display()))?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Self {
            path: path.to_path_buf(),
            found: text.is_some(),
            patterns,
            warnings,
        })
    }

    /// Index of the first pattern matching the whole `key`.
    fn explain(&self, key: &str) -> Option<usize> {
        self.patterns
            .iter()
            .position(|pattern| pattern.regex.is_match(key))
    }
}

/// Extracts the patterns: in the `## Explained drift` section (up to the next heading of level
/// one or two), every bullet that starts with a backticked glob. Fenced code is skipped so the
/// section can show examples. Top-level bullets without a pattern are reported as warnings.
fn parse_curation(text: &str) -> Result<(Vec<Pattern>, Vec<String>)> {
    let bullet = Regex::new(r"^(\s*)[-*+]\s+(.*)$")?;
    let pattern_start = Regex::new(r"^`([^`]+)`")?;
    let mut patterns = Vec::new();
    let mut warnings = Vec::new();
    let mut in_section = false;
    let mut in_fence = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(level) = heading_level(line) {
            if level <= 2 {
                in_section = line[level..].trim().eq_ignore_ascii_case(EXPLAINED_HEADING);
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let Some(captures) = bullet.captures(line) else {
            continue;
        };
        let indented = !captures[1].is_empty();
        match pattern_start.captures(&captures[2]) {
            Some(glob) => patterns.push(Pattern {
                glob: glob[1].to_owned(),
                line: number,
                regex: glob_regex(&glob[1])?,
            }),
            None if !indented => warnings.push(format!(
                "line {number}: bullet without a leading `pattern`, ignored"
            )),
            None => {}
        }
    }
    Ok((patterns, warnings))
}

/// The level of a markdown ATX heading (`## Title` → 2), if `line` is one.
fn heading_level(line: &str) -> Option<usize> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' '))).then_some(level)
}

/// Compiles a glob (`*` any run of characters, `?` one character, everything else literal)
/// into a regex anchored at both ends, so a pattern must match the whole key.
fn glob_regex(glob: &str) -> Result<Regex> {
    let mut regex = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    regex.push('$');
    Regex::new(&regex).with_context(|| format!("pattern `{glob}`"))
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

/// The printable report and the count that decides the exit code.
struct Report {
    text: String,
    unexplained: usize,
}

impl Report {
    /// One line per finding, marked `explained` or `DRIFT`; then warnings about the curation
    /// (including patterns that matched nothing, which are probably stale); then a summary.
    fn build(findings: &[Finding], curation: &Curation) -> Self {
        let mut text = String::new();
        let mut used = vec![false; curation.patterns.len()];
        let mut unexplained = 0;
        for finding in findings {
            let marker = match curation.explain(&finding.key) {
                Some(index) => {
                    used[index] = true;
                    "explained"
                }
                None => {
                    unexplained += 1;
                    "DRIFT    "
                }
            };
            let _ = writeln!(text, "  {marker} {}  {}", finding.key, finding.detail);
        }
        let source = curation.path.display();
        if !curation.found {
            let _ = writeln!(text, "note: {source} not found; no difference is explained");
        }
        for warning in &curation.warnings {
            let _ = writeln!(text, "warning: {source}: {warning}");
        }
        for (pattern, used) in curation.patterns.iter().zip(used) {
            if !used {
                let _ = writeln!(
                    text,
                    "warning: {source}:{}: pattern `{}` matches no difference (stale curation?)",
                    pattern.line, pattern.glob
                );
            }
        }
        let total = findings.len();
        let noun = if total == 1 {
            "difference"
        } else {
            "differences"
        };
        let _ = writeln!(
            text,
            "spec-diff: {total} {noun}, {} explained by {source}, {unexplained} unexplained",
            total - unexplained
        );
        Self { text, unexplained }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(root: Value) -> Document {
        Document::new(PathBuf::from("test.json"), root)
    }

    #[test]
    fn glob_matches_whole_key_only() {
        let regex = glob_regex("response.prop.missing:*:4*:resources").unwrap();
        assert!(regex.is_match("response.prop.missing:GetRoles:400:resources"));
        assert!(!regex.is_match("response.prop.missing:GetRoles:400:resources.x"));
        assert!(!regex.is_match("xresponse.prop.missing:GetRoles:400:resources"));
        assert!(!regex.is_match("response.prop.missing:GetRoles:200:resources"));
        let regex = glob_regex("op.path:get?").unwrap();
        assert!(regex.is_match("op.path:getX"));
        assert!(!regex.is_match("op.path:get"));
        // `.` is literal, not "any character".
        assert!(!glob_regex("a.b").unwrap().is_match("axb"));
    }

    #[test]
    fn curation_reads_only_the_explained_drift_section() {
        let text = "\
# Title
- `outside:*` not in the section
## Explained drift
Intro text.
- `param.missing:*:query.x` — reason
  continued reason
  - `nested:*` also counts
* `op.extra:foo` — other bullet style
- no pattern here
```
- `in.fence:*` ignored
```
### Sub-heading stays in the section
- `sub:*` — yes
## Next section
- `after:*` — no
";
        let (patterns, warnings) = parse_curation(text).unwrap();
        let globs: Vec<_> = patterns.iter().map(|p| p.glob.as_str()).collect();
        assert_eq!(
            globs,
            [
                "param.missing:*:query.x",
                "nested:*",
                "op.extra:foo",
                "sub:*"
            ]
        );
        assert_eq!(patterns[0].line, 5);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

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
    fn openapi_styles_map_to_collection_formats() {
        assert_eq!(openapi_collection(&json!({}), "query"), "multi");
        assert_eq!(
            openapi_collection(&json!({"explode": false}), "query"),
            "csv"
        );
        assert_eq!(openapi_collection(&json!({}), "path"), "csv");
        assert_eq!(
            openapi_collection(&json!({"style": "pipeDelimited"}), "query"),
            "pipes"
        );
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

    #[test]
    fn unresolvable_ref_names_the_file() {
        let ours = doc(json!({}));
        let err = ours
            .resolve(&json!({"$ref": "#/components/schemas/Nope"}))
            .unwrap_err();
        assert!(err.to_string().contains("test.json"), "{err}");
    }
}

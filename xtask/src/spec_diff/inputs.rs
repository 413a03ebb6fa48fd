//! Parameters and request bodies, reduced to what Swagger 2.0 and OpenAPI 3.0 express alike.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow};
use serde_json::Value;

use super::document::Document;
use super::finding::{Finding, NO_SCHEMA, Pair};
use super::operation::Operation;
use super::schema::{compare_schemas, schema_findings, type_label};

/// A parameter reduced to what both formats express alike.
pub(super) struct Param<'a> {
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
pub(super) struct Body<'a> {
    required: bool,
    schema: &'a Value,
}

/// The inputs of an operation: parameters keyed `<location>.<name>`, and the JSON body.
#[derive(Default)]
pub(super) struct Inputs<'a> {
    pub(super) params: BTreeMap<String, Param<'a>>,
    pub(super) body: Option<Body<'a>>,
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
pub(super) fn upstream_inputs<'a>(doc: &'a Document, op: &Operation<'a>) -> Result<Inputs<'a>> {
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
pub(super) fn ours_inputs<'a>(doc: &'a Document, op: &Operation<'a>) -> Result<Inputs<'a>> {
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
pub(super) fn diff_params(
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
pub(super) fn diff_body(
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
            findings.extend(schema_findings("body", id, &format!("{id} body"), &diffs));
            Ok(findings)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}

//! Responses: status codes, and the shape of each shared status's body.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use serde_json::Value;

use super::document::Document;
use super::finding::{Finding, Pair};
use super::operation::Operation;
use super::schema::{compare_schemas, schema_findings, type_label};

/// Response differences: status codes, and for shared statuses the body schema's shape.
/// Headers and descriptions are deliberately ignored.
pub(super) fn diff_responses(
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
                    &format!("{id} {status}"),
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
    use_site: &str,
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
        (Some(up), Some(ours)) => schema_findings(
            "response",
            context,
            use_site,
            &compare_schemas(pair, up, ours)?,
        ),
    })
}

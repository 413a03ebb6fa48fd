//! What a difference is, and the two documents every comparison reads.

use serde_json::Value;

use super::document::Document;

/// Stands in for an absent schema, so that "no schema" compares as type `any`.
pub(super) static NO_SCHEMA: Value = Value::Null;

/// One difference: a stable key for curation patterns and a sentence with both values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    /// The stable key curation patterns match.
    pub(super) key: String,
    /// A sentence with both values.
    pub(super) detail: String,
    /// For a model difference, where the model is used (`<operationId> <status>` or
    /// `<operationId> body`); empty for a difference that belongs to one operation.
    pub(super) used_in: Vec<String>,
}

impl Finding {
    /// A difference that belongs to one operation.
    pub(super) fn new(key: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            detail: detail.into(),
            used_in: Vec::new(),
        }
    }
}

/// The two documents being compared, passed around together.
#[derive(Clone, Copy)]
pub(super) struct Pair<'a> {
    /// Upstream's Swagger 2.0 document.
    pub(super) upstream: &'a Document,
    /// Our OpenAPI 3.0 spec.
    pub(super) ours: &'a Document,
}

impl<'a> Pair<'a> {
    /// The two documents.
    pub(super) fn new(upstream: &'a Document, ours: &'a Document) -> Self {
        Self { upstream, ours }
    }
}

//! What handlers read from a request beyond the gate: query parameters (repeated keys kept),
//! paging bounds, FQL filters and sorts on the fields the operation table states, JSON bodies.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use falcon_users_api::types::MsaspecError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::{Envelope, meta};
use crate::fql::{Filter, Sort};
use crate::gate::Admitted;

/// Most ids one entity request may carry.
pub const MAX_IDS: usize = 5000;

/// Query parameters, keeping repeated keys (`ids=a&ids=b`).
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every value of `name`, at least one (a repeated-key list such as `ids=a&ids=b`).
    pub fn required_all(&self, name: &str, gate: &Admitted) -> Result<Vec<String>, Response> {
        let values = self.all(name);
        if values.is_empty() {
            return Err(gate.fail(StatusCode::BAD_REQUEST, format!("{name} is required")));
        }
        Ok(values)
    }

    /// A required value.
    pub fn required(&self, name: &str, gate: &Admitted) -> Result<String, Response> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| gate.fail(StatusCode::BAD_REQUEST, format!("{name} is required")))
    }

    /// `offset` and `limit` within the documented bounds (limit 1–`max`, default 100) and the
    /// instance's offset ceiling.
    pub fn page(
        &self,
        gate: &Admitted,
        max: usize,
        ceiling: u64,
    ) -> Result<(usize, usize), Response> {
        self.page_from(gate, 100, max, ceiling)
    }

    /// [`Params::page`] for a query whose `limit` defaults to `default` (Flight Control's
    /// queries: 10).
    pub fn page_from(
        &self,
        gate: &Admitted,
        default: i64,
        max: usize,
        ceiling: u64,
    ) -> Result<(usize, usize), Response> {
        let number = |name: &str, default: i64| -> Result<i64, Response> {
            match self.get(name) {
                None | Some("") => Ok(default),
                Some(v) => v.parse::<i64>().map_err(|_| {
                    gate.fail(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be an integer"),
                    )
                }),
            }
        };
        let offset = number("offset", 0)?;
        let limit = number("limit", default)?;
        if offset < 0 {
            return Err(gate.fail(StatusCode::BAD_REQUEST, "offset must be at least 0"));
        }
        if limit < 1 || limit > max as i64 {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("limit must be between 1 and {max}"),
            ));
        }
        // Checked: an absurd offset is a 400, never an overflow.
        if offset
            .checked_add(limit)
            .is_none_or(|end| end as u64 > ceiling)
        {
            return Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("offset + limit must be at most {ceiling}; narrow the filter"),
            ));
        }
        Ok((offset as usize, limit as usize))
    }

    /// The `filter` parameter, on the fields the operation's table entry states, relative
    /// dates counted from `now`.
    pub fn filter(&self, gate: &Admitted, now: DateTime<Utc>) -> Result<Option<Filter>, Response> {
        filter(self.get("filter"), gate.op.filter_fields, gate, now)
    }

    /// The `sort` parameter, on the fields the operation's table entry states.
    pub fn sort(&self, gate: &Admitted) -> Result<Option<Sort>, Response> {
        self.get("sort")
            .filter(|s| !s.trim().is_empty())
            .map(|s| Sort::parse(s, gate.op.sort_fields))
            .transpose()
            .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid sort: {e}")))
    }

    /// A boolean (`true`/`false`), default false.
    pub fn flag(&self, name: &str, gate: &Admitted) -> Result<bool, Response> {
        match self.get(name) {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(gate.fail(
                StatusCode::BAD_REQUEST,
                format!("{name} must be true or false"),
            )),
        }
    }
}

/// A JSON body in the spec's type, or a 400 envelope.
pub fn body<T: DeserializeOwned>(bytes: &[u8], gate: &Admitted) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        gate.fail(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

/// An FQL filter (none when empty) on `fields`, relative dates counted from `now`, or a 400
/// envelope.
pub fn filter(
    raw: Option<&str>,
    fields: &[&str],
    gate: &Admitted,
    now: DateTime<Utc>,
) -> Result<Option<Filter>, Response> {
    raw.filter(|f| !f.trim().is_empty())
        .map(|f| Filter::parse(f, fields, now))
        .transpose()
        .map_err(|e| gate.fail(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")))
}

/// The status of an entity lookup by ids, as the service answers one: 200 when every id was
/// found, 207 (multi-status: the items found in `resources`, a 404 entry per unknown id in
/// `errors`) when only some were, and `none` when none was.
pub fn lookup_status(found: usize, missing: usize, none: StatusCode) -> StatusCode {
    match (found, missing) {
        (0, _) => none,
        (_, 0) => StatusCode::OK,
        _ => StatusCode::MULTI_STATUS,
    }
}

/// The items `find` knows among at most 500 `ids`, a 404 error entry per unknown id, and the
/// status ([`lookup_status`]): 404 when none is known.
pub fn by_ids<T: Serialize>(
    gate: &Admitted,
    ids: &[String],
    find: impl Fn(&str) -> Option<T>,
) -> Result<(Envelope<T>, StatusCode), Response> {
    if ids.is_empty() || ids.len() > 500 {
        return Err(gate.fail(
            StatusCode::BAD_REQUEST,
            "between 1 and 500 ids are required",
        ));
    }
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match find(id) {
            Some(item) => found.push(item),
            None => errors.push(MsaspecError {
                code: 404,
                id: Some(id.clone()),
                message: format!("{id} not found"),
            }),
        }
    }
    let status = lookup_status(found.len(), errors.len(), gate.not_found());
    Ok((
        Envelope {
            errors,
            meta: meta(gate.started, &gate.headers.trace),
            resources: found,
        },
        status,
    ))
}

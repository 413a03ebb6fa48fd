//! The checks every convenience method runs on its arguments before anything is sent, so a bad
//! value is refused with the argument's name rather than as an API error.

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::error::{Error, Result};
use crate::model::ids::IdList;

/// A single id, trimmed and checked by the same rules as [`IdList::validate`].
pub fn checked_id<'a>(field: &'static str, id: &'a str) -> Result<&'a str> {
    let id = id.trim();
    IdList::from_iter([id]).validate(field)?;
    Ok(id)
}

/// Ids per page request: 1–500, 500 when not given (fewest requests).
pub fn page_size(size: Option<u64>) -> Result<u64> {
    match size.unwrap_or(500) {
        n @ 1..=500 => Ok(n),
        n => Err(Error::invalid(
            "page_size",
            format!("{n} is outside 1..=500"),
        )),
    }
}

/// A plausible email: one `@`, non-empty local part, a dotted domain, no spaces, ≤ 254 bytes.
pub fn validate_email(uid: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(
            "uid",
            format!("{uid:?} is not an email address: {why}"),
        ))
    };
    if uid.len() > 254 {
        return bad("longer than 254 characters");
    }
    if uid.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace");
    }
    let Some((local, domain)) = uid.split_once('@') else {
        return bad("no @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("needs exactly one @ with a name before it");
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad("the domain must look like example.com");
    }
    Ok(())
}

/// Names are trimmed; blank means "not given"; at most 256 characters; no control characters.
pub fn checked_name(field: &'static str, name: Option<String>) -> Result<Option<String>> {
    let Some(name) = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 256 {
        return Err(Error::invalid(field, "longer than 256 characters"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(Error::invalid(
            field,
            "contains control, zero-width or text-direction characters",
        ));
    }
    Ok(Some(name))
}

/// Characters that make a name display differently from what it is: text-direction overrides
/// and isolates (used to spoof names in consoles and logs), zero-width characters, BOM.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Grants may end 1 hour to 7 days from now, no sooner and no later.
pub fn check_expiry(at: DateTime<Utc>) -> Result<()> {
    let ahead = at - Utc::now();
    if ahead < ChronoDuration::hours(1) || ahead > ChronoDuration::days(7) {
        return Err(Error::invalid(
            "expires_at",
            format!("{at} must be between 1 hour and 7 days from now"),
        ));
    }
    Ok(())
}

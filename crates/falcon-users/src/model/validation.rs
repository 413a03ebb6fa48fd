//! The checks every convenience method runs on its arguments before anything is sent, so a bad
//! value is refused with the argument's name rather than as an API error.

use std::ops::RangeInclusive;

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
    if uid.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    if uid.chars().any(is_deceptive_char) {
        return bad(DECEPTIVE);
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
    if name.chars().any(is_deceptive_char) {
        return Err(Error::invalid(field, DECEPTIVE));
    }
    Ok(Some(name))
}

/// Why text with a [deceptive character](is_deceptive_char) is refused.
const DECEPTIVE: &str = "contains control, zero-width or text-direction characters";

/// Characters that make text display as something other than what it is, refused in logins and
/// names (and escaped by the CLI wherever it prints API data): control characters (C0, DEL,
/// C1: terminal escape sequences, forged line breaks), text-direction marks, embeddings,
/// overrides and isolates (used to spoof names in consoles and logs), line and paragraph
/// separators, zero-width and invisible characters, and the BOM.
pub fn is_deceptive_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// How far ahead a grant may end, in hours: 1 hour to 7 days, as the service accepts.
pub const GRANT_EXPIRY_HOURS: RangeInclusive<i64> = 1..=168;

/// Grants may end 1 hour to 7 days from now, no sooner and no later.
pub fn check_expiry(at: DateTime<Utc>) -> Result<()> {
    check_expiry_from(at, Utc::now())
}

/// [`check_expiry`] with "now" given: `at` must lie within [`GRANT_EXPIRY_HOURS`] of `now`.
pub fn check_expiry_from(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    let ahead = at - now;
    let earliest = ChronoDuration::hours(*GRANT_EXPIRY_HOURS.start());
    let latest = ChronoDuration::hours(*GRANT_EXPIRY_HOURS.end());
    if ahead < earliest || ahead > latest {
        return Err(Error::invalid(
            "expires_at",
            format!("{at} must be between 1 hour and 7 days from now"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logins and names refuse the same characters; plain and international text passes.
    #[test]
    fn logins_and_names_refuse_the_same_deceptive_characters() {
        let cases: &[(&str, bool)] = &[
            ("ann", true),
            ("Zoë-Ånne", true),
            ("李", true),
            ("a\u{1b}]0;pwned\u{7}", false),
            ("a\u{7f}", false),
            ("a\u{9b}2J", false),
            ("a\u{202E}moc", false),
            ("a\u{2066}b", false),
            ("a\u{200B}b", false),
            ("a\u{200D}b", false),
            ("a\u{2028}b", false),
            ("a\u{2060}b", false),
            ("a\u{061C}b", false),
            ("\u{FEFF}a", false),
        ];
        for (text, accepted) in cases {
            let login = format!("{text}@example.com");
            assert_eq!(validate_email(&login).is_ok(), *accepted, "login {login:?}");
            assert_eq!(
                checked_name("first_name", Some((*text).to_owned())).is_ok(),
                *accepted,
                "name {text:?}"
            );
        }
        for login in ["a b@example.com", "a\tb@example.com", "a\nb@example.com"] {
            assert!(validate_email(login).is_err(), "{login:?}");
        }
    }

    #[test]
    fn expiry_window_is_one_hour_to_seven_days_inclusive() {
        let now = Utc::now();
        let cases = [
            (ChronoDuration::minutes(59), false),
            (ChronoDuration::hours(1), true),
            (ChronoDuration::hours(100), true),
            (ChronoDuration::days(7), true),
            (ChronoDuration::days(7) + ChronoDuration::seconds(1), false),
            (ChronoDuration::hours(-2), false),
        ];
        for (ahead, ok) in cases {
            assert_eq!(
                check_expiry_from(now + ahead, now).is_ok(),
                ok,
                "{ahead} ahead"
            );
        }
    }
}

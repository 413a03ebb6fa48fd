//! Building Falcon Query Language filters from user-supplied values without injection: every
//! value is quoted by [`quote`] (or written as a number or a time), so no value can end its
//! quotes, add a condition or act as a wildcard. Equality ([`eq`], [`not`], [`starts_with`]),
//! value lists ([`any_of`], [`none_of`]), comparisons ([`compare`], [`gt`], [`ge`], [`lt`],
//! [`le`]), `null` ([`is_null`], [`is_not_null`]), text match ([`text_match`]), and
//! [`and`]/[`or`] to combine filters.

use chrono::{DateTime, SecondsFormat, Utc};

/// Quotes `value` as an FQL string literal: `'...'` with `\` and `'` escaped, so a value such as
/// `o'brien*` matches literally instead of ending the string or acting as a wildcard.
///
/// ```
/// use falcon_users::fql;
/// assert_eq!(fql::quote("ann@example.com"), "'ann@example.com'");
/// assert_eq!(fql::quote("o'brien*"), r"'o\'brien\*'");
/// ```
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\\' | '*') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `field:'value'` with the value quoted by [`quote`].
///
/// ```
/// assert_eq!(falcon_users::fql::eq("uid", "a@b.co"), "uid:'a@b.co'");
/// ```
pub fn eq(field: &str, value: &str) -> String {
    format!("{field}:{}", quote(value))
}

/// `field:'prefix*'`: the values that start with `prefix`, taken literally (`'`, `\` and `*`
/// in it are escaped as in [`quote`], so only the final `*` is a wildcard).
///
/// ```
/// assert_eq!(falcon_users::fql::starts_with("uid", "ann."), "uid:'ann.*'");
/// assert_eq!(falcon_users::fql::starts_with("uid", "o'b*"), r"uid:'o\'b\**'");
/// ```
pub fn starts_with(field: &str, prefix: &str) -> String {
    let quoted = quote(prefix);
    // `quote` always ends with the closing quote: the wildcard goes just inside it.
    format!("{field}:{}*'", &quoted[..quoted.len() - 1])
}

/// `field:!'value'`: the records whose `field` does not equal `value` (ignoring case; none of
/// a multi-valued field's values does), the value quoted by [`quote`].
///
/// ```
/// assert_eq!(falcon_users::fql::not("status", "active"), "status:!'active'");
/// ```
pub fn not(field: &str, value: &str) -> String {
    format!("{field}:!{}", quote(value))
}

/// `field:['a','b']`: the records whose `field` is one of `values`, each quoted by [`quote`].
/// The service matches list items exactly, case included. An empty `values` gives `field:[]`,
/// which the service refuses (400): select nothing without asking instead.
///
/// ```
/// use falcon_users::fql;
/// assert_eq!(fql::any_of("status", ["active", "inactive"]), "status:['active','inactive']");
/// // A quote or a bracket in a value stays inside it.
/// assert_eq!(fql::any_of("uid", ["o'b]", "x"]), r"uid:['o\'b]','x']");
/// ```
pub fn any_of<I>(field: &str, values: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    format!("{field}:{}", list(values))
}

/// `field:!['a','b']`: the records whose `field` is none of `values` (see [`any_of`]).
///
/// ```
/// assert_eq!(falcon_users::fql::none_of("uid", ["a@x.io"]), "uid:!['a@x.io']");
/// ```
pub fn none_of<I>(field: &str, values: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    format!("{field}:!{}", list(values))
}

/// `['a','b']`, each value quoted by [`quote`].
fn list<I>(values: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let quoted: Vec<String> = values.into_iter().map(|v| quote(v.as_ref())).collect();
    format!("[{}]", quoted.join(","))
}

/// `field:null`: the records without a value for `field` (a permanent grant's `expires_at`, a
/// user without `assigned_cids`).
///
/// ```
/// assert_eq!(falcon_users::fql::is_null("expires_at"), "expires_at:null");
/// ```
pub fn is_null(field: &str) -> String {
    format!("{field}:null")
}

/// `field:!null`: the records with a value for `field` (a temporary grant's `expires_at`).
///
/// ```
/// assert_eq!(falcon_users::fql::is_not_null("expires_at"), "expires_at:!null");
/// ```
pub fn is_not_null(field: &str) -> String {
    format!("{field}:!null")
}

/// `field:~'text'`: the records whose `field` contains `text`, ignoring case, spaces and
/// punctuation (`text_match("name", "ada love")` finds Ada Lovelace).
///
/// ```
/// assert_eq!(falcon_users::fql::text_match("name", "lovelace"), "name:~'lovelace'");
/// ```
pub fn text_match(field: &str, text: &str) -> String {
    format!("{field}:~{}", quote(text))
}

/// An ordering a comparison asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>`: after or greater.
    Gt,
    /// `>=`: at or after, or not less.
    Ge,
    /// `<`: before or less.
    Lt,
    /// `<=`: at or before, or not greater.
    Le,
}

impl Comparison {
    /// The FQL operator.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }
}

/// A value a comparison can take, written as FQL: a time as a quoted RFC 3339 UTC instant, an
/// integer bare (the service compares it numerically), text quoted by [`quote`].
pub trait FqlValue {
    /// The value as FQL.
    fn to_fql(&self) -> String;
}

impl FqlValue for DateTime<Utc> {
    fn to_fql(&self) -> String {
        quote(&self.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl FqlValue for str {
    fn to_fql(&self) -> String {
        quote(self)
    }
}

impl FqlValue for String {
    fn to_fql(&self) -> String {
        quote(self)
    }
}

impl<T: FqlValue + ?Sized> FqlValue for &T {
    fn to_fql(&self) -> String {
        (**self).to_fql()
    }
}

macro_rules! integer_fql_value {
    ($($t:ty),*) => {$(
        impl FqlValue for $t {
            fn to_fql(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_fql_value!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

/// `field:>value` (or `>=`, `<`, `<=`): times compare as instants, integers numerically.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use falcon_users::fql::{self, Comparison};
/// let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// assert_eq!(fql::compare("expires_at", Comparison::Lt, at), "expires_at:<'2026-12-01T00:00:00Z'");
/// assert_eq!(fql::compare("count", Comparison::Ge, 10), "count:>=10");
/// ```
pub fn compare(field: &str, how: Comparison, value: impl FqlValue) -> String {
    format!("{field}:{}{}", how.symbol(), value.to_fql())
}

/// `field:>value`: see [`compare`].
///
/// ```
/// use chrono::{Duration, Utc};
/// let soon = falcon_users::fql::gt("expires_at", Utc::now() + Duration::days(1));
/// assert!(soon.starts_with("expires_at:>'20"));
/// ```
pub fn gt(field: &str, value: impl FqlValue) -> String {
    compare(field, Comparison::Gt, value)
}

/// `field:>=value`: see [`compare`].
///
/// ```
/// assert_eq!(falcon_users::fql::ge("n", 3), "n:>=3");
/// ```
pub fn ge(field: &str, value: impl FqlValue) -> String {
    compare(field, Comparison::Ge, value)
}

/// `field:<value`: see [`compare`].
///
/// ```
/// assert_eq!(falcon_users::fql::lt("uid", "m"), "uid:<'m'");
/// ```
pub fn lt(field: &str, value: impl FqlValue) -> String {
    compare(field, Comparison::Lt, value)
}

/// `field:<=value`: see [`compare`].
///
/// ```
/// assert_eq!(falcon_users::fql::le("n", -1), "n:<=-1");
/// ```
pub fn le(field: &str, value: impl FqlValue) -> String {
    compare(field, Comparison::Le, value)
}

/// Every filter of `filters` (AND, `+`), each in parentheses so that its own `+` and `,` keep
/// their meaning; empty ones are left out, and one alone is returned as it is. None at all
/// gives the empty filter, which selects everything.
///
/// ```
/// use falcon_users::fql;
/// let f = fql::and([fql::eq("status", "active"), fql::any_of("first_name", ["Ann", "Bo"])]);
/// assert_eq!(f, "(status:'active')+(first_name:['Ann','Bo'])");
/// assert_eq!(fql::and([fql::eq("uid", "a@b.co")]), "uid:'a@b.co'");
/// ```
pub fn and<I>(filters: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    join(filters, "+")
}

/// Any filter of `filters` (OR, `,`), each in parentheses as in [`and`].
///
/// ```
/// use falcon_users::fql;
/// let f = fql::or([fql::is_null("expires_at"), fql::gt("expires_at", "2030")]);
/// assert_eq!(f, "(expires_at:null),(expires_at:>'2030')");
/// ```
pub fn or<I>(filters: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    join(filters, ",")
}

fn join<I>(filters: I, with: &str) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let parts: Vec<String> = filters
        .into_iter()
        .map(|f| f.as_ref().trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(with),
    }
}

//! Building Falcon Query Language filters from user-supplied values without injection.

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

//! How a role is named by whoever asks for one: by id or by display name.

use std::fmt;

use crate::error::Error;

/// A role as a caller names one: by id (`falcon_console_guest`, a custom role's 32-hex id) or by
/// display name (`Falcon Console Guest`, in any case).
///
/// Ids and display names cannot be told apart by their look (a display name may be one word), so
/// a `RoleRef` is resolved against the roles a CID offers, with
/// [`Catalogue::resolve`](crate::Catalogue::resolve) or
/// [`Falcon::resolve_roles`](crate::Falcon::resolve_roles): an id offered is taken as it is,
/// anything else is the display name of exactly one role (ignoring case). A name that matches
/// nothing is refused with the nearest id or name, when one is close.
///
/// ```
/// use falcon_users::RoleRef;
/// assert_eq!(RoleRef::from(" Falcon Console Guest ").as_str(), "Falcon Console Guest");
/// assert_eq!(RoleRef::from("falcon_console_guest").to_string(), "falcon_console_guest");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleRef(String);

impl RoleRef {
    /// The id or display name, as given (trimmed).
    ///
    /// ```
    /// assert_eq!(falcon_users::RoleRef::from("Helpdesk").as_str(), "Helpdesk");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RoleRef {
    /// As [`RoleRef::as_str`], so that role references collect into an
    /// [`IdList`](crate::IdList).
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for RoleRef {
    /// The text, trimmed: one role (commas are part of it; an [`IdList`](crate::IdList) splits
    /// a comma-separated string).
    fn from(s: &str) -> Self {
        RoleRef(s.trim().to_owned())
    }
}

impl From<&&str> for RoleRef {
    /// As for `&str`.
    fn from(s: &&str) -> Self {
        RoleRef::from(*s)
    }
}

impl From<String> for RoleRef {
    /// As for `&str`.
    fn from(s: String) -> Self {
        RoleRef::from(s.as_str())
    }
}

impl From<&String> for RoleRef {
    /// As for `&str`.
    fn from(s: &String) -> Self {
        RoleRef::from(s.as_str())
    }
}

impl From<&RoleRef> for RoleRef {
    fn from(r: &RoleRef) -> Self {
        r.clone()
    }
}

/// Checks roles as a caller wrote them, before anything is read: at least one, each at most 256
/// bytes with no control characters. Spaces are allowed: which text is an id and which a display
/// name is only known once the CID's roles are read. Errors name `field`.
pub(crate) fn check_roles(field: &'static str, roles: &[RoleRef]) -> Result<(), Error> {
    let mut named = roles.iter().filter(|r| !r.as_str().is_empty()).peekable();
    if named.peek().is_none() {
        return Err(Error::invalid(
            field,
            "no roles given (after trimming blanks and duplicates)",
        ));
    }
    for role in named {
        let text = role.as_str();
        if text.len() > 256 {
            return Err(Error::invalid(
                field,
                format!(
                    "a role is {} bytes long; ids and names are at most 256",
                    text.len()
                ),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(Error::invalid(
                field,
                format!("{text:?} contains control characters"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_checked_before_anything_is_read() {
        let refs = |texts: &[&str]| texts.iter().map(RoleRef::from).collect::<Vec<_>>();
        let long = "x".repeat(257);
        for (texts, problem) in [
            (vec!["Falcon Console Guest"], None),
            (vec!["falcon_console_guest", " "], None),
            (vec![], Some("no roles given")),
            (vec![" ", ""], Some("no roles given")),
            (vec!["a\nb"], Some("\"a\\nb\" contains control characters")),
            (vec![long.as_str()], Some("a role is 257 bytes long")),
        ] {
            let got = check_roles("role_ids", &refs(&texts));
            match problem {
                None => assert!(got.is_ok(), "{texts:?}: {got:?}"),
                Some(want) => {
                    let err = got.unwrap_err().to_string();
                    assert!(err.starts_with("invalid role_ids: "), "{err}");
                    assert!(err.contains(want), "{texts:?}: {err}");
                }
            }
        }
    }
}

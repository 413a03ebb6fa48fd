//! How a user is named by whoever asks for one: by login (email) or by UUID.

use std::fmt;

/// A user as a caller names one: by login (`uid`, usually an email address) or by UUID.
///
/// Every method that acts on one user takes `impl Into<UserRef>`, so a login and a UUID are
/// both accepted wherever a user is named. Text with an `@` is a login (compared without regard
/// to case, as the service does), anything else a UUID:
///
/// ```
/// use falcon_users::UserRef;
/// assert_eq!(UserRef::from("Ann@Example.com"), UserRef::Uid("ann@example.com".into()));
/// assert_eq!(UserRef::from(" 5a1e-uuid "), UserRef::Uuid("5a1e-uuid".into()));
/// assert_eq!(UserRef::from("ann@example.com").to_string(), "ann@example.com");
/// ```
///
/// A login costs one lookup (`queryUserV1`) per call that needs the UUID; nothing is cached, so
/// a renamed or recreated user is always found as they are now. Resolve once with
/// [`Falcon::user_uuid`](crate::Falcon::user_uuid) to reuse a UUID across calls, or many at
/// once with [`Falcon::resolve_users`](crate::Falcon::resolve_users) (two requests, and the
/// ones that do not exist).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// The login, usually an email address.
    Uid(String),
    /// The user's UUID.
    Uuid(String),
}

impl UserRef {
    /// The login or UUID, as given (trimmed; a login in lower case).
    ///
    /// ```
    /// assert_eq!(falcon_users::UserRef::from("u-1").as_str(), "u-1");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            UserRef::Uid(s) | UserRef::Uuid(s) => s,
        }
    }

    /// Whether the user is named by login.
    ///
    /// ```
    /// assert!(falcon_users::UserRef::from("ann@example.com").is_login());
    /// ```
    pub fn is_login(&self) -> bool {
        matches!(self, UserRef::Uid(_))
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for UserRef {
    /// Text with an `@` is a login, anything else a UUID.
    fn from(s: &str) -> Self {
        let s = s.trim();
        if s.contains('@') {
            UserRef::Uid(s.to_lowercase())
        } else {
            UserRef::Uuid(s.to_owned())
        }
    }
}

impl From<String> for UserRef {
    /// As for `&str`.
    fn from(s: String) -> Self {
        UserRef::from(s.as_str())
    }
}

impl From<&String> for UserRef {
    /// As for `&str`.
    fn from(s: &String) -> Self {
        UserRef::from(s.as_str())
    }
}

impl From<&UserRef> for UserRef {
    fn from(r: &UserRef) -> Self {
        r.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_a_login_when_it_has_an_at_sign() {
        let cases = [
            ("ann@example.com", UserRef::Uid("ann@example.com".into())),
            (" ANN@Example.COM ", UserRef::Uid("ann@example.com".into())),
            ("0f1e2d3c", UserRef::Uuid("0f1e2d3c".into())),
            (" 0F1E ", UserRef::Uuid("0F1E".into())),
            ("", UserRef::Uuid(String::new())),
        ];
        for (text, expected) in cases {
            assert_eq!(UserRef::from(text), expected, "{text:?}");
        }
    }
}

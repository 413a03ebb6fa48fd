//! Typed views of the spec's records: short names for the types every signature uses, and
//! accessors that read their text fields as what they mean (timestamps as date-times, status and
//! user type as enums).
//!
//! The records keep those fields as the service sent them (text), so that a value the spec does
//! not foresee never makes a response fail to decode; the accessors interpret them, and an
//! unexpected value shows up as `None` (timestamps) or an `Other` variant (enums), with the raw
//! field still there to read.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use falcon_users::views::{GrantView, UserStatus, UserType, UserView};
//! use falcon_users::{Grant, User};
//!
//! let user: User = serde_json::from_value(serde_json::json!({
//!     "uuid": "6f1b2c1e-0d1e-4a55-9d93-1c2b3a4d5e6f",
//!     "uid": "ada@example.com",
//!     "status": "active",
//!     "user_type": "internal",
//!     "created_at": "2026-01-02T03:04:05Z",
//!     "last_login_at": "not a time",
//! }))?;
//! assert_eq!(user.status(), Some(UserStatus::Active));
//! assert_eq!(user.user_type(), Some(UserType::Internal));
//! assert_eq!(user.created_at(), Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()));
//! // Unreadable: no time, and the text is still in the raw field.
//! assert_eq!(user.last_login_at(), None);
//! assert_eq!(user.last_login_at.as_deref(), Some("not a time"));
//!
//! let grant: Grant = serde_json::from_value(serde_json::json!({
//!     "role_id": "falconhost_analyst",
//!     "expires_at": "2026-01-03T00:00:00Z",
//! }))?;
//! assert!(grant.is_temporary());
//! assert!(grant.is_direct(), "no grant type: the service's direct grant");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use falcon_users_api::types::{
    DomainRole, DomainUser, FlightcontrolapiCombinedUserRolesResourceV2,
};

/// A user, as the user operations return it.
pub type User = DomainUser;
/// A role held by a user in a CID (one row of a grants listing).
pub type Grant = FlightcontrolapiCombinedUserRolesResourceV2;
/// A role a CID offers, with its details.
pub type Role = DomainRole;

/// Whether a user may sign in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// May sign in.
    Active,
    /// May not sign in (disabled, or never activated).
    Inactive,
    /// A value this crate does not know, as sent.
    Other(String),
}

/// Where a user's account is homed, as the service classifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserType {
    /// Homed in this CID.
    Internal,
    /// Homed elsewhere (another CID of the organisation).
    External,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl UserStatus {
    /// The status a text names (case-insensitively); anything else is [`UserStatus::Other`].
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "active" => Self::Active,
            "inactive" => Self::Inactive,
            _ => Self::Other(text.to_owned()),
        }
    }

    /// The service's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Other(text) => text,
        }
    }
}

impl UserType {
    /// The user type a text names (case-insensitively); anything else is [`UserType::Other`].
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "internal" => Self::Internal,
            "external" => Self::External,
            _ => Self::Other(text.to_owned()),
        }
    }

    /// The service's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 3339 text as a UTC time; `None` when absent, empty, or not RFC 3339.
pub fn timestamp(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Typed accessors of a [`User`] (the raw text fields stay as they are).
pub trait UserView {
    /// When the account was created.
    fn created_at(&self) -> Option<DateTime<Utc>>;
    /// When it last changed.
    fn updated_at(&self) -> Option<DateTime<Utc>>;
    /// When the user last signed in (`None` also for a user who never has).
    fn last_login_at(&self) -> Option<DateTime<Utc>>;
    /// Whether the user may sign in.
    fn status(&self) -> Option<UserStatus>;
    /// Where the account is homed.
    fn user_type(&self) -> Option<UserType>;
}

impl UserView for DomainUser {
    fn created_at(&self) -> Option<DateTime<Utc>> {
        timestamp(self.created_at.as_deref())
    }

    fn updated_at(&self) -> Option<DateTime<Utc>> {
        timestamp(self.updated_at.as_deref())
    }

    fn last_login_at(&self) -> Option<DateTime<Utc>> {
        timestamp(self.last_login_at.as_deref())
    }

    fn status(&self) -> Option<UserStatus> {
        self.status.as_deref().map(UserStatus::parse)
    }

    fn user_type(&self) -> Option<UserType> {
        self.user_type.as_deref().map(UserType::parse)
    }
}

/// A user with plain fields: the login, UUID, names and CID as text (empty when the service
/// sent none), the status and times typed. No unwrapping, no trait to import; the raw record
/// stays in [`User`] for the fields not here.
///
/// ```
/// use falcon_users::{User, UserInfo, UserStatus};
///
/// let user: User = serde_json::from_value(serde_json::json!({
///     "uuid": "6f1b2c1e-0d1e-4a55-9d93-1c2b3a4d5e6f",
///     "uid": "ada@example.com",
///     "first_name": "Ada",
///     "status": "active",
///     "created_at": "2026-01-02T03:04:05Z",
/// }))?;
/// let info = UserInfo::from(&user);
/// assert_eq!(info.uid, "ada@example.com");
/// assert_eq!(info.last_name, "");
/// assert_eq!(info.status, Some(UserStatus::Active));
/// assert_eq!(info.created_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-02T03:04:05+00:00"));
/// assert!(info.last_login_at.is_none(), "never signed in");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserInfo {
    /// The login (usually the email address).
    pub uid: String,
    /// The user's UUID.
    pub uuid: String,
    /// The first name.
    pub first_name: String,
    /// The last name.
    pub last_name: String,
    /// Whether the user may sign in (`None`: the service sent no status).
    pub status: Option<UserStatus>,
    /// The CID the user is homed in.
    pub cid: String,
    /// When the account was created (`None`: not sent, or not RFC 3339).
    pub created_at: Option<DateTime<Utc>>,
    /// When the user last signed in (`None`: never, or a time that could not be read).
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&DomainUser> for UserInfo {
    fn from(user: &DomainUser) -> Self {
        let text = |field: &Option<String>| field.clone().unwrap_or_default();
        UserInfo {
            uid: text(&user.uid),
            uuid: text(&user.uuid),
            first_name: text(&user.first_name),
            last_name: text(&user.last_name),
            status: UserView::status(user),
            cid: text(&user.cid),
            created_at: UserView::created_at(user),
            last_login_at: UserView::last_login_at(user),
        }
    }
}

impl From<DomainUser> for UserInfo {
    fn from(user: DomainUser) -> Self {
        UserInfo::from(&user)
    }
}

/// Typed accessors of a [`Grant`].
pub trait GrantView {
    /// When a temporary grant ends (`None`: permanent, or an unreadable time; see
    /// [`GrantView::is_temporary`]).
    fn expires_at(&self) -> Option<DateTime<Utc>>;
    /// Whether the grant has an end at all (even one this crate cannot read).
    fn is_temporary(&self) -> bool;
    /// Whether it was made directly to the user in this CID (not through a user group or a
    /// CID group); a grant with no type is taken as direct, as the service sends them.
    fn is_direct(&self) -> bool;
}

impl GrantView for FlightcontrolapiCombinedUserRolesResourceV2 {
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        timestamp(self.expires_at.as_deref())
    }

    fn is_temporary(&self) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty())
    }

    fn is_direct(&self) -> bool {
        self.grant_type.as_deref().is_none_or(|t| t == "direct")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_read_known_values_in_any_case_and_keep_the_rest() {
        let statuses = [
            ("active", UserStatus::Active),
            ("INACTIVE", UserStatus::Inactive),
            ("pending", UserStatus::Other("pending".into())),
            ("", UserStatus::Other(String::new())),
        ];
        for (text, status) in statuses {
            assert_eq!(UserStatus::parse(text), status, "{text}");
        }
        assert_eq!(UserStatus::Active.to_string(), "active");
        let types = [
            ("internal", UserType::Internal),
            ("External", UserType::External),
            ("partner", UserType::Other("partner".into())),
        ];
        for (text, user_type) in types {
            assert_eq!(UserType::parse(text), user_type, "{text}");
        }
        assert_eq!(UserType::Other("partner".into()).to_string(), "partner");
    }

    #[test]
    fn timestamps_are_rfc_3339_or_nothing() {
        let cases = [
            (None, None),
            (Some(""), None),
            (Some("yesterday"), None),
            (Some("2026-01-02"), None),
            (
                Some("2026-01-02T03:04:05Z"),
                Some("2026-01-02T03:04:05+00:00"),
            ),
            (
                Some(" 2026-01-02T05:04:05+02:00 "),
                Some("2026-01-02T03:04:05+00:00"),
            ),
            (
                Some("2026-01-02T03:04:05.250Z"),
                Some("2026-01-02T03:04:05.250+00:00"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                timestamp(text).map(|t| t.to_rfc3339()),
                expected.map(str::to_owned),
                "{text:?}"
            );
        }
    }

    #[test]
    fn grants_tell_temporary_and_direct() {
        let grant = |expires: Option<&str>, kind: Option<&str>| Grant {
            expires_at: expires.map(str::to_owned),
            grant_type: kind.map(str::to_owned),
            ..Grant::builder().role_id("r").try_into().unwrap()
        };
        assert!(!grant(None, None).is_temporary());
        assert!(!grant(Some(" "), None).is_temporary());
        assert!(grant(Some("garbled"), None).is_temporary());
        assert_eq!(grant(Some("garbled"), None).expires_at(), None);
        assert!(grant(None, None).is_direct());
        assert!(grant(None, Some("direct")).is_direct());
        assert!(!grant(None, Some("user_group")).is_direct());
    }
}

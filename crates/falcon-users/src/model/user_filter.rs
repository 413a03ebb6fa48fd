//! The everyday questions about users as filters (status, never logged in, last login or
//! creation before a time, a role held, privileged access), and where each is answered: by the
//! service, as FQL, when the users query can filter on its field; here otherwise, on the users
//! (and their grants) as they are read.
//!
//! The users query filters on few fields (`status`, but not `last_login_at` or `created_at`:
//! the service refuses such a filter), so the choice is made per filter from the operation's
//! list of filter fields ([`placement`]), never by hand per call site.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use falcon_users::filters::{Placement, UserFilter, placement};
//! use falcon_users::api::operations::QUERY_USER_V1;
//! use falcon_users::UserStatus;
//!
//! let fields = QUERY_USER_V1.filter_fields;
//! assert_eq!(
//!     placement(&UserFilter::Status(UserStatus::Active), fields),
//!     Placement::Service("status:'active'".into())
//! );
//! assert_eq!(placement(&UserFilter::NeverLoggedIn, fields), Placement::Local);
//! let june = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
//! assert_eq!(placement(&UserFilter::LastLoginBefore(june), fields), Placement::Local);
//! ```

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::fql;
use crate::model::role_ref::RoleRef;
use crate::model::views::{User, UserStatus, timestamp};

/// One question a listing of users can be narrowed by.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserFilter {
    /// Users with this status.
    Status(UserStatus),
    /// Users who never signed in (no `last_login_at`).
    NeverLoggedIn,
    /// Users whose last sign-in was before this time (a user who never signed in is not
    /// among them: ask [`UserFilter::NeverLoggedIn`] for those).
    LastLoginBefore(DateTime<Utc>),
    /// Users created before this time.
    CreatedBefore(DateTime<Utc>),
    /// Users holding this role (by id or display name, resolved against the CID's roles).
    Role(RoleRef),
    /// Users holding at least one privileged role, as the access review judges privilege.
    Privileged,
}

impl UserFilter {
    /// The field of the users query that would answer it (`None`: it is a question about
    /// grants, which the users query does not hold).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Status(_) => Some("status"),
            Self::NeverLoggedIn | Self::LastLoginBefore(_) => Some("last_login_at"),
            Self::CreatedBefore(_) => Some("created_at"),
            Self::Role(_) | Self::Privileged => None,
        }
    }

    /// The FQL term that asks it of the service, for a question about a user field.
    fn fql(&self) -> Option<String> {
        match self {
            Self::Status(status) => Some(fql::eq("status", status.as_str())),
            Self::NeverLoggedIn => Some(fql::is_null("last_login_at")),
            Self::LastLoginBefore(at) => Some(fql::lt("last_login_at", *at)),
            Self::CreatedBefore(at) => Some(fql::lt("created_at", *at)),
            Self::Role(_) | Self::Privileged => None,
        }
    }

    /// Whether it needs each user's grants to be answered.
    pub fn needs_grants(&self) -> bool {
        self.field().is_none()
    }

    /// Whether `user` passes it, for a question about a user field (a question about grants
    /// passes every user: it is answered on the grants). A time the service sent that cannot
    /// be read passes no time filter; a status is compared ignoring case.
    pub fn matches(&self, user: &User) -> bool {
        match self {
            Self::Status(status) => user
                .status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(status.as_str())),
            Self::NeverLoggedIn => user
                .last_login_at
                .as_deref()
                .is_none_or(|t| t.trim().is_empty()),
            Self::LastLoginBefore(at) => {
                timestamp(user.last_login_at.as_deref()).is_some_and(|t| t < *at)
            }
            Self::CreatedBefore(at) => {
                timestamp(user.created_at.as_deref()).is_some_and(|t| t < *at)
            }
            Self::Role(_) | Self::Privileged => true,
        }
    }
}

impl fmt::Display for UserFilter {
    /// As a person would say it: `status active`, `never logged in`, `last login before
    /// 2026-06-01T00:00:00Z`, `role Falcon Administrator`, `privileged`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = |at: &DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        match self {
            Self::Status(status) => write!(f, "status {status}"),
            Self::NeverLoggedIn => f.write_str("never logged in"),
            Self::LastLoginBefore(at) => write!(f, "last login before {}", time(at)),
            Self::CreatedBefore(at) => write!(f, "created before {}", time(at)),
            Self::Role(role) => write!(f, "role {role}"),
            Self::Privileged => f.write_str("privileged"),
        }
    }
}

/// Where a filter is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// By the service: this FQL term is added to the query.
    Service(String),
    /// Here, on each user read (every user the query lists is still read to be judged).
    Local,
    /// Here, on each user's grants (every user is read, and their grants listed).
    LocalOnGrants,
}

/// Where `filter` is answered by a users query that can filter on `filter_fields` (the
/// operation's [`Operation::filter_fields`](crate::api::Operation)): by the service when its
/// field is one of them, here otherwise. A pure function: the same table decides for every
/// listing.
pub fn placement(filter: &UserFilter, filter_fields: &[&str]) -> Placement {
    match (filter.field(), filter.fql()) {
        (Some(field), Some(term)) if filter_fields.contains(&field) => Placement::Service(term),
        (Some(_), _) => Placement::Local,
        (None, _) => Placement::LocalOnGrants,
    }
}

/// Which filters of a listing the service answered and which were answered here: what a
/// listing tells its reader (a local filter costs reading every user it filters).
///
/// ```
/// use falcon_users::UserQuery;
/// let plan = UserQuery::new()
///     .status(falcon_users::UserStatus::Inactive)
///     .never_logged_in()
///     .filter_plan();
/// assert_eq!(plan.service.len(), 1);
/// assert_eq!(plan.local.len(), 1);
/// assert_eq!(
///     plan.to_string(),
///     "filtered by the service: status inactive; filtered here: never logged in \
///      (every user the rest of the query lists is read to be filtered)"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilterPlan {
    /// The filters sent to the service as FQL.
    pub service: Vec<UserFilter>,
    /// The filters answered here on each user read.
    pub local: Vec<UserFilter>,
    /// The filters answered here on each user's grants.
    pub on_grants: Vec<UserFilter>,
}

impl FilterPlan {
    /// The plan of these filters for a query that can filter on `filter_fields`.
    pub fn new<'a>(
        filters: impl IntoIterator<Item = &'a UserFilter>,
        filter_fields: &[&str],
    ) -> Self {
        let mut plan = FilterPlan::default();
        for filter in filters {
            let list = match placement(filter, filter_fields) {
                Placement::Service(_) => &mut plan.service,
                Placement::Local => &mut plan.local,
                Placement::LocalOnGrants => &mut plan.on_grants,
            };
            list.push(filter.clone());
        }
        plan
    }

    /// No filter at all.
    pub fn is_empty(&self) -> bool {
        self.service.is_empty() && self.local.is_empty() && self.on_grants.is_empty()
    }
}

impl fmt::Display for FilterPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |list: &[UserFilter]| {
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.service.is_empty() {
            parts.push(format!("filtered by the service: {}", join(&self.service)));
        }
        let here: Vec<UserFilter> = self.local.iter().chain(&self.on_grants).cloned().collect();
        if !here.is_empty() {
            let cost = if self.on_grants.is_empty() {
                "every user the rest of the query lists is read to be filtered"
            } else {
                "every user the rest of the query lists is read, with their grants, to be \
                 filtered"
            };
            parts.push(format!("filtered here: {} ({cost})", join(&here)));
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use falcon_users_api::operations::QUERY_USER_V1;

    use super::*;

    fn june() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn each_filter_is_placed_by_the_fields_the_query_filters_on() {
        let users = QUERY_USER_V1.filter_fields;
        // A service that could filter on the times (not the Falcon API): the same table sends
        // them as FQL.
        let with_times = &["status", "last_login_at", "created_at"][..];
        let role = UserFilter::Role(RoleRef::from("Falcon Administrator"));
        let cases = [
            (
                UserFilter::Status(UserStatus::Active),
                users,
                Placement::Service("status:'active'".into()),
            ),
            (UserFilter::NeverLoggedIn, users, Placement::Local),
            (UserFilter::LastLoginBefore(june()), users, Placement::Local),
            (UserFilter::CreatedBefore(june()), users, Placement::Local),
            (role.clone(), users, Placement::LocalOnGrants),
            (UserFilter::Privileged, users, Placement::LocalOnGrants),
            (
                UserFilter::NeverLoggedIn,
                with_times,
                Placement::Service("last_login_at:null".into()),
            ),
            (
                UserFilter::LastLoginBefore(june()),
                with_times,
                Placement::Service("last_login_at:<'2026-06-01T00:00:00Z'".into()),
            ),
            (
                UserFilter::CreatedBefore(june()),
                with_times,
                Placement::Service("created_at:<'2026-06-01T00:00:00Z'".into()),
            ),
            (role, with_times, Placement::LocalOnGrants),
            (
                UserFilter::Status(UserStatus::Inactive),
                &[][..],
                Placement::Local,
            ),
        ];
        for (filter, fields, expected) in cases {
            assert_eq!(
                placement(&filter, fields),
                expected,
                "{filter} on {fields:?}"
            );
        }
    }

    #[test]
    fn local_filters_judge_the_user_fields() {
        let user = |status: &str, login: Option<&str>, created: &str| User {
            status: Some(status.into()),
            last_login_at: login.map(str::to_owned),
            created_at: Some(created.into()),
            ..User::default()
        };
        let may = "2026-05-31T23:59:59Z";
        let cases = [
            (UserFilter::NeverLoggedIn, user("active", None, may), true),
            (
                UserFilter::NeverLoggedIn,
                user("active", Some(" "), may),
                true,
            ),
            (
                UserFilter::NeverLoggedIn,
                user("active", Some(may), may),
                false,
            ),
            (
                UserFilter::LastLoginBefore(june()),
                user("active", Some(may), may),
                true,
            ),
            (
                UserFilter::LastLoginBefore(june()),
                user("active", Some("2026-06-01T00:00:00Z"), may),
                false,
            ),
            (
                UserFilter::LastLoginBefore(june()),
                user("active", None, may),
                false,
            ),
            (
                UserFilter::LastLoginBefore(june()),
                user("active", Some("garbled"), may),
                false,
            ),
            (
                UserFilter::CreatedBefore(june()),
                user("active", None, may),
                true,
            ),
            (
                UserFilter::CreatedBefore(june()),
                user("active", None, "2026-06-02T00:00:00Z"),
                false,
            ),
            (
                UserFilter::Status(UserStatus::Active),
                user("ACTIVE", None, may),
                true,
            ),
            (
                UserFilter::Status(UserStatus::Inactive),
                user("active", None, may),
                false,
            ),
            (UserFilter::Privileged, user("active", None, may), true),
        ];
        for (filter, user, expected) in cases {
            assert_eq!(filter.matches(&user), expected, "{filter} on {user:?}");
        }
    }

    #[test]
    fn a_plan_says_where_each_filter_went() {
        let filters = [
            UserFilter::Status(UserStatus::Active),
            UserFilter::LastLoginBefore(june()),
            UserFilter::Role(RoleRef::from("falcon_administrator")),
        ];
        let plan = FilterPlan::new(&filters, QUERY_USER_V1.filter_fields);
        assert_eq!(plan.service, filters[..1]);
        assert_eq!(plan.local, filters[1..2]);
        assert_eq!(plan.on_grants, filters[2..]);
        assert_eq!(
            plan.to_string(),
            "filtered by the service: status active; filtered here: last login before \
             2026-06-01T00:00:00Z, role falcon_administrator (every user the rest of the query \
             lists is read, with their grants, to be filtered)"
        );
        assert!(FilterPlan::new(&[], QUERY_USER_V1.filter_fields).is_empty());
    }
}

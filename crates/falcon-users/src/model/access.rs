//! Effective access: a role a user holds in a CID, with why they hold it — directly, through a
//! Flight Control link (a user group × a CID group × roles), or temporarily (until when).
//!
//! The grants listings (`combinedUserRolesV1/V2`) say it row by row: [`Source::of`] reads one
//! row, a pure function of its fields, so that inventory, `access` and the review read the same
//! answer from the same listing. A user may hold the same role in a CID through several sources
//! (a direct grant and a link, or two links): each is its own row and its own [`RoleAccess`].
//!
//! ```
//! use falcon_users::access::{GroupRef, RoleAccess, Source};
//! use falcon_users::Grant;
//!
//! let row: Grant = serde_json::from_value(serde_json::json!({
//!     "role_id": "falcon_administrator",
//!     "cid": "0123456789abcdef0123456789abcdef",
//!     "user_group_id": "ug-1", "user_group_name": "SOC analysts",
//!     "cid_group_id": "cg-1", "cid_group_name": "EU customers",
//! }))?;
//! let access = RoleAccess::from_grant(row, None);
//! assert_eq!(access.source, Source::Link {
//!     user_group: Some(GroupRef { id: "ug-1".into(), name: Some("SOC analysts".into()) }),
//!     cid_group: Some(GroupRef { id: "cg-1".into(), name: Some("EU customers".into()) }),
//!     grant_type: None,
//! });
//! assert_eq!(access.source.kind(), "link");
//! # Ok::<(), serde_json::Error>(())
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::views::{Grant, GrantView};

/// A Flight Control group (a user group or a CID group) as a grants listing names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// Its name, when the listing gives one.
    pub name: Option<String>,
}

impl GroupRef {
    /// The group a pair of listing fields names: `None` when the id is absent or empty (a name
    /// alone still makes a group, with an empty id, so that it is never lost).
    fn of(id: Option<&str>, name: Option<&str>) -> Option<GroupRef> {
        let id = id.map(str::trim).filter(|s| !s.is_empty());
        let name = name.map(str::trim).filter(|s| !s.is_empty());
        if id.is_none() && name.is_none() {
            return None;
        }
        Some(GroupRef {
            id: id.unwrap_or_default().to_owned(),
            name: name.map(str::to_owned),
        })
    }

    /// The name, else the id: what a person reads.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Why a user holds a role in a CID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Granted to the user in the CID itself, with no end.
    Direct,
    /// Inherited through a Flight Control link: the user is a member of `user_group`, the CID
    /// is a member of `cid_group`, and the link between them carries the role. Either group may
    /// be unnamed by the row (the service's fields are optional); `grant_type` keeps the
    /// service's own word for the grant, when it sent one.
    Link {
        /// The user group the grant came through.
        user_group: Option<GroupRef>,
        /// The CID group the grant came through.
        cid_group: Option<GroupRef>,
        /// The row's `grant_type`, as sent (its values for link grants are not documented).
        grant_type: Option<String>,
    },
    /// Granted to the user in the CID directly, until `until` (`None`: the row has an end this
    /// crate could not read as a time; the grant is temporary all the same).
    Temporary {
        /// When the grant ends.
        until: Option<DateTime<Utc>>,
    },
}

impl Source {
    /// The source of one grants-listing row. A row is a link grant when it names a user group
    /// or a CID group, or when its `grant_type` is present and not `direct` (the service's value
    /// for link grants is not public, so any other value counts); otherwise it is a direct
    /// grant, temporary when it has an `expires_at`.
    ///
    /// ```
    /// use falcon_users::access::Source;
    /// use falcon_users::Grant;
    /// let row = |v: serde_json::Value| -> Grant { serde_json::from_value(v).unwrap() };
    /// assert_eq!(Source::of(&row(serde_json::json!({"role_id": "r"}))), Source::Direct);
    /// let flight = row(serde_json::json!({"role_id": "r", "grant_type": "flight_control"}));
    /// assert_eq!(Source::of(&flight).kind(), "link");
    /// let until = row(serde_json::json!({"role_id": "r", "expires_at": "2030-01-01T00:00:00Z"}));
    /// assert_eq!(Source::of(&until).kind(), "temporary");
    /// ```
    pub fn of(grant: &Grant) -> Source {
        let user_group = GroupRef::of(
            grant.user_group_id.as_deref(),
            grant.user_group_name.as_deref(),
        );
        let cid_group = GroupRef::of(
            grant.cid_group_id.as_deref(),
            grant.cid_group_name.as_deref(),
        );
        let grant_type = grant
            .grant_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let typed_link = grant_type.is_some_and(|t| !t.eq_ignore_ascii_case("direct"));
        if user_group.is_some() || cid_group.is_some() || typed_link {
            return Source::Link {
                user_group,
                cid_group,
                grant_type: grant_type.map(str::to_owned),
            };
        }
        if grant.is_temporary() {
            return Source::Temporary {
                until: grant.expires_at(),
            };
        }
        Source::Direct
    }

    /// `direct`, `link` or `temporary`: the source's kind, as tables and JSON name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Direct => "direct",
            Source::Link { .. } => "link",
            Source::Temporary { .. } => "temporary",
        }
    }

    /// The user group of a link (none for the other sources).
    pub fn user_group(&self) -> Option<&GroupRef> {
        match self {
            Source::Link { user_group, .. } => user_group.as_ref(),
            _ => None,
        }
    }

    /// The CID group of a link (none for the other sources).
    pub fn cid_group(&self) -> Option<&GroupRef> {
        match self {
            Source::Link { cid_group, .. } => cid_group.as_ref(),
            _ => None,
        }
    }

    /// When a temporary grant ends (none for the other sources, or an unreadable end).
    pub fn until(&self) -> Option<DateTime<Utc>> {
        match self {
            Source::Temporary { until } => *until,
            _ => None,
        }
    }
}

/// One role a user holds in one CID, through one source: a grants-listing row (kept whole:
/// the role's id and name, the CID, the raw fields) with its [`Source`] and, when known, the
/// CID's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleAccess {
    /// The listing's row, as the service sent it.
    #[serde(flatten)]
    pub grant: Grant,
    /// Why the role is held.
    pub source: Source,
    /// The name of the CID the role is held in (a child's, from discovery), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid_name: Option<String>,
}

impl RoleAccess {
    /// A listing row with its source read ([`Source::of`]), in a CID named `cid_name`.
    pub fn from_grant(grant: Grant, cid_name: Option<&str>) -> RoleAccess {
        RoleAccess {
            source: Source::of(&grant),
            grant,
            cid_name: cid_name.map(str::to_owned),
        }
    }

    /// The role's id.
    pub fn role_id(&self) -> &str {
        &self.grant.role_id
    }

    /// The CID the role is held in, as the row names it (empty when it does not).
    pub fn cid(&self) -> &str {
        self.grant.cid.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        grant_type: Option<&str>,
        user_group: (Option<&str>, Option<&str>),
        cid_group: (Option<&str>, Option<&str>),
        expires_at: Option<&str>,
    ) -> Grant {
        let s = |v: Option<&str>| v.map(str::to_owned);
        Grant {
            grant_type: s(grant_type),
            user_group_id: s(user_group.0),
            user_group_name: s(user_group.1),
            cid_group_id: s(cid_group.0),
            cid_group_name: s(cid_group.1),
            expires_at: s(expires_at),
            ..Grant::builder().role_id("r").try_into().unwrap()
        }
    }

    fn group(id: &str, name: Option<&str>) -> Option<GroupRef> {
        Some(GroupRef {
            id: id.into(),
            name: name.map(str::to_owned),
        })
    }

    #[test]
    fn sources_of_listing_rows() {
        const NONE: (Option<&str>, Option<&str>) = (None, None);
        let t = "2030-01-02T03:04:05Z";
        let at = DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let link = |ug, cg, kind: Option<&str>| Source::Link {
            user_group: ug,
            cid_group: cg,
            grant_type: kind.map(str::to_owned),
        };
        let cases: Vec<(Grant, Source)> = vec![
            // Direct: no type, `direct` in any case, an empty type or empty group fields.
            (row(None, NONE, NONE, None), Source::Direct),
            (row(Some("direct"), NONE, NONE, None), Source::Direct),
            (row(Some("Direct"), NONE, NONE, None), Source::Direct),
            (row(Some(" "), NONE, NONE, None), Source::Direct),
            (
                row(None, (Some(""), Some(" ")), (Some(""), None), None),
                Source::Direct,
            ),
            (row(None, NONE, NONE, Some(" ")), Source::Direct),
            // Temporary: a direct grant with an end, readable or not.
            (
                row(None, NONE, NONE, Some(t)),
                Source::Temporary { until: Some(at) },
            ),
            (
                row(Some("direct"), NONE, NONE, Some("soon")),
                Source::Temporary { until: None },
            ),
            // Link: a group named, or any other grant type.
            (
                row(
                    None,
                    (Some("ug"), Some("SOC")),
                    (Some("cg"), Some("EU")),
                    None,
                ),
                link(group("ug", Some("SOC")), group("cg", Some("EU")), None),
            ),
            (
                row(None, (Some("ug"), None), NONE, None),
                link(group("ug", None), None, None),
            ),
            (
                row(None, NONE, (None, Some("EU")), None),
                link(None, group("", Some("EU")), None),
            ),
            (
                row(Some("flight_control"), NONE, NONE, None),
                link(None, None, Some("flight_control")),
            ),
            (
                row(Some("inherited"), NONE, NONE, Some(t)),
                link(None, None, Some("inherited")),
            ),
            (
                row(Some("direct"), (Some("ug"), None), NONE, None),
                link(group("ug", None), None, Some("direct")),
            ),
        ];
        for (grant, expected) in cases {
            assert_eq!(Source::of(&grant), expected, "{grant:?}");
        }
    }

    #[test]
    fn accessors_and_json() {
        let grant = row(
            Some("x"),
            (Some("ug"), Some("SOC")),
            (Some("cg"), None),
            None,
        );
        let access = RoleAccess::from_grant(grant, Some("Acme"));
        assert_eq!(access.source.kind(), "link");
        assert_eq!(access.source.user_group().map(GroupRef::label), Some("SOC"));
        assert_eq!(access.source.cid_group().map(GroupRef::label), Some("cg"));
        let json = serde_json::to_value(&access).unwrap();
        assert_eq!(json["role_id"], "r");
        assert_eq!(json["cid_name"], "Acme");
        assert_eq!(json["source"]["kind"], "link");
        assert_eq!(json["source"]["user_group"]["name"], "SOC");
        let direct = serde_json::to_value(RoleAccess::from_grant(
            row(None, (None, None), (None, None), None),
            None,
        ))
        .unwrap();
        assert_eq!(direct["source"], serde_json::json!({"kind": "direct"}));
        assert!(direct.get("cid_name").is_none());
    }
}

//! The findings of one inventory row: one step per [`FindingKind`], each a pure function of the
//! row, the role verdicts and the review's windows.

use chrono::{DateTime, Duration, Utc};

use crate::model::views::{Grant, GrantView, UserView};
use crate::workflows::inventory::UserWithGrants;
use crate::workflows::review::finding::{Finding, FindingKind};
use crate::workflows::review::privilege::RoleBook;

/// The windows of a review and the time it is judged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewOptions {
    /// A login older than this many days (or none, and created before) is stale.
    pub stale_days: u32,
    /// A temporary grant ending within this many days is reported.
    pub expiring_days: u32,
    /// Now.
    pub now: DateTime<Utc>,
}

/// `3 days`, `5 hours`, `20 minutes`: how long a span is, roughly.
fn span(duration: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if duration.num_days() >= 1 {
        plural(duration.num_days(), "day")
    } else if duration.num_hours() >= 1 {
        plural(duration.num_hours(), "hour")
    } else {
        plural(duration.num_minutes().max(0), "minute")
    }
}

/// The findings of one inventory row. `member_cid` is the child CID the row was read in
/// (`None`: the handle's own CID); `roles` judges and names the roles (a role it does not
/// know is named by the grant, else by its id, and judged by [`FALLBACK_PRIVILEGED_ROLES`]).
/// A row whose user was deleted during the read has no findings. Findings come in
/// [`FindingKind::ALL`] order; `expiring` gives one per grant, the others one per user.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use falcon_users::types::DomainUser;
/// use falcon_users::workflows::UserWithGrants;
/// use falcon_users::workflows::review::{FindingKind, ReviewOptions, RoleBook, row_findings};
///
/// let row = UserWithGrants {
///     user: DomainUser {
///         uid: Some("ann@example.com".into()),
///         created_at: Some("2025-01-01T00:00:00Z".into()),
///         ..DomainUser::default()
///     },
///     grants: vec![],
///     deleted: false,
/// };
/// let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let options = ReviewOptions { stale_days: 90, expiring_days: 7, now };
/// let kinds: Vec<FindingKind> = row_findings(&row, None, &RoleBook::default(), &options)
///     .into_iter()
///     .map(|f| f.kind)
///     .collect();
/// assert_eq!(kinds, [FindingKind::NoRoles, FindingKind::Stale]);
/// ```
///
/// [`FALLBACK_PRIVILEGED_ROLES`]: super::FALLBACK_PRIVILEGED_ROLES
pub fn row_findings(
    row: &UserWithGrants,
    member_cid: Option<&str>,
    roles: &RoleBook,
    options: &ReviewOptions,
) -> Vec<Finding> {
    if row.deleted {
        return Vec::new();
    }
    let held = Held::new(row, member_cid, roles);
    let mut found: Vec<Finding> = [no_roles(&held), privileged(&held), stale(&held, options)]
        .into_iter()
        .flatten()
        .collect();
    found.extend(expiring(&held, options));
    found.extend(child_cid_grant(&held));
    found.extend(inactive_with_roles(&held));
    found
}

/// A row as its findings read it: where each grant is held, what each role is called, and
/// where the user's grants are held as a whole.
struct Held<'a> {
    row: &'a UserWithGrants,
    member_cid: Option<&'a str>,
    roles: &'a RoleBook,
    /// The user's home CID (empty when the entity names none).
    home: String,
    /// Where the per-user findings point: the first grant's CID, else the CID read, else home.
    where_held: String,
    /// Every role held, by id and by name, in grant order.
    all_ids: Vec<String>,
    all_names: Vec<String>,
}

impl<'a> Held<'a> {
    fn new(row: &'a UserWithGrants, member_cid: Option<&'a str>, roles: &'a RoleBook) -> Self {
        let mut held = Held {
            row,
            member_cid,
            roles,
            home: row.user.cid.clone().unwrap_or_default(),
            where_held: String::new(),
            all_ids: row.grants.iter().map(|g| g.role_id.clone()).collect(),
            all_names: Vec::new(),
        };
        held.all_names = row.grants.iter().map(|g| held.name_of(g)).collect();
        held.where_held = row
            .grants
            .first()
            .map(|g| held.cid_of(g))
            .or_else(|| member_cid.map(str::to_owned))
            .unwrap_or_else(|| held.home.clone());
        held
    }

    /// Where a grant is held: its own CID, else the CID read, else the user's home.
    fn cid_of(&self, grant: &Grant) -> String {
        grant
            .cid
            .clone()
            .or_else(|| self.member_cid.map(str::to_owned))
            .unwrap_or_else(|| self.home.clone())
    }

    /// A grant's role name: as the grant names it, else as the book does, else its id.
    fn name_of(&self, grant: &Grant) -> String {
        grant
            .role_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| self.roles.get(&grant.role_id).map(|v| v.role_name.clone()))
            .unwrap_or_else(|| grant.role_id.clone())
    }

    /// A finding about this row's user.
    fn finding(
        &self,
        kind: FindingKind,
        cid: String,
        roles: Vec<String>,
        role_names: Vec<String>,
        why: String,
    ) -> Finding {
        let user = &self.row.user;
        Finding {
            kind,
            uid: user.uid.clone().unwrap_or_default(),
            user_uuid: user.uuid.clone().unwrap_or_default(),
            cid,
            roles,
            role_names,
            why,
        }
    }

    /// A finding naming every role the user holds.
    fn about_all_roles(&self, kind: FindingKind, cid: String, why: String) -> Finding {
        self.finding(kind, cid, self.all_ids.clone(), self.all_names.clone(), why)
    }
}

/// [`FindingKind::NoRoles`]: the user holds no role.
fn no_roles(held: &Held) -> Option<Finding> {
    held.row.grants.is_empty().then(|| {
        held.finding(
            FindingKind::NoRoles,
            held.where_held.clone(),
            Vec::new(),
            Vec::new(),
            "holds no role".to_owned(),
        )
    })
}

/// [`FindingKind::Privileged`]: the privileged roles the user holds, pointing at the CID of
/// the first.
fn privileged(held: &Held) -> Option<Finding> {
    let privileged: Vec<&Grant> = held
        .row
        .grants
        .iter()
        .filter(|g| held.roles.is_privileged(&g.role_id))
        .collect();
    let first = privileged.first()?;
    let names: Vec<String> = privileged.iter().map(|g| held.name_of(g)).collect();
    let why = format!("holds {}", names.join(", "));
    Some(held.finding(
        FindingKind::Privileged,
        held.cid_of(first),
        privileged.iter().map(|g| g.role_id.clone()).collect(),
        names,
        why,
    ))
}

/// [`FindingKind::Stale`]: no login within the stale window (or never, and created before it).
fn stale(held: &Held, options: &ReviewOptions) -> Option<Finding> {
    let why = stale_why(held, options)?;
    Some(held.about_all_roles(FindingKind::Stale, held.where_held.clone(), why))
}

/// Why the user is stale, if they are: the last login, or the creation of a user who never
/// logged in, before the window.
fn stale_why(held: &Held, options: &ReviewOptions) -> Option<String> {
    let user = &held.row.user;
    let cutoff = options.now - Duration::days(i64::from(options.stale_days));
    match (
        UserView::last_login_at(user),
        user.last_login_at.as_deref().map(str::trim),
    ) {
        (Some(at), _) if at < cutoff => Some(format!(
            "last login {}, {} ago",
            at.format("%Y-%m-%d"),
            span(options.now - at)
        )),
        (Some(_), _) => None,
        // An unreadable time says nothing either way.
        (None, Some(text)) if !text.is_empty() => None,
        (None, _) => match UserView::created_at(user) {
            Some(created) if created < cutoff => Some(format!(
                "never logged in; created {}, {} ago",
                created.format("%Y-%m-%d"),
                span(options.now - created)
            )),
            _ => None,
        },
    }
}

/// [`FindingKind::Expiring`]: one per temporary grant ending (or ended) within the window.
fn expiring(held: &Held, options: &ReviewOptions) -> Vec<Finding> {
    let horizon = options.now + Duration::days(i64::from(options.expiring_days));
    held.row
        .grants
        .iter()
        .filter_map(|grant| {
            let at = GrantView::expires_at(grant).filter(|at| *at <= horizon)?;
            let when = if at <= options.now {
                "ended".to_owned()
            } else {
                format!("in {}", span(at - options.now))
            };
            Some(held.finding(
                FindingKind::Expiring,
                held.cid_of(grant),
                vec![grant.role_id.clone()],
                vec![held.name_of(grant)],
                format!(
                    "temporary grant ends {} ({when})",
                    at.format("%Y-%m-%dT%H:%MZ")
                ),
            ))
        })
        .collect()
}

/// [`FindingKind::ChildCidGrant`]: the user holds roles in the child CID the row was read in.
fn child_cid_grant(held: &Held) -> Option<Finding> {
    let child = held.member_cid.filter(|_| !held.row.grants.is_empty())?;
    let why = format!("holds {} in child CID {child}", held.all_names.join(", "));
    Some(held.about_all_roles(FindingKind::ChildCidGrant, child.to_owned(), why))
}

/// [`FindingKind::InactiveWithRoles`]: a user whose status is not `active` still holds roles.
fn inactive_with_roles(held: &Held) -> Option<Finding> {
    let status = held
        .row
        .user
        .status
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if held.row.grants.is_empty() || status.is_empty() || status.eq_ignore_ascii_case("active") {
        return None;
    }
    let why = format!("status {status}, still holds {}", held.all_names.join(", "));
    Some(held.about_all_roles(FindingKind::InactiveWithRoles, held.where_held.clone(), why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::review::fixtures::{CHILD, HOME, book, now, row};

    #[test]
    fn findings_table() {
        use FindingKind::*;
        let recent = Some("2026-11-20T08:00:00Z");
        let created = "2025-01-01T00:00:00Z";
        let cases: Vec<(&str, UserWithGrants, Option<&str>, Vec<FindingKind>)> = vec![
            (
                "active reader, recent login",
                row("active", created, recent, &["reader"]),
                None,
                vec![],
            ),
            (
                "no roles, recent",
                row("active", created, recent, &[]),
                None,
                vec![NoRoles],
            ),
            (
                "admin",
                row("active", created, recent, &["reader", "admin_role"]),
                None,
                vec![Privileged],
            ),
            (
                "fallback admin unknown to the book",
                row("active", created, recent, &["falcon_administrator"]),
                None,
                vec![Privileged],
            ),
            (
                "login 91 days ago",
                row("active", created, Some("2026-09-01T11:00:00Z"), &["reader"]),
                None,
                vec![Stale],
            ),
            (
                "login 89 days ago",
                row("active", created, Some("2026-09-03T13:00:00Z"), &["reader"]),
                None,
                vec![],
            ),
            (
                "never logged in, created long ago",
                row("active", created, None, &["reader"]),
                None,
                vec![Stale],
            ),
            (
                "never logged in, created last week",
                row("active", "2026-11-24T00:00:00Z", None, &["reader"]),
                None,
                vec![],
            ),
            (
                "an empty login is never",
                row("active", created, Some(""), &[]),
                None,
                vec![NoRoles, Stale],
            ),
            (
                "an unreadable login says nothing",
                row("active", created, Some("yesterday"), &["reader"]),
                None,
                vec![],
            ),
            (
                "temporary grant in 3 days, another in 9",
                row(
                    "active",
                    created,
                    recent,
                    &["reader@2026-12-04T12:00:00Z", "x@2026-12-10T12:00:00Z"],
                ),
                None,
                vec![Expiring],
            ),
            (
                "a grant that ended is reported",
                row("active", created, recent, &["reader@2026-11-30T12:00:00Z"]),
                None,
                vec![Expiring],
            ),
            (
                "child CID grant",
                row("active", created, recent, &["reader"]),
                Some(CHILD),
                vec![ChildCidGrant],
            ),
            (
                "child CID user without roles",
                row("active", created, recent, &[]),
                Some(CHILD),
                vec![NoRoles],
            ),
            (
                "inactive with roles",
                row("inactive", created, recent, &["reader"]),
                None,
                vec![InactiveWithRoles],
            ),
            (
                "inactive without roles",
                row("inactive", created, recent, &[]),
                None,
                vec![NoRoles],
            ),
            (
                "everything at once",
                row(
                    "inactive",
                    created,
                    None,
                    &["admin_role@2026-12-02T12:00:00Z"],
                ),
                Some(CHILD),
                vec![
                    Privileged,
                    Stale,
                    Expiring,
                    ChildCidGrant,
                    InactiveWithRoles,
                ],
            ),
        ];
        let options = ReviewOptions {
            stale_days: 90,
            expiring_days: 7,
            now: now(),
        };
        for (what, row, member, expected) in cases {
            let got: Vec<FindingKind> = row_findings(&row, member, &book(), &options)
                .into_iter()
                .map(|f| f.kind)
                .collect();
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn findings_say_who_where_which_roles_and_why() {
        let options = ReviewOptions {
            stale_days: 30,
            expiring_days: 2,
            now: now(),
        };
        let mut user = row(
            "inactive",
            "2025-01-01T00:00:00Z",
            Some("2026-10-01T12:00:00Z"),
            &["admin_role", "reader@2026-12-02T18:00:00Z"],
        );
        user.grants[1].role_name = Some("Reader As Named".into());
        let found = row_findings(&user, None, &book(), &options);
        let kinds: Vec<&str> = found.iter().map(|f| f.kind.name()).collect();
        assert_eq!(
            kinds,
            ["privileged", "stale", "expiring", "inactive-with-roles"]
        );
        assert!(
            found
                .iter()
                .all(|f| f.uid == "ann@example.com" && f.cid == HOME)
        );
        assert_eq!(found[0].roles, ["admin_role"]);
        assert_eq!(found[0].role_names, ["Role admin_role"]);
        assert_eq!(found[1].why, "last login 2026-10-01, 61 days ago");
        assert_eq!(found[1].role_names, ["Role admin_role", "Reader As Named"]);
        assert_eq!(
            found[2].why,
            "temporary grant ends 2026-12-02T18:00Z (in 1 day)"
        );
        assert_eq!(
            found[3].why,
            "status inactive, still holds Role admin_role, Reader As Named"
        );

        let deleted = UserWithGrants {
            deleted: true,
            ..row("active", "2025-01-01T00:00:00Z", None, &[])
        };
        assert!(row_findings(&deleted, None, &book(), &options).is_empty());
    }
}

//! The findings of one inventory row: one step per [`FindingKind`], each a pure function of the
//! row, the role verdicts and the review's windows.

use chrono::{DateTime, Duration, Utc};

use crate::model::access::{GroupRef, Source};
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
/// A row read in a child whose user is homed elsewhere (a parent's user, with their grants in
/// the child) gives `parent-in-child`, and none of the findings about the user alone
/// (`no-roles`, `stale`: found where they are homed). A row whose user was deleted during the read has no findings. Findings come in
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
    // A parent's user read in a child is there for their grants in it: what is about the
    // user alone (no roles, stale) is found where they are homed, once.
    let about_user = outsider_in(&held).is_none();
    let mut found: Vec<Finding> = [
        no_roles(&held).filter(|_| about_user),
        privileged(&held),
        stale(&held, options).filter(|_| about_user),
    ]
    .into_iter()
    .flatten()
    .collect();
    found.extend(expiring(&held, options));
    found.extend(parent_in_child(&held));
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
            name: [&user.first_name, &user.last_name]
                .into_iter()
                .flatten()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
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

/// The child CID the row was read in, when its user is homed elsewhere (in a fleet: the
/// parent's user, whose grants in the child were read with the child's `cid`).
fn outsider_in<'a>(held: &Held<'a>) -> Option<&'a str> {
    held.member_cid
        .filter(|child| !held.home.is_empty() && !held.home.eq_ignore_ascii_case(child))
}

/// [`FindingKind::ParentInChild`]: a user homed outside the child CID the row was read in holds
/// roles there; privileged ones (by the child's verdicts) are marked in `why`.
fn parent_in_child(held: &Held) -> Option<Finding> {
    let child = outsider_in(held)?;
    let grants: Vec<&Grant> = held
        .row
        .grants
        .iter()
        .filter(|g| held.cid_of(g).eq_ignore_ascii_case(child))
        .collect();
    if grants.is_empty() {
        return None;
    }
    let names: Vec<String> = grants.iter().map(|g| held.name_of(g)).collect();
    // Privileged ones marked, and the source of each grant that is not a plain direct one
    // (a link names its groups: the way to take the access away).
    let marked: Vec<String> = grants
        .iter()
        .zip(&names)
        .map(|(g, name)| {
            let mut notes: Vec<String> = Vec::new();
            if held.roles.is_privileged(&g.role_id) {
                notes.push("privileged".into());
            }
            match Source::of(g) {
                Source::Direct => {}
                Source::Temporary { .. } => notes.push("temporary".into()),
                Source::Link {
                    user_group,
                    cid_group,
                    ..
                } => {
                    let group = |kind: &str, g: Option<GroupRef>| {
                        g.map(|g| format!(" {kind} {:?}", g.label()))
                            .unwrap_or_default()
                    };
                    notes.push(format!(
                        "through a link:{}{}",
                        group("user group", user_group),
                        group("CID group", cid_group)
                    ));
                }
            }
            match notes.is_empty() {
                true => name.clone(),
                false => format!("{name} ({})", notes.join(", ")),
            }
        })
        .collect();
    let why = format!(
        "user of CID {} holds {} in child CID {child}",
        held.home,
        marked.join(", ")
    );
    Some(held.finding(
        FindingKind::ParentInChild,
        child.to_owned(),
        grants.iter().map(|g| g.role_id.clone()).collect(),
        names,
        why,
    ))
}

/// [`FindingKind::ChildCidGrant`]: grants held in a CID other than the user's home CID (access
/// granted across CIDs), but those [`parent_in_child`] reports; one finding per user, pointing
/// at the CID of the first.
fn child_cid_grant(held: &Held) -> Option<Finding> {
    if held.home.is_empty() {
        return None;
    }
    let reported = outsider_in(held);
    let across: Vec<(&Grant, String)> = held
        .row
        .grants
        .iter()
        .map(|g| (g, held.cid_of(g)))
        .filter(|(_, cid)| {
            !cid.eq_ignore_ascii_case(&held.home)
                && reported.is_none_or(|child| !cid.eq_ignore_ascii_case(child))
        })
        .collect();
    let (_, first) = across.first()?;
    let held_as: Vec<String> = across
        .iter()
        .map(|(g, cid)| format!("{} in CID {cid}", held.name_of(g)))
        .collect();
    let why = format!("holds {} (home CID {})", held_as.join(", "), held.home);
    Some(held.finding(
        FindingKind::ChildCidGrant,
        first.clone(),
        across.iter().map(|(g, _)| g.role_id.clone()).collect(),
        across.iter().map(|(g, _)| held.name_of(g)).collect(),
        why,
    ))
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

    /// `row` with its user homed in `home` and every grant held in `held_in`.
    fn homed(mut row: UserWithGrants, home: &str, held_in: &str) -> UserWithGrants {
        row.user.cid = Some(home.into());
        for grant in &mut row.grants {
            grant.cid = Some(held_in.into());
        }
        row
    }

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
                "child user with their own CID's roles",
                homed(row("active", created, recent, &["reader"]), CHILD, CHILD),
                Some(CHILD),
                vec![],
            ),
            (
                "child CID user without roles",
                homed(row("active", created, recent, &[]), CHILD, CHILD),
                Some(CHILD),
                vec![NoRoles],
            ),
            (
                "parent user with a role in the child",
                homed(row("active", created, recent, &["reader"]), HOME, CHILD),
                Some(CHILD),
                vec![ParentInChild],
            ),
            (
                "parent user with a privileged role in the child",
                homed(row("active", created, recent, &["admin_role"]), HOME, CHILD),
                Some(CHILD),
                vec![Privileged, ParentInChild],
            ),
            (
                "parent user read in a child: stale is found in the parent, not again",
                homed(
                    row("active", created, Some("2026-01-01T00:00:00Z"), &["reader"]),
                    HOME,
                    CHILD,
                ),
                Some(CHILD),
                vec![ParentInChild],
            ),
            (
                "cross-CID grant: a child user holding a role in the parent",
                homed(row("active", created, recent, &["reader"]), CHILD, HOME),
                None,
                vec![ChildCidGrant],
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
                homed(
                    row(
                        "inactive",
                        created,
                        None,
                        &["admin_role@2026-12-02T12:00:00Z"],
                    ),
                    HOME,
                    CHILD,
                ),
                Some(CHILD),
                vec![Privileged, Expiring, ParentInChild, InactiveWithRoles],
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

    #[test]
    fn parent_in_child_marks_privileged_roles_and_cross_cid_names_where() {
        let options = ReviewOptions {
            stale_days: 90,
            expiring_days: 7,
            now: now(),
        };
        let recent = Some("2026-11-20T08:00:00Z");
        let analyst = homed(
            row(
                "active",
                "2025-01-01T00:00:00Z",
                recent,
                &["reader", "admin_role"],
            ),
            HOME,
            CHILD,
        );
        let found = row_findings(&analyst, Some(CHILD), &book(), &options);
        let finding = found
            .iter()
            .find(|f| f.kind == FindingKind::ParentInChild)
            .unwrap();
        assert_eq!(finding.cid, CHILD);
        assert_eq!(finding.roles, ["reader", "admin_role"]);
        assert_eq!(
            finding.why,
            format!(
                "user of CID {HOME} holds Role reader, Role admin_role (privileged) in child CID {CHILD}"
            )
        );

        let across = homed(
            row("active", "2025-01-01T00:00:00Z", recent, &["reader"]),
            CHILD,
            HOME,
        );
        let found = row_findings(&across, None, &book(), &options);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cid, HOME);
        assert_eq!(
            found[0].why,
            format!("holds Role reader in CID {HOME} (home CID {CHILD})")
        );
    }
}

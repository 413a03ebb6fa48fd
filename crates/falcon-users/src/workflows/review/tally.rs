//! The counts of a review: users read, findings per kind, and per role.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::views::{User, UserView};
use crate::workflows::inventory::UserWithGrants;
use crate::workflows::review::finding::{Finding, FindingKind};
use crate::workflows::review::privilege::RoleBook;

/// How many users hold a role, and the findings that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleTally {
    /// The role id.
    pub role_id: String,
    /// Its display name.
    pub role_name: String,
    /// Holding it is privileged.
    pub privileged: bool,
    /// Users holding it (a user holding it in two CIDs counts twice).
    pub holders: u64,
    /// Findings naming it, per kind (kinds with none left out).
    pub findings: BTreeMap<FindingKind, u64>,
}

/// The counts of a review: users read, findings per kind, and per role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReviewSummary {
    /// Users reviewed (deleted during the read: not counted).
    pub users: u64,
    /// Findings per kind; every kind is present, with 0 when none.
    pub findings: BTreeMap<FindingKind, u64>,
    /// Every role held by someone or named by a finding, by role id.
    pub roles: Vec<RoleTally>,
    /// How long ago the users reviewed last logged in.
    pub last_login: LoginAges,
}

/// The upper bounds, in days, of the bands [`LoginAges`] counts in (the last band is older).
pub const LOGIN_AGE_BANDS: [u32; 5] = [7, 30, 90, 180, 365];

/// How long ago each user reviewed last logged in, counted in bands: a picture of the tenant
/// a reviewer reads beside the `stale` findings (which use the review's own window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginAges {
    /// Users who never logged in.
    pub never: u64,
    /// Users whose last login time could not be read.
    pub unreadable: u64,
    /// Users per band, youngest first: one per [`LOGIN_AGE_BANDS`] bound, then one older.
    pub bands: Vec<LoginBand>,
}

/// One band of [`LoginAges`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginBand {
    /// Last login at most this many days before the review (and more than the band before);
    /// `None`: older than the last bound.
    pub up_to_days: Option<u32>,
    /// Users in the band.
    pub users: u64,
}

impl Default for LoginAges {
    fn default() -> Self {
        let bounds = LOGIN_AGE_BANDS.iter().copied().map(Some).chain([None]);
        LoginAges {
            never: 0,
            unreadable: 0,
            bands: bounds
                .map(|up_to_days| LoginBand {
                    up_to_days,
                    users: 0,
                })
                .collect(),
        }
    }
}

impl LoginAges {
    /// Counts `user`'s last login as of `now` (a login after `now`, a clock ahead, counts as
    /// today).
    pub fn add(&mut self, user: &User, now: DateTime<Utc>) {
        let Some(at) = UserView::last_login_at(user) else {
            match user.last_login_at.as_deref().map(str::trim) {
                Some(text) if !text.is_empty() => self.unreadable += 1,
                _ => self.never += 1,
            }
            return;
        };
        let days = (now - at).num_days().max(0);
        let band = self
            .bands
            .iter_mut()
            .find(|b| b.up_to_days.is_none_or(|bound| days <= i64::from(bound)));
        if let Some(band) = band {
            band.users += 1;
        }
    }
}

impl ReviewSummary {
    /// Counts `row` with its `findings` (from [`row_findings`](super::row_findings)), and its
    /// last login as of `now` ([`LoginAges`]).
    pub fn add(
        &mut self,
        row: &UserWithGrants,
        findings: &[Finding],
        roles: &RoleBook,
        now: DateTime<Utc>,
    ) {
        if row.deleted {
            return;
        }
        self.users += 1;
        self.last_login.add(&row.user, now);
        self.add_counted(row, findings, roles);
    }

    /// Counts the grants and `findings` of a user already counted in [`ReviewSummary::users`]
    /// (a parent's user read again in a child, for their grants there).
    pub fn add_counted(&mut self, row: &UserWithGrants, findings: &[Finding], roles: &RoleBook) {
        if row.deleted {
            return;
        }
        for kind in FindingKind::ALL {
            self.findings.entry(kind).or_insert(0);
        }
        for grant in &row.grants {
            let i = tally(
                &mut self.roles,
                roles,
                &grant.role_id,
                grant.role_name.as_deref(),
            );
            self.roles[i].holders += 1;
        }
        for finding in findings {
            *self.findings.entry(finding.kind).or_insert(0) += 1;
            for (id, name) in finding.roles.iter().zip(&finding.role_names) {
                let i = tally(&mut self.roles, roles, id, Some(name));
                *self.roles[i].findings.entry(finding.kind).or_insert(0) += 1;
            }
        }
    }
}

/// The index of `id`'s tally in `tallies` (sorted by role id), added if new.
fn tally(tallies: &mut Vec<RoleTally>, roles: &RoleBook, id: &str, name: Option<&str>) -> usize {
    match tallies.binary_search_by(|t| t.role_id.as_str().cmp(id)) {
        Ok(i) => i,
        Err(i) => {
            let role_name = name
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .or_else(|| roles.get(id).map(|v| v.role_name.clone()))
                .unwrap_or_else(|| id.to_owned());
            tallies.insert(
                i,
                RoleTally {
                    role_id: id.to_owned(),
                    role_name,
                    privileged: roles.is_privileged(id),
                    holders: 0,
                    findings: BTreeMap::new(),
                },
            );
            i
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::review::fixtures::{book, now, row};
    use crate::workflows::review::rules::{ReviewOptions, row_findings};

    #[test]
    fn the_summary_counts_findings_per_kind_and_per_role() {
        let options = ReviewOptions {
            stale_days: 90,
            expiring_days: 7,
            now: now(),
        };
        let book = book();
        let mut summary = ReviewSummary::default();
        for user in [
            row(
                "active",
                "2025-01-01T00:00:00Z",
                None,
                &["admin_role", "reader"],
            ),
            row(
                "inactive",
                "2025-01-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                &["reader"],
            ),
            row(
                "active",
                "2025-01-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                &[],
            ),
        ] {
            let found = row_findings(&user, None, &book, &options);
            summary.add(&user, &found, &book, now());
        }
        assert_eq!(summary.users, 3);
        let counts: Vec<(FindingKind, u64)> = summary.findings.into_iter().collect();
        use FindingKind::*;
        assert_eq!(
            counts,
            [
                (NoRoles, 1),
                (Privileged, 1),
                (Stale, 1),
                (Expiring, 0),
                (ParentInChild, 0),
                (ChildCidGrant, 0),
                (InactiveWithRoles, 1)
            ]
        );
        let reader = summary
            .roles
            .iter()
            .find(|r| r.role_id == "reader")
            .unwrap();
        assert_eq!(reader.holders, 2);
        assert!(!reader.privileged);
        assert_eq!(reader.findings[&Stale], 1);
        assert_eq!(reader.findings[&InactiveWithRoles], 1);
        let admin = summary
            .roles
            .iter()
            .find(|r| r.role_id == "admin_role")
            .unwrap();
        assert_eq!((admin.holders, admin.privileged), (1, true));
        assert_eq!(admin.findings[&Privileged], 1);
    }

    #[test]
    fn last_logins_are_counted_once_per_user_in_their_band() {
        let created = "2025-01-01T00:00:00Z";
        let book = book();
        let mut summary = ReviewSummary::default();
        for login in [
            Some("2026-12-01T11:00:00Z"),
            Some("2026-11-24T12:00:00Z"),
            Some("2026-11-23T11:00:00Z"),
            Some("2026-10-01T00:00:00Z"),
            Some("2026-09-01T00:00:00Z"),
            Some("2020-01-01T00:00:00Z"),
            Some("2027-01-01T00:00:00Z"),
            None,
            Some("yesterday"),
        ] {
            summary.add(&row("active", created, login, &[]), &[], &book, now());
        }
        // A deleted user is not counted.
        let mut gone = row("active", created, Some("2026-11-30T00:00:00Z"), &[]);
        gone.deleted = true;
        summary.add(&gone, &[], &book, now());
        let ages = &summary.last_login;
        let bands: Vec<(Option<u32>, u64)> =
            ages.bands.iter().map(|b| (b.up_to_days, b.users)).collect();
        // Whole days: 7 days to the hour is within 7, 8 days is not; a login ahead of the clock is today.
        assert_eq!(
            bands,
            [
                (Some(7), 3),
                (Some(30), 1),
                (Some(90), 1),
                (Some(180), 1),
                (Some(365), 0),
                (None, 1)
            ]
        );
        assert_eq!((ages.never, ages.unreadable), (1, 1));
        let counted: u64 =
            ages.bands.iter().map(|b| b.users).sum::<u64>() + ages.never + ages.unreadable;
        assert_eq!(counted, summary.users);
        // Every band is present before any user is.
        assert_eq!(
            ReviewSummary::default().last_login.bands.len(),
            LOGIN_AGE_BANDS.len() + 1
        );
    }
}

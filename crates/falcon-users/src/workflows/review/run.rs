//! The review run against a tenant: the roles and their verdicts read once per CID, then one
//! inventory read whose rows are judged as they arrive.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;
use crate::workflows::fleet::LinkReach;
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};
use crate::workflows::review::finding::{Finding, FindingKind};
use crate::workflows::review::privilege::{RoleBook, RoleVerdict};
use crate::workflows::review::rules::{ReviewOptions, row_findings};
use crate::workflows::review::tally::ReviewSummary;

/// What [`Falcon::review`] found.
#[derive(Debug)]
pub struct ReviewReport {
    /// The counts.
    pub summary: ReviewSummary,
    /// Every finding, in user order per CID (the handle's own CID first).
    pub findings: Vec<Finding>,
    /// The verdict on every role of the CIDs reviewed.
    pub roles: Vec<RoleVerdict>,
    /// Child CIDs whose review failed, with the failure (their rows so far are counted).
    pub failed: Vec<(Cid, Error)>,
    /// Users deleted while the inventory ran (left out).
    pub deleted: u64,
    /// Why the Flight Control groups and links could not be read (their read scope refused):
    /// the parent's users were found in each child by `assigned_cids` alone, so one holding
    /// roles there only through a link may be missing from `parent-in-child`.
    pub links_unread: Option<Error>,
}

/// What [`Falcon::review`] reviews and how.
///
/// ```
/// use falcon_users::workflows::review::Review;
/// let review = Review::new().stale_days(60).concurrency(16);
/// assert_eq!((review.stale_days, review.expiring_days, review.concurrency), (60, 7, 16));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Review {
    /// See [`ReviewOptions::stale_days`]; 90 by default.
    pub stale_days: u32,
    /// See [`ReviewOptions::expiring_days`]; 7 by default (the service lets a temporary grant
    /// run 7 days at most, so by default every temporary grant is reported).
    pub expiring_days: u32,
    /// The time to judge at; `None`: the handle's clock.
    pub now: Option<DateTime<Utc>>,
    /// Which users (all by default).
    pub query: UserQuery,
    /// Flight Control: also review these child CIDs, each through its own member handle.
    pub member_cids: Vec<Cid>,
    /// The privileged role ids, instead of judging each role by its permissions.
    pub privileged_roles: Option<Vec<String>>,
    /// Grants listings (and permission reads) in flight per CID; 8 by default.
    pub concurrency: usize,
    /// Child CIDs worked at once; 4 by default.
    pub children: usize,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            stale_days: 90,
            expiring_days: 7,
            now: None,
            query: UserQuery::new(),
            member_cids: Vec::new(),
            privileged_roles: None,
            concurrency: 8,
            children: 4,
        }
    }
}

impl Review {
    /// Stale after 90 days, expiring within 7, every user of the handle's CID, roles judged by
    /// their permissions, 8 listings in flight, 4 children at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// A login older than this many days (or none, and created before) is stale.
    pub fn stale_days(mut self, days: u32) -> Self {
        self.stale_days = days;
        self
    }

    /// A temporary grant ending within this many days is reported.
    pub fn expiring_days(mut self, days: u32) -> Self {
        self.expiring_days = days;
        self
    }

    /// The time to judge at (default: the handle's clock).
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Which users.
    pub fn query(mut self, query: UserQuery) -> Self {
        self.query = query;
        self
    }

    /// Also review these child CIDs, each through its own member handle.
    pub fn member_cids(mut self, cids: impl IntoIterator<Item = Cid>) -> Self {
        self.member_cids = cids.into_iter().collect();
        self
    }

    /// The privileged role ids, instead of judging each role by its permissions.
    pub fn privileged_roles(mut self, roles: impl IntoIterator<Item = String>) -> Self {
        self.privileged_roles = Some(roles.into_iter().collect());
        self
    }

    /// Grants listings (and permission reads) in flight per CID (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Child CIDs worked at once (0 counts as 1).
    pub fn children(mut self, n: usize) -> Self {
        self.children = n;
        self
    }
}

impl Falcon {
    /// The roles of this handle's CID with their verdicts ([`judge`](super::judge)): the roles read once,
    /// then each role's permissions (`entitiesRolePermissionsV1`, [`Review::concurrency`] at a
    /// time), unless [`Review::privileged_roles`] decides. A refused permission read (403) judges every role by
    /// [`FALLBACK_PRIVILEGED_ROLES`] (after one request, with a `tracing` warning); a role the
    /// read does not know (404) is judged by it alone. A refused roles listing (403) gives no
    /// verdicts: [`RoleBook::is_privileged`] then judges each granted role id by the list.
    ///
    /// [`FALLBACK_PRIVILEGED_ROLES`]: super::FALLBACK_PRIVILEGED_ROLES
    pub async fn role_verdicts(&self, review: &Review) -> Result<Vec<RoleVerdict>> {
        self.judged_roles(review.privileged_roles.as_deref(), review.concurrency)
            .await
    }

    /// The access review: one inventory read of this handle's CID (and of each of
    /// `review.member_cids`, through [`Falcon::fleet_inventory`], followed by the handle's
    /// users holding roles in each child, through [`Falcon::fleet_parent_users`] with the
    /// links read once by [`Falcon::link_reach`], as the fleet's effective access reads them),
    /// plus the
    /// roles and their permissions once per CID ([`Falcon::role_verdicts`]; a child's rows are
    /// judged by the child's verdicts); every row goes through
    /// [`row_findings`] as it arrives, so only the findings are kept. A child CID that fails is
    /// reported in [`ReviewReport::failed`] and the others go on; a failure in the handle's
    /// own CID ends the review.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::review::{FindingKind, Review};
    ///
    /// let report = falcon.review(&Review::new()).await?;
    /// for finding in &report.findings {
    ///     println!("{} {} {}: {}", finding.kind, finding.uid, finding.cid, finding.why);
    /// }
    /// println!("{} privileged", report.summary.findings[&FindingKind::Privileged]);
    /// # Ok(()) }
    /// ```
    pub async fn review(&self, review: &Review) -> Result<ReviewReport> {
        self.review_observed(review, |_, _, _| {}).await
    }

    /// [`Falcon::review`], handing each inventory row to `observe` as it is judged (with the
    /// child CID it was read in, `None` for the handle's own CID, and the verdicts it was
    /// judged by): what records the review's effective access in the
    /// [`history`](crate::history) without holding the rows. Rows of users deleted while the
    /// review ran are not handed over.
    pub async fn review_observed(
        &self,
        review: &Review,
        mut observe: impl FnMut(Option<&Cid>, &UserWithGrants, &RoleBook),
    ) -> Result<ReviewReport> {
        let options = ReviewOptions {
            stale_days: review.stale_days,
            expiring_days: review.expiring_days,
            now: review
                .now
                .unwrap_or_else(|| DateTime::<Utc>::from(self.clock().now())),
        };
        let mut book = RoleBook::new(self.role_verdicts(review).await?);
        if let Some(list) = &review.privileged_roles {
            book = book.judge_unknown_by(list.clone());
        }
        let mut failed: Vec<(Cid, Error)> = Vec::new();
        let mut children: Vec<Cid> = Vec::new();
        // Each child's rows are judged by that child's verdicts (its roles' permissions read
        // there); `book` gathers every verdict for the report.
        let mut child_books: Vec<RoleBook> = Vec::new();
        let member_books = self
            .for_each_cid(&review.member_cids, review.children, |member| async move {
                member.role_verdicts(review).await
            })
            .await;
        for (cid, verdicts) in member_books {
            match verdicts {
                Ok(verdicts) => {
                    let mut child_book = RoleBook::new(verdicts.iter().cloned());
                    if let Some(list) = &review.privileged_roles {
                        child_book = child_book.judge_unknown_by(list.clone());
                    }
                    child_books.push(child_book);
                    book.extend(verdicts);
                    children.push(cid);
                }
                Err(err) => failed.push((cid, err)),
            }
        }

        let mut report = ReviewReport {
            summary: ReviewSummary::default(),
            findings: Vec::new(),
            roles: Vec::new(),
            failed: Vec::new(),
            deleted: 0,
            links_unread: None,
        };
        for kind in FindingKind::ALL {
            report.summary.findings.insert(kind, 0);
        }
        let mut take = |row: &UserWithGrants, member: Option<&str>| {
            if row.deleted {
                report.deleted += 1;
                return;
            }
            let found = row_findings(row, member, &book, &options);
            observe(None, row, &book);
            report.summary.add(row, &found, &book, options.now);
            report.findings.extend(found);
        };
        let inventory = InventoryOptions::new()
            .concurrency(review.concurrency)
            .children(review.children);
        let mut own = self.inventory(review.query.clone(), inventory.clone());
        while let Some(row) = own.try_next().await? {
            take(&row, None);
        }
        if !children.is_empty() {
            // Each child's own users (through its member handle), then the parent's users
            // holding roles there (read by this handle in the child: the child's listing does
            // not list them; counted as users once, in the parent).
            let own_users =
                self.fleet_inventory(&children, review.query.clone(), inventory.clone());
            // The same reads as the fleet's effective access: the parent's users assigned in a
            // child or given roles there by a link (read once).
            let links = match self.member_cid() {
                Some(_) => LinkReach::default(),
                None => self.link_reach(&review.query).await?,
            };
            report.links_unread = links.unread.clone();
            let parent_users = self
                .fleet_parent_users(&children, review.query.clone(), inventory, links)
                .map(|item| (true, item));
            let mut fleet = own_users.map(|item| (false, item)).chain(parent_users);
            // Rows of different children interleave: collected per child, so each child's
            // findings stay together in user order.
            let mut by_child: BTreeMap<usize, Vec<Finding>> = BTreeMap::new();
            while let Some((from_parent, item)) = fleet.next().await {
                let index = children.iter().position(|c| *c == item.cid).unwrap_or(0);
                let child_book = child_books.get(index).unwrap_or(&book);
                match item.outcome {
                    Ok(row) if row.deleted => report.deleted += u64::from(!from_parent),
                    Ok(row) => {
                        let found =
                            row_findings(&row, Some(item.cid.as_str()), child_book, &options);
                        observe(Some(&item.cid), &row, child_book);
                        if from_parent {
                            report.summary.add_counted(&row, &found, child_book);
                        } else {
                            report.summary.add(&row, &found, child_book, options.now);
                        }
                        by_child.entry(index).or_default().extend(found);
                    }
                    Err(err) => failed.push((item.cid, err)),
                }
            }
            report.findings.extend(by_child.into_values().flatten());
        }
        report.roles = book.verdicts().into_iter().cloned().collect();
        report.failed = failed;
        Ok(report)
    }
}

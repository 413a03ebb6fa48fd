//! The walk past the offset ceiling: from each answer, the rows to deliver and the request to
//! send next; a part the service counts past the ceiling is listed through its parts by login,
//! and rows it cannot reach are reported, never guessed at.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::warn;

use crate::error::{Error, Result};
use crate::ops::paging::next::{Answer, Next, next_page};
use crate::ops::paging::page::{Listing, Page, RowKey, Slice};
use crate::ops::paging::progress::{Delivered, Gap, Leaf, Split, Step};
use crate::ops::partition::{Part, Plan, Tally, plan, tally};

/// A listing's walk: where it stands, and how its rows are told apart.
pub(super) struct Walk<T, K> {
    /// How the listing pages (its ceiling lowered when the service refuses less).
    pub(super) spec: Listing,
    key: fn(&T) -> K,
    leaf: Option<Leaf<K>>,
    /// The parts being listed through their parts, outermost first.
    splits: Vec<Split<K>>,
    gaps: Vec<Gap>,
}

impl<T, K: RowKey> Walk<T, K> {
    /// A walk that has not started: its first step probes the whole query.
    pub(super) fn new(spec: Listing, key: fn(&T) -> K) -> Self {
        Walk {
            spec,
            key,
            leaf: None,
            splits: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// What a step asks the service for.
    pub(super) fn slice(&self, step: &Step<K>) -> Slice {
        match step {
            Step::Probe(part, _) => Slice {
                part: part.clone(),
                offset: 0,
                limit: self.spec.page_size.min(self.spec.ceiling).max(1),
            },
            Step::Page(slice) => slice.clone(),
            Step::Recount => Slice {
                part: self.splits.last().map_or(Part::All, |s| s.part.clone()),
                offset: 0,
                limit: 1,
            },
        }
    }

    /// Takes in an answer; returns the rows to deliver.
    pub(super) fn take(&mut self, step: Step<K>, page: Page<T>) -> Result<Vec<T>> {
        match step {
            Step::Probe(part, skip) => self.probed(part, skip, page),
            Step::Page(slice) => Ok(self.paged(slice.offset, slice.limit, page)),
            Step::Recount => {
                if let Some(split) = self.splits.pop() {
                    let now = page.total.unwrap_or(split.total);
                    if now > split.counted {
                        self.gaps.push(Gap {
                            missing: Some(now - split.counted),
                            reason: format!(
                                "{}: {now} rows, but its parts by login hold only {}; the \
                                 others have a login with a character outside printable ASCII \
                                 where the parts split, list them with a filter of your own \
                                 (e.g. uid:'é*')",
                                split.part, split.counted
                            ),
                        });
                    }
                }
                Ok(Vec::new())
            }
        }
    }

    fn probed(&mut self, part: Part, skip: Delivered<K>, page: Page<T>) -> Result<Vec<T>> {
        let total = page.total;
        if let Some(split) = self.splits.last_mut() {
            split.probed += 1;
            split.counted = split
                .counted
                .saturating_add(total.unwrap_or(page.items.len() as u64));
            if tally(split.total, split.counted, split.probed, split.left.len())
                == Tally::Inconsistent
            {
                return Err(Error::ListingIncomplete {
                    operation: self.spec.operation.id,
                    missing: None,
                    reason: format!(
                        "the service's counts cannot be true: the parts of {} counted so far \
                         hold {} rows, more than the {} it counts for it (does it apply the \
                         uid filter?)",
                        split.part, split.counted, split.total
                    ),
                });
            }
        }
        let decision = match total {
            Some(total) if self.spec.split => plan(&part, total, self.spec.ceiling),
            _ => Plan::List,
        };
        if let Plan::Split(parts) = decision {
            let nested = Split::new(part, total.unwrap_or_default(), parts, skip);
            match self.splits.last_mut() {
                Some(whole)
                    if whole.probed == 1
                        && whole.counted >= whole.total
                        && !whole.left.is_empty() =>
                {
                    whole.deferred = Some(Box::new(nested));
                }
                _ => self.splits.push(nested),
            }
            return Ok(Vec::new());
        }
        self.leaf = Some(Leaf {
            part,
            total,
            last: Answer {
                offset: 0,
                limit: 0,
                received: 0,
                new: 0,
            },
            seen: HashSet::new(),
            skip,
        });
        let limit = self.spec.page_size.min(self.spec.ceiling).max(1);
        Ok(self.paged(0, limit, page))
    }

    /// The rows of a page of the leaf (asked from `offset` with `limit`) not delivered before;
    /// the rows received again are dropped, logged and counted.
    fn paged(&mut self, offset: u64, limit: u64, page: Page<T>) -> Vec<T> {
        let Some(leaf) = self.leaf.as_mut() else {
            return Vec::new();
        };
        let received = page.items.len() as u64;
        let key = self.key;
        let (mut new, mut repeated) = (0u64, 0u64);
        let rows: Vec<T> = page
            .items
            .into_iter()
            .filter(|row| {
                let k = key(row);
                if !leaf.seen.insert(k.clone()) {
                    repeated += 1;
                    return false;
                }
                new += 1;
                // Delivered before this part was split: expected again, not a duplicate.
                !leaf.skip.as_ref().is_some_and(|s| s.contains(&k))
            })
            .collect();
        leaf.last = Answer {
            offset,
            limit,
            received,
            new,
        };
        if repeated > 0 {
            self.spec.duplicates.fetch_add(repeated, Ordering::Relaxed);
            warn!(
                operation = self.spec.operation.id,
                offset,
                limit,
                received,
                duplicates = repeated,
                "rows received more than once were dropped"
            );
        }
        rows
    }

    /// A failed request: a 400 past offset 0 means the service pages less far than assumed;
    /// the part is then split (`Ok`), or the listing ends.
    pub(super) fn refused(&mut self, step: Step<K>, err: Error) -> Result<()> {
        let Step::Page(slice) = step else {
            return Err(err);
        };
        if !matches!(err, Error::Api { status: 400, .. }) || slice.offset == 0 {
            return Err(err);
        }
        self.spec.ceiling = self.spec.ceiling.min(slice.offset);
        if self.split_leaf() {
            return Ok(());
        }
        Err(Error::PagingRefused {
            operation: self.spec.operation.id,
            offset: slice.offset,
            source: Box::new(err),
        })
    }

    /// Turns the leaf, which has more rows than the ceiling lets it page, into a split part
    /// whose parts skip the rows already delivered. False when it cannot be split.
    fn split_leaf(&mut self) -> bool {
        let Some(leaf) = self.leaf.as_ref() else {
            return false;
        };
        let parts = match leaf.total {
            Some(total) if self.spec.split => match plan(&leaf.part, total, self.spec.ceiling) {
                Plan::Split(parts) => parts,
                Plan::List | Plan::Unsplittable => return false,
            },
            _ => return false,
        };
        let Some(leaf) = self.leaf.take() else {
            return false;
        };
        let mut delivered = leaf.seen;
        if let Some(earlier) = &leaf.skip {
            delivered.extend(earlier.iter().cloned());
        }
        let total = leaf.total.unwrap_or_default();
        let split = Split::new(leaf.part, total, parts, Some(Arc::new(delivered)));
        self.splits.push(split);
        true
    }

    /// The request to send next, if any.
    pub(super) fn next_step(&mut self) -> Option<Step<K>> {
        loop {
            if let Some(leaf) = self.leaf.as_ref() {
                let listed = leaf.seen.len() as u64;
                let last = leaf.last;
                let turn = next_page(
                    leaf.total,
                    listed,
                    last,
                    self.spec.page_size,
                    self.spec.ceiling,
                );
                // Rows left that this part cannot page to: split it, or say what is missing.
                let missing = leaf.total.map(|t| t.saturating_sub(listed));
                let (reason, splittable) = match turn {
                    Next::Page { offset, limit } => {
                        return Some(Step::Page(Slice {
                            part: leaf.part.clone(),
                            offset,
                            limit,
                        }));
                    }
                    Next::Done => (None, false),
                    Next::Ceiling => (
                        Some(format!(
                            "the service pages no further than {} rows and {} cannot be split \
                             into parts it pages through; narrow the filter to list the rest",
                            self.spec.ceiling, leaf.part
                        )),
                        true,
                    ),
                    Next::Repeats => (
                        Some(format!(
                            "the service answered offset {} of {} with rows it had sent \
                             already (it ignores the offset)",
                            last.offset, leaf.part
                        )),
                        false,
                    ),
                    Next::Short { .. } => {
                        let answered = if last.received == 0 {
                            format!("answered offset {} with no rows", last.offset)
                        } else {
                            format!(
                                "gave {listed} distinct ones up to offset {}",
                                last.offset.saturating_add(last.limit)
                            )
                        };
                        (
                            Some(format!(
                                "the service counted {} rows for {} but {answered}; rows \
                                 added or removed while it was listed shift the pages, run \
                                 it again",
                                leaf.total.unwrap_or_default(),
                                leaf.part
                            )),
                            false,
                        )
                    }
                };
                if let Some(reason) = reason
                    && !(splittable && self.split_leaf())
                {
                    self.gaps.push(Gap { missing, reason });
                }
                self.leaf = None;
                continue;
            }
            let split = self.splits.last_mut()?;
            if split.probed >= 2
                && let Some(nested) = split.deferred.take()
            {
                self.splits.push(*nested);
                continue;
            }
            match tally(split.total, split.counted, split.probed, split.left.len()) {
                Tally::More | Tally::Inconsistent => match split.left.pop_front() {
                    Some(part) => return Some(Step::Probe(part, split.skip.clone())),
                    None => {
                        self.splits.pop();
                    }
                },
                Tally::Short(_) if !split.recounted => {
                    split.recounted = true;
                    return Some(Step::Recount);
                }
                Tally::Complete | Tally::Short(_) => {
                    self.splits.pop();
                }
            }
        }
    }

    /// The error for the rows the listing could not reach, if any.
    pub(super) fn incomplete(&mut self) -> Option<Error> {
        if self.gaps.is_empty() {
            return None;
        }
        let gaps = std::mem::take(&mut self.gaps);
        let missing = gaps
            .iter()
            .try_fold(0u64, |sum, g| g.missing.map(|m| sum.saturating_add(m)));
        let mut reasons: Vec<String> = gaps.iter().take(3).map(|g| g.reason.clone()).collect();
        if gaps.len() > 3 {
            reasons.push(format!("and {} more parts like these", gaps.len() - 3));
        }
        Some(Error::ListingIncomplete {
            operation: self.spec.operation.id,
            missing,
            reason: reasons.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::atomic::{AtomicU64, Ordering};

    use falcon_users_api::operations::{COMBINED_USER_ROLES_V2, QUERY_USER_V1};
    use futures::stream::{BoxStream, StreamExt};

    use super::*;
    use crate::ops::paging::prefetch::listing;
    use crate::ops::partition::DEFAULT_OFFSET_CEILING;

    /// A user query over `logins` as the service answers it: ids are the logins, in login
    /// order, matched case-insensitively; `offset + limit` past `ceiling` is a 400.
    struct Service {
        logins: Vec<String>,
        ceiling: u64,
        ignores_filter: bool,
        requests: AtomicU64,
    }

    impl Service {
        fn new(logins: Vec<String>, ceiling: u64) -> Arc<Service> {
            let mut logins = logins;
            logins.sort_by_key(|l| l.to_lowercase());
            Arc::new(Service {
                logins,
                ceiling,
                ignores_filter: false,
                requests: AtomicU64::new(0),
            })
        }

        fn page(&self, slice: &Slice) -> Result<Page<String>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            if slice.offset + slice.limit > self.ceiling {
                return Err(Error::Api {
                    operation: "queryUserV1",
                    status: 400,
                    trace_id: None,
                    errors: Vec::new(),
                    raw_body: None,
                });
            }
            let rows: Vec<&String> = self
                .logins
                .iter()
                .filter(|l| self.ignores_filter || in_part(&slice.part, l))
                .collect();
            Ok(Page {
                total: Some(rows.len() as u64),
                items: rows
                    .iter()
                    .skip(slice.offset as usize)
                    .take(slice.limit as usize)
                    .map(|l| (*l).clone())
                    .collect(),
            })
        }

        fn requests(&self) -> u64 {
            self.requests.load(Ordering::SeqCst)
        }
    }

    fn in_part(part: &Part, login: &str) -> bool {
        let login = login.to_lowercase();
        match part {
            Part::All => true,
            Part::Prefix(prefix) => login.starts_with(prefix.as_str()),
            Part::Login(whole) => login == *whole,
        }
    }

    /// Every row of a listing, and the error it ended with; panics if anything follows the
    /// error.
    async fn list(spec: Listing, service: &Arc<Service>) -> (Vec<String>, Option<Error>) {
        let service = service.clone();
        let stream = listing(spec, String::clone, move |slice: Slice| {
            let service = service.clone();
            async move { service.page(&slice) }
        });
        drain(stream).await
    }

    async fn drain(mut stream: BoxStream<'static, Result<String>>) -> (Vec<String>, Option<Error>) {
        let (mut rows, mut error) = (Vec::new(), None);
        while let Some(item) = stream.next().await {
            assert!(error.is_none(), "nothing after the error");
            match item {
                Ok(row) => rows.push(row),
                Err(e) => error = Some(e),
            }
        }
        (rows, error)
    }

    fn users(page_size: u64, ceiling: u64) -> Listing {
        Listing {
            operation: &QUERY_USER_V1,
            page_size,
            ceiling,
            split: true,
            duplicates: Arc::default(),
        }
    }

    /// The prefixes (lower case) holding more than `ceiling` logins: the parts that must split.
    fn splits(logins: &[String], ceiling: u64) -> u64 {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for login in logins {
            let login = login.to_lowercase();
            for (end, _) in login.char_indices().skip(1).chain([(login.len(), ' ')]) {
                *counts.entry(login[..end].to_owned()).or_default() += 1;
            }
        }
        1 + counts.values().filter(|n| **n > ceiling).count() as u64
    }

    /// A service whose first page holds `extra` ids twice beyond the limit, then pages as asked.
    fn overfull(
        logins: Vec<String>,
        extra: usize,
    ) -> impl Fn(Slice) -> Result<Page<String>> + Send + Sync + 'static {
        move |slice: Slice| {
            let (offset, limit) = (slice.offset as usize, slice.limit as usize);
            let mut items: Vec<String> = logins.iter().skip(offset).take(limit).cloned().collect();
            if offset == 0 {
                items.extend(logins.iter().take(extra).cloned());
            }
            Ok(Page {
                total: Some(logins.len() as u64),
                items,
            })
        }
    }

    #[tokio::test]
    async fn an_overfull_page_skips_no_row_and_its_duplicates_are_counted() {
        let logins: Vec<String> = (0..70).map(|n| format!("u{n:02}@x.io")).collect();
        let page = Arc::new(overfull(logins.clone(), 5));
        let spec = users(50, DEFAULT_OFFSET_CEILING);
        let counted = spec.duplicates.clone();
        let stream = listing(spec, String::clone, move |slice| {
            let page = page.clone();
            async move { page(slice) }
        });
        let (rows, error) = drain(stream).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(rows, logins, "every row once, in order");
        assert_eq!(counted.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn every_login_comes_once_whatever_the_shape_of_the_tenant() {
        let spread: Vec<String> = (0..500)
            .map(|n| format!("{}{n}@corp.io", ALPHA[n * 7 % ALPHA.len()]))
            .collect();
        let common: Vec<String> = (0..300)
            .map(|n| format!("svc-build-{n:03}@corp.io"))
            .collect();
        let mut odd: Vec<String> = [
            "o'brien@x.io",
            "a*b@x.io",
            r"back\slash@x.io",
            "1st@x.io",
            "_svc@x.io",
            "+plus@x.io",
            "-dash@x.io",
            ".dot@x.io",
            "Zed@X.io",
            "\"quoted\"@x.io",
            "'apos@x.io",
            "*star@x.io",
            r"\bs@x.io",
            "~tilde@x.io",
            "(paren)@x.io",
        ]
        .map(str::to_owned)
        .to_vec();
        // A login that is a prefix of others: listed as a part of its own.
        odd.push("a@b.c".to_owned());
        odd.extend((0..40).map(|n| format!("a@b.c{n}")));
        let fits: Vec<String> = (0..40).map(|n| format!("u{n}@x.io")).collect();
        for (name, logins, page, ceiling) in [
            ("spread", spread, 20, 50),
            ("common prefix", common, 15, 40),
            ("odd characters", odd, 4, 10),
            ("fits", fits, 20, 50),
        ] {
            let service = Service::new(logins.clone(), ceiling);
            let (rows, error) = list(users(page, ceiling), &service).await;
            assert!(error.is_none(), "{name}: {error:?}");
            let distinct: BTreeSet<&String> = rows.iter().collect();
            assert_eq!(distinct.len(), rows.len(), "{name}: no login twice");
            assert_eq!(
                distinct,
                logins.iter().collect::<BTreeSet<_>>(),
                "{name}: every login"
            );
            // Pages of the leaves (at most one partial page each) and at most 69 counts and
            // one recount per split part.
            let n = logins.len() as u64;
            let splits = splits(&logins, ceiling);
            let bound = n.div_ceil(page) + 2 * 70 * splits;
            let sent = service.requests();
            assert!(sent <= bound, "{name}: {sent} requests, bound {bound}");
            if splits == 1 && n <= ceiling {
                assert_eq!(sent, n.div_ceil(page), "{name}: no split, no extra request");
            }
        }
    }

    const ALPHA: &[&str] = &["a", "b", "k", "m", "z", "0", "7", "x"];

    #[tokio::test]
    async fn logins_no_part_covers_are_counted_missing_after_every_other_row() {
        let mut logins: Vec<String> = (0..100).map(|n| format!("user{n}@x.io")).collect();
        logins.extend(["élise@x.io", "ünal@x.io"].map(str::to_owned));
        let service = Service::new(logins.clone(), 20);
        let (rows, error) = list(users(10, 20), &service).await;
        assert_eq!(rows.len(), 100);
        assert!(rows.iter().all(|r| r.is_ascii()), "{rows:?}");
        match error {
            Some(Error::ListingIncomplete {
                operation: "queryUserV1",
                missing: Some(2),
                reason,
            }) => assert!(reason.contains("the whole query"), "{reason}"),
            other => panic!("expected 2 missing, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_ceiling_lower_than_assumed_is_learned_from_the_refusal() {
        let logins: Vec<String> = (0..200)
            .map(|n| format!("{}{n}@x.io", ALPHA[n % 8]))
            .collect();
        let service = Service::new(logins.clone(), 30);
        let (rows, error) = list(users(10, DEFAULT_OFFSET_CEILING), &service).await;
        assert!(error.is_none(), "{error:?}");
        let distinct: BTreeSet<&String> = rows.iter().collect();
        assert_eq!(
            distinct.len(),
            rows.len(),
            "the rows before the refusal come once"
        );
        assert_eq!(distinct, logins.iter().collect::<BTreeSet<_>>());
    }

    #[tokio::test]
    async fn a_service_that_ignores_the_filter_is_caught_after_three_requests() {
        let logins: Vec<String> = (0..200).map(|n| format!("u{n}@x.io")).collect();
        let mut service = Service::new(logins, 50);
        Arc::get_mut(&mut service).unwrap().ignores_filter = true;
        let (rows, error) = list(users(10, 50), &service).await;
        assert!(rows.is_empty());
        assert!(
            matches!(error, Some(Error::ListingIncomplete { missing: None, .. })),
            "{error:?}"
        );
        assert_eq!(
            service.requests(),
            3,
            "the whole, its first part, the second"
        );
    }

    #[tokio::test]
    async fn a_listing_that_cannot_split_stops_at_the_ceiling_and_counts_the_rest() {
        let logins: Vec<String> = (0..100).map(|n| format!("g{n:03}")).collect();
        let service = Service::new(logins, 10_000);
        let spec = Listing {
            operation: &COMBINED_USER_ROLES_V2,
            page_size: 10,
            ceiling: 30,
            split: false,
            duplicates: Arc::default(),
        };
        let (rows, error) = list(spec, &service).await;
        assert_eq!(rows.len(), 30);
        assert!(
            matches!(
                error,
                Some(Error::ListingIncomplete {
                    operation: "CombinedUserRolesV2",
                    missing: Some(70),
                    ..
                })
            ),
            "{error:?}"
        );
        assert_eq!(
            service.requests(),
            3,
            "nothing past the ceiling is asked for"
        );
    }

    #[tokio::test]
    async fn a_panicking_page_task_is_an_internal_error_not_a_configuration_one() {
        let stream = listing(users(10, 50), String::clone, |_slice: Slice| async {
            if true {
                panic!("a bug");
            }
            Ok(Page {
                items: Vec::new(),
                total: None,
            })
        });
        let (rows, error) = drain(stream).await;
        assert!(rows.is_empty());
        match error {
            Some(Error::Internal { operation, message }) => {
                assert_eq!(operation, "queryUserV1");
                assert!(message.contains("panic"), "{message}");
            }
            other => panic!("expected an internal error, got {other:?}"),
        }
    }
}

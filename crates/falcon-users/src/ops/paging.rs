//! Offset/limit listings as `Stream`s (the next request is sent while the current page is
//! consumed), split by login past the service's offset ceiling; ids turned into entities in
//! batches; id lists split into batches and merged back in order.
//!
//! Every stream here keeps its order, delivers every row it fetched before an error, yields the
//! error, and ends.
//!
//! Where a listing goes after each page is one pure decision, `next_page`: the next offset is
//! where the last page was *asked* to end, whatever came back, and a part that cannot be shown
//! complete says so.

use std::collections::{HashSet, VecDeque};
use std::future::{self, Future};
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use falcon_users_api::Operation;
use falcon_users_api::types::MsaspecError;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::error::{Error, Result};
use crate::ops::partition::{Part, Plan, Tally, plan, tally};

pub use crate::ops::partition::DEFAULT_OFFSET_CEILING;

/// Entities fetched by id, with the per-id errors the API reported beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Entities<T> {
    /// The entities found, in the order of the ids asked for (batch by batch).
    pub resources: Vec<T>,
    /// Errors the API returned next to the resources (e.g. ids it does not know).
    pub errors: Vec<MsaspecError>,
}

impl<T> Default for Entities<T> {
    fn default() -> Self {
        Self {
            resources: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// One page of a paged operation.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// `meta.pagination.total` as reported with this page.
    pub(crate) total: Option<u64>,
}

/// What one request of a listing asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slice {
    /// Which rows of the query (always [`Part::All`] unless the listing may split).
    pub(crate) part: Part,
    pub(crate) offset: u64,
    pub(crate) limit: u64,
}

/// How a listing pages.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) operation: &'static Operation,
    /// Rows per request (the last request below the ceiling asks for fewer).
    pub(crate) page_size: u64,
    /// The largest `offset + limit` the service accepts; lowered when it refuses less.
    pub(crate) ceiling: u64,
    /// Whether the query may be split by login past the ceiling (user queries).
    pub(crate) split: bool,
    /// Where the rows received more than once and dropped are counted (the handle's stats).
    pub(crate) duplicates: Arc<AtomicU64>,
}

/// What the last page of a part brought: asked from `offset` with `limit`, `received` rows, of
/// which `new` were not received from the part before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) offset: u64,
    pub(crate) limit: u64,
    pub(crate) received: u64,
    pub(crate) new: u64,
}

/// Where a part goes after a page ([`next_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Ask for `limit` rows from `offset`.
    Page { offset: u64, limit: u64 },
    /// Every row the part counted (or, with no count, every row the service gives) is listed.
    Done,
    /// Rows are left past the ceiling: split the part, or report them missing.
    Ceiling,
    /// The page held only rows received already: the service ignores the offset.
    Repeats,
    /// The service gives nothing more, but counted `missing` rows more than were listed.
    Short { missing: u64 },
}

/// The paging decision of one part, from the count of its first page (`total`), the distinct
/// rows listed from it so far (`listed`) and its last page.
///
/// The next page starts where the last one was asked to end, not after the rows received: a
/// page longer than asked (duplicates, say) would otherwise push the offset past rows never
/// sent. Rows received twice are dropped by the caller, so an overlap costs nothing; rows a
/// short page left out are reported missing, not guessed at from a shifted offset. A part ends complete only when it holds
/// as many distinct rows as it counted (or, without a count, at a page shorter than asked);
/// ending short of the count is [`Next::Short`], never [`Next::Done`].
pub(crate) fn next_page(
    total: Option<u64>,
    listed: u64,
    last: Answer,
    page_size: u64,
    ceiling: u64,
) -> Next {
    if total.is_some_and(|total| listed >= total) {
        return Next::Done;
    }
    let next = last.offset.saturating_add(last.limit);
    let more = last.received > 0
        && match total {
            Some(total) => next < total,
            None => last.received >= last.limit,
        };
    if !more {
        return match total {
            Some(total) => Next::Short {
                missing: total - listed,
            },
            None => Next::Done,
        };
    }
    if last.new == 0 {
        return Next::Repeats;
    }
    if next >= ceiling {
        return Next::Ceiling;
    }
    Next::Page {
        offset: next,
        limit: page_size.min(ceiling - next).max(1),
    }
}

/// What tells the rows of a listing apart (an id; a grant's role, CID and kind).
pub(crate) trait RowKey: Hash + Eq + Clone + Send + Sync + 'static {}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> RowKey for K {}

/// Every row of a listing, `page_size` at a time, in order: one request in flight at a time,
/// the next sent while the caller consumes the current page; nothing sent until first polled.
///
/// Pages advance by the limit asked for ([`next_page`]). Rows are delivered once (`key` tells
/// them apart): a row received again within its part is dropped, logged and counted in
/// `spec.duplicates`. The rows remembered are one part's (at most about the ceiling), so memory
/// stays flat in the size of the listing; parts never overlap, by their filters. Bounded whatever the server answers: a part stops at the total its
/// first page counted, at an empty or short page, at a page whose rows were all received
/// already (the server ignores the offset), and at the ceiling; one that stops short of its
/// count ends the listing with [`Error::ListingIncomplete`] after every row it could list,
/// never with a short success. When a splittable listing counts more rows than the ceiling, it
/// lists its parts instead (see [`crate::ops::partition`]); otherwise the ceiling ends it with
/// [`Error::ListingIncomplete`], and a 400 past offset 0 with [`Error::PagingRefused`]. A 400
/// on the first page is the caller's error (e.g. a bad filter) and is returned as is.
pub(crate) fn listing<T, K, F, Fut>(
    spec: Listing,
    key: fn(&T) -> K,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    K: RowKey,
    F: Fn(Slice) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let walk = Walk {
        spec,
        key,
        fetch: Arc::new(fetch),
        started: false,
        running: None,
        leaf: None,
        splits: Vec::new(),
        gaps: Vec::new(),
        ended: false,
    };
    stream::unfold(walk, |mut walk| async move {
        let rows = walk.next_rows().await?;
        Some((rows, walk))
    })
    .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// A request running in the background; dropping the stream cancels it.
struct Prefetch<T>(JoinHandle<Result<Page<T>>>);

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Rows delivered before a part was split: its parts deliver them again, so they are dropped.
type Delivered<K> = Option<Arc<HashSet<K>>>;

/// What the request in flight is for.
enum Step<K> {
    /// The first page of a part: its count decides whether it is paged or split.
    Probe(Part, Delivered<K>),
    /// A further page of the part being paged.
    Page(Slice),
    /// The count of the innermost split part, again, after its parts came up short.
    Recount,
}

/// The part being paged.
struct Leaf<K> {
    part: Part,
    /// The count of its first page: paging stops there whatever later pages say.
    total: Option<u64>,
    /// What its last page brought.
    last: Answer,
    /// The distinct rows received from it (about the ceiling at most).
    seen: HashSet<K>,
    skip: Delivered<K>,
}

/// A part listed through its parts.
struct Split<K> {
    part: Part,
    total: u64,
    /// The parts counted, and their counts together.
    probed: usize,
    counted: u64,
    /// The parts not counted yet, in order.
    left: VecDeque<Part>,
    recounted: bool,
    skip: Delivered<K>,
    /// Its first part, counted at the whole's count and too big to page: listed through its
    /// own parts once a second part was counted (see [`tally`]), so that a service ignoring
    /// the filter is caught at once instead of one level deeper each time.
    deferred: Option<Box<Split<K>>>,
}

impl<K> Split<K> {
    fn new(part: Part, total: u64, parts: Vec<Part>, skip: Delivered<K>) -> Self {
        Split {
            part,
            total,
            probed: 0,
            counted: 0,
            left: parts.into(),
            recounted: false,
            skip,
            deferred: None,
        }
    }
}

/// Rows the listing could not reach.
struct Gap {
    missing: Option<u64>,
    reason: String,
}

struct Walk<T, K, F> {
    spec: Listing,
    key: fn(&T) -> K,
    fetch: Arc<F>,
    started: bool,
    running: Option<(Step<K>, Prefetch<T>)>,
    leaf: Option<Leaf<K>>,
    /// The parts being listed through their parts, outermost first.
    splits: Vec<Split<K>>,
    gaps: Vec<Gap>,
    ended: bool,
}

impl<T, K, F, Fut> Walk<T, K, F>
where
    T: Send + 'static,
    K: RowKey,
    F: Fn(Slice) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    /// The next page's rows to deliver (never empty), or the error that ends the listing.
    async fn next_rows(&mut self) -> Option<Result<Vec<T>>> {
        if self.ended {
            return None;
        }
        if !self.started {
            self.started = true;
            let first = Step::Probe(Part::All, None);
            self.running = Some(self.send(first));
        }
        loop {
            let Some((step, mut request)) = self.running.take() else {
                self.ended = true;
                return self.incomplete().map(Err);
            };
            let answer = match (&mut request.0).await {
                Ok(answer) => answer,
                Err(join) => {
                    self.ended = true;
                    return Some(Err(Error::Internal {
                        operation: self.spec.operation.id,
                        message: format!("the task sending a page request failed: {join}"),
                    }));
                }
            };
            let rows = match answer {
                Ok(page) => self.take(step, page),
                Err(err) => self.refused(step, err).map(|()| Vec::new()),
            };
            match rows {
                Err(err) => {
                    self.ended = true;
                    return Some(Err(err));
                }
                Ok(rows) => {
                    // Prefetch: the next request runs while the caller works through these.
                    self.running = self.next_step().map(|step| self.send(step));
                    if !rows.is_empty() {
                        return Some(Ok(rows));
                    }
                }
            }
        }
    }

    fn send(&self, step: Step<K>) -> (Step<K>, Prefetch<T>) {
        let slice = match &step {
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
        };
        let running = Prefetch(tokio::spawn((self.fetch)(slice)));
        (step, running)
    }

    /// Takes in an answer; returns the rows to deliver.
    fn take(&mut self, step: Step<K>, page: Page<T>) -> Result<Vec<T>> {
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
    fn refused(&mut self, step: Step<K>, err: Error) -> Result<()> {
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
    fn next_step(&mut self) -> Option<Step<K>> {
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
    fn incomplete(&mut self) -> Option<Error> {
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

/// Ends a stream after its first error (the error included).
pub(crate) fn end_at_error<T, S>(items: S) -> impl Stream<Item = Result<T>> + Send
where
    T: Send,
    S: Stream<Item = Result<T>> + Send,
{
    items.scan(false, |failed, item| {
        if *failed {
            return future::ready(None);
        }
        *failed = item.is_err();
        future::ready(Some(item))
    })
}

/// Groups the pages of ids of a listing into batches of `batch` ids. A batch waits for at most
/// as many pages as fill it at the asked `page_size`, plus one: a server answering with shorter
/// pages makes smaller batches, never a batch that waits for hundreds of pages. An error comes
/// after the ids received before it.
fn batches(
    ids: BoxStream<'static, Result<String>>,
    batch: usize,
    page_size: u64,
) -> impl Stream<Item = Result<Vec<String>>> + Send {
    let batch = batch.max(1);
    let pages_per_batch = (batch as u64).div_ceil(page_size.max(1)).saturating_add(1);
    // The ids of one page arrive together; `ready_chunks` hands them over as one group.
    let pages = ids.ready_chunks(batch);
    stream::unfold(
        (pages, Vec::<String>::new(), 0u64, None::<Error>, false),
        move |(mut pages, mut held, mut groups, mut error, mut done)| async move {
            loop {
                if held.len() >= batch {
                    let rest = held.split_off(batch);
                    let full = std::mem::replace(&mut held, rest);
                    groups = u64::from(!held.is_empty());
                    return Some((Ok(full), (pages, held, groups, error, done)));
                }
                if !held.is_empty() && (done || groups >= pages_per_batch) {
                    let out = std::mem::take(&mut held);
                    return Some((Ok(out), (pages, held, 0, error, done)));
                }
                if done {
                    return error.take().map(|e| (Err(e), (pages, held, 0, None, true)));
                }
                match pages.next().await {
                    Some(group) => {
                        for id in group {
                            match id {
                                Ok(id) if error.is_none() => held.push(id),
                                Ok(_) => {}
                                Err(e) => {
                                    error.get_or_insert(e);
                                    done = true;
                                }
                            }
                        }
                        groups += 1;
                    }
                    None => done = true,
                }
            }
        },
    )
}

/// Turns a listing of ids into entities, `batch` ids per request, `concurrency` requests in
/// flight, order kept; the ids of an entity the API no longer knows are dropped. Every entity
/// fetched before an error is delivered, then the error, then the stream ends.
pub(crate) fn detailed<T, F, Fut>(
    ids: BoxStream<'static, Result<String>>,
    batch: usize,
    page_size: u64,
    concurrency: usize,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: Fn(Vec<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Entities<T>>> + Send + 'static,
{
    let fetch = Arc::new(fetch);
    let entities = batches(ids, batch, page_size)
        .map(move |ids| {
            let fetch = fetch.clone();
            async move {
                match ids {
                    Ok(ids) => match fetch(ids).await {
                        Ok(found) => found.resources.into_iter().map(Ok).collect(),
                        Err(e) => vec![Err(e)],
                    },
                    Err(e) => vec![Err(e)],
                }
            }
        })
        .buffered(concurrency.max(1))
        .flat_map(stream::iter);
    end_at_error(entities).boxed()
}

/// Sends one request per batch (`concurrency` at once) and merges resources and errors in batch
/// order.
pub(crate) async fn batched<T, F, Fut>(
    batches: Vec<Vec<String>>,
    concurrency: usize,
    fetch: F,
) -> Result<Entities<T>>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Entities<T>>>,
{
    let parts: Vec<Entities<T>> = stream::iter(batches)
        .map(fetch)
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut merged = Entities::default();
    for part in parts {
        merged.resources.extend(part.resources);
        merged.errors.extend(part.errors);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::atomic::{AtomicU64, Ordering};

    use falcon_users_api::operations::{COMBINED_USER_ROLES_V2, QUERY_USER_V1};

    use super::*;

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

    /// The decision after each page, as a table: (count, distinct rows listed, last page as
    /// (offset, limit, received, new), next step), with pages of 500 under a ceiling of 10,000.
    #[test]
    fn the_next_page_starts_where_the_last_was_asked_to_end() {
        use Next::*;
        /// (name, count, listed, (offset, limit, received, new), next).
        type Case = (&'static str, Option<u64>, u64, (u64, u64, u64, u64), Next);
        let cases: [Case; 16] = [
            (
                "full first page",
                Some(700),
                500,
                (0, 500, 500, 500),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "550 ids, 50 twice: on from 500, not 550",
                Some(700),
                500,
                (0, 500, 550, 500),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "550 distinct: on from 500, the overlap is dropped",
                Some(1_200),
                550,
                (0, 500, 550, 550),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "a short page: on from 1,000, not 900",
                Some(2_000),
                900,
                (500, 500, 400, 400),
                Page {
                    offset: 1_000,
                    limit: 500,
                },
            ),
            (
                "the count is reached",
                Some(700),
                700,
                (500, 500, 200, 200),
                Done,
            ),
            (
                "an overfull page reaches the count early",
                Some(550),
                550,
                (0, 500, 550, 550),
                Done,
            ),
            (
                "no count, a short page",
                None,
                700,
                (500, 500, 200, 200),
                Done,
            ),
            ("no count, an empty page", None, 500, (500, 500, 0, 0), Done),
            (
                "no count, a full page",
                None,
                1_000,
                (500, 500, 500, 500),
                Page {
                    offset: 1_000,
                    limit: 500,
                },
            ),
            (
                "an empty page short of the count",
                Some(200_000),
                2,
                (2, 500, 0, 0),
                Short { missing: 199_998 },
            ),
            (
                "the last page ends short of the count",
                Some(700),
                650,
                (500, 500, 150, 150),
                Short { missing: 50 },
            ),
            (
                "a full page of rows received already",
                Some(9_000),
                2,
                (2, 2, 2, 0),
                Repeats,
            ),
            (
                "the ceiling, rows left",
                Some(12_000),
                10_000,
                (9_500, 500, 500, 500),
                Ceiling,
            ),
            (
                "the page below the ceiling asks for what fits",
                Some(12_000),
                9_800,
                (9_300, 500, 500, 500),
                Page {
                    offset: 9_800,
                    limit: 200,
                },
            ),
            (
                "more counted than listed, the ceiling reached",
                Some(10_000),
                9_950,
                (9_500, 500, 450, 450),
                Short { missing: 50 },
            ),
            (
                "nothing counted, nothing sent",
                Some(0),
                0,
                (0, 500, 0, 0),
                Done,
            ),
        ];
        for (name, total, listed, (offset, limit, received, new), want) in cases {
            let last = Answer {
                offset,
                limit,
                received,
                new,
            };
            assert_eq!(
                next_page(total, listed, last, 500, DEFAULT_OFFSET_CEILING),
                want,
                "{name}"
            );
        }
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

//! Where a walk past the offset ceiling stands: the request in flight, the part being paged,
//! the parts being listed through their parts, and the rows it could not reach.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::ops::paging::next::Answer;
use crate::ops::paging::page::Slice;
use crate::ops::partition::Part;

/// Rows delivered before a part was split: its parts deliver them again, so they are dropped.
pub(super) type Delivered<K> = Option<Arc<HashSet<K>>>;

/// What the request in flight is for.
pub(super) enum Step<K> {
    /// The first page of a part: its count decides whether it is paged or split.
    Probe(Part, Delivered<K>),
    /// A further page of the part being paged.
    Page(Slice),
    /// The count of the innermost split part, again, after its parts came up short.
    Recount,
}

impl<K> Step<K> {
    /// The first request of a listing: the count and first page of the whole query.
    pub(super) fn first() -> Self {
        Step::Probe(Part::All, None)
    }
}

/// The part being paged.
pub(super) struct Leaf<K> {
    pub(super) part: Part,
    /// The count of its first page: paging stops there whatever later pages say.
    pub(super) total: Option<u64>,
    /// What its last page brought.
    pub(super) last: Answer,
    /// The distinct rows received from it (about the ceiling at most).
    pub(super) seen: HashSet<K>,
    pub(super) skip: Delivered<K>,
}

/// A part listed through its parts.
pub(super) struct Split<K> {
    pub(super) part: Part,
    pub(super) total: u64,
    /// The parts counted, and their counts together.
    pub(super) probed: usize,
    pub(super) counted: u64,
    /// The parts not counted yet, in order.
    pub(super) left: VecDeque<Part>,
    pub(super) recounted: bool,
    pub(super) skip: Delivered<K>,
    /// Its first part, counted at the whole's count and too big to page: listed through its
    /// own parts once a second part was counted (see [`tally`](crate::ops::partition::tally)),
    /// so that a service ignoring the filter is caught at once instead of one level deeper
    /// each time.
    pub(super) deferred: Option<Box<Split<K>>>,
}

impl<K> Split<K> {
    pub(super) fn new(part: Part, total: u64, parts: Vec<Part>, skip: Delivered<K>) -> Self {
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
pub(super) struct Gap {
    pub(super) missing: Option<u64>,
    pub(super) reason: String,
}

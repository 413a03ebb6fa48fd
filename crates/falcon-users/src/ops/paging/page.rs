//! What one request of a listing asks for and gets back, how a listing pages, and what tells
//! its rows apart.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use falcon_users_api::Operation;

use crate::ops::partition::Part;

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

/// What tells the rows of a listing apart (an id; a grant's role, CID and kind).
pub(crate) trait RowKey: Hash + Eq + Clone + Send + Sync + 'static {}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> RowKey for K {}

//! Offset/limit pages as `Stream`s (the next page is fetched while the current one is consumed),
//! ids turned into entities in batches, and id lists split into batches and merged back in order.

use std::future::Future;
use std::sync::Arc;

use falcon_users_api::Operation;
use falcon_users_api::types::MsaspecError;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

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

struct Cursor<T, F> {
    fetch: Arc<F>,
    operation: &'static Operation,
    /// The offset of the next page, `None` once the last page was read.
    next: Option<u64>,
    /// That page, already requested while the caller consumed the previous one.
    prefetched: Option<Prefetch<T>>,
    previous: Option<Vec<T>>,
}

/// A page request running in the background; dropping the stream cancels it.
struct Prefetch<T>(JoinHandle<Result<Page<T>>>);

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every item of a paged operation, `page_size` at a time, from offset 0.
///
/// Stops at `meta.pagination.total`, at the first empty page, or when the server returns the
/// same page twice (it ignores the offset): a server that misreports its total cannot make the
/// stream loop forever. A 400 past offset 0 is reported as [`Error::PagingRefused`]. Nothing is
/// sent until the stream is first polled.
pub(crate) fn paged<T, F, Fut>(
    operation: &'static Operation,
    page_size: u64,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Clone + PartialEq + Send + 'static,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let start = Cursor {
        fetch: Arc::new(fetch),
        operation,
        next: Some(0),
        prefetched: None,
        previous: None,
    };
    stream::unfold(start, move |mut cursor| async move {
        let offset = cursor.next.take()?;
        let mut request = match cursor.prefetched.take() {
            Some(running) => running,
            None => Prefetch(tokio::spawn((cursor.fetch)(offset))),
        };
        let page = match (&mut request.0).await {
            Ok(Ok(page)) => page,
            Ok(Err(err)) => {
                return Some((Err(refused_offset(cursor.operation, offset, err)), cursor));
            }
            Err(join) => {
                let message = format!("{} page task failed: {join}", cursor.operation);
                return Some((Err(Error::Config(message)), cursor));
            }
        };
        if page.items.is_empty() || cursor.previous.as_ref() == Some(&page.items) {
            return None;
        }
        let next = offset + page.items.len() as u64;
        let more = match page.total {
            Some(total) => next < total,
            None => page.items.len() as u64 >= page_size,
        };
        if more {
            // Prefetch: the next request runs while the caller works through this page.
            cursor.next = Some(next);
            cursor.prefetched = Some(Prefetch(tokio::spawn((cursor.fetch)(next))));
        }
        cursor.previous = Some(page.items.clone());
        Some((Ok(page.items), cursor))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

fn refused_offset(operation: &'static Operation, offset: u64, err: Error) -> Error {
    match err {
        Error::Api { status: 400, .. } if offset > 0 => Error::PagingRefused {
            operation: operation.id,
            offset,
            source: Box::new(err),
        },
        other => other,
    }
}

/// Turns a stream of ids into a stream of entities, `batch` ids per request, `concurrency`
/// requests in flight, order kept.
pub(crate) fn detailed<T, F, Fut>(
    ids: BoxStream<'static, Result<String>>,
    batch: usize,
    concurrency: usize,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: Fn(Vec<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Entities<T>>> + Send + 'static,
{
    ids.try_chunks(batch.max(1))
        .map_err(|e| e.1)
        .map_ok(fetch)
        .try_buffered(concurrency.max(1))
        .map_ok(|entities| stream::iter(entities.resources.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
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

//! The prefetching listing: every row of a listing as a `Stream`, the next request sent while
//! the current page is consumed; where each request goes is the [`Walk`]'s decision.

use std::future::Future;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::ops::paging::page::{Listing, Page, RowKey, Slice};
use crate::ops::paging::progress::Step;
use crate::ops::paging::walk::Walk;

/// Every row of a listing, `page_size` at a time, in order: one request in flight at a time,
/// the next sent while the caller consumes the current page; nothing sent until first polled.
///
/// Pages advance by the limit asked for ([`next_page`]). Rows are delivered once (`key` tells them
/// apart): a row received again within its part is dropped, logged and counted in
/// `spec.duplicates`. The rows remembered are one part's (at most about the ceiling), so memory
/// stays flat in the size of the listing; parts never overlap, by their filters. Bounded whatever
/// the server answers: a part stops at the total its first page counted, at an empty or short page,
/// at a page whose rows were all received already (the server ignores the offset), and at the
/// ceiling; one that stops short of its count ends the listing with [`Error::ListingIncomplete`]
/// after every row it could list, never with a short success. When a splittable listing counts more
/// rows than the ceiling, it lists its parts instead (see [`crate::ops::partition`]); otherwise the
/// ceiling ends it with [`Error::ListingIncomplete`], and a 400 past offset 0 with
/// [`Error::PagingRefused`]. A 400 on the first page is the caller's error (e.g. a bad filter) and
/// is returned as is.
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
    let listed = Prefetching {
        walk: Walk::new(spec, key),
        fetch: Arc::new(fetch),
        started: false,
        running: None,
        ended: false,
    };
    stream::unfold(listed, |mut listed| async move {
        let rows = listed.next_rows().await?;
        Some((rows, listed))
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

/// A listing being delivered: its walk, and the request in flight.
struct Prefetching<T, K, F> {
    walk: Walk<T, K>,
    fetch: Arc<F>,
    started: bool,
    running: Option<(Step<K>, Prefetch<T>)>,
    ended: bool,
}

impl<T, K, F, Fut> Prefetching<T, K, F>
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
            let first = Step::first();
            self.running = Some(self.send(first));
        }
        loop {
            let Some((step, mut request)) = self.running.take() else {
                self.ended = true;
                return self.walk.incomplete().map(Err);
            };
            let answer = match (&mut request.0).await {
                Ok(answer) => answer,
                Err(join) => {
                    self.ended = true;
                    return Some(Err(Error::Internal {
                        operation: self.walk.spec.operation.id,
                        message: format!("the task sending a page request failed: {join}"),
                    }));
                }
            };
            let rows = match answer {
                Ok(page) => self.walk.take(step, page),
                Err(err) => self.walk.refused(step, err).map(|()| Vec::new()),
            };
            match rows {
                Err(err) => {
                    self.ended = true;
                    return Some(Err(err));
                }
                Ok(rows) => {
                    // Prefetch: the next request runs while the caller works through these.
                    self.running = self.walk.next_step().map(|step| self.send(step));
                    if !rows.is_empty() {
                        return Some(Ok(rows));
                    }
                }
            }
        }
    }

    /// Sends `step`'s request in the background.
    fn send(&self, step: Step<K>) -> (Step<K>, Prefetch<T>) {
        let slice = self.walk.slice(&step);
        let running = Prefetch(tokio::spawn((self.fetch)(slice)));
        (step, running)
    }
}

//! Ids turned into entities in batches, and id lists split into batches and merged back in
//! order.

use std::future::{self, Future};
use std::sync::Arc;

use falcon_users_api::types::MsaspecError;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

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

impl<T> Entities<T> {
    /// The ids the service said it does not know: the `id` of every `errors` entry with code
    /// 404, in the order reported. A lookup with some unknown ids is answered with the items
    /// found and one such entry per unknown id (HTTP 207, a success); every batch's are kept.
    ///
    /// ```
    /// use falcon_users::Entities;
    /// use falcon_users::types::MsaspecError;
    /// let found: Entities<String> = Entities {
    ///     resources: vec!["falcon_console_guest".into()],
    ///     errors: vec![MsaspecError {
    ///         code: 404,
    ///         id: Some("no_such_role".into()),
    ///         message: "role no_such_role not found".into(),
    ///     }],
    /// };
    /// assert_eq!(found.not_found().collect::<Vec<_>>(), ["no_such_role"]);
    /// ```
    pub fn not_found(&self) -> impl Iterator<Item = &str> {
        self.errors
            .iter()
            .filter(|e| e.code == 404)
            .filter_map(|e| e.id.as_deref())
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

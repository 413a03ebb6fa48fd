//! Trace ids of the answers a piece of work received, for records such as an apply journal:
//! the ergonomic methods return the entities, not the envelope, so the pipeline notes each
//! answer's `X-Cs-Traceid` for whoever is listening in the current task.

use std::future::Future;
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderName};

tokio::task_local! {
    static LISTENING: Arc<Mutex<Option<String>>>;
}

/// Runs `work` and returns its output with the trace id of the last answer it received.
pub(crate) async fn traced<F: Future>(work: F) -> (F::Output, Option<String>) {
    let slot = Arc::new(Mutex::new(None));
    let output = LISTENING.scope(Arc::clone(&slot), work).await;
    let last = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    (output, last)
}

/// The header an answer's trace id comes in, made once: every answer is looked up with it.
static TRACE_ID: HeaderName = HeaderName::from_static("x-cs-traceid");

/// Notes an answer's trace id, if anyone in this task is listening.
pub(crate) fn note(headers: &HeaderMap) {
    // Nobody listening (most calls): nothing to look up.
    let _ = LISTENING.try_with(|slot| {
        if let Some(id) = headers.get(&TRACE_ID).and_then(|v| v.to_str().ok()) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_answer_of_the_work_is_kept_and_nobody_else_hears() {
        let headers = |id: &str| {
            let mut h = HeaderMap::new();
            h.insert("X-CS-TRACEID", id.parse().unwrap());
            h
        };
        note(&headers("outside"));
        let ((), id) = traced(async {
            note(&headers("first"));
            tokio::task::yield_now().await;
            note(&headers("second"));
            note(&HeaderMap::new());
        })
        .await;
        assert_eq!(id.as_deref(), Some("second"));
        let ((), none) = traced(async {}).await;
        assert_eq!(none, None);
    }
}

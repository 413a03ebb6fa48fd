//! State shared by every clone of a `Falcon` handle and by its Flight Control member handles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use falcon_users_api::{Client, Hooks};

use crate::auth::{Credentials, Endpoint, TokenProvider};
use crate::cid::Cid;
use crate::clock::Clock;
use crate::retry::{Limiter, RetryPolicy};
use crate::stats::Stats;
use crate::transport::Transport;

/// How many ids one request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Ids per JSON body (upstream allows 5,000 for `retrieveUsersGETV1`).
    pub body_ids: usize,
    /// Ids per query string (repeated `ids=` keys).
    pub query_ids: usize,
    /// Longest query string for repeated ids, in bytes once encoded.
    pub max_query_len: usize,
    /// Batches of one operation in flight at once.
    pub concurrency: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            body_ids: 5000,
            query_ids: 100,
            max_query_len: 6000,
            concurrency: 4,
        }
    }
}

pub(crate) struct Session {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) limiter: Limiter,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) renew_window: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) batch: BatchLimits,
    pub(crate) stats: Stats,
    members: Mutex<HashMap<Cid, Arc<TokenProvider>>>,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        http: reqwest::Client,
        endpoint: Endpoint,
        credentials: Credentials,
        retry: RetryPolicy,
        max_concurrency: usize,
        clock: Arc<dyn Clock>,
        renew_window: Duration,
        request_timeout: Duration,
        deadline: Duration,
        batch: BatchLimits,
    ) -> Self {
        Self {
            http,
            endpoint,
            credentials,
            retry,
            limiter: Limiter::new(max_concurrency),
            clock,
            renew_window,
            request_timeout,
            deadline,
            batch,
            stats: Stats::default(),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// A generated client with retries and limits but no bearer token (for the token endpoint).
    pub(crate) fn raw_client(self: &Arc<Self>) -> Client {
        self.client(None, self.deadline)
    }

    /// A generated client whose every request goes through our transport.
    pub(crate) fn client(
        self: &Arc<Self>,
        auth: Option<Arc<TokenProvider>>,
        deadline: Duration,
    ) -> Client {
        let transport = Transport::new(Arc::clone(self), auth, deadline);
        Client::new_with_client(
            self.endpoint.url().as_str().trim_end_matches('/'),
            self.http.clone(),
            Hooks::new(Arc::new(transport)),
        )
    }

    /// The token cache of one member CID, created on first use and kept for the session.
    pub(crate) fn member(&self, cid: &Cid) -> Arc<TokenProvider> {
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            members
                .entry(cid.clone())
                .or_insert_with(|| Arc::new(TokenProvider::new(Some(cid.clone())))),
        )
    }
}

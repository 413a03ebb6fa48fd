//! The token cache of one (client, member CID): a token reused until its renewal point, minted by
//! one request however many callers want it at once, and dropped when the API refuses it. How a
//! token is minted is the minter's business, so the cache sends nothing.

use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use falcon_users_api::operations::OAUTH2_ACCESS_TOKEN;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tracing::debug;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::cid::Cid;

/// A bearer token and when it stops being used.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: SecretString,
    /// `Authorization: Bearer <value>`, made once per token rather than once per request;
    /// marked sensitive, so it never shows in a `Debug` of the request.
    pub(crate) header: HeaderValue,
    /// Renewal point: `expires_in` minus the renew window.
    pub(crate) renew_at: SystemTime,
}

impl Token {
    /// A token `value` used until `renew_at`.
    pub(crate) fn new(value: String, renew_at: SystemTime) -> Self {
        let mut header = HeaderValue::from_str(&format!("Bearer {value}"))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        header.set_sensitive(true);
        Token {
            value: SecretString::from(value),
            header,
            renew_at,
        }
    }
}

/// A mint in progress, shared by every caller that wants a token while it runs.
type Flight = Shared<BoxFuture<'static, Result<Token>>>;

/// The cached token of one (client, member CID).
pub(crate) struct TokenCache {
    member_cid: Option<Cid>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    /// The mint in progress. Weak: when every caller waiting on it has gone (timed out or
    /// dropped), the request is cancelled and the next caller starts a new one, instead of
    /// joining a stalled one.
    flight: Option<WeakShared<BoxFuture<'static, Result<Token>>>>,
}

impl State {
    /// The cached token, unless it has reached its renewal point at `now`.
    fn current(&self, now: SystemTime) -> Option<&Token> {
        self.token.as_ref().filter(|t| t.renew_at > now)
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("member_cid", &self.member_cid)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl TokenCache {
    /// An empty cache for the tenant of the credentials (`None`) or a member CID.
    pub(crate) fn new(member_cid: Option<Cid>) -> Self {
        Self {
            member_cid,
            state: Mutex::new(State::default()),
        }
    }

    /// The member CID tokens are minted for, if any.
    pub(crate) fn member_cid(&self) -> Option<&Cid> {
        self.member_cid.as_ref()
    }

    /// A token not yet at its renewal point, else the one `mint` returns. Callers that arrive
    /// while a mint runs wait for that mint and share its outcome, a failure included: one
    /// failed mint is one error for all of them, not a fresh attempt each. Each caller waits at
    /// most `within` (its own time left); past it, [`Error::Timeout`].
    ///
    /// The wait is on real work (a request), so it is bounded in real time, not on `clock`.
    pub(crate) async fn get_or_mint<Mint, Minted>(
        &self,
        clock: &dyn Clock,
        within: Duration,
        mint: Mint,
    ) -> Result<Token>
    where
        Mint: FnOnce() -> Minted,
        Minted: Future<Output = Result<Token>> + Send + 'static,
    {
        let flight = {
            let mut state = self.lock();
            let now = clock.now();
            if let Some(token) = state.current(now) {
                return Ok(token.clone());
            }
            match state.flight.as_ref().and_then(WeakShared::upgrade) {
                Some(running) => running,
                None => {
                    let flight: Flight = mint().boxed().shared();
                    state.flight = flight.downgrade();
                    flight
                }
            }
        };
        let outcome = tokio::time::timeout(within, flight.clone())
            .await
            .map_err(|_| Error::Timeout {
                operation: OAUTH2_ACCESS_TOKEN.id,
            })?;
        let mut state = self.lock();
        let landing = state
            .flight
            .as_ref()
            .and_then(WeakShared::upgrade)
            .is_some_and(|f| f.ptr_eq(&flight));
        if landing {
            // The first waiter back records the outcome; a failed mint leaves no flight, so the
            // next caller tries again.
            state.flight = None;
            if let Ok(token) = &outcome {
                state.token = Some(token.clone());
            }
        }
        outcome
    }

    /// A token is cached and not yet at its renewal point at `now`.
    pub(crate) fn fresh(&self, now: SystemTime) -> bool {
        self.lock().current(now).is_some()
    }

    /// The `Authorization` header of the cached token when it is not yet at its renewal point:
    /// what a request needs, without copying the token's secret (a copy that is wiped again as
    /// soon as the header is taken from it).
    pub(crate) fn fresh_header(&self, now: SystemTime) -> Option<HeaderValue> {
        self.lock().current(now).map(|t| t.header.clone())
    }

    /// Drops the cached token if it is still the one that got a 401 (`sent` is what was sent).
    pub(crate) fn invalidate(&self, sent: &str) {
        let mut state = self.lock();
        if state
            .token
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == sent)
        {
            debug!("discarding a token the API refused");
            state.token = None;
        }
    }

    /// Removes and returns the cached token (to revoke it).
    pub(crate) fn take(&self) -> Option<Token> {
        self.lock().token.take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::SystemClock;
    use crate::error::AuthProblem;

    fn refused() -> Error {
        Error::Auth {
            problem: AuthProblem::BadCredentials,
            status: Some(401),
            message: "no".into(),
            trace_id: None,
        }
    }

    /// Four callers arrive while one slow mint fails: one request, one failure for all four, at
    /// the same moment; the next caller tries again.
    #[tokio::test]
    async fn callers_waiting_on_a_failed_mint_share_its_failure() {
        let cache = Arc::new(TokenCache::new(None));
        let mints = Arc::new(AtomicUsize::new(0));
        let slow_failure = |mints: Arc<AtomicUsize>| {
            move || async move {
                mints.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err::<Token, _>(refused())
            }
        };
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let (cache, mint) = (Arc::clone(&cache), slow_failure(Arc::clone(&mints)));
                tokio::spawn(async move {
                    cache
                        .get_or_mint(&SystemClock, Duration::from_secs(30), mint)
                        .await
                })
            })
            .collect();
        for caller in callers {
            let outcome = caller.await.unwrap();
            assert!(matches!(
                outcome,
                Err(Error::Auth {
                    status: Some(401),
                    ..
                })
            ));
        }
        assert_eq!(mints.load(Ordering::SeqCst), 1);
        let again = cache
            .get_or_mint(
                &SystemClock,
                Duration::from_secs(30),
                slow_failure(Arc::clone(&mints)),
            )
            .await;
        assert!(again.is_err());
        assert_eq!(mints.load(Ordering::SeqCst), 2, "a later caller mints anew");
    }

    /// A caller's own time left bounds its wait, whatever the mint does; when every waiter has
    /// gone, the stalled mint is dropped and the next caller starts a new one.
    #[tokio::test]
    async fn each_caller_waits_at_most_its_time_left() {
        let cache = TokenCache::new(None);
        let never = || futures::future::pending::<Result<Token>>();
        let outcome = cache
            .get_or_mint(&SystemClock, Duration::from_millis(50), never)
            .await;
        assert!(matches!(
            outcome,
            Err(Error::Timeout {
                operation: "oauth2AccessToken"
            })
        ));
        let token = Token::new("t".into(), SystemTime::now() + Duration::from_secs(60));
        let fresh = cache
            .get_or_mint(&SystemClock, Duration::from_secs(5), move || async move {
                Ok(token)
            })
            .await
            .expect("a new mint, not the abandoned one");
        assert_eq!(fresh.value.expose_secret(), "t");
        assert!(
            cache
                .get_or_mint(&SystemClock, Duration::from_secs(5), never)
                .await
                .is_ok(),
            "the minted token is cached"
        );
    }
}

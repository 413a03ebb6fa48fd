//! The token cache of one (client, member CID): a token reused until its renewal point, minted by
//! exactly one caller while the others wait, and dropped when the API refuses it. How a token is
//! minted is the minter's business, so the cache sends nothing.

use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};
use tracing::debug;

use crate::clock::Clock;
use crate::error::Result;
use crate::model::cid::Cid;

/// A bearer token and when it stops being used.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: SecretString,
    /// Renewal point: `expires_in` minus the renew window.
    pub(crate) renew_at: SystemTime,
}

/// The cached token of one (client, member CID).
pub(crate) struct TokenCache {
    member_cid: Option<Cid>,
    state: RwLock<Option<Token>>,
    /// Held by the one caller that mints; the others wait here and then reuse its token.
    minting: Mutex<()>,
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
            state: RwLock::new(None),
            minting: Mutex::new(()),
        }
    }

    /// The member CID tokens are minted for, if any.
    pub(crate) fn member_cid(&self) -> Option<&Cid> {
        self.member_cid.as_ref()
    }

    /// A token not yet at its renewal point, else the one `mint` returns (minted once for
    /// every caller waiting at the same time).
    pub(crate) async fn get_or_mint<Mint, Minted>(
        &self,
        clock: &dyn Clock,
        mint: Mint,
    ) -> Result<Token>
    where
        Mint: FnOnce() -> Minted,
        Minted: Future<Output = Result<Token>>,
    {
        if let Some(t) = self.fresh(clock).await {
            return Ok(t);
        }
        let _turn = self.minting.lock().await;
        // Someone else may have minted while we waited for our turn.
        if let Some(t) = self.fresh(clock).await {
            return Ok(t);
        }
        let token = mint().await?;
        *self.state.write().await = Some(token.clone());
        Ok(token)
    }

    /// Drops the cached token if it is still the one that got a 401 (`sent` is what was sent).
    pub(crate) async fn invalidate(&self, sent: &str) {
        let mut state = self.state.write().await;
        if state
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == sent)
        {
            debug!("discarding a token the API refused");
            *state = None;
        }
    }

    /// Removes and returns the cached token (to revoke it).
    pub(crate) async fn take(&self) -> Option<Token> {
        self.state.write().await.take()
    }

    async fn fresh(&self, clock: &dyn Clock) -> Option<Token> {
        let now = clock.now();
        self.state
            .read()
            .await
            .as_ref()
            .filter(|t| t.renew_at > now)
            .cloned()
    }
}

//! OAuth2 client credentials at the token endpoint: minting a handle's token into its cache,
//! following one region change (autodiscovery), revoking, and token failures explained as what to
//! check.

use std::sync::Arc;
use std::time::Duration;

use falcon_users_api::operations;
use falcon_users_api::types::{Oauth2AccessTokenBody, Oauth2RevokeTokenBody};
use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use tracing::{debug, warn};
use url::Url;

use crate::clock::later;
use crate::error::{AuthProblem, Error, Result};
use crate::model::cid::Cid;
use crate::model::cloud::Cloud;
use crate::runtime::endpoint::origin;
use crate::runtime::pacing::Limiter;
use crate::runtime::pipeline::{self, BearerSource};
use crate::runtime::response::{from_api, header};
use crate::runtime::shared::{Lane, Runtime};
use crate::runtime::stats::Stats;
use crate::runtime::token::{Token, TokenCache};

/// The token of one handle: the lane of its CID (token cache and budget, shared by handles of
/// the same CID) and the runtime that mints into it.
#[derive(Clone)]
pub(crate) struct Minter {
    runtime: Arc<Runtime>,
    cache: Arc<TokenCache>,
    limiter: Arc<Limiter>,
}

impl Minter {
    /// Mints into `lane`'s cache through `runtime`.
    pub(crate) fn new(runtime: Arc<Runtime>, lane: Lane) -> Self {
        Self {
            runtime,
            cache: lane.cache,
            limiter: lane.limiter,
        }
    }

    /// The budget of the CID this token acts in: what its requests are paced by.
    pub(crate) fn limiter(&self) -> Arc<Limiter> {
        Arc::clone(&self.limiter)
    }

    /// The member CID the token is for, if any.
    pub(crate) fn member_cid(&self) -> Option<&Cid> {
        self.cache.member_cid()
    }

    /// A token valid for at least the renew window, minting one if needed; waits at most
    /// `within` (the caller's time left).
    pub(crate) async fn token(&self, within: Duration) -> Result<Token> {
        self.cache
            .get_or_mint(self.runtime.settings.clock.as_ref(), within, || {
                // Cloned only to mint (the mint outlives this call), not on every request.
                let minter = self.clone();
                async move { minter.mint().await }
            })
            .await
    }

    /// A token is cached and not yet due for renewal: a request can go without minting.
    pub(crate) fn fresh(&self) -> bool {
        self.cache.fresh(self.runtime.settings.clock.now())
    }

    /// Revokes the cached token (if any) at the API and forgets it.
    pub(crate) async fn revoke(&self) -> Result<()> {
        let Some(token) = self.cache.take() else {
            return Ok(());
        };
        let body = Oauth2RevokeTokenBody {
            client_id: Some(self.runtime.settings.credentials.client_id.clone()),
            token: token.value.expose_secret().to_owned(),
        };
        // Revoking names no CID: it is charged to the credentials' own.
        let home = Arc::clone(&self.runtime.home.limiter);
        match self
            .token_endpoint(home)
            .oauth2_revoke_token()
            .body(body)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(from_api(&operations::OAUTH2_REVOKE_TOKEN, e).await),
        }
    }

    /// A generated client with retries and limits but no bearer token, paced by `limiter`.
    fn token_endpoint(&self, limiter: Arc<Limiter>) -> falcon_users_api::Client {
        pipeline::client(&self.runtime, limiter, None, self.runtime.settings.deadline)
    }

    /// Asks the token endpoint; follows one region change (308 or `X-Cs-Region`).
    async fn mint(&self) -> Result<Token> {
        let runtime = &self.runtime;
        let endpoint = &runtime.settings.endpoint;
        for _ in 0..2 {
            Stats::bump(&runtime.stats.token_requests);
            let body = Oauth2AccessTokenBody {
                client_id: runtime.settings.credentials.client_id.clone(),
                client_secret: runtime
                    .settings
                    .credentials
                    .client_secret
                    .expose_secret()
                    .to_owned(),
                member_cid: self.member_cid().map(ToString::to_string),
            };
            // The token endpoint reports (and is refused with) the budget of the CID asked for.
            let sent = self
                .token_endpoint(self.limiter())
                .oauth2_access_token()
                .body(body)
                .send()
                .await;
            match sent {
                Ok(rv) => {
                    let region = header(rv.headers(), "x-cs-region");
                    let elsewhere = region.as_deref().and_then(|r| self.other_region(r));
                    if let Some(cloud) = elsewhere {
                        match endpoint.move_to(&cloud) {
                            Ok(()) => continue,
                            // The token works where it was minted; stay there. A custom base URL
                            // (a proxy, the simulator) is the user's choice: nothing to warn of.
                            Err(why) if endpoint.custom => {
                                debug!(region = %cloud, why, "not following X-Cs-Region");
                            }
                            Err(why) => warn!(region = %cloud, why, "not following X-Cs-Region"),
                        }
                    }
                    let body = rv.into_inner();
                    let value = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
                        Error::Decode {
                            operation: operations::OAUTH2_ACCESS_TOKEN.id,
                            message: "the token response has no access_token".into(),
                        }
                    })?;
                    let lifetime =
                        Duration::from_secs(body.expires_in.unwrap_or(1799).max(0) as u64);
                    let renew_at = later(
                        runtime.settings.clock.now(),
                        lifetime.saturating_sub(runtime.settings.renew_window.min(lifetime / 2)),
                    );
                    debug!(member = ?self.member_cid(), "minted a token");
                    return Ok(Token::new(value, renew_at));
                }
                Err(falcon_users_api::Error::UnexpectedResponse(resp))
                    if resp.status().is_redirection() =>
                {
                    let location =
                        header(resp.headers(), "location").and_then(|l| Url::parse(&l).ok());
                    let target = location.as_ref().and_then(|l| endpoint.resolve_redirect(l));
                    let refusal = match &target {
                        Some(cloud) => match endpoint.move_to(cloud) {
                            Ok(()) => continue,
                            Err(why) => why.to_owned(),
                        },
                        None if endpoint.custom => {
                            "a custom base URL is never changed; set the right cloud".to_owned()
                        }
                        None => format!(
                            "{} is not a Falcon cloud, and the credentials are never sent to it",
                            location
                                .as_ref()
                                .and_then(Url::host_str)
                                .unwrap_or("the redirect target")
                        ),
                    };
                    return Err(Error::Auth {
                        problem: AuthProblem::BadCredentials,
                        status: Some(resp.status().as_u16()),
                        message: format!(
                            "the token endpoint redirected (HTTP {}) but the client cannot follow: {refusal}",
                            resp.status().as_u16()
                        ),
                        trace_id: header(resp.headers(), "x-cs-traceid"),
                    });
                }
                Err(e) => {
                    return Err(self.explain(from_api(&operations::OAUTH2_ACCESS_TOKEN, e).await));
                }
            }
        }
        Err(Error::Auth {
            problem: AuthProblem::BadCredentials,
            status: None,
            message: "the token endpoint kept pointing to another region; set the cloud explicitly"
                .into(),
            trace_id: None,
        })
    }

    /// The named region's base URL when the token came from another region than the one in use.
    fn other_region(&self, region: &str) -> Option<Cloud> {
        let cloud: Cloud = region.parse().ok()?;
        let endpoint = &self.runtime.settings.endpoint;
        let target = endpoint.url_for(&cloud);
        (origin(target) != origin(endpoint.url())).then_some(cloud)
    }

    /// Token failures rephrased as what the user should check.
    fn explain(&self, err: Error) -> Error {
        let (status, trace_id) = (err.status(), err.trace_id().map(str::to_owned));
        let endpoint = &self.runtime.settings.endpoint;
        let gov_hint = if endpoint.gov || endpoint.custom {
            ""
        } else {
            "; if the tenant is in a government cloud (us-gov-1, us-gov-2), set the cloud explicitly (FALCON_CLOUD): gov clouds cannot be autodiscovered"
        };
        let (problem, message) = match status {
            Some(400) => (
                AuthProblem::BadRequest,
                format!(
                    "the token request was refused (HTTP 400){}; check the member CID",
                    self.member_cid()
                        .map(|c| format!(" for member CID {c}"))
                        .unwrap_or_default()
                ),
            ),
            Some(401) => (
                AuthProblem::BadCredentials,
                format!(
                    "the client id or secret was not accepted (HTTP 401); check FALCON_CLIENT_ID / FALCON_CLIENT_SECRET{gov_hint}"
                ),
            ),
            Some(403) => (
                AuthProblem::Forbidden,
                format!(
                    // The service answers wrong credentials with 403 too ("Failed to issue
                    // access token"), so the advice names them first.
                    "the token was not issued (HTTP 403): check FALCON_CLIENT_ID / FALCON_CLIENT_SECRET, then the IP allow list of the API client, its scopes (user-management:read/write) and the member CID{gov_hint}"
                ),
            ),
            _ => return err,
        };
        Error::Auth {
            problem,
            status,
            message,
            trace_id,
        }
    }
}

impl BearerSource for Minter {
    fn bearer(&self, within: Duration) -> BoxFuture<'_, Result<HeaderValue>> {
        Box::pin(async move { self.token(within).await.map(|t| t.header) })
    }

    fn cached(&self) -> Option<HeaderValue> {
        self.cache.fresh_header(self.runtime.settings.clock.now())
    }

    fn refused(&self, sent: &str) {
        self.cache.invalidate(sent);
    }
}

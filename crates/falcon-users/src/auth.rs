//! OAuth2 client credentials: one cached token per (client, member CID), refreshed before it
//! expires, minted by exactly one caller while the others wait, and region autodiscovery.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use falcon_users_api::types::{Oauth2AccessTokenBody, Oauth2RevokeTokenBody};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};
use tracing::{debug, info, warn};
use url::Url;

use crate::cid::Cid;
use crate::cloud::Cloud;
use crate::error::{AuthProblem, Error, header};
use crate::session::Session;

/// An API client's id and secret. The secret is never printed.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
}

impl Credentials {
    /// Wraps a client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// The client id (not secret).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A bearer token and when it stops being used.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: SecretString,
    /// Renewal point: `expires_in` minus the renew window.
    pub(crate) renew_at: SystemTime,
}

/// The API base URL in force, shared by every handle of one `Falcon` (and its members).
#[derive(Debug)]
pub(crate) struct Endpoint {
    url: std::sync::RwLock<Url>,
    /// Hosts to use instead of a named cloud's own (gateways, tests); autodiscovery follows them.
    overrides: HashMap<Cloud, Url>,
    /// A custom URL or a cloud the user named: autodiscovery may still move a named cloud once,
    /// but never a custom URL.
    pub(crate) custom: bool,
    pub(crate) gov: bool,
    moved: AtomicBool,
}

impl Endpoint {
    pub(crate) fn new(cloud: &Cloud, overrides: HashMap<Cloud, Url>) -> Self {
        let url = overrides
            .get(cloud)
            .cloned()
            .unwrap_or_else(|| cloud.base_url());
        Self {
            url: std::sync::RwLock::new(url),
            overrides,
            custom: matches!(cloud, Cloud::Custom(_)),
            gov: cloud.is_gov(),
            moved: AtomicBool::new(false),
        }
    }

    /// Where a named cloud is reached: its override, else its own host.
    pub(crate) fn url_for(&self, cloud: &Cloud) -> Url {
        self.overrides
            .get(cloud)
            .cloned()
            .unwrap_or_else(|| cloud.base_url())
    }

    /// The named cloud a redirect points to (its own host or a configured override). Any other
    /// host is not followed: the credentials would be posted there.
    fn resolve_redirect(&self, location: &Url) -> Option<Cloud> {
        Cloud::from_host(location).or_else(|| {
            self.overrides
                .iter()
                .find(|(_, u)| origin((*u).clone()) == origin(location.clone()))
                .map(|(c, _)| c.clone())
        })
    }

    pub(crate) fn url(&self) -> Url {
        self.url.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switches to `cloud`'s host, once per client. Never from a custom URL, and never across
    /// the commercial/government boundary (gov clouds are not autodiscoverable, nor left).
    fn move_to(&self, cloud: &Cloud) -> Result<(), &'static str> {
        if self.custom {
            return Err("a custom base URL is never changed; set the right cloud");
        }
        if self.gov != cloud.is_gov() {
            return Err(
                "government clouds are never autodiscovered (nor left); set the cloud explicitly",
            );
        }
        if self.moved.swap(true, Ordering::SeqCst) {
            return Err("it already switched region once");
        }
        let to = self.url_for(cloud);
        let mut url = self.url.write().unwrap_or_else(|p| p.into_inner());
        info!(from = %*url, to = %to, "Falcon cloud autodiscovered; switching API host");
        *url = to;
        Ok(())
    }
}

/// Mints and caches the token of one (client, member CID).
pub(crate) struct TokenProvider {
    member_cid: Option<Cid>,
    state: RwLock<Option<Token>>,
    /// Held by the one caller that mints; the others wait here and then reuse its token.
    minting: Mutex<()>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("member_cid", &self.member_cid)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl TokenProvider {
    pub(crate) fn new(member_cid: Option<Cid>) -> Self {
        Self {
            member_cid,
            state: RwLock::new(None),
            minting: Mutex::new(()),
        }
    }

    /// A token valid for at least the renew window, minting one if needed.
    pub(crate) async fn token(&self, session: &Arc<Session>) -> Result<Token, Error> {
        if let Some(t) = self.fresh(session).await {
            return Ok(t);
        }
        let _turn = self.minting.lock().await;
        // Someone else may have minted while we waited for our turn.
        if let Some(t) = self.fresh(session).await {
            return Ok(t);
        }
        let token = self.mint(session).await?;
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

    /// Revokes the cached token (if any) and forgets it.
    pub(crate) async fn revoke(&self, session: &Arc<Session>) -> Result<(), Error> {
        let Some(token) = self.state.write().await.take() else {
            return Ok(());
        };
        let body = Oauth2RevokeTokenBody {
            client_id: Some(session.credentials.client_id.clone()),
            token: token.value.expose_secret().to_owned(),
        };
        match session
            .raw_client()
            .oauth2_revoke_token()
            .body(body)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::from_api("oauth2RevokeToken", e).await),
        }
    }

    async fn fresh(&self, session: &Arc<Session>) -> Option<Token> {
        let now = session.clock.now();
        self.state
            .read()
            .await
            .as_ref()
            .filter(|t| t.renew_at > now)
            .cloned()
    }

    /// Asks the token endpoint; follows one region change (308 or `X-Cs-Region`).
    async fn mint(&self, session: &Arc<Session>) -> Result<Token, Error> {
        for _ in 0..2 {
            session.stats.token_requests.fetch_add(1, Ordering::Relaxed);
            let body = Oauth2AccessTokenBody {
                client_id: session.credentials.client_id.clone(),
                client_secret: session.credentials.client_secret.expose_secret().to_owned(),
                member_cid: self.member_cid.as_ref().map(|c| c.to_string()),
            };
            let sent = session
                .raw_client()
                .oauth2_access_token()
                .body(body)
                .send()
                .await;
            match sent {
                Ok(rv) => {
                    let region = header(rv.headers(), "x-cs-region");
                    let elsewhere = region
                        .as_deref()
                        .and_then(|r| self.other_region(session, r));
                    if let Some(cloud) = elsewhere {
                        match session.endpoint.move_to(&cloud) {
                            Ok(()) => continue,
                            // The token works where it was minted; stay there.
                            Err(why) => warn!(region = %cloud, why, "not following X-Cs-Region"),
                        }
                    }
                    let body = rv.into_inner();
                    let value = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
                        Error::Decode {
                            operation: "oauth2AccessToken",
                            message: "the token response has no access_token".into(),
                        }
                    })?;
                    let lifetime =
                        Duration::from_secs(body.expires_in.unwrap_or(1799).max(0) as u64);
                    let renew_at = session.clock.now()
                        + lifetime.saturating_sub(session.renew_window.min(lifetime / 2));
                    debug!(member = ?self.member_cid, "minted a token");
                    return Ok(Token {
                        value: SecretString::from(value),
                        renew_at,
                    });
                }
                Err(falcon_users_api::Error::UnexpectedResponse(resp))
                    if resp.status().is_redirection() =>
                {
                    let location =
                        header(resp.headers(), "location").and_then(|l| Url::parse(&l).ok());
                    let target = location
                        .as_ref()
                        .and_then(|l| session.endpoint.resolve_redirect(l));
                    let refusal = match &target {
                        Some(cloud) => match session.endpoint.move_to(cloud) {
                            Ok(()) => continue,
                            Err(why) => why.to_owned(),
                        },
                        None if session.endpoint.custom => {
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
                    return Err(
                        self.explain(session, Error::from_api("oauth2AccessToken", e).await)
                    );
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
    fn other_region(&self, session: &Arc<Session>, region: &str) -> Option<Cloud> {
        let cloud: Cloud = region.parse().ok()?;
        let target = session.endpoint.url_for(&cloud);
        (origin(target) != origin(session.endpoint.url())).then_some(cloud)
    }

    /// Token failures rephrased as what the user should check.
    fn explain(&self, session: &Arc<Session>, err: Error) -> Error {
        let (status, trace_id) = (err.status(), err.trace_id().map(str::to_owned));
        let gov_hint = if session.endpoint.gov || session.endpoint.custom {
            ""
        } else {
            "; if the tenant is in a government cloud (us-gov-1, us-gov-2), set the cloud explicitly (FALCON_CLOUD): gov clouds cannot be autodiscovered"
        };
        let (problem, message) = match status {
            Some(400) => (
                AuthProblem::BadRequest,
                format!(
                    "the token request was refused (HTTP 400){}; check the member CID",
                    self.member_cid
                        .as_ref()
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
                    "the API client may not get a token here (HTTP 403): check the IP allow list of the API client, its scopes (user-management:read/write) and the member CID{gov_hint}"
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

/// Scheme, host and port of a URL, without path or query.
pub(crate) fn origin(mut url: Url) -> Url {
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    url
}

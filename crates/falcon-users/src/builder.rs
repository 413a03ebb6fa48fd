//! [`FalconBuilder`]: settings checked once, turned into the shared runtime and a first handle.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::client::Falcon;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::model::cloud::{Cloud, refuse_userinfo};
use crate::model::credentials::Credentials;
use crate::model::ids::BatchLimits;
use crate::runtime::body::DEFAULT_MAX_RESPONSE_BYTES;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::retry::RetryPolicy;
use crate::runtime::shared::{Runtime, Settings};
use crate::runtime::transport::{Transport, TransportSettings};

impl Falcon {
    /// Starts configuring a client.
    pub fn builder() -> FalconBuilder {
        FalconBuilder::default()
    }

    /// A client from `FALCON_CLIENT_ID`, `FALCON_CLIENT_SECRET`, and optionally `FALCON_CLOUD`
    /// (default us-1, autodiscovered) and `FALCON_MEMBER_CID`.
    pub fn from_env() -> Result<Falcon> {
        FalconBuilder::from_env()?.build()
    }
}

/// Settings for a [`Falcon`] client. Every setting has a sensible default but the credentials.
#[derive(Default)]
pub struct FalconBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    cloud: Option<Cloud>,
    cloud_text: Option<String>,
    member_cid: Option<String>,
    user_agent: Option<String>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    deadline: Option<Duration>,
    proxy: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    retry: Option<RetryPolicy>,
    max_concurrency: Option<usize>,
    max_in_flight: Option<usize>,
    renew_window: Option<Duration>,
    max_response_bytes: Option<u64>,
    batch: Option<BatchLimits>,
    clock: Option<Arc<dyn Clock>>,
    allow_plain_http: bool,
    overrides: HashMap<Cloud, Url>,
    endpoint_name: Option<String>,
}

impl fmt::Debug for FalconBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FalconBuilder")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("cloud", &self.cloud)
            .field("member_cid", &self.member_cid)
            .finish_non_exhaustive()
    }
}

impl FalconBuilder {
    /// A builder seeded from `FALCON_CLIENT_ID`, `FALCON_CLIENT_SECRET`, `FALCON_CLOUD` and
    /// `FALCON_MEMBER_CID`; later calls override them.
    pub fn from_env() -> Result<FalconBuilder> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(FalconBuilder {
            client_id: var("FALCON_CLIENT_ID"),
            client_secret: var("FALCON_CLIENT_SECRET"),
            cloud_text: var("FALCON_CLOUD"),
            member_cid: var("FALCON_MEMBER_CID"),
            ..FalconBuilder::default()
        })
    }

    /// The API client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The API client secret (kept in a redacting type; never logged).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Both credentials at once.
    pub fn credentials(self, credentials: &Credentials) -> Self {
        use secrecy::ExposeSecret;
        self.client_id(credentials.client_id.clone())
            .client_secret(credentials.client_secret.expose_secret())
    }

    /// The cloud (default us-1; commercial clouds are then autodiscovered from the token
    /// response). A [`Cloud::Custom`] URL is used as is.
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self.cloud_text = None;
        self
    }

    /// The cloud as users type it (`us-2`, `EU1`, `gov1`, `https://...`); checked by `build`.
    pub fn cloud_name(mut self, cloud: impl Into<String>) -> Self {
        self.cloud_text = Some(cloud.into());
        self.cloud = None;
        self
    }

    /// Flight Control: mint tokens for this member CID (`-XX` suffix and upper case accepted).
    pub fn member_cid(mut self, cid: impl Into<String>) -> Self {
        self.member_cid = Some(cid.into());
        self
    }

    /// The `User-Agent` header (default `falcon-users/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Timeout of one attempt, body included (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Overall deadline of one call, retries and rate-limit waits included (default 3 min).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// An explicit proxy for https requests, instead of the system's (`HTTPS_PROXY` or
    /// `ALL_PROXY`, either case, with `NO_PROXY`). A plain-http endpoint (the simulator, a
    /// loopback URL) is never reached through a proxy, this one included: the credentials
    /// would cross it in clear.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts an extra root CA (PEM), e.g. a TLS-inspecting corporate proxy's.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// How failed requests are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Most requests in flight at once per CID, across all clones (default 16): the handle's
    /// own CID and each Flight Control member CID (see [`Falcon::for_member`]) have a limit of
    /// their own, as each has its own rate budget at the service, so a job over 20 children
    /// runs them in parallel instead of queueing them behind one limit. Bound how many CIDs are
    /// worked at once where they are started (the `children` of [`Falcon::fleet_inventory`],
    /// the `concurrency` of [`Falcon::for_each_cid`]).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Most requests in flight at once across every CID the handle and its member handles act
    /// in (default: no limit beyond each CID's [`max_concurrency`](Self::max_concurrency)). For
    /// a fleet worked many children at once, this bounds the connections and the memory in
    /// flight without giving up the per-CID budgets: the children share the `n` slots.
    ///
    /// ```
    /// let falcon = falcon_users::Falcon::builder()
    ///     .client_id("id")
    ///     .client_secret("secret")
    ///     .max_concurrency(8)
    ///     .max_in_flight(32)
    ///     .build()?;
    /// # Ok::<(), falcon_users::Error>(())
    /// ```
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// How long before expiry a token is renewed (default 2 minutes).
    pub fn token_renew_window(mut self, window: Duration) -> Self {
        self.renew_window = Some(window);
        self
    }

    /// The most bytes one response body may have (default 32 MiB, far above any legitimate
    /// answer). A larger answer fails with [`Error::BodyTooLarge`] naming the operation, read
    /// no further than the limit, so a broken or hostile server cannot exhaust memory. The token
    /// endpoint's answers are held to it too.
    ///
    /// ```
    /// let builder = falcon_users::FalconBuilder::default().max_response_bytes(4 * 1024 * 1024);
    /// # drop(builder);
    /// ```
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }

    /// Ids per request and batches in flight for id-list operations.
    pub fn batch_limits(mut self, limits: BatchLimits) -> Self {
        self.batch = Some(limits);
        self
    }

    /// The clock used for token expiry and waits (tests use [`crate::clock::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Allows a plain `http://` custom URL to a non-loopback host. Credentials and tokens then
    /// cross the network unencrypted: only for a trusted proxy on a private link.
    pub fn danger_allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Reaches a named cloud through another base URL (an API gateway, or a test server).
    /// Autodiscovery that lands on that cloud uses the override too.
    pub fn endpoint_override(mut self, cloud: Cloud, url: Url) -> Self {
        self.overrides.insert(cloud, url);
        self
    }

    /// Names a custom endpoint whose URL changes from run to run (a simulator started on a free
    /// port): a saved plan records this name as its cloud instead of the URL, so that it can be
    /// applied in a later run ([`Origin`](crate::workflows::roster::Origin)).
    pub fn endpoint_name(mut self, name: impl Into<String>) -> Self {
        self.endpoint_name = Some(name.into());
        self
    }

    /// Checks the settings and builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Falcon> {
        let client_id = self
            .client_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::invalid("client_id", "missing; set it or FALCON_CLIENT_ID"))?;
        let client_secret = self
            .client_secret
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid("client_secret", "missing; set it or FALCON_CLIENT_SECRET")
            })?;
        let cloud = match (self.cloud, self.cloud_text) {
            (Some(cloud), _) => cloud,
            (None, Some(text)) => text.parse()?,
            (None, None) => Cloud::Us1,
        };
        for url in std::iter::once(&cloud.base_url()).chain(self.overrides.values()) {
            check_scheme(url, self.allow_plain_http)?;
            refuse_userinfo(url)?;
        }
        let all_https = cloud.base_url().scheme() == "https"
            && self.overrides.values().all(|u| u.scheme() == "https");
        let endpoint = Endpoint::new(&cloud, self.overrides, self.endpoint_name);
        let member = self
            .member_cid
            .as_deref()
            .map(str::parse::<Cid>)
            .transpose()?;
        let max_concurrency = self.max_concurrency.unwrap_or(16);
        if max_concurrency == 0 {
            return Err(Error::invalid("max_concurrency", "must be at least 1"));
        }
        if self.max_in_flight == Some(0) {
            return Err(Error::invalid("max_in_flight", "must be at least 1"));
        }
        let retry = self.retry.unwrap_or_default();
        if retry.max_attempts == 0 {
            return Err(Error::invalid(
                "retry_policy.max_attempts",
                "must be at least 1",
            ));
        }
        let batch = self.batch.unwrap_or_default();
        if batch.body_ids == 0 || batch.query_ids == 0 || batch.concurrency == 0 {
            return Err(Error::invalid(
                "batch_limits",
                "every limit must be at least 1",
            ));
        }

        let transport = Transport::new(TransportSettings {
            user_agent: self
                .user_agent
                .unwrap_or_else(|| format!("falcon-users/{}", env!("CARGO_PKG_VERSION"))),
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(30)),
            idle_per_host: max_concurrency,
            proxy: self.proxy,
            root_certificates: self.root_certificates,
            plain_http: !all_https,
        })?;

        let runtime = Arc::new(Runtime::new(Settings {
            transport,
            endpoint,
            credentials: Credentials::new(client_id, client_secret),
            retry,
            max_concurrency,
            max_in_flight: self.max_in_flight,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            renew_window: self.renew_window.unwrap_or(Duration::from_secs(120)),
            deadline: self.deadline.unwrap_or(Duration::from_secs(180)),
            max_response_bytes: self
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            batch,
        }));
        Ok(Falcon::new(runtime, member))
    }
}

/// Plain HTTP is for the simulator on loopback, or an explicit, loudly named opt-in.
fn check_scheme(url: &Url, allow_plain_http: bool) -> Result<()> {
    if url.scheme() == "https" || allow_plain_http {
        return Ok(());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(Error::invalid(
            "cloud",
            format!(
                "{url} uses plain http to a non-loopback host; use https, or opt in with danger_allow_plain_http(true)"
            ),
        ))
    }
}

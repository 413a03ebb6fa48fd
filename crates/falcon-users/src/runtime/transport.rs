//! The HTTP clients requests leave on: credentials never reach a proxy in clear.
//!
//! reqwest honours `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) by
//! default, and sends a plain-http request to an HTTP proxy as it is: the token request's
//! `client_id` and `client_secret`, and every bearer token after it, in clear. So requests to a
//! plain-http endpoint (the simulator, a loopback gateway) go on a client that never uses a
//! proxy, whatever the environment says; https requests keep the system proxy (a `CONNECT`
//! tunnel: TLS runs end to end through it), the builder's explicit one, and `NO_PROXY`. The
//! choice is made per request, by its URL, where every request is sent
//! ([`crate::runtime::pipeline`]), so no endpoint can be reached around it.

use std::time::Duration;

use reqwest::{Client, ClientBuilder, Proxy};
use url::Url;

use crate::error::{Error, Result};

/// What the clients are built from (the builder checked it).
pub(crate) struct TransportSettings {
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    /// How long one attempt may take, body included (the clients' own timeout).
    pub(crate) request_timeout: Duration,
    pub(crate) idle_per_host: usize,
    /// An explicit proxy for https requests, instead of the system's.
    pub(crate) proxy: Option<String>,
    /// Extra root CAs (PEM).
    pub(crate) root_certificates: Vec<Vec<u8>>,
    /// Some endpoint (the cloud's or an override) is plain http.
    pub(crate) plain_http: bool,
}

/// The client for https, and the one for plain http when an endpoint uses it.
pub(crate) struct Transport {
    /// https only: the system proxy or the explicit one, `NO_PROXY` applied.
    tls: Client,
    /// Plain http: never through a proxy.
    direct: Option<Client>,
    /// The clients' timeout for one attempt.
    request_timeout: Duration,
}

impl Transport {
    pub(crate) fn new(settings: TransportSettings) -> Result<Self> {
        install_crypto_provider();
        let common = || {
            Client::builder()
                // The token endpoint's 308 is autodiscovery, handled by us; never follow blindly.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(settings.user_agent.clone())
                .connect_timeout(settings.connect_timeout)
                // The clients' own, not each request's: a timeout set on a request is an
                // allocation (and another in its retry copy) on every call. The pipeline sets
                // one on a request only when the call's deadline comes sooner.
                .timeout(settings.request_timeout)
                .pool_max_idle_per_host(settings.idle_per_host)
        };
        // Refuses plain http itself: were a request ever routed here by mistake, it would fail
        // rather than go to a proxy in clear.
        let mut tls = common().https_only(true);
        if let Some(proxy) = &settings.proxy {
            let proxy =
                Proxy::all(proxy).map_err(|e| Error::Config(format!("bad proxy URL: {e}")))?;
            tls = tls.proxy(proxy);
        }
        for pem in &settings.root_certificates {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("bad root certificate: {e}")))?;
            tls = tls.add_root_certificate(cert);
        }
        let direct = settings
            .plain_http
            .then(|| build(common().no_proxy()))
            .transpose()?;
        Ok(Self {
            tls: build(tls)?,
            direct,
            request_timeout: settings.request_timeout,
        })
    }

    /// How long one attempt may take unless the call's deadline comes sooner.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The client a request to `url` goes out on.
    pub(crate) fn for_url(&self, url: &Url) -> &Client {
        match &self.direct {
            Some(direct) if url.scheme() == "http" => direct,
            _ => &self.tls,
        }
    }

    /// The client the generated API client builds its requests with (sending goes through
    /// [`Transport::for_url`]).
    pub(crate) fn builder_client(&self) -> Client {
        self.tls.clone()
    }
}

/// TLS uses rustls with the `ring` provider: it builds in a fraction of the time of aws-lc,
/// which dominated a consumer's clean build. A provider the application installed first wins.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one meanwhile: that one is used, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn build(builder: ClientBuilder) -> Result<Client> {
    builder
        .build()
        .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(plain_http: bool) -> Transport {
        Transport::new(TransportSettings {
            user_agent: "test".into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            idle_per_host: 1,
            proxy: Some("http://127.0.0.1:9".into()),
            root_certificates: Vec::new(),
            plain_http,
        })
        .expect("a transport")
    }

    /// Plain http goes on the client that has no proxy; https on the other, whatever the URL.
    #[test]
    fn plain_http_never_goes_on_the_proxied_client() {
        let both = transport(true);
        let direct = both.direct.as_ref().expect("a direct client");
        for (url, proxied) in [
            ("http://127.0.0.1:8080/oauth2/token", false),
            ("http://localhost/x", false),
            ("https://api.crowdstrike.com/oauth2/token", true),
            ("https://127.0.0.1:8443/", true),
        ] {
            let chosen = both.for_url(&Url::parse(url).unwrap());
            let on_tls = std::ptr::eq(chosen, &both.tls);
            let on_direct = std::ptr::eq(chosen, direct);
            assert_eq!((on_tls, on_direct), (proxied, !proxied), "{url}");
        }
        assert!(transport(false).direct.is_none(), "https only: one client");
    }
}

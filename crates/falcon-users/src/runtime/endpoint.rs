//! The API base URL in force, and the one move autodiscovery may make to another region.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::info;
use url::Url;

use crate::model::cloud::Cloud;

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
    /// What a custom endpoint is called where its URL changes from run to run (a simulator on a
    /// fresh port): how saved plans name the cloud.
    name: Option<String>,
}

impl Endpoint {
    pub(crate) fn new(cloud: &Cloud, overrides: HashMap<Cloud, Url>, name: Option<String>) -> Self {
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
            name,
        }
    }

    /// The cloud in force, as a saved plan names it: the endpoint's name when it was given one,
    /// else the region of the host in force (after any autodiscovery), else the URL.
    pub(crate) fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let url = self.url();
        match self.resolve_redirect(&url).and_then(|c| c.region()) {
            Some(region) => region.to_owned(),
            None => url.to_string(),
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
    pub(crate) fn resolve_redirect(&self, location: &Url) -> Option<Cloud> {
        Cloud::from_host(location).or_else(|| {
            self.overrides
                .iter()
                .find(|(_, u)| origin((*u).clone()) == origin(location.clone()))
                .map(|(c, _)| c.clone())
        })
    }

    /// The base URL every request goes to now.
    pub(crate) fn url(&self) -> Url {
        self.url.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Points `url` at the host in force now (autodiscovery may have moved the tenant after
    /// the request was built). Compared in place: this runs on every request.
    pub(crate) fn retarget(&self, url: &mut Url) {
        // Every request is built on the URL in force; until a move it is the first one still.
        if !self.moved.load(Ordering::SeqCst) {
            return;
        }
        let base = self.url.read().unwrap_or_else(|p| p.into_inner());
        if url.host_str() != base.host_str()
            || url.port() != base.port()
            || url.scheme() != base.scheme()
        {
            let _ = url.set_scheme(base.scheme());
            let _ = url.set_host(base.host_str());
            let _ = url.set_port(base.port());
        }
    }

    /// Switches to `cloud`'s host, once per client. Never from a custom URL, and never across
    /// the commercial/government boundary (gov clouds are not autodiscoverable, nor left).
    pub(crate) fn move_to(&self, cloud: &Cloud) -> Result<(), &'static str> {
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

/// Scheme, host and port of a URL, without path or query.
pub(crate) fn origin(mut url: Url) -> Url {
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    url
}

//! Starting and stopping a simulator, and the state its handlers share.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use tokio::sync::oneshot;

use crate::auth::{ApiClient, Auth, ClientCredentials, READ, WRITE};
use crate::config::SimConfig;
use crate::faults::InjectedFaults;
use crate::state::State;
use crate::{faults, routes, seed};

/// What handlers share.
pub struct Shared {
    /// The configuration it started with.
    pub config: SimConfig,
    /// Tenants.
    pub state: RwLock<State>,
    /// Clients, tokens, rate limits.
    pub auth: Auth,
    /// Requests answered, by operationId.
    pub counts: Mutex<BTreeMap<&'static str, u64>>,
    /// Seeded randomness of the faults.
    pub fault_rng: Mutex<fastrand::Rng>,
    /// Faults injected so far.
    pub injected: Mutex<InjectedFaults>,
    /// Failures scripted by tests: operationId → (status, how many more times).
    pub scripted: Mutex<BTreeMap<String, (u16, u32)>>,
}

impl Shared {
    /// Reads the state (a poisoned lock is recovered: the data stays consistent per write).
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the state.
    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The status to fail this request of `operation` with, if a test scripted one.
    pub fn scripted_failure(&self, operation: &str) -> Option<u16> {
        let mut scripted = self.scripted.lock().unwrap_or_else(|p| p.into_inner());
        let (status, left) = scripted.get_mut(operation)?;
        let status = *status;
        *left -= 1;
        if *left == 0 {
            scripted.remove(operation);
        }
        Some(status)
    }

    /// Counts one request of `operation`.
    pub fn count(&self, operation: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_default() += 1;
    }
}

/// A running simulator on 127.0.0.1. Dropping it stops the server.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use falcon_users_sim::{SimConfig, Simulator};
/// let sim = Simulator::start(SimConfig { users: 50, ..SimConfig::default() }).await?;
/// println!("{} {}", sim.base_url(), sim.credentials().client_id);
/// # Ok(()) }
/// ```
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl Simulator {
    /// Seeds the tenant, binds 127.0.0.1 (`config.port`, 0 for any) and serves in the background.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let state = seed::tenant(&config);
        let mut auth = Auth::new(
            &config.region,
            config.token_ttl,
            config.rate_limit_per_minute,
            config.seed,
        );
        if let Some(burst) = config.rate_limit_burst {
            auth = auth.with_burst(burst);
        }
        for (id, secret, scopes, cid) in [
            (
                "sim-rw-client",
                "sim-rw-secret",
                vec![READ, WRITE],
                state.parent_cid.clone(),
            ),
            (
                "sim-ro-client",
                "sim-ro-secret",
                vec![READ],
                state.parent_cid.clone(),
            ),
        ] {
            auth.clients.insert(
                id.into(),
                ApiClient {
                    secret: secret.into(),
                    scopes,
                    cid,
                },
            );
        }
        let shared = Arc::new(Shared {
            fault_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0xFA17)),
            config: config.clone(),
            state: RwLock::new(state),
            auth,
            counts: Mutex::new(BTreeMap::new()),
            injected: Mutex::default(),
            scripted: Mutex::new(BTreeMap::new()),
        });
        let app: Router = routes::router(shared.clone()).layer(
            axum::middleware::from_fn_with_state(shared.clone(), faults::inject),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator stopped");
            }
        });
        Ok(Simulator {
            addr,
            shared,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client with read and write scopes in the parent CID.
    pub fn credentials(&self) -> ClientCredentials {
        ClientCredentials {
            client_id: "sim-rw-client".into(),
            client_secret: "sim-rw-secret".into(),
        }
    }

    /// A client with the read scope only.
    pub fn read_only_credentials(&self) -> ClientCredentials {
        ClientCredentials {
            client_id: "sim-ro-client".into(),
            client_secret: "sim-ro-secret".into(),
        }
    }

    /// The Flight Control parent CID (the credentials' home).
    pub fn parent_cid(&self) -> String {
        self.shared.read().parent_cid.clone()
    }

    /// The child CIDs, in creation order.
    pub fn child_cids(&self) -> Vec<String> {
        self.shared.read().child_cids.clone()
    }

    /// Inspects the state (for tests): `sim.inspect(|s| s.tenants[&cid].users.len())`.
    pub fn inspect<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.read())
    }

    /// Requests answered per operationId.
    pub fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Faults injected so far, by kind.
    pub fn faults_injected(&self) -> InjectedFaults {
        *self
            .shared
            .injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next `times` requests of `operation` (an upstream operationId such as
    /// `userRolesActionV1`) fail with `status` before doing anything, to test failure paths.
    pub fn fail_next(&self, operation: &str, status: u16, times: u32) {
        if times > 0 {
            let mut scripted = self
                .shared
                .scripted
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            scripted.insert(operation.to_owned(), (status, times));
        }
    }

    /// Expires every token now (clients must mint again).
    pub fn expire_tokens(&self) {
        self.shared.auth.expire_all();
    }
}

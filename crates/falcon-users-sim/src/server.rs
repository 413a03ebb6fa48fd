//! Starting and stopping a simulator, and what tests ask of a running one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use falcon_users_api::{Operation, operations};
use tokio::sync::oneshot;

use crate::clients::{ApiClient, ClientCredentials, Clients, READ, WRITE};
use crate::config::SimConfig;
use crate::router::router;
use crate::seed;
use crate::shared::{InjectedFaults, Shared, lock};
use crate::state::State;

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
    /// Refuses to start, naming them, if operations of the table have no handler.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let state = seed::tenant(&config);
        let mut clients = Clients::new(
            &config.region,
            config.token_ttl,
            config.rate_limit_per_minute,
            config.seed,
        );
        if let Some(burst) = config.rate_limit_burst {
            clients = clients.with_burst(burst);
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
            clients.clients.insert(
                id.into(),
                ApiClient {
                    secret: secret.into(),
                    scopes,
                    cid,
                },
            );
        }
        let shared = Arc::new(Shared::new(config.clone(), state, clients));
        let app = router(shared.clone()).map_err(std::io::Error::other)?;
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

    /// Requests answered per upstream operationId (`"createUserV1"`); operations never asked
    /// are absent.
    pub fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        self.shared.counts()
    }

    /// Requests of `operation` answered so far:
    /// `sim.request_count(&operations::CREATE_USER_V1)`.
    pub fn request_count(&self, operation: &Operation) -> u64 {
        self.shared
            .counts()
            .get(operation.id)
            .copied()
            .unwrap_or_default()
    }

    /// Faults injected so far, by kind.
    pub fn faults_injected(&self) -> InjectedFaults {
        *lock(&self.shared.injected)
    }

    /// Makes the next `times` requests of `operation` fail with `status` before the handler does
    /// anything (after the token and scope checks), to test failure paths:
    /// `sim.fail_next(&operations::USER_ROLES_ACTION_V1, 400, 1)`. `times` 0 cancels.
    ///
    /// # Panics
    ///
    /// If `operation` is not an entry of [`operations::ALL`] (a hand-made `Operation`): a
    /// failure scripted for it would never fire.
    pub fn fail_next(&self, operation: &Operation, status: u16, times: u32) {
        let known = operations::by_id(operation.id).filter(|op| *op == operation);
        let Some(op) = known else {
            panic!("fail_next: {operation} is not an operation of the table");
        };
        self.shared.script_failure(op, status, times);
    }

    /// Expires every token now (clients must mint again).
    pub fn expire_tokens(&self) {
        self.shared.clients.expire_all();
    }
}

//! Starting and stopping a simulator, serving its connections within the limits, and what
//! tests ask of a running one.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::connect_info::ConnectInfo;
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

use axum::Router;
use falcon_users_api::{Operation, operations};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use url::Url;

use crate::clients::{ApiClient, ClientCredentials, Clients, READ, every_scope};
use crate::clock::SimClock;
use crate::config::{Limits, SimConfig};
use crate::router::router;
use crate::seeder::Seeder;
use crate::shared::{InjectedFaults, Shared, lock};
use crate::state::{Grant, State, User};
use crate::tenant_gen;

/// The id of the full client shaped as the console issues them: 32 hex characters.
pub const SHAPED_CLIENT_ID: &str = "5151a0000000000000000000000000a1";
/// Its secret: 40 word characters.
pub const SHAPED_CLIENT_SECRET: &str = "SimulatorSecretShapedAsTheConsoleIssues0";

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
    base: Url,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl Simulator {
    /// Seeds the tenant, binds 127.0.0.1 (`config.port`, 0 for any) and serves in the background.
    /// Refuses to start (an `InvalidInput` error naming the setting) a config that
    /// [`SimConfig::validate`] refuses, and, naming them, if operations of the table have no
    /// handler.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        Self::start_with_clock(config, SimClock::default()).await
    }

    /// [`Simulator::start`] reading the time from `clock` (a clone the test keeps, or one
    /// shared by several simulators) instead of real time.
    pub async fn start_with_clock(
        config: SimConfig,
        clock: SimClock,
    ) -> std::io::Result<Simulator> {
        // Checked before seeding: a refused size is never generated.
        validate(&config)?;
        let state = tenant_gen::tenant(&config, clock.utc());
        Simulator::serve_state(config, state, clock).await
    }

    /// Serves `state` (one a [`Simulator::snapshot`] took, perhaps in another process) instead
    /// of a seeded tenant; `config.users`, `roles` and `child_cids` are then not used. Refuses
    /// what [`Simulator::start`] refuses, and a state that contradicts itself (an
    /// `InvalidInput` error listing its [`State::problems`]).
    pub async fn start_with_state(config: SimConfig, state: State) -> std::io::Result<Simulator> {
        let problems = state.problems();
        if !problems.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the state contradicts itself: {}", problems.join("; ")),
            ));
        }
        // The clock goes on from where the saving simulator's was, real time since included.
        let clock = SimClock::default();
        clock.advance(Duration::from_millis(state.clock_advanced_ms));
        Simulator::serve_state(config, state, clock).await
    }

    async fn serve_state(
        config: SimConfig,
        mut state: State,
        clock: SimClock,
    ) -> std::io::Result<Simulator> {
        validate(&config)?;
        state.rebuild_indexes();
        let mut clients = Clients::new(
            &config.region,
            config.token_ttl,
            config.rate_limit_per_minute,
            config.seed,
        )
        .with_max_live_tokens_per_client(config.limits.max_live_tokens_per_client)
        .with_clock(clock)
        .with_refused_per_minute(config.refused_per_minute);
        if let Some(burst) = config.rate_limit_burst {
            clients = clients.with_burst(burst);
        }
        for (id, secret, scopes, cid) in [
            (
                "sim-rw-client",
                "sim-rw-secret",
                every_scope(),
                state.parent_cid.clone(),
            ),
            (
                "sim-ro-client",
                "sim-ro-secret",
                vec![READ],
                state.parent_cid.clone(),
            ),
            (
                SHAPED_CLIENT_ID,
                SHAPED_CLIENT_SECRET,
                every_scope(),
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
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, config.limits.clone(), stopped));
        let base = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        Ok(Simulator {
            addr,
            base,
            shared,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:<port>/`, for `Cloud::Custom` and anything that joins paths to a URL.
    pub fn base_url(&self) -> Url {
        self.base.clone()
    }

    /// `http://127.0.0.1:<port>` without the trailing slash, for clients that append paths
    /// to a string (the generated `falcon_users_api::Client`, `FALCON_CLOUD=`).
    pub fn base_url_str(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A builder of the `falcon_users` client pointed at this simulator with its read-write
    /// credentials (plain HTTP is allowed on loopback); add options, then `build()`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use falcon_users_sim::{SimConfig, Simulator};
    /// let sim = Simulator::start(SimConfig { users: 3, ..SimConfig::default() }).await?;
    /// let falcon = sim.falcon_builder().build()?;
    /// # let _ = falcon;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "falcon")]
    pub fn falcon_builder(&self) -> falcon_users::FalconBuilder {
        self.falcon_builder_with(self.credentials())
    }

    /// [`Simulator::falcon_builder`] with other credentials (say [`Simulator::read_only_credentials`]).
    #[cfg(feature = "falcon")]
    pub fn falcon_builder_with(&self, creds: ClientCredentials) -> falcon_users::FalconBuilder {
        falcon_users::Falcon::builder()
            .client_id(creds.client_id)
            .client_secret(creds.client_secret)
            .cloud(falcon_users::Cloud::Custom(self.base_url()))
    }

    /// The simulator's clock: advance it to expire tokens and lapse temporary grants.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use falcon_users_sim::{SimConfig, Simulator};
    /// use std::time::Duration;
    /// let sim = Simulator::start(SimConfig { users: 0, ..SimConfig::default() }).await?;
    /// sim.clock().advance(Duration::from_secs(3600));
    /// assert_eq!(sim.clock().advanced(), Duration::from_secs(3600));
    /// # Ok(()) }
    /// ```
    pub fn clock(&self) -> &SimClock {
        self.shared.clock()
    }

    /// Seeds and changes users, grants and custom roles (see [`Seeder`]).
    pub fn seed(&self) -> Seeder<'_> {
        Seeder::new(&self.shared)
    }

    /// The user with login `uid` (any case), in whichever CID is their home.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use falcon_users_sim::{SimConfig, Simulator};
    /// let sim = Simulator::start(SimConfig { users: 0, ..SimConfig::default() }).await?;
    /// sim.seed().user("Ann@Example.com").first_name("Ann").create()?;
    /// assert_eq!(sim.user("ann@example.com").unwrap().first_name, "Ann");
    /// assert!(sim.user("nobody@example.com").is_none());
    /// # Ok(()) }
    /// ```
    pub fn user(&self, uid: &str) -> Option<User> {
        self.shared.truth().user_by_login(uid).cloned()
    }

    /// The grants the user with login `uid` holds in every CID (none for an unknown login),
    /// temporary ones that lapsed by the clock gone.
    pub fn grants(&self, uid: &str) -> Vec<Grant> {
        let state = self.shared.truth();
        state
            .user_by_login(uid)
            .map(|u| state.grants_of(&u.uuid))
            .unwrap_or_default()
    }

    /// The users homed in `cid`, by login (none for an unknown CID).
    pub fn users(&self, cid: &str) -> Vec<User> {
        let state = self.shared.truth();
        state
            .tenants
            .get(cid)
            .map(|t| {
                t.by_uid
                    .values()
                    .filter_map(|uuid| t.users.get(uuid).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A client in the parent CID with every scope an operation of the table needs (user
    /// management read and write, sensor download read).
    pub fn credentials(&self) -> ClientCredentials {
        ClientCredentials {
            client_id: "sim-rw-client".into(),
            client_secret: "sim-rw-secret".into(),
        }
    }

    /// The full client again, under credentials shaped as the console issues them (a 32-hex
    /// id, a 40-character secret): for tools that check the shape before sending anything
    /// (PSFalcon's `Request-FalconToken`).
    pub fn shaped_credentials(&self) -> ClientCredentials {
        ClientCredentials {
            client_id: SHAPED_CLIENT_ID.into(),
            client_secret: SHAPED_CLIENT_SECRET.into(),
        }
    }

    /// A client with the user-management read scope only (no write, no sensor download: its
    /// [`GetSensorInstallersCCIDByQuery`](falcon_users_api::operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY)
    /// is refused with 403).
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

    /// A copy of the whole state as it is now (to save it and start from it later with
    /// [`Simulator::start_with_state`]): the true state, with the writes reads do not see yet
    /// ([`State::pending`], with a [`SimConfig::read_lag`]) and how far the clock was advanced.
    pub fn snapshot(&self) -> State {
        self.shared.snapshot()
    }

    /// Inspects the true state (for tests): `sim.inspect(|s| s.tenants[&cid].users.len())`.
    /// With a [`SimConfig::read_lag`] it holds every write, seen by reads yet or not; the
    /// lookups above ([`Simulator::user`], [`Simulator::grants`], [`Simulator::users`]) do too.
    pub fn inspect<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.truth())
    }

    /// Inspects the state as reads of users and grants see it now: with a
    /// [`SimConfig::read_lag`], without the writes younger than the lag by the clock.
    pub fn inspect_visible<R>(&self, f: impl FnOnce(&State) -> R) -> R {
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

    /// Tokens the simulator holds: the live ones, and those expired since the last was minted
    /// (minting purges them; revoking drops one at once).
    pub fn tokens_held(&self) -> usize {
        self.shared.clients.held()
    }
}

fn validate(config: &SimConfig) -> std::io::Result<()> {
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// Serves connections until `stopped`: at most `limits.max_connections` at once (the next
/// waits to be accepted until one closes), each closed when a request head is not whole within
/// `limits.header_read_timeout` of the connection opening or of its previous answer.
async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Header names go out as the service writes them (`X-Cs-Region`, `X-Cs-Traceid`), not
        // lower case: FalconPy looks `X-Cs-Region` up case-sensitively for its autodiscovery.
        .title_case_headers(true);
    let graceful = GracefulShutdown::new();
    loop {
        let slot = tokio::select! {
            _ = &mut stopped => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin, then go on.
                    tracing::warn!(error = %e, "simulator: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // The source address, for the budget of requests that fail to authenticate.
        let app = Extension(ConnectInfo(peer)).layer(app.clone());
        let service = TowerToHyperService::new(app);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A connection's own failure (timeout, reset, bad request) ends that connection only.
            let _ = connection.await;
            drop(slot);
        });
    }
    // Refuse new connections at once; let those in flight finish their answers.
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saved state, read back in another simulator, is the same tenant, and its logins are
    /// found again (the login index is not in the file: it is rebuilt).
    #[tokio::test]
    async fn a_snapshot_saved_as_json_starts_the_same_tenant() {
        let config = SimConfig {
            users: 40,
            ..SimConfig::default()
        };
        let first = Simulator::start(config.clone()).await.expect("starts");
        let saved = serde_json::to_string(&first.snapshot()).expect("serializes");
        let loaded: State = serde_json::from_str(&saved).expect("deserializes");
        let second = Simulator::start_with_state(config, loaded)
            .await
            .expect("starts from the saved state");
        assert_eq!(second.snapshot(), first.snapshot());
        let cid = first.parent_cid();
        let (page, total) = second.inspect(|s| s.query_users(&cid, None, None, 0, 500));
        assert_eq!(total, 40);
        assert_eq!(
            page,
            first.inspect(|s| s.query_users(&cid, None, None, 0, 500)).0
        );
    }

    /// A state that contradicts itself is not served: the error lists its problems.
    #[tokio::test]
    async fn a_state_that_contradicts_itself_does_not_start() {
        let config = SimConfig {
            users: 5,
            ..SimConfig::default()
        };
        let mut state = Simulator::start(config.clone())
            .await
            .expect("starts")
            .snapshot();
        let child = state.child_cids[0].clone();
        state.tenants.remove(&child);
        let err = Simulator::start_with_state(config, state)
            .await
            .err()
            .expect("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains(&format!(
                "contradicts itself: child CID {child} has no tenant"
            )),
            "{err}"
        );
    }
}

//! Turning flags, environment and profile into a `Falcon` client, or into an embedded simulator.

use falcon_users::workflows::roster::ColumnMap;
use falcon_users::{Credentials, Falcon, FalconBuilder};
#[cfg(feature = "simulator")]
use falcon_users_sim::{SimConfig, Simulator};

use crate::cli::Global;
use crate::failure::Failure;
#[cfg(feature = "simulator")]
use crate::output::console;
use crate::profile::{self, Profile};
#[cfg(feature = "simulator")]
use crate::sim_state::{self, Store};

/// A client, and the simulator it talks to when simulating (kept alive while in use).
pub struct Connection {
    /// The client.
    pub falcon: Falcon,
    /// The profile's column mapping, for the commands that read rosters.
    pub map: Option<ColumnMap>,
    /// The embedded simulator, if any.
    #[cfg(feature = "simulator")]
    pub embedded: Option<Embedded>,
}

impl Connection {
    /// Saves the embedded simulator's tenant as the command left it (nothing to do on Falcon).
    pub fn save(&mut self) -> Result<(), Failure> {
        #[cfg(feature = "simulator")]
        if let Some(embedded) = &mut self.embedded {
            return embedded.save();
        }
        Ok(())
    }
}

/// The embedded simulator and the locked file its tenant is kept in.
#[cfg(feature = "simulator")]
pub struct Embedded {
    simulator: Simulator,
    store: Store,
    saved: bool,
    /// How far the simulator's clock was ahead of real time when the command started (a
    /// saved tenant's clock goes on from where the last command left it).
    clock_at_start: std::time::Duration,
}

#[cfg(feature = "simulator")]
impl Embedded {
    /// Saves the tenant as the command left it (with its writes not seen yet and its clock).
    pub fn save(&mut self) -> Result<(), Failure> {
        self.saved = true;
        let waited = self
            .simulator
            .clock()
            .advanced()
            .saturating_sub(self.clock_at_start);
        tracing::debug!(
            simulated_wait = ?waited,
            "the command's waits moved the simulator's clock instead of sleeping"
        );
        self.store.save(&self.simulator.snapshot())
    }
}

#[cfg(feature = "simulator")]
impl Drop for Embedded {
    /// A command dropped before it saved (stopped by a signal) may still have changed the
    /// tenant, as it would have changed a real one: keep those changes too.
    fn drop(&mut self) {
        if !self.saved
            && let Err(e) = self.save()
        {
            console::line(format_args!("error: {e}"));
        }
    }
}

/// Whether the user asked for the embedded simulator (`cloud`: the one in force).
fn simulating(global: &Global, cloud: Option<&str>) -> bool {
    global.sim.simulate || cloud.is_some_and(|c| c.trim().eq_ignore_ascii_case("simulator"))
}

/// Whether this command runs against the embedded simulator, as the flags, environment and
/// profile say (where its files go depends on it: see `history_file`).
pub fn simulated(global: &Global) -> Result<bool, Failure> {
    let profile = profile::select(global.profile.as_deref(), global.config.as_deref())?;
    let cloud = global
        .cloud
        .clone()
        .or_else(|| profile.as_ref().and_then(|p| p.cloud.clone()));
    Ok(simulating(global, cloud.as_deref()))
}

/// Connects as the flags, environment and profile say (in that order of precedence, value by
/// value: a flag or variable overrides the profile's value for it).
/// When simulating, the tenant is the one saved by the previous command (see `sim_state`),
/// or a new one seeded from `--sim-users` and the fixed default seed (the same every time).
pub async fn connect(global: &Global) -> Result<Connection, Failure> {
    let profile = profile::select(global.profile.as_deref(), global.config.as_deref())?;
    let from_profile =
        |field: fn(&Profile) -> &Option<String>| profile.as_ref().and_then(|p| field(p).clone());
    let cloud = global.cloud.clone().or_else(|| from_profile(|p| &p.cloud));
    let member_cid = global
        .member_cid
        .clone()
        .or_else(|| from_profile(|p| &p.member_cid));
    let map = profile.as_ref().and_then(|p| p.map.clone());
    if simulating(global, cloud.as_deref()) {
        let mut connection = embedded(global, member_cid.as_deref()).await?;
        connection.map = map;
        return Ok(connection);
    }
    #[cfg(feature = "simulator")]
    if global.sim.sim_read_lag.is_some() {
        return Err(Failure::Exit(
            crate::exit::USAGE,
            "--sim-read-lag needs the embedded simulator: add --simulate (or use the cloud \
             `simulator`); a real Falcon tenant lags as it does"
                .into(),
        ));
    }
    let mut builder = FalconBuilder::from_env()?;
    let client_id = global
        .client_id
        .clone()
        .or_else(|| from_profile(|p| &p.client_id));
    if let Some(id) = &client_id {
        builder = builder.client_id(id);
    }
    let profile_secret = profile
        .as_ref()
        .and_then(|p| Some((&p.name, p.secret.as_ref()?)));
    match (&global.client_secret, profile_secret, &client_id) {
        (Some(secret), _, _) => builder = builder.client_secret(secret),
        // The secret is fetched (a command run) only when it is the one that will be used.
        (None, Some((name, source)), Some(id)) => {
            let secret = source.fetch(name)?;
            builder = builder.credentials(&Credentials::new(id.clone(), secret.expose()));
        }
        _ => {}
    }
    if let Some(cloud) = &cloud {
        builder = builder.cloud_name(cloud);
    }
    if let Some(cid) = &member_cid {
        builder = builder.member_cid(cid);
    }
    builder = builder.user_agent(format!("falcon-users-cli/{}", env!("CARGO_PKG_VERSION")));
    Ok(Connection {
        falcon: builder.build()?,
        map,
        #[cfg(feature = "simulator")]
        embedded: None,
    })
}

/// Starts the embedded simulator on the saved (or a newly seeded) tenant and a client for it.
#[cfg(feature = "simulator")]
async fn embedded(global: &Global, member_cid: Option<&str>) -> Result<Connection, Failure> {
    let read_lag = global.sim.sim_read_lag.unwrap_or_default();
    let config = SimConfig {
        users: global.sim.sim_users,
        read_lag,
        // The seeded fleet has Flight Control groups and links to read and export.
        flight_control_groups: true,
        ..SimConfig::default()
    };
    let path = sim_state::path(global.sim.sim_state.as_deref())?;
    let (store, saved) = Store::open(path, global.sim.sim_reset)?;
    let started = match saved {
        Some(state) => Simulator::start_with_state(config, state).await,
        None => Simulator::start(config).await,
    };
    let simulator = started
        .map_err(|e| falcon_users::Error::Config(format!("could not start the simulator: {e}")))?;
    let creds = simulator.credentials();
    let mut builder = Falcon::builder()
        .credentials(&Credentials::new(
            creds.client_id.clone(),
            creds.client_secret.clone(),
        ))
        .cloud(falcon_users::Cloud::Custom(simulator.base_url()))
        // Its port changes from run to run; a plan saved in one names it as the next finds it.
        .endpoint_name("simulator");
    if let Some(cid) = member_cid {
        builder = builder.member_cid(cid);
    }
    if !read_lag.is_zero() {
        // Waiting out the lag moves the simulator's clock, not the wall clock.
        builder = builder.clock(std::sync::Arc::new(simulator.clock().clone()));
    }
    let clock_at_start = simulator.clock().advanced();
    Ok(Connection {
        falcon: builder.build()?,
        map: None,
        embedded: Some(Embedded {
            simulator,
            store,
            saved: false,
            clock_at_start,
        }),
    })
}

/// This build has no simulator: the user asked for one, so say which feature it lacks.
#[cfg(not(feature = "simulator"))]
async fn embedded(global: &Global, _member_cid: Option<&str>) -> Result<Connection, Failure> {
    let asked = if global.sim.simulate {
        "--simulate"
    } else {
        "the cloud `simulator`"
    };
    Err(no_simulator(asked))
}

/// The refusal of anything that needs the embedded simulator in a build without it (exit 2:
/// the arguments ask for what this binary cannot do).
#[cfg(not(feature = "simulator"))]
pub fn no_simulator(asked: &str) -> Failure {
    Failure::Exit(
        crate::exit::USAGE,
        format!(
            "{asked} needs the embedded simulator, and this build of falcon-users has none: it \
             was built without the cargo feature `simulator` (a default feature)"
        ),
    )
}

#[cfg(all(test, feature = "simulator"))]
mod tests {
    use clap::Parser;
    use falcon_users::types::DomainCreateUserRequest;

    use super::*;
    use crate::cli::Cli;

    fn global(state: &std::path::Path) -> Global {
        let state = state.to_str().expect("a UTF-8 path");
        let args = ["falcon-users", "--simulate", "--sim-users", "3"];
        let cli =
            Cli::try_parse_from(
                args.into_iter()
                    .chain(["--sim-state", state, "roles", "list"]),
            )
            .expect("valid arguments");
        cli.global
    }

    /// A command stopped by a signal drops its connection without saving; what it changed
    /// is kept all the same, as a real tenant would keep it. While it runs, it holds the lock.
    #[tokio::test]
    async fn a_connection_dropped_before_saving_keeps_its_changes_and_held_the_lock() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("sim-tenant.json");
        let connection = connect(&global(&path)).await.expect("connects");
        let lock = std::fs::File::open(path.with_extension("lock")).expect("the lock file");
        assert!(
            matches!(lock.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            "held while the command runs"
        );
        connection
            .falcon
            .create_user(DomainCreateUserRequest {
                uid: Some("stopped@example.com".into()),
                ..DomainCreateUserRequest::default()
            })
            .await
            .expect("created");
        drop(connection);
        lock.try_lock().expect("released when the command ends");
        drop(lock);

        let (_store, saved) = Store::open(path, false).expect("opens");
        let saved = saved.expect("saved when dropped");
        let parent = &saved.tenants[&saved.parent_cid];
        assert!(
            parent
                .users
                .values()
                .any(|u| u.uid == "stopped@example.com")
        );
        assert_eq!(parent.users.len(), 4);
    }
}

/// A build without the simulator refuses every way of asking for it, with exit 2 and a
/// message naming the feature; the help does not offer it.
#[cfg(all(test, not(feature = "simulator")))]
mod without_simulator {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;
    use crate::exit;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("falcon-users").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    fn assert_refused(failure: &Failure, asked: &str) {
        assert_eq!(failure.exit_code(), exit::USAGE, "{failure}");
        let message = failure.to_string();
        assert!(message.starts_with(asked), "{message}");
        assert!(
            message.contains("built without the cargo feature `simulator`"),
            "{message}"
        );
    }

    #[test]
    fn every_simulator_flag_is_named_as_refused() {
        for (args, flag) in [
            (&["--simulate", "roles", "list"][..], "--simulate"),
            (&["roles", "list", "--sim-state", "t.json"], "--sim-state"),
            (&["--sim-reset", "inventory"], "--sim-reset"),
            (&["users", "list", "--sim-users", "3"], "--sim-users"),
            (&["--sim-read-lag", "30", "roles", "list"], "--sim-read-lag"),
        ] {
            let cli = parse(args);
            assert_eq!(cli.global.sim.given(), Some(flag), "{args:?}");
            assert_refused(&no_simulator(flag), flag);
        }
        assert_eq!(parse(&["roles", "list"]).global.sim.given(), None);
    }

    #[tokio::test]
    async fn the_simulator_cloud_is_refused() {
        for cloud in ["simulator", " Simulator "] {
            let cli = parse(&["--cloud", cloud, "roles", "list"]);
            let Err(failure) = connect(&cli.global).await else {
                panic!("connected to the cloud {cloud:?}");
            };
            assert_refused(&failure, "the cloud `simulator`");
        }
    }

    /// The main job's path is untouched: a real (here loopback) cloud connects as before.
    #[tokio::test]
    async fn a_real_cloud_still_connects() {
        let cli = parse(&[
            "--cloud",
            "http://127.0.0.1:9",
            "--client-id",
            "id",
            "--client-secret",
            "secret",
            "roles",
            "list",
        ]);
        let connection = connect(&cli.global).await.expect("connects");
        assert_eq!(connection.falcon.base_url().as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn the_help_offers_no_simulator() {
        let help = Cli::command().render_long_help().to_string();
        for word in [
            "--simulate",
            "--sim-",
            "Simulator:",
            "\n  sim ",
            "simulator",
        ] {
            assert!(!help.contains(word), "{word} in {help}");
        }
    }
}

//! Turning flags, environment and profile into a `Falcon` client, or into an embedded simulator.

use falcon_users::{Credentials, Falcon, FalconBuilder};
use falcon_users_sim::{SimConfig, Simulator};

use crate::cli::Global;
use crate::commands::Failure;
use crate::console;
use crate::profile::{self, Profile};
use crate::sim_state::{self, Store};

/// A client, and the simulator it talks to when simulating (kept alive while in use).
pub struct Connection {
    /// The client.
    pub falcon: Falcon,
    /// The embedded simulator, if any.
    pub embedded: Option<Embedded>,
}

/// The embedded simulator and the locked file its tenant is kept in.
pub struct Embedded {
    simulator: Simulator,
    store: Store,
    saved: bool,
}

impl Embedded {
    /// Saves the tenant as the command left it.
    pub fn save(&mut self) -> Result<(), Failure> {
        self.saved = true;
        self.store.save(&self.simulator.snapshot())
    }
}

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
    global.simulate || cloud.is_some_and(|c| c.trim().eq_ignore_ascii_case("simulator"))
}

/// Connects as the flags, environment and profile say (in that order of precedence, value by
/// value: a flag or variable overrides the profile's value for it).
/// When simulating, the tenant is the one saved by the previous command (see [`sim_state`]),
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
    if simulating(global, cloud.as_deref()) {
        let config = SimConfig {
            users: global.sim_users,
            ..SimConfig::default()
        };
        let path = sim_state::path(global.sim_state.as_deref())?;
        let (store, saved) = Store::open(path, global.sim_reset)?;
        let started = match saved {
            Some(state) => Simulator::start_with_state(config, state).await,
            None => Simulator::start(config).await,
        };
        let simulator = started.map_err(|e| {
            falcon_users::Error::Config(format!("could not start the simulator: {e}"))
        })?;
        let creds = simulator.credentials();
        let mut builder = Falcon::builder()
            .credentials(&Credentials::new(
                creds.client_id.clone(),
                creds.client_secret.clone(),
            ))
            .cloud(falcon_users::Cloud::Custom(simulator.base_url()))
            // Its port changes from run to run; a plan saved in one names it as the next finds it.
            .endpoint_name("simulator");
        if let Some(cid) = &member_cid {
            builder = builder.member_cid(cid);
        }
        return Ok(Connection {
            falcon: builder.build()?,
            embedded: Some(Embedded {
                simulator,
                store,
                saved: false,
            }),
        });
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
        embedded: None,
    })
}

#[cfg(test)]
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

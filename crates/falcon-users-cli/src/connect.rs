//! Turning flags and environment into a `Falcon` client, or into an embedded simulator.

use falcon_users::{Falcon, FalconBuilder};
use falcon_users_sim::{SimConfig, Simulator};

use crate::cli::Global;

/// A client, and the simulator it talks to when simulating (kept alive while in use).
pub struct Connection {
    /// The client.
    pub falcon: Falcon,
    /// The embedded simulator, if any.
    pub _simulator: Option<Simulator>,
}

/// Whether the user asked for the embedded simulator.
pub fn simulating(global: &Global) -> bool {
    global.simulate
        || global
            .cloud
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("simulator"))
}

/// Connects as the flags and environment say.
pub async fn connect(global: &Global) -> Result<Connection, falcon_users::Error> {
    if simulating(global) {
        let config = SimConfig {
            users: global.sim_users,
            ..SimConfig::default()
        };
        let simulator = Simulator::start(config).await.map_err(|e| {
            falcon_users::Error::Config(format!("could not start the simulator: {e}"))
        })?;
        let creds = simulator.credentials();
        let mut builder = Falcon::builder()
            .credentials(&falcon_users::Credentials::new(
                creds.client_id.clone(),
                creds.client_secret.clone(),
            ))
            .cloud(falcon_users::Cloud::Custom(simulator.base_url()));
        if let Some(cid) = &global.member_cid {
            builder = builder.member_cid(cid);
        }
        return Ok(Connection {
            falcon: builder.build()?,
            _simulator: Some(simulator),
        });
    }
    let mut builder = FalconBuilder::from_env()?;
    if let Some(id) = &global.client_id {
        builder = builder.client_id(id);
    }
    if let Some(secret) = &global.client_secret {
        builder = builder.client_secret(secret);
    }
    if let Some(cloud) = &global.cloud {
        builder = builder.cloud_name(cloud);
    }
    if let Some(cid) = &global.member_cid {
        builder = builder.member_cid(cid);
    }
    builder = builder.user_agent(format!("falcon-users-cli/{}", env!("CARGO_PKG_VERSION")));
    Ok(Connection {
        falcon: builder.build()?,
        _simulator: None,
    })
}

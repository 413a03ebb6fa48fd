//! `sim`: the simulator in the foreground.

use std::process::ExitCode;

use falcon_users_sim::{SimConfig, Simulator};

use super::{Failure, Outcome};
use crate::cli::SimArgs;
use crate::exit;

/// Runs the simulator until Ctrl-C.
pub async fn run(args: SimArgs, users: usize) -> Outcome {
    let config = SimConfig {
        users,
        seed: args.seed,
        port: args.port,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config)
        .await
        .map_err(|e| Failure::Exit(exit::API, format!("could not start the simulator: {e}")))?;
    let creds = sim.credentials();
    println!("simulator listening on {}", sim.base_url());
    println!("FALCON_CLOUD={}", sim.base_url());
    println!("FALCON_CLIENT_ID={}", creds.client_id);
    println!("FALCON_CLIENT_SECRET={}", creds.client_secret);
    println!("(Ctrl-C to stop)");
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

//! `sim`: the simulator in the foreground.

use std::process::ExitCode;

#[cfg(feature = "simulator")]
use falcon_users_sim::{SimConfig, Simulator};

use crate::cli::{SimArgs, SimFlags};
#[cfg(feature = "simulator")]
use crate::exit;
use crate::failure::{Failure, Outcome};
#[cfg(feature = "simulator")]
use crate::output::print_lines;

/// Runs the simulator until Ctrl-C.
#[cfg(feature = "simulator")]
pub async fn run(args: SimArgs, flags: &SimFlags) -> Outcome {
    let config = SimConfig {
        users: flags.sim_users,
        seed: args.seed,
        port: args.port,
        read_lag: flags.sim_read_lag.unwrap_or_default(),
        // The seeded fleet has Flight Control groups and links to read and export.
        flight_control_groups: true,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config)
        .await
        .map_err(|e| Failure::Exit(exit::LOCAL, format!("could not start the simulator: {e}")))?;
    let creds = sim.credentials();
    let mut lines = vec![
        format!("simulator listening on {}", sim.base_url_str()),
        format!("FALCON_CLOUD={}", sim.base_url_str()),
        format!("FALCON_CLIENT_ID={}", creds.client_id),
        format!("FALCON_CLIENT_SECRET={}", creds.client_secret),
    ];
    if let Some(lag) = flags.sim_read_lag.filter(|l| !l.is_zero()) {
        lines.push(format!("reads lag writes by {} s", lag.as_secs()));
    }
    lines.push("(Ctrl-C to stop)".to_owned());
    print_lines(&lines)?;
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

/// This build has no simulator to run.
#[cfg(not(feature = "simulator"))]
pub async fn run(_args: SimArgs, _flags: &SimFlags) -> Outcome {
    Err::<ExitCode, Failure>(crate::connect::no_simulator("`sim`"))
}

#[cfg(all(test, not(feature = "simulator")))]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[tokio::test]
    async fn the_sim_command_is_refused() {
        let cli = Cli::try_parse_from(["falcon-users", "sim", "--port", "0"]).expect("valid");
        let Command::Sim(args) = cli.command else {
            panic!("not the sim command");
        };
        let failure = run(args, &cli.global.sim).await.expect_err("refused");
        assert_eq!(failure.exit_code(), crate::exit::USAGE, "{failure}");
        let message = failure.to_string();
        assert!(
            message.starts_with("`sim`")
                && message.contains("built without the cargo feature `simulator`"),
            "{message}"
        );
    }
}

//! `falcon-users-sim`: run the simulator in the foreground and print how to reach it.

use clap::Parser;
use std::time::Duration;

use falcon_users_sim::config::{parse_child_cids, parse_read_lag, parse_roles, parse_users};
use falcon_users_sim::{SimConfig, Simulator};

/// A stateful simulator of the Falcon User Management API on 127.0.0.1.
#[derive(Parser)]
#[command(name = "falcon-users-sim", version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Users in the parent CID (at most 200,000).
    #[arg(long, default_value_t = 1000, value_parser = parse_users)]
    users: usize,
    /// Users in each child CID (at most 200,000) [default: a tenth of --users].
    #[arg(long, value_name = "N", value_parser = parse_users)]
    users_per_child: Option<usize>,
    /// Custom roles per CID (at most 1,000).
    #[arg(long, default_value_t = 20, value_parser = parse_roles)]
    roles: usize,
    /// Flight Control child CIDs (at most 500).
    #[arg(long, default_value_t = 2, value_parser = parse_child_cids)]
    child_cids: usize,
    /// Seed of the generated tenant.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Requests per minute per API client.
    #[arg(long, default_value_t = 6000)]
    rate_limit: u32,
    /// The region it plays, sent as `X-Cs-Region` with every token. SDKs that autodiscover
    /// their region (FalconPy, PSFalcon) move to that real cloud's host on a real region's
    /// name: give them one no cloud has, such as `local-1`.
    #[arg(long, default_value = "us-1")]
    region: String,
    /// Read-after-write lag, in seconds (at most 3600): reads of users and grants see a
    /// create, rename, delete, grant or revoke only this long after it, as the service's
    /// listings lag by 30 s and more. Writes are checked against every earlier write at once.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_read_lag)]
    read_lag: Duration,
}

/// Exit code of a usage error (what clap exits with on a bad argument).
const USAGE: u8 = 2;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        users: args.users,
        users_per_child: args.users_per_child,
        roles: args.roles,
        child_cids: args.child_cids,
        seed: args.seed,
        port: args.port,
        rate_limit_per_minute: args.rate_limit,
        region: args.region,
        read_lag: args.read_lag,
        // A standalone fleet shows Flight Control groups and links, as a real parent has.
        flight_control_groups: true,
        ..SimConfig::default()
    };
    // The arguments were checked one by one; this is the same check of the whole.
    if let Err(e) = config.validate() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(USAGE);
    }
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "error: could not start the simulator on 127.0.0.1:{}: {e}",
                args.port
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    let rw = sim.credentials();
    let ro = sim.read_only_credentials();
    println!("falcon-users-sim listening on {}", sim.base_url_str());
    println!("FALCON_CLOUD={}", sim.base_url_str());
    println!("FALCON_CLIENT_ID={}", rw.client_id);
    println!("FALCON_CLIENT_SECRET={}", rw.client_secret);
    println!("read-only client: {} / {}", ro.client_id, ro.client_secret);
    let shaped = sim.shaped_credentials();
    println!(
        "the full client shaped as the console issues them (PSFalcon): {} / {}",
        shaped.client_id, shaped.client_secret
    );
    println!(
        "parent CID {}; children: {}",
        sim.parent_cid(),
        sim.child_cids().join(", ")
    );
    if !args.read_lag.is_zero() {
        println!("reads lag writes by {} s", args.read_lag.as_secs());
    }
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}

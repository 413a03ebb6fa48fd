//! Scenario: a roster change applied against a service whose reads lag its writes, as the real
//! one's do (> 30 s), and against one without lag. The simulator runs in this process with the
//! client on its clock, so every wait is simulated time: what is measured is the requests, the
//! simulated time the apply waited for the service to show its changes, and that a plan made
//! right after is empty and the changes were made once.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use falcon_users::workflows::roster::{ApplyOptions, Journal, Mode, PlanOptions, Roster};
use falcon_users::workflows::{Settle, Settled};
use falcon_users_api::operations;
use falcon_users_sim::{SimConfig, Simulator};

use crate::report::Report;
use crate::scenarios::reconcile::edit;

/// The scenario's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Users in the tenant.
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// Share of the tenant the roster changes, percent.
    #[arg(long, default_value_t = 5.0)]
    pub changed_percent: f64,
    /// The lag of the lagging run, seconds.
    #[arg(long, default_value_t = 30)]
    pub lag_secs: u64,
}

/// What one run came to.
struct Run {
    requests: u64,
    creates: u64,
    deletes: u64,
    changed: usize,
    waited: Duration,
    simulated: Duration,
    wall: Duration,
    replanned: usize,
}

/// Runs the change without lag and with it, on fresh simulators seeded alike.
pub fn run(settings: &Settings) -> Result<Report> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut report = Report::new("lag");
    let lag = Duration::from_secs(settings.lag_secs);
    let runs = [(Duration::ZERO, true), (lag, true)]
        .into_iter()
        .map(|(lag, wait)| runtime.block_on(one(settings, lag, wait)))
        .collect::<Result<Vec<Run>>>()?;
    // What the wait is for: the same run with it off plans the changes again.
    let unwaited = runtime.block_on(one(settings, lag, false))?;
    report.figure(
        "lag, not waited (--settle 0): changes planned again right after",
        unwaited.replanned as f64,
        "",
    );
    for (run, label) in runs.iter().zip(["no lag", "lag"]) {
        report.figure(format!("{label}: users changed"), run.changed as f64, "");
        report.figure(
            format!("{label}: requests (read, plan, apply, plan again)"),
            run.requests as f64,
            "",
        );
        report.figure(
            format!("{label}: waited for the changes to show (simulated)"),
            run.waited.as_secs_f64(),
            "s",
        );
        report.figure(
            format!("{label}: simulated time in all"),
            run.simulated.as_secs_f64(),
            "s",
        );
        report.figure(format!("{label}: wall time"), run.wall.as_secs_f64(), "s");
        report.at_most(
            format!("{label}: changes planned again right after"),
            run.replanned as f64,
            0.0,
        );
    }
    let (calm, lagging) = (&runs[0], &runs[1]);
    report.at_most(
        "lag: creates / creates without lag",
        lagging.creates as f64 / calm.creates.max(1) as f64,
        1.0,
    );
    report.at_most(
        "lag: deletes / deletes without lag",
        lagging.deletes as f64 / calm.deletes.max(1) as f64,
        1.0,
    );
    report.at_most(
        "lag: requests over those without lag",
        lagging.requests.saturating_sub(calm.requests) as f64,
        // The wait re-reads the last user changed every 2 s: 3 requests a check.
        3.0 * (settings.lag_secs as f64 / 2.0 + 1.0),
    );
    report.at_most("no lag: waited", calm.waited.as_secs_f64(), 0.0);
    Ok(report)
}

async fn one(settings: &Settings, lag: Duration, wait: bool) -> Result<Run> {
    let sim = Simulator::start(SimConfig {
        users: settings.users,
        read_lag: lag,
        rate_limit_per_minute: 1_000_000,
        ..SimConfig::default()
    })
    .await
    .context("starting the simulator")?;
    let falcon = sim
        .falcon_builder()
        .clock(std::sync::Arc::new(sim.clock().clone()))
        .build()
        .context("building the client")?;
    let options = PlanOptions::new()
        .mode(Mode::Exact)
        .prune_in("uid:'*'")
        .guardrails(
            falcon_users::workflows::roster::Guardrails::new()
                .max_offboard(settings.users)
                .max_strip(settings.users),
        );
    let state = falcon.roster_state(&[None], &options).await?;
    let roles: Vec<String> = state
        .cids
        .get(&None)
        .map(|c| c.catalogue.ids().map(str::to_owned).collect())
        .unwrap_or_default();
    let (roster, changed) = edit(
        &Roster::from_state(&state),
        settings.changed_percent,
        &roles,
    )?;
    let (started, simulated_from) = (Instant::now(), sim.clock().advanced());
    let before: u64 = sim.request_counts().values().sum();
    let plan = falcon.plan_roster(&roster, &options).await?;
    let applied = falcon
        .apply(
            &plan,
            &ApplyOptions::new()
                .verify(false)
                .guardrails(options.guardrails)
                .settle(if wait { Settle::new() } else { Settle::off() }),
            &Journal::off(),
        )
        .await?;
    anyhow::ensure!(
        applied.is_complete(),
        "the apply did not complete: {:?}",
        applied.counts()
    );
    let waited = match applied.settled {
        Settled::Shown { waited } | Settled::NotShown { waited } => waited,
        Settled::NotChecked => Duration::ZERO,
    };
    let again = falcon.plan_roster(&roster, &options).await?;
    Ok(Run {
        requests: sim.request_counts().values().sum::<u64>() - before,
        creates: sim.request_count(&operations::CREATE_USER_V1),
        deletes: sim.request_count(&operations::DELETE_USER_V1),
        changed,
        waited,
        simulated: sim.clock().advanced() - simulated_from,
        wall: started.elapsed(),
        replanned: again.changes.len(),
    })
}

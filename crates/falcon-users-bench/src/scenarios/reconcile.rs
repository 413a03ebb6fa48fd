//! Scenario: a roster reconciled with a tenant. The roster is the tenant as exported, with a
//! share of it changed (a third joiners, a third movers, a third leavers); plan and apply in one
//! go, as `falcon-users apply ROSTER` runs it. Requests against the minimum (the inventory read,
//! the role catalogue, the scope listing, and each change's own actions), wall time against the
//! bound the rate limit and latency set, and a second plan that must be empty.

use std::time::Instant;

use anyhow::{Context, Result};
use falcon_users::workflows::roster::{
    ApplyOptions, Journal, Mode, PlanOptions, Roster, RosterEntry, RosterRole,
};

use crate::report::Report;
use crate::scenarios::inventory;
use crate::sim_process::{SimProcess, SimSpec};

/// The scenario's settings (the defaults are those BENCHMARKS.md reports).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Users in the tenant.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Share of the tenant the roster changes, percent.
    #[arg(long, default_value_t = 1.0)]
    pub changed_percent: f64,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Simulator rate limit, requests per minute.
    #[arg(long, default_value_t = 60_000)]
    pub rate_per_minute: u32,
    /// Requests in flight (reading and applying).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// Runs the reconcile on a fresh simulator.
pub fn run(settings: &Settings) -> Result<Report> {
    let spec = SimSpec::rate_bound(
        settings.users,
        20,
        settings.latency_ms,
        settings.rate_per_minute,
    );
    let sim = SimProcess::start(&spec)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut report = Report::new("reconcile");
    let scope = "uid:'*'";
    let options = PlanOptions::new()
        .mode(Mode::Exact)
        .prune_in(scope)
        .guardrails(
            falcon_users::workflows::roster::Guardrails::new()
                .max_offboard(settings.users)
                .max_strip(settings.users),
        )
        .concurrency(settings.concurrency);
    let (roster, changed) = runtime.block_on(async {
        // The export the operator starts from (not measured).
        let falcon = super::client(&sim.base_url)?;
        let state = falcon
            .roster_state(
                &[None],
                &PlanOptions::new().concurrency(settings.concurrency),
            )
            .await
            .context("exporting the tenant")?;
        anyhow::Ok(edit(
            &Roster::from_state(&state),
            settings.changed_percent,
            &state
                .cids
                .get(&None)
                .map(|c| c.catalogue.ids().map(str::to_owned).collect::<Vec<_>>())
                .unwrap_or_default(),
        )?)
    })?;
    let (requests, actions, wall, left, stats) = runtime.block_on(async {
        let falcon = super::client(&sim.base_url)?;
        let started = Instant::now();
        let planned = falcon.plan_roster(&roster, &options).await?;
        let actions: usize = planned.changes.iter().map(|c| c.actions().len()).sum();
        let applied = falcon
            .apply(
                &planned,
                &ApplyOptions::new()
                    .verify(false)
                    // The apply holds the plan to its own limits: the same as the planning's.
                    .guardrails(options.guardrails)
                    .concurrency(settings.concurrency),
                &Journal::off(),
            )
            .await?;
        let wall = started.elapsed();
        anyhow::ensure!(applied.is_complete(), "the apply did not complete");
        let stats = falcon.stats();
        // `requests` counts the token requests too.
        let requests = stats.requests;
        let left = falcon.plan_roster(&roster, &options).await?.changes.len();
        anyhow::Ok((requests, actions, wall, left, stats))
    })?;
    drop(sim);
    let read = inventory::Settings {
        users: settings.users,
        roles: 20,
        latency_ms: settings.latency_ms,
        rate_per_minute: settings.rate_per_minute,
        concurrency: settings.concurrency,
        peer_max_seconds: 0,
    };
    // The inventory's own minimum: the read is an inventory.
    // The inventory (with its token), the role catalogue (ids, then details), the scope's id
    // pages, and one request per action.
    let scope_pages = settings.users.div_ceil(500).max(1) as u64;
    let minimum = read.minimum_requests() + 2 + scope_pages + actions as u64;
    let bound = super::bound_secs(
        requests,
        settings.rate_per_minute,
        settings.latency_ms,
        settings.concurrency,
    );
    report.figure("users changed", changed as f64, "");
    report.figure("actions planned", actions as f64, "");
    report.figure("requests sent (incl. token)", requests as f64, "");
    report.figure("minimum requests", minimum as f64, "");
    report.figure("retries", stats.retries as f64, "");
    report.figure("wall time (read, plan, apply)", wall.as_secs_f64(), "s");
    report.figure("bound", bound, "s");
    report.at_most("requests / minimum", requests as f64 / minimum as f64, 1.02);
    report.at_most(
        "actions per changed user",
        actions as f64 / changed as f64,
        2.0,
    );
    report.at_most("wall / bound", wall.as_secs_f64() / bound, 1.25);
    report.at_most("changes left after apply", left as f64, 0.0);
    Ok(report)
}

/// The export with `percent` of its users changed: joiners added, movers' roles swapped,
/// leavers dropped (a third each). Returns the roster and how many users it changes.
pub(crate) fn edit(export: &Roster, percent: f64, roles: &[String]) -> Result<(Roster, usize)> {
    let entries = export.entries();
    let changed = ((entries.len() as f64 * percent / 100.0).round() as usize).max(3);
    let third = changed / 3;
    let mut out: Vec<RosterEntry> = Vec::with_capacity(entries.len() + third);
    let step = (entries.len() / (2 * third).max(1)).max(1);
    let (mut moved, mut left) = (0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let mut entry = entry.clone();
        if i % step == 0 && left < third {
            left += 1;
            continue;
        }
        if i % step == 1 && moved < third {
            moved += 1;
            let held: Vec<&str> = entry.roles.iter().map(|r| r.role.as_str()).collect();
            let new = roles
                .iter()
                .find(|r| !held.contains(&r.as_str()))
                .context("a role the mover lacks")?;
            entry.roles = vec![RosterRole {
                role: new.clone(),
                expires_at: None,
            }];
        }
        out.push(entry);
    }
    let joiners = changed - left - moved;
    for n in 0..joiners {
        out.push(RosterEntry {
            row: 0,
            uid: format!("joiner{n}@bench.example.com"),
            first_name: Some("Joiner".into()),
            last_name: Some(n.to_string()),
            roles: vec![RosterRole {
                role: roles.first().cloned().context("a role")?,
                expires_at: None,
            }],
            cid: None,
        });
    }
    for (i, entry) in out.iter_mut().enumerate() {
        entry.row = i + 2;
    }
    Ok((Roster::new(out)?, left + moved + joiners))
}

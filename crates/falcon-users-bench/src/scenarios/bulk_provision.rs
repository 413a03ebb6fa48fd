//! Scenario 6: Bulk provisioning: a roster of new users created with their roles through the
//! roster engine, as `provision --from` does: requests against the minimum (one create and one
//! grant per user, the roles listed once, one token), and the wall time.

use std::time::Instant;

use anyhow::{Context, Result};
use falcon_users::workflows::roster::{
    ApplyOptions, ChangeOutcome, Journal, PlanOptions, Roster, Targets, plan,
};

use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// The scenario's settings (also its command-line arguments; the defaults are those BENCHMARKS.md reports).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Users on the roster, none of them in the tenant yet.
    #[arg(long, default_value_t = 500)]
    pub users: usize,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Simulator rate limit, requests per minute.
    #[arg(long, default_value_t = 60_000)]
    pub rate_per_minute: u32,
    /// Changes in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

impl Settings {
    /// One create and one grant per user, the roles listed once (ids, then entities), one
    /// token.
    pub fn minimum_requests(&self) -> u64 {
        (2 * self.users + 2 + 1) as u64
    }

    /// `max(requests / rate, requests × latency / concurrency)`, in seconds.
    pub fn bound_secs(&self, requests: u64) -> f64 {
        super::bound_secs(
            requests,
            self.rate_per_minute,
            self.latency_ms,
            self.concurrency,
        )
    }

    /// The roster: every user with one role named by display name, every other with a second
    /// one by id.
    fn roster(&self) -> Result<Roster> {
        let mut csv = String::from("uid,first_name,last_name,roles\n");
        for n in 0..self.users {
            let roles = if n % 2 == 0 {
                "Falcon Console Guest"
            } else {
                "\"Falcon Console Guest;falconhost_read_only\""
            };
            csv.push_str(&format!("joiner{n}@corp.example.com,Joiner,N{n},{roles}\n"));
        }
        Roster::from_csv(csv.as_bytes()).context("the generated roster")
    }
}

/// Provisions the roster on a fresh simulator with no users.
pub fn run(settings: &Settings) -> Result<Report> {
    let spec = SimSpec::rate_bound(0, 20, settings.latency_ms, settings.rate_per_minute);
    let roster = settings.roster()?;
    let mut report = Report::new("bulk provisioning");
    let sim = SimProcess::start(&spec)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (done, failed, wall, stats) = runtime.block_on(async {
        let falcon = super::client(&sim.base_url)?;
        let started = Instant::now();
        let options = PlanOptions::new().concurrency(settings.concurrency);
        let state = falcon
            .targeted_state(&Targets::Nobody(options.cids_to_read(&roster)), &options)
            .await?;
        let planned = plan(&roster, &state, &options, chrono::Utc::now())?;
        let applied = falcon
            .apply(
                &planned,
                &ApplyOptions::new()
                    .concurrency(settings.concurrency)
                    .verify(false),
                &Journal::off(),
            )
            .await?;
        let wall = started.elapsed();
        let done = applied
            .results
            .iter()
            .filter(|r| matches!(r.outcome, ChangeOutcome::Done { .. }))
            .count();
        let (_, _, failed, not_started) = applied.counts();
        anyhow::Ok((done, failed + not_started, wall, falcon.stats()))
    })?;
    drop(sim);
    // `requests` counts the token requests too.
    let requests = stats.requests;
    let minimum = settings.minimum_requests();
    let bound = settings.bound_secs(requests);
    report.figure("users provisioned", done as f64, "");
    report.figure("requests sent (incl. token)", requests as f64, "");
    report.figure("minimum requests", minimum as f64, "");
    report.figure("wall time", wall.as_secs_f64(), "s");
    report.figure("bound (rate, latency)", bound, "s");
    report.figure("wall / bound", wall.as_secs_f64() / bound, "×");
    report.at_most("users not provisioned", (settings.users - done) as f64, 0.0);
    report.at_most("changes failed or not started", failed as f64, 0.0);
    report.at_most("requests / minimum", requests as f64 / minimum as f64, 1.02);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(users: usize) -> Settings {
        Settings {
            users,
            latency_ms: 10,
            rate_per_minute: 60_000,
            concurrency: 16,
        }
    }

    #[test]
    fn the_minimum_is_a_create_and_a_grant_per_user_the_roles_once_and_a_token() {
        assert_eq!(settings(500).minimum_requests(), 1_000 + 2 + 1);
        assert_eq!(settings(0).minimum_requests(), 3);
    }

    #[test]
    fn the_roster_has_a_row_per_user() {
        let roster = settings(7).roster().unwrap();
        assert_eq!(roster.entries().len(), 7);
        assert_eq!(roster.entries()[1].roles.len(), 2);
    }
}

//! `grants grant --expires-in-hours / --expires-at`: the window is checked when the arguments
//! are parsed, and the edges of the window are accepted.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use falcon_users_sim::SimConfig;

use crate::support::*;

/// A user of the simulator and the expiry of their grant of `role`, if any.
fn expiry_of(sim: &Sim, uuid: &str, role: &str) -> Option<DateTime<Utc>> {
    let parent = sim.sim.parent_cid();
    sim.sim.inspect(|s| {
        s.tenants[&parent]
            .grants
            .get(uuid)?
            .iter()
            .find(|g| g.role_id == role)
            .and_then(|g| g.expires_at.as_deref())
            .map(|t| t.parse().expect("RFC 3339"))
    })
}

#[test]
fn the_edges_of_the_window_are_granted_and_land_inside_it() {
    let sim = Sim::start(SimConfig {
        users: 5,
        ..SimConfig::default()
    });
    let parent = sim.sim.parent_cid();
    // A user and three built-in roles they do not hold yet.
    let (uuid, roles) = sim.sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        let uuid = tenant.by_uid.values().next().unwrap().clone();
        let held = tenant.grants.get(&uuid).cloned().unwrap_or_default();
        let free: Vec<String> = s
            .builtin_roles
            .iter()
            .map(|r| r.id.clone())
            .filter(|id| !held.iter().any(|g| &g.role_id == id))
            .take(3)
            .collect();
        (uuid, free)
    });
    assert_eq!(roles.len(), 3, "three roles to grant");
    let env = sim.env();
    let in_two_hours = (Utc::now() + Duration::hours(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let cases: [(&[&str], Duration, Duration); 3] = [
        (
            &["--expires-in-hours", "1"],
            Duration::hours(1),
            Duration::hours(1) + Duration::minutes(2),
        ),
        (
            &["--expires-in-hours", "168"],
            Duration::days(7) - Duration::minutes(2),
            Duration::days(7),
        ),
        (
            &["--expires-at", &in_two_hours],
            Duration::minutes(119),
            Duration::hours(2),
        ),
    ];
    for ((flags, earliest, latest), role) in cases.into_iter().zip(&roles) {
        let before = Utc::now();
        let mut args = vec!["grants", "grant", &uuid, role];
        args.extend_from_slice(flags);
        let out = run(&args, &pairs(&env));
        assert!(out.status.success(), "{flags:?}: {}", text(&out.stderr));
        let at = expiry_of(&sim, &uuid, role).expect("a temporary grant");
        let ahead = at - before;
        assert!(
            ahead >= earliest && ahead <= latest,
            "{flags:?}: {ahead} ahead"
        );
    }
}

#[test]
fn values_outside_the_window_are_usage_errors_not_panics() {
    let in_eight_days = (Utc::now() + Duration::days(8)).to_rfc3339();
    let in_two_hours = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let in_ten_minutes = (Utc::now() + Duration::minutes(10)).to_rfc3339();
    let cases: [&[&str]; 8] = [
        &["--expires-in-hours", "0"],
        &["--expires-in-hours", "169"],
        &["--expires-in-hours", "-1"],
        &["--expires-in-hours", "9223372036854775807"],
        &["--expires-in-hours", "99999999999999999999999999"],
        &["--expires-at", &in_eight_days],
        &["--expires-at", &in_ten_minutes],
        &["--expires-at", "next tuesday"],
    ];
    for flags in cases {
        let mut args = vec!["--simulate", "grants", "grant", "someone@example.com", "r"];
        args.extend_from_slice(flags);
        let out = run(&args, &[]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flags:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"), "{flags:?}");
    }
    let both = run(
        &[
            "--simulate",
            "grants",
            "grant",
            "someone@example.com",
            "r",
            "--expires-in-hours",
            "2",
            "--expires-at",
            &in_two_hours,
        ],
        &[],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
}

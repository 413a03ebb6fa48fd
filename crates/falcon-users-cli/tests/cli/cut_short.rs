//! Runs that end early: an API error, `kill -9`, SIGINT and SIGTERM in the middle of an
//! inventory, and signals while `provision` and `offboard` are changing the tenant.

use std::fs;
use std::path::Path;
use std::time::Duration;

use falcon_users::api::operations::{
    COMBINED_USER_ROLES_V2, CREATE_USER_V1, DELETE_USER_V1, USER_ROLES_ACTION_V1,
};
use falcon_users_sim::{Faults, SimConfig};

use crate::files::{PREVIOUS, previous_inventory};
use crate::support::*;

/// A simulator whose every API answer takes `latency`.
fn slow_sim(users: usize, latency: Duration) -> Sim {
    Sim::start(SimConfig {
        users,
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
}

/// The unfinished output files beside `target`.
fn partial_files(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n != "inv.csv")
        .collect()
}

/// Starts a slow inventory into `inv.csv` in `dir` and returns once rows have reached the
/// temporary file (so the run is mid-write).
fn inventory_mid_write(sim: &Sim, dir: &Path) -> std::process::Child {
    let out = dir.join("inv.csv");
    let env = sim.env();
    let args = [
        "-f",
        "csv",
        "inventory",
        "--concurrency",
        "1",
        "-o",
        out.to_str().unwrap(),
    ];
    let child = command(&args, &pairs(&env))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    wait_until("rows in the temporary file", || {
        partial_files(dir)
            .iter()
            .any(|name| fs::metadata(dir.join(name)).is_ok_and(|m| m.len() > 0))
    });
    child
}

#[test]
fn kill_9_mid_inventory_leaves_the_previous_file_and_at_most_a_marked_partial_one() {
    let sim = slow_sim(400, Duration::from_millis(10));
    let (dir, path) = previous_inventory();
    let mut child = inventory_mid_write(&sim, dir.path());
    child.kill().expect("SIGKILL");
    let _ = finish(child);
    assert_eq!(fs::read_to_string(&path).unwrap(), PREVIOUS);
    for name in partial_files(dir.path()) {
        assert!(
            name.starts_with(".inv.csv.") && name.ends_with(".partial"),
            "a stray file must say it is unfinished: {name}"
        );
    }
}

#[test]
fn sigint_and_sigterm_mid_inventory_stop_cleanly_with_the_shell_codes() {
    let sim = slow_sim(400, Duration::from_millis(10));
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let (dir, path) = previous_inventory();
        let child = inventory_mid_write(&sim, dir.path());
        signal(&child, name);
        let out = finish(child);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{name}: {stderr}");
        assert!(
            stderr.contains(&format!("stopped by SIG{name}")),
            "{stderr}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), PREVIOUS, "SIG{name}");
        assert_eq!(partial_files(dir.path()), Vec::<String>::new(), "SIG{name}");
    }
}

#[test]
fn an_api_error_mid_inventory_leaves_the_previous_file() {
    let sim = slow_sim(400, Duration::from_millis(10));
    let (dir, path) = previous_inventory();
    let child = inventory_mid_write(&sim, dir.path());
    sim.sim.fail_next(&COMBINED_USER_ROLES_V2, 400, 1);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&path).unwrap(), PREVIOUS);
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());
}

/// Whether the simulator's parent tenant has a user with this login.
fn user_exists(sim: &Sim, uid: &str) -> bool {
    let parent = sim.sim.parent_cid();
    sim.sim
        .inspect(|s| s.tenants[&parent].by_uid.contains_key(uid))
}

/// `provision` with the workflow's steps logged, so the test knows when a step is in flight.
fn provision(sim: &Sim, uid: &str) -> Running {
    let mut env = sim.env();
    env.push(("RUST_LOG", "falcon_users=info".into()));
    Running::spawn(command(
        &[
            "-f",
            "json",
            "provision",
            uid,
            "--roles",
            "falcon_console_guest",
        ],
        &pairs(&env),
    ))
}

#[test]
fn sigint_while_provision_creates_the_user_rolls_it_back_and_exits_130() {
    // Each answer takes a second: the signal lands while the create is in flight.
    let sim = slow_sim(20, Duration::from_secs(1));
    let uid = "interrupted.hire@example.com";
    let mut run = provision(&sim, uid);
    run.wait_for_line("step=create user");
    signal(&run.child, "INT");
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(stderr.contains("the user was deleted again"), "{stderr}");
    assert_eq!(
        sim.sim.request_count(&CREATE_USER_V1),
        1,
        "the create finished"
    );
    assert_eq!(
        sim.sim.request_count(&USER_ROLES_ACTION_V1),
        0,
        "no grant started"
    );
    assert_eq!(sim.sim.request_count(&DELETE_USER_V1), 1, "compensated");
    assert!(!user_exists(&sim, uid), "nothing is left half done");
}

#[test]
fn a_second_signal_stops_at_once_and_says_the_change_in_flight_is_unknown() {
    let sim = slow_sim(20, Duration::from_secs(2));
    let mut run = provision(&sim, "impatient.hire@example.com");
    run.wait_for_line("step=create user");
    signal(&run.child, "INT");
    run.wait_for_line("finishing the change in flight");
    signal(&run.child, "INT");
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped at once by a second SIGINT"),
        "{stderr}"
    );
    assert!(
        stderr.contains("may or may not have taken effect"),
        "{stderr}"
    );
}

#[test]
fn sigterm_while_offboard_revokes_stops_before_the_delete_and_says_so() {
    let sim = slow_sim(20, Duration::from_secs(1));
    let parent = sim.sim.parent_cid();
    // A user whose grants are all in the parent CID: one revoke step, then the delete.
    let (uuid, uid) = sim.sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        let mut held: Vec<&String> = tenant
            .grants
            .iter()
            .filter(|(uuid, grants)| {
                tenant.users.contains_key(*uuid)
                    && !grants.is_empty()
                    && grants.iter().all(|g| g.cid == parent)
            })
            .map(|(uuid, _)| uuid)
            .collect();
        held.sort();
        let uuid = held.first().expect("a user with grants");
        (uuid.to_string(), tenant.users[*uuid].uid.clone())
    });
    let mut env = sim.env();
    env.push(("RUST_LOG", "falcon_users=info".into()));
    let mut run = Running::spawn(command(
        &["--yes", "-f", "json", "offboard", &uid],
        &pairs(&env),
    ));
    run.wait_for_line("step=revoke");
    signal(&run.child, "TERM");
    let (out, stderr) = run.finish();
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains(&format!("not done: delete user {uuid}")),
        "{stderr}"
    );
    let (exists, grants) = sim.sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        (
            tenant.users.contains_key(&uuid),
            tenant.grants.get(&uuid).map_or(0, Vec::len),
        )
    });
    assert!(exists, "the user was not deleted");
    assert_eq!(grants, 0, "the revoke in flight finished");
    assert_eq!(sim.sim.request_count(&DELETE_USER_V1), 0);
}

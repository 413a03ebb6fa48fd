//! The built `falcon-users` binary against the simulator and hostile loopback servers: output
//! formats, exit codes, confirmation, secrets kept out of every output, files that survive
//! failure, signals, escaping, and closed pipes.

// One test binary (a binary per file would link the world once each); the areas are modules.
#[path = "cli/access.rs"]
mod access;
#[path = "cli/auth.rs"]
mod auth;
#[path = "cli/bulk.rs"]
mod bulk;
#[path = "cli/children.rs"]
mod children;
#[path = "cli/cut_short.rs"]
mod cut_short;
#[path = "cli/decisions.rs"]
mod decisions;
#[path = "cli/evidence.rs"]
mod evidence;
#[path = "cli/expiry.rs"]
mod expiry;
#[path = "cli/files.rs"]
mod files;
#[path = "cli/filters.rs"]
mod filters;
#[path = "cli/fleet.rs"]
mod fleet;
#[path = "cli/fleet_code.rs"]
mod fleet_code;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/history.rs"]
mod history;
#[path = "cli/hostile.rs"]
mod hostile;
#[path = "cli/hr_files.rs"]
mod hr_files;
#[path = "cli/inventory.rs"]
mod inventory;
#[path = "cli/network.rs"]
mod network;
#[path = "cli/page.rs"]
mod page;
#[path = "cli/pipes.rs"]
mod pipes;
#[path = "cli/profiles.rs"]
mod profiles;
#[path = "cli/questions.rs"]
mod questions;
#[path = "cli/reconcile.rs"]
mod reconcile;
#[path = "cli/remember.rs"]
mod remember;
#[path = "cli/results.rs"]
mod results;
#[path = "cli/review.rs"]
mod review;
#[path = "cli/scheduled.rs"]
mod scheduled;
#[path = "cli/support.rs"]
mod support;
#[path = "cli/users.rs"]
mod users;

use falcon_users_sim::{SimConfig, Simulator};

use crate::support::{run, text};

const SECRET: &str = "sim-rw-secret";

#[test]
fn inventory_on_the_embedded_simulator_as_csv_and_json() {
    let csv = run(
        &["--simulate", "--sim-users", "120", "-f", "csv", "inventory"],
        &[],
    );
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let out = text(&csv.stdout);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "uuid,uid,first_name,last_name,status,cid,user_type,created_at,last_login_at,roles,role_names,grant_cids,grant_types,expires_at,sources,user_groups,cid_groups"
        )
    );
    assert_eq!(lines.count(), 120);
    assert!(text(&csv.stderr).contains("120 users"));

    let json = run(
        &["--simulate", "--sim-users", "50", "-f", "json", "inventory"],
        &[],
    );
    assert!(json.status.success());
    let rows: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter()
            .all(|r| r["uuid"].is_string() && r["grants"].is_array())
    );
}

#[test]
fn piped_output_defaults_to_json_and_table_is_available() {
    let json = run(&["--simulate", "--sim-users", "30", "users", "list"], &[]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let users: Vec<serde_json::Value> =
        serde_json::from_slice(&json.stdout).expect("a JSON array when piped");
    assert_eq!(users.len(), 30);

    let table = run(&["--simulate", "-f", "table", "roles", "list"], &[]);
    assert!(table.status.success());
    let out = text(&table.stdout);
    assert!(
        out.contains("falcon_console_guest") && out.contains("display_name"),
        "{out}"
    );
}

#[test]
fn provisioning_reports_what_it_did() {
    let out = run(
        &[
            "--simulate",
            "-f",
            "json",
            "provision",
            "new.hire@example.com",
            "--roles",
            "falcon_console_guest,falconhost_read_only",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "created");
    assert_eq!(report["granted"].as_array().unwrap().len(), 2);

    let bad_role = run(
        &[
            "--simulate",
            "provision",
            "x@example.com",
            "--roles",
            "no_such_role",
        ],
        &[],
    );
    assert_eq!(
        bad_role.status.code(),
        Some(2),
        "input refused before anything is created"
    );
    assert!(text(&bad_role.stderr).contains("no_such_role"));
}

#[test]
fn destructive_commands_refuse_without_yes_when_nobody_can_answer() {
    let out = run(&["--simulate", "users", "delete", "some-uuid"], &[]);
    assert_eq!(out.status.code(), Some(6));
    assert!(text(&out.stderr).contains("--yes"));
    let dry = run(
        &[
            "--simulate",
            "-f",
            "json",
            "offboard",
            "nobody@example.com",
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(
        dry.status.code(),
        Some(2),
        "unknown user is a usage error: {}",
        text(&dry.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["users", "frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let missing = run(&["users", "list"], &[]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "no credentials: {}",
        text(&missing.stderr)
    );
    assert!(text(&missing.stderr).contains("FALCON_CLIENT_ID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_errors_exit_3_and_secrets_never_show() {
    let sim = Simulator::start(SimConfig {
        users: 20,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let url = sim.base_url_str();
    let bad = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            run(
                &["-vvv", "users", "list"],
                &[
                    ("FALCON_CLOUD", &url),
                    ("FALCON_CLIENT_ID", "sim-rw-client"),
                    ("FALCON_CLIENT_SECRET", "not-the-secret-42"),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(bad.status.code(), Some(3), "{}", text(&bad.stderr));
    assert!(
        !text(&bad.stderr).contains("not-the-secret-42")
            && !text(&bad.stdout).contains("not-the-secret-42")
    );

    let good = tokio::task::spawn_blocking(move || {
        run(
            &["-vvv", "-f", "json", "auth", "check"],
            &[
                ("FALCON_CLOUD", &url),
                ("FALCON_CLIENT_ID", "sim-rw-client"),
                ("FALCON_CLIENT_SECRET", SECRET),
            ],
        )
    })
    .await
    .unwrap();
    assert!(good.status.success(), "{}", text(&good.stderr));
    let report: serde_json::Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(report["scopes"]["user-management:write"], true);
    for stream in [&good.stdout, &good.stderr] {
        assert!(!text(stream).contains(SECRET), "the secret leaked");
    }
    assert!(
        text(&good.stderr).contains("DEBUG") || text(&good.stderr).contains("TRACE"),
        "logging was on"
    );
}

/// Runs a simulated command as CSV and reads it strictly: a row wider or narrower than the
/// header fails here, not in a user's inventory. Returns the header and the rows.
fn strict_csv(command: &[&str]) -> (String, Vec<csv::StringRecord>) {
    let mut args = vec!["--simulate", "--sim-users", "5", "-f", "csv"];
    args.extend_from_slice(command);
    let out = run(&args, &[]);
    assert!(out.status.success(), "{command:?}: {}", text(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().expect("a header row").clone();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .map(|row| row.unwrap_or_else(|e| panic!("{command:?}: {e}")))
        .collect();
    assert!(!rows.is_empty(), "{command:?} printed no rows");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{command:?}");
    }
    (header.iter().collect::<Vec<_>>().join(","), rows)
}

#[test]
fn csv_headers_and_rows_have_the_same_width_for_every_record_type() {
    let (header, _) = strict_csv(&["users", "list"]);
    assert_eq!(
        header,
        "uuid,uid,first_name,last_name,status,cid,created_at,last_login_at"
    );
    let (header, _) = strict_csv(&["roles", "list"]);
    assert_eq!(header, "id,display_name,is_global,cid,description");
    let (header, inventory) = strict_csv(&["inventory"]);
    assert_eq!(
        header,
        "uuid,uid,first_name,last_name,status,cid,user_type,created_at,last_login_at,roles,role_names,grant_cids,grant_types,expires_at,sources,user_groups,cid_groups"
    );
    let granted = inventory
        .iter()
        .find(|row| !row[9].is_empty())
        .expect("some simulated user holds a role");
    let (header, _) = strict_csv(&["grants", "list", &granted[0]]);
    assert_eq!(
        header,
        "user_uuid,uid,role_id,role_name,cid,grant_type,expires_at"
    );
}

#[test]
fn simulator_sizes_beyond_the_maximum_are_usage_errors() {
    for args in [
        &["--simulate", "--sim-users", "100000000", "users", "list"][..],
        &["sim", "--sim-users", "100000000"],
        &["--sim-users", "18446744073709551616", "sim"],
    ] {
        let out = run(args, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--sim-users"), "{stderr}");
        assert!(stderr.contains("200000"), "names the maximum: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "nothing started: {}",
            text(&out.stdout)
        );
    }
}

//! The everyday questions as flags (`--never-logged-in`, `--role`, `--last-login-before`,
//! `--created-before`, `--status`, `--privileged`) in `users list` and `inventory`: the same
//! users as filtering the inventory by hand, FQL sent only for what the service can filter,
//! and clear refusals of bad input.

use std::process::Output;

use falcon_users::api::operations::{QUERY_USER_V1, RETRIEVE_USERS_GET_V1};
use falcon_users_httpmock::envelope::{entities, page};
use httpmock::Method::{GET, POST};
use serde_json::{Value, json};

use crate::support::*;

/// `--simulate` on `state`'s tenant (the embedded default: generated users), JSON out.
fn sim(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate", "-f", "json"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .output()
        .expect("the binary runs")
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    &out.stdout
}

/// The logins of `rows`, sorted.
fn logins<'a>(rows: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut uids: Vec<String> = rows
        .into_iter()
        .map(|u| u["uid"].as_str().expect("a login").to_owned())
        .collect();
    uids.sort();
    uids
}

/// The logins `users list ARGS` prints, sorted, and its stderr.
fn listed(state: &SimState, args: &[&str]) -> (Vec<String>, String) {
    let mut all = vec!["users", "list"];
    all.extend_from_slice(args);
    let out = sim(state, &all);
    let users: Value = serde_json::from_slice(ok(&out)).expect("a JSON list");
    (
        logins(users.as_array().expect("a list of users")),
        text(&out.stderr),
    )
}

#[test]
fn each_question_gives_the_users_the_inventory_gives_when_filtered_by_hand() {
    let state = SimState::new();
    // The whole tenant, each user with their grants, as JSON lines.
    let out = sim(&state, &["inventory"]);
    let rows: Vec<Value> = text(ok(&out))
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let holds = |row: &Value, role: &str| {
        row["grants"]
            .as_array()
            .expect("grants")
            .iter()
            .any(|g| g["role_id"] == role)
    };
    let login = |row: &Value| row["last_login_at"].as_str().map(str::to_owned);
    let june = "2026-06-01T00:00:00Z";
    type Keep<'a> = Box<dyn Fn(&Value) -> bool + 'a>;
    let cases: Vec<(&[&str], Keep, &str)> = vec![
        (
            &["--never-logged-in"],
            Box::new(|r: &Value| login(r).is_none()),
            "filtered here: never logged in (every user",
        ),
        (
            &["--role", "Falcon Administrator"],
            Box::new(|r: &Value| holds(r, "falcon_administrator")),
            "filtered here: role Falcon Administrator (every user the rest of the query lists \
             is read, with their grants",
        ),
        (
            &["--last-login-before", "2026-06-01"],
            // RFC 3339 in UTC with `Z`, as the service writes it: compared as text.
            Box::new(|r: &Value| login(r).is_some_and(|t| t.as_str() < june)),
            "filtered here: last login before 2026-06-01T00:00:00Z",
        ),
        (
            &["--created-before", "2025-04-01T00:00:00+00:00"],
            Box::new(|r: &Value| r["created_at"].as_str().is_some_and(|t| t < "2025-04-01")),
            "filtered here: created before 2025-04-01T00:00:00Z",
        ),
        (
            &["--status", "inactive"],
            Box::new(|r: &Value| r["status"] == "inactive"),
            "note: filtered by the service: status inactive\n",
        ),
    ];
    for (flags, keep, note) in cases {
        let by_hand = logins(rows.iter().filter(|r| keep(r)));
        // Each question picks some users and leaves others: the comparison means something.
        assert!(
            !by_hand.is_empty() && by_hand.len() < rows.len(),
            "{flags:?}: {} of {} users",
            by_hand.len(),
            rows.len()
        );
        let (flagged, stderr) = listed(&state, flags);
        assert_eq!(flagged, by_hand, "users list {flags:?}");
        assert!(stderr.contains(note), "users list {flags:?}: {stderr}");
        // The same flag in `inventory` keeps the same users, with their grants.
        let mut args = vec!["inventory"];
        args.extend_from_slice(flags);
        let out = sim(&state, &args);
        let inventory: Vec<Value> = text(ok(&out))
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(logins(&inventory), by_hand, "inventory {flags:?}");
        assert!(inventory.iter().all(|r| r["grants"].is_array()));
        assert!(text(&out.stderr).contains(note), "{}", text(&out.stderr));
    }
}

#[test]
fn questions_combine_and_privileged_keeps_the_administrators() {
    let state = SimState::new();
    let (admins, _) = listed(&state, &["--role", "falcon_administrator"]);
    let (privileged, stderr) = listed(&state, &["--privileged"]);
    assert!(stderr.contains("filtered here: privileged"), "{stderr}");
    // Falcon Administrator is privileged whatever its permissions say of it in the simulator
    // (it administers users); more roles are, so more users.
    assert!(admins.iter().all(|a| privileged.contains(a)), "{admins:?}");
    assert!(privileged.len() > admins.len());
    let (both, stderr) = listed(
        &state,
        &["--role", "Falcon Administrator", "--status", "active"],
    );
    assert!(
        stderr.contains("filtered by the service: status active; filtered here: role"),
        "{stderr}"
    );
    let (active, _) = listed(&state, &["--status", "active"]);
    let expected: Vec<String> = admins
        .iter()
        .filter(|a| active.contains(a))
        .cloned()
        .collect();
    assert_eq!(both, expected);
}

#[test]
fn bad_dates_and_unknown_roles_are_refused_naming_them() {
    let state = SimState::new();
    for (flag, value) in [
        ("--last-login-before", "2026-13-01"),
        ("--created-before", "June 1st"),
        ("--last-login-before", "2026-06-01T25:00:00Z"),
    ] {
        for command in [&["users", "list"][..], &["inventory"]] {
            let mut args = command.to_vec();
            args.extend_from_slice(&[flag, value]);
            let out = sim(&state, &args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!(
                    "invalid value '{value}' for '{flag} <DATE>': \"{value}\" is not a date \
                     (YYYY-MM-DD) or an RFC 3339 time"
                )),
                "{args:?}: {stderr}"
            );
            assert!(out.stdout.is_empty());
        }
    }
    let out = sim(&state, &["users", "list", "--role", "Falcon Adminstrator"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "invalid role: no role \"Falcon Adminstrator\" in this CID; did you mean Falcon \
             Administrator?"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty() || text(&out.stdout).trim() == "[]");
    let out = sim(&state, &["users", "list", "--status", "pending"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid value 'pending' for '--status <STATUS>'"));
    let out = sim(
        &state,
        &[
            "users",
            "list",
            "--never-logged-in",
            "--last-login-before",
            "2026-06-01",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot be used with"));
    // A snapshot of some users would read, in the history, as everyone else losing access.
    let out = sim(&state, &["inventory", "--save", "--never-logged-in"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'--save' cannot be used with '--never-logged-in'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn only_what_the_service_can_filter_is_sent_as_fql() {
    let server = mock_server();
    let users = json!([
        {"uuid": "a1", "uid": "never@example.com", "status": "inactive"},
        {"uuid": "b2", "uid": "seen@example.com", "status": "inactive",
         "last_login_at": "2026-05-01T00:00:00Z"},
    ]);
    // The status is the service's to filter; the login time is not (it refuses
    // `last_login_at:null`), so the filter sent is the status alone.
    let query = server.mock(|when, then| {
        when.method(GET)
            .path(QUERY_USER_V1.path)
            .query_param("filter", "(last_name:'Lee')+status:'inactive'");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(page(json!(["a1", "b2"]), 0, 500, 2));
    });
    let entities_read = server.mock(|when, then| {
        when.method(POST).path(RETRIEVE_USERS_GET_V1.path);
        then.status(200)
            .header("content-type", "application/json")
            .json_body(entities(users, json!([])));
    });
    let out = run_against(
        &server,
        &[
            "-f",
            "json",
            "users",
            "list",
            "--filter",
            "last_name:'Lee'",
            "--status",
            "inactive",
            "--never-logged-in",
        ],
    );
    let listed: Value = serde_json::from_slice(ok(&out)).expect("JSON");
    assert_eq!(logins(listed.as_array().unwrap()), ["never@example.com"]);
    query.assert_calls(1);
    entities_read.assert_calls(1);
    assert!(
        text(&out.stderr).contains(
            "note: filtered by the service: status inactive; filtered here: never logged in \
             (every user the rest of the query lists is read to be filtered)"
        ),
        "{}",
        text(&out.stderr)
    );
}

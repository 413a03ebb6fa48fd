//! Bulk commands through the binary on the embedded simulator (a state file kept between
//! runs): `provision --from`, `offboard` of several users with `--missing-ok`, `grants set
//! --users-from`, their dry runs, second runs and exit codes.

use std::path::Path;

use serde_json::Value;

use crate::support::{SimState, command, text};

/// Runs the binary on `state`'s tenant, as JSON, answering nothing.
fn run(state: &SimState, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--simulate", "-f", "json"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .output()
        .expect("the binary runs")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The `outcome` of each row of a result table, by login.
fn outcomes(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)
        .as_array()
        .expect("a result table")
        .iter()
        .map(|r| {
            (
                r["uid"].as_str().unwrap_or_default().to_owned(),
                r["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(u, o)| ((*u).to_owned(), (*o).to_owned()))
        .collect()
}

#[test]
fn provision_from_a_roster_dry_run_then_create_then_nothing_left() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "joiners.csv",
        "uid,first_name,last_name,roles\n\
         ann@corp.example.com,Ann,Lee,falcon_console_guest\n\
         bob@corp.example.com,Bob,Ray,\"Falcon Console Guest;Falcon Analyst\"\n",
    );
    let dry = run(&state, &["provision", "--from", &roster, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert_eq!(json(&dry)["changes"].as_array().unwrap().len(), 2);
    let still = run(&state, &["provision", "--from", &roster, "--dry-run"]);
    assert_eq!(
        json(&still)["changes"].as_array().unwrap().len(),
        2,
        "the dry run created nobody"
    );

    let refused = run(&state, &["provision", "--from", &roster]);
    assert_eq!(refused.status.code(), Some(6), "{}", text(&refused.stderr));

    let done = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert_eq!(
        outcomes(&done),
        pairs(&[
            ("ann@corp.example.com", "done"),
            ("bob@corp.example.com", "done")
        ])
    );
    let again = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    // Not looked up first: the plan shown says so rather than promising two creates.
    let said = text(&again.stderr);
    assert!(
        said.contains("plan: 2 to create, or to complete where the login exists")
            && said.contains("0 done, 2 already done"),
        "{said}"
    );
    assert_eq!(
        outcomes(&again),
        pairs(&[
            ("ann@corp.example.com", "already done"),
            ("bob@corp.example.com", "already done")
        ])
    );

    let bad = write(
        dir.path(),
        "bad.csv",
        "uid,roles\ncid@corp.example.com,falcon_console_gest\n",
    );
    let out = run(&state, &["--yes", "provision", "--from", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("row 2"), "{}", text(&out.stderr));
    let both = run(&state, &["provision", "x@corp.example.com", "--from", &bad]);
    assert_eq!(both.status.code(), Some(2), "a login and --from conflict");
}

#[test]
fn offboard_of_several_users_with_and_without_missing_ok() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "r.csv",
        "uid,roles\na@corp.example.com,falcon_console_guest\nb@corp.example.com,falcon_console_guest\nc@corp.example.com,falcon_console_guest\n",
    );
    let made = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(made.status.success(), "{}", text(&made.stderr));

    let dry = run(
        &state,
        &[
            "offboard",
            "a@corp.example.com",
            "b@corp.example.com",
            "--dry-run",
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    // a by its UUID: the table names it by login.
    let listed = run(
        &state,
        &["users", "list", "--filter", "uid:'a@corp.example.com'"],
    );
    let uuid = json(&listed)[0]["uuid"].as_str().unwrap().to_owned();
    let out = run(
        &state,
        &[
            "--yes",
            "offboard",
            &uuid,
            "gone@corp.example.com",
            "--missing-ok",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("a@corp.example.com", "done"),
            ("gone@corp.example.com", "absent")
        ])
    );

    // From a file; an absent user without --missing-ok fails its row (exit 5), the others are done.
    let list = write(
        dir.path(),
        "leavers.txt",
        "# leavers\nb@corp.example.com\n\nnobody@corp.example.com\n",
    );
    let out = run(&state, &["--yes", "offboard", "--from", &list]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    // One outcome per user: 2 users, 2 counted.
    assert!(
        text(&out.stderr).contains("1 done, 0 already done, 0 unchanged, 0 absent, 1 failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("b@corp.example.com", "done"),
            ("nobody@corp.example.com", "failed")
        ])
    );
    // The roster's uid column works as a list too: only c is left.
    let out = run(
        &state,
        &["--yes", "offboard", "--from", &roster, "--missing-ok"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("c@corp.example.com", "done"),
            ("a@corp.example.com", "absent"),
            ("b@corp.example.com", "absent")
        ])
    );
}

#[test]
fn grants_set_for_users_from_a_file_is_idempotent() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "r.csv",
        "uid,roles\na@corp.example.com,falcon_console_guest\nb@corp.example.com,\"falcon_console_guest;falconhost_read_only\"\n",
    );
    let made = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let users = write(
        dir.path(),
        "team.txt",
        "a@corp.example.com\nb@corp.example.com\n",
    );
    let set = ["grants", "set", "--users-from", &users, "Falcon Read Only"];
    let out = run(&state, &[&["--yes"][..], &set[..]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("a@corp.example.com", "done"),
            ("b@corp.example.com", "done")
        ])
    );
    let list = run(&state, &["grants", "list", "b@corp.example.com"]);
    let roles: Vec<String> = json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["role_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(roles, ["falconhost_read_only"]);
    let again = run(&state, &[&["--yes"][..], &set[..]].concat());
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        outcomes(&again),
        pairs(&[
            ("a@corp.example.com", "unchanged"),
            ("b@corp.example.com", "unchanged")
        ])
    );
    let unknown = run(
        &state,
        &[
            "--yes",
            "grants",
            "set",
            "--users-from",
            &users,
            "Falcon Reed Only",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));
    assert!(text(&unknown.stderr).contains("did you mean"));
    let no_users = run(&state, &["--yes", "grants", "set", "falcon_console_guest"]);
    assert_eq!(no_users.status.code(), Some(2));
}

#[test]
fn a_bulk_command_journals_each_action_when_asked_and_appends_on_a_second_run() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "r.csv",
        "uid,roles\nj1@corp.example.com,falcon_console_guest\nj2@corp.example.com,falcon_console_guest\n",
    );
    let journal = dir.path().join("bulk.journal.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let made = run(
        &state,
        &[
            "--yes",
            "provision",
            "--from",
            &roster,
            "--journal",
            journal_arg,
        ],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let lines = |path: &Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    };
    let entries = lines(&journal);
    // A create and a grant for each user, each written ahead (`started`), then done with its
    // time and trace id.
    assert_eq!(entries.len(), 8, "{entries:?}");
    let (started, ended): (Vec<&Value>, Vec<&Value>) =
        entries.iter().partition(|e| e["outcome"] == "started");
    assert_eq!(started.len(), 4, "{entries:?}");
    for (i, entry) in entries.iter().enumerate() {
        let ahead = entries[..i].iter().any(|s| {
            s["outcome"] == "started" && s["uid"] == entry["uid"] && s["action"] == entry["action"]
        });
        assert!(
            entry["outcome"] == "started" || ahead,
            "not written ahead: {entry}"
        );
    }
    for entry in ended {
        assert_eq!(entry["outcome"], "done", "{entry}");
        assert!(
            entry["time"].is_string() && entry["trace_id"].is_string(),
            "{entry}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&journal).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let gone = run(
        &state,
        &[
            "--yes",
            "offboard",
            "j1@corp.example.com",
            "--journal",
            journal_arg,
        ],
    );
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    let entries = lines(&journal);
    assert!(entries.len() > 8, "appended: {entries:?}");
    assert!(
        entries[8..]
            .iter()
            .all(|e| e["uid"] == "j1@corp.example.com"
                && (e["outcome"] == "started" || e["outcome"] == "done")),
        "{entries:?}"
    );

    // A journal that cannot be opened stops before any change (exit 7).
    let blocked = run(
        &state,
        &[
            "--yes",
            "offboard",
            "j2@corp.example.com",
            "--journal",
            dir.path().join("missing-dir/j.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(blocked.status.code(), Some(7), "{}", text(&blocked.stderr));
    let still = run(&state, &["users", "get", "j2@corp.example.com"]);
    assert!(still.status.success(), "{}", text(&still.stderr));
}

/// Granting a role the user holds changes nothing and says `already held`.
#[test]
fn granting_a_held_role_says_already_held() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "r.csv",
        "uid,roles\nheld@corp.example.com,falcon_console_guest\n",
    );
    let made = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let out = run(
        &state,
        &[
            "--yes",
            "grants",
            "grant",
            "held@corp.example.com",
            "falcon_console_guest",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("already held: held@corp.example.com holds falcon_console_guest")
            && !said.contains("granted"),
        "{said}"
    );
}

/// A job the grammar cannot refuse (`grants set` naming no users) is refused before anything
/// else: without credentials it is the usage error, not the missing credentials; with a
/// server, no request reaches it.
#[test]
fn a_bad_job_is_refused_before_connecting() {
    let out = crate::support::run(&["grants", "set", "falcon_console_guest"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("grants set needs --users-from FILE or --filter FQL"),
        "{err}"
    );
    let server = httpmock::MockServer::start();
    let anything = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let out = crate::support::run_against(&server, &["grants", "set", "falcon_console_guest"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(anything.calls(), 0);
}

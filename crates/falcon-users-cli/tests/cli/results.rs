//! What results say, on the embedded default tenant: the CID each change went to (never
//! `own`), the same words for what became of a change in every command, the login beside a
//! grant's UUID, and the columns a reviewer reads of every user.

use std::process::Output;

use serde_json::Value;

use crate::support::{SimState, command, text};

/// `--simulate` on `state`'s tenant, JSON out, nothing answered.
fn sim(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate", "-f", "json"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .output()
        .expect("the binary runs")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The CID the embedded default acts in: its internal users' home.
fn own_cid(state: &SimState) -> String {
    let users = json(&sim(state, &["users", "list"]));
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_type"] == "internal")
        .and_then(|u| u["cid"].as_str())
        .expect("an internal user with a CID")
        .to_owned()
}

#[test]
fn bulk_results_name_the_cid_and_say_what_became_of_each_change_in_one_vocabulary() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let own = own_cid(&state);
    let team = dir.path().join("team.txt");
    std::fs::write(&team, "a@corp.example.com\nb@corp.example.com\n").unwrap();
    let team = team.to_str().unwrap();
    assert!(
        sim(
            &state,
            &[
                "--yes",
                "provision",
                "a@corp.example.com",
                "--roles",
                "falcon_console_guest"
            ]
        )
        .status
        .success()
    );
    // One change to make (b), one found made (a), one user who does not exist (c).
    let roster = dir.path().join("people.csv");
    std::fs::write(
        &roster,
        "uid,first_name,last_name,roles\n\
         a@corp.example.com,A,Lee,falcon_console_guest\n\
         b@corp.example.com,B,Lee,falcon_console_guest\n",
    )
    .unwrap();
    let rows = json(&sim(
        &state,
        &["--yes", "provision", "--from", roster.to_str().unwrap()],
    ));
    let rows = rows.as_array().expect("result rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert_eq!(row["cid"], own.as_str(), "{row}");
    }
    let granted = json(&sim(
        &state,
        &[
            "--yes",
            "grants",
            "grant",
            "--users-from",
            team,
            "falconhost_read_only",
        ],
    ));
    let again = json(&sim(
        &state,
        &[
            "--yes",
            "grants",
            "grant",
            "--users-from",
            team,
            "falconhost_read_only",
        ],
    ));
    for rows in [&granted, &again] {
        for row in rows.as_array().expect("result rows") {
            assert_eq!(row["cid"], own.as_str(), "{row}");
            let outcome = row["outcome"].as_str().unwrap();
            assert!(
                [
                    "done",
                    "already done",
                    "unchanged",
                    "absent",
                    "failed",
                    "not started"
                ]
                .contains(&outcome),
                "{row}"
            );
        }
    }
    let words = |rows: &Value| -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(words(&granted), ["done", "done"]);
    assert_eq!(words(&again), ["unchanged", "unchanged"]);
    // A single provisioning says it in the same words, beside its own status.
    let once = json(&sim(
        &state,
        &[
            "--yes",
            "provision",
            "c@corp.example.com",
            "--roles",
            "falcon_console_guest",
        ],
    ));
    assert_eq!(
        (&once["outcome"], &once["status"]),
        (&"done".into(), &"created".into())
    );
    let twice = json(&sim(
        &state,
        &[
            "--yes",
            "provision",
            "c@corp.example.com",
            "--roles",
            "falcon_console_guest",
        ],
    ));
    assert_eq!(
        (&twice["outcome"], &twice["status"]),
        (&"already done".into(), &"already provisioned".into())
    );
}

#[test]
fn users_list_always_carries_what_a_reviewer_reads_and_grants_name_the_login() {
    let state = SimState::new();
    let users = json(&sim(&state, &["users", "list"]));
    let users = users.as_array().unwrap();
    for user in users {
        for field in ["status", "created_at", "last_login_at"] {
            assert!(user.get(field).is_some(), "{field} missing: {user}");
        }
    }
    // The embedded default has users who never logged in: their time is null, not absent.
    let never = users
        .iter()
        .find(|u| u["last_login_at"].is_null())
        .expect("a user who never logged in");
    assert!(never["created_at"].is_string());
    let holder = json(&sim(
        &state,
        &[
            "users",
            "list",
            "--role",
            "falcon_administrator",
            "--limit",
            "1",
        ],
    ));
    let (uid, uuid) = (
        holder[0]["uid"].as_str().unwrap().to_owned(),
        holder[0]["uuid"].as_str().unwrap().to_owned(),
    );
    for named in [&uid, &uuid] {
        let grants = json(&sim(&state, &["grants", "list", named]));
        let grants = grants.as_array().unwrap();
        assert!(!grants.is_empty());
        for grant in grants {
            assert_eq!(
                (&grant["uid"], &grant["uuid"]),
                (&uid.as_str().into(), &uuid.as_str().into())
            );
        }
    }
}

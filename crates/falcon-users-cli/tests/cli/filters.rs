//! FQL through `--filter` and `--scope` as CrowdStrike's own libraries write it (spaces around
//! `:`, `+` and `,`, value lists, the wildcard and text-match operators, ORed groups), run by
//! the binary against the embedded simulator: each selects exactly the users it names.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{SimState, command, text};

/// Runs `--simulate` on `state`'s tenant (no generated users), JSON out.
fn sim(state: &SimState, args: &[&str]) -> Output {
    let file = state.file().to_str().expect("a UTF-8 path");
    let mut all = vec![
        "--simulate",
        "--sim-state",
        file,
        "--sim-users",
        "0",
        "-f",
        "json",
    ];
    all.extend_from_slice(args);
    command(&all, &[]).output().expect("the binary runs")
}

fn ok(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The logins `users list --filter filter` prints, sorted.
fn listed(state: &SimState, filter: &str) -> Vec<String> {
    let users = ok(&sim(state, &["users", "list", "--filter", filter]));
    let mut uids: Vec<String> = users
        .as_array()
        .expect("a list of users")
        .iter()
        .map(|u| u["uid"].as_str().expect("a login").to_owned())
        .collect();
    uids.sort();
    uids
}

/// A tenant of four users: Ann and Cy Avery, Bo and Dee Baker (Dee at another domain).
fn tenant(dir: &Path) -> SimState {
    let state = SimState::new();
    let roster = dir.join("people.csv");
    std::fs::write(
        &roster,
        "uid,first_name,last_name,roles\n\
         ann@corp.example.com,Ann,Avery,falcon_console_guest\n\
         bo@corp.example.com,Bo,Baker,falcon_console_guest\n\
         cy@corp.example.com,Cy,Avery,falcon_console_guest\n\
         dee@other.example.com,Dee,Baker,falcon_console_guest\n",
    )
    .unwrap();
    let roster = roster.to_str().unwrap();
    ok(&sim(&state, &["--yes", "provision", "--from", roster]));
    state
}

const ANN: &str = "ann@corp.example.com";
const BO: &str = "bo@corp.example.com";
const CY: &str = "cy@corp.example.com";
const DEE: &str = "dee@other.example.com";

#[test]
fn users_list_takes_fql_as_crowdstrikes_libraries_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = tenant(dir.path());
    for (filter, expected) in [
        (
            "first_name: 'Ann' , last_name:['Baker']",
            &[ANN, BO, DEE][..],
        ),
        (
            "last_name: ['Avery','Baker'] + first_name: !'Cy'",
            &[ANN, BO, DEE],
        ),
        ("first_name: ['Ann', \"Cy\"]", &[ANN, CY]),
        ("uid:*'*@other*'", &[DEE]),
        ("name:~'AVERY'", &[ANN, CY]),
        (
            "(first_name:'Ann'+last_name:'Avery'),(first_name:'Bo'+last_name:'Baker')",
            &[ANN, BO],
        ),
        ("last_name: ['baker']", &[]),
    ] {
        assert_eq!(listed(&state, filter), expected, "{filter:?}");
    }
    // A field the users query does not list is refused, named, with the API's exit code.
    let refused = sim(&state, &["users", "list", "--filter", "created_at:>'2020'"]);
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("HTTP 400: invalid filter: cannot filter on \"created_at\""),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn bulk_grants_and_a_roster_scope_take_the_same_forms() {
    let dir = tempfile::tempdir().unwrap();
    let state = tenant(dir.path());
    // Grant to the Bakers, chosen by a list with spaces around it.
    ok(&sim(
        &state,
        &[
            "--yes",
            "grants",
            "grant",
            "falconhost_read_only",
            "--filter",
            "last_name: ['Baker'] ",
        ],
    ));
    for (uid, expected) in [(ANN, false), (BO, true), (CY, false), (DEE, true)] {
        let grants = ok(&sim(&state, &["grants", "list", uid]));
        let held = grants
            .as_array()
            .expect("a list of grants")
            .iter()
            .any(|g| g["role_id"] == "falconhost_read_only");
        assert_eq!(held, expected, "{uid}");
    }
    // A roster of Ann alone, pruning within a scope of the corp.example.com Averys and Bo:
    // Cy and Bo are offboarded, Dee (out of scope) is not.
    let roster = dir.path().join("ann.csv");
    std::fs::write(
        &roster,
        "uid,roles\nann@corp.example.com,falcon_console_guest\n",
    )
    .unwrap();
    let plan = ok(&sim(
        &state,
        &[
            "plan",
            roster.to_str().unwrap(),
            "--mode",
            "exact",
            "--prune",
            "--scope",
            "uid: *'*@corp.example.com' + ( last_name: ['Avery'] , first_name: 'bo' )",
        ],
    ));
    let mut offboarded: Vec<&str> = plan["changes"]
        .as_array()
        .expect("the plan's changes")
        .iter()
        .filter(|c| c["after"].is_null())
        .map(|c| c["uid"].as_str().expect("a login"))
        .collect();
    offboarded.sort();
    assert_eq!(offboarded, [BO, CY], "{plan}");
}

//! The review history on the binary, against the embedded simulator: `review` records a
//! snapshot beside the simulated tenant, `history diff` shows exactly what changed between two
//! reviews, `history who-had` answers from them, `--no-history` records nothing, and a history
//! that cannot be used (a symlink, a damaged file) is refused clearly after the review's output
//! (exit 7).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::*;

fn sim(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .output()
        .expect("the binary runs")
}

/// The history beside the simulated tenant.
fn history_of(state: &SimState) -> PathBuf {
    state.file().parent().unwrap().join("history.sqlite")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn json_lines(out: &Output) -> Vec<Value> {
    ok(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A user holding no role: granted one, it is the only change.
fn roleless_user(state: &SimState) -> String {
    let out = sim(state, &["-f", "json", "review"]);
    let doc: Value = serde_json::from_str(&ok(&out)).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"] == "no-roles")
        .and_then(|f| f["uid"].as_str())
        .expect("a no-roles finding")
        .to_owned()
}

#[test]
fn review_grant_review_diff_shows_exactly_that_change() {
    let state = SimState::new();
    let uid = roleless_user(&state);
    assert!(
        history_of(&state).exists(),
        "the review recorded its snapshot"
    );
    ok(&sim(
        &state,
        &["grants", "grant", &uid, "falcon_administrator"],
    ));
    let second = sim(&state, &["-f", "csv", "review"]);
    ok(&second);
    assert!(
        text(&second.stderr).contains("history: snapshot 2 recorded in"),
        "{}",
        text(&second.stderr)
    );

    let list: Value = serde_json::from_str(&ok(&sim(&state, &["-f", "json", "history", "list"])))
        .expect("one JSON document");
    let list = list.as_array().expect("an array").clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["kind"], "review");
    assert_eq!(list[0]["users"], 200);
    assert_eq!(list[1]["grants"], list[0]["grants"].as_u64().unwrap() + 1);

    let diff = sim(&state, &["-f", "json", "history", "diff"]);
    let changes = json_lines(&diff);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["change"], "role-gained");
    assert_eq!(changes[0]["login"], uid.as_str());
    assert_eq!(changes[0]["role_id"], "falcon_administrator");
    assert_eq!(changes[0]["privileged"], true);
    assert!(
        text(&diff.stderr)
            .contains("0 joiners, 0 leavers, 1 roles gained (1 privileged), 0 roles lost"),
        "{}",
        text(&diff.stderr)
    );
    // Named explicitly, the other way round: the role is lost.
    let back = json_lines(&sim(&state, &["-f", "json", "history", "diff", "2", "1"]));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["change"], "role-lost");

    // Who held it today: the new holder is not sure (seen on the later snapshot only), the
    // others are.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let who = sim(
        &state,
        &[
            "-f",
            "csv",
            "history",
            "who-had",
            "Falcon Administrator",
            "--on",
            &today,
        ],
    );
    let out = ok(&who);
    let (header, mut rows) = csv_header(out.as_bytes());
    let uid_col = header.iter().position(|h| h == "uid").unwrap();
    let sure_col = header.iter().position(|h| h == "sure").unwrap();
    let answer_col = header.iter().position(|h| h == "answer").unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let new = rows
        .iter()
        .find(|r| r[uid_col] == *uid)
        .expect("the new holder");
    assert_eq!(&new[sure_col], "no");
    assert!(
        new[answer_col].contains("unknown"),
        "{:?}",
        &new[answer_col]
    );
    assert!(rows.iter().filter(|r| &r[sure_col] == "yes").count() >= 1);
    assert!(
        text(&who.stderr).contains("(falcon_administrator)"),
        "{}",
        text(&who.stderr)
    );
}

#[test]
fn no_history_records_nothing_and_inventory_save_records_one() {
    let state = SimState::new();
    ok(&sim(&state, &["-f", "json", "review", "--no-history"]));
    assert!(!history_of(&state).exists());
    ok(&sim(&state, &["-f", "json", "inventory"]));
    assert!(
        !history_of(&state).exists(),
        "inventory records only with --save"
    );
    let other = state.file().parent().unwrap().join("chosen.sqlite");
    let other = other.to_str().unwrap();
    ok(&sim(
        &state,
        &["-f", "json", "inventory", "--save", "--history", other],
    ));
    assert!(!history_of(&state).exists());
    let list = ok(&sim(
        &state,
        &["-f", "json", "history", "list", "--history", other],
    ));
    let list: Value = serde_json::from_str(&list).expect("one JSON document");
    assert_eq!(list[0]["kind"], "inventory");
    assert_eq!(list[0]["users"], 200);
    let missing = sim(&state, &["history", "list"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("no history at"),
        "{}",
        text(&missing.stderr)
    );
}

/// A history that cannot be used: the review's output is still complete on stdout, the error
/// names the file and why, exit 7.
fn refused(state: &SimState, history: &Path, why: &str) {
    let out = sim(
        state,
        &[
            "-f",
            "json",
            "review",
            "--history",
            history.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_str(&text(&out.stdout)).expect("the review's output");
    assert_eq!(doc["summary"]["users"], 200);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("error: history {}", history.display())),
        "{err}"
    );
    assert!(err.contains(why), "{err}");
    assert!(
        err.contains("the review's output is complete, its snapshot is not recorded"),
        "{err}"
    );
}

#[test]
fn a_symlink_or_a_damaged_history_is_refused_after_the_output() {
    let state = SimState::new();
    // The state directory exists once the tenant is saved.
    ok(&sim(&state, &["roles", "list"]));
    let dir = state.file().parent().unwrap().to_owned();
    let target = dir.join("elsewhere.sqlite");
    let link = dir.join("link.sqlite");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused(&state, &link, "is a symlink");
    assert!(!target.exists(), "nothing was written through the link");

    let damaged = dir.join("damaged.sqlite");
    std::fs::write(&damaged, "not a database at all\n".repeat(200)).unwrap();
    refused(&state, &damaged, "not a falcon-users history, or damaged");
}

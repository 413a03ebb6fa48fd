//! The decision loop on the binary, against the embedded simulator: `review --decisions`
//! writes the sheet, a reviewer fills it in, `review apply` carries it out through the apply
//! machinery and signs the review off in the history (`history show`), and `history diff`
//! shows exactly what it changed. A sheet that no longer matches the tenant, is undecided, has
//! an unknown decision, was edited or comes from another review is refused before any change;
//! a dry run changes nothing; the guardrails and the confirmation hold.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::*;

/// The embedded simulator with its state in `state`, run in `dir` (where the sheet is).
fn sim(state: &SimState, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--simulate"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .current_dir(dir)
        .env("USER", "ana")
        .output()
        .expect("the binary runs")
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

/// Exit 2 (refused before any change), with a message naming each of `parts`.
fn refused(out: &Output, parts: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for part in parts {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
}

/// A sheet as read: the header and the rows, each a list of cells.
struct Sheet {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Sheet {
    fn read(path: &Path) -> Sheet {
        let bytes = std::fs::read(path).expect("the sheet");
        let (header, mut reader) = csv_header(&bytes);
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        Sheet { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).expect(name)
    }

    fn cell(&self, row: usize, name: &str) -> &str {
        &self.rows[row][self.col(name)]
    }

    fn set(&mut self, row: usize, name: &str, value: &str) {
        let c = self.col(name);
        self.rows[row][c] = value.to_owned();
    }

    /// Every row of `finding`, by index.
    fn of(&self, finding: &str) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.cell(i, "finding") == finding)
            .collect()
    }

    /// Every row decided `keep`.
    fn all_kept(&mut self) {
        for i in 0..self.rows.len() {
            self.set(i, "decision", "keep");
        }
    }

    /// Saved as a spreadsheet saves it (CRLF line ends).
    fn write(&self, path: &Path) {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_path(path)
            .unwrap();
        out.write_record(&self.header).unwrap();
        for row in &self.rows {
            out.write_record(row).unwrap();
        }
        out.flush().unwrap();
    }
}

/// A review with its sheet `d.csv` in a fresh directory: the review's JSON document, the sheet.
fn reviewed(state: &SimState, dir: &Path) -> (Value, Sheet) {
    // Piped, a review prints its JSON document.
    let out = sim(state, dir, &["review", "--decisions", "d.csv"]);
    let doc: Value = serde_json::from_str(&ok(&out)).expect("the review's JSON");
    assert!(
        text(&out.stderr).contains("decision sheet: d.csv"),
        "{}",
        text(&out.stderr)
    );
    (doc, Sheet::read(&dir.join("d.csv")))
}

/// Two privileged rows of two users, and a stale row of a third user who holds roles.
fn pick(sheet: &Sheet) -> (usize, usize, usize) {
    let privileged = sheet.of("privileged");
    let first = privileged[0];
    let second = *privileged
        .iter()
        .find(|&&i| sheet.cell(i, "uid") != sheet.cell(first, "uid"))
        .expect("two privileged users");
    let taken = [sheet.cell(first, "uid"), sheet.cell(second, "uid")];
    let stale = *sheet
        .of("stale")
        .iter()
        .find(|&&i| !taken.contains(&sheet.cell(i, "uid")))
        .expect("a stale user");
    (first, second, stale)
}

/// The findings of a review as (finding, login, role) triples, a role-finding once per role.
fn findings(doc: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for f in doc["findings"].as_array().unwrap() {
        let kind = f["finding"].as_str().unwrap().to_owned();
        let uid = f["uid"].as_str().unwrap().to_owned();
        let roles: Vec<String> = f["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        if roles.is_empty() {
            out.insert((kind.clone(), uid.clone(), String::new()));
        }
        for role in roles {
            out.insert((kind.clone(), uid.clone(), role));
        }
    }
    out
}

/// Issue 27's walk-through, as the README gives it: two grants revoked and a user offboarded
/// from the sheet, signed off, gone from the next review, and exactly those in the diff.
#[test]
fn the_decision_loop_revokes_offboards_signs_off_and_the_diff_shows_exactly_that() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let (before, mut sheet) = reviewed(&state, dir.path());
    assert_eq!(
        sheet.header,
        [
            "uid",
            "user_uuid",
            "cid",
            "role",
            "role_name",
            "finding",
            "why",
            "decision",
            "comment"
        ]
    );
    // The review's findings, each role of a role-finding its own row, all undecided.
    let in_sheet: BTreeSet<(String, String, String)> = (0..sheet.rows.len())
        .map(|i| {
            (
                sheet.cell(i, "finding").to_owned(),
                sheet.cell(i, "uid").to_owned(),
                sheet.cell(i, "role").to_owned(),
            )
        })
        .collect();
    let per_role: BTreeSet<_> = findings(&before)
        .into_iter()
        .map(|(k, u, r)| match k.as_str() {
            "privileged" | "expiring" | "parent-in-child" | "child-cid-grant" => (k, u, r),
            _ => (k, u, String::new()),
        })
        .collect();
    assert_eq!(in_sheet, per_role);
    assert!((0..sheet.rows.len()).all(|i| sheet.cell(i, "decision").is_empty()));
    let verified = sim(&state, dir.path(), &["review", "verify", "d.csv"]);
    assert!(
        ok(&verified).contains("kind: decisions"),
        "{}",
        ok(&verified)
    );

    let (a, b, c) = pick(&sheet);
    let revoked = [
        (
            sheet.cell(a, "uid").to_owned(),
            sheet.cell(a, "role").to_owned(),
        ),
        (
            sheet.cell(b, "uid").to_owned(),
            sheet.cell(b, "role").to_owned(),
        ),
    ];
    let offboarded = sheet.cell(c, "uid").to_owned();
    let offboarded_roles: Vec<String> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"] == "stale" && f["uid"] == offboarded.as_str())
        .unwrap()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    sheet.all_kept();
    sheet.set(a, "decision", "revoke");
    sheet.set(a, "comment", "left the SOC team");
    sheet.set(b, "decision", "revoke");
    sheet.set(c, "decision", "offboard");
    sheet.set(c, "comment", "=left in June");
    sheet.write(&dir.path().join("d.csv"));

    let applied = sim(&state, dir.path(), &["review", "apply", "d.csv", "--yes"]);
    ok(&applied);
    let said = text(&applied.stderr);
    assert!(
        said.contains("plan: 0 to create, 2 to update, 1 to offboard"),
        "{said}"
    );
    assert!(
        said.contains("history: review 1 signed off by ana (sign-off 1); snapshot 2 recorded"),
        "{said}"
    );
    assert!(
        dir.path().join("d.csv.journal.jsonl").exists(),
        "the journal beside the sheet"
    );

    // A second review no longer reports them.
    let after: Value = serde_json::from_str(&ok(&sim(&state, dir.path(), &["review"]))).unwrap();
    let now = findings(&after);
    for (uid, role) in &revoked {
        assert!(
            !now.contains(&("privileged".into(), uid.clone(), role.clone())),
            "{uid} {role} still reported"
        );
    }
    assert!(
        now.iter().all(|(_, uid, _)| uid != &offboarded),
        "{offboarded} still reported"
    );
    assert_eq!(
        after["summary"]["users"].as_u64().unwrap() + 1,
        before["summary"]["users"].as_u64().unwrap()
    );

    // The sign-off, as evidence of the completed review.
    // Piped, one JSON document.
    let shown: Value =
        serde_json::from_str(&ok(&sim(&state, dir.path(), &["history", "show", "1"]))).unwrap();
    assert_eq!(shown["review"]["id"], 1);
    let signoff = &shown["sign_offs"][0];
    assert_eq!(signoff["reviewer"], "ana");
    assert_eq!(signoff["after"], 2);
    assert_eq!(signoff["complete"], true);
    assert_eq!(signoff["sheet"], "d.csv");
    let decisions = signoff["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), sheet.rows.len());
    let acted: Vec<(String, String, String, String)> = decisions
        .iter()
        .filter(|d| d["decision"] != "keep")
        .map(|d| {
            (
                d["uid"].as_str().unwrap().to_owned(),
                d["decision"].as_str().unwrap().to_owned(),
                d["comment"].as_str().unwrap().to_owned(),
                d["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut want = vec![
        (
            revoked[0].0.clone(),
            "revoke".to_owned(),
            "left the SOC team".to_owned(),
            "done".to_owned(),
        ),
        (
            revoked[1].0.clone(),
            "revoke".into(),
            String::new(),
            "done".into(),
        ),
        (
            offboarded.clone(),
            "offboard".into(),
            "=left in June".into(),
            "done".into(),
        ),
    ];
    want.sort_by_key(|w| {
        decisions
            .iter()
            .position(|d| d["uid"] == w.0.as_str() && d["decision"] == w.1.as_str())
    });
    assert_eq!(acted, want);
    assert!(
        decisions
            .iter()
            .filter(|d| d["decision"] == "keep")
            .all(|d| d["result"] == "kept")
    );
    let table = ok(&sim(
        &state,
        dir.path(),
        &["-f", "table", "history", "show", "1"],
    ));
    assert!(table.contains("sign-off 1: by ana"), "{table}");
    assert!(table.contains("`history diff 1 2`"), "{table}");
    // In CSV the comment a spreadsheet would run is text again.
    let csv = ok(&sim(
        &state,
        dir.path(),
        &["-f", "csv", "history", "show", "1"],
    ));
    assert!(csv.contains(",'=left in June,"), "{csv}");

    // Exactly those changes.
    let diff = sim(
        &state,
        dir.path(),
        &["history", "diff", "1", "2", "-f", "csv"],
    );
    ok(&diff);
    let (header, mut rows) = csv_header(&diff.stdout);
    assert_eq!(header[..3], ["change", "cid", "uid"]);
    let got: BTreeSet<(String, String, String)> = rows
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_owned(), r[2].to_owned(), r[4].to_owned()))
        .collect();
    let mut expected: BTreeSet<(String, String, String)> = revoked
        .iter()
        .map(|(u, r)| ("role-lost".to_owned(), u.clone(), r.clone()))
        .collect();
    expected.insert(("leaver".into(), offboarded.clone(), String::new()));
    for role in offboarded_roles {
        expected.insert(("role-lost".into(), offboarded.clone(), role));
    }
    assert_eq!(got, expected);

    // Run again (as after an interruption): what the journal says was done is already done,
    // not stale, and a second sign-off says so.
    ok(&sim(
        &state,
        dir.path(),
        &["review", "apply", "d.csv", "--yes"],
    ));
    let shown: Value =
        serde_json::from_str(&ok(&sim(&state, dir.path(), &["history", "show", "1"]))).unwrap();
    let again: Vec<&str> = shown["sign_offs"][1]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["decision"] != "keep")
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert_eq!(again, ["already done"; 3]);
}

#[test]
fn rows_the_tenant_no_longer_matches_are_refused_before_any_change() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sheet) = reviewed(&state, dir.path());
    let (a, _, c) = pick(&sheet);
    let (uid, role) = (
        sheet.cell(a, "uid").to_owned(),
        sheet.cell(a, "role").to_owned(),
    );
    let gone = sheet.cell(c, "uid").to_owned();
    sheet.all_kept();
    sheet.set(a, "decision", "revoke");
    sheet.set(c, "decision", "offboard");
    sheet.write(&dir.path().join("d.csv"));
    // Someone else acted since the review.
    ok(&sim(
        &state,
        dir.path(),
        &["--yes", "grants", "revoke", &uid, &role],
    ));
    ok(&sim(&state, dir.path(), &["--yes", "offboard", &gone]));

    let out = sim(&state, dir.path(), &["review", "apply", "d.csv", "--yes"]);
    refused(
        &out,
        &[
            &format!(
                "row {}, row: stale: {uid} no longer holds {role} directly",
                a + 2
            ),
            &format!("row {}, row: stale: {gone} no longer exists", c + 2),
        ],
    );
    let shown = ok(&sim(
        &state,
        dir.path(),
        &["-f", "table", "history", "show", "1"],
    ));
    assert!(shown.contains("not signed off"), "{shown}");
}

#[test]
fn undecided_rows_are_refused_or_skipped_and_unknown_decisions_refused() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sheet) = reviewed(&state, dir.path());
    let rows = sheet.rows.len();
    let (a, b, _) = pick(&sheet);

    let out = sim(&state, dir.path(), &["review", "apply", "d.csv", "--yes"]);
    refused(
        &out,
        &[
            &format!("the decisions were refused ({rows} problems)"),
            "row 2, decision: undecided",
            "row 3, decision: undecided",
        ],
    );

    sheet.set(a, "decision", "Revoke");
    sheet.set(b, "decision", "revokee");
    sheet.write(&dir.path().join("d.csv"));
    let out = sim(
        &state,
        dir.path(),
        &["review", "apply", "d.csv", "--yes", "--skip-undecided"],
    );
    refused(
        &out,
        &[
            "(1 problem)",
            &format!(
                "row {}, decision: \"revokee\" is not a decision: keep, revoke or offboard",
                b + 2
            ),
        ],
    );

    sheet.set(b, "decision", "");
    sheet.write(&dir.path().join("d.csv"));
    let out = sim(
        &state,
        dir.path(),
        &["review", "apply", "d.csv", "--yes", "--skip-undecided"],
    );
    ok(&out);
    let shown: Value = serde_json::from_str(&ok(&sim(
        &state,
        dir.path(),
        &["-f", "json", "history", "show", "1"],
    )))
    .unwrap();
    let results: Vec<&str> = shown["sign_offs"][0]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| **r == "done").count(), 1);
    assert_eq!(
        results.iter().filter(|r| **r == "skipped").count(),
        rows - 1
    );
}

#[test]
fn an_edited_sheet_or_one_of_another_review_is_refused_clearly() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let (_, original) = reviewed(&state, dir.path());
    let (a, b, _) = pick(&original);
    let path = dir.path().join("d.csv");
    let apply = || sim(&state, dir.path(), &["review", "apply", "d.csv", "--yes"]);

    // Another user's login on a row; a CID that is not the review's; a row twice; a formula
    // for a decision.
    let mut edited = Sheet {
        header: original.header.clone(),
        rows: original.rows.clone(),
    };
    edited.all_kept();
    let other = edited.cell(b, "uid").to_owned();
    edited.set(a, "uid", &other);
    edited.set(b, "cid", "0123456789abcdef0123456789abcdef");
    edited.set(1, "decision", "=HYPERLINK(\"x\")");
    let dup = (0..edited.rows.len())
        .rev()
        .find(|i| ![a, b, 1].contains(i))
        .unwrap();
    let copy = edited.rows[dup].clone();
    edited.rows.push(copy);
    edited.write(&path);
    let n = edited.rows.len();
    refused(
        &apply(),
        &[
            &format!("row {}, uid: the review found user", a + 2),
            &format!(
                "row {}, cid: \"0123456789abcdef0123456789abcdef\" is not a CID of review 1",
                b + 2
            ),
            "row 3, decision: \"=HYPERLINK(\\\"x\\\")\" is not a decision",
            &format!("row {}, row: the same finding as row {}", n + 1, dup + 2),
        ],
    );

    // A row of another review: the tenant changed, a second review found a new privileged
    // user, and that row is pasted into the first review's sheet.
    let newcomer = original.of("no-roles")[0];
    let newcomer = original.cell(newcomer, "uid").to_owned();
    ok(&sim(
        &state,
        dir.path(),
        &[
            "--yes",
            "grants",
            "grant",
            &newcomer,
            "falcon_administrator",
        ],
    ));
    let second = sim(&state, dir.path(), &["review", "--decisions", "second.csv"]);
    ok(&second);
    let second = Sheet::read(&dir.path().join("second.csv"));
    let pasted = (0..second.rows.len())
        .find(|&i| second.cell(i, "uid") == newcomer && second.cell(i, "finding") == "privileged")
        .expect("the new privileged finding");
    let mut mixed = Sheet {
        header: original.header.clone(),
        rows: original.rows.clone(),
    };
    mixed.all_kept();
    let mut row = second.rows[pasted].clone();
    row[second.col("decision")] = "revoke".into();
    mixed.rows.push(row);
    mixed.write(&path);
    refused(
        &apply(),
        &[&format!(
            "row {}, row: not a finding of review 1",
            mixed.rows.len() + 1
        )],
    );

    // The sheet's evidence: altered, or missing.
    let sidecar = dir.path().join("d.csv.evidence.json");
    let kept = std::fs::read(&sidecar).unwrap();
    let altered = String::from_utf8(kept.clone())
        .unwrap()
        .replace("\"review_snapshot\": 1", "\"review_snapshot\": 2");
    assert_ne!(altered.as_bytes(), kept.as_slice());
    std::fs::write(&sidecar, altered).unwrap();
    refused(&apply(), &["d.csv.evidence.json was altered"]);
    std::fs::remove_file(&sidecar).unwrap();
    refused(&apply(), &["cannot read d.csv.evidence.json"]);

    // Nothing was changed or signed off.
    let shown = ok(&sim(
        &state,
        dir.path(),
        &["-f", "table", "history", "show", "1"],
    ));
    assert!(shown.contains("not signed off"), "{shown}");
}

#[test]
fn a_dry_run_a_guardrail_and_an_unconfirmed_apply_change_nothing() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let (before, mut sheet) = reviewed(&state, dir.path());
    let (a, _, c) = pick(&sheet);
    sheet.all_kept();
    sheet.set(a, "decision", "revoke");
    sheet.set(c, "decision", "offboard");
    sheet.write(&dir.path().join("d.csv"));

    // The sheet names the review's snapshot: without the history there is none.
    let no_history = sim(
        &state,
        dir.path(),
        &["review", "--decisions", "e.csv", "--no-history"],
    );
    assert_eq!(
        no_history.status.code(),
        Some(2),
        "{}",
        text(&no_history.stderr)
    );
    assert!(!dir.path().join("e.csv").exists());

    let dry = sim(
        &state,
        dir.path(),
        &["review", "apply", "d.csv", "--dry-run"],
    );
    ok(&dry);
    assert!(
        text(&dry.stderr).contains("dry run: nothing was changed"),
        "{}",
        text(&dry.stderr)
    );
    let guarded = sim(
        &state,
        dir.path(),
        &["review", "apply", "d.csv", "--yes", "--max-offboard", "0"],
    );
    refused(
        &guarded,
        &[
            "it would offboard 1 users, more than the limit of 0",
            "--max-offboard 1",
        ],
    );
    // No terminal to ask on, no --yes: not confirmed (exit 6).
    let unconfirmed = sim(&state, dir.path(), &["review", "apply", "d.csv"]);
    assert_eq!(
        unconfirmed.status.code(),
        Some(6),
        "{}",
        text(&unconfirmed.stderr)
    );

    let after: Value = serde_json::from_str(&ok(&sim(
        &state,
        dir.path(),
        &["-f", "json", "review", "--no-history"],
    )))
    .unwrap();
    assert_eq!(findings(&after), findings(&before));
    let shown = ok(&sim(
        &state,
        dir.path(),
        &["-f", "table", "history", "show", "1"],
    ));
    assert!(shown.contains("not signed off"), "{shown}");
    let list: Value = serde_json::from_str(&ok(&sim(
        &state,
        dir.path(),
        &["-f", "json", "history", "list"],
    )))
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "no snapshot after");
}

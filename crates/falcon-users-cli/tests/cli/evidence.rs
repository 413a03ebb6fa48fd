//! Review and inventory files as evidence: each states when, by what, against which cloud and
//! CIDs and with which options it was made, with a SHA-256 digest (in a review's `.json`; in
//! `FILE.evidence.json` beside CSV, JSON lines and JSON arrays), and `review verify FILE` says
//! intact (0), altered (9) or not evidence (2).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// Runs `args` on the embedded simulator kept in `state`.
fn sim_run(state: &SimState, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--simulate"];
    all.extend_from_slice(args);
    command(&all, &state.env())
        .output()
        .expect("the binary runs")
}

/// `review verify FILE`: its exit code and stdout (it connects nowhere: no simulator).
fn verify(file: &Path) -> (Option<i32>, String, String) {
    let out = command(&["review", "verify", file.to_str().unwrap()], &[])
        .output()
        .expect("the binary runs");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Writes `file` with its byte at the first occurrence of `needle` (plus `offset`) changed,
/// checks `review verify` names `part` with exit 9, and puts the file back.
fn edited_is_altered(file: &Path, shown: &Path, needle: &str, offset: usize, part: &str) {
    let original = fs::read(file).unwrap();
    let at = original
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle} in {}", file.display()))
        + offset;
    let mut edited = original.clone();
    // One byte, to another of its kind (a digit stays a digit, a letter a letter).
    edited[at] = match edited[at] {
        b'0' => b'1',
        b'1'..=b'9' => b'0',
        b'a' => b'b',
        b'b'..=b'z' => b'a',
        _ => b'x',
    };
    assert_ne!(edited, original);
    fs::write(file, &edited).unwrap();
    let (code, stdout, stderr) = verify(shown);
    assert_eq!(code, Some(9), "{needle}: {stdout}{stderr}");
    assert!(
        stdout.contains("ALTERED") && stdout.contains(part),
        "{needle}: {stdout}"
    );
    fs::write(file, &original).unwrap();
    assert_eq!(verify(shown).0, Some(0), "put back");
}

fn sidecar(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.evidence.json", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_review_json_file_carries_its_evidence_and_verify_finds_a_one_byte_edit() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = sim_run(
        &state,
        &[
            "review",
            "--stale-days",
            "60",
            "--fail-on",
            "stale",
            "-o",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("evidence: {} (sha256:", path.display())),
        "{stderr}"
    );
    assert!(!sidecar(&path).exists(), "the document carries its own");
    let doc = json(&path);
    // The data keys as they were, then the evidence, the digest last.
    let raw = fs::read_to_string(&path).unwrap();
    let keys = [
        "summary",
        "findings",
        "roles",
        "deleted_during_review",
        "evidence",
        "digest",
    ];
    let at: Vec<usize> = keys
        .iter()
        .map(|k| {
            raw.find(&format!("\n  \"{k}\": "))
                .unwrap_or_else(|| panic!("{k}"))
        })
        .collect();
    assert!(at.is_sorted(), "{at:?}");
    assert_eq!(doc.as_object().unwrap().len(), keys.len());
    let e = &doc["evidence"];
    assert_eq!(e["scheme"], "falcon-users-evidence/1");
    assert_eq!(e["kind"], "review");
    assert!(
        e["made_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .is_ok()
    );
    assert_eq!(e["tools"]["falcon-users-cli"], env!("CARGO_PKG_VERSION"));
    assert_eq!(e["cloud"]["name"], "simulator");
    assert!(
        e["cloud"]["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(e["cid"]["cid"].as_str().unwrap().len(), 32, "{e}");
    assert_eq!(e["options"]["stale_days"], 60);
    assert_eq!(e["options"]["expiring_days"], 7);
    assert_eq!(e["options"]["fail_on"], serde_json::json!(["stale"]));
    assert!(e["options"]["judged_at"].is_string());
    assert!(e["options"]["privileged_roles"].is_null());
    assert!(e["requests"]["requests"].as_u64().unwrap() > 200, "{e}");
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));

    let (code, stdout, stderr) = verify(&path);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("{}: intact", path.display())),
        "{stdout}"
    );
    for shown in [
        "kind: review",
        "cloud: simulator",
        "stale_days=60",
        "made by: falcon-users ",
    ] {
        assert!(stdout.contains(shown), "{shown}: {stdout}");
    }
    // A finding's login, a threshold in the metadata, a digit of the digest.
    edited_is_altered(&path, &path, "@", 1, "the data");
    edited_is_altered(&path, &path, "\"stale_days\": 60", 15, "the metadata");
    edited_is_altered(&path, &path, "\"digest\": \"sha256:", 18, "its digest");
    // The closing brace.
    edited_is_altered(&path, &path, "\"\n}\n", 2, "the digest line");
}

#[test]
fn a_review_page_carries_its_evidence_and_verify_finds_a_one_byte_edit() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.html");
    let out = sim_run(&state, &["review", "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let page = fs::read_to_string(&path).unwrap();
    // The digest printed is the one on the page's last line, over every byte before it.
    let last = page.lines().last().unwrap();
    let digest = last
        .strip_prefix("<!-- ")
        .unwrap()
        .strip_suffix(" -->")
        .unwrap();
    assert!(
        stderr.contains(&format!("evidence: {} ({digest})", path.display())),
        "{stderr}"
    );
    assert!(!sidecar(&path).exists(), "the page carries its own");
    let (code, stdout, stderr) = verify(&path);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("{}: intact", path.display()))
            && stdout.contains("kind: review"),
        "{stdout}"
    );
    // A finding's login, a line of the script, a threshold in the metadata, a digit of the
    // digest, the closing tag after the metadata.
    edited_is_altered(&path, &path, "\"uid\":\"", 7, "the data");
    edited_is_altered(&path, &path, "PAGE_ROWS = ", 12, "the data");
    edited_is_altered(&path, &path, "\"stale_days\": 90", 15, "the metadata");
    edited_is_altered(&path, &path, "<!-- sha256:", 12, "its digest");
    edited_is_altered(&path, &path, "</html>", 3, "the metadata or its digest");
    // The digest line gone.
    fs::write(&path, page.strip_suffix(&format!("{last}\n")).unwrap()).unwrap();
    let (code, stdout, _) = verify(&path);
    assert_eq!(code, Some(9), "{stdout}");
    assert!(stdout.contains("the digest line is missing"), "{stdout}");
}

#[test]
fn csv_and_json_lines_keep_their_rows_and_carry_their_evidence_beside_them() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    for (command, name, first) in [
        ("review", "r.csv", "finding,uid,"),
        ("review", "r.jsonl", "{\"finding\":"),
        ("inventory", "i.csv", "uuid,uid,"),
        ("inventory", "i.jsonl", "{\"cid\":"),
        ("inventory", "i.json", "[\n{\"cid\":"),
    ] {
        let path = dir.path().join(name);
        let out = sim_run(&state, &[command, "-o", path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let side = sidecar(&path);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("evidence: {} (sha256:", side.display())),
            "{name}: {stderr}"
        );
        let data = fs::read_to_string(&path).unwrap();
        assert!(
            data.starts_with(first),
            "{name}: rows as before: {data:.80}"
        );
        assert!(
            !data.contains("evidence") && !data.contains("sha256"),
            "{name}"
        );
        let e = &json(&side)["evidence"];
        assert_eq!(e["kind"], command, "{name}");
        assert_eq!(e["data"]["file"], name);
        assert_eq!(e["data"]["bytes"], data.len() as u64);
        assert_eq!(e["options"]["concurrency"], 8, "{name}: {e}");

        // Either name works.
        for shown in [&path, &side] {
            let (code, stdout, stderr) = verify(shown);
            assert_eq!(code, Some(0), "{name}: {stdout}{stderr}");
            assert!(stdout.contains(": intact") && stdout.contains(&format!("kind: {command}")));
        }
        // A byte of a row; of the metadata; of the sidecar's digest; and the sidecar's end.
        edited_is_altered(&path, &path, "@", 1, "the data");
        edited_is_altered(&side, &path, "\"kind\": \"", 9, "the metadata");
        edited_is_altered(&side, &side, "\"digest\": \"sha256:", 30, "its digest");
        edited_is_altered(&side, &path, "\"\n}\n", 2, "the digest line");
    }
}

#[test]
fn inventory_files_state_their_options_and_tables_are_not_evidence() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.jsonl");
    let out = sim_run(
        &state,
        &[
            "inventory",
            "--filter",
            "status:'active'",
            "--sort",
            "uid|desc",
            "-o",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let e = &json(&sidecar(&path))["evidence"];
    assert_eq!(e["options"]["filter"], "status:'active'");
    assert_eq!(e["options"]["sort"], "uid|desc");
    assert_eq!(e["options"]["children"], 8);
    assert_eq!(e["member_cids"], serde_json::json!([]));
    assert!(e["requests"]["requests"].as_u64().unwrap() > 0);
    let rows = fs::read_to_string(&path).unwrap().lines().count() as u64;
    assert!(rows > 0);

    let table = dir.path().join("inv.txt");
    let out = sim_run(&state, &["inventory", "-o", table.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!sidecar(&table).exists());
    let (code, _, stderr) = verify(&table);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not evidence"), "{stderr}");
}

#[test]
fn a_fleet_review_names_its_member_cids() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let out = sim_run(
        &state,
        &[
            "review",
            "--member-cids",
            "all",
            "-o",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let e = &json(&path)["evidence"];
    let members = e["member_cids"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{e}");
    for member in members {
        assert_eq!(member["cid"].as_str().unwrap().len(), 32);
        assert!(
            member["with_checksum"].as_str().unwrap().contains('-'),
            "{member}"
        );
        assert!(member["name"].is_string(), "{member}");
    }
    assert_eq!(e["options"]["member_cids"].as_array().unwrap().len(), 2);
    assert_eq!(verify(&path).0, Some(0));
}

#[test]
fn files_that_are_not_evidence_are_a_usage_error() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    // What a review printed on stdout: no metadata.
    let out = sim_run(&state, &["-f", "json", "review"]);
    assert!(out.status.success());
    let plain = dir.path().join("plain.json");
    fs::write(&plain, &out.stdout).unwrap();
    let (code, stdout, stderr) = verify(&plain);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("plain.json is not evidence"), "{stderr}");
    let (code, _, stderr) = verify(&dir.path().join("missing.csv"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("missing.csv"), "{stderr}");
    // A sidecar named, its data file gone.
    let (code, _, stderr) = verify(&dir.path().join("gone.csv.evidence.json"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("gone.csv"), "{stderr}");
}

/// `review verify -f json`: one document a script reads, intact or altered (where), the
/// evidence it covers (or claims to, untrusted), with the same exit codes as the text.
#[test]
fn verify_as_json_gives_the_verdict_and_what_the_file_covers() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = sim_run(&state, &["review", "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let verify_json = |file: &Path| {
        let out = command(
            &["-f", "json", "review", "verify", file.to_str().unwrap()],
            &[],
        )
        .output()
        .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        (out.status.code(), doc)
    };
    let (code, doc) = verify_json(&path);
    assert_eq!(code, Some(0));
    assert_eq!(doc["intact"], true);
    assert_eq!(doc["trusted"], true);
    assert_eq!(doc["altered"], Value::Null);
    assert_eq!(doc["file"], path.to_str().unwrap());
    assert_eq!(doc["evidence"]["kind"], "review");
    assert_eq!(doc["evidence"]["options"]["stale_days"], 90);

    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.iter().position(|b| *b == b'@').unwrap() + 1;
    bytes[at] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let (code, doc) = verify_json(&path);
    assert_eq!(code, Some(9));
    assert_eq!(doc["intact"], false);
    assert_eq!(doc["altered"], "data");
    assert_eq!(doc["trusted"], false);
    assert_eq!(doc["evidence"]["kind"], "review", "what it claims");
}

//! The harness itself, on small tenants and without peers: every scenario that runs quickly
//! completes, and the request and error counts it reports are the exact ones (timings are
//! printed by the harness, never asserted here).

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let output = Command::new(env!("CARGO_BIN_EXE_falcon-users-bench"))
        .args(args)
        .arg("--no-peers")
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains('┌'), "a table is printed: {table}");
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// The value of the first entry of `report[list]` whose name starts with `name`.
fn value(report: &Value, list: &str, name: &str) -> f64 {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no {list} entry {name} in {report}"))["value"]
        .as_f64()
        .unwrap()
}

fn target(report: &Value, name: &str) -> f64 {
    value(report, "targets", name)
}

fn figure(report: &Value, name: &str) -> f64 {
    value(report, "figures", name)
}

#[test]
fn inventory_under_a_binding_limit_sends_the_minimum_and_surfaces_no_429() {
    let reports = bench(&[
        "inventory",
        "--users",
        "700",
        "--latency-ms",
        "1",
        "--rate-per-minute",
        "30000",
    ]);
    let r = &reports[0];
    assert_eq!(r["scenario"], "inventory");
    assert_eq!(figure(r, "users listed"), 700.0);
    // 2 pages + 2 entity batches + 700 grants listings + 1 token.
    assert_eq!(figure(r, "minimum requests"), 705.0);
    // Every request counted once (the token is one of them): the minimum plus the retries.
    assert_eq!(
        figure(r, "requests sent (incl. token)"),
        705.0 + figure(r, "429s absorbed (retried)"),
        "{r}"
    );
    assert!(target(r, "requests / minimum") <= 1.02, "{r}");
    assert_eq!(target(r, "429s surfaced"), 0.0);
    assert_eq!(target(r, "other errors"), 0.0);
    assert!(r["notes"][0].as_str().unwrap().contains("--no-peers"));
}

#[test]
fn memory_streams_every_user_at_both_sizes() {
    let reports = bench(&["memory", "--small", "150", "--large", "600"]);
    let r = &reports[0];
    assert!(figure(r, "peak RSS, 150 users") > 1.0, "{r}");
    assert!(figure(r, "peak RSS, 600 users") > 1.0, "{r}");
}

#[test]
fn overhead_and_cold_start_run_without_peers() {
    let reports = bench(&["overhead", "--calls", "50"]);
    assert_eq!(figure(&reports[0], "calls per round × rounds"), 250.0);
    assert!(figure(&reports[0], "falcon-users CPU per call") > 0.0);
    // The ratio of each round (the sides taken in turns), against the bound.
    let ratio = target(
        &reports[0],
        "falcon-users CPU / bare reqwest CPU per call (median round)",
    );
    assert!(ratio > 0.5 && ratio < 10.0, "{ratio}");
    let reports = bench(&["cold-start", "--runs", "1"]);
    assert!(figure(&reports[0], "falcon-users start") > 0.0);
}

#[test]
fn a_review_page_is_written_and_drawn_a_page_of_rows_at_a_time() {
    // The scenario runs the CLI built beside the harness (`cargo test --workspace` builds both).
    let cli = std::path::Path::new(env!("CARGO_BIN_EXE_falcon-users-bench"))
        .with_file_name("falcon-users");
    if !cli.is_file() {
        eprintln!(
            "*** SKIPPED: {} is not built (cargo build -p falcon-users-cli) ***",
            cli.display()
        );
        return;
    }
    let reports = bench(&["page", "--users", "300"]);
    let r = &reports[0];
    assert_eq!(r["scenario"], "page");
    assert!(figure(r, "r.html: size") > 0.0, "{r}");
    assert!(figure(r, "r.json: size") > 0.0, "{r}");
    if r["notes"].as_array().unwrap().is_empty() {
        // Opened in the browser: one page of the findings table, drawn.
        assert_eq!(figure(r, "table rows in the DOM"), 100.0, "{r}");
        assert!(figure(r, "page drawn") > 0.0, "{r}");
    }
}

#[test]
fn history_records_two_reviews_and_diffs_them() {
    // The scenario itself refuses a diff without exactly users / 100 leavers.
    let reports = bench(&["history", "--users", "300"]);
    let r = &reports[0];
    assert_eq!(r["scenario"], "history");
    assert!(figure(r, "changes in the diff") >= 3.0, "{r}");
    assert!(figure(r, "peak RSS, diff") > 1.0, "{r}");
}

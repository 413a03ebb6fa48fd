//! API data written to attack the reader: terminal escape sequences, line breaks and tabs that
//! forge rows and columns, a spreadsheet formula. Tables and stderr
//! show them escaped; CSV neutralises the formula; JSON keeps the exact value.

use falcon_users::api::operations::{
    COMBINED_USER_ROLES_V2, QUERIES_ROLES_V1, QUERY_USER_V1, RETRIEVE_USERS_GET_V1,
};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::*;

const TITLE: &str = "\u{1b}]0;pwned\u{7}Eve";
const FORGED: &str = "Lee\nforged-uuid\tforged@example.com";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
const ROLE: &str = "\u{1b}[2Jrole\u{202e}";
const CID: &str = "0123456789abcdef0123456789abcdef";
const ERROR: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}gone\nerror: forged line";

fn meta() -> Value {
    json!({"query_time": 0.01, "trace_id": "trace-1",
           "pagination": {"offset": 0, "limit": 500, "total": 1}})
}

/// A tenant of one user whose fields attack the reader, holding one role whose id does too.
fn hostile_server() -> MockServer {
    let server = mock_server();
    let users = QUERY_USER_V1.path;
    let entities = RETRIEVE_USERS_GET_V1.path;
    let user = json!({
        "uuid": "u-1", "uid": "eve@example.com", "cid": CID,
        "first_name": TITLE, "last_name": FORGED, "status": FORMULA,
    });
    let ids = json!({"meta": meta(), "resources": ["u-1"], "errors": []});
    answer(&server, GET, users, None, 200, ids);
    let found = json!({"meta": meta(), "errors": [], "resources": [user]});
    answer(&server, POST, entities, Some("u-1"), 200, found);
    let warned =
        json!({"meta": meta(), "resources": [], "errors": [{"code": 404, "message": ERROR}]});
    answer(&server, POST, entities, Some("u-warn"), 200, warned);
    let failed =
        json!({"meta": meta(), "resources": [], "errors": [{"code": 400, "message": ERROR}]});
    answer(&server, POST, entities, Some("u-fail"), 400, failed);
    let grant = json!({"uuid": "u-1", "role_id": ROLE, "cid": CID});
    let grants = json!({"meta": meta(), "errors": [], "resources": [grant]});
    answer(&server, GET, COMBINED_USER_ROLES_V2.path, None, 200, grants);
    server
}

/// Runs `args` against the hostile server; they must succeed.
fn succeeded(args: &[&str]) -> std::process::Output {
    let out = run_against(&hostile_server(), args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

/// No byte that a terminal would act on: ESC, BEL, C1 (in UTF-8) and the bidi override.
fn assert_inert(what: &str, out: &[u8]) {
    let shown = text(out);
    assert!(
        !shown.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
        "{what}: raw control characters in {shown:?}"
    );
}

#[test]
fn tables_show_hostile_fields_escaped_on_their_own_row() {
    let out = succeeded(&["-f", "table", "users", "list"]);
    assert_inert("table", &out.stdout);
    let table = text(&out.stdout);
    assert!(table.contains("\\u{1b}]0;pwned\\u{7}Eve"), "{table}");
    let row: Vec<&str> = table.lines().filter(|l| l.contains("Eve")).collect();
    assert_eq!(row.len(), 1, "{table}");
    assert!(
        row[0].contains("Lee\\nforged-uuid\\tforged@example.com"),
        "the forged row stays in its cell: {table}"
    );
    assert!(!table.lines().any(|l| l.trim_start().starts_with("forged")));
}

#[test]
fn the_inventory_table_keeps_one_line_per_user_with_every_field_escaped() {
    let out = succeeded(&["-f", "table", "inventory"]);
    assert_inert("inventory table", &out.stdout);
    let table = text(&out.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("eve@example.com"))
        .collect();
    assert_eq!(rows.len(), 1, "{table}");
    let cells: Vec<&str> = rows[0]
        .trim_matches(|c| c == '│' || c == ' ')
        .split('┆')
        .map(str::trim)
        .collect();
    assert_eq!(
        cells,
        [
            "eve@example.com",
            "\\u{1b}]0;pwned\\u{7}Eve",
            "Lee\\nforged-uuid\\tforged@example.com",
            FORMULA,
            CID,
            "",
            "\\u{1b}[2Jrole\\u{202e}",
            "",
        ],
        "{table}"
    );
    assert!(!table.lines().any(|l| l.trim_start().starts_with("forged")));
}

#[test]
fn the_review_table_shows_hostile_fields_escaped() {
    let server = hostile_server();
    // The roles cannot be listed: the review judges privilege from the built-in list.
    let refused =
        json!({"meta": meta(), "resources": [], "errors": [{"code": 403, "message": ERROR}]});
    answer(&server, GET, QUERIES_ROLES_V1.path, None, 403, refused);
    let out = run_against(&server, &["-f", "table", "review"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_inert("review table", &out.stdout);
    assert_inert("review stderr", &out.stderr);
    let table = text(&out.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("eve@example.com"))
        .collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert!(
        rows[0].contains("inactive-with-roles")
            && rows[0].contains("status =HYPERLINK")
            && rows[0].contains("\\u{1b}[2Jrole\\u{202e}"),
        "{table}"
    );
}

#[test]
fn csv_neutralises_formulas_and_keeps_other_values_exact() {
    let out = succeeded(&["-f", "csv", "users", "list"]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], TITLE);
    assert_eq!(
        &rows[0][3], FORGED,
        "quoted, so the line break stays in the cell"
    );
    assert_eq!(rows[0][4], format!("'{FORMULA}"), "shown as text, not run");
}

#[test]
fn json_escapes_every_control_character_and_round_trips_the_value() {
    let out = succeeded(&["-f", "json", "inventory"]);
    assert_inert("json", &out.stdout);
    let row: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(row["first_name"], TITLE);
    assert_eq!(row["last_name"], FORGED);
    assert_eq!(row["status"], FORMULA);
    assert_eq!(row["grants"][0]["role_id"], ROLE);
}

#[test]
fn server_messages_on_stderr_are_escaped_and_cannot_forge_lines() {
    let server = hostile_server();
    // u-warn: no user, and a warning in the envelope (exit 2: none of the users named exists).
    for (uuid, code, lines) in [("u-fail", 4, 1), ("u-warn", 2, 2)] {
        let out = run_against(&server, &["-f", "json", "users", "get", uuid]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{uuid}: {stderr}");
        assert_inert(uuid, &out.stderr);
        assert!(
            stderr.contains("\\u{1b}[2J\\u{1b}]0;pwned\\u{7}gone\\nerror: forged line"),
            "{uuid}: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            lines,
            "{uuid}: each message one line: {stderr}"
        );
    }
}

//! `inventory` while the tenant changes under it: a user deleted between the listing and their
//! grants is left out of the output and counted, and the run goes on.

use falcon_users::api::operations::{COMBINED_USER_ROLES_V2, QUERY_USER_V1, RETRIEVE_USERS_GET_V1};
use falcon_users_httpmock::envelope::{entities, page};
use httpmock::Method::{GET, POST};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn a_user_deleted_during_the_inventory_is_left_out_and_counted() {
    let server = mock_server();
    let ids = page(json!(["u-1", "u-2"]), 0, 500, 2);
    answer(&server, GET, QUERY_USER_V1.path, None, 200, ids);
    let user = |uuid: &str, uid: &str| json!({"uuid": uuid, "uid": uid, "first_name": "A", "last_name": "B"});
    let both = entities(
        json!([
            user("u-1", "stays@example.com"),
            user("u-2", "gone@example.com")
        ]),
        json!([]),
    );
    server.mock(|when, then| {
        when.method(POST)
            .path(RETRIEVE_USERS_GET_V1.path)
            .body_includes("u-1");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(both);
    });
    // The lookup of the deleted user alone finds nothing.
    server.mock(|when, then| {
        when.method(POST)
            .path(RETRIEVE_USERS_GET_V1.path)
            .body_excludes("u-1");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(entities(
                json!([]),
                json!([{"code": 404, "message": "user not found"}]),
            ));
    });
    let grant = json!({"uuid": "u-1", "role_id": "falcon_console_guest",
                       "cid": "0123456789abcdef0123456789abcdef"});
    server.mock(|when, then| {
        when.method(GET)
            .path(COMBINED_USER_ROLES_V2.path)
            .query_param("user_uuid", "u-1");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(page(json!([grant]), 0, 500, 1));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path(COMBINED_USER_ROLES_V2.path)
            .query_param("user_uuid", "u-2");
        then.status(404)
            .header("content-type", "application/json")
            .json_body(entities(
                json!([]),
                json!([{"code": 404, "message": "user not found"}]),
            ));
    });

    let out = run_against(&server, &["-f", "csv", "inventory"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.contains("stays@example.com"), "{csv}");
    assert!(!csv.contains("gone@example.com"), "{csv}");
    let summary = text(&out.stderr);
    assert!(
        summary.contains("1 users (1 deleted while the inventory ran, left out)"),
        "{summary}"
    );
}

/// `inventory -o FILE` on a 30-user simulated tenant; the file's content.
fn inventory_to(name: &str, format: Option<&str>) -> (std::process::Output, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut args = vec!["--simulate", "--sim-users", "30"];
    if let Some(format) = format {
        args.extend(["-f", format]);
    }
    args.extend(["inventory", "-o", path.to_str().unwrap()]);
    let out = run(&args, &[]);
    (out, std::fs::read_to_string(&path).ok())
}

#[test]
fn the_output_file_takes_its_format_from_its_extension() {
    let (out, csv) = inventory_to("inv.csv", None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = csv.unwrap();
    assert!(
        csv.starts_with("uuid,uid,"),
        "CSV, not the JSON of a pipe: {csv}"
    );
    assert_eq!(csv.lines().count(), 31);

    let (out, lines) = inventory_to("inv.jsonl", None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<Value> = lines
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object a line"))
        .collect();
    assert_eq!(rows.len(), 30);

    let (out, document) = inventory_to("INV.JSON", None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<Value> = serde_json::from_str(&document.unwrap()).expect("one JSON array");
    assert_eq!(rows.len(), 30);

    let (out, table) = inventory_to("inv.txt", None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = table.unwrap();
    assert!(
        table.contains('┆') && table.contains("last_login_at"),
        "{table}"
    );

    // -f wins over the name.
    let (out, csv) = inventory_to("inv.json", Some("csv"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(csv.unwrap().starts_with("uuid,uid,"));

    // A name that tells no format, without -f: refused before anything is read or written.
    let (out, nothing) = inventory_to("inv.out", None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("inv.out") && stderr.contains("-f"),
        "{stderr}"
    );
    assert!(nothing.is_none());
    let (out, json) = inventory_to("inv.out", Some("json"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json.unwrap().lines().count(), 30, "JSON lines");
}

#[test]
fn inventory_rows_carry_what_a_reviewer_needs() {
    let out = run(
        &["--simulate", "--sim-users", "30", "-f", "csv", "inventory"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (header, mut reader) = csv_header(&out.stdout);
    for column in [
        "created_at",
        "last_login_at",
        "status",
        "user_type",
        "roles",
        "role_names",
        "grant_cids",
        "grant_types",
        "expires_at",
    ] {
        assert!(header.iter().any(|h| h == column), "{column}: {header:?}");
    }
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut temporary = 0;
    for row in &rows {
        assert!(!row[at("created_at")].is_empty() && !row[at("user_type")].is_empty());
        let roles: Vec<&str> = row[at("roles")].split(';').collect();
        for list in ["role_names", "grant_cids", "grant_types"] {
            let values: Vec<&str> = row[at(list)].split(';').collect();
            assert_eq!(
                values.len(),
                roles.len(),
                "{list} lines up with roles: {row:?}"
            );
        }
        let expires = &row[at("expires_at")];
        if !expires.is_empty() {
            temporary += 1;
            let values: Vec<&str> = expires.split(';').collect();
            assert_eq!(values.len(), roles.len(), "{row:?}");
            assert!(
                values
                    .iter()
                    .any(|v| v.parse::<chrono::DateTime<chrono::Utc>>().is_ok())
            );
        }
    }
    assert_eq!(temporary, 2, "the seeded temporary grants");

    let json = run(
        &["--simulate", "--sim-users", "30", "-f", "json", "inventory"],
        &[],
    );
    let rows: Vec<Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let grants: Vec<&Value> = rows
        .iter()
        .flat_map(|r| r["grants"].as_array().unwrap())
        .collect();
    assert!(!grants.is_empty());
    for grant in &grants {
        for field in ["role_id", "role_name", "cid", "grant_type"] {
            assert!(grant[field].is_string(), "{field}: {grant}");
        }
    }
    assert_eq!(
        grants
            .iter()
            .filter(|g| g["expires_at"].is_string())
            .count(),
        2
    );
    assert!(
        rows.iter()
            .all(|r| r["created_at"].is_string() && r["user_type"].is_string())
    );
}

#[test]
fn inventory_as_a_table_is_aligned() {
    let out = run(
        &[
            "--simulate",
            "--sim-users",
            "12",
            "-f",
            "table",
            "inventory",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    // Borders, the header, a rule, 12 rows: every line the same width.
    assert_eq!(lines.len(), 16, "{table}");
    let width = lines[0].chars().count();
    assert!(lines.iter().all(|l| l.chars().count() == width), "{table}");
    assert!(!table.contains('\t'), "not tab-separated: {table}");
}

//! API data written to attack the reader: terminal escape sequences, line breaks and tabs that
//! forge rows and columns, a spreadsheet formula. Tables, CSV and stderr
//! show them escaped; CSV neutralises the formula; JSON keeps the exact value.

use falcon_users::api::operations::{
    COMBINED_USER_ROLES_V2, DELETE_USER_V1, GET_SENSOR_INSTALLERS_CCID_BY_QUERY, QUERIES_ROLES_V1,
    QUERY_USER_V1, RETRIEVE_USERS_GET_V1,
};
use falcon_users::validation::is_deceptive_char;
use falcon_users_httpmock::envelope::{entities, page};
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

/// A tenant of one user whose fields attack the reader, holding one role whose id does too.
fn hostile_server() -> MockServer {
    let server = mock_server();
    let users = QUERY_USER_V1.path;
    let lookup = RETRIEVE_USERS_GET_V1.path;
    let user = json!({
        "uuid": "u-1", "uid": "eve@example.com", "cid": CID,
        "first_name": TITLE, "last_name": FORGED, "status": FORMULA,
    });
    let ids = page(json!(["u-1"]), 0, 500, 1);
    answer(&server, GET, users, None, 200, ids);
    let found = entities(json!([user]), json!([]));
    answer(&server, POST, lookup, Some("u-1"), 200, found);
    let warned = entities(json!([]), json!([{"code": 404, "message": ERROR}]));
    answer(&server, POST, lookup, Some("u-warn"), 200, warned);
    let failed = entities(json!([]), json!([{"code": 400, "message": ERROR}]));
    answer(&server, POST, lookup, Some("u-fail"), 400, failed);
    let grant = json!({"uuid": "u-1", "role_id": ROLE, "cid": CID});
    let grants = page(json!([grant]), 0, 500, 1);
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
    let refused = entities(json!([]), json!([{"code": 403, "message": ERROR}]));
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
fn csv_escapes_control_characters_and_neutralises_formulas() {
    let out = succeeded(&["-f", "csv", "users", "list"]);
    assert_inert("csv", &out.stdout);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], "\\u{1b}]0;pwned\\u{7}Eve");
    assert_eq!(
        &rows[0][3], "Lee\\nforged-uuid\\tforged@example.com",
        "one line a row, for `cat` too"
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

/// A simulated tenant whose users and roles attack the reader in every field a command prints:
/// terminal escape sequences (OSC title with BEL, CSI, C1 CSI), a right-to-left override,
/// zero-width characters, forged line breaks and tabs, and spreadsheet formulas; and one
/// ordinary user.
struct HostileTenant {
    sim: Sim,
    /// The UUIDs of the hostile users.
    uuids: Vec<String>,
}

/// Logins as a hostile server may hold them (stored lower case).
const LOGINS: [&str; 3] = [
    "\u{1b}[2jmallory\u{7}@example.com",
    "eve\u{202e}moc.live@example.com",
    "=hyperlink(\"http://evil.example\",\"x\")@example.com",
];
/// A role id a formula (ids with control characters or blanks the SDK refuses to send, so a
/// tenant holding one cannot be listed at all), its display name an escape sequence.
const EVIL_ROLE: &str = "+cmd|'/c-calc'!a0";

impl HostileTenant {
    fn new() -> HostileTenant {
        let sim = Sim::start(falcon_users_sim::SimConfig {
            users: 0,
            roles: 0,
            ..falcon_users_sim::SimConfig::default()
        });
        let seed = || sim.sim.seed();
        let parent = sim.sim.parent_cid();
        seed()
            .custom_role(
                &parent,
                EVIL_ROLE,
                "\u{1b}]0;pwned\u{7}Role\u{9b}2J\u{202e}",
            )
            .expect("the hostile role");
        seed()
            .user("ann@example.com")
            .first_name("Ann")
            .last_name("Lee")
            .grant("falcon_console_guest")
            .create()
            .expect("ann");
        let names = [
            (TITLE, FORGED, FORMULA),
            ("+SUM(1)\u{200b}", "-2+3\u{9b}2J", "active"),
            ("@cmd\u{7}", "\tTab\rReturn", "inactive"),
        ];
        let mut uuids = Vec::new();
        for (login, (first, last, status)) in LOGINS.iter().zip(names) {
            let user = seed()
                .user(login)
                .first_name(first)
                .last_name(last)
                .status(status)
                .grant(EVIL_ROLE)
                .grant("falcon_console_guest")
                .create()
                .expect("a hostile user");
            uuids.push(user.uuid);
        }
        HostileTenant { sim, uuids }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let env = self.sim.env();
        let child = command(args, &pairs(&env))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts");
        finish(child)
    }
}

/// Every command that prints tenant data, in every format, against a tenant full of hostile
/// names: no character a terminal acts on (ESC, BEL, C1, a text-direction override, any other
/// control or invisible character but the line break ending a line) reaches stdout or stderr,
/// and no CSV cell starts a formula. The log lines too: `apply -v` of a plan whose changes fail
/// prints the `change failed` warning with each hostile login.
#[test]
fn every_command_printing_tenant_data_keeps_a_hostile_tenant_inert() {
    let tenant = HostileTenant::new();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (roster, ann_only, plan, leavers) = (
        file("roster.csv"),
        file("ann.csv"),
        file("plan.json"),
        file("leavers.txt"),
    );
    std::fs::write(&leavers, tenant.uuids.join("\n")).unwrap();
    let prune = ["--mode", "exact", "--prune", "--scope", "uid:'*'"];
    // (arguments, exit code), in every format.
    let mut runs: Vec<(Vec<String>, i32)> = Vec::new();
    for f in ["table", "json", "csv"] {
        let mut run = |args: &[&str], code: i32| {
            let all = ["-f", f].into_iter().chain(args.iter().copied());
            runs.push((all.map(str::to_owned).collect(), code));
        };
        run(&["users", "list"], 0);
        let ids: Vec<&str> = tenant.uuids.iter().map(String::as_str).collect();
        run(&[&["users", "get"][..], &ids].concat(), 0);
        run(&["users", "get", LOGINS[0]], 0);
        run(&["grants", "list", &tenant.uuids[1]], 0);
        run(&["roles", "list"], 0);
        run(&["roles", "get", EVIL_ROLE], 0);
        run(&["inventory"], 0);
        run(&["-vvv", "inventory"], 0);
        run(&["review"], 0);
        run(&["offboard", "--from", &leavers, "--dry-run"], 0);
        let set = [
            "grants",
            "set",
            "falcon_console_guest",
            "--users-from",
            &leavers,
        ];
        run(&[&set[..], &["--dry-run"]].concat(), 0);
    }
    runs.push((vec!["roster".to_owned()], 0));
    for (args, code) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let printed = check(&tenant, &args, *code);
        assert!(shows_hostile_data(&printed), "{args:?}: {printed}");
    }
    check(&tenant, &["roster", "-o", &roster], 0);
    let exported = std::fs::read_to_string(&roster).unwrap();
    assert_inert_text("roster -o", &exported);
    assert_csv_inert("roster -o", &exported);
    assert!(shows_hostile_data(&exported), "{exported}");

    // Read back, the ordinary row is the tenant's user unchanged; the hostile rows come back
    // as their escaped, neutralised text: here a role `'+cmd…` no CID has, so the roster is
    // refused, naming each such row.
    let refused = check(
        &tenant,
        &[&["-f", "json", "plan", &roster][..], &prune].concat(),
        2,
    );
    for row in ["row 2, roles", "row 3, roles", "row 5, roles"] {
        assert!(refused.contains(row), "{refused}");
    }
    let ann: Vec<&str> = exported
        .lines()
        .filter(|l| l.starts_with("uid,") || l.starts_with("ann@"))
        .collect();
    std::fs::write(&ann_only, ann.join("\n") + "\n").unwrap();
    for f in ["table", "json", "csv"] {
        let printed = check(
            &tenant,
            &[&["-f", f, "plan", &ann_only][..], &prune].concat(),
            0,
        );
        assert!(
            printed.contains("0 to create, 0 to update, 3 to offboard; 1 already match")
                && shows_hostile_data(&printed),
            "{printed}"
        );
    }
    check(
        &tenant,
        &[
            &["-f", "json", "plan", &ann_only][..],
            &prune,
            &["-o", &plan],
        ]
        .concat(),
        0,
    );

    // The plan offboards the hostile users; every delete fails, so each change fails and the
    // SDK warns `change failed` with the login and the server's message.
    tenant.sim.sim.fail_next(&DELETE_USER_V1, 400, 3);
    let applied = check(&tenant, &["-v", "--yes", "-f", "table", "apply", &plan], 5);
    assert!(
        applied.contains("change failed")
            && applied.contains("uid=\\u{1b}[2jmallory\\u{7}@example.com"),
        "{applied}"
    );

    // The bulk commands' reports: the grant is done, then found done.
    for f in ["table", "json", "csv"] {
        let grant = [
            "grants",
            "grant",
            "falconhost_read_only",
            "--filter",
            "uid:'*'",
        ];
        let printed = check(&tenant, &[&["--yes", "-f", f][..], &grant].concat(), 0);
        assert!(shows_hostile_data(&printed), "{printed}");
    }
}

/// Runs `args` against the tenant: the exit code is `code`, and stdout and stderr are inert
/// ([`assert_inert_text`]); CSV (from `-f csv` or `roster`) starts no cell with a formula.
/// Answers stdout and stderr together.
fn check(tenant: &HostileTenant, args: &[&str], code: i32) -> String {
    let out = tenant.run(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_inert_text(&format!("{args:?} stdout"), &stdout);
    assert_inert_text(&format!("{args:?} stderr"), &stderr);
    let csv = args.windows(2).any(|w| w == ["-f", "csv"]) || args == ["roster"];
    if csv {
        assert_csv_inert(&format!("{args:?}"), &stdout);
    }
    format!("{stdout}{stderr}")
}

/// Whether `printed` shows an escape sequence or a direction override, escaped (so the test
/// saw the hostile data it means to).
fn shows_hostile_data(printed: &str) -> bool {
    ["\\u{1b}", "\\u001b", "\\u{202e}", "\\u202e"]
        .iter()
        .any(|shown| printed.contains(shown))
}

/// No character that a terminal acts on or that hides or reorders text: controls (but the
/// line break), DEL, C1, direction marks and overrides, zero-width characters.
fn assert_inert_text(what: &str, shown: &str) {
    let raw: Vec<char> = shown
        .chars()
        .filter(|c| *c != '\n' && is_deceptive_char(*c))
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in {shown:?}");
}

/// A CSV whose every cell (the header's too) is read back by a CSV reader and starts with no
/// formula trigger.
fn assert_csv_inert(what: &str, csv: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    for record in reader.records() {
        let record = record.unwrap_or_else(|e| panic!("{what}: not CSV: {e}: {csv}"));
        for cell in &record {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{what}: the cell {cell:?} starts a formula"
            );
        }
    }
}

/// Evidence states the tenant's and the user's strings (a filter, the service's error in a
/// note): in the file they are JSON escapes, exact when read back; `review verify` shows them
/// escaped.
#[test]
fn evidence_keeps_hostile_strings_inert_in_the_file_and_in_verify() {
    let server = hostile_server();
    // The own CID cannot be read: the service's message becomes a note.
    let refused = entities(json!([]), json!([{"code": 400, "message": ERROR}]));
    answer(
        &server,
        GET,
        GET_SENSOR_INSTALLERS_CCID_BY_QUERY.path,
        None,
        400,
        refused,
    );
    // The roles cannot be listed: the review judges privilege from the built-in list.
    let no_roles = entities(json!([]), json!([{"code": 403, "message": ERROR}]));
    answer(&server, GET, QUERIES_ROLES_V1.path, None, 403, no_roles);
    let filter = "uid:'\u{1b}[31m=cmd|' /C calc'!A0\u{202e}'";
    let dir = tempfile::tempdir().unwrap();
    for name in ["inv.csv", "review.json"] {
        let path = dir.path().join(name);
        let args = match name {
            "inv.csv" => vec![
                "inventory",
                "--filter",
                filter,
                "-o",
                path.to_str().unwrap(),
            ],
            _ => vec!["review", "-o", path.to_str().unwrap()],
        };
        let out = run_against(&server, &args);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert_inert(name, &out.stderr);
        let evidence_file = match name {
            "inv.csv" => dir.path().join("inv.csv.evidence.json"),
            _ => path.clone(),
        };
        let written = std::fs::read(&evidence_file).unwrap();
        assert_inert(name, &written);
        let evidence: Value = serde_json::from_slice(&written).unwrap();
        let evidence = &evidence["evidence"];
        if name == "inv.csv" {
            assert_eq!(
                evidence["options"]["filter"], filter,
                "exact when read back"
            );
        }
        let note = evidence["notes"][0].as_str().unwrap();
        assert!(
            note.contains("own CID") && note.contains("\u{1b}[2J"),
            "{note}"
        );

        let out = command(&["review", "verify", path.to_str().unwrap()], &[])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert_inert(name, &out.stdout);
        let shown = text(&out.stdout);
        assert!(
            shown.contains("note: the own CID") && shown.contains("\\u{1b}[2J"),
            "{shown}"
        );
        if name == "inv.csv" {
            assert!(shown.contains("\\u001b[31m=cmd|"), "{shown}");
        }
        assert!(
            !shown.lines().any(|l| l.starts_with("error: forged")),
            "{shown}"
        );
    }
}

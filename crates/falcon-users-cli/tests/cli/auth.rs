//! `auth check`: a scope counts as granted only when the probe's answer proves it.

use falcon_users::api::operations::{CREATE_USER_V1, QUERY_CHILDREN, QUERY_USER_V1};
use falcon_users_httpmock::envelope::{meta, with_error, with_resources};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::*;

/// A server where the token works, the read probe answers `read` and the write probe `write`.
fn server(read: u16, write: u16) -> MockServer {
    let server = mock_server();
    let body = |status: u16| {
        if status < 300 {
            with_resources(meta("trace-1"), json!([]))
        } else {
            with_error(meta("trace-1"), status, "no")
        }
    };
    answer(&server, GET, QUERY_USER_V1.path, None, read, body(read));
    answer(&server, POST, CREATE_USER_V1.path, None, write, body(write));
    server
}

#[test]
fn write_is_true_only_when_the_probe_proves_it() {
    let unknown = Value::Null;
    let cases = [
        (200, 200, json!(true), json!(true), 0),
        (200, 400, json!(true), json!(true), 0),
        (200, 403, json!(true), json!(false), 0),
        (403, 403, json!(false), json!(false), 0),
        (200, 401, json!(true), unknown.clone(), 4),
        (200, 503, json!(true), unknown.clone(), 4),
        (500, 200, unknown.clone(), json!(true), 4),
    ];
    for (read, write, read_seen, write_seen, code) in cases {
        let server = server(read, write);
        let out = run_against(&server, &["-f", "json", "auth", "check"]);
        let case = format!("read {read}, write {write}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{case}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        assert_eq!(
            report["scopes"]["user-management:read"], read_seen,
            "{case}"
        );
        assert_eq!(
            report["scopes"]["user-management:write"], write_seen,
            "{case}"
        );
        for (scope, status) in [
            ("user-management:read", read),
            ("user-management:write", write),
        ] {
            let why = &report["unknown"][scope];
            if report["scopes"][scope].is_null() {
                let why = why.as_str().unwrap_or_default();
                assert!(why.contains(&format!("HTTP {status}")), "{case}: {why}");
            } else {
                assert!(why.is_null(), "{case}");
            }
        }
    }
}

/// `auth check` on the simulator shows the CID the client acts in, as the service states it;
/// a client without the sensor-download scope is told so plainly and still passes.
#[test]
fn the_check_shows_the_cid_and_says_when_its_scope_is_missing() {
    let sim = Sim::start(falcon_users_sim::SimConfig {
        users: 3,
        child_cids: 1,
        ..Default::default()
    });
    let parent = sim.sim.parent_cid().to_ascii_uppercase();
    let env = sim.env();

    let out = run(&["-f", "json", "auth", "check"], &pairs(&env));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let cid = report["cid"].as_str().expect("the CID");
    assert!(cid.starts_with(&format!("{parent}-")), "{report}");
    assert_eq!(cid.len(), 32 + 3, "{cid}: -XX");
    assert_eq!(report["scopes"]["sensor-installers:read"], json!(true));
    assert_eq!(report["scopes"]["mssp:read"], json!(true));

    let out = run(&["-f", "table", "auth", "check"], &pairs(&env));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("cid:       {cid}\n")),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("fleet:     yes\n"),
        "{}",
        text(&out.stdout)
    );

    // A member handle: the member's CID.
    let child = sim.sim.child_cids()[0].clone();
    let out = run(
        &["-f", "json", "--member-cid", &child, "auth", "check"],
        &pairs(&env),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let member = report["cid"].as_str().expect("the member's CID");
    assert!(
        member.starts_with(&format!("{}-", child.to_ascii_uppercase())),
        "{report}"
    );

    // The read-only client lacks "Sensor Download: Read": said, and the check still passes.
    let ro = sim.sim.read_only_credentials();
    let ro_env = [
        ("FALCON_CLOUD", sim.sim.base_url_str()),
        ("FALCON_CLIENT_ID", ro.client_id),
        ("FALCON_CLIENT_SECRET", ro.client_secret),
    ];
    let out = run(&["-f", "table", "auth", "check"], &pairs(&ro_env));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "cid:       not shown: the API client lacks the scope \"Sensor Download: Read\" \
             (sensor-installers:read)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("write:     no"), "{stdout}");
    // Nor "Flight Control: Read": said the same way, and the check still passes.
    assert!(
        stdout.contains("fleet:     missing: Flight Control: Read (mssp:read)\n"),
        "{stdout}"
    );
    let out = run(&["-f", "json", "auth", "check"], &pairs(&ro_env));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["cid"], Value::Null, "{report}");
    assert_eq!(report["scopes"]["sensor-installers:read"], json!(false));
    assert_eq!(report["scopes"]["mssp:read"], json!(false));
}

/// The Flight Control probe is one `queryChildren` asking for one child; its 403 is reported
/// as the missing scope and does not fail the check, and an answer that proves nothing is
/// reported unknown without failing it either.
#[test]
fn flight_control_read_is_probed_once_and_never_fails_the_check() {
    for (status, seen, line) in [
        (200, json!(true), "fleet:     yes"),
        (
            403,
            json!(false),
            "fleet:     missing: Flight Control: Read (mssp:read)",
        ),
        (
            400,
            Value::Null,
            "fleet:     unknown (queryChildren answered HTTP 400)",
        ),
    ] {
        let server = server(200, 200);
        let body = if status < 300 {
            with_resources(meta("trace-1"), json!(["0123456789abcdef0123456789abcdef"]))
        } else {
            with_error(meta("trace-1"), status, "no")
        };
        let probe = server.mock(|when, then| {
            when.method(GET)
                .path(QUERY_CHILDREN.path)
                .query_param("limit", "1");
            then.status(status)
                .header("content-type", "application/json")
                .json_body(body.clone());
        });
        let out = run_against(&server, &["-f", "json", "auth", "check"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{status}: {}",
            text(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        assert_eq!(report["scopes"]["mssp:read"], seen, "{status}: {report}");
        let out = run_against(&server, &["-f", "table", "auth", "check"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{status}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains(line),
            "{status}: {}",
            text(&out.stdout)
        );
        probe.assert_calls(2);
    }
}

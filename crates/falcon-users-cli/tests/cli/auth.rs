//! `auth check`: a scope counts as granted only when the probe's answer proves it.

use falcon_users::api::operations::{CREATE_USER_V1, QUERY_USER_V1};
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

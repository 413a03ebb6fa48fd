//! `inventory` while the tenant changes under it: a user deleted between the listing and their
//! grants is left out of the output and counted, and the run goes on.

use falcon_users::api::operations::{COMBINED_USER_ROLES_V2, QUERY_USER_V1, RETRIEVE_USERS_GET_V1};
use httpmock::Method::{GET, POST};
use serde_json::{Value, json};

use crate::support::*;

fn meta(total: u64) -> Value {
    json!({"query_time": 0.01, "trace_id": "trace-1",
           "pagination": {"offset": 0, "limit": 500, "total": total}})
}

#[test]
fn a_user_deleted_during_the_inventory_is_left_out_and_counted() {
    let server = mock_server();
    let ids = json!({"meta": meta(2), "resources": ["u-1", "u-2"], "errors": []});
    answer(&server, GET, QUERY_USER_V1.path, None, 200, ids);
    let user = |uuid: &str, uid: &str| json!({"uuid": uuid, "uid": uid, "first_name": "A", "last_name": "B"});
    let both = json!({"meta": meta(2), "errors": [],
                      "resources": [user("u-1", "stays@example.com"), user("u-2", "gone@example.com")]});
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
            .json_body(json!({"meta": meta(0), "resources": [],
                              "errors": [{"code": 404, "message": "user not found"}]}));
    });
    let grant = json!({"uuid": "u-1", "role_id": "falcon_console_guest",
                       "cid": "0123456789abcdef0123456789abcdef"});
    server.mock(|when, then| {
        when.method(GET)
            .path(COMBINED_USER_ROLES_V2.path)
            .query_param("user_uuid", "u-1");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"meta": meta(1), "errors": [], "resources": [grant]}));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path(COMBINED_USER_ROLES_V2.path)
            .query_param("user_uuid", "u-2");
        then.status(404)
            .header("content-type", "application/json")
            .json_body(json!({"meta": meta(0), "resources": [],
                              "errors": [{"code": 404, "message": "user not found"}]}));
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

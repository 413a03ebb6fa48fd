//! `review` on the binary: every kind of finding on the simulator's seeded tenant (and on its
//! children with `--member-cids`), `--fail-on` and its exit code, the CSV, JSON and table
//! outputs, `--privileged-roles`, and privilege judged from the built-in administrator roles
//! when the permissions cannot be read.

use std::collections::BTreeSet;
use std::fs;

use falcon_users::api::operations::{
    COMBINED_USER_ROLES_V2, ENTITIES_ROLE_PERMISSIONS_V1, ENTITIES_ROLES_GET_V2, QUERIES_ROLES_V1,
    QUERY_USER_V1, RETRIEVE_USERS_GET_V1,
};
use falcon_users_httpmock::envelope::{entities, json_reply, page};
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, MockServer};
use serde_json::{Value, json};

use crate::support::*;

const KINDS: [&str; 7] = [
    "no-roles",
    "privileged",
    "stale",
    "expiring",
    "parent-in-child",
    "child-cid-grant",
    "inactive-with-roles",
];

/// Runs `args` on the embedded simulator kept in `state`.
fn sim_run(state: &SimState, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--simulate"];
    all.extend_from_slice(args);
    let env = state.env();
    command(&all, &env).output().expect("the binary runs")
}

/// The JSON document of `review` with `args`; it must succeed.
fn review_json(state: &SimState, args: &[&str]) -> Value {
    let mut all = vec!["-f", "json", "review"];
    all.extend_from_slice(args);
    let out = sim_run(state, &all);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// The seeded tenant's child CIDs, from the saved state (comma-separated).
fn children_of(state: &SimState) -> String {
    let saved: Value = serde_json::from_str(&fs::read_to_string(state.file()).unwrap()).unwrap();
    let children: Vec<&str> = saved["state"]["child_cids"]
        .as_array()
        .expect("child_cids")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(children.len(), 2);
    children.join(",")
}

/// The (user UUID, child CID) pairs the seeded Flight Control links give roles, from the
/// saved state: each link's user group members × its CID group's CIDs.
fn linked_pairs(state: &SimState) -> BTreeSet<(String, String)> {
    let saved: Value = serde_json::from_str(&fs::read_to_string(state.file()).unwrap()).unwrap();
    let fleet = &saved["state"]["fleet"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let mut pairs = BTreeSet::new();
    for link in fleet["links"].as_object().unwrap().values() {
        let users =
            strings(&fleet["user_groups"][link["user_group_id"].as_str().unwrap()]["members"]);
        let cids = strings(&fleet["cid_groups"][link["cid_group_id"].as_str().unwrap()]["cids"]);
        for user in &users {
            for cid in &cids {
                pairs.insert((user.clone(), cid.clone()));
            }
        }
    }
    pairs
}

/// The `parent-in-child` findings of `doc` that come through the seeded links: every one of
/// them says so, one per linked user and child.
fn assert_linked_findings(doc: &Value, linked: &BTreeSet<(String, String)>) {
    let found: BTreeSet<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["finding"] == "parent-in-child")
        .filter(|f| {
            f["why"]
                .as_str()
                .unwrap()
                .contains("through a link: user group")
        })
        .map(|f| {
            (
                f["user_uuid"].as_str().unwrap().to_owned(),
                f["cid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(&found, linked);
}

fn count(doc: &Value, kind: &str) -> u64 {
    doc["summary"]["findings"][kind]
        .as_u64()
        .unwrap_or_else(|| panic!("no count for {kind}: {doc}"))
}

#[test]
fn the_seeded_tenant_shows_every_kind_of_finding() {
    let state = SimState::new();
    let doc = review_json(&state, &[]);
    assert_eq!(doc["summary"]["users"], 200);
    for kind in KINDS {
        let n = count(&doc, kind);
        if kind == "child-cid-grant" || kind == "parent-in-child" {
            assert_eq!(n, 0, "{kind}: no child CID reviewed, none held there");
        } else {
            assert!(n > 0, "{kind}: {doc}");
        }
    }
    let findings = doc["findings"].as_array().unwrap();
    let total: u64 = KINDS.iter().map(|k| count(&doc, k)).sum();
    assert_eq!(findings.len() as u64, total);
    for finding in findings {
        for field in ["finding", "uid", "user_uuid", "cid", "why"] {
            assert!(
                finding[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}: {finding}"
            );
        }
    }
    // The seeded cases: two temporary grants, a login a year before, and privilege judged
    // from the roles' permissions (only administrators manage users in the simulator).
    assert_eq!(count(&doc, "expiring"), 2);
    assert!(
        findings.iter().any(|f| f["finding"] == "stale"
            && f["why"].as_str().unwrap().starts_with("last login 2025-")),
        "a login long ago"
    );
    assert!(
        findings.iter().any(|f| f["finding"] == "stale"
            && f["why"].as_str().unwrap().starts_with("never logged in")),
        "never logged in"
    );
    let privileged: BTreeSet<&str> = doc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["privileged"] == true)
        .map(|r| {
            assert_eq!(r["basis"], "permissions", "{r}");
            r["role_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        privileged,
        BTreeSet::from(["falcon_administrator", "falconhost_admin", "user_admin"])
    );
    let held_privileged: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["finding"] == "privileged")
        .flat_map(|f| f["roles"].as_array().unwrap().iter())
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(held_privileged.is_subset(&privileged) && !held_privileged.is_empty());

    // With the children: every kind about a CID's own users occurs in them too, and their
    // users holding their own CID's roles are no findings. The parent's users holding roles
    // there are those the seeded links give roles (no one is granted there directly): a
    // `parent-in-child` finding each, through the link.
    let children = children_of(&state);
    let fleet = review_json(&state, &["--member-cids", &children]);
    assert_eq!(fleet["summary"]["users"], 240, "200 + 20 in each child");
    let linked = linked_pairs(&state);
    assert!(!linked.is_empty(), "the embedded simulator seeds links");
    assert_linked_findings(&fleet, &linked);
    assert_eq!(count(&fleet, "parent-in-child"), linked.len() as u64);
    for kind in KINDS {
        if kind == "child-cid-grant" {
            assert_eq!(count(&fleet, kind), 0, "{kind}: {fleet}");
        } else {
            assert!(count(&fleet, kind) > 0, "{kind}");
        }
    }
    for finding in fleet["findings"].as_array().unwrap() {
        if children.contains(finding["cid"].as_str().unwrap()) {
            assert_ne!(finding["finding"], "child-cid-grant", "{finding}");
        }
    }
}

/// `review --member-cids all` after `grants grant <parent user> falcon_administrator --cid
/// <child>`: the parent and every child reviewed, the analyst's role in the child one
/// `parent-in-child` finding, marked privileged; `--fail-on parent-in-child` exits 8.
#[test]
fn a_parent_user_granted_in_a_child_is_a_parent_in_child_finding() {
    let state = SimState::new();
    // The first run seeds the tenant and saves it.
    let listed = sim_run(&state, &["children"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let saved: Value = serde_json::from_str(&fs::read_to_string(state.file()).unwrap()).unwrap();
    let parent = saved["state"]["parent_cid"].as_str().unwrap().to_owned();
    let analyst = saved["state"]["tenants"][&parent]["users"]
        .as_object()
        .unwrap()
        .values()
        .map(|u| u["uid"].as_str().unwrap().to_owned())
        .min()
        .unwrap();
    let children = children_of(&state);
    let child = children.split(',').nth(1).unwrap().to_owned();
    let granted = sim_run(
        &state,
        &[
            "grants",
            "grant",
            &analyst,
            "falcon_administrator",
            "--cid",
            &child,
        ],
    );
    assert!(granted.status.success(), "{}", text(&granted.stderr));

    let doc = review_json(&state, &["--member-cids", "all"]);
    assert_eq!(
        doc["summary"]["users"], 240,
        "the parent's 200 and 20 in each child"
    );
    let cids: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cid"].as_str().unwrap())
        .collect();
    for cid in children.split(',').chain([parent.as_str()]) {
        assert!(cids.contains(cid), "{cid} reviewed: {cids:?}");
    }
    // The analyst's direct grant, and one per user and child the seeded links reach.
    let linked = linked_pairs(&state);
    assert_linked_findings(&doc, &linked);
    assert_eq!(count(&doc, "parent-in-child"), 1 + linked.len() as u64);
    let in_child: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["finding"] == "parent-in-child" && f["uid"] == analyst.as_str())
        .collect();
    assert_eq!(in_child.len(), 1, "{in_child:?}");
    assert_eq!(in_child[0]["uid"], analyst.as_str());
    assert_eq!(in_child[0]["cid"], child.as_str());
    assert_eq!(in_child[0]["roles"], json!(["falcon_administrator"]));
    let why = in_child[0]["why"].as_str().unwrap();
    assert!(
        why.contains("Falcon Administrator (privileged)") && why.contains(&parent),
        "{why}"
    );
    assert_eq!(count(&doc, "child-cid-grant"), 0);

    let hit = sim_run(
        &state,
        &[
            "review",
            "--member-cids",
            "all",
            "--fail-on",
            "parent-in-child",
        ],
    );
    let stderr = text(&hit.stderr);
    assert_eq!(hit.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--fail-on: found parent-in-child ({})",
            1 + linked.len()
        )),
        "{stderr}"
    );
}

#[test]
fn fail_on_exits_8_only_for_the_kinds_it_names() {
    let state = SimState::new();
    let clean = sim_run(
        &state,
        &["-f", "csv", "review", "--fail-on", "child-cid-grant"],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));

    let hit = sim_run(
        &state,
        &[
            "-f",
            "csv",
            "review",
            "--fail-on",
            "child-cid-grant,expiring",
        ],
    );
    let stderr = text(&hit.stderr);
    assert_eq!(hit.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("--fail-on: found expiring (2)"), "{stderr}");
    assert!(
        text(&hit.stdout).lines().count() > 2,
        "the rows are written all the same"
    );

    let unknown = sim_run(&state, &["review", "--fail-on", "old-logins"]);
    let stderr = text(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stale") && stderr.contains("inactive-with-roles"),
        "names the kinds: {stderr}"
    );
}

#[test]
fn csv_table_and_json_lines_carry_the_same_findings() {
    let state = SimState::new();
    let doc = review_json(&state, &[]);
    let total = doc["findings"].as_array().unwrap().len();

    let csv = sim_run(&state, &["-f", "csv", "review"]);
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let (header, mut reader) = csv_header(&csv.stdout);
    assert_eq!(
        header,
        [
            "finding",
            "uid",
            "user_uuid",
            "cid",
            "roles",
            "role_names",
            "why"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), total);
    let kinds: BTreeSet<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    let summary = text(&csv.stderr);
    assert!(summary.contains("review: 200 users;"), "{summary}");
    assert!(
        summary.contains("privileged roles, judged from the permissions"),
        "{summary}"
    );

    let table = sim_run(&state, &["-f", "table", "review"]);
    let out = text(&table.stdout);
    assert!(
        out.starts_with("review: 200 users;"),
        "the summary comes first: {out}"
    );
    assert!(
        out.contains("Falcon Administrator") && out.contains("holders"),
        "{out}"
    );
    assert!(out.contains("inactive-with-roles"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("findings.jsonl");
    let written = sim_run(&state, &["review", "-o", lines.to_str().unwrap()]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert!(written.stdout.is_empty());
    let content = fs::read_to_string(&lines).unwrap();
    let parsed: Vec<Value> = content
        .lines()
        .map(|l| serde_json::from_str(l).expect("a finding a line"))
        .collect();
    assert_eq!(parsed.len(), total);
    assert!(
        parsed
            .iter()
            .all(|f| KINDS.contains(&f["finding"].as_str().unwrap()))
    );
}

#[test]
fn privileged_roles_can_be_named_instead() {
    let state = SimState::new();
    let out = sim_run(
        &state,
        &[
            "-f",
            "json",
            "review",
            "--privileged-roles",
            "falcon_console_guest",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let privileged: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["finding"] == "privileged")
        .collect();
    assert!(!privileged.is_empty());
    assert!(
        privileged
            .iter()
            .all(|f| f["roles"] == json!(["falcon_console_guest"])),
        "{privileged:?}"
    );
    assert!(
        text(&out.stderr).contains("as --privileged-roles names them"),
        "{}",
        text(&out.stderr)
    );
}

/// The CID offers the administrator and guest roles; reading their permissions is refused.
fn two_builtin_roles_without_permissions(server: &MockServer) {
    let roles = page(
        json!(["falcon_administrator", "falcon_console_guest"]),
        0,
        500,
        2,
    );
    answer(server, GET, QUERIES_ROLES_V1.path, None, 200, roles);
    let role = |id: &str, name: &str| json!({"id": id, "display_name": name, "description": "", "is_global": true});
    let details = entities(
        json!([
            role("falcon_administrator", "Falcon Administrator"),
            role("falcon_console_guest", "Falcon Console Guest")
        ]),
        json!([]),
    );
    answer(server, POST, ENTITIES_ROLES_GET_V2.path, None, 200, details);
    let refused = entities(
        json!([]),
        json!([{"code": 403, "message": "access denied"}]),
    );
    answer(
        server,
        GET,
        ENTITIES_ROLE_PERMISSIONS_V1.path,
        None,
        403,
        refused,
    );
}

#[test]
fn refused_role_permissions_fall_back_to_the_builtin_administrator_roles() {
    let server = mock_server();
    let ids = page(json!(["u-1", "u-2"]), 0, 500, 2);
    answer(&server, GET, QUERY_USER_V1.path, None, 200, ids);
    let user = |uuid: &str, uid: &str| {
        json!({"uuid": uuid, "uid": uid, "status": "active", "cid": "0123456789abcdef0123456789abcdef",
               "created_at": "2026-01-01T00:00:00Z", "last_login_at": chrono::Utc::now().to_rfc3339()})
    };
    let users = entities(
        json!([
            user("u-1", "admin@example.com"),
            user("u-2", "guest@example.com")
        ]),
        json!([]),
    );
    answer(&server, POST, RETRIEVE_USERS_GET_V1.path, None, 200, users);
    for (uuid, role) in [
        ("u-1", "falcon_administrator"),
        ("u-2", "falcon_console_guest"),
    ] {
        let grant =
            json!({"uuid": uuid, "role_id": role, "cid": "0123456789abcdef0123456789abcdef"});
        server.mock(|when, then| {
            when.method(GET)
                .path(COMBINED_USER_ROLES_V2.path)
                .query_param("user_uuid", uuid);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(page(json!([grant]), 0, 500, 1));
        });
    }
    two_builtin_roles_without_permissions(&server);

    let out = run_against(&server, &["-f", "csv", "review", "--fail-on", "privileged"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(
        rows[0].starts_with("privileged,admin@example.com,u-1,")
            && rows[0].contains("Falcon Administrator"),
        "{csv}"
    );
    assert!(
        stderr.contains("from the built-in administrator roles"),
        "{stderr}"
    );
}

/// A 700-user tenant whose first page of ids (limit 500) holds 550: the first 500 and 50 of them
/// again. Later pages are as asked when `rest`, else empty. Every user is an administrator.
fn tenant_with_an_overfull_page(rest: bool) -> MockServer {
    let server = mock_server();
    let id = |n: u64| format!("u-{n:03}");
    server.mock(|when, then| {
        when.method(GET).path(QUERY_USER_V1.path);
        then.respond_with(move |req: &HttpMockRequest| {
            let number = |name: &str| -> u64 {
                let params = req.query_params();
                let value = params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                value.and_then(|v| v.parse().ok()).unwrap_or(0)
            };
            let (offset, limit) = (number("offset"), number("limit"));
            let mut ids: Vec<String> = if offset == 0 || rest {
                (offset..(offset + limit).min(700)).map(id).collect()
            } else {
                Vec::new()
            };
            if offset == 0 {
                ids.extend((0..50).map(id));
            }
            json_reply(200, &page(json!(ids), 0, 500, 700))
        });
    });
    server.mock(|when, then| {
        when.method(POST).path(RETRIEVE_USERS_GET_V1.path);
        then.respond_with(|req: &HttpMockRequest| {
            let asked: Value = serde_json::from_slice(req.body_ref()).expect("a JSON body");
            let users: Vec<Value> = asked["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|uuid| {
                    json!({"uuid": uuid, "uid": format!("{}@example.com", uuid.as_str().unwrap()),
                           "status": "active", "cid": "0123456789abcdef0123456789abcdef",
                           "created_at": "2026-01-01T00:00:00Z",
                           "last_login_at": chrono::Utc::now().to_rfc3339()})
                })
                .collect();
            json_reply(200, &entities(json!(users), json!([])))
        });
    });
    let grant =
        json!({"role_id": "falcon_administrator", "cid": "0123456789abcdef0123456789abcdef"});
    let grants = page(json!([grant]), 0, 500, 1);
    answer(&server, GET, COMBINED_USER_ROLES_V2.path, None, 200, grants);
    two_builtin_roles_without_permissions(&server);
    server
}

/// A tenant whose service answers a page of 550 ids for `limit=500`: that once made the next page start at 550, and
/// the review covered 650 of 700 users with exit 0. Now every user is reviewed once; and when
/// the rest never comes, the review fails instead of reporting a part as the whole.
#[test]
fn a_users_listing_that_cannot_be_shown_complete_fails_the_review() {
    let whole = tenant_with_an_overfull_page(true);
    let out = run_against(&whole, &["-f", "json", "review"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["summary"]["users"], 700, "every user once: {stderr}");
    assert_eq!(count(&doc, "privileged"), 700);
    assert!(
        stderr.contains("50 rows sent twice by the service dropped"),
        "{stderr}"
    );

    let cut = tenant_with_an_overfull_page(false);
    let out = run_against(&cut, &["-f", "json", "review"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("the listing is incomplete, 200 rows not listed"),
        "{stderr}"
    );
}

#[test]
fn a_child_that_cannot_be_reviewed_is_reported_with_exit_5_and_the_rest_is_written() {
    let state = SimState::new();
    let first = review_json(&state, &[]);
    let children = children_of(&state);
    // Not a child of this parent: its token is refused.
    let stranger = "0123456789abcdef0123456789abcdef";
    let list = format!("{children},{stranger}");
    let out = sim_run(
        &state,
        &[
            "-f",
            "json",
            "review",
            "--member-cids",
            &list,
            "--fail-on",
            "privileged",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(5),
        "partial wins over --fail-on: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error: child CID") && l.contains(stranger)),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the others' review");
    assert_eq!(doc["summary"]["users"], 240);
    assert!(count(&doc, "privileged") >= count(&first, "privileged"));
}

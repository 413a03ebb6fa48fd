//! Single-user commands as people type them: users by login or UUID, roles by id or display
//! name (with "did you mean"), revoking a role not held, account actions, role permissions, and
//! sorted listings; each against the embedded simulator with a tenant of its own.

use std::process::Output;

use serde_json::Value;

use crate::support::*;

/// Runs a `--simulate` command on the tenant saved in `state`, JSON out.
fn sim(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate", "--sim-users", "5", "-f", "json"];
    all.extend_from_slice(args);
    run(&all, &state.env())
}

/// The JSON of a command that succeeded.
fn ok(out: Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The exit code, stdout and stderr of a command.
fn ended(out: &Output) -> (Option<i32>, String, String) {
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A new user with these roles (ids or names), as `provision` reports them.
fn provision(state: &SimState, uid: &str, roles: &str) -> Value {
    ok(sim(state, &["provision", uid, "--roles", roles]))
}

fn role_ids(grants: &Value) -> Vec<String> {
    let mut ids: Vec<String> = grants
        .as_array()
        .expect("an array of grants")
        .iter()
        .map(|g| g["role_id"].as_str().expect("a role id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn field(list: &Value, name: &str) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|r| r[name].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_user_is_deleted_and_renamed_by_login() {
    let state = SimState::new();
    provision(&state, "tom@example.com", "falcon_console_guest");

    let renamed = ok(sim(
        &state,
        &["users", "update", "Tom@Example.com", "--last-name", "Lee"],
    ));
    assert_eq!(renamed[0]["last_name"], "Lee");

    let out = sim(&state, &["--yes", "users", "delete", "tom@example.com"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("deleted tom@example.com ("), "{stderr}");
    let gone = sim(&state, &["users", "get", "tom@example.com"]);
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone.stderr));

    // Nobody has the login: refused before anything is deleted.
    let out = sim(&state, &["--yes", "users", "delete", "tom@example.com"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no user with login tom@example.com"),
        "{stderr}"
    );
}

#[test]
fn users_get_prints_those_found_and_reports_the_others_with_exit_5() {
    let state = SimState::new();
    let ann = provision(&state, "ann@example.com", "falcon_console_guest");
    let uuid = ann["user"]["uuid"].as_str().expect("a uuid").to_owned();

    let out = sim(
        &state,
        &[
            "users",
            "get",
            "ann@example.com",
            "nobody@example.com",
            "00000000000000000000000000000000",
        ],
    );
    let (code, stdout, stderr) = ended(&out);
    assert_eq!(code, Some(5), "{stderr}");
    let found: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(field(&found, "uuid"), std::slice::from_ref(&uuid));
    assert!(
        stderr.contains("no user with login nobody@example.com"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no user 00000000000000000000000000000000 in this CID"),
        "{stderr}"
    );

    // By UUID and by login, all found: exit 0, each user once.
    let both = ok(sim(&state, &["users", "get", &uuid, "ann@example.com"]));
    assert_eq!(field(&both, "uuid"), [uuid]);
}

#[test]
fn roles_are_named_by_display_name_and_a_near_miss_is_refused_with_a_suggestion() {
    let state = SimState::new();
    provision(&state, "cy@example.com", "Falcon Console Guest");
    let grants = ok(sim(&state, &["grants", "list", "cy@example.com"]));
    assert_eq!(role_ids(&grants), ["falcon_console_guest"]);

    let out = sim(
        &state,
        &["grants", "grant", "cy@example.com", "falcon read only"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("granted falconhost_read_only to cy@example.com"),
        "{}",
        text(&out.stderr)
    );

    let out = sim(
        &state,
        &["grants", "grant", "cy@example.com", "Falcon Analist"],
    );
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("did you mean Falcon Analyst?"), "{stderr}");
    let grants = ok(sim(&state, &["grants", "list", "cy@example.com"]));
    assert_eq!(
        role_ids(&grants),
        ["falcon_console_guest", "falconhost_read_only"]
    );

    let roles = ok(sim(
        &state,
        &["roles", "get", "Falcon Analyst", "falcon_console_guest"],
    ));
    assert_eq!(
        field(&roles, "id"),
        ["falconhost_analyst", "falcon_console_guest"]
    );
    let out = sim(&state, &["roles", "get", "falcon_console_gest"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("did you mean falcon_console_guest?"),
        "{stderr}"
    );

    let out = sim(
        &state,
        &["provision", "di@example.com", "--roles", "Falcon Analist"],
    );
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("did you mean Falcon Analyst?"), "{stderr}");
}

#[test]
fn revoking_a_role_not_held_says_so_and_revokes_only_those_held() {
    let state = SimState::new();
    provision(&state, "eve@example.com", "falcon_console_guest");

    let out = sim(
        &state,
        &[
            "--yes",
            "grants",
            "revoke",
            "eve@example.com",
            "Falcon Analyst",
        ],
    );
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("not held: eve@example.com does not hold falconhost_analyst"),
        "{stderr}"
    );
    assert!(!stderr.contains("revoked"), "{stderr}");

    let out = sim(
        &state,
        &[
            "--yes",
            "grants",
            "revoke",
            "eve@example.com",
            "falconhost_analyst",
            "falcon_console_guest",
        ],
    );
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("not held: eve@example.com does not hold falconhost_analyst"));
    assert!(
        stderr.contains("revoked falcon_console_guest from eve@example.com"),
        "{stderr}"
    );
    let grants = ok(sim(&state, &["grants", "list", "eve@example.com"]));
    assert_eq!(role_ids(&grants), Vec::<String>::new());
}

#[test]
fn password_and_two_factor_resets_are_confirmed_and_sent_for_logins() {
    let state = SimState::new();
    provision(&state, "fay@example.com", "falcon_console_guest");

    // No terminal and no --yes: refused, exit 6.
    let out = sim(&state, &["users", "reset-password", "fay@example.com"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        stderr.contains("refusing to reset the password of fay@example.com"),
        "{stderr}"
    );

    let out = sim(
        &state,
        &["--yes", "users", "reset-password", "fay@example.com"],
    );
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("password reset: fay@example.com ("),
        "{stderr}"
    );

    let out = sim(&state, &["--yes", "users", "reset-2fa", "fay@example.com"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("two-factor authentication reset: fay@example.com ("),
        "{stderr}"
    );

    let out = sim(
        &state,
        &["--yes", "users", "reset-2fa", "nobody@example.com"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn roles_get_permissions_lists_each_roles_permissions() {
    let state = SimState::new();
    let listed = ok(sim(
        &state,
        &["roles", "get", "--permissions", "Falcon Administrator"],
    ));
    let rows = listed.as_array().expect("rows");
    assert!(!rows.is_empty(), "{listed}");
    assert!(rows.iter().all(|r| r["role_id"] == "falcon_administrator"));
    let mut ids = field(&listed, "id");
    ids.sort();
    // The simulator gives administrators every permission of its catalogue.
    assert!(ids.contains(&"users:write".to_owned()), "{ids:?}");
    assert!(
        rows.iter()
            .all(|r| !r["display_name"].as_str().unwrap_or_default().is_empty())
    );

    let out = run(
        &[
            "--simulate",
            "-f",
            "csv",
            "roles",
            "get",
            "--permissions",
            "falcon_console_guest",
        ],
        &state.env(),
    );
    let csv = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        csv.starts_with("role_id,permission,display_name,group,depends_on"),
        "{csv}"
    );
}

#[test]
fn listings_sort_as_asked_and_an_unknown_sort_is_refused_naming_the_values() {
    let state = SimState::new();
    let up = field(
        &ok(sim(&state, &["users", "list", "--sort", "uid|asc"])),
        "uid",
    );
    let down = field(
        &ok(sim(&state, &["users", "list", "--sort", "uid|desc"])),
        "uid",
    );
    assert_eq!(up.len(), 5);
    let mut sorted = up.clone();
    sorted.sort();
    assert_eq!(up, sorted);
    let mut reversed = up.clone();
    reversed.reverse();
    assert_eq!(down, reversed);

    let out = sim(&state, &["users", "list", "--sort", "shoe_size"]);
    let (code, _, stderr) = ended(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("uid|desc"), "{stderr}");

    provision(
        &state,
        "gus@example.com",
        "falcon_console_guest,falconhost_read_only",
    );
    let names = |sort: &str| {
        field(
            &ok(sim(
                &state,
                &["grants", "list", "gus@example.com", "--sort", sort],
            )),
            "role_name",
        )
    };
    assert_eq!(
        names("role_name|asc"),
        ["Falcon Console Guest", "Falcon Read Only"]
    );
    assert_eq!(
        names("role_name|desc"),
        ["Falcon Read Only", "Falcon Console Guest"]
    );

    let by_name = field(
        &ok(sim(&state, &["roles", "list", "--sort", "name"])),
        "display_name",
    );
    let mut sorted = by_name.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(by_name, sorted);
}

/// `provision` and `grants grant` read the roles once: the ids in one request, display names
/// in one more (counted in the `-vv` request log).
#[test]
fn roles_are_read_once_per_command() {
    let state = SimState::new();
    let reads = |args: &[&str]| -> (usize, usize) {
        let mut all = vec!["-vv"];
        all.extend_from_slice(args);
        let out = sim(&state, &all);
        let (code, _, stderr) = ended(&out);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let count = |op: &str| {
            stderr
                .lines()
                .filter(|l| l.contains("response") && l.contains(&format!("\"{op}\"")))
                .count()
        };
        (count("queriesRolesV1"), count("entitiesRolesGETV2"))
    };
    let named = [
        "provision",
        "ro1@example.com",
        "--roles",
        "Falcon Console Guest",
    ];
    assert_eq!(reads(&named), (1, 1));
    let by_id = [
        "provision",
        "ro2@example.com",
        "--roles",
        "falcon_console_guest",
    ];
    assert_eq!(reads(&by_id), (1, 0));
    let grant = ["grants", "grant", "ro2@example.com", "falconhost_read_only"];
    assert_eq!(reads(&grant), (1, 0));
}

//! The embedded default remembers: the simulated tenant is kept in a state file between
//! commands, seeded the same way on first use, locked while a command runs, private, and never
//! silently replaced when it cannot be read.

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::support::*;

/// Runs a `--simulate` command on the tenant saved in `state`.
fn sim(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate", "-f", "json"];
    all.extend_from_slice(args);
    run(&all, &state.env())
}

/// A command that succeeded quietly: nothing on stderr but the summary lines commands print
/// (no warning a new user would wonder about, such as the simulator's `X-Cs-Region`).
fn ok(out: Output) -> Value {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn logins(list: &Value) -> Vec<String> {
    let mut uids: Vec<String> = list
        .as_array()
        .expect("an array of users")
        .iter()
        .map(|u| u["uid"].as_str().expect("a login").to_owned())
        .collect();
    uids.sort();
    uids
}

fn provision(state: &SimState, uid: &str) -> Value {
    ok(sim(
        state,
        &["provision", uid, "--roles", "falcon_console_guest"],
    ))
}

/// The README's session (provision, list, offboard), each command a process of its own.
#[test]
fn a_session_on_the_embedded_default_sees_its_own_changes() {
    let state = SimState::new();
    let seeded = ok(sim(&state, &["--sim-users", "5", "users", "list"]));
    assert_eq!(logins(&seeded).len(), 5);

    let report = ok(sim(
        &state,
        &[
            "provision",
            "new.hire@example.com",
            "--roles",
            "falcon_console_guest",
            "--first-name",
            "New",
            "--last-name",
            "Hire",
        ],
    ));
    assert_eq!(report["status"], "created");

    let filter = ["users", "list", "--filter", "uid:'new.hire@example.com'"];
    let listed = ok(sim(&state, &filter));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["uuid"], report["user"]["uuid"]);
    assert_eq!(listed[0]["last_name"], "Hire");
    let found = ok(sim(&state, &["users", "get", "new.hire@example.com"]));
    assert_eq!(found[0]["uuid"], report["user"]["uuid"]);
    let grants = ok(sim(&state, &["grants", "list", "new.hire@example.com"]));
    assert_eq!(grants[0]["role_id"], "falcon_console_guest");

    let offboarded = ok(sim(&state, &["--yes", "offboard", "new.hire@example.com"]));
    assert_eq!(offboarded["executed"], true);

    assert_eq!(ok(sim(&state, &filter)), serde_json::json!([]));
    let gone = sim(&state, &["users", "get", "new.hire@example.com"]);
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone.stderr));
    assert!(text(&gone.stderr).contains("no user with login new.hire@example.com"));
    assert_eq!(
        ok(sim(&state, &["users", "list"])),
        seeded,
        "back to the seeded tenant"
    );
}

#[test]
fn the_first_use_seeds_the_same_tenant_every_time_and_sim_reset_starts_over() {
    let (first, second) = (SimState::new(), SimState::new());
    let list = ["--sim-users", "7", "users", "list"];
    let seeded = ok(sim(&first, &list));
    assert_eq!(ok(sim(&second, &list)), seeded, "same seed, same tenant");

    provision(&first, "joiner@example.com");
    let reset = ok(sim(
        &first,
        &["--sim-reset", "--sim-users", "7", "users", "list"],
    ));
    assert_eq!(reset, seeded, "a new tenant, the seeded one");
    let gone = sim(&first, &["users", "get", "joiner@example.com"]);
    assert_eq!(gone.status.code(), Some(2), "the reset tenant was saved");
    // A saved tenant keeps its users: --sim-users only sizes a new one.
    assert_eq!(
        ok(sim(&first, &["--sim-users", "3", "users", "list"])),
        seeded
    );
}

#[test]
fn a_state_file_this_build_cannot_read_is_an_error_and_is_left_as_it_is() {
    for contents in [
        "{\"version\": 1, \"state\": {\"tenants\": \"tru",
        "not json at all",
        r#"{"version": 999, "state": {"from": "a newer build"}}"#,
        r#"{"state": {}}"#,
    ] {
        let state = SimState::new();
        fs::create_dir_all(state.file().parent().unwrap()).unwrap();
        fs::write(state.file(), contents).unwrap();
        for args in [
            &["users", "list"][..],
            &[
                "provision",
                "x@example.com",
                "--roles",
                "falcon_console_guest",
            ],
        ] {
            let out = sim(&state, args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{contents:?}: {stderr}");
            assert!(
                stderr.contains("--sim-reset"),
                "says how to start over: {stderr}"
            );
            assert!(
                stderr.contains(state.file().to_str().unwrap()),
                "names the file: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(out.stdout.is_empty());
            assert_eq!(
                fs::read_to_string(state.file()).unwrap(),
                contents,
                "left as it is"
            );
        }
        ok(sim(
            &state,
            &["--sim-reset", "--sim-users", "2", "users", "list"],
        ));
        assert_eq!(
            logins(&ok(sim(&state, &["users", "list"]))).len(),
            2,
            "reset and saved"
        );
    }
}

#[test]
fn concurrent_commands_on_one_state_all_land() {
    let state = SimState::new();
    ok(sim(&state, &["--sim-users", "5", "users", "list"]));
    let uids: Vec<String> = (0..4)
        .map(|n| format!("concurrent{n}@example.com"))
        .collect();
    let children: Vec<_> = uids
        .iter()
        .map(|uid| {
            let mut cmd = command(
                &[
                    "--simulate",
                    "-f",
                    "json",
                    "provision",
                    uid,
                    "--roles",
                    "falcon_console_guest",
                ],
                &state.env(),
            );
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().expect("the binary starts")
        })
        .collect();
    for child in children {
        ok(finish(child));
    }
    let mut args = vec!["users", "get"];
    args.extend(uids.iter().map(String::as_str));
    let found = ok(sim(&state, &args));
    assert_eq!(logins(&found), uids, "every provision was kept");
    assert_eq!(logins(&ok(sim(&state, &["users", "list"]))).len(), 9);
}

#[test]
fn the_state_is_private_and_written_only_where_it_was_asked() {
    let home = tempfile::tempdir().unwrap();
    let state = SimState::new();
    let home_path = home.path().to_str().unwrap();
    let mut env = vec![("HOME", home_path), ("XDG_STATE_HOME", home_path)];
    env.extend(state.env());
    let out = run(
        &[
            "--simulate",
            "provision",
            "p@example.com",
            "--roles",
            "falcon_console_guest",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        names_in(home.path()).is_empty(),
        "nothing in the home directory"
    );
    let dir = state.file().parent().unwrap();
    assert_eq!(
        names_in(dir),
        ["sim-tenant.json", "sim-tenant.lock"],
        "no temporary file left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(state.file()), 0o600, "names and logins: owner only");
        assert_eq!(mode(dir), 0o700);
    }
}

#[test]
fn without_an_override_the_state_goes_to_the_xdg_state_directory() {
    let xdg = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (x, h) = (xdg.path().to_str().unwrap(), home.path().to_str().unwrap());
    let list = ["--simulate", "--sim-users", "2", "users", "list"];
    let out = command(&list, &[("XDG_STATE_HOME", x), ("HOME", h)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(xdg.path().join("falcon-users/sim-tenant.json").is_file());
    assert!(names_in(home.path()).is_empty());

    let out = command(&list, &[("XDG_STATE_HOME", ""), ("HOME", h)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        home.path()
            .join(".local/state/falcon-users/sim-tenant.json")
            .is_file()
    );
}

#[test]
fn help_shows_where_the_state_lives_and_how_to_reset_it() {
    let out = run(&["--help"], &[]);
    let help = text(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "--sim-state",
        "--sim-reset",
        "FALCON_SIM_STATE",
        "falcon-users/sim-tenant.json",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

/// A state file named like its own lock (`--sim-state X.lock`, or `FALCON_SIM_STATE`) is
/// refused with exit code 2 before anything is written, with `--sim-reset` too: the lock would
/// be the state file itself, read back as an empty tenant and replaced on every save.
#[test]
fn a_state_file_named_like_its_own_lock_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tenant.lock", "tenant.LOCK"] {
        let file = dir.path().join(name);
        let path = file.to_str().unwrap();
        let list = ["--simulate", "users", "list"];
        let runs = [
            command(&[&["--sim-state", path][..], &list].concat(), &[]),
            command(
                &[&["--sim-state", path, "--sim-reset"][..], &list].concat(),
                &[],
            ),
            command(&list, &[("FALCON_SIM_STATE", path)]),
        ];
        for mut cmd in runs {
            let out = cmd.output().unwrap();
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(
                stderr.contains(&format!(
                    "{path} cannot hold the simulated tenant: its lock file is the same name with \
                     .lock, the file itself"
                )),
                "{stderr}"
            );
            assert!(stderr.contains("--sim-state"), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(out.stdout.is_empty());
            assert!(names_in(dir.path()).is_empty(), "nothing written");
        }
    }
}

/// A saved tenant edited by hand into one that contradicts itself is refused with exit code 2,
/// naming the contradiction, the file and `--sim-reset`, and is left as it is.
#[test]
fn a_hand_edited_tenant_that_contradicts_itself_is_refused() {
    type Edit = fn(&mut Value);
    let edits: &[(&str, Edit, &str)] = &[
        (
            "the parent's tenant removed",
            |s| {
                let parent = s["parent_cid"].as_str().unwrap().to_owned();
                s["tenants"].as_object_mut().unwrap().remove(&parent);
            },
            "the parent CID \"",
        ),
        (
            "a child's tenant removed",
            |s| {
                let child = s["child_cids"][0].as_str().unwrap().to_owned();
                s["tenants"].as_object_mut().unwrap().remove(&child);
            },
            "has no tenant",
        ),
        (
            "a login twice",
            |s| {
                let parent = s["parent_cid"].as_str().unwrap().to_owned();
                let users = s["tenants"][&parent]["users"].as_object_mut().unwrap();
                let mut twin = users.values().next().unwrap().clone();
                let uuid = "0".repeat(32);
                twin["uuid"] = uuid.clone().into();
                users.insert(uuid, twin);
            },
            "belongs to two users",
        ),
        (
            "a grant for an unknown user",
            |s| {
                let parent = s["parent_cid"].as_str().unwrap().to_owned();
                s["tenants"][&parent]["grants"]["nobody"] = serde_json::json!([
                    {"role_id": "falcon_console_guest", "cid": parent, "expires_at": null}
                ]);
            },
            "a grant is held by UUID nobody, which is no user",
        ),
        (
            "a grant of an unknown role",
            |s| {
                let parent = s["parent_cid"].as_str().unwrap().to_owned();
                let users = s["tenants"][&parent]["users"].as_object().unwrap();
                let uuid = users.keys().next().unwrap().clone();
                s["tenants"][&parent]["grants"][&uuid] = serde_json::json!([
                    {"role_id": "made_up", "cid": parent, "expires_at": null}
                ]);
            },
            "holds role made_up, which CID",
        ),
    ];
    for (what, edit, expected) in edits {
        let state = SimState::new();
        ok(sim(&state, &["--sim-users", "4", "users", "list"]));
        let mut saved: Value = serde_json::from_slice(&fs::read(state.file()).unwrap()).unwrap();
        edit(&mut saved["state"]);
        let contents = serde_json::to_string(&saved).unwrap();
        fs::write(state.file(), &contents).unwrap();
        let out = sim(&state, &["users", "list"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        for needle in [
            &format!(
                "cannot use the simulated tenant in {}: it is damaged: the tenant contradicts itself (",
                state.file().display()
            ),
            *expected,
            "--sim-reset",
        ] {
            assert!(stderr.contains(needle), "{what}: {needle}: {stderr}");
        }
        assert!(out.stdout.is_empty(), "{what}");
        assert_eq!(
            fs::read_to_string(state.file()).unwrap(),
            contents,
            "{what}: left as it is"
        );
        ok(sim(&state, &["--sim-reset", "users", "list"]));
    }
}

/// With `--sim-read-lag 30` the embedded tenant's reads trail its writes across processes, as
/// the service's do: a grant made by one command is not listed by the next command run right
/// after it (the write, still unseen, was saved with the tenant), and is listed at once by a
/// command without the lag. The command's simulated waiting is logged at -vv.
#[test]
fn a_lagging_embedded_tenant_lists_the_old_grants_right_after_a_grant() {
    let state = SimState::new();
    let seeded = ok(sim(&state, &["--sim-users", "5", "users", "list"]));
    let uid = logins(&seeded)[0].clone();
    let roles = |list: Value| -> Vec<String> {
        list.as_array()
            .expect("an array of grants")
            .iter()
            .map(|g| g["role_id"].as_str().expect("a role id").to_owned())
            .collect()
    };
    let before = roles(ok(sim(&state, &["grants", "list", &uid])));
    let role = ["falcon_console_guest", "falconhost_read_only"]
        .into_iter()
        .find(|r| !before.iter().any(|b| b == r))
        .expect("a role the user lacks");

    let granted = sim(
        &state,
        &["-vv", "--sim-read-lag", "30", "grants", "grant", &uid, role],
    );
    assert!(granted.status.success(), "{}", text(&granted.stderr));
    assert!(
        text(&granted.stderr).contains("simulated_wait"),
        "{}",
        text(&granted.stderr)
    );
    let lagging = roles(ok(sim(
        &state,
        &["--sim-read-lag", "30", "grants", "list", &uid],
    )));
    assert_eq!(lagging, before, "right after the grant, the old grants");
    let seen = roles(ok(sim(&state, &["grants", "list", &uid])));
    assert!(
        seen.iter().any(|r| r == role),
        "no lag: seen at once {seen:?}"
    );
}

/// `--sim-read-lag` shapes the embedded simulator only: asked of a real tenant it is refused
/// (exit 2) before any request, naming --simulate; a value past the bound is a usage error.
#[test]
fn sim_read_lag_needs_the_simulator_and_a_bounded_value() {
    let real = run(
        &[
            "--cloud",
            "http://127.0.0.1:9",
            "--client-id",
            "id",
            "--client-secret",
            "secret",
            "--sim-read-lag",
            "30",
            "roles",
            "list",
        ],
        &[],
    );
    assert_eq!(real.status.code(), Some(2), "{}", text(&real.stderr));
    assert!(
        text(&real.stderr).contains("--sim-read-lag needs the embedded simulator"),
        "{}",
        text(&real.stderr)
    );
    let state = SimState::new();
    let long = sim(&state, &["--sim-read-lag", "3601", "users", "list"]);
    assert_eq!(long.status.code(), Some(2), "{}", text(&long.stderr));
    assert!(
        text(&long.stderr).contains("from 0 to 3600"),
        "{}",
        text(&long.stderr)
    );
}

/// With the embedded tenant lagging 30 s, `provision` and `offboard` wait (simulated time) for
/// the service to show their change and say so, so that each rerun right after sees it: the
/// second provision finds the user provisioned, the second offboard finds no user. With
/// `--settle 0` nothing waits, and a rerun right after does not see the change.
#[test]
fn provision_and_offboard_wait_for_the_lagging_service_so_reruns_see_their_change() {
    let state = SimState::new();
    ok(sim(&state, &["--sim-users", "3", "users", "list"]));
    let lagging = |args: &[&str]| {
        let mut all = vec!["--sim-read-lag", "30"];
        all.extend_from_slice(args);
        sim(&state, &all)
    };
    let first = lagging(&[
        "provision",
        "lin@example.com",
        "--roles",
        "falcon_console_guest",
    ]);
    let said = text(&first.stderr);
    assert!(first.status.success(), "{said}");
    assert!(
        said.contains("waiting up to 90 s for the service to show lin@example.com"),
        "{said}"
    );
    assert!(
        said.contains("the service shows lin@example.com after 30 s"),
        "{said}"
    );
    let again = lagging(&[
        "provision",
        "lin@example.com",
        "--roles",
        "falcon_console_guest",
    ]);
    let again: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(again["status"], "already provisioned");

    let gone = lagging(&["-y", "offboard", "lin@example.com"]);
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    let twice = lagging(&["-y", "offboard", "lin@example.com"]);
    assert_eq!(twice.status.code(), Some(2), "{}", text(&twice.stderr));
    assert!(
        text(&twice.stderr).contains("no user lin@example.com"),
        "{}",
        text(&twice.stderr)
    );

    // A run that did not wait (--settle 0) leaves the login created but unlisted: the rerun
    // right after finds it taken, waits until it is listed, and completes it (no failure).
    let quick = lagging(&[
        "--settle",
        "0",
        "provision",
        "max@example.com",
        "--roles",
        "falcon_console_guest",
    ]);
    assert!(quick.status.success(), "{}", text(&quick.stderr));
    assert!(
        !text(&quick.stderr).contains("waiting"),
        "{}",
        text(&quick.stderr)
    );
    let rerun = lagging(&[
        "provision",
        "max@example.com",
        "--roles",
        "falcon_console_guest",
    ]);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    let rerun: Value = serde_json::from_slice(&rerun.stdout).expect("JSON");
    assert_eq!(rerun["status"], "already provisioned");
}

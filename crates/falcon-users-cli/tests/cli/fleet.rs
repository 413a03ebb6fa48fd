//! Flight Control fleets on the command line: `inventory --member-cids` over the simulator's
//! seeded children (every row labelled with its child's CID), the `@FILE` form, a bad CID
//! refused before any request, and one failing child reported while the others' rows are
//! written (exit 5).

use std::collections::{BTreeMap, BTreeSet};

use falcon_users::api::operations::{OAUTH2_ACCESS_TOKEN, QUERY_CHILDREN, QUERY_USER_V1};
use falcon_users_sim::SimConfig;

use crate::support::*;

/// A simulator with 30 users in the parent and 3 in each of its 2 children.
fn fleet() -> (Sim, Vec<String>) {
    let sim = Sim::start(SimConfig {
        users: 30,
        child_cids: 2,
        ..SimConfig::default()
    });
    let children = sim.sim.child_cids();
    (sim, children)
}

/// The logins of a CSV inventory, by the CID of their row.
fn logins_by_cid(csv: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "uuid,uid,first_name,last_name,status,cid,user_type,created_at,last_login_at,roles,role_names,grant_cids,grant_types,expires_at,sources,user_groups,cid_groups"
        ),
        "{csv}"
    );
    let mut by_cid: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        by_cid
            .entry(fields[5].to_owned())
            .or_default()
            .insert(fields[1].to_owned());
    }
    by_cid
}

/// What the simulator holds: the logins of each of `cids`.
fn expected(sim: &Sim, cids: &[&String]) -> BTreeMap<String, BTreeSet<String>> {
    cids.iter()
        .map(|cid| {
            let logins = sim.sim.users(cid).into_iter().map(|u| u.uid).collect();
            ((*cid).clone(), logins)
        })
        .collect()
}

#[test]
fn inventory_of_member_cids_lists_the_parent_and_every_childs_users_labelled_with_their_cid() {
    let (sim, children) = fleet();
    let env = sim.env();
    let list = children.join(",");
    let out = run(
        &["-f", "csv", "inventory", "--member-cids", &list],
        &pairs(&env),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let by_cid = logins_by_cid(&text(&out.stdout));
    let parent = sim.sim.parent_cid();
    // The fleet is the parent and its children: the parent's users are in it (issue 26).
    assert_eq!(
        by_cid,
        expected(&sim, &[&parent, &children[0], &children[1]])
    );
    let summary = text(&out.stderr);
    assert!(
        summary.contains("36 users: 30 in the own CID, 6 in 2 child CIDs"),
        "{summary}"
    );
    for child in &children {
        assert!(summary.contains(&format!("{child}: 3")), "{summary}");
    }
    // The parent's token, and each child with its own.
    assert_eq!(sim.sim.request_count(&OAUTH2_ACCESS_TOKEN), 3);
}

#[test]
fn member_cids_from_a_file_with_comments_and_checksum_suffixes() {
    let (sim, children) = fleet();
    let env = sim.env();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("children.txt");
    std::fs::write(
        &list,
        format!(
            "# our customers\n\n{}-5A  # pasted from the console\n{}\n",
            children[0].to_uppercase(),
            children[1]
        ),
    )
    .unwrap();
    let output = dir.path().join("fleet.csv");
    let out = run(
        &[
            "-f",
            "csv",
            "inventory",
            "--member-cids",
            &format!("@{}", list.display()),
            "-o",
            output.to_str().unwrap(),
        ],
        &pairs(&env),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        logins_by_cid(&written),
        expected(&sim, &[&sim.sim.parent_cid(), &children[0], &children[1]])
    );
}

#[test]
fn a_bad_member_cid_is_refused_with_exit_2_before_any_request() {
    let (sim, children) = fleet();
    let env = sim.env();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("children.txt");
    std::fs::write(&list, format!("{}\nnot-a-cid\n", children[0])).unwrap();
    for given in [
        format!("{},12345", children[0]),
        format!("@{}", list.display()),
        format!("@{}", dir.path().join("missing.txt").display()),
        ",".to_owned(),
    ] {
        let out = run(&["inventory", "--member-cids", &given], &pairs(&env));
        assert_eq!(out.status.code(), Some(2), "{given}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--member-cids"), "{given}");
    }
    let file_error = run(
        &[
            "inventory",
            "--member-cids",
            &format!("@{}", list.display()),
        ],
        &pairs(&env),
    );
    assert!(
        text(&file_error.stderr).contains("line 2"),
        "{}",
        text(&file_error.stderr)
    );
    assert_eq!(sim.sim.request_count(&OAUTH2_ACCESS_TOKEN), 0);
    assert_eq!(sim.sim.request_count(&QUERY_USER_V1), 0);
}

#[test]
fn a_failing_child_is_reported_and_the_others_rows_are_written_with_exit_5() {
    let (sim, children) = fleet();
    let env = sim.env();
    // Not a child of this parent: its token is refused.
    let stranger = "0123456789abcdef0123456789abcdef".to_owned();
    let list = format!("{},{stranger},{}", children[0], children[1]);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("fleet.csv");
    for to_file in [false, true] {
        let mut args = vec!["-f", "csv", "inventory", "--member-cids", &list];
        if to_file {
            args.extend(["-o", output.to_str().unwrap()]);
        }
        let out = run(&args, &pairs(&env));
        assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let reported: Vec<&str> = stderr.lines().filter(|l| l.contains(&stranger)).collect();
        assert!(
            reported
                .iter()
                .any(|l| l.contains("error") && l.contains("HTTP 400")),
            "the failure names the CID and its cause: {stderr}"
        );
        assert!(stderr.contains(&format!("failed: {stranger}")), "{stderr}");
        assert!(stderr.contains("6 in 2 child CIDs"), "{stderr}");
        let csv = if to_file {
            std::fs::read_to_string(&output).expect("the file holding the others' rows")
        } else {
            text(&out.stdout)
        };
        assert_eq!(
            logins_by_cid(&csv),
            expected(&sim, &[&sim.sim.parent_cid(), &children[0], &children[1]]),
            "the parent's and every other child's rows"
        );
    }

    // Every child failing is not "partly done": the token failure's own code, no file.
    let only = dir.path().join("none.csv");
    let out = run(
        &[
            "-f",
            "csv",
            "inventory",
            "--member-cids",
            &stranger,
            "-o",
            only.to_str().unwrap(),
        ],
        &pairs(&env),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!only.exists());
}

/// The first `child_cids` anywhere in a saved simulated tenant.
fn child_cids_in(state: &serde_json::Value) -> Option<Vec<String>> {
    match state {
        serde_json::Value::Object(map) => map
            .get("child_cids")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .or_else(|| map.values().find_map(child_cids_in)),
        serde_json::Value::Array(items) => items.iter().find_map(child_cids_in),
        _ => None,
    }
}

#[test]
fn grants_with_cid_grant_list_and_revoke_a_parent_users_role_in_a_child() {
    let state = SimState::new();
    let sim = |args: &[&str]| {
        let mut all = vec!["--simulate", "-f", "json"];
        all.extend_from_slice(args);
        let out = run(&all, &state.env());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    let users: serde_json::Value =
        serde_json::from_slice(&sim(&["--sim-users", "5", "users", "list"]).stdout).unwrap();
    let uid = users[0]["uid"].as_str().unwrap().to_owned();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.file()).unwrap()).unwrap();
    let child = child_cids_in(&saved).expect("the saved tenant names its children")[0].clone();
    let roles_in_child = || -> Vec<String> {
        let listed: serde_json::Value =
            serde_json::from_slice(&sim(&["grants", "list", &uid, "--cid", &child]).stdout)
                .unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                assert_eq!(g["cid"], child.as_str(), "{g}");
                g["role_id"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(
        roles_in_child(),
        Vec::<String>::new(),
        "a parent user holds nothing there yet"
    );

    let granted = sim(&[
        "grants",
        "grant",
        &uid,
        "falconhost_analyst",
        "--cid",
        &child,
    ]);
    assert!(
        text(&granted.stderr).contains(&format!("in CID {child}")),
        "{}",
        text(&granted.stderr)
    );
    assert_eq!(roles_in_child(), ["falconhost_analyst"]);
    // Not in the parent: the grant is the child's.
    let parent: serde_json::Value =
        serde_json::from_slice(&sim(&["grants", "list", &uid]).stdout).unwrap();
    assert!(
        parent
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["cid"] != child.as_str()),
        "{parent}"
    );

    sim(&[
        "--yes",
        "grants",
        "revoke",
        &uid,
        "falconhost_analyst",
        "--cid",
        &child,
    ]);
    assert_eq!(roles_in_child(), Vec::<String>::new());

    let bad = run(
        &["--simulate", "grants", "list", &uid, "--cid", "nope"],
        &state.env(),
    );
    assert_eq!(bad.status.code(), Some(2));
}

/// The `(uid, cid, outcome)` of each row of a result table.
fn result_rows(out: &std::process::Output) -> BTreeSet<(String, String, String)> {
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    rows.as_array()
        .expect("a result table")
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (field("uid"), field("cid"), field("outcome"))
        })
        .collect()
}

#[test]
fn bulk_commands_with_member_cids_change_each_user_in_the_child_they_are_homed_in() {
    let (sim, children) = fleet();
    let env = sim.env();
    let (c0, c1) = (&children[0], &children[1]);
    let in_child = |cid: &str, n: usize| sim.sim.users(cid)[n].uid.clone();
    let (u0, u1) = (in_child(c0, 0), in_child(c1, 0));
    let nobody = "nobody@nowhere.example.com";
    let dir = tempfile::tempdir().unwrap();
    let team = dir.path().join("team.txt");
    std::fs::write(&team, format!("{u0}\n{u1}\n{nobody}\n")).unwrap();
    let team = team.to_str().unwrap();
    let both = format!("{c0},{c1}");
    let row =
        |uid: &str, cid: &str, outcome: &str| (uid.to_owned(), cid.to_owned(), outcome.to_owned());
    let held_in = |uid: &str, cid: &str| -> BTreeSet<String> {
        sim.sim
            .grants(uid)
            .into_iter()
            .filter(|g| g.cid == cid)
            .map(|g| g.role_id)
            .collect()
    };

    // A built-in role (every CID offers them) neither holds yet.
    let role = [
        "falconhost_analyst",
        "falconhost_investigator",
        "endpoint_manager",
        "prevention_hashes_manager",
        "falconhost_read_only",
    ]
    .into_iter()
    .find(|r| !held_in(&u0, c0).contains(*r) && !held_in(&u1, c1).contains(*r))
    .expect("a role neither holds");

    // Each login is changed where it lives; one found in no child is a failure (exit 5).
    let granted = run(
        &[
            "-f",
            "json",
            "--yes",
            "grants",
            "grant",
            "--users-from",
            team,
            role,
            "--member-cids",
            &both,
        ],
        &pairs(&env),
    );
    assert_eq!(granted.status.code(), Some(5), "{}", text(&granted.stderr));
    assert_eq!(
        result_rows(&granted),
        BTreeSet::from([
            row(&u0, c0, "done"),
            row(&u1, c1, "done"),
            row(nobody, "-", "failed"),
        ])
    );
    assert!(held_in(&u0, c0).contains(role));
    assert!(held_in(&u1, c1).contains(role));
    // Each child with its own token; the parent's one token only lists its children, to
    // check the list before the change (and changes nothing in the parent).
    assert_eq!(sim.sim.request_count(&OAUTH2_ACCESS_TOKEN), 3);
    assert_eq!(sim.sim.request_count(&QUERY_CHILDREN), 1);

    // A filter is applied in each member CID; a dry run shows the plan and changes nothing.
    let dry = run(
        &[
            "-f",
            "json",
            "grants",
            "set",
            "--filter",
            "uid:'*'",
            "falcon_console_guest",
            "--member-cids",
            c1,
            "--dry-run",
        ],
        &pairs(&env),
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let planned: BTreeSet<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cid"].as_str().unwrap_or_default().to_owned(),
                c["uid"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let c1_users: BTreeSet<(String, String)> = sim
        .sim
        .users(c1)
        .into_iter()
        .filter(|u| held_in(&u.uid, c1) != BTreeSet::from(["falcon_console_guest".to_owned()]))
        .map(|u| (c1.clone(), u.uid))
        .collect();
    assert!(!planned.is_empty());
    assert_eq!(planned, c1_users, "only the child's users, all of them");
    assert!(held_in(&u1, c1).contains(role), "unchanged");

    // Offboarding with --missing-ok: the user is deleted in their child, the stranger absent.
    let offboarded = run(
        &[
            "-f",
            "json",
            "--yes",
            "offboard",
            &u0,
            nobody,
            "--member-cids",
            &both,
            "--missing-ok",
        ],
        &pairs(&env),
    );
    assert!(offboarded.status.success(), "{}", text(&offboarded.stderr));
    assert_eq!(
        result_rows(&offboarded),
        BTreeSet::from([row(&u0, c0, "done"), row(nobody, "-", "absent")])
    );
    assert!(sim.sim.user(&u0).is_none());
    assert!(sim.sim.user(&u1).is_some());

    // A UUID names one account in one CID: refused across member CIDs, before any change.
    let uuid = sim.sim.users(c1)[1].uuid.clone();
    let by_uuid = run(
        &["--yes", "offboard", &uuid, "--member-cids", &both],
        &pairs(&env),
    );
    assert_eq!(by_uuid.status.code(), Some(2), "{}", text(&by_uuid.stderr));
    assert!(text(&by_uuid.stderr).contains("by login"));
    assert_eq!(sim.sim.users(c1).len(), 3);

    // --member-cids belongs to the bulk forms.
    let single = run(
        &[
            "grants",
            "grant",
            &u1,
            "falconhost_analyst",
            "--member-cids",
            c1,
        ],
        &pairs(&env),
    );
    assert_eq!(single.status.code(), Some(2), "{}", text(&single.stderr));
}

#[test]
fn provision_from_a_roster_with_member_cids_creates_in_the_children_named_and_refuses_others() {
    let (sim, children) = fleet();
    let env = sim.env();
    let (c0, c1) = (&children[0], &children[1]);
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("joiners.csv");
    std::fs::write(
        &roster,
        format!(
            "uid,first_name,last_name,roles,cid\n\
             kim@child0.example.com,Kim,Ng,falcon_console_guest,{c0}\n\
             lou@child1.example.com,Lou,Ma,Falcon Read Only,{c1}\n"
        ),
    )
    .unwrap();
    let roster = roster.to_str().unwrap();
    // Only the first child is being managed: the second row is refused, nothing is created.
    let refused = run(
        &["--yes", "provision", "--from", roster, "--member-cids", c0],
        &pairs(&env),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("not one of the member CIDs"),
        "{}",
        text(&refused.stderr)
    );
    assert!(sim.sim.user("kim@child0.example.com").is_none());

    let created = run(
        &[
            "-f",
            "json",
            "--yes",
            "provision",
            "--from",
            roster,
            "--member-cids",
            &format!("{c0},{c1}"),
        ],
        &pairs(&env),
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert_eq!(
        result_rows(&created),
        BTreeSet::from([
            (
                "kim@child0.example.com".to_owned(),
                c0.clone(),
                "done".to_owned()
            ),
            (
                "lou@child1.example.com".to_owned(),
                c1.clone(),
                "done".to_owned()
            ),
        ])
    );
    let kim = sim.sim.user("kim@child0.example.com").expect("created");
    assert_eq!(&kim.cid, c0);
    let lou_roles: Vec<String> = sim
        .sim
        .grants("lou@child1.example.com")
        .into_iter()
        .map(|g| g.role_id)
        .collect();
    assert_eq!(lou_roles, ["falconhost_read_only"]);
}

/// A list file without end (`/dev/zero`) is refused at once, naming the file and the bound, as
/// `--member-cids @FILE` and as the users of a bulk command: never read until memory runs out.
#[test]
fn list_files_past_their_bound_are_refused_at_once() {
    for args in [
        ["--simulate", "inventory", "--member-cids", "@/dev/zero"].as_slice(),
        &["--simulate", "--yes", "offboard", "--from", "/dev/zero"],
        &[
            "--simulate",
            "--yes",
            "grants",
            "grant",
            "falcon_console_guest",
            "--users-from",
            "/dev/zero",
        ],
    ] {
        let state = SimState::new();
        let child = command(args, &state.env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts");
        // Bounded: a binary still reading after 30 s fails the test.
        let out = finish(child);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/dev/zero: larger than 16 MiB"),
            "{args:?}: {stderr}"
        );
    }
}

//! Flight Control discovery on the command line: `children` in every format on the embedded
//! simulator, `--member-cids all` reaching every child, a CID that is not a child refused
//! before any change, and a client without the Flight Control read scope.

use std::collections::BTreeSet;

use falcon_users::api::operations::{
    GET_CHILDREN_V2, OAUTH2_ACCESS_TOKEN, QUERY_CHILDREN, USER_ROLES_ACTION_V1,
};
use falcon_users_sim::SimConfig;
use serde_json::Value;

use crate::support::*;

/// The children a saved simulated tenant holds, in creation order.
fn saved_children(state: &SimState) -> Vec<String> {
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state.file()).unwrap()).unwrap();
    serde_json::from_value(saved["state"]["child_cids"].clone()).expect("child_cids")
}

fn sim_run(state: &SimState, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--simulate"];
    all.extend_from_slice(args);
    run(&all, &state.env())
}

#[test]
fn children_lists_the_simulated_fleet_as_json_csv_and_a_table() {
    let state = SimState::new();
    let out = sim_run(&state, &["--sim-users", "5", "-f", "json", "children"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let children = saved_children(&state);
    assert!(!children.is_empty());
    // Newest first, as the service orders them.
    let listed: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cid"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = children.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    for row in rows.as_array().unwrap() {
        assert_eq!(row["status"], "active");
        assert!(!row["name"].as_str().unwrap().is_empty(), "{row}");
        let cid = row["cid"].as_str().unwrap();
        let console = row["with_checksum"].as_str().unwrap();
        assert!(
            console.starts_with(&format!("{}-", cid.to_uppercase())),
            "{row}"
        );
        assert_eq!(row["parent_cid"].as_str().unwrap().len(), 32);
    }

    let csv = sim_run(&state, &["-f", "csv", "children"]);
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let (header, mut reader) = csv_header(&csv.stdout);
    assert_eq!(
        header,
        ["cid", "name", "status", "with_checksum", "parent_cid"]
    );
    let cids: BTreeSet<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert_eq!(cids, children.iter().cloned().collect());

    let table = sim_run(&state, &["-f", "table", "children"]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    for child in &children {
        assert!(table.contains(child.as_str()), "{table}");
    }
}

#[test]
fn member_cids_all_reaches_every_child() {
    let sim = Sim::start(SimConfig {
        users: 30,
        child_cids: 3,
        ..SimConfig::default()
    });
    let env = sim.env();
    let out = run(
        &["-f", "csv", "inventory", "--member-cids", "all"],
        &pairs(&env),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut rows = stdout.lines();
    rows.next();
    let cids: BTreeSet<&str> = rows.map(|l| l.split(',').nth(5).unwrap()).collect();
    let mut fleet: BTreeSet<String> = sim.sim.child_cids().into_iter().collect();
    fleet.insert(sim.sim.parent_cid());
    assert_eq!(
        cids,
        fleet.iter().map(String::as_str).collect(),
        "the parent's users and every child's, no one else's"
    );
    assert!(
        text(&out.stderr).contains("in 3 child CIDs"),
        "{}",
        text(&out.stderr)
    );
    // One discovery: a page of ids, a batch of details.
    assert_eq!(sim.sim.request_count(&QUERY_CHILDREN), 1);
    assert_eq!(sim.sim.request_count(&GET_CHILDREN_V2), 1);

    // The review of the parent and every child: the same as naming each child.
    let list = sim.sim.child_cids().join(",");
    let review = |given: &str| -> Value {
        let out = run(
            &["-f", "json", "review", "--member-cids", given],
            &pairs(&env),
        );
        assert!(out.status.success(), "{given}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = review("all");
    assert_eq!(all["summary"], review(&list)["summary"]);
    let reviewed: BTreeSet<&str> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["cid"].as_str())
        .collect();
    for child in &sim.sim.child_cids() {
        assert!(reviewed.contains(child.as_str()), "{child} reviewed");
    }
}

#[test]
fn a_cid_that_is_not_a_child_is_refused_before_any_change() {
    let sim = Sim::start(SimConfig {
        users: 20,
        child_cids: 2,
        ..SimConfig::default()
    });
    let env = sim.env();
    let child = &sim.sim.child_cids()[0];
    let stranger = "0123456789abcdef0123456789abcdef";
    let parent = sim.sim.parent_cid();
    for list in [format!("{child},{stranger}"), parent.clone()] {
        let out = run(
            &[
                "--yes",
                "grants",
                "grant",
                "--filter",
                "uid:'*'",
                "falcon_console_guest",
                "--member-cids",
                &list,
            ],
            &pairs(&env),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{list}: {stderr}");
        let named = list.rsplit(',').next().unwrap();
        assert!(
            stderr.contains("not a child CID of this parent") && stderr.contains(named),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was changed"), "{stderr}");
    }
    // Each run minted the parent's token only, to discover; no child token, no grant.
    assert_eq!(sim.sim.request_count(&OAUTH2_ACCESS_TOKEN), 2);
    assert_eq!(sim.sim.request_count(&USER_ROLES_ACTION_V1), 0);
    let before = sim.sim.users(child).len();
    let out = run(
        &[
            "--yes",
            "offboard",
            "nobody@example.com",
            "--member-cids",
            stranger,
        ],
        &pairs(&env),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(sim.sim.users(child).len(), before);
}

#[test]
fn without_the_flight_control_scope_all_names_it_and_the_rest_still_works() {
    let sim = Sim::start(SimConfig {
        users: 20,
        child_cids: 2,
        ..SimConfig::default()
    });
    let ro = sim.sim.read_only_credentials();
    let env = vec![
        ("FALCON_CLOUD", sim.sim.base_url_str()),
        ("FALCON_CLIENT_ID", ro.client_id),
        ("FALCON_CLIENT_SECRET", ro.client_secret),
    ];
    for args in [
        vec!["inventory", "--member-cids", "all"],
        vec!["review", "--member-cids", "all"],
        vec!["children"],
    ] {
        let out = run(&args, &pairs(&env));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("\"Flight Control: Read\"") && stderr.contains("mssp:read"),
            "{args:?}: {stderr}"
        );
    }
    // Single-tenant work goes on, and so does a typed fleet.
    let own = run(&["-f", "csv", "inventory"], &pairs(&env));
    assert!(own.status.success(), "{}", text(&own.stderr));
    let list = sim.sim.child_cids().join(",");
    let typed = run(
        &["-f", "csv", "inventory", "--member-cids", &list],
        &pairs(&env),
    );
    assert!(typed.status.success(), "{}", text(&typed.stderr));
}

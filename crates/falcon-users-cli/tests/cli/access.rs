//! `access USER` (one person's roles in the own CID and every child, each with its source) and
//! `grants grant|revoke|list --cid LIST|all` (many children in one run, one summary, a CID that
//! is not a child refused before any change).

use std::collections::{BTreeMap, BTreeSet};

use falcon_users::api::operations::{COMBINED_USER_ROLES_V2, USER_ROLES_ACTION_V1};
use falcon_users_sim::SimConfig;
use serde_json::Value;

use crate::support::*;

#[test]
fn access_on_the_simulated_fleet_shows_each_role_with_its_source() {
    let state = SimState::new();
    let sim = |args: &[&str]| {
        let mut all = vec!["--simulate"];
        all.extend_from_slice(args);
        let out = run(&all, &state.env());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    let users: Value =
        serde_json::from_slice(&sim(&["-f", "json", "--sim-users", "5", "users", "list"]).stdout)
            .unwrap();
    let uid = users[0]["uid"].as_str().unwrap().to_owned();
    let parent = users[0]["cid"].as_str().unwrap().to_owned();
    let children: Value = serde_json::from_slice(&sim(&["-f", "json", "children"]).stdout).unwrap();
    let children = children.as_array().unwrap();
    assert!(children.len() >= 2, "{children:?}");
    let child = children[0]["cid"].as_str().unwrap().to_owned();
    let child_name = children[0]["name"].as_str().unwrap().to_owned();
    sim(&[
        "grants",
        "grant",
        &uid,
        "falconhost_investigator",
        "--cid",
        &child,
    ]);
    sim(&[
        "grants",
        "grant",
        &uid,
        "remote_responder_two",
        "--expires-in-hours",
        "5",
    ]);

    let out = sim(&["-f", "csv", "access", &uid]);
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("cid,cid_name,role_id,role_name,source,user_group,cid_group,until")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let in_child: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == child).collect();
    assert_eq!(
        in_child,
        [&vec![
            child.as_str(),
            child_name.as_str(),
            "falconhost_investigator",
            "Falcon Investigator",
            "direct",
            "",
            "",
            ""
        ]]
    );
    let temporary = rows
        .iter()
        .find(|r| r[2] == "remote_responder_two")
        .expect("the temporary grant");
    assert_eq!((temporary[0], temporary[4]), (parent.as_str(), "temporary"));
    assert!(
        temporary[7].ends_with('Z') && temporary[7].len() == 20,
        "{temporary:?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r[0] == parent && r[2] != "remote_responder_two")
            .all(|r| r[4] == "direct"),
        "{csv}"
    );
    assert!(
        rows.iter().all(|r| r[0] == parent || r[0] == child),
        "nothing in the other children: {csv}"
    );
    let summary = text(&out.stderr);
    assert!(
        summary.contains(&format!(
            "{} roles of {uid} in {} CIDs",
            rows.len(),
            children.len() + 1
        )),
        "{summary}"
    );

    // JSON: the same rows, with the fields named as the columns.
    let json: Value = serde_json::from_slice(&sim(&["-f", "json", "access", &uid]).stdout).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cid"] == child.as_str())
        .unwrap();
    assert_eq!(row["cid_name"], child_name.as_str());
    assert_eq!(row["source"], "direct");
    assert_eq!(row["role_id"], "falconhost_investigator");
}

#[test]
fn access_without_the_flight_control_scope_is_the_own_cid_with_a_note() {
    let sim = Sim::start(SimConfig {
        users: 5,
        child_cids: 2,
        ..SimConfig::default()
    });
    let ro = sim.sim.read_only_credentials();
    let url = sim.sim.base_url_str();
    let env = [
        ("FALCON_CLOUD", url.as_str()),
        ("FALCON_CLIENT_ID", ro.client_id.as_str()),
        ("FALCON_CLIENT_SECRET", ro.client_secret.as_str()),
    ];
    let parent = sim.sim.parent_cid();
    let user = sim
        .sim
        .users(&parent)
        .into_iter()
        .find(|u| !sim.sim.grants(&u.uid).is_empty())
        .unwrap();
    let out = run(&["-f", "csv", "access", &user.uid], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("note: the children could not be listed") && stderr.contains("mssp:read"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), sim.sim.grants(&user.uid).len());
    assert!(rows.iter().all(|r| r.starts_with(&parent)), "{stdout}");

    // `--member-cids all` asks for the children: without the scope, an error naming it.
    let out = run(&["access", &user.uid, "--member-cids", "all"], &env);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("mssp:read"),
        "{}",
        text(&out.stderr)
    );
}

/// The `(cid, outcome)` of each result row.
fn outcomes(out: &std::process::Output) -> Vec<(String, String)> {
    let rows: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    let mut rows: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["cid"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn sorted(rows: &[(&String, &str)]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = rows
        .iter()
        .map(|(c, o)| ((*c).clone(), (*o).to_owned()))
        .collect();
    rows.sort();
    rows
}

#[test]
fn grants_with_cid_lists_and_all_work_in_many_children_with_one_summary() {
    let sim = Sim::start(SimConfig {
        users: 8,
        child_cids: 3,
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let (c0, c1, c2) = (&children[0], &children[1], &children[2]);
    let uid = sim.sim.users(&sim.sim.parent_cid())[0].uid.clone();
    let held_in = |cid: &str| -> BTreeSet<String> {
        sim.sim
            .grants(&uid)
            .into_iter()
            .filter(|g| g.cid == cid)
            .map(|g| g.role_id)
            .collect()
    };
    let role = "falconhost_analyst";

    let both = format!("{c0},{c1}");
    let granted = run(
        &["-f", "json", "grants", "grant", &uid, role, "--cid", &both],
        &env,
    );
    assert!(granted.status.success(), "{}", text(&granted.stderr));
    assert_eq!(outcomes(&granted), sorted(&[(c0, "done"), (c1, "done")]));
    assert!(
        text(&granted.stderr).contains(&format!(
            "granted to {uid} in 2 CIDs: 2 done, 0 already done, 0 failed"
        )),
        "{}",
        text(&granted.stderr)
    );
    for cid in [c0, c1] {
        assert!(held_in(cid).contains(role), "{cid}");
    }
    assert!(!held_in(c2).contains(role));

    // Again: nothing to do, nothing sent.
    let actions = sim.sim.request_count(&USER_ROLES_ACTION_V1);
    let again = run(
        &["-f", "json", "grants", "grant", &uid, role, "--cid", &both],
        &env,
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        outcomes(&again),
        sorted(&[(c0, "already done"), (c1, "already done")])
    );
    assert_eq!(sim.sim.request_count(&USER_ROLES_ACTION_V1), actions);

    // Listed in every child at once: one listing per child.
    let listings = sim.sim.request_count(&COMBINED_USER_ROLES_V2);
    let listed = run(&["-f", "csv", "grants", "list", &uid, "--cid", "all"], &env);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let csv = text(&listed.stdout);
    // The `cid` column, found by its name (the login stands beside the UUID before it).
    let at = csv
        .lines()
        .next()
        .and_then(|header| header.split(',').position(|name| name == "cid"))
        .expect("a cid column");
    let cids: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap())
        .collect();
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) == Some(uid.as_str())),
        "the login beside the UUID: {csv}"
    );
    let mut expected = vec![c0.as_str(), c1.as_str()];
    expected.sort();
    let mut got = cids.clone();
    got.sort();
    assert_eq!(got, expected, "{csv}");
    assert_eq!(sim.sim.request_count(&COMBINED_USER_ROLES_V2), listings + 3);
    assert!(
        text(&listed.stderr).contains("2 grants in 3 CIDs"),
        "{}",
        text(&listed.stderr)
    );

    // A CID that is not a child: refused before any change, naming it.
    let stranger = "0123456789abcdef0123456789abcdef";
    let actions = sim.sim.request_count(&USER_ROLES_ACTION_V1);
    let refused = run(
        &[
            "grants",
            "grant",
            &uid,
            role,
            "--cid",
            &format!("{c2},{stranger}"),
        ],
        &env,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("--cid: not a child CID of this parent: 0123456789abcdef0123456789abcdef")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert_eq!(sim.sim.request_count(&USER_ROLES_ACTION_V1), actions);
    assert!(!held_in(c2).contains(role));

    // One CID failing: the others done, its row failed, exit 5.
    sim.sim.fail_next(&USER_ROLES_ACTION_V1, 400, 1);
    let partial = run(
        &[
            "-f",
            "json",
            "grants",
            "grant",
            &uid,
            "falcon_console_guest",
            "--cid",
            "all",
        ],
        &env,
    );
    assert_eq!(partial.status.code(), Some(5), "{}", text(&partial.stderr));
    let rows = outcomes(&partial);
    let failed = rows.iter().filter(|(_, o)| o == "failed").count();
    assert_eq!((rows.len(), failed), (3, 1), "{rows:?}");
    assert!(
        text(&partial.stderr).contains("2 done, 0 already done, 1 failed"),
        "{}",
        text(&partial.stderr)
    );

    // Revoked everywhere at once, after one confirmation (--yes); where it is not held, left.
    let revoked = run(
        &[
            "--yes", "-f", "json", "grants", "revoke", &uid, role, "--cid", "all",
        ],
        &env,
    );
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert_eq!(
        outcomes(&revoked),
        sorted(&[(c0, "done"), (c1, "done"), (c2, "already done")])
    );
    for cid in [c0, c1, c2] {
        assert!(!held_in(cid).contains(role), "{cid}");
    }
}

#[test]
fn inventory_of_all_members_has_the_parent_and_its_users_grants_in_children_with_sources() {
    let sim = Sim::start(SimConfig {
        users: 30,
        child_cids: 2,
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let parent = sim.sim.parent_cid();
    let child = sim.sim.child_cids()[1].clone();
    let uid = sim.sim.users(&parent)[2].uid.clone();
    let granted = run(
        &[
            "grants",
            "grant",
            &uid,
            "falconhost_analyst",
            "--cid",
            &child,
        ],
        &env,
    );
    assert!(granted.status.success(), "{}", text(&granted.stderr));

    let out = run(&["-f", "csv", "inventory", "--member-cids", "all"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (header, mut rows) = csv_header(&out.stdout);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    // The parent analyst's row for the child: their grant there, with its source.
    let in_child: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[at("uid")] == uid.as_str() && &r[at("grant_cids")] == child.as_str())
        .collect();
    assert_eq!(in_child.len(), 1, "{rows:?}");
    assert_eq!(&in_child[0][at("roles")], "falconhost_analyst");
    assert_eq!(&in_child[0][at("sources")], "direct");
    assert_eq!(&in_child[0][at("cid")], parent.as_str(), "the user's home");
    // The parent's users are all there, and each child's.
    let homes: BTreeSet<&str> = rows.iter().map(|r| r.get(at("cid")).unwrap()).collect();
    let children = sim.sim.child_cids();
    let mut fleet: BTreeSet<&str> = BTreeSet::from([parent.as_str()]);
    fleet.extend(children.iter().map(String::as_str));
    assert_eq!(homes, fleet);
    // Every grant's source, position by position with its role.
    for row in &rows {
        let roles = row[at("roles")]
            .split(';')
            .filter(|r| !r.is_empty())
            .count();
        let sources: Vec<&str> = row[at("sources")]
            .split(';')
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(sources.len(), roles, "{row:?}");
        assert!(
            sources.iter().all(|s| ["direct", "temporary"].contains(s)),
            "{row:?}"
        );
    }
}

/// `inventory --member-cids all` on a fleet whose access is given by Flight Control links (the
/// simulator's seeded groups): every parent user a link gives roles in a child has a row there,
/// though the user query's `assigned_cids` does not count links, with `link` as each grant's
/// source and the link's groups named.
#[test]
fn inventory_of_all_members_has_the_parent_users_linked_into_children() {
    let sim = Sim::start(SimConfig {
        users: 30,
        child_cids: 2,
        flight_control_groups: true,
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let parent = sim.sim.parent_cid();
    // What the seeded links give: (login, child) → (role ids, user group, CID group).
    let mut expected: BTreeMap<(String, String), (BTreeSet<String>, String, String)> =
        BTreeMap::new();
    sim.sim.inspect(|state| {
        let fleet = &state.fleet;
        let logins = &state.tenants[&parent].users;
        for link in fleet.links.values() {
            let users = &fleet.user_groups[&link.user_group_id];
            let cids = &fleet.cid_groups[&link.cid_group_id];
            for uuid in &users.members {
                for cid in &cids.cids {
                    let entry = expected
                        .entry((logins[uuid].uid.clone(), cid.clone()))
                        .or_insert_with(|| {
                            (BTreeSet::new(), users.name.clone(), cids.name.clone())
                        });
                    entry.0.extend(link.role_ids.iter().cloned());
                }
            }
        }
    });
    assert!(!expected.is_empty(), "the seeded links give roles");

    let out = run(&["-f", "csv", "inventory", "--member-cids", "all"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (header, mut rows) = csv_header(&out.stdout);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let children = sim.sim.child_cids();
    let mut found: BTreeMap<(String, String), (BTreeSet<String>, String, String)> = BTreeMap::new();
    // The parent's users' rows in a child: each grant's CID is that child.
    let in_child = |r: &csv::StringRecord| {
        let cids: BTreeSet<&str> = r[at("grant_cids")].split(';').collect();
        cids.len() == 1 && children.iter().any(|c| cids.contains(c.as_str()))
    };
    for row in rows
        .iter()
        .filter(|r| &r[at("cid")] == parent.as_str() && in_child(r))
    {
        let sources: BTreeSet<&str> = row[at("sources")].split(';').collect();
        assert_eq!(sources, BTreeSet::from(["link"]), "{row:?}");
        let one = |name: &str| -> String {
            let names: BTreeSet<&str> = row[at(name)].split(';').collect();
            assert_eq!(names.len(), 1, "{row:?}");
            names.into_iter().next().unwrap().to_owned()
        };
        let key = (row[at("uid")].to_owned(), one("grant_cids"));
        let roles = row[at("roles")].split(';').map(str::to_owned).collect();
        let value = (roles, one("user_groups"), one("cid_groups"));
        assert!(
            found.insert(key, value).is_none(),
            "one row per user and child"
        );
    }
    assert_eq!(found, expected);
}

//! `roster`, `plan` and `apply` as a user runs them: the README's session on the embedded
//! default, `apply` killed at random points and run again, guardrails, stale plans and refused
//! rosters with their exit codes.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use falcon_users::api::operations::CREATE_USER_V1;
use falcon_users_sim::{Faults, SimConfig};
use serde_json::Value;

use crate::support::*;

fn sim_run(state: &SimState, args: &[&str]) -> Output {
    let mut all = vec!["--simulate", "--sim-users", "10"];
    all.extend_from_slice(args);
    run(&all, &state.env())
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The plan `plan -f json` prints.
fn planned(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("the plan as JSON")
}

/// The README's joiner/mover/leaver session: export, edit, plan, apply, plan again.
#[test]
fn export_edit_plan_apply_and_plan_again_finds_nothing() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    let saved = dir.path().join("plan.json");
    ok(&sim_run(&state, &["roster", "-o", path(&roster)]));
    let exported = fs::read_to_string(&roster).unwrap();
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "uid,first_name,last_name,roles,cid,expires_at");
    assert_eq!(lines.len(), 11, "{exported}");
    let leaver = lines.remove(1);
    let mover: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    lines[1] = format!(
        "{},{},{},falconhost_analyst,,",
        mover[0], mover[1], mover[2]
    );
    lines.push("joiner@example.com,Jo,Iner,Falcon Console Guest,,".into());
    fs::write(&roster, lines.join("\n") + "\n").unwrap();

    let scope = ["--mode", "exact", "--prune", "--scope", "uid:'*'"];
    let mut plan_args = vec!["-f", "json", "plan", path(&roster)];
    plan_args.extend_from_slice(&scope);
    plan_args.extend_from_slice(&["-o", path(&saved)]);
    let plan = planned(&sim_run(&state, &plan_args));
    let kinds: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            if c["before"].is_null() {
                "create"
            } else if c["after"].is_null() {
                "offboard"
            } else {
                "update"
            }
        })
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["create", "offboard", "update"], "{plan}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let refused = sim_run(&state, &["apply", path(&saved)]);
    assert_eq!(refused.status.code(), Some(6), "no terminal, no --yes");

    let applied = sim_run(&state, &["-f", "csv", "apply", path(&saved), "--yes"]);
    let table = ok(&applied);
    assert!(table.starts_with("cid,uid,outcome,detail"), "{table}");
    assert_eq!(table.matches(",done,").count(), 3, "{table}");
    let journal = fs::read_to_string(dir.path().join("plan.json.journal.jsonl")).unwrap();
    let entries: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    // Written ahead: a `started` line for each action, then its `done` line with a trace id.
    let (started, ended): (Vec<&Value>, Vec<&Value>) =
        entries.iter().partition(|e| e["outcome"] == "started");
    assert_eq!(started.len(), ended.len(), "{journal}");
    assert!(
        ended
            .iter()
            .all(|e| e["outcome"] == "done" && e["trace_id"].is_string())
    );
    let leaver_uid = leaver.split(',').next().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["uid"] == leaver_uid && e["action"] == "delete")
    );

    let mut again = vec!["-f", "json", "plan", path(&roster)];
    again.extend_from_slice(&scope);
    let after = planned(&sim_run(&state, &again));
    assert_eq!(after["changes"], Value::Array(vec![]), "{after}");
    assert_eq!(after["unchanged"], 10);
}

/// `kill -9` at random points of an `apply`, then `apply` again until it finishes: every
/// joiner exists once, the movers have their roles, and a plan finds nothing left.
#[test]
fn apply_killed_at_random_points_converges_when_run_again() {
    let sim = Sim::start(SimConfig {
        users: 6,
        faults: Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    let saved = dir.path().join("plan.json");
    let parent = sim.sim.parent_cid();
    let mut csv = String::from("uid,roles\n");
    for user in sim.sim.users(&parent).iter().take(3) {
        csv.push_str(&format!(
            "{},falconhost_analyst;falcon_console_guest\n",
            user.uid
        ));
    }
    for n in 0..14 {
        csv.push_str(&format!("joiner{n}@example.com,falcon_console_guest\n"));
    }
    fs::write(&roster, csv).unwrap();
    let plan = command(
        &["-f", "json", "plan", path(&roster), "-o", path(&saved)],
        &env,
    )
    .output()
    .unwrap();
    ok(&plan);

    let mut rng = fastrand::Rng::with_seed(16);
    let apply = [
        "-f",
        "json",
        "apply",
        path(&saved),
        "--yes",
        "--concurrency",
        "2",
    ];
    let journal = dir.path().join("plan.json.journal.jsonl");
    let lines = || fs::read_to_string(&journal).map_or(0, |j| j.lines().count());
    for _ in 0..4 {
        let before = lines();
        let mut child = command(&apply, &env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Killed once this run has changed something, at a random point after that.
        wait_until("an action journaled", || {
            lines() > before || child.try_wait().ok().flatten().is_some()
        });
        std::thread::sleep(Duration::from_millis(rng.u64(0..100)));
        let _ = child.kill();
        let _ = child.wait();
    }
    let killed_after = lines();
    let last = command(&apply, &env).output().unwrap();
    let results: Value = serde_json::from_str(&ok(&last)).expect("results as JSON");
    let outcome = |o: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] == o)
            .count()
    };
    assert!(killed_after >= 4, "every run was killed after a change");
    assert!(
        outcome("already done") > 0 && outcome("done") > 0,
        "{results}"
    );
    assert_eq!(outcome("already done") + outcome("done"), 17, "{results}");

    let users = sim.sim.users(&parent);
    for n in 0..14 {
        let uid = format!("joiner{n}@example.com");
        assert_eq!(users.iter().filter(|u| u.uid == uid).count(), 1, "{uid}");
        let roles: Vec<String> = sim
            .sim
            .grants(&uid)
            .into_iter()
            .map(|g| g.role_id)
            .collect();
        assert_eq!(roles, ["falcon_console_guest"], "{uid}");
    }
    assert!(
        sim.sim.request_count(&CREATE_USER_V1) <= 14 + 4,
        "a create per kill at most"
    );
    let check = command(&["-f", "json", "plan", path(&roster)], &env)
        .output()
        .unwrap();
    assert_eq!(planned(&check)["changes"], Value::Array(vec![]));
}

/// A truncated export with `--prune` is refused (exit 2, naming the limit to raise); a saved
/// plan whose user changed since is refused (exit 2, "plan again") and changes nothing; a
/// roster with a bad row is refused with the row.
#[test]
fn guardrails_stale_plans_and_bad_rosters_exit_2() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    ok(&sim_run(&state, &["roster", "-o", path(&roster)]));
    let exported = fs::read_to_string(&roster).unwrap();
    let first_two: Vec<&str> = exported.lines().take(2).collect();
    let truncated = dir.path().join("truncated.csv");
    fs::write(&truncated, first_two.join("\n") + "\n").unwrap();
    let out = sim_run(
        &state,
        &["plan", path(&truncated), "--prune", "--scope", "uid:'*'"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--max-offboard 9"),
        "{}",
        text(&out.stderr)
    );

    let uid = first_two[1].split(',').next().unwrap().to_owned();
    let one = dir.path().join("one.csv");
    fs::write(&one, format!("uid,roles\n{uid},falconhost_analyst\n")).unwrap();
    let saved = dir.path().join("plan.json");
    ok(&sim_run(&state, &["plan", path(&one), "-o", path(&saved)]));
    ok(&sim_run(
        &state,
        &["grants", "grant", &uid, "falcon_console_guest"],
    ));
    let stale = sim_run(&state, &["apply", path(&saved), "--yes"]);
    assert_eq!(stale.status.code(), Some(2), "{}", text(&stale.stderr));
    assert!(
        text(&stale.stderr).contains("plan again"),
        "{}",
        text(&stale.stderr)
    );
    assert!(
        !dir.path().join("plan.json.journal.jsonl").exists(),
        "a refused plan leaves no journal behind"
    );

    let bad = dir.path().join("bad.csv");
    fs::write(
        &bad,
        "uid,roles\nann@example.com,falcon_console_guest\nbob,x\n",
    )
    .unwrap();
    let out = sim_run(&state, &["apply", path(&bad), "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("row 3, uid"), "{err}");
}

/// A fleet: `roster --member-cids` writes every child's users with their `cid`; a joiner added
/// in one child is planned and applied there (with that child's own token), and a second plan
/// over the same children finds nothing.
#[test]
fn a_fleet_roster_is_exported_planned_and_applied_per_child() {
    let sim = Sim::start(SimConfig {
        users: 20,
        child_cids: 2,
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let list = children.join(",");
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("fleet.csv");
    let export = command(
        &["roster", "--member-cids", &list, "-o", path(&roster)],
        &env,
    )
    .output()
    .unwrap();
    ok(&export);
    let mut text = fs::read_to_string(&roster).unwrap();
    for child in &children {
        assert!(text.contains(&format!(",{child},")), "{text}");
    }
    text.push_str(&format!(
        "kid@example.com,Kid,One,falcon_console_guest,{},\n",
        children[1]
    ));
    fs::write(&roster, text).unwrap();
    let flags = ["--member-cids", list.as_str()];
    let mut apply = vec!["-f", "json", "apply", path(&roster), "--yes"];
    apply.extend_from_slice(&flags);
    let results: Value =
        serde_json::from_str(&ok(&command(&apply, &env).output().unwrap())).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 1, "{results}");
    assert_eq!(results[0]["cid"], children[1].as_str());
    assert!(
        sim.sim
            .users(&children[1])
            .iter()
            .any(|u| u.uid == "kid@example.com")
    );
    assert!(
        sim.sim
            .users(&sim.sim.parent_cid())
            .iter()
            .all(|u| u.uid != "kid@example.com")
    );

    let mut again = vec!["-f", "json", "plan", path(&roster)];
    again.extend_from_slice(&flags);
    let after = planned(&command(&again, &env).output().unwrap());
    assert_eq!(after["changes"], Value::Array(vec![]), "{after}");
}

/// A saved plan meets `apply`'s own guardrails (the defaults too), is refused where it was not
/// made (another member CID: exit 2, naming both sides, nothing created) and with planning
/// flags it was not made with; applied where it was made, the report names the CID each change
/// went to.
#[test]
fn apply_holds_a_saved_plan_to_its_guardrails_and_to_where_it_was_made() {
    let sim = Sim::start(SimConfig {
        users: 8,
        child_cids: 1,
        ..SimConfig::default()
    });
    let env = sim.env();
    let env = pairs(&env);
    let parent = sim.sim.parent_cid();
    let child = sim.sim.child_cids()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let keep = sim.sim.users(&parent)[0].uid.clone();
    let roster = dir.path().join("roster.csv");
    fs::write(
        &roster,
        format!(
            "uid,roles\n{keep},falcon_console_guest\nnew.hire@example.com,falcon_console_guest\n"
        ),
    )
    .unwrap();
    let saved = dir.path().join("plan.json");
    let made = run(
        &[
            "plan",
            path(&roster),
            "--mode",
            "exact",
            "--prune",
            "--scope",
            "uid:'*'",
            "--max-offboard",
            "100",
            "-o",
            path(&saved),
        ],
        &env,
    );
    ok(&made);
    let plan: Value = serde_json::from_str(&fs::read_to_string(&saved).unwrap()).unwrap();
    let changes = plan["changes"].as_array().unwrap().len();
    let leavers = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["after"].is_null())
        .count();
    assert!(leavers > 5, "{plan}");
    let limit = leavers.to_string();
    let raise = format!("--max-offboard {leavers}");
    let deleted = || {
        sim.sim
            .request_count(&falcon_users::api::operations::DELETE_USER_V1)
    };
    let created = || sim.sim.request_count(&CREATE_USER_V1);

    let refusals: Vec<(Vec<&str>, Vec<String>)> = vec![
        (vec!["apply", path(&saved), "--yes"], vec![raise.clone()]),
        (
            vec![
                "apply",
                path(&saved),
                "--max-offboard",
                "0",
                "--max-strip",
                "0",
                "--yes",
            ],
            vec![raise.clone()],
        ),
        (
            vec![
                "--member-cid",
                &child,
                "apply",
                path(&saved),
                "--max-offboard",
                &limit,
                "--yes",
            ],
            vec![
                "made for member CID none".into(),
                format!("this is member CID {child}"),
            ],
        ),
        (
            vec![
                "apply",
                path(&saved),
                "--mode",
                "additive",
                "--max-offboard",
                &limit,
                "--yes",
            ],
            vec!["--mode additive (the plan was made with --mode exact)".into()],
        ),
    ];
    for (args, says) in refusals {
        let out = run(&args, &env);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for part in says {
            assert!(err.contains(&part), "{args:?}: {part:?} in {err}");
        }
        assert_eq!((deleted(), created()), (0, 0), "{args:?} changed nothing");
    }
    // A field this release does not write (the old `home_cid`) is an edit, not a plan.
    let mut edited = plan.clone();
    edited["home_cid"] = Value::String(child.clone());
    let tampered = dir.path().join("edited.json");
    fs::write(&tampered, edited.to_string()).unwrap();
    let out = run(
        &["apply", path(&tampered), "--max-offboard", &limit, "--yes"],
        &env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("unknown field `home_cid`"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!((deleted(), created()), (0, 0));
    assert!(
        sim.sim
            .users(&child)
            .iter()
            .all(|u| u.uid != "new.hire@example.com"),
        "nothing created in the child"
    );

    let applied = run(
        &[
            "-f",
            "csv",
            "apply",
            path(&saved),
            "--max-offboard",
            &limit,
            "--yes",
        ],
        &env,
    );
    let table = ok(&applied);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), changes, "{table}");
    assert!(
        rows.iter().all(|r| r.starts_with(&format!("{parent},"))),
        "each change names the CID it went to: {table}"
    );
    assert_eq!(deleted(), leavers as u64);
}

/// The journal is never written through a planted symbolic link, nor to a file others may
/// read: `apply` stops before any change (exit 7) and the link's target is left as it was.
#[cfg(unix)]
#[test]
fn apply_refuses_a_journal_that_is_a_link_or_open_to_others() {
    use std::os::unix::fs::PermissionsExt;
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    fs::write(
        &roster,
        "uid,roles\njoiner@example.com,falcon_console_guest\n",
    )
    .unwrap();
    let saved = dir.path().join("plan.json");
    ok(&sim_run(
        &state,
        &["plan", path(&roster), "-o", path(&saved)],
    ));
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let journal = dir.path().join("plan.json.journal.jsonl");
    std::os::unix::fs::symlink(&victim, &journal).unwrap();
    let out = sim_run(&state, &["apply", path(&saved), "--yes"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("symbolic link"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        fs::symlink_metadata(&journal)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    fs::remove_file(&journal).unwrap();
    fs::write(&journal, "").unwrap();
    fs::set_permissions(&journal, fs::Permissions::from_mode(0o666)).unwrap();
    let out = sim_run(&state, &["apply", path(&saved), "--yes"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("mode 666"),
        "{}",
        text(&out.stderr)
    );

    // Nothing was changed: the plan still applies from where it was made.
    fs::set_permissions(&journal, fs::Permissions::from_mode(0o600)).unwrap();
    let out = sim_run(&state, &["-f", "csv", "apply", path(&saved), "--yes"]);
    assert!(
        ok(&out).contains(",joiner@example.com,done,"),
        "{}",
        text(&out.stdout)
    );
}

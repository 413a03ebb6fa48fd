//! `fleet export`, `fleet plan` and `fleet apply` as an MSSP operator runs them on the
//! simulator: export, edit (a link added, a member removed), plan (who gains and loses what),
//! apply, plan again (no change); `fleet apply` killed and run again; a hand-edited plan, a
//! plan for another tenant, a stale plan, a guardrail and a bad file refused with exit 2.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use falcon_users::api::operations::CREATE_USER_GROUPS;
use falcon_users_sim::{Faults, SimConfig};
use serde_json::Value;

use crate::support::*;

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A simulator with `users` parent users and two children, and its environment.
fn sim(users: usize, latency: Duration) -> Sim {
    Sim::start(SimConfig {
        users,
        child_cids: 2,
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
}

/// The parent's first `n` logins.
fn logins(sim: &Sim, n: usize) -> Vec<String> {
    let mut users: Vec<String> = sim
        .sim
        .users(&sim.sim.parent_cid())
        .into_iter()
        .map(|u| u.uid)
        .collect();
    users.sort();
    users.truncate(n);
    users
}

/// An access file: "Tier 1" (these members) linked with the guest role to "EMEA" (child 0).
fn base_file(members: &[String], child: &str) -> String {
    let members: Vec<String> = members.iter().map(|m| format!("    \"{m}\",\n")).collect();
    format!(
        "[[user_group]]\nname = \"Tier 1\"\nmembers = [\n{}]\n\n[[cid_group]]\nname = \"EMEA\"\ncids = [{{ cid = \"{child}\" }}]\n\n[[link]]\nuser_group = \"Tier 1\"\ncid_group = \"EMEA\"\nroles = [\"falcon_console_guest\"]\n",
        members.concat()
    )
}

/// The Done-when loop: export → edit (a link added, a member removed) → plan shows who gains
/// and loses what → apply → a second plan shows no change.
#[test]
fn export_edit_plan_apply_and_plan_again_shows_no_change() {
    let sim = sim(6, Duration::ZERO);
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let members = logins(&sim, 3);
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start.toml");
    fs::write(&start, base_file(&members, &children[0])).unwrap();
    ok(&command(&["fleet", "apply", path(&start), "--yes"], &env)
        .output()
        .unwrap());

    let file = dir.path().join("fleet.toml");
    ok(&command(&["fleet", "export", "-o", path(&file)], &env)
        .output()
        .unwrap());
    let exported = fs::read_to_string(&file).unwrap();
    for member in &members {
        assert!(
            exported.contains(&format!("    \"{member}\",\n")),
            "{exported}"
        );
    }
    assert!(exported.contains("id = "), "ids are exported: {exported}");
    // Edit: the last member's line deleted; a CID group APAC (child 1) linked with the analyst
    // role, by display name.
    let edited = exported.replace(&format!("    \"{}\",\n", members[2]), "")
        + &format!(
            "\n[[cid_group]]\nname = \"APAC\"\ncids = [{{ cid = \"{}\" }}]\n\n[[link]]\nuser_group = \"Tier 1\"\ncid_group = \"APAC\"\nroles = [\"Falcon Analyst\"]\n",
            children[1]
        );
    fs::write(&file, edited).unwrap();

    let saved = dir.path().join("plan.json");
    let plan: Value = serde_json::from_str(&ok(&command(
        &[
            "-f",
            "json",
            "fleet",
            "plan",
            path(&file),
            "-o",
            path(&saved),
        ],
        &env,
    )
    .output()
    .unwrap()))
    .unwrap();
    let effect: Vec<(String, String, Value, Value)> = plan["effect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["user"].as_str().unwrap().to_owned(),
                c["cid"].as_str().unwrap().to_owned(),
                c["gained"].clone(),
                c["lost"].clone(),
            )
        })
        .collect();
    let (gain, lose) = (
        serde_json::json!(["falconhost_analyst"]),
        serde_json::json!(["falcon_console_guest"]),
    );
    let none = serde_json::json!([]);
    let mut want = vec![
        (
            members[0].clone(),
            children[1].clone(),
            gain.clone(),
            none.clone(),
        ),
        (
            members[1].clone(),
            children[1].clone(),
            gain.clone(),
            none.clone(),
        ),
        (
            members[2].clone(),
            children[0].clone(),
            none.clone(),
            lose.clone(),
        ),
    ];
    want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(effect, want, "{plan}");
    // The table a person reads: a row per user and child, roles by name.
    let table = ok(&command(&["-f", "csv", "fleet", "plan", path(&file)], &env)
        .output()
        .unwrap());
    assert!(table.starts_with("user,cid,child,gains,loses\n"), "{table}");
    assert!(
        table.contains(&format!("{},{},", members[2], children[0]))
            && table.contains(",,Falcon Console Guest\n"),
        "{table}"
    );

    let refused = command(&["fleet", "apply", path(&saved)], &env)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(6), "no terminal, no --yes");
    let applied = ok(&command(
        &["-f", "csv", "fleet", "apply", path(&saved), "--yes"],
        &env,
    )
    .output()
    .unwrap());
    assert!(applied.starts_with("step,outcome,detail\n"), "{applied}");
    assert_eq!(applied.matches(",done,").count(), 4, "{applied}");
    let journal = fs::read_to_string(dir.path().join("plan.json.journal.jsonl")).unwrap();
    let entries: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let (started, ended): (Vec<&Value>, Vec<&Value>) =
        entries.iter().partition(|e| e["outcome"] == "started");
    assert_eq!((started.len(), ended.len()), (4, 4), "{journal}");
    assert!(
        ended
            .iter()
            .all(|e| e["outcome"] == "done" && e["trace_id"].is_string())
    );
    assert!(
        entries
            .iter()
            .any(|e| e["step"] == "remove_members"
                && e["members"] == serde_json::json!([members[2]]))
    );

    let again: Value = serde_json::from_str(&ok(&command(
        &["-f", "json", "fleet", "plan", path(&file)],
        &env,
    )
    .output()
    .unwrap()))
    .unwrap();
    assert_eq!(again["steps"], serde_json::json!([]), "{again}");
    assert_eq!(again["effect"], serde_json::json!([]), "{again}");
}

/// `kill -9` at random points of a `fleet apply`, then `fleet apply` again until it finishes:
/// every group exists once and a plan finds nothing left.
#[test]
fn fleet_apply_killed_at_random_points_converges_when_run_again() {
    let sim = sim(8, Duration::from_millis(40));
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let members = logins(&sim, 6);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.toml");
    let mut text = base_file(&members, &children[0]);
    for n in 0..4 {
        text.push_str(&format!(
            "\n[[user_group]]\nname = \"team {n}\"\nmembers = [\"{}\"]\n\n[[cid_group]]\nname = \"set {n}\"\ncids = [{{ cid = \"{}\" }}]\n\n[[link]]\nuser_group = \"team {n}\"\ncid_group = \"set {n}\"\nroles = [\"falcon_console_guest\"]\n",
            members[n],
            children[n % 2]
        ));
    }
    fs::write(&file, text).unwrap();
    let saved = dir.path().join("plan.json");
    ok(
        &command(&["fleet", "plan", path(&file), "-o", path(&saved)], &env)
            .output()
            .unwrap(),
    );

    let mut rng = fastrand::Rng::with_seed(26);
    let apply = ["-f", "json", "fleet", "apply", path(&saved), "--yes"];
    let journal = dir.path().join("plan.json.journal.jsonl");
    let lines = || fs::read_to_string(&journal).map_or(0, |j| j.lines().count());
    for _ in 0..4 {
        let before = lines();
        let mut child = command(&apply, &env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Killed once this run has started a step, at a random point after that.
        wait_until("a step journaled", || {
            lines() > before || child.try_wait().ok().flatten().is_some()
        });
        std::thread::sleep(Duration::from_millis(rng.u64(0..120)));
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(lines() >= 4, "every run was killed after a step started");
    let last = command(&apply, &env).output().unwrap();
    let results: Value = serde_json::from_str(&ok(&last)).expect("results as JSON");
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "done"),
        "{results}"
    );
    let groups: Vec<String> = sim.sim.inspect(|s| {
        s.fleet
            .user_groups
            .values()
            .map(|g| g.name.clone())
            .collect()
    });
    let mut unique = groups.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(groups.len(), unique.len(), "a group made twice: {groups:?}");
    assert_eq!(unique.len(), 5);
    assert!(
        sim.sim.request_count(&CREATE_USER_GROUPS) <= 5 + 4,
        "a create per kill at most"
    );
    let check = command(&["-f", "json", "fleet", "plan", path(&file)], &env)
        .output()
        .unwrap();
    let again: Value = serde_json::from_str(&ok(&check)).unwrap();
    assert_eq!(again["steps"], serde_json::json!([]), "{again}");
    let written = fs::read_to_string(&journal).unwrap();
    let count = |outcome: &str| {
        written
            .lines()
            .filter(|l| l.contains(&format!("\"outcome\":\"{outcome}")))
            .count()
    };
    assert_eq!(
        count("started"),
        count("done") + count("interrupted: "),
        "every step started has an outcome, its own or one a later run found: {written}"
    );
}

/// Exit 2 before any change: a saved plan edited by hand, one made for another tenant, a
/// stale one, one over the apply's guardrail; a plan over the guardrail; a file with a mistake
/// (its line named).
#[test]
fn refused_plans_and_files_exit_2_and_change_nothing() {
    let sim = sim(10, Duration::ZERO);
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let members = logins(&sim, 8);
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start.toml");
    fs::write(&start, base_file(&members, &children[0])).unwrap();
    ok(&command(&["fleet", "apply", path(&start), "--yes"], &env)
        .output()
        .unwrap());
    let fleet = || sim.sim.inspect(|s| s.fleet.clone());
    let as_applied = fleet();

    // Six of eight members leave: over the default limit of 5.
    let cut = dir.path().join("cut.toml");
    fs::write(&cut, base_file(&members[..2], &children[0])).unwrap();
    let out = command(&["fleet", "plan", path(&cut)], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--max-removals 6"),
        "{}",
        text(&out.stderr)
    );
    let saved = dir.path().join("cut.json");
    ok(&command(
        &[
            "fleet",
            "plan",
            path(&cut),
            "--max-removals",
            "6",
            "-o",
            path(&saved),
        ],
        &env,
    )
    .output()
    .unwrap());
    let out = command(&["fleet", "apply", path(&saved), "--yes"], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the apply's own limit");
    assert!(
        text(&out.stderr).contains("--max-removals 6"),
        "{}",
        text(&out.stderr)
    );

    let plan: Value = serde_json::from_str(&fs::read_to_string(&saved).unwrap()).unwrap();
    let edit = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut edited = plan.clone();
        change(&mut edited);
        let file = dir.path().join(name);
        fs::write(&file, serde_json::to_string(&edited).unwrap()).unwrap();
        file
    };
    let by_hand = edit("by-hand.json", &|p| {
        p["after"]["links"]["Tier 1"]["EMEA"] =
            serde_json::json!(["falcon_administrator", "falcon_console_guest"]);
    });
    let elsewhere = edit("elsewhere.json", &|p| {
        p["made_against"]["cid"] = Value::String(children[1].clone());
    });
    for (file, says) in [
        (&by_hand, "it was edited after it was made".to_owned()),
        (&elsewhere, format!("it was made in CID {}", children[1])),
    ] {
        let out = command(
            &["fleet", "apply", path(file), "--yes", "--max-removals", "6"],
            &env,
        )
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&says),
            "{says:?} in {}",
            text(&out.stderr)
        );
    }
    assert_eq!(fleet(), as_applied, "nothing changed");

    // Stale: someone adds a member after the plan was made.
    let more = dir.path().join("more.toml");
    fs::write(&more, base_file(&logins(&sim, 9), &children[0])).unwrap();
    ok(&command(&["fleet", "apply", path(&more), "--yes"], &env)
        .output()
        .unwrap());
    let changed = fleet();
    let out = command(
        &[
            "fleet",
            "apply",
            path(&saved),
            "--yes",
            "--max-removals",
            "9",
        ],
        &env,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("no longer holds against the tenant") && said.contains("was added since"),
        "{said}"
    );
    assert_eq!(fleet(), changed, "nothing changed");

    // A file with a mistake: its line and field.
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "[[user_group]]\nname = \"x\"\nmembres = []\n").unwrap();
    let out = command(&["fleet", "plan", path(&bad)], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!(
            "{} was refused (1 problem): line 3, membres",
            path(&bad)
        )),
        "{}",
        text(&out.stderr)
    );
}

/// Without the Flight Control read scope, `fleet export` fails naming it (exit 3).
#[test]
fn without_the_flight_control_scope_the_error_names_it() {
    let sim = sim(4, Duration::ZERO);
    let creds = sim.sim.read_only_credentials();
    let url = sim.sim.base_url_str();
    let env = [
        ("FALCON_CLOUD", url.as_str()),
        ("FALCON_CLIENT_ID", creds.client_id.as_str()),
        ("FALCON_CLIENT_SECRET", creds.client_secret.as_str()),
    ];
    let out = command(&["fleet", "export"], &env).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("\"Flight Control: Read\""), "{said}");
    assert!(
        out.stdout.is_empty(),
        "nothing written: {}",
        text(&out.stdout)
    );
}

/// The groups are the parent's: `fleet` with `--member-cid` is refused before any change
/// (exit 2), naming why, rather than failing as a missing scope.
#[test]
fn fleet_for_a_member_cid_is_refused() {
    let sim = sim(4, Duration::ZERO);
    let env = sim.env();
    let env = pairs(&env);
    let child = &sim.sim.child_cids()[0];
    let out = command(&["--member-cid", child, "fleet", "export"], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("belong to the parent"),
        "{}",
        text(&out.stderr)
    );
}

/// `-` reads the access file (or a saved plan) from standard input: `fleet export | fleet plan
/// -` is no change; `fleet apply -` needs `--journal` (exit 2, nothing changed) and with it
/// applies the file piped in; a saved plan piped in is read as a plan.
#[test]
fn the_access_file_or_a_saved_plan_comes_from_standard_input() {
    let sim = sim(6, Duration::ZERO);
    let env = sim.env();
    let env = pairs(&env);
    let children = sim.sim.child_cids();
    let members = logins(&sim, 2);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let file = base_file(&members, &children[0]);

    let refused = with_stdin(
        command(&["fleet", "apply", "-", "--yes"], &env),
        file.as_bytes(),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("--journal"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        sim.sim.inspect(|s| s.fleet.user_groups.len()),
        0,
        "nothing changed"
    );

    let applied = with_stdin(
        command(
            &["fleet", "apply", "-", "--yes", "--journal", path(&journal)],
            &env,
        ),
        file.as_bytes(),
    );
    ok(&applied);
    assert_eq!(sim.sim.inspect(|s| s.fleet.user_groups.len()), 1);
    assert!(journal.exists());

    let exported = ok(&command(&["fleet", "export"], &env).output().unwrap());
    let again = with_stdin(
        command(&["-f", "json", "fleet", "plan", "-"], &env),
        exported.as_bytes(),
    );
    let plan: Value = serde_json::from_str(&ok(&again)).unwrap();
    assert_eq!(plan["steps"], serde_json::json!([]), "{plan}");

    // A saved plan piped in is applied as the plan it is (here: nothing left to do).
    let saved = serde_json::to_string(&plan).unwrap();
    let out = with_stdin(
        command(
            &["fleet", "apply", "-", "--yes", "--journal", path(&journal)],
            &env,
        ),
        saved.as_bytes(),
    );
    ok(&out);
    assert!(
        text(&out.stderr).contains("plan: no change"),
        "{}",
        text(&out.stderr)
    );
}

//! Rosters reconciled by plan and apply against the simulator: joiners, movers and leavers in
//! one run, convergence (a plan after an apply is empty) under the fault storm for random
//! rosters and tenants, saved plans refused once stale, resumed after an interrupted apply, the
//! guardrails, the journal, and Flight Control members.

use std::collections::BTreeMap;

use falcon_users::Error;
use falcon_users::workflows::roster::{
    ApplyOptions, ChangeOutcome, Guardrails, Journal, JournalEntry, Mode, Plan, PlanOptions,
    Roster, plan,
};
use falcon_users::{Cid, Falcon};
use falcon_users_api::operations;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::{builtin_role, falcon_builder, fast_retries, storm, tenant_with};

/// The roles each login holds in `cid`, by login (what a roster's state must equal).
fn held(sim: &Simulator, cid: &str) -> BTreeMap<String, Vec<String>> {
    sim.users(cid)
        .into_iter()
        .map(|u| {
            let mut roles: Vec<String> = sim
                .grants(&u.uid)
                .into_iter()
                .filter(|g| g.cid == cid)
                .map(|g| g.role_id)
                .collect();
            roles.sort();
            (u.uid, roles)
        })
        .collect()
}

async fn plan_now(
    falcon: &Falcon,
    roster: &Roster,
    options: &PlanOptions,
) -> falcon_users::Result<Plan> {
    let state = falcon
        .roster_state(&options.cids_to_read(roster), options)
        .await?;
    plan(roster, &state, options, chrono::Utc::now())
}

fn exact_prune(scope: &str) -> PlanOptions {
    PlanOptions::new().mode(Mode::Exact).prune_in(scope)
}

/// The README's session: export the tenant as a roster, edit it (two joiners, a mover, a
/// leaver, a rename), plan, apply, plan again: nothing left.
#[tokio::test]
async fn joiners_movers_and_leavers_in_one_plan_then_nothing_left() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 12,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let options = exact_prune("uid:'*'");
    let state = falcon
        .roster_state(&[None], &PlanOptions::new().scope(Some("uid:'*'".into())))
        .await
        .unwrap();
    let export = Roster::from_state(&state);
    let mut csv = Vec::new();
    export.write_csv(&mut csv).unwrap();
    let mut text = String::from_utf8(csv).unwrap();
    assert!(
        plan(&export, &state, &options, chrono::Utc::now())
            .unwrap()
            .is_empty()
    );

    let users = sim.users(&parent);
    let (leaver, mover, renamed) = (&users[0].uid, &users[1].uid, &users[2].uid);
    let (guest, guest_name) = builtin_role(&sim, 0);
    let (other, _) = builtin_role(&sim, 1);
    text = text
        .lines()
        .filter(|l| !l.starts_with(leaver.as_str()))
        .map(|l| {
            if l.starts_with(mover.as_str()) {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[3] = &other;
                cells.join(",")
            } else if l.starts_with(renamed.as_str()) {
                let cells: Vec<&str> = l.split(',').collect();
                format!("{},Renée,{},{},,", cells[0], cells[2], cells[3])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push_str(&format!(
        "\nnew.one@example.com,New,One,{guest_name},,\nnew.two@example.com,New,Two,\"{guest};{other}\",,\n"
    ));
    let roster = Roster::from_csv(text.as_bytes()).unwrap();

    let planned = plan_now(&falcon, &roster, &options).await.unwrap();
    assert_eq!(planned.counts(), (2, 2, 1), "{:#?}", planned.changes);
    let saved = serde_json::to_string(&planned).unwrap();
    let loaded: Plan = serde_json::from_str(&saved).unwrap();
    assert_eq!(loaded, planned);

    let journal = Journal::in_memory();
    let report = falcon
        .apply(&loaded, &ApplyOptions::new(), &journal)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert!(
        plan_now(&falcon, &roster, &options)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(sim.user(leaver).is_none(), "the leaver is gone");
    assert_eq!(held(&sim, &parent)[mover.as_str()], vec![other.clone()]);
    assert_eq!(sim.user(renamed).unwrap().first_name, "Renée");
    assert_eq!(
        held(&sim, &parent)["new.one@example.com"],
        vec![guest.clone()]
    );
    assert_eq!(sim.user("new.two@example.com").unwrap().last_name, "Two");
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 2);

    // Written ahead: each action's `started` line, then its `done` line with the trace id.
    let entries = journal.entries();
    let (started, ended): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.outcome == "started");
    assert!(
        ended
            .iter()
            .all(|e| e.outcome == "done" && e.trace_id.is_some()),
        "{entries:#?}"
    );
    let actions = |lines: &[&falcon_users::workflows::roster::JournalEntry]| {
        lines
            .iter()
            .map(|e| format!("{} {}", e.uid, e.action))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(actions(&started), actions(&ended));
    for (i, e) in entries.iter().enumerate() {
        if e.outcome == "done" {
            assert!(
                entries[..i]
                    .iter()
                    .any(|s| s.outcome == "started" && s.uid == e.uid && s.action == e.action),
                "{e:?} was not written ahead"
            );
        }
    }
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| &e.uid == leaver)
        .map(|e| (e.uid.as_str(), e.action.name()))
        .collect();
    assert_eq!(actions.last().map(|a| a.1), Some("delete"));
}

/// Random tenants and rosters under the storm (429s, 5xx, lost answers): apply until the
/// report is complete (a failed step is retried by the next run, as an operator would), and the
/// tenant equals the roster, with no login twice and no create repeated for a login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_rosters_converge_under_the_fault_storm() {
    for seed in 1..=6u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let users = rng.usize(3..14);
        let sim = Simulator::start(storm(seed, users)).await.unwrap();
        let falcon = falcon_builder(&sim, sim.credentials())
            .retry_policy(fast_retries())
            .max_concurrency(8)
            .build()
            .unwrap();
        let parent = sim.parent_cid();
        let roles: Vec<String> = sim.inspect(|s| s.roles(&parent).map(|r| r.id.clone()).collect());
        let existing: Vec<String> = sim.users(&parent).into_iter().map(|u| u.uid).collect();
        let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut csv = String::from("uid,first_name,roles\n");
        let mut logins: Vec<String> = existing.iter().filter(|_| rng.bool()).cloned().collect();
        let joiners = rng.usize(0..6);
        logins.extend((0..joiners).map(|n| format!("joiner{n}@example.com")));
        for uid in logins {
            let mut mine: Vec<String> = roles.iter().filter(|_| rng.u8(..) < 60).cloned().collect();
            mine.sort();
            csv.push_str(&format!("{uid},N{},{}\n", rng.u8(..3), mine.join(";")));
            wanted.insert(uid, mine);
        }
        let roster = Roster::from_csv(csv.as_bytes()).unwrap();
        let mut options = exact_prune("uid:'*'");
        options.guardrails.max_offboard = 100;
        options.guardrails.max_strip = 100;
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds <= 6, "seed {seed}: no convergence in 5 rounds");
            let Ok(planned) = plan_now(&falcon, &roster, &options).await else {
                continue;
            };
            if planned.is_empty() {
                break;
            }
            let options = ApplyOptions::new().verify(rounds > 1).concurrency(4);
            match falcon.apply(&planned, &options, &Journal::off()).await {
                Ok(report) if report.is_complete() => {}
                Ok(_) | Err(_) => continue,
            }
        }
        assert_eq!(
            held(&sim, &parent),
            wanted,
            "seed {seed}: state equals roster"
        );
        for uid in wanted.keys().filter(|u| u.starts_with("joiner")) {
            assert_eq!(
                sim.users(&parent).iter().filter(|u| &u.uid == uid).count(),
                1
            );
        }
    }
}

/// A saved plan whose user changed since is refused as a whole, before any change; one whose
/// apply was cut short is finished by applying it again, without a second create.
#[tokio::test]
async fn stale_plans_are_refused_and_interrupted_ones_resume() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 4,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let (guest, _) = builtin_role(&sim, 0);
    let (other, _) = builtin_role(&sim, 1);
    let victim = sim.users(&parent)[0].uid.clone();
    let mut csv = format!("uid,roles\n{victim},{guest}\n");
    for n in 0..6 {
        csv.push_str(&format!("join{n}@example.com,{guest};{other}\n"));
    }
    let roster = Roster::from_csv(csv.as_bytes()).unwrap();
    let options = PlanOptions::default();
    let planned = plan_now(&falcon, &roster, &options).await.unwrap();

    // Someone grants the victim a role the plan did not see.
    let (third, _) = builtin_role(&sim, 2);
    sim.seed().grant(&victim, &parent, &third, None).unwrap();
    let before = sim.request_count(&operations::CREATE_USER_V1);
    let err = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PlanRefused { .. }), "{err}");
    assert!(err.to_string().contains(&victim), "{err}");
    assert_eq!(
        sim.request_count(&operations::CREATE_USER_V1),
        before,
        "nothing changed"
    );
    sim.seed().revoke(&victim, &parent, &third).unwrap();

    // Three grants fail after their creates: those users exist without roles.
    sim.fail_next(&operations::USER_ROLES_ACTION_V1, 400, 3);
    let first = falcon
        .apply(
            &planned,
            &ApplyOptions::new().concurrency(1),
            &Journal::off(),
        )
        .await
        .unwrap();
    let failed = first
        .results
        .iter()
        .filter(|r| matches!(r.outcome, ChangeOutcome::Failed { .. }))
        .count();
    assert_eq!(failed, 3, "{first:#?}");
    let again = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap();
    assert!(again.is_complete(), "{again:#?}");
    let (_, already, _, _) = again.counts();
    assert_eq!(already, planned.changes.len() - 3);
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), before + 6);
    assert!(
        plan_now(&falcon, &roster, &options)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A truncated export does not wipe the tenant: too many offboards, or too many users left
/// without roles, refuse the plan until the limit is raised; pruning needs a scope.
#[tokio::test]
async fn guardrails_refuse_oversized_removals() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 20,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let first = sim.users(&parent)[0].uid.clone();
    let truncated = Roster::from_csv(format!("uid,roles\n{first},\n").as_bytes()).unwrap();

    let err = plan_now(&falcon, &truncated, &exact_prune("uid:'*'"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--max-offboard 19"), "{err}");

    let mut raised = exact_prune("uid:'*'");
    raised.guardrails.max_offboard = 19;
    let ok = plan_now(&falcon, &truncated, &raised).await.unwrap();
    assert_eq!(ok.counts().2, 19);

    let everyone: String = sim
        .users(&parent)
        .iter()
        .map(|u| format!("{},\n", u.uid))
        .collect();
    let stripped = Roster::from_csv(format!("uid,roles\n{everyone}").as_bytes()).unwrap();
    let exact = PlanOptions::new().mode(Mode::Exact);
    let err = plan_now(&falcon, &stripped, &exact).await.unwrap_err();
    assert!(err.to_string().contains("--max-strip"), "{err}");

    let no_scope = PlanOptions::new().prune(true);
    let err = plan_now(&falcon, &truncated, &no_scope).await.unwrap_err();
    assert!(err.to_string().contains("needs a scope"), "{err}");
    assert_eq!(sim.request_count(&operations::DELETE_USER_V1), 0);
}

/// Unknown roles are refused with their row and a suggestion, before anything changes; a
/// roster row in a Flight Control member CID is created and granted there.
#[tokio::test]
async fn rows_are_checked_against_each_cids_roles_and_members_are_reconciled() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 6,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await;
    let (guest, _) = builtin_role(&sim, 0);
    let typo = format!("{}x", guest);
    let child = sim.child_cids()[0].clone();
    let bad = Roster::from_csv(
        format!("uid,roles\nann@example.com,{guest}\nbob@example.com,{typo}\n").as_bytes(),
    )
    .unwrap();
    let err = plan_now(&falcon, &bad, &PlanOptions::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("row 3, roles") && text.contains(&format!("did you mean {guest}?")),
        "{text}"
    );

    let custom = sim.inspect(|s| s.tenants[&child].custom_roles[0].id.clone());
    let roster =
        Roster::from_csv(format!("uid,roles,cid\nkid@example.com,{custom},{child}\n").as_bytes())
            .unwrap();
    let planned = plan_now(&falcon, &roster, &PlanOptions::default())
        .await
        .unwrap();
    assert_eq!(planned.changes[0].cid, Some(child.parse::<Cid>().unwrap()));
    let report = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(held(&sim, &child)["kid@example.com"], [custom]);
    assert!(
        sim.users(&sim.parent_cid())
            .iter()
            .all(|u| u.uid != "kid@example.com")
    );

    let managed =
        PlanOptions::new().member_cids(["0123456789abcdef0123456789abcdef".parse().unwrap()]);
    let err = plan(&roster, &Default::default(), &managed, chrono::Utc::now()).unwrap_err();
    assert!(
        err.to_string().contains("not one of the member CIDs"),
        "{err}"
    );
}

/// A saved plan is applied only where it was made, and on the tenant's word, not the file's:
/// edited to name another CID, applied as a Flight Control member, or granting a role the CID
/// does not offer, it is refused as a whole before any change. Applied where it was made, its
/// grants go to the CID read now (the report names it), and a rerun says `already done`.
#[tokio::test]
async fn a_saved_plan_is_bound_to_where_it_was_made_and_checked_against_the_tenant() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 4,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let child = sim.child_cids()[0].clone();
    let (admin, _) = builtin_role(&sim, 1);
    let victim = sim.users(&parent)[0].uid.clone();
    let roster = Roster::from_csv(
        format!("uid,roles\n{victim},{admin}\njoiner@example.com,{admin}\n").as_bytes(),
    )
    .unwrap();
    let planned = plan_now(&falcon, &roster, &PlanOptions::default())
        .await
        .unwrap();
    assert_eq!(planned.made_against.cid, Some(parent.parse().unwrap()));
    assert_eq!(planned.made_against.member_cid, None);
    assert_eq!(planned.made_against.client_id, sim.credentials().client_id);
    let saved = serde_json::to_string(&planned).unwrap();
    assert!(!saved.contains(&sim.credentials().client_secret));
    let changes = || {
        sim.request_count(&operations::CREATE_USER_V1)
            + sim.request_count(&operations::USER_ROLES_ACTION_V1)
    };

    let mut elsewhere = planned.clone();
    elsewhere.made_against.cid = Some(child.parse().unwrap());
    // The victim is homed in the parent: the child holds no such user to grant to.
    let mut other_cid = planned.clone();
    let at = other_cid
        .changes
        .iter()
        .position(|c| c.uid == victim)
        .unwrap();
    other_cid.changes[at].cid = Some(child.parse().unwrap());
    let mut unoffered = planned.clone();
    for change in &mut unoffered.changes {
        if let Some(after) = &mut change.after {
            after
                .roles
                .insert("f0000000000000000000000000000000".into(), None);
        }
    }
    let as_child = falcon.for_member(&child.parse().unwrap());
    let refusals: Vec<(&Falcon, &Plan, Vec<String>)> = vec![
        (
            &falcon,
            &elsewhere,
            vec![format!("made in CID {child}"), parent.clone()],
        ),
        (
            &as_child,
            &planned,
            vec!["made for member CID none".into(), child.clone()],
        ),
        (
            &falcon,
            &other_cid,
            vec![format!("{victim}: the user no longer exists")],
        ),
        (
            &falcon,
            &unoffered,
            vec!["f0000000000000000000000000000000 is not a role this CID offers".into()],
        ),
    ];
    for (handle, tampered, says) in refusals {
        let err = handle
            .apply(tampered, &ApplyOptions::new(), &Journal::off())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::PlanRefused { .. }), "{err}");
        for part in says {
            assert!(err.to_string().contains(&part), "{part:?} in {err}");
        }
        assert_eq!(changes(), 0, "nothing changed: {err}");
    }

    let report = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    for result in &report.results {
        assert_eq!(result.acted_in, Some(parent.parse().unwrap()), "{result:?}");
    }
    assert!(held(&sim, &parent)[victim.as_str()].contains(&admin));
    assert!(sim.grants(&victim).iter().all(|g| g.cid == parent));
    let again = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap();
    assert_eq!(again.counts(), (0, 2, 0, 0), "{again:#?}");
}

/// The guardrails of the apply hold for a saved plan whatever limits it was made with.
#[tokio::test]
async fn an_apply_holds_a_saved_plan_to_its_own_guardrails() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 8,
        ..SimConfig::default()
    })
    .await;
    let roster = Roster::from_csv("uid,roles\n".as_bytes()).unwrap();
    let mut options = exact_prune("uid:'*'");
    options.guardrails.max_offboard = 100;
    let planned = plan_now(&falcon, &roster, &options).await.unwrap();
    assert_eq!(planned.counts().2, 8);
    for limits in [
        Guardrails::default(),
        Guardrails::new().max_offboard(0).max_strip(0),
    ] {
        let err = falcon
            .apply(
                &planned,
                &ApplyOptions::new().guardrails(limits),
                &Journal::off(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--max-offboard 8"), "{err}");
    }
    assert_eq!(sim.request_count(&operations::DELETE_USER_V1), 0);
    let raised = Guardrails::new().max_offboard(8);
    let report = falcon
        .apply(
            &planned,
            &ApplyOptions::new().guardrails(raised),
            &Journal::off(),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(sim.users(&sim.parent_cid()).len(), 0);
}

/// The journal is written ahead: what a run killed mid-request leaves (a `started` line and
/// no outcome) is resolved by the next run, which records whether the action took effect.
#[tokio::test]
async fn a_killed_runs_action_in_flight_is_resolved_by_the_next_run() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 2,
        ..SimConfig::default()
    })
    .await;
    let (guest, _) = builtin_role(&sim, 0);
    let roster = Roster::from_csv(
        format!("uid,first_name,last_name,roles\nmade@example.com,Ma,De,{guest}\nlost@example.com,Lo,St,{guest}\n").as_bytes(),
    )
    .unwrap();
    let planned = plan_now(&falcon, &roster, &PlanOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json.journal.jsonl");
    // The killed run: both creates were written ahead; one request reached the service.
    let killed = Journal::append_to(&path).unwrap();
    drop(killed);
    let mut lines = String::new();
    for change in &planned.changes {
        let entry = JournalEntry {
            time: chrono::Utc::now(),
            cid: None,
            uid: change.uid.clone(),
            user_uuid: None,
            action: change.actions()[0].clone(),
            outcome: "started".into(),
            error: None,
            trace_id: None,
        };
        lines.push_str(&serde_json::to_string(&entry).unwrap());
        lines.push('\n');
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()))
        .unwrap();
    sim.seed()
        .user("made@example.com")
        .first_name("Ma")
        .last_name("De")
        .create()
        .unwrap();

    let journal = Journal::append_to(&path).unwrap();
    let report = falcon
        .apply(&planned, &ApplyOptions::new().concurrency(1), &journal)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(journal.unresolved(), 0);
    drop(journal);
    let written: Vec<(String, String, String)> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<JournalEntry>(l).unwrap())
        .map(|e| (e.uid, e.action.name().to_owned(), e.outcome))
        .collect();
    let line = |uid: &str, action: &str, outcome: &str| {
        (uid.to_owned(), action.to_owned(), outcome.to_owned())
    };
    assert_eq!(
        written[2..],
        [
            line("lost@example.com", "create", "interrupted: not done"),
            line("lost@example.com", "create", "started"),
            line("lost@example.com", "create", "done"),
            line("lost@example.com", "grant", "started"),
            line("lost@example.com", "grant", "done"),
            line("made@example.com", "create", "interrupted: done"),
            line("made@example.com", "grant", "started"),
            line("made@example.com", "grant", "done"),
        ],
        "{written:#?}"
    );
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 1);
}

/// A roster row whose login hides a soft hyphen (U+00AD) is refused as the roster is read,
/// before any request; one slipped into a saved plan by hand is refused by the create itself,
/// so no such login is ever created.
#[tokio::test]
async fn a_soft_hyphen_login_is_refused_before_any_request() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 3,
        ..SimConfig::default()
    })
    .await;
    let (guest, _) = builtin_role(&sim, 0);
    let hidden = "ad\u{ad}min@example.com";
    let before = sim.request_counts();
    let err = Roster::from_csv(format!("uid,roles\n{hidden},{guest}\n").as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains(
            "row 2, uid: \"ad\\u{ad}min@example.com\" is not an email address: \
             character 3 (counting from 1) is U+00AD, an invisible (default-ignorable) character"
        ),
        "{err}"
    );
    assert_eq!(sim.request_counts(), before, "nothing was sent");

    let roster =
        Roster::from_csv(format!("uid,roles\nadmin@example.com,{guest}\n").as_bytes()).unwrap();
    let planned = plan_now(&falcon, &roster, &PlanOptions::default())
        .await
        .unwrap();
    let edited = serde_json::to_string(&planned)
        .unwrap()
        .replace("admin@example.com", hidden);
    let edited: Plan = serde_json::from_str(&edited).unwrap();
    let report = falcon
        .apply(&edited, &ApplyOptions::new(), &Journal::off())
        .await
        .unwrap();
    match &report.results[0].outcome {
        ChangeOutcome::Failed {
            error: Error::InvalidInput { field, reason },
            ..
        } => assert!(*field == "uid" && reason.contains("U+00AD"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 0);
    assert!(
        sim.users(&sim.parent_cid())
            .iter()
            .all(|u| !u.uid.contains('\u{ad}'))
    );
}

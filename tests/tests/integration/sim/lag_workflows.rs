//! The workflows against a simulator whose reads lag writes by 30 s, as the service's do, on
//! the simulator's clock (the client's waits advance it; nothing sleeps): provision, offboard,
//! roster apply then plan again, bulk grant and revoke, and each rerun right after, must
//! converge as they do without the lag: no duplicate action, no false failure, and a plan made
//! right after an apply is empty.
//!
//! The workflows meet it by waiting once, after their last change, until the service shows it
//! (`Settle`): on this clock the wait takes simulated time only.

use std::collections::BTreeMap;
use std::time::Duration;

use falcon_users::workflows::roster::{
    ApplyOptions, ChangeOutcome, Journal, Mode, Plan, PlanOptions, RoleEdit, Roster, Targets,
    edit_plan, plan,
};
use falcon_users::workflows::{
    BulkOptions, Offboard, Provision, ProvisionOutcome, RoleChange, Settled,
};
use falcon_users::{Error, Falcon};
use falcon_users_api::operations;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::{builtin_role, lagged_tenant, roles_of_login};

/// The service's lag, as issue reports and CrowdStrike's own tools measure it.
const LAG: Duration = Duration::from_secs(30);

async fn tenant(users: usize) -> (Simulator, Falcon) {
    lagged_tenant(
        SimConfig {
            users,
            ..SimConfig::default()
        },
        LAG,
    )
    .await
}

/// The roles each login holds in `cid` (the true state), by login.
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

#[tokio::test]
async fn provision_and_its_rerun_converge_under_the_lag() {
    let (sim, falcon) = tenant(5).await;
    let job = Provision::new("grace.hopper@example.com", ["falcon_console_guest"])
        .names("Grace", "Hopper");
    let first = falcon.provision(&job).await.expect("no false failure");
    assert!(
        matches!(first, ProvisionOutcome::Created { .. }),
        "{first:?}"
    );
    let again = falcon.provision(&job).await.expect("the rerun succeeds");
    assert!(
        matches!(again, ProvisionOutcome::AlreadyProvisioned { .. }),
        "{again:?}"
    );
    assert_eq!(
        sim.request_count(&operations::CREATE_USER_V1),
        1,
        "no second create"
    );
    assert_eq!(
        sim.request_count(&operations::USER_ROLES_ACTION_V1),
        1,
        "no second grant"
    );
    assert_eq!(
        roles_of_login(&sim, "grace.hopper@example.com").unwrap(),
        ["falcon_console_guest"]
    );
}

/// Offboarding revokes and deletes once; a rerun right after finds no user, as it does without
/// the lag, instead of revoking again grants that are gone.
#[tokio::test]
async fn offboard_and_its_rerun_converge_under_the_lag() {
    let (sim, falcon) = tenant(5).await;
    sim.seed()
        .user("leaver@example.com")
        .grant("falcon_console_guest")
        .grant("falconhost_read_only")
        .create()
        .unwrap();
    let done = falcon
        .offboard(&Offboard::new("leaver@example.com"))
        .await
        .expect("no false failure");
    assert!(done.executed);
    assert!(sim.user("leaver@example.com").is_none(), "gone");
    let again = falcon.offboard(&Offboard::new("leaver@example.com")).await;
    assert!(
        matches!(&again, Err(Error::InvalidInput { field: "user", .. })),
        "as without the lag, no user to offboard: {again:?}"
    );
    assert_eq!(
        sim.request_count(&operations::DELETE_USER_V1),
        1,
        "one delete"
    );
    assert_eq!(
        sim.request_count(&operations::USER_ROLES_ACTION_V1),
        1,
        "one revoke call"
    );
}

async fn plan_now(falcon: &Falcon, roster: &Roster, options: &PlanOptions) -> Plan {
    let state = falcon
        .roster_state(&options.cids_to_read(roster), options)
        .await
        .unwrap();
    plan(roster, &state, options, chrono::Utc::now()).unwrap()
}

/// A joiner, a mover and a leaver applied; the plan made right after is empty; a second apply
/// of the first plan changes nothing.
#[tokio::test]
async fn a_roster_apply_then_a_plan_right_after_is_empty_under_the_lag() {
    let (sim, falcon) = tenant(8).await;
    let parent = sim.parent_cid();
    let options = PlanOptions::new().mode(Mode::Exact).prune_in("uid:'*'");
    let state = falcon.roster_state(&[None], &options).await.unwrap();
    let mut csv = Vec::new();
    Roster::from_state(&state).write_csv(&mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    let users = sim.users(&parent);
    let (leaver, mover) = (&users[0].uid, &users[1].uid);
    let (guest, _) = builtin_role(&sim, 0);
    let (other, _) = builtin_role(&sim, 1);
    let mut edited: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(leaver.as_str()))
        .map(|l| {
            if l.starts_with(mover.as_str()) {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[3] = &other;
                cells.join(",")
            } else {
                l.to_owned()
            }
        })
        .collect();
    edited.push(format!("joiner@example.com,Jo,Iner,{guest},,"));
    let roster = Roster::from_csv(edited.join("\n").as_bytes()).unwrap();

    let planned = plan_now(&falcon, &roster, &options).await;
    assert_eq!(planned.counts(), (1, 1, 1), "{:#?}", planned.changes);
    let report = falcon
        .apply(&planned, &ApplyOptions::new(), &Journal::in_memory())
        .await
        .unwrap();
    assert!(report.is_complete(), "no false failure: {report:#?}");
    // One wait, for all the changes, of the lag (simulated) and not much more.
    let started = sim.clock().advanced();
    match report.settled {
        Settled::Shown { waited } => assert!(
            waited >= LAG - Duration::from_secs(2) && waited <= LAG + Duration::from_secs(2),
            "{waited:?}"
        ),
        other => panic!("{other:?}"),
    }
    let again = plan_now(&falcon, &roster, &options).await;
    assert_eq!(
        sim.clock().advanced(),
        started,
        "the plan right after waits for nothing"
    );
    let replanned: Vec<&str> = again.changes.iter().map(|c| c.uid.as_str()).collect();
    assert!(
        again.is_empty(),
        "nothing re-planned: {:?} for {replanned:?}",
        again.counts()
    );
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 1);
    assert_eq!(sim.request_count(&operations::DELETE_USER_V1), 1);
    assert!(sim.user(leaver).is_none());
    assert_eq!(held(&sim, &parent)[mover.as_str()], vec![other]);
    assert_eq!(held(&sim, &parent)["joiner@example.com"], vec![guest]);
}

/// The bulk grant and revoke of the roster engine (`grants grant --users-from`), each followed
/// at once by the same edit planned again: nothing left to do, no action sent twice.
#[tokio::test]
async fn bulk_grant_and_revoke_and_their_reruns_converge_under_the_lag() {
    let (sim, falcon) = tenant(6).await;
    let parent = sim.parent_cid();
    let (other, _) = builtin_role(&sim, 1);
    let logins: Vec<String> = sim.users(&parent).into_iter().map(|u| u.uid).collect();
    let named: Vec<_> = logins.iter().map(|u| (None, u.clone())).collect();
    let edit = |edit: RoleEdit| {
        let (falcon, named, roles) = (falcon.clone(), named.clone(), vec![other.clone()]);
        async move {
            let state = falcon
                .targeted_state(&Targets::Logins(named.clone()), &PlanOptions::new())
                .await
                .unwrap();
            edit_plan(&state, &named, edit, &roles).unwrap().plan
        }
    };
    let apply = |planned: Plan| {
        let falcon = falcon.clone();
        async move {
            falcon
                .apply(&planned, &ApplyOptions::new(), &Journal::in_memory())
                .await
                .unwrap()
        }
    };
    for (step, role_edit) in [("grant", RoleEdit::Grant), ("revoke", RoleEdit::Revoke)] {
        let planned = edit(role_edit).await;
        let changes = planned.changes.len();
        assert!(changes > 0, "{step}: something to do");
        let before = sim.request_count(&operations::USER_ROLES_ACTION_V1);
        let report = apply(planned).await;
        assert!(
            report.is_complete(),
            "{step}: no false failure: {report:#?}"
        );
        assert!(
            report
                .results
                .iter()
                .all(|r| matches!(r.outcome, ChangeOutcome::Done { .. })),
            "{step}: {report:#?}"
        );
        let rerun = edit(role_edit).await;
        let replanned: Vec<&str> = rerun.changes.iter().map(|c| c.uid.as_str()).collect();
        assert!(rerun.is_empty(), "{step}: re-planned for {replanned:?}");
        assert_eq!(
            sim.request_count(&operations::USER_ROLES_ACTION_V1) - before,
            changes as u64,
            "{step}: one action per change"
        );
    }
    assert!(
        held(&sim, &parent)
            .values()
            .all(|roles| !roles.contains(&other))
    );
}

/// `change_roles_bulk` (the library's bulk call) granting then, right after, revoking: each
/// user's change succeeds once, nothing is reported failed.
#[tokio::test]
async fn change_roles_bulk_and_its_rerun_converge_under_the_lag() {
    let (sim, falcon) = tenant(10).await;
    let parent = sim.parent_cid();
    let users: Vec<String> = sim.users(&parent).into_iter().map(|u| u.uuid).collect();
    for change in [
        RoleChange::Grant { expires_at: None },
        RoleChange::Grant { expires_at: None },
        RoleChange::Revoke,
        RoleChange::Revoke,
    ] {
        let outcomes = falcon
            .change_roles_bulk(
                users.clone(),
                "falconhost_investigator",
                change,
                &BulkOptions::new().concurrency(4),
            )
            .await
            .unwrap();
        let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
    assert!(
        held(&sim, &parent)
            .values()
            .all(|roles| !roles.iter().any(|r| r == "falconhost_investigator"))
    );
}

/// The linked clock: the client's waits move the simulator's clock, not the wall clock, so a
/// run that waits out the lag takes simulated time only.
#[tokio::test]
async fn the_clients_waits_advance_the_simulators_clock() {
    let (sim, falcon) = tenant(1).await;
    let clock = falcon.clock();
    let before = (clock.now(), sim.clock().advanced());
    let started = std::time::Instant::now();
    clock.sleep(LAG).await;
    assert!(started.elapsed() < Duration::from_secs(5), "no real wait");
    assert_eq!(sim.clock().advanced() - before.1, LAG);
    assert!(clock.now().duration_since(before.0).unwrap() >= LAG);
}

/// A wait shorter than the lag ends at its limit as not shown, says so through its progress,
/// and is no failure: the change was made.
#[tokio::test]
async fn a_wait_shorter_than_the_lag_ends_not_shown_and_is_no_failure() {
    let (sim, falcon) = tenant(3).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let told = seen.clone();
    let settle = falcon_users::workflows::Settle::new()
        .limit(Duration::from_secs(10))
        .on_progress(move |w| told.lock().unwrap().push((w.waited, w.shown)));
    let job = Provision::new("ada@example.com", ["falcon_console_guest"]).settle(settle);
    let before = sim.clock().advanced();
    let done = falcon.provision(&job).await.expect("no failure");
    assert!(matches!(done, ProvisionOutcome::Created { .. }), "{done:?}");
    assert_eq!(sim.clock().advanced() - before, Duration::from_secs(10));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Duration::ZERO, None),
            (Duration::from_secs(10), Some(false))
        ]
    );
    assert!(sim.user("ada@example.com").is_some());
}

/// A first run that did not wait leaves the login created but unlisted; the rerun right after
/// finds it taken, waits until it is listed and completes it: no false failure, no second user.
#[tokio::test]
async fn a_rerun_after_a_run_that_did_not_wait_completes_the_taken_login() {
    let (sim, falcon) = tenant(3).await;
    let quick = Provision::new("eve@example.com", ["falcon_console_guest"])
        .settle(falcon_users::workflows::Settle::off());
    falcon.provision(&quick).await.expect("created");
    let job = Provision::new("eve@example.com", ["falcon_console_guest"]);
    let again = falcon.provision(&job).await.expect("no false failure");
    assert!(
        matches!(again, ProvisionOutcome::AlreadyProvisioned { .. }),
        "{again:?}"
    );
    assert_eq!(sim.request_count(&operations::USER_ROLES_ACTION_V1), 1);
    assert_eq!(
        sim.users(&sim.parent_cid())
            .iter()
            .filter(|u| u.uid == "eve@example.com")
            .count(),
        1
    );
}

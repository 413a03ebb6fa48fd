//! Bulk commands on the roster engine against the simulator: provisioning a roster at the
//! request minimum (no lookup before a create, the roles listed once), a login found taken
//! completed with the roles it lacks, second runs that change nothing, dry runs that only read,
//! offboarding several users with absent ones reported, and role edits (grant, revoke, set) with
//! a partial failure finished by a second run.

use std::collections::BTreeSet;

use falcon_users::Falcon;
use falcon_users::workflows::Settled;
use falcon_users::workflows::roster::{
    ApplyOptions, ApplyReport, BulkPlan, ChangeOutcome, Journal, Plan, PlanOptions, RoleEdit,
    Roster, Targets, edit_plan, offboard_plan, plan,
};
use falcon_users_api::operations;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::{builtin_role, roles_of_login, tenant_with};

/// Every write operation the bulk commands may send.
const WRITES: [&falcon_users_api::Operation; 4] = [
    &operations::CREATE_USER_V1,
    &operations::USER_ROLES_ACTION_V1,
    &operations::DELETE_USER_V1,
    &operations::UPDATE_USER_V1,
];

fn writes(sim: &Simulator) -> u64 {
    WRITES.iter().map(|op| sim.request_count(op)).sum()
}

/// Requests to the API (the token requests aside).
fn api_requests(sim: &Simulator) -> u64 {
    sim.request_counts()
        .into_iter()
        .filter(|(op, _)| *op != operations::OAUTH2_ACCESS_TOKEN.id)
        .map(|(_, n)| n)
        .sum()
}

/// The roles `uid` holds in the parent CID, sorted.
fn held(sim: &Simulator, uid: &str) -> Vec<String> {
    roles_of_login(sim, uid).unwrap_or_default()
}

fn logins(sim: &Simulator) -> BTreeSet<String> {
    sim.users(&sim.parent_cid())
        .into_iter()
        .map(|u| u.uid)
        .collect()
}

/// What `provision --from` does: the roles of each CID, then the roster planned against no
/// user (every row a create) and applied without a second read.
async fn provision(falcon: &Falcon, roster: &Roster) -> ApplyReport {
    let options = PlanOptions::default();
    let state = falcon
        .targeted_state(&Targets::Nobody(options.cids_to_read(roster)), &options)
        .await
        .unwrap();
    let planned = plan(roster, &state, &options, chrono::Utc::now()).unwrap();
    apply(falcon, &planned).await
}

async fn apply(falcon: &Falcon, planned: &Plan) -> ApplyReport {
    falcon
        .apply(
            planned,
            &ApplyOptions::new().verify(false),
            &Journal::in_memory(),
        )
        .await
        .unwrap()
}

fn count(report: &ApplyReport, which: fn(&ChangeOutcome) -> bool) -> usize {
    report.results.iter().filter(|r| which(&r.outcome)).count()
}

#[tokio::test]
async fn provisioning_a_roster_costs_the_minimum_and_a_second_run_changes_nothing() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 0,
        ..SimConfig::default()
    })
    .await;
    let (guest, _) = builtin_role(&sim, 0);
    let (_, other_name) = builtin_role(&sim, 1);
    let mut csv = String::from("uid,first_name,last_name,roles\n");
    for n in 0..200 {
        // Half name a role by id, half two roles, one by display name.
        if n % 2 == 0 {
            csv.push_str(&format!("user{n}@corp.example.com,User,N{n},{guest}\n"));
        } else {
            csv.push_str(&format!(
                "user{n}@corp.example.com,User,N{n},\"{guest};{other_name}\"\n"
            ));
        }
    }
    let roster = Roster::from_csv(csv.as_bytes()).unwrap();
    let first = provision(&falcon, &roster).await;
    assert!(first.is_complete(), "{first:#?}");
    assert_eq!(
        count(&first, |o| matches!(o, ChangeOutcome::Done { .. })),
        200
    );
    assert_eq!(logins(&sim).len(), 200);
    assert_eq!(
        held(&sim, "user0@corp.example.com"),
        std::slice::from_ref(&guest)
    );
    assert_eq!(held(&sim, "user1@corp.example.com").len(), 2);

    // One create and one grant per user, and the roles listed once (query + entities).
    let minimum = 2 * 200 + 2;
    let requests = api_requests(&sim);
    assert!(
        requests as f64 <= 1.02 * minimum as f64,
        "{requests} requests for a minimum of {minimum}: {:?}",
        sim.request_counts()
    );
    assert_eq!(sim.request_count(&operations::QUERIES_ROLES_V1), 1);
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 200);
    assert_eq!(sim.request_count(&operations::USER_ROLES_ACTION_V1), 200);

    // Again: every create refused as taken, every user found complete, nothing granted.
    let second = provision(&falcon, &roster).await;
    assert!(second.is_complete(), "{second:#?}");
    assert_eq!(
        count(&second, |o| matches!(o, ChangeOutcome::AlreadyDone)),
        200
    );
    assert_eq!(sim.request_count(&operations::USER_ROLES_ACTION_V1), 200);
    assert_eq!(logins(&sim).len(), 200, "no duplicate");
}

#[tokio::test]
async fn a_taken_login_gets_the_roles_it_lacks_and_keeps_the_others() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 3,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let (guest, _) = builtin_role(&sim, 0);
    let (other, _) = builtin_role(&sim, 1);
    let (third, _) = builtin_role(&sim, 2);
    let existing = sim.users(&parent)[0].uid.clone();
    for role in held(&sim, &existing) {
        sim.seed().revoke(&existing, &parent, &role).unwrap();
    }
    sim.seed().grant(&existing, &parent, &third, None).unwrap();
    let csv = format!("uid,roles\n{existing},\"{guest};{other}\"\nnew@corp.example.com,{guest}\n");
    let report = provision(&falcon, &Roster::from_csv(csv.as_bytes()).unwrap()).await;
    assert!(report.is_complete(), "{report:#?}");
    // Without lag the service shows the changes at the first check: the taken login's
    // completion is judged by what was done, not by the roster's roles alone.
    assert_eq!(
        report.settled,
        Settled::Shown {
            waited: std::time::Duration::ZERO
        }
    );
    let mut want = vec![guest.clone(), other.clone(), third.clone()];
    want.sort();
    assert_eq!(
        held(&sim, &existing),
        want,
        "granted what it lacked, kept {third}"
    );
    assert_eq!(
        held(&sim, "new@corp.example.com"),
        std::slice::from_ref(&guest)
    );
    assert_eq!(
        logins(&sim).len(),
        4,
        "the taken login was not created twice"
    );
    let done_for_existing = report
        .results
        .iter()
        .find(|r| r.uid == existing)
        .map(|r| r.outcome.clone());
    match done_for_existing {
        Some(ChangeOutcome::Done { actions }) => {
            assert_eq!(actions.len(), 1, "a grant only: {actions:?}");
            assert_eq!(actions[0].name(), "grant");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn dry_runs_only_read() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 4,
        ..SimConfig::default()
    })
    .await;
    let (guest, _) = builtin_role(&sim, 0);
    let existing = sim.users(&sim.parent_cid())[0].uid.clone();
    let csv = format!("uid,roles\n{existing},{guest}\nnew@corp.example.com,{guest}\n");
    let roster = Roster::from_csv(csv.as_bytes()).unwrap();
    let named: Vec<_> = roster
        .entries()
        .iter()
        .map(|e| (e.cid.clone(), e.uid.clone()))
        .collect();
    let state = falcon
        .targeted_state(&Targets::Logins(named.clone()), &PlanOptions::new())
        .await
        .unwrap();
    let planned = plan(&roster, &state, &PlanOptions::default(), chrono::Utc::now()).unwrap();
    assert_eq!(planned.counts().0, 1, "only the new login is a create");
    let gone = offboard_plan(&state, &named);
    assert_eq!(gone.plan.changes.len(), 1);
    assert_eq!(gone.absent, [(None, "new@corp.example.com".to_owned())]);
    let edit = edit_plan(&state, &named, RoleEdit::Set, std::slice::from_ref(&guest)).unwrap();
    assert_eq!(edit.absent.len(), 1);
    assert_eq!(writes(&sim), 0, "{:?}", sim.request_counts());
}

#[tokio::test]
async fn offboarding_several_users_reports_the_absent_and_a_second_run_finds_them_gone() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 6,
        ..SimConfig::default()
    })
    .await;
    let users: Vec<String> = logins(&sim).into_iter().take(3).collect();
    let mut named: Vec<_> = users.iter().map(|u| (None, u.clone())).collect();
    named.push((None, "nobody@corp.example.com".to_owned()));
    let run = |named: Vec<_>| {
        let falcon = falcon.clone();
        async move {
            let state = falcon
                .targeted_state(&Targets::Logins(named.clone()), &PlanOptions::new())
                .await
                .unwrap();
            offboard_plan(&state, &named)
        }
    };
    let first: BulkPlan = run(named.clone()).await;
    assert_eq!(first.plan.changes.len(), 3);
    assert_eq!(first.absent.len(), 1);
    let report = apply(&falcon, &first.plan).await;
    assert!(report.is_complete(), "{report:#?}");
    let left = logins(&sim);
    assert_eq!(left.len(), 3);
    assert!(users.iter().all(|u| !left.contains(u)));
    assert!(users.iter().all(|u| held(&sim, u).is_empty()));

    let deletes = sim.request_count(&operations::DELETE_USER_V1);
    let second = run(named).await;
    assert!(second.plan.is_empty());
    assert_eq!(second.absent.len(), 4, "every one absent now");
    assert_eq!(sim.request_count(&operations::DELETE_USER_V1), deletes);
}

#[tokio::test]
async fn role_edits_change_only_what_differs_and_a_partial_failure_is_finished_by_a_rerun() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 6,
        ..SimConfig::default()
    })
    .await;
    let (guest, guest_name) = builtin_role(&sim, 0);
    let (other, _) = builtin_role(&sim, 1);
    let users: Vec<String> = logins(&sim).into_iter().collect();
    let named: Vec<_> = users.iter().map(|u| (None, u.clone())).collect();
    let edit = |edit: RoleEdit, roles: Vec<String>| {
        let (falcon, named) = (falcon.clone(), named.clone());
        async move {
            let state = falcon
                .targeted_state(&Targets::Logins(named.clone()), &PlanOptions::new())
                .await
                .unwrap();
            edit_plan(&state, &named, edit, &roles).unwrap()
        }
    };

    // Set by display name: exactly the guest role; two of the first changes fail.
    sim.fail_next(&operations::USER_ROLES_ACTION_V1, 400, 2);
    let set = edit(RoleEdit::Set, vec![guest_name.clone()]).await;
    let report = apply(&falcon, &set.plan).await;
    assert_eq!(
        count(&report, |o| matches!(o, ChangeOutcome::Failed { .. })),
        2,
        "{report:#?}"
    );
    let again = edit(RoleEdit::Set, vec![guest_name.clone()]).await;
    assert!(apply(&falcon, &again.plan).await.is_complete());
    assert!(
        users
            .iter()
            .all(|u| held(&sim, u) == std::slice::from_ref(&guest))
    );
    let settled = edit(RoleEdit::Set, vec![guest.clone()]).await;
    assert!(settled.plan.is_empty());
    assert_eq!(settled.unchanged.len(), users.len());

    // Grant a held role: unchanged; grant a new one to all, then revoke it.
    let actions = sim.request_count(&operations::USER_ROLES_ACTION_V1);
    assert!(
        edit(RoleEdit::Grant, vec![guest.clone()])
            .await
            .plan
            .is_empty()
    );
    assert_eq!(
        sim.request_count(&operations::USER_ROLES_ACTION_V1),
        actions
    );
    let grant = edit(RoleEdit::Grant, vec![other.clone()]).await;
    assert!(apply(&falcon, &grant.plan).await.is_complete());
    assert!(users.iter().all(|u| held(&sim, u).contains(&other)));
    let revoke = edit(RoleEdit::Revoke, vec![other.clone()]).await;
    assert!(apply(&falcon, &revoke.plan).await.is_complete());
    assert!(
        users
            .iter()
            .all(|u| held(&sim, u) == std::slice::from_ref(&guest))
    );
    assert!(
        edit(RoleEdit::Revoke, vec![other.clone()])
            .await
            .plan
            .is_empty()
    );

    // An unknown role is refused with a suggestion.
    let state = falcon
        .targeted_state(&Targets::Logins(named.clone()), &PlanOptions::new())
        .await
        .unwrap();
    let err = edit_plan(&state, &named, RoleEdit::Grant, &[format!("{guest}x")]).unwrap_err();
    assert!(err.to_string().contains("did you mean"), "{err}");

    // A filter reads the matching users with their grants.
    let filtered = falcon
        .targeted_state(
            &Targets::Filter {
                fql: format!("uid:'{}'", users[0]),
                cids: vec![None],
            },
            &PlanOptions::new(),
        )
        .await
        .unwrap();
    let by_filter = edit_plan(
        &filtered,
        &[],
        RoleEdit::Grant,
        std::slice::from_ref(&other),
    )
    .unwrap();
    assert_eq!(by_filter.plan.changes.len(), 1);
    assert_eq!(by_filter.plan.changes[0].uid, users[0]);
}

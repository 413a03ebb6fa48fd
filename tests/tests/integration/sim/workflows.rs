//! Workflows against the simulator: provisioning (idempotent, validated, both failure modes),
//! offboarding (dry run and real), bulk role changes, the access review. (An inventory of 5,000
//! users equal to the state is in the `load` binary.)

use falcon_users::Error;
use falcon_users::workflows::{
    BulkOptions, InventoryOptions, Offboard, OnGrantFailure, Provision, ProvisionOutcome,
    RoleChange,
};
use falcon_users_api::operations;
use falcon_users_sim::SimConfig;
use falcon_users_tests::sim::{roles_of_login as roles_of, tenant_with, workflow_tenant as setup};

#[tokio::test]
async fn provisioning_is_idempotent_and_completes_missing_roles() {
    let (sim, falcon) = setup(20).await;
    let job = Provision::new("Grace.Hopper@Example.com", ["falcon_console_guest"])
        .names("Grace", "Hopper");
    let first = falcon.provision(&job).await.unwrap();
    assert!(
        matches!(first, ProvisionOutcome::Created { .. }),
        "{first:?}"
    );
    assert_eq!(
        roles_of(&sim, "grace.hopper@example.com").unwrap(),
        ["falcon_console_guest"]
    );

    let again = falcon.provision(&job).await.unwrap();
    assert!(
        matches!(again, ProvisionOutcome::AlreadyProvisioned { .. }),
        "{again:?}"
    );
    assert_eq!(
        sim.request_count(&operations::CREATE_USER_V1),
        1,
        "no second create"
    );

    let more = Provision::new(
        "grace.hopper@example.com",
        ["falcon_console_guest", "falconhost_analyst"],
    );
    let added = falcon.provision(&more).await.unwrap();
    assert_eq!(added.granted(), ["falconhost_analyst"]);
    assert_eq!(roles_of(&sim, "grace.hopper@example.com").unwrap().len(), 2);
}

/// Two runs provisioning the same login at once: both see no user and both create; the loser's
/// create is refused as a duplicate. It must end as the idempotent outcome (the user exists with
/// the roles), not as an error, and there is one user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_provisioning_of_one_login_converges_without_an_error() {
    let (sim, falcon) = setup(5).await;
    for n in 0..12 {
        let uid = format!("twin{n}@example.com");
        let job = Provision::new(uid.as_str(), ["falcon_console_guest"]);
        let (a, b) = tokio::join!(falcon.provision(&job), falcon.provision(&job));
        let (a, b) = (a.unwrap(), b.unwrap());
        let created = [&a, &b]
            .iter()
            .filter(|o| matches!(o, ProvisionOutcome::Created { .. }))
            .count();
        assert_eq!(created, 1, "{a:?} / {b:?}");
        assert_eq!(a.user().uuid, b.user().uuid);
        assert_eq!(roles_of(&sim, &uid).unwrap(), ["falcon_console_guest"]);
    }
}

#[tokio::test]
async fn unknown_roles_are_refused_before_anything_is_created() {
    let (sim, falcon) = setup(5).await;
    let err = falcon
        .provision(&Provision::new(
            "x@example.com",
            ["falcon_console_guest", "made_up"],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: "role_ids", reason } if reason.contains("made_up")),
        "{err:?}"
    );
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 0);
    assert!(roles_of(&sim, "x@example.com").is_none());
}

/// Roles are named as people write them: by display name (any case), by id, the same role both
/// ways once. A misspelt name or id is refused before anything is created, with the nearest; ids
/// alone cost one roles request, a display name one more (the names).
#[tokio::test]
async fn provision_takes_role_display_names_and_suggests_the_nearest_on_a_typo() {
    let (sim, falcon) = setup(5).await;
    let reads = |sim: &falcon_users_sim::Simulator| {
        [
            &operations::QUERIES_ROLES_V1,
            &operations::ENTITIES_ROLES_GET_V2,
        ]
        .map(|op| sim.request_count(op))
    };

    let job = Provision::new(
        "ada@example.com",
        [
            "Falcon Console Guest",
            "falcon analyst",
            "falcon_console_guest",
        ],
    );
    let done = falcon.provision(&job).await.unwrap();
    assert!(matches!(done, ProvisionOutcome::Created { .. }), "{done:?}");
    assert_eq!(
        done.granted(),
        ["falcon_console_guest", "falconhost_analyst"]
    );
    assert_eq!(
        roles_of(&sim, "ada@example.com").unwrap(),
        ["falcon_console_guest", "falconhost_analyst"]
    );
    assert_eq!(
        reads(&sim),
        [1, 1],
        "one read of the roles, with their names"
    );

    let before = reads(&sim);
    let by_id = Provision::new("bea@example.com", ["falcon_console_guest"]);
    falcon.provision(&by_id).await.unwrap();
    assert_eq!(reads(&sim), [before[0] + 1, before[1]], "ids need no names");

    for (role, problem) in [
        (
            "Falcon Console Gest",
            "invalid role_ids: no role \"Falcon Console Gest\" in this CID; did you mean Falcon Console Guest?",
        ),
        (
            "falcon_console_gest",
            "invalid role_ids: no role \"falcon_console_gest\" in this CID; did you mean falcon_console_guest?",
        ),
    ] {
        let err = falcon
            .provision(&Provision::new("cy@example.com", [role]))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), problem);
        assert!(matches!(
            err,
            Error::InvalidInput {
                field: "role_ids",
                ..
            }
        ));
    }
    assert_eq!(sim.request_count(&operations::CREATE_USER_V1), 2);
    assert!(roles_of(&sim, "cy@example.com").is_none());
}

/// An invisible character in a name is refused before any request, whichever create
/// operation the job asks for (the legacy one included).
#[tokio::test]
async fn invisible_names_are_refused_before_any_request() {
    let (sim, falcon) = setup(5).await;
    let before = sim.request_counts();
    for legacy in [false, true] {
        let job = Provision::new("new@example.com", ["falcon_console_guest"])
            .names("Ann\u{34f}", "Lee")
            .legacy_create(legacy);
        let err = falcon.provision(&job).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: "first_name", reason }
                if reason.contains("character 4 (counting from 1) is U+034F")),
            "{err:?}"
        );
    }
    assert_eq!(sim.request_counts(), before, "nothing was sent");
    assert!(roles_of(&sim, "new@example.com").is_none());
}

#[tokio::test]
async fn a_failed_grant_is_rolled_back() {
    let (sim, falcon) = setup(5).await;
    sim.fail_next(&operations::USER_ROLES_ACTION_V1, 400, 1);
    let err = falcon
        .provision(&Provision::new(
            "rollback@example.com",
            ["falcon_console_guest"],
        ))
        .await
        .unwrap_err();
    match &err {
        Error::ProvisionIncomplete {
            rolled_back,
            roles_not_granted,
            ..
        } => {
            assert!(*rolled_back);
            assert_eq!(roles_not_granted, &["falcon_console_guest"]);
        }
        other => panic!("expected ProvisionIncomplete, got {other:?}"),
    }
    assert!(err.to_string().contains("deleted again"), "{err}");
    assert!(
        roles_of(&sim, "rollback@example.com").is_none(),
        "the user is gone"
    );
}

#[tokio::test]
async fn a_failed_grant_can_be_reported_instead() {
    let (sim, falcon) = setup(5).await;
    sim.fail_next(&operations::USER_ROLES_ACTION_V1, 400, 1);
    let job = Provision::new("keep@example.com", ["falcon_console_guest"])
        .on_grant_failure(OnGrantFailure::Report);
    let err = falcon.provision(&job).await.unwrap_err();
    let Error::ProvisionIncomplete {
        rolled_back,
        user_uuid,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(!rolled_back);
    assert!(err.to_string().contains("still exists"), "{err}");
    assert_eq!(
        roles_of(&sim, "keep@example.com").unwrap(),
        Vec::<String>::new(),
        "exists, without roles"
    );
    assert!(sim.inspect(|s| s.tenants[&sim.parent_cid()].users.contains_key(user_uuid)));
}

#[tokio::test]
async fn offboarding_plans_then_revokes_and_deletes() {
    let (sim, falcon) = setup(5).await;
    falcon
        .provision(&Provision::new(
            "leaver@example.com",
            ["falcon_console_guest", "falconhost_read_only"],
        ))
        .await
        .unwrap();

    let plan = falcon
        .offboard(&Offboard::new("leaver@example.com").dry_run(true))
        .await
        .unwrap();
    assert!(!plan.executed);
    assert_eq!(plan.plan.grants.len(), 2);
    assert_eq!(
        roles_of(&sim, "leaver@example.com").unwrap().len(),
        2,
        "a dry run changes nothing"
    );
    assert_eq!(sim.request_count(&operations::DELETE_USER_V1), 0);

    let done = falcon
        .offboard(&Offboard::new("leaver@example.com"))
        .await
        .unwrap();
    assert!(done.executed);
    assert!(
        roles_of(&sim, "leaver@example.com").is_none(),
        "user and grants are gone"
    );
    assert_eq!(
        sim.request_count(&operations::USER_ROLES_ACTION_V1),
        2,
        "one grant, one revoke call"
    );
}

#[tokio::test]
async fn bulk_role_changes_report_per_user() {
    let (sim, falcon) = setup(30).await;
    let mut users: Vec<String> = sim
        .users(&sim.parent_cid())
        .into_iter()
        .take(10)
        .map(|u| u.uuid)
        .collect();
    users.push("no-such-user".into());
    let outcomes = falcon
        .change_roles_bulk(
            users.clone(),
            "falconhost_investigator",
            RoleChange::Grant { expires_at: None },
            &BulkOptions::new().concurrency(4),
        )
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 11);
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.user_uuid.as_str())
        .collect();
    assert_eq!(failed, ["no-such-user"]);
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        for uuid in &users[..10] {
            assert!(
                s.tenants[&parent].grants[uuid]
                    .iter()
                    .any(|g| g.role_id == "falconhost_investigator")
            );
        }
    });
}

/// A bulk change takes roles by display name too, resolved once before any change; a typo is
/// refused with the nearest before any user is changed.
#[tokio::test]
async fn bulk_role_changes_take_display_names_resolved_once() {
    let (sim, falcon) = setup(10).await;
    let users: Vec<String> = sim
        .users(&sim.parent_cid())
        .into_iter()
        .take(3)
        .map(|u| u.uuid)
        .collect();
    let roles_read = sim.request_count(&operations::QUERIES_ROLES_V1);
    let outcomes = falcon
        .change_roles_bulk(
            users.clone(),
            vec!["falcon investigator", "Falcon Console Guest"],
            RoleChange::Grant { expires_at: None },
            &BulkOptions::new().concurrency(4),
        )
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(
        sim.request_count(&operations::QUERIES_ROLES_V1),
        roles_read + 1,
        "the roles read once for all users"
    );
    let parent = sim.parent_cid();
    sim.inspect(|s| {
        for uuid in &users {
            let held: Vec<&str> = s.tenants[&parent].grants[uuid]
                .iter()
                .map(|g| g.role_id.as_str())
                .collect();
            assert!(held.contains(&"falconhost_investigator"), "{held:?}");
            assert!(held.contains(&"falcon_console_guest"), "{held:?}");
        }
    });

    let changes = sim.request_count(&operations::USER_ROLES_ACTION_V1);
    let err = falcon
        .change_roles_bulk(
            users,
            "Falcon Investigater",
            RoleChange::Revoke,
            &BulkOptions::new().concurrency(4),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid role_ids: no role \"Falcon Investigater\" in this CID; did you mean Falcon Investigator?"
    );
    assert_eq!(
        sim.request_count(&operations::USER_ROLES_ACTION_V1),
        changes
    );
}

/// A fleet inventory: every child's rows labelled with its CID, each child with its own token;
/// a CID that is not a child gives one failure item and the others' rows all come.
#[tokio::test]
async fn a_fleet_inventory_labels_rows_by_child_and_reports_a_failing_child_as_an_item() {
    use falcon_users::{Cid, UserQuery};
    use falcon_users_sim::{SimConfig, Simulator};
    use futures::StreamExt;
    use std::collections::{BTreeMap, BTreeSet};

    let sim = Simulator::start(SimConfig {
        users: 40,
        child_cids: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let falcon = falcon_users_tests::sim::falcon(&sim, sim.credentials());
    let stranger: Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
    let mut cids: Vec<Cid> = sim
        .child_cids()
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    cids.insert(1, stranger.clone());

    let items: Vec<_> = falcon
        .fleet_inventory(
            &cids,
            UserQuery::new(),
            InventoryOptions::new().children(2).concurrency(4),
        )
        .collect()
        .await;
    let mut rows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut failed = Vec::new();
    for item in items {
        match item.outcome {
            Ok(row) => {
                assert_eq!(row.user.cid.as_deref(), Some(item.cid.as_str()));
                rows.entry(item.cid.to_string())
                    .or_default()
                    .insert(row.user.uid.unwrap());
            }
            Err(err) => failed.push((item.cid, err)),
        }
    }
    let expected: BTreeMap<String, BTreeSet<String>> = sim
        .child_cids()
        .into_iter()
        .map(|cid| {
            let logins = sim.users(&cid).into_iter().map(|u| u.uid).collect();
            (cid, logins)
        })
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, stranger);
    assert!(
        matches!(failed[0].1, Error::Auth { .. }),
        "{:?}",
        failed[0].1
    );
    // One token per child CID asked for, the stranger's refused.
    assert_eq!(sim.request_count(&operations::OAUTH2_ACCESS_TOKEN), 4);

    // The generic runner: per-CID results in the order given.
    let counts = falcon
        .for_each_cid(&cids, 4, |child| async move {
            let ids = child.query_user_ids(&UserQuery::new(), 0).await?;
            Ok(ids.resources.unwrap_or_default().len())
        })
        .await;
    let labels: Vec<&Cid> = counts.iter().map(|(cid, _)| cid).collect();
    assert_eq!(labels, cids.iter().collect::<Vec<_>>());
    for (cid, count) in &counts {
        match count {
            Ok(n) => assert_eq!(*n, sim.users(cid.as_str()).len(), "{cid}"),
            Err(err) => {
                assert_eq!(cid, &stranger);
                assert!(matches!(err, Error::Auth { .. }), "{err:?}");
            }
        }
    }
}

/// The review of a parent and its two children: one inventory read of each (a grants listing per
/// user), the parent's users assigned in each child with their grants there, the roles and each
/// role's permissions once per CID, and every kind of finding the simulator can hold, each in
/// the CID it concerns: a parent analyst granted `falcon_administrator` in a child is a
/// privileged `parent-in-child` finding, and the children's users holding their own CID's roles
/// are no findings.
#[tokio::test]
async fn the_review_reads_each_cid_once_and_finds_every_kind() {
    use falcon_users::workflows::review::{FindingKind, Review};
    use falcon_users::{Cid, GrantOptions, UserRef};

    let (sim, falcon) = tenant_with(SimConfig {
        users: 40,
        roles: 5,
        child_cids: 2,
        ..SimConfig::default()
    })
    .await;
    let children: Vec<Cid> = sim
        .child_cids()
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    let analyst = sim.users(&sim.parent_cid())[0].clone();
    falcon
        .grant_roles(
            UserRef::Uuid(analyst.uuid.clone()),
            "falcon_administrator",
            GrantOptions::new().cid(children[1].clone()),
        )
        .await
        .unwrap();
    let grants_before = sim.request_count(&operations::COMBINED_USER_ROLES_V2);
    let review = Review::new().member_cids(children.clone());
    let report = falcon.review(&review).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let users = 40 + 2 * 4;
    assert_eq!(report.summary.users, users);
    assert_eq!(
        sim.request_count(&operations::COMBINED_USER_ROLES_V2) - grants_before,
        users + 1,
        "one grants listing per user, and the analyst's in the child they are assigned in"
    );
    let roles_per_cid = 12 + 5;
    assert_eq!(sim.request_count(&operations::QUERIES_ROLES_V1), 3);
    assert_eq!(
        sim.request_count(&operations::ENTITIES_ROLE_PERMISSIONS_V1),
        3 * roles_per_cid
    );
    for kind in FindingKind::ALL {
        // The simulator lists a user's grants in their home CID only (or, for a parent's user,
        // in the child asked for): no grant is read across CIDs.
        if kind == FindingKind::ChildCidGrant {
            continue;
        }
        assert!(
            report.summary.findings[&kind] > 0,
            "{kind}: {:?}",
            report.summary
        );
    }
    assert_eq!(report.summary.findings[&FindingKind::ChildCidGrant], 0);
    let counted: u64 = report.summary.findings.values().sum();
    assert_eq!(report.findings.len() as u64, counted);

    // The temporary grants the simulator holds are the expiring findings, each in its CID.
    let temporary: Vec<(String, String)> = sim.inspect(|state| {
        let mut held = Vec::new();
        for tenant in state.tenants.values() {
            for (uuid, grants) in &tenant.grants {
                for grant in grants.iter().filter(|g| g.expires_at.is_some()) {
                    held.push((uuid.clone(), grant.role_id.clone()));
                }
            }
        }
        held.sort();
        held
    });
    let mut expiring: Vec<(String, String)> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Expiring)
        .map(|f| (f.user_uuid.clone(), f.roles[0].clone()))
        .collect();
    expiring.sort();
    assert_eq!(expiring, temporary);
    // The analyst's role in the child is the one parent-in-child finding, privileged by the
    // child's verdicts; the children's users holding their own roles are no findings of it.
    let in_child: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::ParentInChild)
        .collect();
    assert_eq!(in_child.len(), 1, "{in_child:?}");
    assert_eq!(in_child[0].user_uuid, analyst.uuid);
    assert_eq!(in_child[0].cid, children[1].as_str());
    assert_eq!(in_child[0].roles, ["falcon_administrator"]);
    assert!(
        in_child[0]
            .why
            .contains("Falcon Administrator (privileged) in child CID"),
        "{}",
        in_child[0].why
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Privileged
                && f.user_uuid == analyst.uuid
                && f.cid == children[1].as_str())
    );
    let child_homed: Vec<String> = sim
        .child_cids()
        .iter()
        .flat_map(|c| sim.users(c))
        .map(|u| u.uuid)
        .collect();
    assert!(
        report
            .findings
            .iter()
            .filter(|f| matches!(
                f.kind,
                FindingKind::ParentInChild | FindingKind::ChildCidGrant
            ))
            .all(|f| !child_homed.contains(&f.user_uuid))
    );

    // A window longer than the tenant's history: nothing is stale.
    let patient = Review::new().stale_days(100_000);
    let report = falcon.review(&patient).await.unwrap();
    assert_eq!(report.summary.findings[&FindingKind::Stale], 0);
    assert_eq!(report.summary.findings[&FindingKind::ChildCidGrant], 0);
}

//! Flight Control access as code through the library on the simulator: a seeded fleet read
//! (every group, member and link as the simulator holds them), exported and planned again is
//! no change; an edit applied converges, and applying it again sends nothing.

use std::collections::BTreeSet;

use chrono::Utc;
use falcon_users::workflows::flight_control::{
    FleetApplyOptions, FleetFile, FleetModel, FleetPlan, Step, apply, plan,
};
use falcon_users::workflows::roster::{Guardrails, Journal};
use falcon_users::{Cid, Falcon, GrantQuery};
use falcon_users_api::operations::{ADD_ROLE, DELETE_USER_GROUP_MEMBERS};
use falcon_users_sim::SimConfig;
use falcon_users_tests::sim::tenant_with;
use futures::TryStreamExt;

/// The roles each user of `plan`'s effect holds through links in each child, as the grants
/// listing of that child reports them (every grant that is not direct).
async fn link_grants(falcon: &Falcon, plan: &FleetPlan) -> BTreeSet<(String, Cid, String)> {
    let mut held = BTreeSet::new();
    let users: BTreeSet<&str> = plan.effect.iter().map(|c| c.user.as_str()).collect();
    let children: BTreeSet<&Cid> = plan.effect.iter().map(|c| &c.cid).collect();
    for user in users {
        for child in &children {
            let grants: Vec<_> = falcon
                .grants(user, GrantQuery::new().cid((*child).clone()))
                .try_collect()
                .await
                .unwrap();
            for g in grants {
                if g.grant_type.as_deref().is_some_and(|t| t != "direct") {
                    held.insert((user.to_owned(), (*child).clone(), g.role_id));
                }
            }
        }
    }
    held
}

fn seeded() -> SimConfig {
    SimConfig {
        users: 10,
        child_cids: 3,
        flight_control_groups: true,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_seeded_fleet_is_read_whole_and_its_export_plans_no_change() {
    let (sim, falcon) = tenant_with(seeded()).await;
    let state = falcon.fleet_state().await.unwrap();
    let held = sim.inspect(|s| s.fleet.clone());
    assert!(!held.user_groups.is_empty() && !held.links.is_empty());
    assert_eq!(state.user_groups.len(), held.user_groups.len());
    for group in &state.user_groups {
        let there = &held.user_groups[&group.id];
        assert_eq!((&group.name, &group.members), (&there.name, &there.members));
    }
    assert_eq!(state.cid_groups.len(), held.cid_groups.len());
    for group in &state.cid_groups {
        let there = &held.cid_groups[&group.id];
        let cids: BTreeSet<String> = group.cids.iter().map(|c| c.to_string()).collect();
        assert_eq!((&group.name, &cids), (&there.name, &there.cids));
    }
    let links: BTreeSet<(String, String, BTreeSet<String>)> = state
        .links
        .iter()
        .map(|l| {
            (
                l.user_group_id.clone(),
                l.cid_group_id.clone(),
                l.roles.clone(),
            )
        })
        .collect();
    let there: BTreeSet<(String, String, BTreeSet<String>)> = held
        .links
        .values()
        .filter(|l| !l.role_ids.is_empty())
        .map(|l| {
            (
                l.user_group_id.clone(),
                l.cid_group_id.clone(),
                l.role_ids.clone(),
            )
        })
        .collect();
    assert_eq!(links, there);

    let text = FleetFile::render(&state.model().unwrap(), &state.children);
    let file = FleetFile::parse(&text, "export.toml").unwrap();
    let planned = plan(
        &file,
        "export.toml",
        &state,
        Guardrails::default(),
        Utc::now(),
    )
    .unwrap();
    assert!(planned.is_empty(), "{text}\n{:#?}", planned.steps);
}

#[tokio::test]
async fn an_edit_applied_converges_and_applied_again_sends_nothing() {
    let (sim, falcon) = tenant_with(seeded()).await;
    let state = falcon.fleet_state().await.unwrap();
    let mut after: FleetModel = state.model().unwrap();
    // A member leaves the first user group; its first link gains a role it lacks.
    let (group, leaver) = {
        let (name, g) = after
            .user_groups
            .iter_mut()
            .find(|(_, g)| !g.members.is_empty())
            .unwrap();
        let leaver = g.members.iter().next().unwrap().clone();
        g.members.remove(&leaver);
        (name.clone(), leaver)
    };
    let (user, cid, roles) = after
        .links
        .iter_mut()
        .flat_map(|(u, by)| by.iter_mut().map(move |(c, r)| (u.clone(), c.clone(), r)))
        .next()
        .unwrap();
    let added = ["falcon_console_guest", "falconhost_read_only"]
        .into_iter()
        .find(|r| !roles.contains(*r))
        .unwrap();
    roles.insert(added.to_owned());
    let text = FleetFile::render(&after, &state.children);
    let file = FleetFile::parse(&text, "fleet.toml").unwrap();
    let planned = plan(
        &file,
        "fleet.toml",
        &state,
        Guardrails::default(),
        Utc::now(),
    )
    .unwrap();
    assert!(planned.steps.contains(&Step::RemoveMembers {
        kind: falcon_users::workflows::flight_control::GroupKind::User,
        group: group.clone(),
        members: vec![leaver.clone()],
    }));
    assert!(planned.steps.contains(&Step::AddRoles {
        user_group: user.clone(),
        cid_group: cid.clone(),
        roles: vec![added.to_owned()],
    }));

    let before = link_grants(&falcon, &planned).await;
    let journal = Journal::<Step>::memory();
    let report = apply(&falcon, &planned, &FleetApplyOptions::new(), &journal)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.counts().0, planned.steps.len());
    let uuid = state.user_index().uuid_of(&leaver).unwrap().to_owned();
    let held = sim.inspect(|s| s.fleet.clone());
    let group_id = after.user_groups[&group].id.clone().unwrap();
    assert!(!held.user_groups[&group_id].members.contains(&uuid));
    assert!(held.links.values().any(|l| l.role_ids.contains(added)));

    // The effect shown is what the service's own grants listings report changed.
    let now_held = link_grants(&falcon, &planned).await;
    let mut shown_gained = BTreeSet::new();
    let mut shown_lost = BTreeSet::new();
    for c in &planned.effect {
        shown_gained.extend(
            c.gained
                .iter()
                .map(|r| (c.user.clone(), c.cid.clone(), r.clone())),
        );
        shown_lost.extend(
            c.lost
                .iter()
                .map(|r| (c.user.clone(), c.cid.clone(), r.clone())),
        );
    }
    assert!(
        !shown_gained.is_empty() && !shown_lost.is_empty(),
        "{:#?}",
        planned.effect
    );
    assert_eq!(
        now_held
            .difference(&before)
            .cloned()
            .collect::<BTreeSet<_>>(),
        shown_gained
    );
    assert_eq!(
        before
            .difference(&now_held)
            .cloned()
            .collect::<BTreeSet<_>>(),
        shown_lost
    );

    let now = falcon.fleet_state().await.unwrap();
    let again = plan(&file, "fleet.toml", &now, Guardrails::default(), Utc::now()).unwrap();
    assert!(again.is_empty(), "{:#?}", again.steps);
    let writes = || sim.request_count(&ADD_ROLE) + sim.request_count(&DELETE_USER_GROUP_MEMBERS);
    let before = writes();
    let rerun = apply(
        &falcon,
        &planned,
        &FleetApplyOptions::new(),
        &Journal::disabled(),
    )
    .await
    .unwrap();
    assert_eq!(rerun.counts(), (0, 0, 0), "{rerun:#?}");
    assert_eq!(writes(), before);
}

/// Under the service's read lag the grants listings right after an apply still show the
/// access from before it; `settle_fleet` waits (on the simulator's clock) until the service
/// shows the plan's end, and the listings then show what its effect says.
#[tokio::test]
async fn settle_fleet_waits_out_the_lag_until_the_listings_show_the_plans_effect() {
    use falcon_users::workflows::{Settle, Settled};
    let (_sim, falcon) =
        falcon_users_tests::sim::lagged_tenant(seeded(), std::time::Duration::from_secs(30)).await;
    let state = falcon.fleet_state().await.unwrap();
    let mut after: FleetModel = state.model().unwrap();
    // The first link gains a role it lacks: its members gain it in its children.
    let roles = after
        .links
        .values_mut()
        .flat_map(|by| by.values_mut())
        .next()
        .unwrap();
    let added = ["falcon_console_guest", "falconhost_read_only"]
        .into_iter()
        .find(|r| !roles.contains(*r))
        .unwrap();
    roles.insert(added.to_owned());
    let text = FleetFile::render(&after, &state.children);
    let file = FleetFile::parse(&text, "fleet.toml").unwrap();
    let planned = plan(
        &file,
        "fleet.toml",
        &state,
        Guardrails::default(),
        Utc::now(),
    )
    .unwrap();
    assert!(!planned.effect.is_empty(), "{:#?}", planned.steps);
    let before = link_grants(&falcon, &planned).await;
    let report = apply(
        &falcon,
        &planned,
        &FleetApplyOptions::new(),
        &Journal::<Step>::memory(),
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(
        link_grants(&falcon, &planned).await,
        before,
        "right after, the listings lag"
    );

    let settled = falcon
        .settle_fleet(
            &planned,
            &Settle::new().limit(std::time::Duration::from_secs(90)),
        )
        .await;
    assert!(matches!(settled, Settled::Shown { .. }), "{settled:?}");
    let now = link_grants(&falcon, &planned).await;
    for c in &planned.effect {
        for role in &c.gained {
            assert!(
                now.contains(&(c.user.clone(), c.cid.clone(), role.clone())),
                "{c:?}"
            );
        }
    }
}

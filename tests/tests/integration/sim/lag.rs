//! Read-after-write lag (`SimConfig::read_lag`, `--read-lag`): reads of users and grants see a
//! write only once it is as old as the lag on the simulator's clock, as the service's listings
//! trail its writes; writes are checked against the true state at once; writes not seen yet
//! survive a save and load; no lag is no change. The clock is advanced, never waited for.
#![allow(deprecated)]

use std::time::Duration;

use falcon_users_api::types;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::*;

const LAG: Duration = Duration::from_secs(30);

fn lagged_config(lag: Duration) -> SimConfig {
    SimConfig {
        users: 20,
        child_cids: 1,
        read_lag: lag,
        ..SimConfig::default()
    }
}

async fn lagged() -> Ctx {
    ctx_with(lagged_config(LAG)).await
}

fn grant(action: &str, uuid: &str, cid: &str, role: &str) -> types::DomainActionUserRolesRequestV2 {
    types::DomainActionUserRolesRequestV2 {
        action: Some(action.into()),
        cid: Some(cid.into()),
        expires_at: None,
        role_ids: vec![role.into()],
        uuid: Some(uuid.into()),
    }
}

async fn act(c: &Ctx, action: &str, uuid: &str, role: &str) {
    c.rw.user_roles_action_v2()
        .body(grant(action, uuid, &c.parent, role))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action} {role}: {e}"));
}

/// The role ids the grants listing (`CombinedUserRolesV2`) and the legacy `GetUserRoleIds`
/// show for `uuid` in the parent, sorted; both must agree.
async fn listed(c: &Ctx, uuid: &str) -> Vec<String> {
    let answer =
        c.ro.combined_user_roles_v2()
            .user_uuid(uuid)
            .cid(&c.parent)
            .send()
            .await
            .unwrap()
            .into_inner();
    let mut combined: Vec<String> = answer
        .resources
        .unwrap()
        .into_iter()
        .map(|g| g.role_id)
        .collect();
    combined.sort();
    let mut legacy =
        c.ro.legacy_get_user_role_ids()
            .user_uuid(uuid)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    legacy.sort();
    assert_eq!(combined, legacy, "the two listings agree");
    combined
}

/// The UUIDs `queryUserV1` finds for login `uid`.
async fn found(c: &Ctx, uid: &str) -> Vec<String> {
    c.ro.query_user_v1()
        .filter(format!("uid:'{uid}'"))
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap()
}

/// Whether `retrieveUsersGETV1` returns `uuid` (a user it does not know is left out).
async fn retrieved(c: &Ctx, uuid: &str) -> bool {
    let answer =
        c.ro.retrieve_users_get_v1()
            .body(ids(&[uuid]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap_or_default();
    let errors = answer.errors.unwrap_or_default();
    // A user the read does not know is left out (no error entry when none is known).
    assert!(found.len() + errors.len() <= 1, "at most one answer per id");
    !found.is_empty()
}

/// How many users `aggregateUsersV1` counts with login `uid`.
async fn counted(c: &Ctx, uid: &str) -> i64 {
    let answer =
        c.ro.aggregate_users_v1()
            .body(vec![terms("status", &format!("uid:'{uid}'"), 10)])
            .send()
            .await
            .unwrap()
            .into_inner();
    answer.resources.unwrap()[0]
        .buckets
        .iter()
        .map(|b| b.count)
        .sum()
}

fn advance(c: &Ctx, secs: u64) {
    c.sim.clock().advance(Duration::from_secs(secs));
}

#[tokio::test]
async fn a_grant_is_listed_only_once_the_lag_has_passed() {
    let c = lagged().await;
    let user = c.user_without_roles(&c.parent);
    let role = c.builtin_not_held(&c.parent, &user.uuid);
    act(&c, "grant", &user.uuid, &role).await;
    assert_eq!(c.held(&c.parent, &user.uuid), vec![role.clone()], "done");
    assert_eq!(listed(&c, &user.uuid).await, Vec::<String>::new());
    advance(&c, 29);
    assert_eq!(listed(&c, &user.uuid).await, Vec::<String>::new(), "29 s");
    advance(&c, 1);
    assert_eq!(listed(&c, &user.uuid).await, vec![role], "30 s");
}

#[tokio::test]
async fn a_revoke_is_listed_only_once_the_lag_has_passed() {
    let c = lagged().await;
    let holder = c.user_holding(&c.parent, 2);
    let held = c.held(&c.parent, &holder.uuid);
    act(&c, "revoke", &holder.uuid, &held[0]).await;
    assert!(!c.held(&c.parent, &holder.uuid).contains(&held[0]), "done");
    assert_eq!(listed(&c, &holder.uuid).await, held, "still listed");
    advance(&c, 29);
    assert_eq!(listed(&c, &holder.uuid).await, held, "29 s");
    advance(&c, 1);
    assert_eq!(listed(&c, &holder.uuid).await, held[1..].to_vec(), "30 s");
}

#[tokio::test]
async fn a_created_user_is_found_only_once_the_lag_has_passed() {
    let c = lagged().await;
    let uid = "late.arrival@example.com";
    let created =
        c.rw.create_user_v1()
            .body(new_user(uid, ""))
            .send()
            .await
            .unwrap()
            .into_inner();
    let uuid = created.resources.unwrap().remove(0).uuid.unwrap();
    assert!(c.user(&c.parent, &uuid).is_some(), "done");
    assert_eq!(found(&c, uid).await, Vec::<String>::new());
    assert!(!retrieved(&c, &uuid).await);
    assert_eq!(counted(&c, uid).await, 0);
    advance(&c, 30);
    assert_eq!(found(&c, uid).await, vec![uuid.clone()]);
    assert!(retrieved(&c, &uuid).await);
    assert_eq!(counted(&c, uid).await, 1);
}

#[tokio::test]
async fn a_deleted_user_is_found_until_the_lag_has_passed() {
    let c = lagged().await;
    let holder = c.user_holding(&c.parent, 1);
    let held = c.held(&c.parent, &holder.uuid);
    c.rw.delete_user_v1()
        .user_uuid(&holder.uuid)
        .send()
        .await
        .unwrap();
    assert!(c.user(&c.parent, &holder.uuid).is_none(), "done");
    assert_eq!(found(&c, &holder.uid).await, vec![holder.uuid.clone()]);
    assert!(retrieved(&c, &holder.uuid).await);
    assert_eq!(listed(&c, &holder.uuid).await, held, "grants still listed");
    advance(&c, 30);
    assert_eq!(found(&c, &holder.uid).await, Vec::<String>::new());
    assert!(!retrieved(&c, &holder.uuid).await);
}

/// A write is checked against every earlier write, seen or not: a login created moments ago
/// is taken, a user created moments ago can be granted roles, one deleted moments ago cannot
/// be deleted again or granted anything.
#[tokio::test]
async fn writes_are_checked_against_the_true_state() {
    let c = lagged().await;
    let uid = "fresh@example.com";
    let created =
        c.rw.create_user_v1()
            .body(new_user(uid, ""))
            .send()
            .await
            .unwrap()
            .into_inner();
    let uuid = created.resources.unwrap().remove(0).uuid.unwrap();
    let again = failure(c.rw.create_user_v1().body(new_user(uid, "")).send().await).await;
    assert_eq!(again.status, 400);
    assert!(again.mentions("already exists"), "{:?}", again.errors);
    let checked = failure(
        c.rw.create_user_v1()
            .validate_only(true)
            .body(new_user(uid, ""))
            .send()
            .await,
    )
    .await;
    assert!(checked.mentions("already exists"), "{:?}", checked.errors);

    let role = c.builtin_not_held(&c.parent, &uuid);
    act(&c, "grant", &uuid, &role).await;
    assert_eq!(c.held(&c.parent, &uuid), vec![role.clone()]);
    // Unseen, the new user's grants cannot be listed yet (the service's "unknown user").
    let unseen = failure(c.ro.combined_user_roles_v2().user_uuid(&uuid).send().await).await;
    assert_eq!(unseen.status, 400);

    let victim = c.user_holding(&c.parent, 1);
    c.rw.delete_user_v1()
        .user_uuid(&victim.uuid)
        .send()
        .await
        .unwrap();
    let twice = failure(c.rw.delete_user_v1().user_uuid(&victim.uuid).send().await).await;
    assert!(twice.mentions("invalid user uuid"), "{:?}", twice.errors);
    let granted = failure(
        c.rw.user_roles_action_v2()
            .body(grant("grant", &victim.uuid, &c.parent, &role))
            .send()
            .await,
    )
    .await;
    assert_eq!(granted.status, 400);
    assert!(
        granted.mentions("invalid user uuid"),
        "{:?}",
        granted.errors
    );

    advance(&c, 30);
    assert_eq!(listed(&c, &uuid).await, vec![role]);
}

/// The writes not seen yet are saved with the state, and the clock's advance with them: a
/// simulator started from the snapshot (another process, say) still hides them until their
/// time, then shows them; one started without a lag shows them at once.
#[tokio::test]
async fn unseen_writes_survive_a_save_and_load() {
    let c = lagged().await;
    // Time moved on in the first simulator: the next one goes on from there.
    advance(&c, 600);
    let user = c.user_without_roles(&c.parent);
    let role = c.builtin_not_held(&c.parent, &user.uuid);
    act(&c, "grant", &user.uuid, &role).await;
    advance(&c, 10);
    let saved = c.sim.snapshot();
    assert_eq!(saved.pending.len(), 1, "one write unseen");
    let text = serde_json::to_string(&saved).unwrap();
    let loaded: falcon_users_sim::state::State = serde_json::from_str(&text).unwrap();
    assert_eq!(loaded.pending, saved.pending, "the state file reads back");
    assert_eq!(loaded.clock_advanced_ms, saved.clock_advanced_ms);

    let next = Simulator::start_with_state(lagged_config(LAG), loaded.clone())
        .await
        .unwrap();
    assert!(
        next.clock().advanced() >= Duration::from_secs(610),
        "the clock goes on: {:?}",
        next.clock().advanced()
    );
    let d = Ctx::on(next).await;
    assert_eq!(listed(&d, &user.uuid).await, Vec::<String>::new());
    advance(&d, 19);
    assert_eq!(listed(&d, &user.uuid).await, Vec::<String>::new(), "29 s");
    advance(&d, 1);
    assert_eq!(listed(&d, &user.uuid).await, vec![role.clone()], "30 s");
    assert!(d.sim.snapshot().pending.is_empty(), "nothing left unseen");

    let unlagged = Simulator::start_with_state(lagged_config(Duration::ZERO), loaded)
        .await
        .unwrap();
    let e = Ctx::on(unlagged).await;
    assert_eq!(
        listed(&e, &user.uuid).await,
        vec![role],
        "no lag: seen at once"
    );
    assert!(e.sim.snapshot().pending.is_empty());
}

/// Without a lag (the default) every read sees every write at once, and the saved state has
/// nothing more in it than before.
#[tokio::test]
async fn no_lag_is_no_change() {
    let c = ctx_with(lagged_config(Duration::ZERO)).await;
    assert_eq!(SimConfig::default().read_lag, Duration::ZERO);
    let user = c.user_without_roles(&c.parent);
    let role = c.builtin_not_held(&c.parent, &user.uuid);
    act(&c, "grant", &user.uuid, &role).await;
    assert_eq!(listed(&c, &user.uuid).await, vec![role]);
    let saved = serde_json::to_value(c.sim.snapshot()).unwrap();
    let keys: Vec<&String> = saved.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["builtin_roles", "child_cids", "parent_cid", "tenants"],
        "no new keys in a saved state"
    );
}

/// A test seeding its tenant sees the seed at once, lag or not.
#[tokio::test]
async fn seeding_is_seen_at_once() {
    let c = lagged().await;
    let seeded = c
        .sim
        .seed()
        .user("seeded@example.com")
        .grant("falcon_console_guest")
        .create()
        .unwrap();
    assert_eq!(
        found(&c, "seeded@example.com").await,
        vec![seeded.uuid.clone()]
    );
    assert_eq!(
        listed(&c, &seeded.uuid).await,
        vec!["falcon_console_guest".to_owned()]
    );
}

//! The simulator as a fixture library: seeding users and grants with any field, the clock a
//! test advances (tokens expire, temporary grants lapse), and the read helpers, each checked
//! through the API a client sees.

use std::time::Duration;

use falcon_users_api::types;
use falcon_users_sim::{SeedError, SimConfig, Simulator};
use falcon_users_tests::sim::*;

const DAY: Duration = Duration::from_secs(86_400);

async fn empty() -> Simulator {
    Simulator::start(SimConfig {
        users: 0,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn grants_listed(client: &falcon_users_api::Client, uuid: &str, cid: &str) -> Vec<String> {
    let answer = client
        .combined_user_roles_v2()
        .user_uuid(uuid)
        .cid(cid)
        .send()
        .await
        .unwrap()
        .into_inner();
    answer
        .resources
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.role_id)
        .collect()
}

#[tokio::test]
async fn a_token_stops_working_once_the_clock_passes_its_lifetime() {
    let sim = Simulator::start(SimConfig {
        users: 1,
        token_ttl: Duration::from_secs(1799),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    let query = || client.query_user_v1().send();
    query().await.unwrap();
    sim.clock().advance(Duration::from_secs(1700));
    query().await.expect("still within its lifetime");
    sim.clock().advance(Duration::from_secs(100));
    assert_eq!(failure(query().await).await.status, 401);
}

#[tokio::test]
async fn a_seeded_grant_that_expires_tomorrow_is_gone_two_days_later() {
    let sim = empty().await;
    let parent = sim.parent_cid();
    let user = sim
        .seed()
        .user("ann@example.com")
        .grant("falcon_console_guest")
        .expires_in(DAY)
        .grant("falconhost_read_only")
        .create()
        .unwrap();
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    let mut listed = grants_listed(&client, &user.uuid, &parent).await;
    listed.sort();
    assert_eq!(listed, ["falcon_console_guest", "falconhost_read_only"]);
    sim.clock().advance(2 * DAY);
    // The token lapsed too: a fresh one, as a client would mint.
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    assert_eq!(
        grants_listed(&client, &user.uuid, &parent).await,
        ["falconhost_read_only"]
    );
    let held: Vec<String> = sim
        .grants("ann@example.com")
        .into_iter()
        .map(|g| g.role_id)
        .collect();
    assert_eq!(held, ["falconhost_read_only"]);
}

#[tokio::test]
async fn a_grant_made_through_the_api_with_an_expiry_lapses_by_the_clock() {
    let sim = empty().await;
    let parent = sim.parent_cid();
    let user = sim.seed().user("bo@example.com").create().unwrap();
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    let expires = (sim.clock().utc() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    client
        .user_roles_action_v1()
        .body(types::FlightcontrolapiGrantInput {
            action: Some("grant".into()),
            cid: Some(parent.clone()),
            expires_at: Some(expires.clone()),
            role_ids: vec!["falcon_console_guest".into()],
            uuid: Some(user.uuid.clone()),
        })
        .send()
        .await
        .unwrap();
    let grants = sim.grants("bo@example.com");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].expires_at.as_deref(), Some(expires.as_str()));
    sim.clock().advance(Duration::from_secs(3 * 3600));
    assert!(sim.grants("bo@example.com").is_empty());
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    assert!(grants_listed(&client, &user.uuid, &parent).await.is_empty());
}

#[tokio::test]
async fn seeded_fields_are_what_the_api_answers_and_filters_on() {
    let sim = empty().await;
    let child = sim.child_cids()[0].clone();
    let stale = sim
        .seed()
        .user("Stale@Example.com")
        .first_name("Stale")
        .last_name("Login")
        .status("inactive")
        .user_type("external")
        .created_days_ago(400)
        .last_login_days_ago(120)
        .create()
        .unwrap();
    sim.seed()
        .user("fresh@example.com")
        .last_login_days_ago(1)
        .create()
        .unwrap();
    sim.seed()
        .user("kid@example.com")
        .cid(&child)
        .create()
        .unwrap();
    assert_eq!(stale.uid, "stale@example.com");
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    let found = client
        .retrieve_users_get_v1()
        .body(ids(&[&stale.uuid]))
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap();
    let api = &found[0];
    assert_eq!(api.uid.as_deref(), Some("stale@example.com"));
    assert_eq!(api.status.as_deref(), Some("inactive"));
    assert_eq!(api.user_type.as_deref(), Some("external"));
    assert_eq!(
        api.last_login_at.as_deref(),
        Some(stale.last_login_at.as_str())
    );
    let ninety_days_ago = sim.clock().utc() - chrono::Duration::days(90);
    let last_login = chrono::DateTime::parse_from_rfc3339(&stale.last_login_at).unwrap();
    assert!(last_login < ninety_days_ago);
    let stale_ids = client
        .query_user_v1()
        .filter("status:'inactive'")
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap_or_default();
    assert_eq!(stale_ids, vec![stale.uuid.clone()]);
    let logins: Vec<String> = sim
        .users(&sim.parent_cid())
        .into_iter()
        .map(|u| u.uid)
        .collect();
    assert_eq!(logins, ["fresh@example.com", "stale@example.com"]);
    assert_eq!(sim.user("kid@example.com").unwrap().cid, child);
}

#[tokio::test]
async fn seeding_refuses_what_the_tenant_cannot_hold_and_changes_nothing() {
    let sim = empty().await;
    let parent = sim.parent_cid();
    let child = sim.child_cids()[0].clone();
    sim.seed().user("ann@example.com").create().unwrap();
    assert_eq!(
        sim.seed().user("ANN@example.com").create().unwrap_err(),
        SeedError::LoginTaken("ann@example.com".into())
    );
    assert_eq!(
        sim.seed().user("  ").create().unwrap_err(),
        SeedError::EmptyLogin
    );
    let role = "0123456789abcdef0123456789abcdef";
    sim.seed()
        .custom_role(&child, role, "Child auditor")
        .unwrap();
    // A custom role exists only in its home CID: nothing of this user is added.
    assert_eq!(
        sim.seed()
            .user("cy@example.com")
            .grant(role)
            .create()
            .unwrap_err(),
        SeedError::UnknownRole {
            role: role.into(),
            cid: parent.clone()
        }
    );
    assert!(sim.user("cy@example.com").is_none());
    sim.seed()
        .user("cy@example.com")
        .grant_in(&child, role)
        .create()
        .unwrap();
    assert_eq!(sim.grants("cy@example.com")[0].cid, child);
    assert_eq!(
        sim.seed().custom_role(&child, role, "again").unwrap_err(),
        SeedError::RoleTaken(role.into())
    );
    assert_eq!(
        sim.seed()
            .grant("nobody@example.com", &parent, "falcon_console_guest", None),
        Err(SeedError::NoSuchUser("nobody@example.com".into()))
    );
    assert_eq!(
        sim.seed()
            .update_user("ann@example.com", |u| u.uid = "cy@example.com".into()),
        Err(SeedError::LoginTaken("cy@example.com".into()))
    );
    assert!(sim.user("ann@example.com").is_some());
}

#[tokio::test]
async fn changing_and_removing_seeded_users_shows_through_the_api() {
    let sim = empty().await;
    let parent = sim.parent_cid();
    let ann = sim
        .seed()
        .user("ann@example.com")
        .grant("falcon_console_guest")
        .create()
        .unwrap();
    sim.seed()
        .update_user("ann@example.com", |u| u.uid = "ann.lee@example.com".into())
        .unwrap();
    assert!(sim.user("ann@example.com").is_none());
    assert_eq!(sim.user("ann.lee@example.com").unwrap().uuid, ann.uuid);
    assert_eq!(
        sim.grants("ann.lee@example.com").len(),
        1,
        "grants follow the user"
    );
    assert!(
        sim.seed()
            .revoke("ann.lee@example.com", &parent, "falcon_console_guest")
            .unwrap()
    );
    assert!(
        !sim.seed()
            .revoke("ann.lee@example.com", &parent, "falcon_console_guest")
            .unwrap()
    );
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    let uids = client
        .query_user_v1()
        .filter("uid:'ann.lee@example.com'")
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap_or_default();
    assert_eq!(uids, vec![ann.uuid.clone()]);
    assert!(sim.seed().remove_user("ann.lee@example.com"));
    assert!(!sim.seed().remove_user("ann.lee@example.com"));
    let gone = client
        .query_user_v1()
        .filter("uid:'ann.lee@example.com'")
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap_or_default();
    assert!(gone.is_empty());
}

#[tokio::test]
async fn falcon_builder_points_the_client_at_the_simulator() {
    let sim = empty().await;
    sim.seed().user("ann@example.com").create().unwrap();
    let falcon = sim.falcon_builder().build().unwrap();
    assert_eq!(falcon.base_url(), sim.base_url());
    let user = falcon.find_user_by_uid("ann@example.com").await.unwrap();
    assert_eq!(user.and_then(|u| u.uid), Some("ann@example.com".into()));
}

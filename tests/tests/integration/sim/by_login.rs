//! A user named by login wherever one is named: each call resolves the login with exactly one
//! `queryUserV1` and then acts on that user's UUID; an unknown login is refused before any change.

use chrono::{Duration, Utc};
use falcon_users::api::operations::{
    DELETE_USER_V1, QUERY_USER_V1, UPDATE_USER_V1, USER_ACTION_V1, USER_ROLES_ACTION_V1,
};
use falcon_users::types::DomainUserActionActionName;
use falcon_users::{Error, GrantOptions, GrantQuery, RevokeOptions, UserRef, UserUpdate};
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::{falcon as client, new_user, roles_of_login};
use futures::TryStreamExt;

async fn sim() -> Simulator {
    Simulator::start(SimConfig {
        users: 3,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts on loopback")
}

/// The `queryUserV1` requests `sim` answered while `f` ran.
async fn lookups<T>(sim: &Simulator, f: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = sim.request_count(&QUERY_USER_V1);
    let out = f.await;
    (out, sim.request_count(&QUERY_USER_V1) - before)
}

#[tokio::test]
async fn update_grant_revoke_and_delete_take_a_login_with_one_lookup_each() {
    let sim = sim().await;
    let falcon = client(&sim, sim.credentials());
    let created = falcon
        .create_user(new_user("ada@example.com", ""))
        .await
        .unwrap();
    let uuid = created.uuid.unwrap();

    let (renamed, n) = lookups(
        &sim,
        falcon.update_user("Ada@Example.com", UserUpdate::new().last_name("Lovelace")),
    )
    .await;
    assert_eq!(renamed.unwrap().last_name.as_deref(), Some("Lovelace"));
    assert_eq!(n, 1, "one lookup for the login");
    assert_eq!(sim.user("ada@example.com").unwrap().last_name, "Lovelace");

    let until = Utc::now() + Duration::hours(3);
    let (granted, n) = lookups(
        &sim,
        falcon.grant_roles(
            "ada@example.com",
            "falcon_console_guest, falconhost_read_only",
            GrantOptions::new().expires_at(until),
        ),
    )
    .await;
    granted.unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        roles_of_login(&sim, "ada@example.com").unwrap(),
        ["falcon_console_guest", "falconhost_read_only"]
    );

    let (listed, n) = lookups(&sim, async {
        falcon
            .grants("ada@example.com", GrantQuery::new())
            .try_collect::<Vec<_>>()
            .await
    })
    .await;
    let listed = listed.unwrap();
    assert_eq!(n, 1);
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|g| g.uuid.as_deref() == Some(uuid.as_str()))
    );
    assert!(listed.iter().all(|g| g.expires_at.is_some()), "{listed:?}");

    let (revoked, n) = lookups(
        &sim,
        falcon.revoke_roles(
            "ada@example.com",
            "falcon_console_guest",
            RevokeOptions::new(),
        ),
    )
    .await;
    revoked.unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        roles_of_login(&sim, "ada@example.com").unwrap(),
        ["falconhost_read_only"]
    );

    // A UUID costs no lookup at all.
    let (same, n) = lookups(&sim, falcon.user_uuid(uuid.as_str())).await;
    assert_eq!((same.unwrap(), n), (uuid.clone(), 0));
    let (found, _) = lookups(&sim, falcon.find_user(UserRef::Uuid(uuid.clone()))).await;
    assert_eq!(
        found.unwrap().and_then(|u| u.uid).as_deref(),
        Some("ada@example.com")
    );

    let before = sim.request_count(&USER_ACTION_V1);
    let (reset, n) = lookups(
        &sim,
        falcon.user_action(
            format!("ada@example.com, {uuid}"),
            DomainUserActionActionName::ResetPassword,
        ),
    )
    .await;
    reset.unwrap();
    assert_eq!(n, 1, "the login looked up, the UUID not");
    assert_eq!(sim.request_count(&USER_ACTION_V1) - before, 1, "one batch");

    let (deleted, n) = lookups(&sim, falcon.delete_user("ada@example.com")).await;
    deleted.unwrap();
    assert_eq!(n, 1);
    assert!(sim.user("ada@example.com").is_none());
    assert!(!sim.inspect(|s| s.tenants[&sim.parent_cid()].users.contains_key(&uuid)));
}

#[tokio::test]
async fn an_unknown_login_is_refused_naming_it_before_any_change() {
    let sim = sim().await;
    let falcon = client(&sim, sim.credentials());
    let writes = |sim: &Simulator| {
        [
            &DELETE_USER_V1,
            &UPDATE_USER_V1,
            &USER_ROLES_ACTION_V1,
            &USER_ACTION_V1,
        ]
        .map(|op| sim.request_count(op))
    };
    let before = writes(&sim);

    let errors = [
        falcon.delete_user("nobody@example.com").await.unwrap_err(),
        falcon
            .update_user("nobody@example.com", UserUpdate::new().first_name("N"))
            .await
            .unwrap_err(),
        falcon
            .grant_roles(
                "nobody@example.com",
                "falcon_console_guest",
                GrantOptions::new(),
            )
            .await
            .unwrap_err(),
        falcon
            .revoke_roles(
                "nobody@example.com",
                "falcon_console_guest",
                RevokeOptions::new(),
            )
            .await
            .unwrap_err(),
        falcon
            .user_action("nobody@example.com", DomainUserActionActionName::Reset2fa)
            .await
            .unwrap_err(),
        falcon
            .grants("nobody@example.com", GrantQuery::new())
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(&err, Error::InvalidInput { field: "user", reason } if reason.contains("nobody@example.com")),
            "{err:?}"
        );
    }
    assert_eq!(writes(&sim), before, "nothing was sent to change anything");
    assert_eq!(falcon.find_user("nobody@example.com").await.unwrap(), None);
    assert_eq!(
        falcon
            .find_user("00000000000000000000000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn role_permissions_and_a_users_role_ids_come_from_the_permission_operations() {
    let sim = sim().await;
    let falcon = client(&sim, sim.credentials());
    let admin = falcon
        .role_permissions("falcon_administrator")
        .await
        .unwrap();
    let ids: Vec<&str> = admin.iter().map(|p| p.id.as_str()).collect();
    assert!(
        ids.contains(&"users:write") && ids.contains(&"hosts:read"),
        "{ids:?}"
    );
    assert!(admin.iter().all(|p| !p.display_name.is_empty()));

    let missing = falcon.role_permissions("no_such_role").await.unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing:?}");

    falcon
        .create_user(new_user("bo@example.com", ""))
        .await
        .unwrap();
    let theirs = falcon.user_role_ids("bo@example.com").await.unwrap();
    let every = falcon.role_ids().await.unwrap();
    assert!(theirs.iter().all(|r| every.contains(r)), "{theirs:?}");
}

/// Users named by login and UUID, some missing, found in two requests: one `queryUserV1` for
/// every login, one `retrieveUsersGETV1` for every UUID; each user once, in the order named,
/// and the missing ones named as they were written.
#[tokio::test]
async fn resolve_users_finds_logins_and_uuids_in_two_requests_and_names_the_missing() {
    use falcon_users::api::operations::RETRIEVE_USERS_GET_V1;

    let sim = sim().await;
    let falcon = client(&sim, sim.credentials());
    let mut uuids = Vec::new();
    for uid in ["ann@example.com", "bob@example.com", "cy@example.com"] {
        let user = falcon.create_user(new_user(uid, "")).await.unwrap();
        uuids.push(user.uuid.unwrap());
    }
    let ghost = "0000000000000000000000000000ffff";
    let before = sim.request_counts();
    let (found, missing) = falcon
        .resolve_users([
            "Bob@Example.com",
            ghost,
            "nobody@example.com",
            uuids[0].as_str(),
            uuids[1].as_str(),
            "cy@example.com",
            "bob@example.com",
        ])
        .await
        .unwrap();
    let sent: Vec<(&str, u64)> = sim
        .request_counts()
        .into_iter()
        .map(|(op, n)| (op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        sent,
        [(QUERY_USER_V1.id, 1), (RETRIEVE_USERS_GET_V1.id, 1)],
        "one query for the logins, one fetch for the UUIDs"
    );
    let logins: Vec<&str> = found
        .resources
        .iter()
        .map(|u| u.uid.as_deref().unwrap())
        .collect();
    assert_eq!(
        logins,
        ["bob@example.com", "ann@example.com", "cy@example.com"]
    );
    assert_eq!(
        missing,
        [
            UserRef::Uuid(ghost.to_owned()),
            UserRef::Uid("nobody@example.com".to_owned())
        ]
    );

    // UUIDs alone: one request; nothing named: none.
    let before = sim.request_count(&QUERY_USER_V1);
    let (found, missing) = falcon.resolve_users([uuids[2].as_str()]).await.unwrap();
    assert_eq!(found.resources.len(), 1);
    assert!(missing.is_empty());
    assert_eq!(sim.request_count(&QUERY_USER_V1), before);
    let (found, missing) = falcon.resolve_users(Vec::<String>::new()).await.unwrap();
    assert!(found.resources.is_empty() && missing.is_empty());

    // A UUID that cannot be an id is refused, naming it, before any request.
    let before = sim.request_counts();
    let err = falcon
        .resolve_users(["ann@example.com", "not a uuid"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "users", .. }),
        "{err:?}"
    );
    assert_eq!(sim.request_counts(), before);
}

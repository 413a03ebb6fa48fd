//! The library reading the service's answers the swagger does not state, on the simulator: a
//! deleted user is not found (the 400 `invalid user uuid` form), a custom role granted outside
//! the CID that made it is refused naming the role and the CID, and a partial lookup (207)
//! keeps its items and names the ids it did not find.

use falcon_users::{Cid, Error, GrantOptions, GrantQuery, UserRef, UserUpdate};
use falcon_users_sim::SimConfig;
use falcon_users_tests::sim::tenant_with;
use futures::TryStreamExt;

#[tokio::test]
async fn a_deleted_user_is_not_found_wherever_it_is_named() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 10,
        ..SimConfig::default()
    })
    .await;
    let uuid = sim.users(&sim.parent_cid())[2].uuid.clone();
    falcon
        .delete_user(UserRef::Uuid(uuid.clone()))
        .await
        .unwrap();

    let grants = falcon
        .grants(&uuid, GrantQuery::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(grants.status(), Some(400), "{grants:?}");
    assert!(grants.is_not_found(), "{grants:?}");
    assert!(
        grants
            .to_string()
            .contains(&format!("invalid user uuid='{uuid}' specified")),
        "{grants}"
    );
    let renamed = falcon
        .update_user(
            UserRef::Uuid(uuid.clone()),
            UserUpdate::new().first_name("X"),
        )
        .await
        .unwrap_err();
    assert!(renamed.is_not_found(), "{renamed:?}");
    let again = falcon
        .delete_user(UserRef::Uuid(uuid.clone()))
        .await
        .unwrap_err();
    assert!(again.is_not_found(), "{again:?}");
    let revoked = falcon
        .revoke_roles(
            UserRef::Uuid(uuid.clone()),
            "falcon_console_guest",
            falcon_users::RevokeOptions::new().cid(sim.parent_cid().parse().unwrap()),
        )
        .await
        .unwrap_err();
    assert!(revoked.is_not_found(), "{revoked:?}");
    // Not every 400 is a missing user.
    let bad_limit = falcon
        .grants(
            &sim.users(&sim.parent_cid())[0].uuid,
            GrantQuery::new().filter("no_such_field:'x'"),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(bad_limit.status(), Some(400), "{bad_limit:?}");
    assert!(!bad_limit.is_not_found(), "{bad_limit:?}");

    // The lookups read the deleted user as absent, not as an error.
    assert_eq!(
        falcon.find_user(UserRef::Uuid(uuid.clone())).await.unwrap(),
        None
    );
    let (found, missing) = falcon.resolve_users([uuid.as_str()]).await.unwrap();
    assert!(found.resources.is_empty());
    assert_eq!(missing, [UserRef::Uuid(uuid.clone())]);
}

#[tokio::test]
async fn a_custom_role_of_another_cid_is_refused_naming_the_role_and_the_cid() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 10,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await;
    let parent = sim.parent_cid();
    let child = sim.child_cids()[0].clone();
    let role = sim.inspect(|s| s.tenants[&child].custom_roles[0].id.clone());
    let user = sim.users(&parent)[0].uuid.clone();
    let cid: Cid = parent.parse().unwrap();
    let before = sim.inspect(|s| s.tenants[&parent].grants.get(&user).cloned());
    let err = falcon
        .grant_roles(
            UserRef::Uuid(user.clone()),
            role.as_str(),
            GrantOptions::new().cid(cid),
        )
        .await
        .unwrap_err();
    match &err {
        Error::RoleRefused {
            role: refused,
            cid: at,
            ..
        } => {
            assert_eq!(refused, &role);
            assert_eq!(at, &parent);
        }
        other => panic!("expected RoleRefused, got {other:?}"),
    }
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_not_found());
    let text = err.to_string();
    assert!(
        text.contains(&format!("role {role} cannot be granted in CID {parent}"))
            && text.contains("custom role of another CID"),
        "{text}"
    );
    let after = sim.inspect(|s| s.tenants[&parent].grants.get(&user).cloned());
    assert_eq!(after, before, "nothing granted");
}

#[tokio::test]
async fn a_partial_lookup_keeps_what_it_found_and_names_what_it_did_not() {
    let (sim, falcon) = tenant_with(SimConfig {
        users: 10,
        ..SimConfig::default()
    })
    .await;
    let known = sim.users(&sim.parent_cid())[4].uuid.clone();
    let ghost = "0123456789abcdef0123456789abcdef";
    let users = falcon
        .get_users(vec![known.clone(), ghost.to_owned()])
        .await
        .unwrap();
    assert_eq!(users.resources.len(), 1);
    assert_eq!(users.resources[0].uuid.as_deref(), Some(known.as_str()));
    assert_eq!(users.not_found().collect::<Vec<_>>(), [ghost]);

    let roles = falcon
        .get_roles(vec!["falcon_console_guest", "no_such_role"])
        .await
        .unwrap();
    assert_eq!(roles.resources.len(), 1);
    assert_eq!(roles.resources[0].id, "falcon_console_guest");
    assert_eq!(roles.not_found().collect::<Vec<_>>(), ["no_such_role"]);

    // Everything found: nothing named.
    let all = falcon.get_users(known.as_str()).await.unwrap();
    assert_eq!(all.resources.len(), 1);
    assert_eq!(all.not_found().count(), 0);
}

//! The simulator driven through the ergonomic client: state changes, auth and scopes, tenant
//! isolation, FQL and paging, token expiry. (The rate limit against the real clock is in the
//! `load` binary, `sim::e2e`.)

use falcon_users::{Error, GrantOptions, GrantQuery, RevokeOptions, UserQuery, fql};
use falcon_users_sim::{ClientCredentials, SimConfig, Simulator};
use falcon_users_tests::sim::{falcon as client, new_user};
use futures::TryStreamExt;

async fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config)
        .await
        .expect("simulator starts on loopback")
}

#[tokio::test]
async fn every_user_is_listed_once_with_details() {
    let sim = sim(SimConfig {
        users: 1234,
        ..SimConfig::default()
    })
    .await;
    let falcon = client(&sim, sim.credentials());
    let users: Vec<_> = falcon.users(UserQuery::new()).try_collect().await.unwrap();
    let expected = sim.users(&sim.parent_cid()).len();
    assert_eq!(users.len(), expected);
    let mut uuids: Vec<_> = users.iter().map(|u| u.uuid.clone().unwrap()).collect();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), expected, "no user twice");
    let uids: Vec<_> = users.iter().map(|u| u.uid.clone().unwrap()).collect();
    assert!(
        uids.windows(2).all(|w| w[0] <= w[1]),
        "default order is uid ascending"
    );
}

#[tokio::test]
async fn create_grant_revoke_delete_change_state() {
    let sim = sim(SimConfig::default()).await;
    let falcon = client(&sim, sim.credentials());
    let created = falcon
        .create_user(new_user("ada@example.com", ""))
        .await
        .unwrap();
    let uuid = created.uuid.clone().unwrap();
    assert!(sim.inspect(|s| s.tenants[&sim.parent_cid()].users.contains_key(&uuid)));

    let dup = falcon
        .create_user(new_user("ADA@example.com", ""))
        .await
        .unwrap_err();
    assert!(matches!(dup, Error::Api { status: 400, .. }), "{dup:?}");

    falcon
        .grant_roles(
            &uuid,
            "falcon_console_guest, falconhost_read_only",
            GrantOptions::new(),
        )
        .await
        .unwrap();
    let grants: Vec<_> = falcon
        .grants(&uuid, GrantQuery::new())
        .try_collect()
        .await
        .unwrap();
    let mut roles: Vec<_> = grants.iter().map(|g| g.role_id.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["falcon_console_guest", "falconhost_read_only"]);

    falcon
        .revoke_roles(&uuid, "falcon_console_guest", RevokeOptions::new())
        .await
        .unwrap();
    let left: Vec<_> = falcon
        .grants(&uuid, GrantQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left.len(), 1);

    let bad_role = falcon
        .grant_roles(&uuid, "no_such_role", GrantOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&bad_role, Error::RoleRefused { role, .. } if role == "no_such_role"),
        "{bad_role:?}"
    );
    assert_eq!(bad_role.status(), Some(400));

    falcon.delete_user(&uuid).await.unwrap();
    assert!(
        !sim.inspect(|s| s.tenants[&sim.parent_cid()].grants.contains_key(&uuid)),
        "grants go with the user"
    );
    let gone = falcon.get_users(&uuid).await.unwrap();
    // Gone: empty `resources`, no error entry (the service's answer for a deleted user).
    assert!(gone.resources.is_empty());
    assert!(gone.errors.is_empty(), "{:?}", gone.errors);
}

#[tokio::test]
async fn read_only_clients_cannot_write() {
    let sim = sim(SimConfig::default()).await;
    let reader = client(&sim, sim.read_only_credentials());
    assert!(reader.query_user_ids(&UserQuery::new(), 0).await.is_ok());
    let err = reader
        .create_user(new_user("eve@example.com", ""))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 403, .. }), "{err:?}");
}

#[tokio::test]
async fn wrong_secret_is_refused_with_advice() {
    let sim = sim(SimConfig::default()).await;
    let creds = ClientCredentials {
        client_id: "sim-rw-client".into(),
        client_secret: "wrong".into(),
    };
    let err = client(&sim, creds).authenticate().await.unwrap_err();
    // The service's answer to wrong credentials is 403 "Failed to issue access token".
    match &err {
        Error::Auth {
            status: Some(403),
            message,
            ..
        } => assert!(message.contains("FALCON_CLIENT_SECRET"), "{message}"),
        other => panic!("expected Auth 403, got {other:?}"),
    }
}

#[tokio::test]
async fn children_are_isolated_from_each_other() {
    let sim = sim(SimConfig {
        child_cids: 2,
        users: 100,
        ..SimConfig::default()
    })
    .await;
    let parent = client(&sim, sim.credentials());
    let children = sim.child_cids();
    let a = parent.for_member(&children[0].parse().unwrap());
    let b = parent.for_member(&children[1].parse().unwrap());
    let a_ids: Vec<String> = a.user_ids(UserQuery::new()).try_collect().await.unwrap();
    let b_ids: Vec<String> = b.user_ids(UserQuery::new()).try_collect().await.unwrap();
    assert_eq!(a_ids.len(), sim.users(&children[0]).len());
    assert!(a_ids.iter().all(|id| !b_ids.contains(id)));
    // Child A cannot read child B's users, even by UUID.
    let seen = a.get_users(b_ids[0].as_str()).await.unwrap();
    assert!(seen.resources.is_empty());
}

#[tokio::test]
async fn fql_filters_select_and_bad_fql_is_refused() {
    let sim = sim(SimConfig {
        users: 300,
        ..SimConfig::default()
    })
    .await;
    let falcon = client(&sim, sim.credentials());
    let one = sim.inspect(|s| {
        s.tenants[&sim.parent_cid()]
            .by_uid
            .keys()
            .next()
            .cloned()
            .unwrap()
    });
    let exact: Vec<String> = falcon
        .user_ids(UserQuery::new().filter(fql::eq("uid", &one)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);
    let inactive: Vec<_> = falcon
        .users(UserQuery::new().filter("status:'inactive'"))
        .try_collect()
        .await
        .unwrap();
    assert!(
        !inactive.is_empty()
            && inactive
                .iter()
                .all(|u| u.status.as_deref() == Some("inactive"))
    );
    let err = falcon
        .query_user_ids(&UserQuery::new().filter("uid:'unterminated"), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
}

#[tokio::test]
async fn expired_tokens_are_refreshed_transparently() {
    let sim = sim(SimConfig::default()).await;
    let falcon = client(&sim, sim.credentials());
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    sim.expire_tokens();
    falcon.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert_eq!(falcon.stats().token_requests, 2);
}

#[tokio::test]
async fn own_cid_is_the_handles_cid_with_its_checksum_and_the_members_for_a_member_handle() {
    let sim = sim(SimConfig {
        users: 0,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await;
    let falcon = client(&sim, sim.credentials());
    let own = falcon.own_cid().await.unwrap();
    // One request, even in a CID without users (where `acting_cid` finds nothing).
    assert_eq!(own.cid.as_str(), sim.parent_cid());
    assert_eq!(falcon.acting_cid().await.unwrap(), None);
    assert_eq!(
        sim.request_count(&falcon_users_api::operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY),
        1
    );
    let (head, checksum) = own.with_checksum.rsplit_once('-').unwrap();
    assert_eq!(head, sim.parent_cid().to_ascii_uppercase());
    assert_eq!(checksum.len(), 2, "{own}");
    assert_eq!(own.to_string(), own.with_checksum);

    let child: falcon_users::Cid = sim.child_cids()[0].parse().unwrap();
    let member = falcon.for_member(&child).own_cid().await.unwrap();
    assert_eq!(member.cid, child);
    assert!(
        member
            .with_checksum
            .starts_with(&child.as_str().to_ascii_uppercase()),
        "{member}"
    );
}

#[tokio::test]
async fn own_cid_without_the_sensor_download_scope_names_the_scope() {
    let sim = sim(SimConfig::default()).await;
    let reader = client(&sim, sim.read_only_credentials());
    let err = reader.own_cid().await.unwrap_err();
    match &err {
        Error::Auth {
            problem: falcon_users::AuthProblem::Forbidden,
            status: Some(403),
            trace_id: Some(_),
            ..
        } => {}
        other => panic!("expected Auth 403, got {other:?}"),
    }
    let message = err.to_string();
    for needed in [
        "\"Sensor Download: Read\"",
        "sensor-installers:read",
        "GetSensorInstallersCCIDByQuery",
        "access denied",
        "[trace id sim-",
    ] {
        assert!(message.contains(needed), "{needed} not in {message}");
    }
}

/// The full client under credentials shaped as the console issues them (a 32-hex id, a
/// 40-character secret), for tools that check the shape first: every scope, as the full one.
#[tokio::test]
async fn the_client_shaped_as_the_console_issues_them_has_every_scope() {
    let sim = sim(SimConfig {
        users: 0,
        ..SimConfig::default()
    })
    .await;
    let shaped = sim.shaped_credentials();
    assert_eq!(shaped.client_id.len(), 32);
    assert!(shaped.client_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(shaped.client_secret.len(), 40);
    assert!(
        shaped
            .client_secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    );
    let falcon = client(&sim, shaped);
    assert_eq!(
        falcon.own_cid().await.unwrap().cid.as_str(),
        sim.parent_cid()
    );
    falcon
        .create_user(new_user("shaped@example.com", ""))
        .await
        .unwrap();
    assert!(sim.user("shaped@example.com").is_some());
}

#[tokio::test]
async fn children_lists_every_child_with_name_and_status_in_one_page_and_one_batch() {
    let sim = sim(SimConfig {
        users: 0,
        child_cids: 12,
        ..SimConfig::default()
    })
    .await;
    let falcon = client(&sim, sim.credentials());
    let children = falcon.children().await.unwrap();
    // Every child, newest first, each with its parent, name, status and checksum.
    let mut expected: Vec<String> = sim.child_cids();
    expected.reverse();
    let got: Vec<&str> = children.iter().map(|c| c.cid.as_str()).collect();
    assert_eq!(got, expected);
    for child in &children {
        assert_eq!(child.parent.as_str(), sim.parent_cid());
        let name = sim.inspect(|s| s.tenants[child.cid.as_str()].name.clone());
        assert_eq!(child.name.as_deref(), Some(name.as_str()));
        assert_eq!(child.status.as_deref(), Some("active"));
        let member = falcon.for_member(&child.cid).own_cid().await.unwrap();
        assert_eq!(child.with_checksum(), member.with_checksum);
    }
    // Twelve children, more than the service's default page of 10: one page, one batch.
    let ops = falcon_users_api::operations::ALL;
    let count = |id: &str| sim.request_count(ops.iter().find(|op| op.id == id).unwrap());
    assert_eq!((count("queryChildren"), count("getChildrenV2")), (1, 1));
    // A member handle acts in a child, which has no children.
    let member = falcon.for_member(&children[0].cid);
    assert_eq!(member.children().await.unwrap(), []);
}

#[tokio::test]
async fn children_without_the_flight_control_scope_names_the_scope_and_the_rest_works() {
    let sim = sim(SimConfig {
        users: 5,
        child_cids: 2,
        ..SimConfig::default()
    })
    .await;
    let reader = client(&sim, sim.read_only_credentials());
    let err = reader.children().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Auth {
                problem: falcon_users::AuthProblem::Forbidden,
                status: Some(403),
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    for needed in [
        "\"Flight Control: Read\"",
        "mssp:read",
        "queryChildren",
        "listing the children",
        "[trace id sim-",
    ] {
        assert!(message.contains(needed), "{needed} not in {message}");
    }
    // Single-tenant work goes on with the same handle.
    let ids = reader.query_user_ids(&UserQuery::new(), 0).await.unwrap();
    assert!(!ids.resources.unwrap_or_default().is_empty());
}

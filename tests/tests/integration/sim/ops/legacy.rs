//! The deprecated /users and /user-roles operations: retrieveUser, CreateUser, UpdateUser,
//! DeleteUser, RetrieveEmailsByCID, RetrieveUserUUIDsByCID, RetrieveUserUUID, GetRoles,
//! LegacyGrantUserRoleIds, LegacyRevokeUserRoleIds, LegacyGetAvailableRoleIds, LegacyGetUserRoleIds

use super::*;

fn same(meta: &types::DomainUserMetadata, user: &User) {
    assert_eq!(meta.uuid, user.uuid);
    assert_eq!(meta.customer, user.cid);
    assert_eq!(meta.uid.as_deref(), Some(user.uid.as_str()));
    assert_eq!(meta.first_name.as_deref(), Some(user.first_name.as_str()));
    assert_eq!(meta.last_name.as_deref(), Some(user.last_name.as_str()));
    assert_eq!(meta.status.as_deref(), Some(user.status.as_str()));
}

#[tokio::test]
async fn retrieve_user_by_query_ids() {
    let c = ctx().await;
    let all = c.users(&c.parent);
    let answer =
        c.ro.legacy_retrieve_user()
            .ids(vec![
                all[0].uuid.clone(),
                "ghost".into(),
                all[9].uuid.clone(),
            ])
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(found.len(), 2);
    same(&found[0], &all[0]);
    same(&found[1], &all[9]);
    let errors = answer.errors.unwrap();
    assert_eq!(
        (errors[0].code, errors[0].id.as_deref()),
        (404, Some("ghost"))
    );

    let empty = failure(
        c.ro.legacy_retrieve_user()
            .ids(Vec::<String>::new())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
    assert!(empty.mentions("ids is required"));
}

#[tokio::test]
async fn retrieve_user_with_only_unknown_ids_is_404() {
    let c = ctx().await;
    let missing = failure(
        c.ro.legacy_retrieve_user()
            .ids(vec!["ghost".to_owned()])
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
}

#[tokio::test]
async fn create_user_in_the_token_cid() {
    let c = ctx().await;
    let answer =
        c.rw.legacy_create_user()
            .body(types::DomainUserCreateRequest {
                first_name: Some("Alan".into()),
                last_name: Some("Turing".into()),
                password: None,
                uid: Some("Alan.Turing@Example.org".into()),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    let created = &answer.resources.unwrap()[0];
    assert_eq!(created.uid.as_deref(), Some("alan.turing@example.org"));
    assert_eq!(created.customer, c.parent);
    let stored = c.user(&c.parent, &created.uuid).unwrap();
    same(created, &stored);
    assert_eq!(c.user_count(&c.parent), 51);

    let duplicate = failure(
        c.rw.legacy_create_user()
            .body(types::DomainUserCreateRequest {
                uid: Some("alan.turing@example.org".into()),
                ..Default::default()
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(duplicate.status, 400);
    assert!(duplicate.declared);
    assert!(duplicate.mentions("already exists"));
    let read_only = failure(
        c.ro.legacy_create_user()
            .body(types::DomainUserCreateRequest {
                uid: Some("ro@example.org".into()),
                ..Default::default()
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert_eq!(c.user_count(&c.parent), 51);
}

#[tokio::test]
async fn update_user_renames_and_unknown_is_404() {
    let c = ctx().await;
    let before = c.users(&c.parent)[4].clone();
    let answer =
        c.rw.legacy_update_user()
            .user_uuid(&before.uuid)
            .body(types::DomainUpdateUserFields {
                first_name: None,
                last_name: Some("Lovelace".into()),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    let after = c.user(&c.parent, &before.uuid).unwrap();
    assert_eq!(after.last_name, "Lovelace");
    assert_eq!(after.first_name, before.first_name);
    same(&answer.resources.unwrap()[0], &after);

    let missing = failure(
        c.rw.legacy_update_user()
            .user_uuid("ghost")
            .body(types::DomainUpdateUserFields {
                first_name: Some("X".into()),
                last_name: None,
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared, "UpdateUser declares 404");
}

#[tokio::test]
async fn delete_user_and_unknown_is_404() {
    let c = ctx().await;
    let victim = c.user_holding(&c.parent, 1);
    let answer =
        c.rw.legacy_delete_user()
            .user_uuid(&victim.uuid)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.meta.writes.as_ref().unwrap().resources_affected, 1);
    assert!(c.user(&c.parent, &victim.uuid).is_none());
    assert!(c.held(&c.parent, &victim.uuid).is_empty());
    assert_eq!(c.user_count(&c.parent), 49);

    let again = failure(
        c.rw.legacy_delete_user()
            .user_uuid(&victim.uuid)
            .send()
            .await,
    )
    .await;
    assert_eq!(again.status, 404);
    assert!(again.declared, "DeleteUser declares 404");
    let read_only = failure(
        c.ro.legacy_delete_user()
            .user_uuid(&c.users(&c.parent)[0].uuid)
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
}

#[tokio::test]
async fn retrieve_emails_by_cid_lists_logins() {
    let c = ctx().await;
    let answer =
        c.ro.legacy_retrieve_emails_by_cid()
            .send()
            .await
            .unwrap()
            .into_inner();
    let expected: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uid).collect();
    assert_eq!(answer.resources.unwrap(), expected);

    let child = &c.children[0];
    let member = c.member(child).await;
    let theirs = member.legacy_retrieve_emails_by_cid().send().await.unwrap();
    let expected: Vec<String> = c.users(child).into_iter().map(|u| u.uid).collect();
    assert_eq!(theirs.resources.clone().unwrap(), expected);

    let anonymous = failure(
        bearer(&c.base, "forged")
            .legacy_retrieve_emails_by_cid()
            .send()
            .await,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(!anonymous.declared);
    assert!(anonymous.mentions("invalid bearer token"));
}

#[tokio::test]
async fn retrieve_user_uuids_by_cid_lists_uuids() {
    let c = ctx().await;
    let answer =
        c.ro.legacy_retrieve_user_uuids_by_cid()
            .send()
            .await
            .unwrap()
            .into_inner();
    let expected: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uuid).collect();
    assert_eq!(answer.resources.unwrap(), expected);
    assert_eq!(answer.errors, Some(Vec::new()));
    c.sim.expire_tokens();
    let expired = failure(c.ro.legacy_retrieve_user_uuids_by_cid().send().await).await;
    assert_eq!(expired.status, 401);
}

#[tokio::test]
async fn retrieve_user_uuid_resolves_logins() {
    let c = ctx().await;
    let all = c.users(&c.parent);
    let answer =
        c.ro.legacy_retrieve_user_uuid()
            .uid(vec![
                all[2].uid.to_uppercase(),
                "nobody@example.com".into(),
                all[8].uid.clone(),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(
        answer.resources.clone().unwrap(),
        vec![all[2].uuid.clone(), all[8].uuid.clone()]
    );

    let missing = failure(
        c.ro.legacy_retrieve_user_uuid()
            .uid(vec!["nobody@example.com".to_owned()])
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    let empty = failure(
        c.ro.legacy_retrieve_user_uuid()
            .uid(Vec::<String>::new())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn get_roles_by_query_ids() {
    let c = ctx().await;
    let custom = c.custom_role(&c.parent, 7);
    let answer =
        c.ro.legacy_get_roles()
            .ids(vec![
                "falconhost_analyst".to_owned(),
                custom.clone(),
                "nope".into(),
            ])
            .send()
            .await
            .unwrap()
            .into_inner();
    let found = answer.resources.unwrap();
    assert_eq!(found.len(), 2);
    for (got, id) in found.iter().zip(["falconhost_analyst", custom.as_str()]) {
        let role = c.role(&c.parent, id);
        assert_eq!(got.id, role.id);
        assert_eq!(got.display_name, role.display_name);
        assert_eq!(got.description, role.description);
        assert_eq!(got.cid, role.cid);
    }
    assert_eq!(answer.errors.unwrap()[0].id.as_deref(), Some("nope"));

    let missing = failure(
        c.ro.legacy_get_roles()
            .ids(vec!["nope".to_owned()])
            .send()
            .await,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.declared);
    let empty = failure(
        c.ro.legacy_get_roles()
            .ids(Vec::<String>::new())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn grant_user_role_ids_grants_in_the_token_cid() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 1);
    let role = c.builtin_not_held(&c.parent, &holder.uuid);
    let before = c.held(&c.parent, &holder.uuid);
    let answer =
        c.rw.legacy_grant_user_role_ids()
            .user_uuid(&holder.uuid)
            .body(types::DomainRoleIds {
                role_ids: vec![role.clone()],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    let mut returned = answer.resources.unwrap();
    returned.sort();
    let mut expected = before.clone();
    expected.push(role.clone());
    expected.sort();
    assert_eq!(returned, expected);
    assert_eq!(c.held(&c.parent, &holder.uuid), expected);

    let foreign = c.custom_role(&c.children[1], 0);
    let refused = failure(
        c.rw.legacy_grant_user_role_ids()
            .user_uuid(&holder.uuid)
            .body(types::DomainRoleIds {
                role_ids: vec![foreign.clone()],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.declared);
    assert!(refused.mentions("invalid roleID"));
    let ghost = failure(
        c.rw.legacy_grant_user_role_ids()
            .user_uuid("ghost")
            .body(types::DomainRoleIds {
                role_ids: vec![role.clone()],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(ghost.status, 400);
    let read_only = failure(
        c.ro.legacy_grant_user_role_ids()
            .user_uuid(&holder.uuid)
            .body(types::DomainRoleIds {
                role_ids: vec!["user_admin".into()],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert_eq!(c.held(&c.parent, &holder.uuid), expected);
}

#[tokio::test]
async fn revoke_user_role_ids_revokes_in_the_token_cid() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 2);
    let held = c.held(&c.parent, &holder.uuid);
    let answer =
        c.rw.legacy_revoke_user_role_ids()
            .user_uuid(&holder.uuid)
            .ids(vec![held[0].clone()])
            .send()
            .await
            .unwrap()
            .into_inner();
    let mut left = answer.resources.unwrap();
    left.sort();
    assert_eq!(left, held[1..].to_vec());
    assert_eq!(c.held(&c.parent, &holder.uuid), held[1..].to_vec());

    let empty = failure(
        c.rw.legacy_revoke_user_role_ids()
            .user_uuid(&holder.uuid)
            .ids(Vec::<String>::new())
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
    let read_only = failure(
        c.ro.legacy_revoke_user_role_ids()
            .user_uuid(&holder.uuid)
            .ids(vec![held[1].clone()])
            .send()
            .await,
    )
    .await;
    assert_eq!(read_only.status, 403);
    assert_eq!(c.held(&c.parent, &holder.uuid), held[1..].to_vec());
}

#[tokio::test]
async fn get_available_role_ids_lists_the_token_cid_roles() {
    let c = ctx().await;
    let answer =
        c.ro.legacy_get_available_role_ids()
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.resources.unwrap(), c.role_ids(&c.parent));
    let child = &c.children[1];
    let member = c.member(child).await;
    let theirs = member.legacy_get_available_role_ids().send().await.unwrap();
    assert_eq!(theirs.resources.clone().unwrap(), c.role_ids(child));

    let anonymous = failure(
        bearer(&c.base, "eu-1.0123")
            .legacy_get_available_role_ids()
            .send()
            .await,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.mentions("another cloud region"));
}

#[tokio::test]
async fn get_user_role_ids_lists_held_roles() {
    let c = ctx().await;
    let holder = c.user_holding(&c.parent, 2);
    let mut answer =
        c.ro.legacy_get_user_role_ids()
            .user_uuid(&holder.uuid)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    answer.sort();
    assert_eq!(answer, c.held(&c.parent, &holder.uuid));
    let none = c.user_without_roles(&c.parent);
    let empty =
        c.ro.legacy_get_user_role_ids()
            .user_uuid(&none.uuid)
            .send()
            .await
            .unwrap();
    assert_eq!(empty.resources.clone().unwrap(), Vec::<String>::new());

    let ghost = failure(
        c.ro.legacy_get_user_role_ids()
            .user_uuid("ghost")
            .send()
            .await,
    )
    .await;
    assert_eq!(ghost.status, 400);
    assert!(ghost.declared);
}

//! The service's answers the swagger does not state (`spec/CURATION.md`, "Answers the swagger
//! does not state"): a deleted or unknown user on a user-scoped operation, a custom role granted
//! outside the CID that made it, entity lookups with some unknown ids.

use super::*;

/// The user-scoped operations, each sent naming user `uuid`: (operation, its failure).
async fn user_scoped(c: &Ctx, uuid: &str) -> Vec<(&'static str, Failure)> {
    let role = "falcon_console_guest";
    let update = || types::DomainUpdateUserRequest {
        first_name: Some("X".into()),
        last_name: None,
    };
    let legacy_update = || types::DomainUpdateUserFields {
        first_name: Some("X".into()),
        last_name: None,
    };
    vec![
        (
            "CombinedUserRolesV2",
            failure(c.ro.combined_user_roles_v2().user_uuid(uuid).send().await).await,
        ),
        (
            "combinedUserRolesV1",
            failure(
                c.ro.legacy_combined_user_roles_v1()
                    .user_uuid(uuid)
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "CombinedUserRolesV3",
            failure(c.ro.combined_user_roles_v3().user_uuid(uuid).send().await).await,
        ),
        (
            "userRolesActionV1 grant",
            failure(
                c.rw.user_roles_action_v1()
                    .body(grant_v1("grant", uuid, &c.parent, &[role], None))
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "userRolesActionV1 revoke",
            failure(
                c.rw.user_roles_action_v1()
                    .body(grant_v1("revoke", uuid, &c.parent, &[role], None))
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "userRolesActionV2",
            failure(
                c.rw.user_roles_action_v2()
                    .body(grant_v2("grant", uuid, &c.parent, &[role], None))
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "updateUserV1",
            failure(
                c.rw.update_user_v1()
                    .user_uuid(uuid)
                    .body(update())
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "deleteUserV1",
            failure(c.rw.delete_user_v1().user_uuid(uuid).send().await).await,
        ),
        (
            "queriesRolesV1",
            failure(c.ro.queries_roles_v1().user_uuid(uuid).send().await).await,
        ),
        (
            "userActionV1",
            failure(
                c.rw.user_action_v1()
                    .body(types::DomainUserActionRequest {
                        action: types::DomainUserAction {
                            action_name: types::DomainUserActionActionName::ResetPassword,
                            action_value: None,
                        },
                        ids: vec![uuid.to_owned()],
                    })
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "GrantUserRoleIds",
            failure(
                c.rw.legacy_grant_user_role_ids()
                    .user_uuid(uuid)
                    .body(types::DomainRoleIds {
                        role_ids: vec![role.to_owned()],
                    })
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "RevokeUserRoleIds",
            failure(
                c.rw.legacy_revoke_user_role_ids()
                    .user_uuid(uuid)
                    .ids(vec![role.to_owned()])
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "GetUserRoleIds",
            failure(c.ro.legacy_get_user_role_ids().user_uuid(uuid).send().await).await,
        ),
        (
            "UpdateUser",
            failure(
                c.rw.legacy_update_user()
                    .user_uuid(uuid)
                    .body(legacy_update())
                    .send()
                    .await,
            )
            .await,
        ),
        (
            "DeleteUser",
            failure(c.rw.legacy_delete_user().user_uuid(uuid).send().await).await,
        ),
    ]
}

#[tokio::test]
async fn deleted_and_unknown_users_are_answered_invalid_user_uuid() {
    let c = ctx().await;
    let deleted = c.user_holding(&c.parent, 1).uuid;
    c.rw.delete_user_v1()
        .user_uuid(&deleted)
        .send()
        .await
        .unwrap();
    for uuid in [deleted.as_str(), "00000000000000000000000000000000"] {
        let answers = user_scoped(&c, uuid).await;
        assert_eq!(answers.len(), 15);
        for (op, answer) in answers {
            // The legacy `/users` operations declare a 404; every other one answers 400.
            let expected = if matches!(op, "UpdateUser" | "DeleteUser") {
                404
            } else {
                400
            };
            assert_eq!(answer.status, expected, "{op} {uuid}: {answer:?}");
            assert!(answer.declared, "{op} declares {expected}");
            assert_eq!(
                answer.errors.len(),
                1,
                "{op} {uuid}: one error entry: {answer:?}"
            );
            assert_eq!(
                answer.errors[0].2,
                format!("invalid user uuid='{uuid}' specified"),
                "{op}"
            );
        }
    }
}

#[tokio::test]
async fn a_custom_role_outside_the_cid_that_made_it_is_an_invalid_role_id() {
    let c = ctx().await;
    let child = c.children[0].clone();
    let parents_user = c.user_without_roles(&c.parent);
    let childs_user = c.user_without_roles(&child);
    let parents_role = c.custom_role(&c.parent, 0);
    let childs_role = c.custom_role(&child, 0);
    let refused = |role: &str| format!("invalid roleID='{role}' specified");

    // The parent's custom role, granted in a child (to the parent's own user acting there).
    let in_child = failure(
        c.rw.user_roles_action_v1()
            .body(grant_v1(
                "grant",
                &parents_user.uuid,
                &child,
                &[&parents_role],
                None,
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(in_child.status, 400);
    assert!(in_child.declared);
    assert_eq!(in_child.errors[0].2, refused(&parents_role));

    // A child's custom role, granted in that child but to a user homed in the parent.
    let not_homed = failure(
        c.rw.user_roles_action_v2()
            .body(grant_v2(
                "grant",
                &parents_user.uuid,
                &child,
                &[&childs_role],
                None,
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(not_homed.status, 400);
    assert_eq!(not_homed.errors[0].2, refused(&childs_role));
    assert!(c.held(&child, &parents_user.uuid).is_empty());

    // A child's custom role in the parent, through the legacy grant (the token's CID).
    let legacy = failure(
        c.rw.legacy_grant_user_role_ids()
            .user_uuid(&parents_user.uuid)
            .body(types::DomainRoleIds {
                role_ids: vec![childs_role.clone()],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(legacy.status, 400);
    assert_eq!(legacy.errors[0].2, refused(&childs_role));
    assert!(c.held(&c.parent, &parents_user.uuid).is_empty());

    // At home, to a user homed there, it is granted; a built-in role is granted anywhere.
    c.rw.user_roles_action_v1()
        .body(grant_v1(
            "grant",
            &childs_user.uuid,
            &child,
            &[&childs_role],
            None,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(c.held(&child, &childs_user.uuid), vec![childs_role.clone()]);
    c.rw.user_roles_action_v1()
        .body(grant_v1(
            "grant",
            &parents_user.uuid,
            &child,
            &["falcon_console_guest"],
            None,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.held(&child, &parents_user.uuid),
        vec!["falcon_console_guest".to_owned()]
    );
}

/// (status, found ids, (code, id) of each error entry, whether each message names its id).
type Lookup = (u16, Vec<String>, Vec<(i32, Option<String>)>, bool);

fn lookup<T>(
    answer: ResponseValue<T>,
    found: impl Fn(&T) -> Vec<String>,
    errors: impl Fn(&T) -> Vec<types::MsaspecError>,
) -> Lookup {
    let status = answer.status().as_u16();
    let body = answer.into_inner();
    let errors = errors(&body);
    let named = errors
        .iter()
        .all(|e| e.id.as_deref().is_some_and(|id| e.message.contains(id)));
    (
        status,
        found(&body),
        errors.into_iter().map(|e| (e.code, e.id)).collect(),
        named,
    )
}

#[tokio::test]
async fn entity_lookups_with_some_unknown_ids_answer_207() {
    let c = ctx().await;
    let user = c.users(&c.parent)[3].uuid.clone();
    let role = "falcon_console_guest".to_owned();
    let ghost = "ghost".to_owned();
    let partial = |found: &str| {
        (
            207,
            vec![found.to_owned()],
            vec![(404, Some(ghost.clone()))],
            true,
        )
    };
    let user_ids = |body: &types::FlightcontrolapiUserResponse| {
        body.resources
            .iter()
            .flatten()
            .map(|u| u.uuid.clone().unwrap_or_default())
            .collect()
    };
    let user_errors =
        |body: &types::FlightcontrolapiUserResponse| body.errors.clone().unwrap_or_default();

    let v1 = |list: &[&str]| c.ro.retrieve_users_get_v1().body(ids(list)).send();
    let answer = v1(&[&user, &ghost]).await.unwrap();
    assert_eq!(lookup(answer, user_ids, user_errors), partial(&user));
    let answer = v1(&[&user]).await.unwrap();
    assert_eq!(
        lookup(answer, user_ids, user_errors),
        (200, vec![user.clone()], vec![], true)
    );
    // None known: a 200 with nothing in it (what clients read as "the user is gone").
    let answer = v1(&[&ghost]).await.unwrap();
    assert_eq!(
        lookup(answer, user_ids, user_errors),
        (200, vec![], vec![], true)
    );

    let answer =
        c.ro.retrieve_users_get_v2()
            .body(ids(&[&user, &ghost]))
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(
            answer,
            |b| b
                .resources
                .iter()
                .flatten()
                .map(|u| u.uuid.clone().unwrap_or_default())
                .collect(),
            |b| b
                .errors
                .iter()
                .flatten()
                .map(|e| types::MsaspecError {
                    code: e.code,
                    id: e.id.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        ),
        partial(&user)
    );

    let legacy_user =
        c.ro.legacy_retrieve_user()
            .ids(vec![user.clone(), ghost.clone()])
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(
            legacy_user,
            |b| b
                .resources
                .iter()
                .flatten()
                .map(|u| u.uuid.clone())
                .collect(),
            |b| b.errors.clone().unwrap_or_default(),
        ),
        partial(&user)
    );

    let role_ids = |b: &types::FlightcontrolapiGetRolesResponse| {
        b.resources.iter().flatten().map(|r| r.id.clone()).collect()
    };
    let role_errors =
        |b: &types::FlightcontrolapiGetRolesResponse| b.errors.clone().unwrap_or_default();
    let answer =
        c.ro.legacy_entities_roles_v1()
            .ids(vec![role.clone(), ghost.clone()])
            .send()
            .await
            .unwrap();
    assert_eq!(lookup(answer, role_ids, role_errors), partial(&role));
    let answer =
        c.ro.entities_roles_get_v2()
            .body(ids(&[&role, &ghost]))
            .send()
            .await
            .unwrap();
    assert_eq!(lookup(answer, role_ids, role_errors), partial(&role));
    let answer =
        c.ro.legacy_entities_roles_v1()
            .ids(vec![role.clone()])
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(answer, role_ids, role_errors),
        (200, vec![role.clone()], vec![], true)
    );
    let legacy_roles =
        c.ro.legacy_get_roles()
            .ids(vec![role.clone(), ghost.clone()])
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(
            legacy_roles,
            |b| b.resources.iter().flatten().map(|r| r.id.clone()).collect(),
            |b| b.errors.clone().unwrap_or_default(),
        ),
        partial(&role)
    );

    let permission = "hosts:read".to_owned();
    let permissions =
        c.ro.entities_permissions_get_v1()
            .body(ids(&[&permission, &ghost]))
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(
            permissions,
            |b| b.resources.iter().flatten().map(|p| p.id.clone()).collect(),
            |b| b
                .errors
                .iter()
                .flatten()
                .map(|e| types::MsaspecError {
                    code: e.code,
                    id: e.id.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        ),
        partial(&permission)
    );
    let group = "hosts".to_owned();
    let groups =
        c.ro.entities_permission_groups_get_v1()
            .body(ids(&[&group, &ghost]))
            .send()
            .await
            .unwrap();
    assert_eq!(
        lookup(
            groups,
            |b| b.resources.iter().flatten().map(|g| g.id.clone()).collect(),
            |b| b
                .errors
                .iter()
                .flatten()
                .map(|e| types::MsaspecError {
                    code: e.code,
                    id: e.id.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        ),
        partial(&group)
    );
}

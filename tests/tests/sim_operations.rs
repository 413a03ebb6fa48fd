//! Every operation of the spec against the running simulator, through the generated client: the
//! happy path (typed response and resulting state) and its main error path.
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use falcon_users_api::types::{self, MsaspecIdsRequest};
use falcon_users_api::{Client, Error, Hooks};
use falcon_users_sim::{SimConfig, Simulator};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

struct Env {
    sim: Simulator,
    rw: Client,
    ro: Client,
    cid: String,
}

async fn token(base: &str, id: &str, secret: &str, member: Option<&str>) -> String {
    let body = types::Oauth2AccessTokenBody {
        client_id: id.into(),
        client_secret: secret.into(),
        member_cid: member.map(str::to_owned),
    };
    let plain = Client::new(base, Hooks::none());
    plain
        .oauth2_access_token()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .access_token
        .unwrap()
}

fn client(base: &str, authorization: String) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&authorization).unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(base, http, Hooks::none())
}

async fn env() -> Env {
    let sim = Simulator::start(SimConfig {
        users: 40,
        child_cids: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let base = sim.base_url();
    let rw = client(
        &base,
        format!(
            "Bearer {}",
            token(&base, "sim-rw-client", "sim-rw-secret", None).await
        ),
    );
    let ro = client(
        &base,
        format!(
            "Bearer {}",
            token(&base, "sim-ro-client", "sim-ro-secret", None).await
        ),
    );
    let cid = sim.parent_cid();
    Env { sim, rw, ro, cid }
}

fn status<E>(err: &Error<E>) -> u16 {
    err.status().map(|s| s.as_u16()).unwrap_or_default()
}

impl Env {
    fn some_user(&self) -> String {
        self.sim.inspect(|s| {
            s.tenants[&self.cid]
                .by_uid
                .values()
                .next()
                .cloned()
                .unwrap()
        })
    }

    fn roles_of(&self, uuid: &str) -> Vec<String> {
        self.sim.inspect(|s| {
            let mut roles: Vec<String> = s.tenants[&self.cid]
                .grants
                .get(uuid)
                .map(|g| g.iter().map(|g| g.role_id.clone()).collect())
                .unwrap_or_default();
            roles.sort();
            roles
        })
    }

    async fn create(&self, uid: &str) -> String {
        let body = types::DomainCreateUserRequest {
            cid: None,
            first_name: Some("A".into()),
            last_name: Some("B".into()),
            password: None,
            uid: Some(uid.into()),
        };
        self.rw
            .create_user_v1()
            .body(body)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap()[0]
            .uuid
            .clone()
            .unwrap()
    }
}

mod oauth2 {
    use super::*;

    #[tokio::test]
    async fn token_and_revoke() {
        let env = env().await;
        let base = env.sim.base_url();
        let plain = Client::new(&base, Hooks::none());
        let minted = plain
            .oauth2_access_token()
            .body(types::Oauth2AccessTokenBody {
                client_id: "sim-rw-client".into(),
                client_secret: "sim-rw-secret".into(),
                member_cid: None,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(minted.status().as_u16(), 201);
        assert_eq!(minted.headers()["x-cs-region"], "us-1");
        assert_eq!(minted.expires_in, Some(1799));
        let tok = minted.into_inner().access_token.unwrap();

        let wrong = plain
            .oauth2_access_token()
            .body(types::Oauth2AccessTokenBody {
                client_id: "sim-rw-client".into(),
                client_secret: "nope".into(),
                member_cid: None,
            })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&wrong), 401);

        let basic = client(&base, "Basic c2ltLXJ3LWNsaWVudDpzaW0tcnctc2VjcmV0".into());
        basic
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token: tok.clone(),
            })
            .send()
            .await
            .unwrap();
        let revoked = client(&base, format!("Bearer {tok}"))
            .query_user_v1()
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&revoked), 401, "a revoked token is refused");
        let unauthenticated = plain
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token: "x".into(),
            })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&unauthenticated), 403);
    }

    #[tokio::test]
    async fn member_tokens_and_forged_tokens() {
        let env = env().await;
        let base = env.sim.base_url();
        let child = env.sim.child_cids()[0].clone();
        let member = client(
            &base,
            format!(
                "Bearer {}",
                token(&base, "sim-rw-client", "sim-rw-secret", Some(&child)).await
            ),
        );
        let ids = member
            .query_user_v1()
            .limit(500)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert_eq!(
            ids.len(),
            env.sim.inspect(|s| s.tenants[&child].users.len())
        );
        let forged = client(&base, "Bearer us-1.0000000000000000".into())
            .query_user_v1()
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&forged), 401);
        let other_region = client(&base, "Bearer eu-1.abc".into())
            .query_user_v1()
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&other_region), 401);
    }
}

mod users {
    use super::*;

    #[tokio::test]
    async fn query_v1_and_v2() {
        let env = env().await;
        let page = env
            .rw
            .query_user_v1()
            .limit(10)
            .offset(5u64)
            .send()
            .await
            .unwrap();
        assert!(
            page.headers().contains_key("x-cs-traceid")
                && page.headers().contains_key("x-ratelimit-remaining")
        );
        let page = page.into_inner();
        assert_eq!(page.resources.unwrap().len(), 10);
        assert_eq!(page.meta.pagination.unwrap().total, 40);
        let v2 = env
            .rw
            .query_user_v2()
            .filter("status:'active'")
            .send()
            .await
            .unwrap()
            .into_inner();
        assert!(!v2.resources.unwrap().is_empty());
        let bad = env
            .rw
            .query_user_v1()
            .filter("uid:'x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&bad), 400);
        let external = env
            .rw
            .query_user_v2()
            .user_type(types::QueryUserV2UserType::External)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(external.resources.unwrap().len(), 0);
    }

    #[tokio::test]
    async fn retrieve_v1_and_v2() {
        let env = env().await;
        let uuid = env.some_user();
        let body = MsaspecIdsRequest {
            ids: vec![uuid.clone(), "missing".into()],
        };
        let v1 = env
            .rw
            .retrieve_users_get_v1()
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            v1.resources.unwrap()[0].uuid.as_deref(),
            Some(uuid.as_str())
        );
        assert_eq!(v1.errors.unwrap()[0].code, 404);
        let v2 = env
            .rw
            .retrieve_users_get_v2()
            .body(body)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v2.resources.unwrap().len(), 1);
        let empty = env
            .rw
            .retrieve_users_get_v1()
            .body(MsaspecIdsRequest { ids: vec![] })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&empty), 400);
    }

    #[tokio::test]
    async fn create_update_delete_and_actions() {
        let env = env().await;
        let uuid = env.create("new@example.com").await;
        assert!(
            env.sim
                .inspect(|s| s.tenants[&env.cid].users.contains_key(&uuid))
        );
        let dup = types::DomainCreateUserRequest {
            cid: None,
            first_name: None,
            last_name: None,
            password: None,
            uid: Some("NEW@example.com".into()),
        };
        assert_eq!(
            status(
                &env.rw
                    .create_user_v1()
                    .body(dup.clone())
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );
        assert_eq!(
            status(&env.ro.create_user_v1().body(dup).send().await.unwrap_err()),
            403
        );
        let check = types::DomainCreateUserRequest {
            cid: None,
            first_name: None,
            last_name: None,
            password: None,
            uid: Some("dry@example.com".into()),
        };
        env.rw
            .create_user_v1()
            .validate_only(true)
            .body(check)
            .send()
            .await
            .unwrap();
        assert!(
            env.sim
                .inspect(|s| !s.tenants[&env.cid].by_uid.contains_key("dry@example.com")),
            "validate_only creates nothing"
        );

        let renamed = env
            .rw
            .update_user_v1()
            .user_uuid(&uuid)
            .body(types::DomainUpdateUserRequest {
                first_name: Some("Grace".into()),
                last_name: None,
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            renamed.resources.unwrap()[0].first_name.as_deref(),
            Some("Grace")
        );
        let missing = env
            .rw
            .update_user_v1()
            .user_uuid("nope")
            .body(types::DomainUpdateUserRequest {
                first_name: Some("x".into()),
                last_name: None,
            })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&missing), 404);

        let action = types::DomainUserActionRequest {
            action: types::DomainUserAction {
                action_name: types::DomainUserActionActionName::ResetPassword,
                action_value: None,
            },
            ids: vec![uuid.clone()],
        };
        env.rw
            .user_action_v1()
            .body(action.clone())
            .send()
            .await
            .unwrap();
        let unknown = types::DomainUserActionRequest {
            ids: vec!["nope".into()],
            ..action
        };
        assert_eq!(
            status(
                &env.rw
                    .user_action_v1()
                    .body(unknown)
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );

        env.rw
            .delete_user_v1()
            .user_uuid(&uuid)
            .send()
            .await
            .unwrap();
        assert!(
            env.sim
                .inspect(|s| !s.tenants[&env.cid].users.contains_key(&uuid))
        );
        assert_eq!(
            status(
                &env.rw
                    .delete_user_v1()
                    .user_uuid(&uuid)
                    .send()
                    .await
                    .unwrap_err()
            ),
            404
        );
    }
}

mod roles {
    use super::*;

    #[tokio::test]
    async fn query_and_entities() {
        let env = env().await;
        let ids = env
            .rw
            .queries_roles_v1()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert!(ids.contains(&"falcon_console_guest".to_string()));
        let v1 = env
            .rw
            .legacy_entities_roles_v1()
            .ids(vec!["falcon_console_guest".to_string()])
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            v1.resources.unwrap()[0].display_name,
            "Falcon Console Guest"
        );
        let v2 = env
            .rw
            .entities_roles_get_v2()
            .body(MsaspecIdsRequest { ids: ids.clone() })
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v2.resources.unwrap().len(), ids.len());
        let none = env
            .rw
            .entities_roles_get_v2()
            .body(MsaspecIdsRequest {
                ids: vec!["nope".into()],
            })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&none), 404);
        let other_child = env.sim.child_cids()[1].clone();
        let child = env.sim.child_cids()[0].clone();
        let member = client(
            &env.sim.base_url(),
            format!(
                "Bearer {}",
                token(
                    &env.sim.base_url(),
                    "sim-rw-client",
                    "sim-rw-secret",
                    Some(&child)
                )
                .await
            ),
        );
        let denied = member
            .queries_roles_v1()
            .cid(other_child)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&denied), 403, "a child cannot act in another child");
    }
}

mod grants {
    use super::*;

    #[tokio::test]
    async fn grant_list_revoke_v1_v2_v3() {
        let env = env().await;
        let uuid = env.create("grantee@example.com").await;
        let grant = types::FlightcontrolapiGrantInput {
            action: Some("grant".into()),
            cid: Some(env.cid.clone()),
            expires_at: None,
            role_ids: vec!["falcon_console_guest".into(), "falconhost_analyst".into()],
            uuid: Some(uuid.clone()),
        };
        env.rw
            .user_roles_action_v1()
            .body(grant.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            env.roles_of(&uuid),
            ["falcon_console_guest", "falconhost_analyst"]
        );

        let v1 = env
            .rw
            .legacy_combined_user_roles_v1()
            .user_uuid(&uuid)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v1.resources.unwrap().len(), 2);
        let v2 = env
            .rw
            .combined_user_roles_v2()
            .user_uuid(&uuid)
            .filter("role_id:'falcon*'")
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v2.resources.unwrap().len(), 2);
        let v3 = env
            .rw
            .combined_user_roles_v3()
            .user_uuid(&uuid)
            .limit(1)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v3.meta.pagination.unwrap().total, 2);
        assert_eq!(
            status(
                &env.rw
                    .combined_user_roles_v2()
                    .user_uuid("nope")
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );

        let revoke = types::DomainActionUserRolesRequestV2 {
            action: Some("remove-role".into()),
            cid: Some(env.cid.clone()),
            expires_at: None,
            role_ids: vec!["falconhost_analyst".into()],
            uuid: Some(uuid.clone()),
        };
        env.rw
            .user_roles_action_v2()
            .body(revoke)
            .send()
            .await
            .unwrap();
        assert_eq!(env.roles_of(&uuid), ["falcon_console_guest"]);

        let other_child = env.sim.child_cids()[0].clone();
        let foreign_role = env
            .sim
            .inspect(|s| s.tenants[&other_child].custom_roles[0].id.clone());
        let bad = types::FlightcontrolapiGrantInput {
            role_ids: vec![foreign_role],
            ..grant.clone()
        };
        assert_eq!(
            status(
                &env.rw
                    .user_roles_action_v1()
                    .body(bad)
                    .send()
                    .await
                    .unwrap_err()
            ),
            400,
            "custom role of another CID"
        );
        let too_soon = types::FlightcontrolapiGrantInput {
            expires_at: Some(chrono::Utc::now().to_rfc3339()),
            ..grant
        };
        assert_eq!(
            status(
                &env.rw
                    .user_roles_action_v1()
                    .body(too_soon)
                    .send()
                    .await
                    .unwrap_err()
            ),
            400,
            "expires_at under 1 hour"
        );
    }
}

mod legacy {
    use super::*;

    #[tokio::test]
    async fn users_and_roles() {
        let env = env().await;
        let created = env
            .rw
            .legacy_create_user()
            .body(types::DomainUserCreateRequest {
                first_name: Some("Old".into()),
                last_name: Some("Api".into()),
                password: None,
                uid: Some("legacy@example.com".into()),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        let uuid = created.resources.unwrap()[0].uuid.clone();
        let fetched = env
            .rw
            .legacy_retrieve_user()
            .ids(vec![uuid.clone()])
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            fetched.resources.unwrap()[0].uid.as_deref(),
            Some("legacy@example.com")
        );
        env.rw
            .legacy_update_user()
            .user_uuid(&uuid)
            .body(types::DomainUpdateUserFields {
                first_name: Some("New".into()),
                last_name: None,
            })
            .send()
            .await
            .unwrap();
        let emails = env
            .rw
            .legacy_retrieve_emails_by_cid()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert!(emails.contains(&"legacy@example.com".to_string()));
        assert_eq!(
            env.rw
                .legacy_retrieve_user_uuids_by_cid()
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap()
                .len(),
            41
        );
        let by_email = env
            .rw
            .legacy_retrieve_user_uuid()
            .uid(vec!["legacy@example.com".to_string()])
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_email.resources.unwrap(), vec![uuid.clone()]);
        assert_eq!(
            status(
                &env.rw
                    .legacy_retrieve_user_uuid()
                    .uid(vec!["ghost@example.com".to_string()])
                    .send()
                    .await
                    .unwrap_err()
            ),
            404
        );

        let granted = env
            .rw
            .legacy_grant_user_role_ids()
            .user_uuid(&uuid)
            .body(types::DomainRoleIds {
                role_ids: vec!["falcon_console_guest".into()],
            })
            .send()
            .await
            .unwrap();
        assert_eq!(
            granted.into_inner().resources.unwrap(),
            vec!["falcon_console_guest".to_string()]
        );
        let held = env
            .rw
            .legacy_get_user_role_ids()
            .user_uuid(&uuid)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert_eq!(held, vec!["falcon_console_guest".to_string()]);
        let roles = env
            .rw
            .legacy_get_roles()
            .ids(vec!["falcon_console_guest".to_string()])
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(roles.resources.unwrap()[0].id, "falcon_console_guest");
        assert!(
            env.rw
                .legacy_get_available_role_ids()
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap()
                .len()
                > 12
        );
        env.rw
            .legacy_revoke_user_role_ids()
            .user_uuid(&uuid)
            .ids(vec!["falcon_console_guest".to_string()])
            .send()
            .await
            .unwrap();
        assert!(env.roles_of(&uuid).is_empty());
        assert_eq!(
            status(
                &env.rw
                    .legacy_grant_user_role_ids()
                    .user_uuid(&uuid)
                    .body(types::DomainRoleIds {
                        role_ids: vec!["nope".into()]
                    })
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );

        env.rw
            .legacy_delete_user()
            .user_uuid(&uuid)
            .send()
            .await
            .unwrap();
        assert_eq!(
            status(
                &env.rw
                    .legacy_delete_user()
                    .user_uuid(&uuid)
                    .send()
                    .await
                    .unwrap_err()
            ),
            404
        );
    }
}

mod permissions_invitations_aggregates {
    use super::*;

    #[tokio::test]
    async fn permissions() {
        let env = env().await;
        let ids = env
            .rw
            .queries_permissions_v1()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert!(ids.contains(&"users:write".to_string()));
        let details = env
            .rw
            .entities_permissions_get_v1()
            .body(MsaspecIdsRequest {
                ids: vec!["users:write".into()],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            details.resources.unwrap()[0].depends_on,
            vec!["users:read".to_string()]
        );
        let groups = env
            .rw
            .entities_permission_groups_get_v1()
            .body(MsaspecIdsRequest {
                ids: vec!["users".into()],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(groups.resources.unwrap()[0].id, "users");
        let perms = env
            .rw
            .entities_role_permissions_v1()
            .id("falcon_administrator")
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            perms.resources.unwrap().len(),
            ids.len(),
            "administrators hold every permission"
        );
        assert_eq!(
            status(
                &env.rw
                    .entities_role_permissions_v1()
                    .id("nope")
                    .send()
                    .await
                    .unwrap_err()
            ),
            404
        );
        assert_eq!(
            status(
                &env.rw
                    .entities_permissions_get_v1()
                    .body(MsaspecIdsRequest { ids: vec![] })
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );
    }

    #[tokio::test]
    async fn invitations() {
        let env = env().await;
        let page = env
            .rw
            .query_user_invitations_v1()
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.meta.pagination.unwrap().total, 0);
        let missing = env
            .rw
            .get_user_invitations_get_v1()
            .body(MsaspecIdsRequest {
                ids: vec!["inv-1".into()],
            })
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&missing), 404);
        assert_eq!(
            status(
                &env.rw
                    .query_user_invitations_v1()
                    .limit(501)
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );
    }

    fn terms(field: &str) -> types::MsaAggregateQueryRequest {
        types::MsaAggregateQueryRequest {
            date_ranges: vec![],
            exclude: String::new(),
            extended_bounds: None,
            field: field.into(),
            filter: String::new(),
            filters_spec: None,
            from: 0,
            include: String::new(),
            interval: String::new(),
            max_doc_count: None,
            min_doc_count: None,
            missing: String::new(),
            name: format!("by_{field}"),
            percents: vec![],
            q: String::new(),
            ranges: vec![],
            size: 10,
            sort: String::new(),
            sub_aggregates: vec![],
            time_zone: String::new(),
            type_: Some("terms".into()),
        }
    }

    #[tokio::test]
    async fn aggregates_and_allowed_actions() {
        let env = env().await;
        let result = env
            .rw
            .aggregate_users_v1()
            .body(vec![terms("status")])
            .send()
            .await
            .unwrap()
            .into_inner();
        let buckets = &result.resources.unwrap()[0].buckets;
        assert_eq!(buckets.iter().map(|b| b.count).sum::<i64>(), 40);
        let v2 = env
            .rw
            .aggregate_users_v2()
            .body(vec![terms("cid")])
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v2.resources.unwrap()[0].buckets[0].count, 40);
        assert_eq!(
            status(
                &env.rw
                    .aggregate_users_v1()
                    .body(vec![terms("password")])
                    .send()
                    .await
                    .unwrap_err()
            ),
            400
        );

        let uuid = env.some_user();
        let ask = types::DomainActionValidationRequest {
            allowed_actions: vec![types::DomainAllowedAction {
                action: "delete".into(),
                cid: env.cid.clone(),
                resource_ids: vec![],
                uuid: uuid.clone(),
            }],
        };
        let allowed = env
            .rw
            .user_allowed_actions_v1()
            .body(ask.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(allowed.resources.unwrap()[0].uuid, uuid);
        assert_eq!(
            status(
                &env.ro
                    .user_allowed_actions_v1()
                    .body(ask)
                    .send()
                    .await
                    .unwrap_err()
            ),
            403
        );
    }

    #[tokio::test]
    async fn the_rate_limit_answers_429_with_retry_after() {
        let sim = Simulator::start(SimConfig {
            users: 5,
            rate_limit_per_minute: 5,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let base = sim.base_url();
        let api = client(
            &base,
            format!(
                "Bearer {}",
                token(&base, "sim-rw-client", "sim-rw-secret", None).await
            ),
        );
        for _ in 0..5 {
            api.query_user_v1().send().await.unwrap();
        }
        let limited = api.query_user_v1().send().await.unwrap_err();
        let Error::ErrorResponse(rv) = limited else {
            panic!("expected a typed 429")
        };
        assert_eq!(rv.status().as_u16(), 429);
        let retry_at: u64 = rv.headers()["x-ratelimit-retryafter"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            retry_at >= now && retry_at <= now + 60,
            "epoch seconds, soon: {retry_at} vs {now}"
        );
        assert_eq!(rv.headers()["x-ratelimit-remaining"], "0");
    }
}

//! oauth2AccessToken, oauth2RevokeToken

use super::*;

#[tokio::test]
async fn access_token_mints_a_working_bearer_token() {
    let c = ctx().await;
    let plain = Client::new(&c.base, Hooks::none());
    let minted = plain
        .oauth2_access_token()
        .body(token_body(RW_ID, RW_SECRET, None))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status().as_u16(), 201);
    assert_eq!(header(minted.headers(), "x-cs-region"), Some("us-1"));
    assert!(header(minted.headers(), "x-cs-traceid").is_some());
    let minted = minted.into_inner();
    assert_eq!(minted.token_type.as_deref(), Some("bearer"));
    assert_eq!(minted.expires_in, Some(1799));
    let token = minted.access_token.unwrap();
    assert!(!token.is_empty());

    let page = bearer(&c.base, &token)
        .query_user_v1()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.meta.pagination.unwrap().total,
        c.user_count(&c.parent) as i64
    );
    assert_eq!(c.sim.request_count(&operations::OAUTH2_ACCESS_TOKEN), 3);
}

#[tokio::test]
async fn access_token_with_member_cid_acts_in_the_child() {
    let c = ctx().await;
    let child = &c.children[0];
    // CIDs are case-insensitive on input.
    let member = bearer(
        &c.base,
        &mint(&c.base, RW_ID, RW_SECRET, Some(&child.to_uppercase())).await,
    );
    let page = member.query_user_v1().limit(500u64).send().await.unwrap();
    let expected: Vec<String> = c.users(child).into_iter().map(|u| u.uuid).collect();
    assert_eq!(page.resources.clone().unwrap(), expected);
    assert_eq!(page.meta.pagination.as_ref().unwrap().total, 5);
}

#[tokio::test]
async fn access_token_refuses_bad_credentials_and_foreign_member_cids() {
    let c = ctx().await;
    let plain = Client::new(&c.base, Hooks::none());

    let wrong_secret = failure(
        plain
            .oauth2_access_token()
            .body(token_body(RW_ID, "not-the-secret", None))
            .send()
            .await,
    )
    .await;
    // The service's answer, seen by many clients: 403 "Failed to issue access token".
    assert_eq!(wrong_secret.status, 403, "{wrong_secret:?}");
    assert!(wrong_secret.declared, "the spec declares 403");
    assert!(wrong_secret.mentions("Failed to issue access token"));

    let unknown_client = failure(
        plain
            .oauth2_access_token()
            .body(token_body("nobody", RW_SECRET, None))
            .send()
            .await,
    )
    .await;
    assert_eq!(unknown_client.status, 403);

    // A member CID that is not a child of the client's CID.
    let foreign = "0123456789abcdef0123456789abcdef";
    let refused = failure(
        plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, Some(foreign)))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.declared);
    assert!(refused.mentions("invalid member_cid"));
    assert_eq!(refused.errors[0].0, 400);
}

#[tokio::test]
async fn revoke_token_with_basic_auth_invalidates_the_token() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let victim = bearer(&c.base, &token);
    victim.query_user_v1().send().await.unwrap();

    assert_eq!(
        basic_header(RW_ID, RW_SECRET),
        "Basic c2ltLXJ3LWNsaWVudDpzaW0tcnctc2VjcmV0"
    );
    let revoked = basic(&c.base, RW_ID, RW_SECRET)
        .oauth2_revoke_token()
        .body(types::Oauth2RevokeTokenBody {
            client_id: Some(RW_ID.into()),
            token: token.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert!(header(revoked.headers(), "x-cs-traceid").is_some());
    let revoked = revoked.into_inner();
    assert_eq!(revoked.errors, Some(Vec::new()));
    assert!(!revoked.meta.trace_id.is_empty());

    let refused = failure(victim.query_user_v1().send().await).await;
    assert_eq!(refused.status, 401);
    assert!(refused.mentions("expired") || refused.mentions("invalid"));
    // The other tokens stay valid.
    c.rw.query_user_v1().send().await.unwrap();
    assert_eq!(c.sim.request_count(&operations::OAUTH2_REVOKE_TOKEN), 1);
}

#[tokio::test]
async fn revoke_token_without_valid_basic_auth_is_403() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let body = types::Oauth2RevokeTokenBody {
        client_id: None,
        token: token.clone(),
    };
    for client in [
        Client::new(&c.base, Hooks::none()),
        basic(&c.base, RW_ID, "wrong-secret"),
        basic(&c.base, "nobody", RW_SECRET),
        bearer(&c.base, &token),
    ] {
        let refused = failure(client.oauth2_revoke_token().body(body.clone()).send().await).await;
        assert_eq!(refused.status, 403, "{refused:?}");
        assert!(refused.declared);
        assert!(refused.mentions("client credentials required"));
    }
    // Nothing was revoked.
    bearer(&c.base, &token)
        .query_user_v1()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_tokens_are_401_and_new_ones_work() {
    let c = ctx().await;
    c.rw.query_user_v1().send().await.unwrap();
    c.sim.expire_tokens();
    let refused = failure(c.rw.query_user_v1().send().await).await;
    assert_eq!(refused.status, 401);
    assert!(!refused.declared, "queryUserV1 declares no 401");
    assert!(refused.mentions("expired bearer token"));
    let v2 = failure(c.ro.query_user_v2().send().await).await;
    assert_eq!(v2.status, 401);
    assert!(v2.declared, "queryUserV2 declares 401");
    let fresh = bearer(&c.base, &mint(&c.base, RW_ID, RW_SECRET, None).await);
    fresh.query_user_v1().send().await.unwrap();
}

//! Bad input is refused with `Error::InvalidInput` naming the field, before any request (the
//! token request included) leaves the client.

use std::sync::Arc;

use chrono::{Duration, Utc};
use falcon_users::types::{DomainCreateUserRequest, DomainUserActionActionName};
use falcon_users::workflows::{BulkOptions, Offboard, Provision, RoleChange};
use falcon_users::{
    BatchLimits, Cid, Cloud, Error, Falcon, FalconBuilder, GrantOptions, GrantQuery, RetryPolicy,
    RevokeOptions, UserQuery, UserUpdate,
};
use falcon_users_httpmock::envelope::{meta, with_resources};
use futures::StreamExt;
use futures::future::BoxFuture;
use httpmock::MockServer;
use url::Url;

type Case = (
    &'static str,
    &'static str,
    Arc<dyn Fn(Falcon, Url) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>,
);

const MEMBER_CID: &str = "0123456789abcdef0123456789abcdef";

fn builder(url: &Url) -> FalconBuilder {
    Falcon::builder()
        .client_id("id")
        .client_secret("secret")
        .cloud(Cloud::Custom(url.clone()))
}

fn user(uid: &str, first: Option<&str>, last: Option<&str>) -> DomainCreateUserRequest {
    DomainCreateUserRequest {
        cid: None,
        first_name: first.map(str::to_owned),
        last_name: last.map(str::to_owned),
        password: None,
        uid: Some(uid.to_owned()),
    }
}

macro_rules! case {
    ($name:expr, $field:expr, |$f:ident, $u:ident| $body:expr) => {
        (
            $name,
            $field,
            Arc::new(
                move |$f: Falcon, $u: Url| -> BoxFuture<'static, Result<(), Error>> {
                    let _ = (&$f, &$u);
                    Box::pin(async move { $body })
                },
            )
                as Arc<dyn Fn(Falcon, Url) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>,
        )
    };
}

fn create(f: Falcon, uid: &'static str) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(async move { f.create_user(user(uid, None, None)).await.map(drop) })
}

fn cases() -> Vec<Case> {
    let long_email: &'static str =
        Box::leak(format!("{}@example.com", "a".repeat(250)).into_boxed_str());
    let long_id: &'static str = Box::leak("x".repeat(300).into_boxed_str());
    let long_name: &'static str = Box::leak("N".repeat(300).into_boxed_str());
    vec![
        // Emails (the login of a new user).
        case!("empty email", "uid", |f, u| create(f, "").await),
        case!("no @", "uid", |f, u| create(f, "plainaddress").await),
        case!("nothing before @", "uid", |f, u| create(f, "@example.com")
            .await),
        case!("nothing after @", "uid", |f, u| create(f, "ann@").await),
        case!("undotted domain", "uid", |f, u| create(f, "ann@localhost")
            .await),
        case!("space inside", "uid", |f, u| create(
            f,
            "ann lee@example.com"
        )
        .await),
        case!("two @", "uid", |f, u| create(f, "ann@@example.com").await),
        case!("double dot domain", "uid", |f, u| create(
            f,
            "ann@example..com"
        )
        .await),
        case!("leading dot domain", "uid", |f, u| create(
            f,
            "ann@.example.com"
        )
        .await),
        case!("trailing dot domain", "uid", |f, u| create(
            f,
            "ann@example.com."
        )
        .await),
        case!("email over 254 bytes", "uid", |f, u| create(f, long_email)
            .await),
        case!("newline in email", "uid", |f, u| create(
            f,
            "ann@exam\nple.com"
        )
        .await),
        case!("provision with bad email", "uid", |f, u| f
            .provision(&Provision::new("nope", ["r"]))
            .await
            .map(drop)),
        case!("provision without roles", "role_ids", |f, u| f
            .provision(&Provision::new("ann@example.com", " , "))
            .await
            .map(drop)),
        // Id lists.
        case!("empty id string", "ids", |f, u| f
            .get_users("")
            .await
            .map(drop)),
        case!("only commas and blanks", "ids", |f, u| f
            .get_users(" , ,, ")
            .await
            .map(drop)),
        case!("empty vector", "ids", |f, u| f
            .get_users(Vec::<String>::new())
            .await
            .map(drop)),
        case!("whitespace inside an id", "ids", |f, u| f
            .get_users("a b")
            .await
            .map(drop)),
        case!("control character in an id", "ids", |f, u| f
            .get_users("ab\u{7}c")
            .await
            .map(drop)),
        case!("id over 256 bytes", "ids", |f, u| f
            .get_users(long_id)
            .await
            .map(drop)),
        case!("empty role ids", "ids", |f, u| f
            .get_roles("")
            .await
            .map(drop)),
        case!("user action without ids", "ids", |f, u| {
            f.user_action(
                "",
                falcon_users::types::DomainUserActionActionName::ResetPassword,
            )
            .await
        }),
        // Single ids.
        case!("delete with empty uuid", "user_uuid", |f, u| f
            .delete_user("")
            .await),
        case!("delete with blank uuid", "user_uuid", |f, u| f
            .delete_user("   ")
            .await),
        case!("update with empty uuid", "user_uuid", |f, u| f
            .update_user("", UserUpdate::new().first_name("A"))
            .await
            .map(drop)),
        case!("update with no names", "first_name", |f, u| f
            .update_user("u-1", UserUpdate::new())
            .await
            .map(drop)),
        case!("grants of empty uuid", "user_uuid", |f, u| {
            f.grants("", GrantQuery::new())
                .next()
                .await
                .expect("one item")
                .map(drop)
        }),
        case!("grant with no roles", "role_ids", |f, u| f
            .grant_roles("u-1", "", GrantOptions::new())
            .await),
        case!("revoke with no roles", "role_ids", |f, u| f
            .revoke_roles("u-1", Vec::<String>::new(), RevokeOptions::new())
            .await),
        case!("blank and empty role ids", "ids", |f, u| f
            .get_roles([" ", ""])
            .await
            .map(drop)),
        case!("user action with only a comma", "ids", |f, u| f
            .user_action(",", DomainUserActionActionName::ResetPassword)
            .await
            .map(drop)),
        case!("ids with a space after a comma", "ids", |f, u| f
            .get_users("good, has space")
            .await
            .map(drop)),
        case!("grant with only commas", "role_ids", |f, u| f
            .grant_roles("u-1", ",,", GrantOptions::new())
            .await),
        case!("grant to a member with no roles", "role_ids", |f, u| {
            let cid: Cid = MEMBER_CID.parse().unwrap();
            f.grant_roles("u-1", "", GrantOptions::new().cid(cid)).await
        }),
        case!(
            "revoke for a member with blank roles",
            "role_ids",
            |f, u| {
                let cid: Cid = MEMBER_CID.parse().unwrap();
                f.revoke_roles("u-1", " ,", RevokeOptions::new().cid(cid))
                    .await
            }
        ),
        case!("find empty uid", "uid", |f, u| f
            .find_user_by_uid("  ")
            .await
            .map(drop)),
        case!("offboard nobody", "user", |f, u| f
            .offboard(&Offboard::new("").dry_run(true))
            .await
            .map(drop)),
        // Names.
        case!("first name over 256 chars", "first_name", |f, u| {
            f.create_user(user("ann@example.com", Some(long_name), None))
                .await
                .map(drop)
        }),
        case!(
            "right-to-left override in last name",
            "last_name",
            |f, u| {
                f.create_user(user(
                    "ann@example.com",
                    Some("Ann"),
                    Some("Lee\u{202E}nimda"),
                ))
                .await
                .map(drop)
            }
        ),
        case!("NUL in first name", "first_name", |f, u| {
            f.create_user(user("ann@example.com", Some("An\0n"), None))
                .await
                .map(drop)
        }),
        case!(
            "zero-width space in new first name",
            "first_name",
            |f, u| {
                f.update_user("u-1", UserUpdate::new().first_name("A\u{200B}nn"))
                    .await
                    .map(drop)
            }
        ),
        // CIDs.
        case!("cid with wrong letters", "cid", |f, u| {
            "0123456789abcdef0123456789abcdeg".parse::<Cid>().map(drop)
        }),
        case!("empty cid", "cid", |f, u| "".parse::<Cid>().map(drop)),
        case!("cid that is not hex", "cid", |f, u| "xyz-12"
            .parse::<Cid>()
            .map(drop)),
        case!("cid too short", "cid", |f, u| "0123"
            .parse::<Cid>()
            .map(drop)),
        case!("cid too long", "cid", |f, u| {
            "0123456789abcdef0123456789abcdef0".parse::<Cid>().map(drop)
        }),
        case!("cid with bad suffix", "cid", |f, u| {
            "0123456789abcdef0123456789abcdef-XYZ"
                .parse::<Cid>()
                .map(drop)
        }),
        case!("member cid in the builder", "cid", |f, u| builder(&u)
            .member_cid("not-a-cid")
            .build()
            .map(drop)),
        // Clouds.
        case!("unknown cloud", "cloud", |f, u| builder(&u)
            .cloud_name("mars-1")
            .build()
            .map(drop)),
        case!("empty cloud", "cloud", |f, u| builder(&u)
            .cloud_name("")
            .build()
            .map(drop)),
        case!("ftp cloud URL", "cloud", |f, u| builder(&u)
            .cloud_name("ftp://example.com")
            .build()
            .map(drop)),
        case!("plain http to a remote host", "cloud", |f, u| {
            builder(&u)
                .cloud_name("http://api.example.com")
                .build()
                .map(drop)
        }),
        // Grant expiry.
        case!("expiry in 10 minutes", "expires_at", |f, u| {
            f.grant_roles("u-1", "r", expiring(Utc::now() + Duration::minutes(10)))
                .await
        }),
        case!("expiry in 8 days", "expires_at", |f, u| {
            f.grant_roles("u-1", "r", expiring(Utc::now() + Duration::days(8)))
                .await
        }),
        case!("expiry in the past", "expires_at", |f, u| {
            f.grant_roles("u-1", "r", expiring(Utc::now() - Duration::hours(1)))
                .await
        }),
        case!("bulk grant expiring too soon", "expires_at", |f, u| {
            f.change_roles_bulk(
                "u-1,u-2",
                "r",
                RoleChange::Grant {
                    expires_at: Some(Utc::now()),
                },
                &BulkOptions::new().concurrency(2),
            )
            .await
            .map(drop)
        }),
        case!("bulk without users", "user_uuids", |f, u| {
            f.change_roles_bulk(
                "",
                "r",
                RoleChange::Revoke,
                &BulkOptions::new().concurrency(2),
            )
            .await
            .map(drop)
        }),
        // Page sizes.
        case!("page size zero", "page_size", |f, u| f
            .query_user_ids(&UserQuery::new().page_size(0), 0)
            .await
            .map(drop)),
        case!("page size over 500", "page_size", |f, u| f
            .query_user_ids(&UserQuery::new().page_size(501), 0)
            .await
            .map(drop)),
        case!("stream page size zero", "page_size", |f, u| {
            f.user_ids(UserQuery::new().page_size(0))
                .next()
                .await
                .expect("one item")
                .map(drop)
        }),
        case!("stream page size over 500", "page_size", |f, u| {
            f.user_ids(UserQuery::new().page_size(501))
                .next()
                .await
                .expect("one item")
                .map(drop)
        }),
        case!("grants page size zero", "page_size", |f, u| {
            f.grants("u-1", GrantQuery::new().page_size(0))
                .next()
                .await
                .expect("one item")
                .map(drop)
        }),
        // Client settings.
        case!("missing client id", "client_id", |f, u| {
            Falcon::builder()
                .client_secret("s")
                .cloud(Cloud::Custom(u.clone()))
                .build()
                .map(drop)
        }),
        case!("blank client secret", "client_secret", |f, u| {
            Falcon::builder()
                .client_id("id")
                .client_secret("  ")
                .cloud(Cloud::Custom(u.clone()))
                .build()
                .map(drop)
        }),
        case!("zero concurrency", "max_concurrency", |f, u| builder(&u)
            .max_concurrency(0)
            .build()
            .map(drop)),
        case!("zero attempts", "retry_policy.max_attempts", |f, u| {
            builder(&u)
                .retry_policy(RetryPolicy::new().max_attempts(0))
                .build()
                .map(drop)
        }),
        case!("zero batch size", "batch_limits", |f, u| {
            builder(&u)
                .batch_limits(BatchLimits::new().body_ids(0))
                .build()
                .map(drop)
        }),
    ]
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    // Matches every request: its hit count must stay zero.
    let anything = server
        .mock_async(|_, then| {
            then.status(500);
        })
        .await;
    let url = Url::parse(&server.base_url()).unwrap();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, field, run) in &cases {
        let falcon = builder(&url).build().unwrap();
        match run(falcon.clone(), url.clone()).await {
            Err(Error::InvalidInput { field: got, reason }) if got == *field => {
                assert!(!reason.is_empty(), "{name}: empty reason");
                let sent = falcon.stats().requests;
                if sent != 0 {
                    failures.push(format!("{name}: {sent} requests counted"));
                }
            }
            other => failures.push(format!(
                "{name}: expected InvalidInput on `{field}`, got {other:?}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        anything.calls_async().await,
        0,
        "a request reached the server"
    );
}

#[tokio::test]
async fn fql_values_are_escaped_not_injected() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/oauth2/token");
            then.status(201)
                .json_body(serde_json::json!({"access_token": "t", "expires_in": 1799}));
        })
        .await;
    let query = server
        .mock_async(|when, then| {
            when.path("/user-management/queries/users/v1")
                .query_param("filter", r"uid:'o\'brien\*@example.com'");
            then.status(200)
                .json_body(with_resources(meta("t"), serde_json::json!([])));
        })
        .await;
    let falcon = builder(&Url::parse(&server.base_url()).unwrap())
        .build()
        .unwrap();
    let found = falcon
        .find_user_by_uid("O'Brien*@example.com")
        .await
        .unwrap();
    assert!(found.is_none());
    query.assert_async().await;
}

#[tokio::test]
async fn non_ascii_names_and_duplicate_ids_are_accepted() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/oauth2/token");
            then.status(201)
                .json_body(serde_json::json!({"access_token": "t", "expires_in": 1799}));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.path("/user-management/entities/users/v1")
                .json_body(serde_json::json!({"uid": "zoe@example.com", "first_name": "Zoë", "last_name": "Núñez-Øster"}));
            then.status(200).json_body(with_resources(
                meta("t"),
                serde_json::json!([{"uuid": "u-1", "uid": "zoe@example.com"}]),
            ));
        })
        .await;
    let fetch = server
        .mock_async(|when, then| {
            when.path("/user-management/entities/users/GET/v1")
                .json_body(serde_json::json!({"ids": ["a", "b"]}));
            then.status(200)
                .json_body(with_resources(meta("t"), serde_json::json!([])));
        })
        .await;
    let falcon = builder(&Url::parse(&server.base_url()).unwrap())
        .build()
        .unwrap();
    falcon
        .create_user(user(
            " zoe@example.com ",
            Some(" Zoë "),
            Some("Núñez-Øster"),
        ))
        .await
        .map(drop)
        .unwrap_or_else(|e| panic!("{e}"));
    falcon.get_users("a, b, a, b").await.unwrap();
    create.assert_async().await;
    fetch.assert_async().await;
}

/// A grant ending at `at`.
fn expiring(at: chrono::DateTime<Utc>) -> GrantOptions {
    GrantOptions::new().expires_at(at)
}

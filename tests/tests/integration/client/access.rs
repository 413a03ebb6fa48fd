//! Effective access read from the grants listings as the service sends them: link grants
//! (user group and CID group fields, a `grant_type` that is not `direct`) told from direct and
//! temporary ones, the same role through several sources kept apart, and a child whose
//! listing fails reported beside the others.

use falcon_users::access::{GroupRef, Source};
use falcon_users::workflows::AccessOptions;
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, MockServer};
use serde_json::json;

const USER: &str = "6f1b2c1e-0d1e-4a55-9d93-1c2b3a4d5e6f";
const CHILD: &str = "11111111111111111111111111111111";
const BROKEN: &str = "22222222222222222222222222222222";

fn param(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.query_params()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn link_direct_and_temporary_sources_are_read_from_the_listing_rows() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let children = server
        .mock_async(|when, then| {
            when.method(GET).path("/mssp/queries/children/v1");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(page(json!([CHILD, BROKEN]), 0, 5000, 2));
        })
        .await;
    let details = server
        .mock_async(|when, then| {
            when.method(POST).path("/mssp/entities/children/GET/v2");
            let link = |cid: &str, name: &str| {
                json!({"child_cid": cid, "child_of": CID, "checksum": "AB", "name": name,
                       "status": "active", "domains": []})
            };
            then.status(200)
                .header("content-type", "application/json")
                .json_body(entities(
                    json!([link(CHILD, "Acme"), link(BROKEN, "Broken Ltd")]),
                    json!([]),
                ));
        })
        .await;
    let users = server
        .mock_async(|when, then| {
            when.method(POST).path(RETRIEVE_USERS_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(entities(json!([user(USER)]), json!([])));
        })
        .await;
    let grants = server
        .mock_async(|when, then| {
            when.method(GET).path(GRANTS_PATH);
            then.respond_with(|req: &HttpMockRequest| {
                let rows = match param(req, "cid").as_deref() {
                    None => json!([
                        {"role_id": "falcon_console_guest", "cid": CID, "grant_type": "direct"},
                        {"role_id": "remote_responder_one", "cid": CID,
                         "expires_at": "2030-01-02T03:04:05Z"},
                    ]),
                    Some(CHILD) => json!([
                        // One role, two sources: a link and a direct grant.
                        {"role_id": "falcon_administrator", "cid": CHILD,
                         "grant_type": "flight_control_guess", "parent_cid": CID,
                         "user_group_id": "ug-1", "user_group_name": "SOC analysts",
                         "cid_group_id": "cg-1", "cid_group_name": "EU customers"},
                        {"role_id": "falcon_administrator", "cid": CHILD},
                        // A link the row tells only by its type.
                        {"role_id": "falconhost_analyst", "cid": CHILD, "grant_type": "other"},
                    ]),
                    Some(_) => {
                        return json_reply(500, &error_body(500, "internal error"));
                    }
                };
                let n = rows.as_array().unwrap().len() as u64;
                json_reply(200, &page(rows, 0, 500, n))
            });
        })
        .await;
    let falcon = builder(&server)
        .retry_policy(falcon_users::RetryPolicy::new().max_attempts(1))
        .build()
        .unwrap();

    let report = bounded(falcon.access_of(USER, &AccessOptions::new()))
        .await
        .unwrap();

    let got: Vec<(&str, &str, Source, Option<&str>)> = report
        .roles
        .iter()
        .map(|r| {
            (
                r.cid(),
                r.role_id(),
                r.source.clone(),
                r.cid_name.as_deref(),
            )
        })
        .collect();
    let until = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let link = Source::Link {
        user_group: Some(GroupRef {
            id: "ug-1".into(),
            name: Some("SOC analysts".into()),
        }),
        cid_group: Some(GroupRef {
            id: "cg-1".into(),
            name: Some("EU customers".into()),
        }),
        grant_type: Some("flight_control_guess".into()),
    };
    let typed_link = Source::Link {
        user_group: None,
        cid_group: None,
        grant_type: Some("other".into()),
    };
    assert_eq!(
        got,
        vec![
            (CID, "falcon_console_guest", Source::Direct, None),
            (
                CID,
                "remote_responder_one",
                Source::Temporary { until: Some(until) },
                None
            ),
            (CHILD, "falcon_administrator", link, Some("Acme")),
            (CHILD, "falcon_administrator", Source::Direct, Some("Acme")),
            (CHILD, "falconhost_analyst", typed_link, Some("Acme")),
        ]
    );
    // The child whose listing failed is reported, with the service's answer.
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0.as_str(), BROKEN);
    assert!(
        matches!(
            report.failed[0].1,
            falcon_users::Error::Api { status: 500, .. }
        ),
        "{:?}",
        report.failed[0].1
    );
    // One discovery, one user lookup, one listing per CID.
    assert_eq!(
        (
            children.calls(),
            details.calls(),
            users.calls(),
            grants.calls()
        ),
        (1, 1, 1, 3)
    );
}

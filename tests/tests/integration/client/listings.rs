//! Listings whatever the server does: every row fetched before a failure is delivered (then the
//! error, then the end), a user whose grants listing fails while they still exist is an error,
//! and servers that lie about totals or page forever get a bounded number of requests.
//! (Listings past the ceiling against the simulator: `sim/listings.rs` and the `load` binary.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use falcon_users::workflows::InventoryOptions;
use falcon_users::{BatchLimits, Error, Falcon, UserQuery};
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use futures::{Stream, StreamExt, TryStreamExt};
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use serde_json::{Value, json};

/// A mock server whose token endpoint answers (mocks stay until the server goes).
async fn with_token() -> MockServer {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    server
}

/// The id at position `n` of the listings here.
fn id(n: u64) -> String {
    format!("user-{n:05}")
}

fn param(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.query_params()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn number(req: &HttpMockRequest, name: &str) -> u64 {
    param(req, name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn denied() -> HttpMockResponse {
    json_reply(403, &error_body(403, "access denied, authorization failed"))
}

/// `queryUserV1` over the ids `user-00000`.. of a tenant of `total`, each page as asked; the
/// page from offset `fail_at` answers 403.
async fn id_pages(server: &MockServer, total: u64, fail_at: Option<u64>) -> Mock<'_> {
    server
        .mock_async(move |when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.respond_with(move |req: &HttpMockRequest| {
                let (offset, limit) = (number(req, "offset"), number(req, "limit"));
                if Some(offset) == fail_at {
                    return denied();
                }
                let ids: Vec<String> = (offset..(offset + limit).min(total)).map(id).collect();
                json_reply(200, &page(json!(ids), offset, limit, total))
            });
        })
        .await
}

/// `retrieveUsersGETV1` echoing a user per id; the batch holding `fail_on` answers 403.
async fn entities_of<'a>(server: &'a MockServer, fail_on: Option<String>) -> Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(POST).path(RETRIEVE_USERS_PATH);
            then.respond_with(move |req: &HttpMockRequest| {
                let body: Value = serde_json::from_slice(req.body_ref()).unwrap();
                let ids: Vec<&str> = body["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                if fail_on.as_deref().is_some_and(|f| ids.contains(&f)) {
                    return denied();
                }
                let users: Vec<Value> = ids.iter().map(|id| user(id)).collect();
                json_reply(200, &entities(json!(users), json!([])))
            });
        })
        .await
}

/// `CombinedUserRolesV2`: one grant per user; `fail_for` answers `status` instead.
async fn grants_of<'a>(server: &'a MockServer, fail_for: String, status: u16) -> Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(GET).path(GRANTS_PATH);
            then.respond_with(move |req: &HttpMockRequest| {
                if param(req, "user_uuid").as_deref() == Some(fail_for.as_str()) {
                    return json_reply(status, &error_body(status, "user not found"));
                }
                let grant = json!({"role_id": "falcon_console_guest", "cid": CID});
                json_reply(200, &page(json!([grant]), 0, 500, 1))
            });
        })
        .await
}

/// A client sending 100 ids per entity request, 4 at once.
fn client(server: &MockServer) -> Falcon {
    builder(server)
        .batch_limits(BatchLimits::new().body_ids(100).concurrency(4))
        .build()
        .unwrap()
}

/// The rows a stream delivers and the error it ends with; fails if anything follows the error.
async fn drain<T, S>(stream: S) -> (Vec<T>, Error)
where
    S: Stream<Item = falcon_users::Result<T>> + Unpin,
{
    bounded(async move {
        let mut stream = stream;
        let mut rows = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(row) => rows.push(row),
                Err(err) => {
                    assert!(stream.next().await.is_none(), "the stream ends after {err}");
                    return (rows, err);
                }
            }
        }
        panic!(
            "the stream ended without an error after {} rows",
            rows.len()
        );
    })
    .await
}

/// The stream delivered ids `0..n`, in order, then the 403.
fn first_then_denied(uuids: Vec<String>, n: u64, err: &Error) {
    let want: Vec<String> = (0..n).map(id).collect();
    assert_eq!(uuids, want, "every row before the failure, in order");
    assert!(matches!(err, Error::Api { status: 403, .. }), "{err:?}");
}

fn uuids<'a>(users: impl IntoIterator<Item = &'a falcon_users::types::DomainUser>) -> Vec<String> {
    users.into_iter().map(|u| u.uuid.clone().unwrap()).collect()
}

// ---- every row fetched before a failure ------------------------------------------------------

#[tokio::test]
async fn users_delivers_every_user_before_a_failing_entity_batch() {
    let server = with_token().await;
    let _pages = id_pages(&server, 1_000, None).await;
    // Batches of 100 ids, 4 in flight: the sixth fails while later ones have succeeded.
    let batches = entities_of(&server, Some(id(500))).await;
    let falcon = client(&server);

    let (users, err) = drain(falcon.users(UserQuery::new().page_size(100))).await;
    first_then_denied(uuids(&users), 500, &err);
    assert!(batches.calls_async().await >= 6);
}

#[tokio::test]
async fn users_delivers_every_user_before_a_failing_page() {
    let server = with_token().await;
    let pages = id_pages(&server, 1_000, Some(600)).await;
    let _batches = entities_of(&server, None).await;
    let falcon = client(&server);

    let (users, err) = drain(falcon.users(UserQuery::new().page_size(100))).await;
    first_then_denied(uuids(&users), 600, &err);
    assert_eq!(
        pages.calls_async().await,
        7,
        "no page after the failing one"
    );

    let (ids, err) = drain(falcon.user_ids(UserQuery::new().page_size(100))).await;
    first_then_denied(ids, 600, &err);
}

#[tokio::test]
async fn inventory_delivers_every_row_before_a_failing_grants_listing() {
    let server = with_token().await;
    let _pages = id_pages(&server, 300, None).await;
    let _batches = entities_of(&server, None).await;
    let _grants = grants_of(&server, id(150), 403).await;
    let falcon = client(&server);

    let (rows, err) =
        drain(falcon.inventory(UserQuery::new().page_size(100), concurrently(8))).await;
    first_then_denied(uuids(rows.iter().map(|r| &r.user)), 150, &err);
    assert!(rows.iter().all(|r| r.grants.len() == 1 && !r.deleted));
}

#[tokio::test]
async fn inventory_delivers_every_row_before_a_failing_page() {
    // The failure comes from upstream (the ids) while grants listings are in flight.
    let server = with_token().await;
    let _pages = id_pages(&server, 300, Some(200)).await;
    let _batches = entities_of(&server, None).await;
    let _grants = grants_of(&server, "nobody".into(), 404).await;
    let falcon = client(&server);

    let (rows, err) =
        drain(falcon.inventory(UserQuery::new().page_size(100), concurrently(16))).await;
    first_then_denied(uuids(rows.iter().map(|r| &r.user)), 200, &err);
}

#[tokio::test]
async fn a_grants_listing_answering_not_found_for_a_user_who_exists_is_an_error() {
    let server = with_token().await;
    let _pages = id_pages(&server, 300, None).await;
    // The lookup that follows the 404 still finds the user: not a deletion. (Registered first:
    // the first mock that matches answers.)
    let lookup = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(RETRIEVE_USERS_PATH)
                .json_body(json!({"ids": [id(42)]}));
            then.respond_with(|_: &HttpMockRequest| {
                json_reply(200, &entities(json!([user(&id(42))]), json!([])))
            });
        })
        .await;
    let _batches = entities_of(&server, None).await;
    let _grants = grants_of(&server, id(42), 404).await;
    let falcon = client(&server);

    let (rows, err) =
        drain(falcon.inventory(UserQuery::new().page_size(100), concurrently(4))).await;
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    let want: Vec<String> = (0..42).map(id).collect();
    assert_eq!(uuids(rows.iter().map(|r| &r.user)), want);
    assert_eq!(lookup.calls_async().await, 1, "the user was looked up once");
}

// ---- servers that lie ------------------------------------------------------------------------

/// `queryUserV1` answering every request, whatever its filter, offset or limit, with `len` ids
/// never sent before and the total `total(n)` for the n-th request (`None`: no pagination).
async fn liar<'a>(
    server: &'a MockServer,
    len: u64,
    total: impl Fn(u64) -> Option<u64> + Send + Sync + 'static,
) -> Mock<'a> {
    let sent = Arc::new(AtomicU64::new(0));
    server
        .mock_async(move |when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.respond_with(move |_req: &HttpMockRequest| {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let ids: Vec<String> = (0..len).map(|i| format!("lie-{n}-{i}")).collect();
                let body = match total(n) {
                    Some(total) => page(json!(ids), 0, len, total),
                    None => entities(json!(ids), json!([])),
                };
                json_reply(200, &body)
            });
        })
        .await
}

#[tokio::test]
async fn totals_that_cannot_be_true_are_caught_in_two_or_three_requests() {
    type Total = fn(u64) -> Option<u64>;
    let cases: [(&str, Total, usize); 2] = [
        // The whole, its first part (as big: its sibling is counted before going deeper),
        // the second part (as big again).
        (
            "every part repeats the total",
            |_| Some(1_000_000_000_000),
            3,
        ),
        // The first part already counts more than the whole.
        ("the total grows", |n| Some(20_000 + 1_000 * n), 2),
    ];
    for (name, total, requests) in cases {
        let server = with_token().await;
        let queries = liar(&server, 500, total).await;
        let _batches = entities_of(&server, None).await;
        let (users, err) = drain(client(&server).users(UserQuery::new())).await;
        assert!(users.is_empty(), "{name}: {} users", users.len());
        match &err {
            Error::ListingIncomplete {
                operation: "queryUserV1",
                missing: None,
                reason,
            } => assert!(reason.contains("cannot be true"), "{name}: {reason}"),
            other => panic!("{name}: expected the counts to be refused, got {other:?}"),
        }
        assert_eq!(queries.calls_async().await, requests, "{name}");
    }
}

/// `queryUserV1` over a tenant of 700 users whose first page (offset 0, limit 500) holds 550
/// ids: the first 500, then 50 of them again. The other pages are as asked, or empty when the
/// rest never comes.
async fn overfull_first_page(server: &MockServer, rest: bool) -> Mock<'_> {
    server
        .mock_async(move |when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.respond_with(move |req: &HttpMockRequest| {
                let (offset, limit) = (number(req, "offset"), number(req, "limit"));
                let mut ids: Vec<String> = match (offset, rest) {
                    (0, _) | (_, true) => (offset..(offset + limit).min(700)).map(id).collect(),
                    (_, false) => Vec::new(),
                };
                if offset == 0 {
                    ids.extend((0..50).map(id));
                }
                json_reply(200, &page(json!(ids), offset, limit, 700))
            });
        })
        .await
}

#[tokio::test]
async fn a_page_longer_than_asked_skips_no_user_and_its_duplicates_are_counted() {
    let server = with_token().await;
    let pages = overfull_first_page(&server, true).await;
    let _batches = entities_of(&server, None).await;
    let falcon = client(&server);

    let users: Vec<_> = bounded(falcon.users(UserQuery::new()).try_collect())
        .await
        .unwrap();
    let want: Vec<String> = (0..700).map(id).collect();
    assert_eq!(uuids(&users), want, "all 700 users, each once, in order");
    assert_eq!(falcon.stats().duplicates_dropped, 50);
    assert_eq!(
        pages.calls_async().await,
        2,
        "offsets 0 and 500: no extra request"
    );
}

#[tokio::test]
async fn a_page_longer_than_asked_whose_rest_never_comes_ends_incomplete() {
    let server = with_token().await;
    let _pages = overfull_first_page(&server, false).await;
    let _batches = entities_of(&server, None).await;
    let falcon = client(&server);

    let (users, err) = drain(falcon.users(UserQuery::new())).await;
    let want: Vec<String> = (0..500).map(id).collect();
    assert_eq!(uuids(&users), want, "every user it could list, once");
    assert!(
        matches!(
            err,
            Error::ListingIncomplete {
                operation: "queryUserV1",
                missing: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn full_pages_without_a_total_stop_at_the_ceiling() {
    let server = with_token().await;
    let queries = liar(&server, 500, |_| None).await;
    let falcon = client(&server);
    let (ids, err) = drain(falcon.user_ids(UserQuery::new())).await;
    assert_eq!(ids.len(), 10_000, "as far as the service pages");
    assert!(
        matches!(err, Error::ListingIncomplete { missing: None, .. }),
        "{err:?}"
    );
    assert_eq!(
        queries.calls_async().await,
        20,
        "10,000 / 500, nothing past"
    );
}

#[tokio::test]
async fn taking_three_users_from_a_listing_of_tiny_pages_sends_a_few_requests() {
    // Three ids a page while 500 were asked for, a total of 9,999 (under the ceiling): 3,333
    // pages to the end. The caller wants three users.
    let server = with_token().await;
    let queries = liar(&server, 3, |_| Some(9_999)).await;
    let batches = entities_of(&server, None).await;
    let falcon = client(&server);
    let users: Vec<_> = bounded(falcon.users(UserQuery::new()).take(3).try_collect())
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    drop(falcon);
    // Whatever was in flight when the stream was dropped is cancelled; let it settle.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (pages, lookups) = (queries.calls_async().await, batches.calls_async().await);
    eprintln!("take(3) of tiny pages: {pages} pages, {lookups} entity batches");
    // A batch waits for two pages at most; 4 batches in flight; one page prefetched.
    assert!(pages <= 2 * 4 + 1, "{pages} pages");
    assert!(lookups <= 4, "{lookups} batches");
}

fn concurrently(n: usize) -> InventoryOptions {
    InventoryOptions::new().concurrency(n)
}

//! Id lists as users have them, batching of long id lists, and offset pagination as a stream.

use std::sync::{Arc, Mutex};

use falcon_users::{BatchLimits, Error, GrantQuery, IdList, UserQuery};
use falcon_users_tests::bounded;
use falcon_users_tests::mock::*;
use futures::{StreamExt, TryStreamExt};
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, Mock, MockServer};
use serde_json::{Value, json};

// ---- 7. IdList coercion ----------------------------------------------------------------------

fn list(ids: impl Into<IdList>) -> Vec<String> {
    ids.into().into_vec()
}

#[test]
fn id_lists_from_everything_users_have() {
    let abc = ["a", "b", "c"];
    // Comma strings: blanks and empty items dropped, items trimmed.
    assert_eq!(list("a, b,,c"), abc);
    assert_eq!(list(" a ,b , c ,"), abc);
    let text = String::from("a,b,c");
    assert_eq!(list(&text), abc);
    assert_eq!(list(text), abc);
    // Slices, vectors, arrays.
    assert_eq!(list(&["a", "b", "c"][..]), abc);
    assert_eq!(list(vec!["a", " b", "c "]), abc);
    let owned: Vec<String> = abc.iter().map(|s| s.to_string()).collect();
    assert_eq!(list(owned.clone()), abc);
    assert_eq!(list(&owned), abc);
    assert_eq!(list(&owned[..]), abc);
    assert_eq!(list(["a", "b", "c"]), abc);
    assert_eq!(
        list([String::from("a"), String::from("b"), String::from("c")]),
        abc
    );
    // Iterators.
    assert_eq!(abc.iter().collect::<IdList>().into_vec(), abc);
    assert_eq!(
        (1..=3)
            .map(|n| format!("u{n}"))
            .collect::<IdList>()
            .into_vec(),
        ["u1", "u2", "u3"]
    );
    // From another IdList.
    let ids = IdList::from("a,b,c");
    assert_eq!(list(&ids), abc);
    assert_eq!(ids.clone().into_iter().collect::<Vec<_>>(), abc);
}

#[test]
fn duplicates_are_dropped_keeping_first_seen_order() {
    assert_eq!(list("c, a, c, b, a, c"), ["c", "a", "b"]);
    assert_eq!(list(vec![" x", "y", "x ", " y "]), ["x", "y"]);
    let ids = IdList::from("b,a,b");
    assert_eq!(ids.len(), 2);
    assert_eq!(ids.as_slice(), ["b", "a"]);
}

#[test]
fn whitespace_only_input_is_an_empty_list() {
    for input in ["", " ", ",", " , ,, ", "\t,\n"] {
        let ids = IdList::from(input);
        assert!(ids.is_empty(), "{input:?}");
        assert_eq!(ids.len(), 0);
        assert!(matches!(
            ids.validate("ids"),
            Err(Error::InvalidInput { field: "ids", .. })
        ));
    }
    assert!(IdList::from(Vec::<String>::new()).is_empty());
    assert!(IdList::from(["  ", ""]).is_empty());
}

#[test]
fn validate_refuses_ids_no_api_id_looks_like() {
    let too_long = "x".repeat(257);
    for bad in [
        IdList::from(vec!["ok", "has space"]),
        IdList::from(vec!["tab\there"]),
        IdList::from(vec!["nul\0byte"]),
        IdList::from(vec![too_long.as_str()]),
    ] {
        assert!(
            matches!(
                bad.validate("role_ids"),
                Err(Error::InvalidInput {
                    field: "role_ids",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(IdList::from(vec!["x".repeat(256)]).validate("ids").is_ok());
}

// ---- 8. chunking -----------------------------------------------------------------------------

/// `retrieveUsersGETV1` echoing a user per id asked for, plus one error per batch naming the
/// batch's first id; records the size of each batch by its first id.
async fn echo_users<'a>(
    server: &'a MockServer,
    batches: Arc<Mutex<Vec<(String, usize)>>>,
) -> Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(POST).path(RETRIEVE_USERS_PATH);
            then.respond_with(move |req: &HttpMockRequest| {
                let body: Value = serde_json::from_slice(req.body_ref()).expect("JSON body");
                let ids: Vec<String> = body["ids"]
                    .as_array()
                    .expect("ids array")
                    .iter()
                    .map(|v| v.as_str().expect("string id").to_owned())
                    .collect();
                batches.lock().unwrap().push((ids[0].clone(), ids.len()));
                let users: Vec<Value> = ids.iter().map(|id| json!({"uuid": id})).collect();
                let errors = json!([{"code": 404, "message": format!("batch from {}", ids[0])}]);
                json_reply(200, &entities(Value::Array(users), errors))
            });
        })
        .await
}

#[tokio::test]
async fn twelve_thousand_ids_go_in_three_batches_merged_in_order() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok").await;
    let batches = Arc::new(Mutex::new(Vec::new()));
    let retrieve = echo_users(&server, batches.clone()).await;
    let falcon = builder(&server).build().unwrap();

    let ids: Vec<String> = (0..12_345).map(|n| format!("user-{n:05}")).collect();
    // Duplicates are dropped before batching.
    let mut with_duplicates = ids.clone();
    with_duplicates.extend(ids[..100].iter().cloned());

    let found = bounded(falcon.get_users(with_duplicates)).await.unwrap();

    assert_eq!(retrieve.calls_async().await, 3);
    assert_eq!(token.calls_async().await, 1);
    let mut seen = batches.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("user-00000".to_owned(), 5000),
            ("user-05000".to_owned(), 5000),
            ("user-10000".to_owned(), 2345)
        ]
    );
    let uuids: Vec<String> = found
        .resources
        .iter()
        .map(|u| u.uuid.clone().unwrap())
        .collect();
    assert_eq!(uuids, ids, "every user, in the order asked for");
    let errors: Vec<&str> = found.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        errors,
        [
            "batch from user-00000",
            "batch from user-05000",
            "batch from user-10000"
        ],
        "errors merged in batch order"
    );
}

#[tokio::test]
async fn smaller_body_limits_make_more_batches() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let batches = Arc::new(Mutex::new(Vec::new()));
    let retrieve = echo_users(&server, batches.clone()).await;
    let falcon = builder(&server)
        .batch_limits(BatchLimits::new().body_ids(1000).concurrency(2))
        .build()
        .unwrap();
    let ids: Vec<String> = (0..12_345).map(|n| format!("id-{n}")).collect();
    let found = bounded(falcon.get_users(&ids)).await.unwrap();
    assert_eq!(retrieve.calls_async().await, 13);
    let sizes: Vec<usize> = batches.lock().unwrap().iter().map(|b| b.1).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 12_345);
    assert!(sizes.iter().all(|n| *n <= 1000), "{sizes:?}");
    assert_eq!(found.resources.len(), 12_345);
    assert_eq!(found.errors.len(), 13);
}

#[tokio::test]
async fn a_failing_batch_fails_the_whole_call() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(RETRIEVE_USERS_PATH)
                .body_includes("\"user-05000\"");
            then.status(403)
                .header("content-type", "application/json")
                .json_body(error_body(403, "access denied, authorization failed"));
        })
        .await;
    let ok = echo_users(&server, Arc::new(Mutex::new(Vec::new()))).await;
    let falcon = builder(&server).build().unwrap();
    let ids: Vec<String> = (0..12_345).map(|n| format!("user-{n:05}")).collect();
    let err = bounded(falcon.get_users(ids)).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 403, .. }), "{err:?}");
    assert!(ok.calls_async().await <= 2);
}

/// The encoded length of `key=id&key=id...` as the generated client's query serializer writes it.
fn query_len(key: &str, ids: &[String]) -> usize {
    let mut url = url::Url::parse("http://127.0.0.1/").unwrap();
    {
        let mut pairs = url.query_pairs_mut();
        for id in ids {
            pairs.append_pair(key, id);
        }
    }
    url.query().map_or(0, str::len)
}

#[test]
fn query_chunks_split_known_ids_at_known_points() {
    let ids: IdList = (0..250).map(|i| format!("{i:032x}")).collect();
    let by_count = ids.query_chunks("ids", 100, 100_000);
    assert_eq!(
        by_count.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    // Each `ids=<32 chars>&` costs 37 bytes: 1,000 bytes hold 27 of them.
    let by_length = ids.query_chunks("ids", 100, 1000);
    assert!(
        by_length
            .iter()
            .all(|c| c.len() == 27 || c == by_length.last().unwrap())
    );
    assert_eq!(by_length.concat(), ids.as_slice());
    // Characters that need escaping count three times: `uid=a%20b%2F0&` is 14 bytes, so a
    // 60-byte budget holds 4 ids.
    let odd: IdList = (0..10).map(|i| format!("a b/{i}")).collect();
    let sizes: Vec<usize> = odd
        .query_chunks("uid", 100, 60)
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
}

#[test]
fn query_chunks_bound_count_and_encoded_length() {
    // Ids of varying length, some needing percent-encoding.
    let ids: IdList = (0..1_000)
        .map(|n| match n % 4 {
            0 => format!("{n:032x}"),
            1 => format!("role/{n}:é"),
            2 => format!("r{n}"),
            _ => format!("{}{n}", "z".repeat(n % 90)),
        })
        .collect();
    let (max, max_len) = (100, 2_000);
    let chunks = ids.query_chunks("ids", max, max_len);

    let flat: Vec<String> = chunks.iter().flatten().cloned().collect();
    assert_eq!(flat, ids.as_slice(), "every id once, in order");
    for chunk in &chunks {
        assert!(!chunk.is_empty());
        assert!(chunk.len() <= max, "{} ids", chunk.len());
        let len = query_len("ids", chunk);
        assert!(len <= max_len, "query of {len} bytes");
    }
    // Not trivially small: every batch but the last was full by count or by length.
    for pair in chunks.windows(2) {
        let (this, next) = (&pair[0], &pair[1]);
        let mut grown = this.clone();
        grown.push(next[0].clone());
        let strict_len: usize = grown
            .iter()
            .map(|id| {
                "ids".len()
                    + 2
                    + id.bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                                1
                            } else {
                                3
                            }
                        })
                        .sum::<usize>()
            })
            .sum();
        assert!(
            this.len() == max || strict_len > max_len,
            "a batch of {} ids could have taken one more",
            this.len()
        );
    }
    assert!(chunks.len() > 1_000 / max, "length bound did split further");

    // A single id longer than the limit still gets its own batch (nothing is lost).
    let long = IdList::from(vec!["a".repeat(300), "b".to_owned()]);
    assert_eq!(
        long.query_chunks("ids", 100, 100),
        [vec!["a".repeat(300)], vec!["b".to_owned()]]
    );
    // Body chunks.
    let body = IdList::from_iter((0..12_345).map(|n| n.to_string()));
    let sizes: Vec<usize> = body.chunks(5_000).iter().map(Vec::len).collect();
    assert_eq!(sizes, [5_000, 5_000, 2_345]);
    assert_eq!(
        body.chunks(0).len(),
        12_345,
        "a zero limit means one per batch"
    );
}

// ---- 9. pagination ---------------------------------------------------------------------------

/// A page of user ids at `offset`, limit 2.
async fn page_at<'a>(server: &'a MockServer, offset: u64, status: u16, body: Value) -> Mock<'a> {
    page_of(server, QUERY_USERS_PATH, offset, status, body).await
}

/// A page of the listing at `path` from `offset`, limit 2.
async fn page_of<'a>(
    server: &'a MockServer,
    path: &'static str,
    offset: u64,
    status: u16,
    body: Value,
) -> Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path(path)
                .query_param("offset", offset.to_string())
                .query_param("limit", "2");
            then.status(status)
                .header("content-type", "application/json")
                .json_body(body);
        })
        .await
}

async fn all_query_requests(server: &MockServer) -> Mock<'_> {
    // Registered last: only requests no page mock matched get here.
    server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            then.status(418).body("unexpected page request");
        })
        .await
}

#[tokio::test]
async fn three_pages_of_two_give_five_ids_in_order() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let p0 = page_at(&server, 0, 200, page(json!(["u1", "u2"]), 0, 2, 5)).await;
    let p2 = page_at(&server, 2, 200, page(json!(["u3", "u4"]), 2, 2, 5)).await;
    let p4 = page_at(&server, 4, 200, page(json!(["u5"]), 4, 2, 5)).await;
    let stray = all_query_requests(&server).await;
    let falcon = builder(&server).build().unwrap();

    let ids: Vec<String> = bounded(falcon.user_ids(UserQuery::new().page_size(2)).try_collect())
        .await
        .unwrap();
    assert_eq!(ids, ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(p0.calls_async().await, 1);
    assert_eq!(p2.calls_async().await, 1);
    assert_eq!(p4.calls_async().await, 1);
    assert_eq!(stray.calls_async().await, 0, "no request past the total");
    assert_eq!(falcon.stats().requests, 4, "1 token + 3 pages");
}

/// The ids a stream delivers and the error it ends with; fails if it ends without one, or if
/// anything follows it.
async fn ids_then_error(
    stream: futures::stream::BoxStream<'static, falcon_users::Result<String>>,
) -> (Vec<String>, Error) {
    bounded(async move {
        let mut stream = stream;
        let mut ids = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(id) => ids.push(id),
                Err(err) => {
                    assert!(stream.next().await.is_none(), "the stream ends after {err}");
                    return (ids, err);
                }
            }
        }
        panic!("a short success: {} ids and no error", ids.len());
    })
    .await
}

#[tokio::test]
async fn a_total_that_lies_high_ends_incomplete_at_the_first_empty_page() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let p0 = page_at(&server, 0, 200, page(json!(["u1", "u2"]), 0, 2, 100)).await;
    let p2 = page_at(&server, 2, 200, page(json!(["u3", "u4"]), 2, 2, 100)).await;
    let p4 = page_at(&server, 4, 200, page(json!([]), 4, 2, 100)).await;
    let stray = all_query_requests(&server).await;
    let falcon = builder(&server).build().unwrap();

    let (ids, err) = ids_then_error(falcon.user_ids(UserQuery::new().page_size(2))).await;
    assert_eq!(
        ids,
        ["u1", "u2", "u3", "u4"],
        "every id it could list first"
    );
    match &err {
        Error::ListingIncomplete {
            operation: "queryUserV1",
            missing: Some(96),
            reason,
        } => assert!(
            reason.contains("counted 100 rows") && reason.contains("offset 4 with no rows"),
            "{reason}"
        ),
        other => panic!("expected 96 missing, got {other:?}"),
    }
    assert_eq!(
        p0.calls_async().await + p2.calls_async().await + p4.calls_async().await,
        3
    );
    assert_eq!(stray.calls_async().await, 0);
}

/// A grants listing counting 200,000 grants whose second page is empty: the contradiction is
/// the incomplete-listing error, not two grants and a success.
#[tokio::test]
async fn a_grants_total_the_pages_contradict_ends_incomplete() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let grant = |role: &str| json!({"role_id": role, "cid": CID});
    let first = page(json!([grant("r1"), grant("r2")]), 0, 2, 200_000);
    let _p0 = page_of(&server, GRANTS_PATH, 0, 200, first).await;
    let _p2 = page_of(&server, GRANTS_PATH, 2, 200, page(json!([]), 2, 2, 200_000)).await;
    let falcon = builder(&server).build().unwrap();

    let mut stream = falcon.grants("user-1", GrantQuery::new().page_size(2));
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap().role_id, "r1");
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap().role_id, "r2");
    let err = bounded(stream.next()).await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::ListingIncomplete {
                operation: "CombinedUserRolesV2",
                missing: Some(199_998),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("counted 200000 rows"), "{err}");
    assert!(bounded(stream.next()).await.is_none());
}

#[tokio::test]
async fn a_short_page_advances_the_offset_by_the_limit_asked_and_the_gap_is_reported() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let p0 = page_at(&server, 0, 200, page(json!(["u1", "u2"]), 0, 2, 5)).await;
    // One id where two were asked for: the page from 2 is asked for from 4, not from 3.
    let p2 = page_at(&server, 2, 200, page(json!(["u3"]), 2, 2, 5)).await;
    let p4 = page_at(&server, 4, 200, page(json!(["u5"]), 4, 2, 5)).await;
    let stray = all_query_requests(&server).await;
    let falcon = builder(&server).build().unwrap();

    let (ids, err) = ids_then_error(falcon.user_ids(UserQuery::new().page_size(2))).await;
    assert_eq!(ids, ["u1", "u2", "u3", "u5"]);
    assert!(
        matches!(
            err,
            Error::ListingIncomplete {
                missing: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(p0.calls_async().await, 1);
    assert_eq!(p2.calls_async().await, 1);
    assert_eq!(p4.calls_async().await, 1);
    assert_eq!(stray.calls_async().await, 0);
}

#[tokio::test]
async fn a_server_that_ignores_the_offset_does_not_loop() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let same = server
        .mock_async(|when, then| {
            when.method(GET).path(QUERY_USERS_PATH);
            // A total that lies high, but not past the offset ceiling (that one is split:
            // `listings.rs`).
            then.status(200)
                .header("content-type", "application/json")
                .json_body(page(json!(["u1", "u2"]), 0, 2, 9_000));
        })
        .await;
    let falcon = builder(&server).build().unwrap();

    let mut stream = falcon.user_ids(UserQuery::new().page_size(2));
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap(), "u1");
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap(), "u2");
    // The rest of the count cannot be reached: said, not passed over.
    let err = bounded(stream.next()).await.unwrap().unwrap_err();
    match &err {
        Error::ListingIncomplete {
            missing: Some(8_998),
            reason,
            ..
        } => assert!(reason.contains("ignores the offset"), "{reason}"),
        other => panic!("expected 8,998 missing, got {other:?}"),
    }
    assert!(bounded(stream.next()).await.is_none());
    assert_eq!(
        same.calls_async().await,
        2,
        "the repeat is noticed on the second page"
    );
}

/// A listing that cannot be split (a user's grants) refused past offset 0: the grants so far,
/// then `PagingRefused`. (A user listing splits itself instead: `listings.rs`.)
#[tokio::test]
async fn a_400_past_offset_zero_is_paging_refused_after_the_first_pages() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let grant = |role: &str| json!({"role_id": role, "cid": CID});
    let first = page(json!([grant("r1"), grant("r2")]), 0, 2, 5);
    let _p0 = page_of(&server, GRANTS_PATH, 0, 200, first).await;
    let refusal = error_body(400, "offset + limit must be less than 10000");
    let _p2 = page_of(&server, GRANTS_PATH, 2, 400, refusal).await;
    let falcon = builder(&server).build().unwrap();

    let mut stream = falcon.grants("user-1", GrantQuery::new().page_size(2));
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap().role_id, "r1");
    assert_eq!(bounded(stream.next()).await.unwrap().unwrap().role_id, "r2");
    let err = bounded(stream.next()).await.unwrap().unwrap_err();
    match &err {
        Error::PagingRefused {
            operation: "CombinedUserRolesV2",
            offset: 2,
            source,
        } => assert!(
            matches!(**source, Error::Api { status: 400, .. }),
            "{source:?}"
        ),
        other => panic!("expected PagingRefused, got {other:?}"),
    }
    assert!(err.to_string().contains("narrow the filter"), "{err}");
    assert!(
        bounded(stream.next()).await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn a_400_on_the_first_page_is_a_plain_api_error() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let _p0 = page_at(&server, 0, 400, error_body(400, "invalid filter")).await;
    let falcon = builder(&server).build().unwrap();
    let err = bounded(
        falcon
            .user_ids(UserQuery::new().page_size(2))
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
}

#[tokio::test]
async fn users_streams_details_for_every_paged_id() {
    let server = MockServer::start_async().await;
    let _token = token_mock(&server, "tok").await;
    let _p0 = page_at(&server, 0, 200, page(json!(["u1", "u2"]), 0, 2, 5)).await;
    let _p2 = page_at(&server, 2, 200, page(json!(["u3", "u4"]), 2, 2, 5)).await;
    let _p4 = page_at(&server, 4, 200, page(json!(["u5"]), 4, 2, 5)).await;
    let echo = echo_users(&server, Arc::new(Mutex::new(Vec::new()))).await;
    let falcon = builder(&server).build().unwrap();
    let users: Vec<_> = bounded(falcon.users(UserQuery::new().page_size(2)).try_collect())
        .await
        .unwrap();
    let uuids: Vec<String> = users.into_iter().map(|u| u.uuid.unwrap()).collect();
    assert_eq!(uuids, ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(
        echo.calls_async().await,
        1,
        "ids from three pages fit one retrieve call"
    );
}

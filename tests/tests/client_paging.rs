//! Id lists, batching of long lists, and pagination streams.

mod harness;

use falcon_users::{Cloud, Error, IdList, UserQuery};
use futures::TryStreamExt;
use harness::*;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

#[test]
fn id_lists_accept_what_users_have() {
    let expected = ["a", "b", "c"];
    let owned: Vec<String> = vec!["a".into(), " b ".into(), "".into(), "c".into(), "a".into()];
    let cases: Vec<(&str, IdList)> = vec![
        ("comma string", IdList::from("a, b,,c")),
        ("comma String", IdList::from(String::from(" a ,b , c,"))),
        ("str slice", IdList::from(&["a", "b", "c", "b"][..])),
        ("String vec", IdList::from(owned.clone())),
        ("String slice", IdList::from(owned.as_slice())),
        ("str vec", IdList::from(vec!["a", "b", "c"])),
        ("array", IdList::from(["a", "b", "c"])),
        (
            "owned array",
            IdList::from([String::from("a"), String::from("b"), String::from("c")]),
        ),
        ("iterator", ["a", "b", "c"].iter().copied().collect()),
        (
            "mapped iterator",
            (0..3).map(|i| ["a", "b", "c"][i].to_string()).collect(),
        ),
    ];
    for (name, ids) in cases {
        assert_eq!(ids.as_slice(), expected, "{name}");
    }
    assert!(IdList::from("  ,  , ").is_empty());
    assert_eq!(
        IdList::from("b,a,b,a").as_slice(),
        ["b", "a"],
        "first-seen order kept"
    );
}

#[test]
fn query_chunks_respect_count_and_url_length() {
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

#[tokio::test]
async fn twelve_thousand_ids_go_in_three_ordered_batches() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let ids: Vec<String> = (0..12_345).map(|i| format!("user-{i:05}")).collect();
    let mut mocks = Vec::new();
    for (n, chunk) in ids.chunks(5000).enumerate() {
        let expected: Vec<String> = chunk.to_vec();
        let first = expected[0].clone();
        let last = expected[expected.len() - 1].clone();
        let body = entities(
            json!([user(&first), user(&last)]),
            json!([{"code": 404, "message": format!("missing in batch {n}")}]),
        );
        mocks.push(
            server
                .mock_async(move |when, then| {
                    when.method(POST)
                        .path("/user-management/entities/users/GET/v1")
                        .is_true(move |req| {
                            serde_json::from_slice::<Value>(req.body().as_ref())
                                .ok()
                                .and_then(|b| {
                                    serde_json::from_value::<Vec<String>>(b["ids"].clone()).ok()
                                })
                                .is_some_and(|sent| sent == expected)
                        });
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let falcon = builder(&server).build().unwrap();
    let found = falcon.get_users(ids.clone()).await.unwrap();
    for mock in &mocks {
        assert_eq!(mock.calls_async().await, 1);
    }
    let uuids: Vec<&str> = found
        .resources
        .iter()
        .map(|u| u.uuid.as_deref().unwrap())
        .collect();
    assert_eq!(
        uuids,
        [
            "user-00000",
            "user-04999",
            "user-05000",
            "user-09999",
            "user-10000",
            "user-12344"
        ]
    );
    let errors: Vec<&str> = found.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        errors,
        [
            "missing in batch 0",
            "missing in batch 1",
            "missing in batch 2"
        ]
    );
}

async fn page_mock<'a>(
    server: &'a MockServer,
    offset: u64,
    ids: Value,
    total: u64,
) -> httpmock::Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/user-management/queries/users/v1")
                .query_param("offset", offset.to_string())
                .query_param("limit", "2");
            then.status(200).json_body(page(ids, offset, 2, total));
        })
        .await
}

#[tokio::test]
async fn three_pages_are_streamed_in_order() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let pages = [
        page_mock(&server, 0, json!(["a", "b"]), 5).await,
        page_mock(&server, 2, json!(["c", "d"]), 5).await,
        page_mock(&server, 4, json!(["e"]), 5).await,
    ];
    let falcon = builder(&server).build().unwrap();
    let ids: Vec<String> = falcon
        .user_ids(UserQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    for p in &pages {
        assert_eq!(p.calls_async().await, 1);
    }
}

#[tokio::test]
async fn a_total_that_lies_high_stops_at_the_first_empty_page() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    page_mock(&server, 0, json!(["a", "b"]), 100).await;
    page_mock(&server, 2, json!(["c"]), 100).await;
    let empty = page_mock(&server, 3, json!([]), 100).await;
    let falcon = builder(&server).build().unwrap();
    let ids: Vec<String> = falcon
        .user_ids(UserQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(empty.calls_async().await, 1);
}

#[tokio::test]
async fn a_server_ignoring_the_offset_cannot_loop_forever() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    let same = server
        .mock_async(|when, then| {
            when.method(GET).path("/user-management/queries/users/v1");
            then.status(200)
                .json_body(page(json!(["a", "b"]), 0, 2, 1_000_000));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let ids: Vec<String> = falcon
        .user_ids(UserQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b"]);
    assert!(same.calls_async().await <= 3);
}

#[tokio::test]
async fn an_offset_ceiling_is_an_error_not_a_silent_stop() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    page_mock(&server, 0, json!(["a", "b"]), 10).await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/user-management/queries/users/v1")
                .query_param("offset", "2");
            then.status(400)
                .json_body(error_body(400, "offset + limit must be less than 10000"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let mut stream = falcon.user_ids(UserQuery::new().page_size(2));
    assert_eq!(stream.try_next().await.unwrap().as_deref(), Some("a"));
    assert_eq!(stream.try_next().await.unwrap().as_deref(), Some("b"));
    let err = stream.try_next().await.unwrap_err();
    assert!(
        matches!(err, Error::PagingRefused { offset: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("narrow the filter"), "{err}");
}

#[tokio::test]
async fn users_stream_fetches_details_in_batches() {
    let server = MockServer::start_async().await;
    token_mock(&server, "tok").await;
    page_mock(&server, 0, json!(["u1", "u2"]), 3).await;
    page_mock(&server, 2, json!(["u3"]), 3).await;
    let details = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/user-management/entities/users/GET/v1");
            then.status(200).json_body(entities(
                json!([user("u1"), user("u2"), user("u3")]),
                json!([]),
            ));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let users: Vec<_> = falcon
        .users(UserQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(details.calls_async().await, 1, "three ids fit in one batch");
}

#[test]
fn clouds_parse_as_users_type_them() {
    let table = [
        ("us-1", Cloud::Us1),
        ("US1", Cloud::Us1),
        ("us_1", Cloud::Us1),
        ("us2", Cloud::Us2),
        ("US-2", Cloud::Us2),
        ("us-3", Cloud::Us3),
        ("eu-1", Cloud::Eu1),
        ("EU1", Cloud::Eu1),
        ("usgov1", Cloud::UsGov1),
        ("gov1", Cloud::UsGov1),
        ("us-gov-1", Cloud::UsGov1),
        ("us-gov-2", Cloud::UsGov2),
        ("gov2", Cloud::UsGov2),
    ];
    for (text, cloud) in table {
        assert_eq!(text.parse::<Cloud>().unwrap(), cloud, "{text}");
    }
    let custom: Cloud = "https://gateway.example.com/falcon".parse().unwrap();
    assert!(matches!(custom, Cloud::Custom(u) if u.path() == "/falcon"));
    for bad in ["", "mars-1", "us-4", "ftp://x.example", "https://", "eu 2"] {
        let err = bad.parse::<Cloud>().unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: "cloud", .. }),
            "{bad:?}: {err:?}"
        );
    }
}

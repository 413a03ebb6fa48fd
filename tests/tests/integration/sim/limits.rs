//! The simulator against clients that would make it fall over: a pathological FQL glob, half a
//! request head, idle connections beyond the connection limit, oversized and endless bodies, and
//! tokens minted in a loop. Each is answered or cut off in bounded time, and a well-behaved client is still served. Waits are bounded ("does not hang"),
//! never timed assertions of speed.

use std::time::Duration;

use falcon_users_sim::config::HEADER_READ_TIMEOUT;
use falcon_users_sim::{Limits, SimConfig, Simulator};
use falcon_users_tests::BOUND;
use falcon_users_tests::sim::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

fn limits(limits: Limits) -> SimConfig {
    SimConfig {
        limits,
        ..SimConfig::default()
    }
}

fn port(sim: &Simulator) -> String {
    sim.base_url_str().trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or resets it); what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status and JSON body of a raw HTTP/1.1 answer.
fn parse_answer(raw: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or_default())
}

/// The code of the envelope's first error.
fn error_code(body: &serde_json::Value) -> i64 {
    body["errors"][0]["code"].as_i64().unwrap_or_default()
}

#[test]
fn pathological_globs_answer_promptly_and_hold_no_one_up() {
    // The simulator on a runtime of its own: if matching ever blocks its workers again, the
    // client's runtime still keeps time and the bound below fails the test instead of hanging.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = server
        .block_on(Simulator::start(SimConfig {
            users: 1000,
            ..SimConfig::default()
        }))
        .expect("simulator starts");
    let base = sim.base_url_str();
    let client_side = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = client_side.block_on(async {
        let token = mint(&base, RW_ID, RW_SECRET, None).await;
        let client = bearer(&base, &token);
        let total = |filter: &'static str| {
            let client = client.clone();
            async move {
                let answer = client
                    .query_user_v1()
                    .filter(filter)
                    .limit(500)
                    .send()
                    .await
                    .expect("answered");
                answer.into_inner().meta.pagination.expect("paged").total
            }
        };
        // A backtracking matcher takes about 50 s of a worker thread on each of these, holding
        // the state lock; two of them would keep every other client out.
        let run = async {
            tokio::join!(
                total("uid:'******z'"),
                total("uid:'******z'"),
                total("uid:'*a*a*a*a*a*a*a*a*q'"),
                total("uid:'*.com'"),
            )
        };
        timeout(BOUND, run).await
    });
    drop(sim);
    // Not waiting for the server's workers: after a failure they may still be matching.
    server.shutdown_background();
    let (none, again, other, every) = outcome.expect("no glob hangs");
    assert_eq!(
        (none, again, other),
        (0, 0, 0),
        "no login ends in z or has eight a's then q"
    );
    assert_eq!(every, 1000, "every login ends in .com");
}

#[tokio::test]
async fn half_a_request_head_is_disconnected_after_the_header_timeout() {
    let sim = sim(limits(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let mut half = TcpStream::connect(port(&sim)).await.unwrap();
    half.write_all(b"GET /user-management/queries/users/v1 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(port(&sim)).await.unwrap();
    timeout(BOUND, until_closed(&mut half))
        .await
        .expect("a half head is cut off");
    timeout(BOUND, until_closed(&mut silent))
        .await
        .expect("a connection that sends nothing is cut off");
    // The server goes on serving.
    let token = mint(&sim.base_url_str(), RW_ID, RW_SECRET, None).await;
    bearer(&sim.base_url_str(), &token)
        .query_user_v1()
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_limit_do_not_keep_a_client_out() {
    let sim = sim(limits(Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 8,
        ..Limits::default()
    }))
    .await;
    // Four times the limit: the first eight are served (and idle), the rest wait to be accepted,
    // eight at a time as the header timeout closes those before them.
    let mut idle = hold_open(&sim, 32, |_| &b"GET / HTTP/1.1\r\n"[..]).await;
    let answer = timeout(BOUND, users_page(&sim, RW_ID, RW_SECRET))
        .await
        .expect("a normal client is served while idle connections come and go");
    assert_eq!(answer.resources.map(|r| r.len()), Some(100));
    for stream in &mut idle {
        timeout(BOUND, until_closed(stream))
            .await
            .expect("every idle connection is closed in the end");
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_envelope() {
    let sim = sim(limits(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    }))
    .await;
    let token = mint(&sim.base_url_str(), RW_ID, RW_SECRET, None).await;
    let url = format!(
        "{}/user-management/entities/users/GET/v1",
        sim.base_url_str()
    );
    let body = serde_json::json!({ "ids": vec!["x".repeat(36); 100] }).to_string();
    assert!(body.len() > 1024);
    let http = reqwest::Client::new();
    // Declared (Content-Length) and not (chunked): both refused in the envelope.
    let declared = http
        .post(&url)
        .bearer_auth(&token)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let chunks = futures::stream::iter(
        body.into_bytes()
            .chunks(100)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = http
        .post(&url)
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    for answer in [declared, chunked] {
        assert_eq!(answer.status().as_u16(), 413);
        assert!(answer.headers().contains_key("x-cs-traceid"));
        let envelope: serde_json::Value = answer.json().await.expect("a JSON envelope");
        assert_eq!(error_code(&envelope), 413, "{envelope}");
        assert!(
            envelope["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("1024 bytes")),
            "{envelope}"
        );
        assert!(envelope["meta"]["trace_id"].is_string(), "{envelope}");
    }
    // A body within the limit is served as before.
    let small = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "ids": ["nobody"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status().as_u16(), 200);
}

#[tokio::test]
async fn the_default_body_limit_answers_413_in_the_envelope() {
    let sim = sim(SimConfig::default()).await;
    let token = mint(&sim.base_url_str(), RW_ID, RW_SECRET, None).await;
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/user-management/entities/users/v1",
            sim.base_url_str()
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b'a'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 413);
    let envelope: serde_json::Value = answer.json().await.expect("a JSON envelope");
    assert_eq!(error_code(&envelope), 413, "{envelope}");
    assert_eq!(sim.users(&sim.parent_cid()).len(), 200);
}

#[tokio::test]
async fn a_body_that_never_ends_is_408_in_the_envelope() {
    let sim = sim(limits(Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let mut stream = TcpStream::connect(port(&sim)).await.unwrap();
    stream
        .write_all(
            b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\r\nclient_id=",
        )
        .await
        .unwrap();
    let raw = timeout(BOUND, until_closed(&mut stream))
        .await
        .expect("answered and closed");
    let (status, body) = parse_answer(&raw);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&raw));
    assert_eq!(error_code(&body), 408, "{body}");
}

#[tokio::test]
async fn expired_tokens_are_purged_and_still_answer_expired() {
    const TTL: Duration = Duration::from_secs(1);
    let sim = sim(SimConfig {
        token_ttl: TTL,
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url_str();
    let plain = falcon_users_api::Client::new(&base, falcon_users_api::Hooks::none());
    let mut old = Vec::new();
    for _ in 0..200 {
        let minted = plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, None))
            .send()
            .await
            .expect("minted");
        old.push(minted.into_inner().access_token.expect("a token"));
    }
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    assert_eq!(sim.tokens_held(), 200, "expired, not purged yet");
    mint(&base, RW_ID, RW_SECRET, None).await;
    assert_eq!(sim.tokens_held(), 1, "minting purged the expired 200");
    let refused = failure(bearer(&base, &old[0]).query_user_v1().send().await).await;
    assert_eq!(refused.status, 401);
    assert!(refused.mentions("expired bearer token"), "{refused:?}");
    let forged = failure(bearer(&base, "us-1.forged").query_user_v1().send().await).await;
    assert_eq!(forged.status, 401);
    assert!(forged.mentions("invalid bearer token"), "{forged:?}");
}

#[tokio::test]
async fn minting_beyond_the_live_token_bound_is_429_until_one_is_revoked() {
    let sim = sim(limits(Limits {
        max_live_tokens_per_client: 3,
        ..Limits::default()
    }))
    .await;
    let base = sim.base_url_str();
    let first = mint(&base, RW_ID, RW_SECRET, None).await;
    mint(&base, RW_ID, RW_SECRET, None).await;
    mint(&base, RW_ID, RW_SECRET, None).await;
    let refused = failure(
        falcon_users_api::Client::new(&base, falcon_users_api::Hooks::none())
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, None))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert!(
        refused.mentions("too many live tokens for this client (at most 3 per client)"),
        "{refused:?}"
    );
    let retry_at = header_num(&refused.headers, "x-ratelimit-retryafter");
    assert!(retry_at > now_secs() + 1000, "when the first token expires");
    assert_eq!(sim.tokens_held(), 3);
    basic(&base, RW_ID, RW_SECRET)
        .oauth2_revoke_token()
        .body(falcon_users_api::types::Oauth2RevokeTokenBody {
            client_id: Some(RW_ID.into()),
            token: first,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(sim.tokens_held(), 2);
    mint(&base, RW_ID, RW_SECRET, None).await;
}

/// The live-token bound is each client's: the read-only client minting in a loop until it is
/// refused leaves the read-write client minting and working, and its own refusal names the bound.
#[tokio::test]
async fn one_client_at_its_token_bound_does_not_keep_another_out() {
    let sim = sim(limits(Limits {
        max_live_tokens_per_client: 5,
        ..Limits::default()
    }))
    .await;
    let base = sim.base_url_str();
    let plain = falcon_users_api::Client::new(&base, falcon_users_api::Hooks::none());
    let mut minted = 0;
    let refused = loop {
        let result = plain
            .oauth2_access_token()
            .body(token_body(RO_ID, RO_SECRET, None))
            .send()
            .await;
        if result.is_err() {
            break failure(result).await;
        }
        minted += 1;
        assert!(minted <= 5, "the read-only client minted past its bound");
    };
    assert_eq!((minted, refused.status), (5, 429), "{refused:?}");
    for _ in 0..5 {
        let token = mint(&base, RW_ID, RW_SECRET, None).await;
        bearer(&base, &token).query_user_v1().send().await.unwrap();
    }
    assert_eq!(sim.tokens_held(), 10);
}

/// With the default limits, 200 connections that send nothing or half a request line are
/// closed by the server within the documented header timeout, and a client that sends its
/// request is served while they are held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_open_connections_are_dropped_after_the_default_header_timeout() {
    let sim = sim(SimConfig {
        users: 10,
        ..SimConfig::default()
    })
    .await;
    // Half send nothing, half a request line.
    let mut idle = hold_open(&sim, 200, |n| match n % 2 {
        0 => &b"POST /oauth2/tok"[..],
        _ => &b""[..],
    })
    .await;
    let answer = timeout(BOUND, users_page(&sim, RO_ID, RO_SECRET))
        .await
        .expect("a client is served while the idle connections are held");
    assert_eq!(answer.resources.map(|r| r.len()), Some(10));
    // The README promises a few seconds (5 s); the wait below is bounded ([`BOUND`]) well under
    // the 30 s a connection could once hold a slot for.
    assert!(HEADER_READ_TIMEOUT <= Duration::from_secs(5));
    let closed = futures::future::join_all(idle.iter_mut().map(until_closed));
    timeout(BOUND, closed)
        .await
        .expect("every idle connection is closed within the header timeout");
}

#[tokio::test]
async fn a_config_beyond_the_bounds_does_not_start() {
    for config in [
        SimConfig {
            users: 100_000_000,
            ..SimConfig::default()
        },
        SimConfig {
            roles: usize::MAX,
            ..SimConfig::default()
        },
        SimConfig {
            child_cids: 1_000_000,
            ..SimConfig::default()
        },
    ] {
        let Err(refused) = Simulator::start(config.clone()).await else {
            panic!("{config:?} started");
        };
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            refused
                .to_string()
                .contains("more than the simulator holds"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn names_longer_than_the_bound_are_refused_and_not_stored() {
    use falcon_users_api::types::{DomainCreateUserRequest, DomainUpdateUserRequest};
    use falcon_users_sim::config::MAX_NAME_CHARS;
    let sim = sim(SimConfig::default()).await;
    let client = bearer(
        &sim.base_url_str(),
        &mint(&sim.base_url_str(), RW_ID, RW_SECRET, None).await,
    );
    let users = || sim.users(&sim.parent_cid()).len();
    let before = users();
    let request = |uid: &str, first: String| DomainCreateUserRequest {
        first_name: Some(first),
        ..new_user(uid, "")
    };
    // Characters, not bytes: the longest name of 'é' is twice as many bytes.
    let longest = "é".repeat(MAX_NAME_CHARS);
    let created = client
        .create_user_v1()
        .body(request("long.name@example.com", longest.clone()))
        .send()
        .await
        .expect("a name at the bound is kept")
        .into_inner();
    let uuid = created.resources.unwrap()[0].uuid.clone().unwrap();
    let refused = failure(
        client
            .create_user_v1()
            .body(request("too.long@example.com", format!("{longest}x")))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.mentions("first_name is longer than"), "{refused:?}");
    assert_eq!(users(), before + 1, "the refused user is not stored");
    let refused = failure(
        client
            .update_user_v1()
            .user_uuid(&uuid)
            .body(DomainUpdateUserRequest {
                first_name: None,
                last_name: Some("x".repeat(2 * 1024 * 1024 - 100)),
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.mentions("last_name is longer than"), "{refused:?}");
    let kept = sim.inspect(|s| s.tenants[&sim.parent_cid()].users[&uuid].clone());
    assert_eq!(
        (kept.first_name, kept.last_name.as_str()),
        (longest, "Hopper")
    );
}

/// `n` connections to `sim`, the `i`th having sent `sent(i)` and nothing more.
async fn hold_open(
    sim: &Simulator,
    n: usize,
    sent: impl Fn(usize) -> &'static [u8],
) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for i in 0..n {
        let mut stream = TcpStream::connect(port(sim)).await.unwrap();
        stream.write_all(sent(i)).await.unwrap();
        held.push(stream);
    }
    held
}

/// The first page of users, as a client with its own token gets it.
async fn users_page(
    sim: &Simulator,
    id: &str,
    secret: &str,
) -> falcon_users_api::types::MsaspecQueryResponse {
    let token = mint(&sim.base_url_str(), id, secret, None).await;
    bearer(&sim.base_url_str(), &token)
        .query_user_v1()
        .send()
        .await
        .unwrap()
        .into_inner()
}

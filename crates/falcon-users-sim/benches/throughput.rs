//! Simulator throughput on loopback: requests/second for `queryUserV1` and `retrieveUsersGETV1`
//! with 64 concurrent keep-alive clients, each scenario for a fixed time.
//! Run: `cargo bench -p falcon-users-sim --bench throughput`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use falcon_users_sim::{SimConfig, Simulator};

const CLIENTS: usize = 64;
const SECONDS: u64 = 4;

#[tokio::main]
async fn main() {
    let sim = Simulator::start(SimConfig {
        users: 10_000,
        rate_limit_per_minute: u32::MAX,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    let token: serde_json::Value = http
        .post(format!("{}/oauth2/token", sim.base_url_str()))
        .form(&[
            ("client_id", "sim-rw-client"),
            ("client_secret", "sim-rw-secret"),
        ])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("token")
        .json()
        .await
        .expect("token body");
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );
    let ids: Vec<String> = sim.inspect(|s| {
        s.tenants[&sim.parent_cid()]
            .by_uid
            .values()
            .take(100)
            .cloned()
            .collect()
    });
    let ids_body = serde_json::json!({ "ids": ids }).to_string();

    let mut rows = Vec::new();
    for (name, post) in [
        ("queryUserV1 (limit 100)", false),
        ("retrieveUsersGETV1 (100 ids)", true),
    ] {
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(SECONDS);
        let started = Instant::now();
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (http, bearer, base, body) = (
                    http.clone(),
                    bearer.clone(),
                    sim.base_url_str(),
                    ids_body.clone(),
                );
                let (done, failed) = (done.clone(), failed.clone());
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let request = if post {
                            http.post(format!("{base}/user-management/entities/users/GET/v1"))
                                .header("content-type", "application/json")
                                .body(body.clone())
                        } else {
                            http.get(format!(
                                "{base}/user-management/queries/users/v1?limit=100&offset=200"
                            ))
                        };
                        let ok = match request.header("authorization", &bearer).send().await {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
        let secs = started.elapsed().as_secs_f64();
        let count = done.load(Ordering::Relaxed);
        rows.push((
            name,
            count as f64 / secs,
            count,
            failed.load(Ordering::Relaxed),
        ));
    }
    println!(
        "simulator throughput, {CLIENTS} concurrent clients, {SECONDS} s per scenario (client and server share the machine)"
    );
    println!(
        "{:<32} {:>12} {:>10} {:>8}",
        "scenario", "req/s", "requests", "failed"
    );
    for (name, rate, count, failed) in &rows {
        println!("{name:<32} {rate:>12.0} {count:>10} {failed:>8}");
    }
    let json: Vec<_> = rows
        .iter()
        .map(|(name, rate, count, failed)| serde_json::json!({"scenario": name, "req_per_s": rate.round(), "requests": count, "failed": failed}))
        .collect();
    println!("{}", serde_json::Value::Array(json));
}

//! Scenario 3: Memory: a streaming inventory written to `/dev/null`, at two tenant sizes, each in a fresh
//! process that reports its own peak resident set. Constant memory means the two peaks agree.
//! Then one call against a server whose answer never ends: the body limit holds the peak.

use std::io::Write;

use anyhow::{Context, Result, bail};
use falcon_users::UserQuery;
use falcon_users::workflows::InventoryOptions;
use futures::TryStreamExt;
use serde_json::json;

use crate::measure::{mib, own_peak_rss};
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// Streams an inventory of `sizes[0]` and `sizes[1]` users in child processes.
pub fn run(sizes: [usize; 2], concurrency: usize) -> Result<Report> {
    let mut report = Report::new("memory");
    let mut peaks = Vec::new();
    for users in sizes {
        let sim = SimProcess::start(&SimSpec::unlimited(users)?)?;
        let answer = super::child(&[
            "stream",
            "--base-url",
            &sim.base_url,
            "--out",
            "/dev/null",
            "--concurrency",
            &concurrency.to_string(),
        ])?;
        let streamed = answer["users"].as_u64().unwrap_or(0);
        if streamed != users as u64 {
            bail!("streamed {streamed} users of {users}");
        }
        let peak = mib(answer["peak_rss"].as_u64().unwrap_or(0));
        report.figure(format!("peak RSS, {users} users"), peak, "MiB");
        report.figure(
            format!("wall, {users} users"),
            answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            "s",
        );
        report.at_most(format!("peak RSS MiB, {users} users"), peak, 64.0);
        peaks.push(peak);
    }
    let growth = (peaks[1] - peaks[0]).abs() / peaks[0];
    report.at_most(
        format!("peak RSS difference {} vs {} users", sizes[1], sizes[0]),
        growth,
        0.15,
    );
    let flood = FloodServer::start()?;
    let answer = super::child(&["flood-call", "--base-url", &flood.base_url])?;
    let peak = mib(answer["peak_rss"].as_u64().unwrap_or(0));
    report.figure("peak RSS, one endless answer", peak, "MiB");
    report.figure(
        "wall, one endless answer",
        answer["wall_s"].as_f64().unwrap_or(f64::NAN),
        "s",
    );
    report.figure(
        "bytes taken by the client",
        mib(flood.sent.load(std::sync::atomic::Ordering::SeqCst)),
        "MiB",
    );
    report.at_most("peak RSS MiB, one endless answer", peak, 96.0);
    Ok(report)
}

/// The child: one call against a server whose answer never ends (with the default body limit);
/// prints its peak RSS once the call has failed as it must.
pub async fn flood_call(base_url: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let falcon = super::client(base_url)?;
    match falcon.query_user_ids(&UserQuery::new(), 0).await {
        Err(falcon_users::Error::BodyTooLarge { .. }) => {}
        other => bail!("expected BodyTooLarge, got {other:?}"),
    }
    println!(
        "{}",
        json!({"peak_rss": own_peak_rss()?, "wall_s": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

/// A loopback HTTP/1.1 server that mints a token and answers everything else with a chunked
/// body of JSON whitespace that never ends; counts the bytes the client took.
struct FloodServer {
    base_url: String,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

impl FloodServer {
    fn start() -> Result<Self> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let runtime = tokio::runtime::Runtime::new()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        runtime.spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    loop {
                        // One request: the head, and the little form body of a token request.
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                                return;
                            }
                            head.push(byte[0]);
                        }
                        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; length];
                        if conn.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        if head.contains("/oauth2/token") {
                            let token = r#"{"access_token":"t","token_type":"bearer","expires_in":1799}"#;
                            let reply = format!(
                                "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{token}",
                                token.len()
                            );
                            if conn.write_all(reply.as_bytes()).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        if conn.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let mut chunk = b"10000\r\n".to_vec();
                        chunk.extend(std::iter::repeat_n(b' ', 0x10000));
                        chunk.extend_from_slice(b"\r\n");
                        while conn.write_all(&chunk).await.is_ok() {
                            counter.fetch_add(0x10000, Ordering::SeqCst);
                        }
                        return;
                    }
                });
            }
        });
        Ok(FloodServer {
            base_url,
            sent,
            _runtime: runtime,
        })
    }
}

/// The child: streams the inventory as JSON lines to `out`, then prints its peak RSS.
pub async fn stream(base_url: &str, out: &str, concurrency: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let falcon = super::client(base_url)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("opening {out}"))?;
    let mut sink = std::io::BufWriter::new(file);
    let mut stream = falcon.inventory(
        UserQuery::new(),
        InventoryOptions::new().concurrency(concurrency),
    );
    let mut users = 0u64;
    while let Some(item) = stream.try_next().await? {
        serde_json::to_writer(
            &mut sink,
            &json!({"user": item.user, "grants": item.grants}),
        )?;
        sink.write_all(b"\n")?;
        users += 1;
    }
    sink.flush()?;
    let stats = falcon.stats();
    println!(
        "{}",
        json!({
            "users": users,
            "peak_rss": own_peak_rss()?,
            "wall_s": started.elapsed().as_secs_f64(),
            "requests": stats.requests, // the token requests included
        })
    );
    Ok(())
}

//! Shared set-up of the `ergonomic_*` tests: httpmock helpers, a tiny loopback HTTP/1.1 server
//! (which also serves as a forward proxy that keeps every request on 127.0.0.1), and a capture
//! of `tracing` output.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use falcon_users::clock::{Clock, ManualClock};
use falcon_users::{Cloud, Falcon, FalconBuilder};
use httpmock::Method::POST;
use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

pub const CLIENT_ID: &str = "ergo-client-id";
/// URL-safe, so that it appears verbatim in the form body.
pub const SECRET: &str = "ergo-S3CRET-value-9f2c71";
/// A CID as the API wants it.
pub const CID: &str = "0123456789abcdef0123456789abcdef";
/// The same CID as pasted from the console: upper case with a checksum suffix.
pub const CID_PASTED: &str = "0123456789ABCDEF0123456789ABCDEF-7C";

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const QUERY_USERS_PATH: &str = "/user-management/queries/users/v1";
pub const RETRIEVE_USERS_PATH: &str = "/user-management/entities/users/GET/v1";
pub const USERS_PATH: &str = "/user-management/entities/users/v1";

/// Every test is bounded: a hang fails after this long instead of blocking the suite.
pub const BOUND: Duration = Duration::from_secs(20);

/// Awaits `f`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("the call did not finish in time (loop or hang)")
}

pub fn url(server: &MockServer) -> Url {
    Url::parse(&server.base_url()).expect("mock URL parses")
}

/// A builder pointed at `server` as a custom cloud, with the test credentials.
pub fn builder(server: &MockServer) -> FalconBuilder {
    Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(url(server)))
}

/// A client for `server` on a manual clock (waits and backoffs take no real time).
pub fn with_clock(server: &MockServer) -> (Falcon, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let falcon = builder(server)
        .clock(clock.clone())
        .build()
        .expect("valid settings");
    (falcon, clock)
}

/// Moves `clock` to the next whole second, so epoch-second headers are exact.
pub fn align_to_second(clock: &ManualClock) {
    let nanos = clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    if nanos != 0 {
        clock.advance(Duration::from_secs(1) - Duration::from_nanos(u64::from(nanos)));
    }
}

/// The clock's time in whole epoch seconds.
pub fn epoch_secs(clock: &ManualClock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The exact form body of a token request.
pub fn token_form(member_cid: Option<&str>) -> String {
    match member_cid {
        Some(cid) => format!("client_id={CLIENT_ID}&client_secret={SECRET}&member_cid={cid}"),
        None => format!("client_id={CLIENT_ID}&client_secret={SECRET}"),
    }
}

/// A token response body.
pub fn token_json(token: &str, expires_in: u64) -> Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
}

/// The token endpoint, answering `token` (1799 s) to any token request.
pub async fn token_mock<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    let body = token_json(token, 1799);
    server
        .mock_async(move |when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(201)
                .header("content-type", "application/json")
                .header("X-Cs-Region", "us-1")
                .json_body(body);
        })
        .await
}

/// The token endpoint, answering `tokens[0]`, then `tokens[1]`, ... (the last one repeats).
pub async fn token_sequence<'a>(
    server: &'a MockServer,
    tokens: &[&str],
    expires_in: u64,
) -> Mock<'a> {
    let replies = tokens
        .iter()
        .map(|t| json_reply(201, &token_json(t, expires_in)))
        .collect();
    let responder = scripted(replies);
    server
        .mock_async(move |when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.respond_with(responder);
        })
        .await
}

/// `{meta, resources, errors}` with a pagination block.
pub fn page(resources: Value, offset: u64, limit: u64, total: u64) -> Value {
    json!({
        "meta": {"query_time": 0.01, "trace_id": "trace-page",
                 "pagination": {"offset": offset, "limit": limit, "total": total}},
        "resources": resources,
        "errors": [],
    })
}

/// `{meta, resources, errors}` without pagination.
pub fn entities(resources: Value, errors: Value) -> Value {
    json!({"meta": {"query_time": 0.01, "trace_id": "trace-entities"},
           "resources": resources, "errors": errors})
}

/// An error envelope.
pub fn error_body(code: u16, message: &str) -> Value {
    json!({"meta": {"query_time": 0.0, "trace_id": "trace-err"},
           "errors": [{"code": code, "message": message}]})
}

/// A user entity.
pub fn user(uuid: &str) -> Value {
    json!({"uuid": uuid, "uid": format!("{uuid}@example.com"), "cid": CID})
}

/// A JSON response for `respond_with`.
pub fn json_reply(status: u16, body: &Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

/// A responder giving the i-th reply to the i-th request (the last reply repeats).
pub fn scripted(
    replies: Vec<HttpMockResponse>,
) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
    assert!(!replies.is_empty());
    let next = AtomicUsize::new(0);
    move |_req| {
        let i = next.fetch_add(1, Ordering::SeqCst);
        replies[i.min(replies.len() - 1)].clone()
    }
}

/// A mock that answers any request (to assert that nothing was sent).
pub async fn catch_all(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|_when, then| {
            then.status(599).body("nothing should have been sent");
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server on loopback.
// ---------------------------------------------------------------------------------------------

/// A request the mini server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Which of the server's listeners accepted the connection.
    pub listener: usize,
    pub method: String,
    /// The request target as sent: origin-form (`/path?q`), absolute-form
    /// (`http://host:port/path`, through a proxy) or authority-form (`host:port`, CONNECT).
    pub target: String,
    /// The authority the request is meant for: from the absolute-form target, the CONNECT
    /// target, or the `Host` header.
    pub authority: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    /// The path without the query, whatever the target form.
    pub fn path(&self) -> &str {
        let rest = match self.target.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => &self.target,
        };
        rest.split('?').next().unwrap_or(rest)
    }

    /// A header value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A reply of the mini server.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A hand-written HTTP/1.1 responder on 127.0.0.1 that records every request and the most
/// requests it ever had in flight at once. Its handler may delay every reply.
///
/// Used as a forward proxy (`FalconBuilder::proxy`), it receives every request the client makes,
/// including the `CONNECT host:443` of any https URL, which it refuses: nothing leaves loopback,
/// and a region switch to a real Falcon host is visible as a refused `CONNECT`.
pub struct MiniServer {
    pub addrs: Vec<SocketAddr>,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl MiniServer {
    /// One listener.
    pub async fn start(
        delay: Duration,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_many(1, delay, handler).await
    }

    /// `listeners` listeners on distinct loopback ports, sharing one handler and one log.
    pub async fn start_many(
        listeners: usize,
        delay: Duration,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let handler: Handler = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for index in 0..listeners {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addrs.push(listener.local_addr().expect("local addr"));
            let (handler, seen) = (handler.clone(), seen.clone());
            let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let conn = Connection {
                        listener: index,
                        handler: handler.clone(),
                        seen: seen.clone(),
                        in_flight: in_flight.clone(),
                        max_in_flight: max_in_flight.clone(),
                        delay,
                    };
                    tokio::spawn(conn.serve(stream));
                }
            }));
        }
        MiniServer {
            addrs,
            seen,
            max_in_flight,
            tasks,
        }
    }

    /// `http://127.0.0.1:port/` of listener `i`.
    pub fn url(&self, i: usize) -> Url {
        Url::parse(&format!("http://{}/", self.addrs[i])).expect("loopback URL")
    }

    /// `127.0.0.1:port` of listener `i`.
    pub fn authority(&self, i: usize) -> String {
        self.addrs[i].to_string()
    }

    /// Every request received so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The most requests that were ever being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for MiniServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Connection {
    listener: usize,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    delay: Duration,
}

impl Connection {
    async fn serve(self, stream: TcpStream) {
        let mut stream = BufReader::new(stream);
        // Keep-alive: one request after the other until the client closes.
        while let Some(request) = self.read_request(&mut stream).await {
            let connect = request.method.eq_ignore_ascii_case("CONNECT");
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(request.clone());
            // Counted from "fully received" to "about to answer": always inside the client's
            // own in-flight interval, so the maximum never over-counts.
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let reply = if connect {
                Reply::empty(403)
            } else {
                if !self.delay.is_zero() {
                    tokio::time::sleep(self.delay).await;
                }
                (self.handler)(&request)
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut head = format!("HTTP/1.1 {} Mini\r\n", reply.status);
            for (name, value) in &reply.headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
            if connect {
                head.push_str("Connection: close\r\n");
            }
            head.push_str("\r\n");
            let out = stream.get_mut();
            if out.write_all(head.as_bytes()).await.is_err()
                || out.write_all(reply.body.as_bytes()).await.is_err()
                || out.flush().await.is_err()
                || connect
            {
                return;
            }
        }
    }

    async fn read_request(&self, stream: &mut BufReader<TcpStream>) -> Option<Seen> {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_owned();
        let target = parts.next()?.to_owned();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if stream.read_line(&mut header).await.ok()? == 0 {
                return None;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':')?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.ok()?;
        let authority = if method.eq_ignore_ascii_case("CONNECT") {
            target.clone()
        } else if let Some((_, rest)) = target.split_once("://") {
            rest.split('/').next().unwrap_or_default().to_owned()
        } else {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Some(Seen {
            listener: self.listener,
            method,
            target,
            authority,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Capturing `tracing` output.
// ---------------------------------------------------------------------------------------------

/// A shared buffer that a `tracing-subscriber` fmt layer writes into.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures every event and span at TRACE level on this thread until the guard is dropped.
/// The mock server's own logs (which print whole requests) are left out: they are the test
/// double's, not the SDK's.
pub fn capture_traces() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,httpmock=off"))
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

/// The manual clock's recorded sleeps, summed.
pub fn slept(clock: &ManualClock) -> Duration {
    clock.sleeps().iter().sum()
}

/// Standard base64 with padding (to look for a Basic credential in output).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

//! A hand-written HTTP/1.1 server on loopback whose answers are scripted per request; it records
//! every request and the most it ever had in flight, and as a forward proxy keeps every request
//! on 127.0.0.1 (a `CONNECT` is refused). A reply may also be a flood: a body of any announced
//! size, or one without end, sent for as long as the client reads.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Request {
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

impl Request {
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

/// A reply: status, headers, body, and how long to wait before sending it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    /// Sent instead of `body` when set.
    pub flood: Option<Flood>,
}

/// A body of JSON whitespace sent in 64 KiB pieces for as long as the client reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flood {
    /// `Content-Length` announces this many bytes, and that many are sent.
    Announced(u64),
    /// Chunked, without end.
    Endless,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
            flood: None,
        }
    }

    /// A `status` answer whose body is a [`Flood`].
    pub fn flood(status: u16, flood: Flood) -> Self {
        Reply {
            flood: Some(flood),
            ..Reply::json(status, &Value::Null)
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            flood: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Waits `delay` before answering (still counted as in flight).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Request, usize) -> Reply + Send + Sync>;

/// A hand-written HTTP/1.1 responder on 127.0.0.1 that records every request and the most
/// requests it ever had in flight at once. Every reply may be delayed (server-wide or per reply).
/// It reads `Content-Length` bodies only (no chunked requests).
///
/// Used as a forward proxy (`FalconBuilder::proxy`), it receives every request the client makes,
/// including the `CONNECT host:443` of any https URL, which it refuses: nothing leaves loopback,
/// and a region switch to a real Falcon host is visible as a refused `CONNECT`.
pub struct Server {
    pub addrs: Vec<SocketAddr>,
    seen: Arc<Mutex<Vec<Request>>>,
    max_in_flight: Arc<AtomicUsize>,
    flooded: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// One listener; `handler` answers every request after `delay`.
    pub async fn start(
        delay: Duration,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_many(1, delay, handler).await
    }

    /// One listener; `script(request, index)` answers the `index`-th request (from 0, in
    /// arrival order).
    pub async fn scripted(
        script: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::listen(1, Duration::ZERO, Arc::new(script)).await
    }

    /// `listeners` listeners on distinct loopback ports, sharing one handler and one log.
    pub async fn start_many(
        listeners: usize,
        delay: Duration,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::listen(
            listeners,
            delay,
            Arc::new(move |request, _| handler(request)),
        )
        .await
    }

    async fn listen(listeners: usize, delay: Duration, handler: Handler) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let flooded = Arc::new(AtomicU64::new(0));
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for index in 0..listeners {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addrs.push(listener.local_addr().expect("local addr"));
            let (handler, seen) = (handler.clone(), seen.clone());
            let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
            let flooded = flooded.clone();
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
                        flooded: flooded.clone(),
                        delay,
                    };
                    tokio::spawn(conn.serve(stream));
                }
            }));
        }
        Server {
            addrs,
            seen,
            max_in_flight,
            flooded,
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
    pub fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many requests had this path.
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path() == path).count()
    }

    /// The most requests that were ever being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Bytes of flood bodies the clients took (written into their sockets) so far.
    pub fn flooded(&self) -> u64 {
        self.flooded.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Connection {
    listener: usize,
    handler: Handler,
    seen: Arc<Mutex<Vec<Request>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    flooded: Arc<AtomicU64>,
    delay: Duration,
}

impl Connection {
    async fn serve(self, stream: TcpStream) {
        let mut stream = BufReader::new(stream);
        // Keep-alive: one request after the other until the client closes.
        while let Some(request) = self.read_request(&mut stream).await {
            let connect = request.method.eq_ignore_ascii_case("CONNECT");
            let index = {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.push(request.clone());
                seen.len() - 1
            };
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
                let reply = (self.handler)(&request, index);
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                reply
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut head = format!("HTTP/1.1 {} Mini\r\n", reply.status);
            for (name, value) in &reply.headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            match reply.flood {
                Some(Flood::Announced(length)) => {
                    head.push_str(&format!("Content-Length: {length}\r\n"));
                }
                Some(Flood::Endless) => head.push_str("Transfer-Encoding: chunked\r\n"),
                None => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
            }
            if connect {
                head.push_str("Connection: close\r\n");
            }
            head.push_str("\r\n");
            let out = stream.get_mut();
            if let Some(flood) = reply.flood {
                if out.write_all(head.as_bytes()).await.is_ok() {
                    self.flood(out, flood).await;
                }
                return;
            }
            if out.write_all(head.as_bytes()).await.is_err()
                || out.write_all(reply.body.as_bytes()).await.is_err()
                || out.flush().await.is_err()
                || connect
            {
                return;
            }
        }
    }

    /// Writes the flood until it is all sent or the client stops reading (and hangs up).
    async fn flood(&self, out: &mut TcpStream, flood: Flood) {
        const PIECE: usize = 64 * 1024;
        let piece = vec![b' '; PIECE];
        let chunk_head = format!("{PIECE:x}\r\n");
        let mut left = match flood {
            Flood::Announced(length) => length,
            Flood::Endless => u64::MAX,
        };
        while left > 0 {
            let n = left.min(PIECE as u64) as usize;
            let sent = match flood {
                Flood::Announced(_) => out.write_all(&piece[..n]).await,
                Flood::Endless => {
                    let mut framed = chunk_head.clone().into_bytes();
                    framed.extend_from_slice(&piece);
                    framed.extend_from_slice(b"\r\n");
                    out.write_all(&framed).await
                }
            };
            if sent.is_err() {
                return;
            }
            self.flooded.fetch_add(n as u64, Ordering::SeqCst);
            left -= n as u64;
        }
        let _ = out.flush().await;
    }

    async fn read_request(&self, stream: &mut BufReader<TcpStream>) -> Option<Request> {
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
        Some(Request {
            listener: self.listener,
            method,
            target,
            authority,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

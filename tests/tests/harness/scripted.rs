//! A loopback HTTP server whose answers are scripted per request, and which records the requests
//! and the most requests it ever had in flight.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
}

/// An answer: status, extra headers, JSON body, and how long to take.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
    pub delay: Duration,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body,
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Script = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

struct Inner {
    script: Box<Script>,
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The running server; stops when dropped.
pub struct Scripted {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Scripted {
    /// Starts on 127.0.0.1; `script(request, index)` answers the `index`-th request (from 0).
    pub async fn start(script: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static) -> Self {
        let inner = Arc::new(Inner {
            script: Box::new(script),
            seen: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Scripted {
            addr,
            inner,
            _stop: stop,
        }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("loopback URL")
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let seen = Seen {
        method,
        path: uri.path().to_owned(),
        headers,
    };
    let index = {
        let mut log = inner.seen.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let answer = (inner.script)(&seen, index);
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(answer.body),
    )
        .into_response();
    for (name, value) in answer.headers {
        if let Ok(v) = value.parse() {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

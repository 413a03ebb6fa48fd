//! Network failures name the host and the cause; the simulator's region header is no warning;
//! credentials never reach a proxy in clear, and https still goes through one.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use falcon_users_sim::SimConfig;

use crate::support::*;

fn against(url: &str) -> std::process::Output {
    run(
        &["users", "list"],
        &[
            ("FALCON_CLOUD", url),
            ("FALCON_CLIENT_ID", "id"),
            ("FALCON_CLIENT_SECRET", "secret-not-shown-2"),
        ],
    )
}

#[test]
fn a_closed_port_is_named_with_connection_refused() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("an address").port()
    };
    let out = against(&format!("http://127.0.0.1:{port}"));
    assert_eq!(out.status.code(), Some(4));
    let why = text(&out.stderr);
    assert!(why.contains(&format!("127.0.0.1:{port}")), "{why}");
    assert!(why.contains("connection refused"), "{why}");
    assert!(!why.contains("error sending request"), "{why}");
    assert!(!why.contains("secret-not-shown-2"));
}

#[test]
fn a_plain_http_server_on_an_https_url_is_called_what_it_is() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut hello = [0u8; 1024];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let out = against(&format!("https://127.0.0.1:{port}"));
    assert_eq!(out.status.code(), Some(4));
    let why = text(&out.stderr);
    assert!(why.contains(&format!("127.0.0.1:{port}")), "{why}");
    assert!(why.contains("did not answer in TLS"), "{why}");
}

/// A loopback TLS server whose certificate (tests/cli/fixtures, for 127.0.0.1, valid for a
/// century) no CA signed: the client must refuse it and say so.
#[test]
fn a_self_signed_certificate_is_refused_and_named() {
    let cert = CertificateDer::from_pem_slice(include_bytes!("fixtures/self-signed.cert.pem"))
        .expect("the fixture certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/self-signed.key.pem"))
        .expect("the fixture key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("a server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            // The handshake fails on the client's side; the server only has to offer it.
            while tls.is_handshaking() {
                if tls.complete_io(&mut tcp).is_err() {
                    break;
                }
            }
        }
    });
    let out = against(&format!("https://127.0.0.1:{port}"));
    assert_eq!(out.status.code(), Some(4));
    let why = text(&out.stderr);
    assert!(why.contains(&format!("127.0.0.1:{port}")), "{why}");
    assert!(why.contains("TLS certificate was refused"), "{why}");
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert_eq!(why.lines().count(), 1, "one error, no log lines: {why}");
}

#[test]
fn the_simulator_region_header_is_not_a_warning() {
    // A simulator playing another region than the one its URL would be: still the user's
    // explicit choice of URL, nothing to warn about.
    let sim = Sim::start(SimConfig {
        users: 3,
        region: "eu-1".into(),
        ..SimConfig::default()
    });
    let env = sim.env();
    let out = run(&["-f", "json", "users", "list"], &pairs(&env));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "nothing on stderr");

    let embedded = run(
        &[
            "--simulate",
            "--sim-users",
            "3",
            "-f",
            "json",
            "users",
            "list",
        ],
        &[],
    );
    assert!(embedded.status.success(), "{}", text(&embedded.stderr));
    assert!(
        !text(&embedded.stderr).contains("X-Cs-Region"),
        "{}",
        text(&embedded.stderr)
    );
}

/// A loopback listener standing in for a proxy: keeps the first bytes of every connection made
/// to it and answers 502.
struct RecordingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut head = vec![0u8; 64 * 1024];
                let n = stream.read(&mut head).unwrap_or(0);
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head[..n]).into_owned());
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        RecordingProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// With a proxy variable set, the token request (`client_id=...&client_secret=...`)
/// to a plain-http cloud went to the proxy in clear. A plain-http endpoint is reached directly,
/// whichever variable names the proxy.
#[test]
fn a_plain_http_endpoint_is_never_reached_through_a_proxy() {
    let sim = Sim::start(SimConfig {
        users: 3,
        ..SimConfig::default()
    });
    let sim_env = sim.env();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        let proxy = RecordingProxy::start();
        let mut env = pairs(&sim_env);
        env.push((var, proxy.url.as_str()));
        let out = run(&["-f", "json", "users", "list"], &env);
        assert!(out.status.success(), "{var}: {}", text(&out.stderr));
        let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(users.as_array().map(Vec::len), Some(3), "{var}");
        assert_eq!(
            proxy.seen(),
            Vec::<String>::new(),
            "{var}: nothing to the proxy"
        );
    }
}

/// https keeps the proxy (a `CONNECT` tunnel: TLS runs through it end to end), from
/// `HTTPS_PROXY` or `ALL_PROXY`; a host in `NO_PROXY` is reached directly.
#[test]
fn https_still_goes_through_the_proxy_unless_no_proxy_names_the_host() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("an address").port()
    };
    let cloud = format!("https://127.0.0.1:{port}");
    let creds = [
        ("FALCON_CLOUD", cloud.as_str()),
        ("FALCON_CLIENT_ID", "id"),
        ("FALCON_CLIENT_SECRET", "secret-not-shown-3"),
    ];
    for var in ["HTTPS_PROXY", "ALL_PROXY"] {
        let proxy = RecordingProxy::start();
        let mut env = creds.to_vec();
        env.push((var, proxy.url.as_str()));
        let out = run(&["users", "list"], &env);
        assert_eq!(out.status.code(), Some(4), "{var}: the proxy refused");
        let seen = proxy.seen();
        assert!(!seen.is_empty(), "{var}: the proxy was used");
        for head in &seen {
            assert!(
                head.starts_with(&format!("CONNECT 127.0.0.1:{port} ")),
                "{var}: a tunnel, nothing in clear: {head:?}"
            );
            assert!(!head.contains("secret-not-shown-3"), "{var}: {head:?}");
        }
    }

    let proxy = RecordingProxy::start();
    let mut env = creds.to_vec();
    env.extend([("ALL_PROXY", proxy.url.as_str()), ("NO_PROXY", "127.0.0.1")]);
    let out = run(&["users", "list"], &env);
    assert_eq!(out.status.code(), Some(4), "nothing listens there");
    assert!(text(&out.stderr).contains("connection refused"));
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "NO_PROXY names the host"
    );
}

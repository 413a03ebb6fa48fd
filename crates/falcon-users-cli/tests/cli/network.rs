//! Network failures name the host and the cause; the simulator's region header is no warning.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

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

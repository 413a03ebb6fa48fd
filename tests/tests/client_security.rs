//! Secrets (client secret, tokens) never appear in Debug, Display, errors or TRACE logs.

mod harness;

use std::io::Write;
use std::sync::{Arc, Mutex};

use falcon_users::{Credentials, Falcon, UserQuery};
use harness::*;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

const TOKEN: &str = "eyJ-very-secret-bearer-token-value";

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let creds = Credentials::new("client-id-1", SECRET);
    let builder = Falcon::builder()
        .client_id("client-id-1")
        .client_secret(SECRET);
    let falcon = builder.build().unwrap();
    for text in [
        format!("{creds:?}"),
        format!("{falcon:?}"),
        format!("{:?}", Falcon::builder().client_secret(SECRET)),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    assert!(
        format!("{falcon:?}").contains("client-id-1"),
        "the id is fine to show"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn trace_logs_and_errors_never_show_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(201)
                .json_body(json!({"access_token": TOKEN, "expires_in": 1799}));
        })
        .await;
    // Always 401: the client refreshes once (a second mint) and gives up with an error.
    server
        .mock_async(|when, then| {
            when.method(GET).path("/user-management/queries/users/v1");
            then.status(401).json_body(error_body(401, "access denied"));
        })
        .await;
    let falcon = builder(&server).build().unwrap();
    let err = falcon
        .query_user_ids(&UserQuery::new(), 0)
        .await
        .unwrap_err();
    let _ = falcon.revoke().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "tracing captured nothing:\n{logs}"
    );
    assert!(falcon.stats().token_requests >= 2);
    for secret in [SECRET, TOKEN] {
        assert!(!logs.contains(secret), "a secret is in the logs:\n{logs}");
        assert!(!err.to_string().contains(secret));
        assert!(!format!("{err:?}").contains(secret));
        assert!(!format!("{falcon:?}").contains(secret));
    }
}

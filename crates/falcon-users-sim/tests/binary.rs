//! The `falcon-users-sim` binary refuses sizes beyond the simulator's bounds as usage errors
//! (exit 2, a message naming the option and the maximum), before seeding anything.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `args` on any free port; kills it and fails if it has not exited within
/// a generous bound (an unbounded size would seed for minutes, then run until killed).
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_falcon-users-sim"))
        .args(["--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (status.code(), stderr)
}

#[test]
fn sizes_beyond_the_bounds_are_usage_errors() {
    for (args, option, max) in [
        (&["--users", "100000000"][..], "--users", "200000"),
        (&["--users", "18446744073709551616"], "--users", "200000"),
        (&["--users=-5"], "--users", "200000"),
        (&["--roles", "100000000"], "--roles", "1000"),
        (&["--child-cids", "100000000"], "--child-cids", "500"),
        (&["--read-lag", "3601"], "--read-lag", "3600"),
    ] {
        let (code, stderr) = refused(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(option),
            "{args:?} names the option: {stderr}"
        );
        assert!(stderr.contains(max), "{args:?} names the maximum: {stderr}");
    }
}

/// `--region` is the `X-Cs-Region` a token answer carries, so SDKs that follow it to a real
/// cloud (FalconPy, PSFalcon) can be kept on the simulator with a name no cloud has.
#[test]
fn the_region_option_is_the_token_answers_region() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    let mut child = Command::new(env!("CARGO_BIN_EXE_falcon-users-sim"))
        .args(["--port", "0", "--users", "0", "--region", "local-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let (mut base, mut client) = (None, None);
    // The banner comes at once; a hang fails instead of blocking (the child is killed below).
    for line in lines.by_ref().take(8) {
        let line = line.expect("stdout");
        if let Some(url) = line.strip_prefix("FALCON_CLOUD=") {
            base = Some(url.to_owned());
        }
        if let Some(id) = line.strip_prefix("FALCON_CLIENT_SECRET=") {
            client = Some(id.to_owned());
            break;
        }
    }
    let (base, secret) = (base.expect("the base URL"), client.expect("the secret"));
    let host = base.trim_start_matches("http://");
    let body = format!("client_id=sim-rw-client&client_secret={secret}");
    let mut stream = TcpStream::connect(host).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /oauth2/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("the answer");
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    // Spelled as the service spells it: FalconPy looks the name up case-sensitively.
    assert!(head.contains("\r\nX-Cs-Region: local-1\r\n"), "{head}");
}

/// `--read-lag 30`: a grant through the binary's API is not in the user's grants listing right
/// after it; with `--read-lag 0` it is.
#[tokio::test]
async fn read_lag_makes_the_grants_listing_trail_a_grant() {
    for (lag, listed_at_once) in [("30", false), ("0", true)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_falcon-users-sim"))
            .args(["--port", "0", "--users", "3", "--child-cids", "0"])
            .args(["--read-lag", lag])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let (mut base, mut parent) = (String::new(), String::new());
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).expect("stdout") > 0 {
            if let Some(url) = line.trim().strip_prefix("FALCON_CLOUD=") {
                base = url.to_owned();
            }
            if let Some(rest) = line.strip_prefix("parent CID ") {
                parent = rest.split(';').next().unwrap_or_default().to_owned();
            }
            if line.starts_with("Ctrl-C") {
                break;
            }
            line.clear();
        }
        assert!(!base.is_empty() && !parent.is_empty(), "the banner");
        let http = reqwest::Client::new();
        let call = |request: reqwest::RequestBuilder| async move {
            let answer = request.send().await.expect("answered");
            assert!(answer.status().is_success(), "{}", answer.status());
            answer.json::<serde_json::Value>().await.expect("JSON")
        };
        let token = call(http.post(format!("{base}/oauth2/token")).form(&[
            ("client_id", "sim-rw-client"),
            ("client_secret", "sim-rw-secret"),
        ]))
        .await;
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let ids = call(
            http.get(format!("{base}/user-management/queries/users/v1"))
                .header("authorization", &bearer),
        )
        .await;
        let uuid = ids["resources"][0].as_str().unwrap().to_owned();
        let roles = || {
            let request = http
                .get(format!(
                    "{base}/user-management/combined/user-roles/v2?user_uuid={uuid}"
                ))
                .header("authorization", &bearer);
            async move {
                let listed = call(request).await;
                listed["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g["role_id"].as_str().unwrap().to_owned())
                    .collect::<Vec<String>>()
            }
        };
        let before = roles().await;
        let role = ["falcon_console_guest", "falconhost_read_only"]
            .into_iter()
            .find(|r| !before.iter().any(|b| b == r))
            .expect("a role the user lacks");
        call(
            http.post(format!(
                "{base}/user-management/entities/user-role-actions/v1"
            ))
            .header("authorization", &bearer)
            .json(&serde_json::json!({
                "action": "grant",
                "cid": parent,
                "role_ids": [role],
                "uuid": uuid,
            })),
        )
        .await;
        let after = roles().await;
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            after.iter().any(|r| r == role),
            listed_at_once,
            "--read-lag {lag}: {after:?}"
        );
    }
}

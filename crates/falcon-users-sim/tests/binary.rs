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
        (&["--child-cids", "100000000"], "--child-cids", "20"),
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

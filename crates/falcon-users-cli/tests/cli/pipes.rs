//! Closed pipes: a reader that went away is not a crash.

use std::process::Stdio;

use crate::support::*;

/// Runs the binary with stderr (and, if asked, stdout) a pipe whose reader is already closed.
fn with_closed(args: &[&str], close_stdout: bool) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let state = SimState::new();
    let mut cmd = command(args, &state.env());
    cmd.stderr(writer.try_clone().expect("a second end"));
    if close_stdout {
        cmd.stdout(writer);
    } else {
        drop(writer);
        cmd.stdout(Stdio::null());
    }
    cmd.output().expect("the binary runs")
}

#[test]
fn a_closed_stderr_does_not_panic() {
    // An error message (no credentials), a usage error, and a run that logs and prints.
    let cases: [(&[&str], bool, i32); 4] = [
        (&["users", "list"], false, 2),
        (&["users", "frobnicate"], false, 2),
        (
            &["-vv", "--simulate", "--sim-users", "5", "inventory"],
            false,
            0,
        ),
        (
            &[
                "-vv",
                "--simulate",
                "--sim-users",
                "5",
                "-f",
                "table",
                "users",
                "list",
            ],
            true,
            0,
        ),
    ];
    for (args, close_stdout, code) in cases {
        let out = with_closed(args, close_stdout);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

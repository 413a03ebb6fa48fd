//! Where a profile's client secret comes from: the config file, an environment variable, a
//! file only its owner may read, or a command's standard output (as git's credential helpers
//! work). The secret itself is never printed: not in `Debug`, not in an error, not in a log.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::exit;
use crate::failure::Failure;

/// A client secret in memory; `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret, to hand to the SDK's redacting credentials.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Secret(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a client secret comes from.
#[derive(Debug)]
pub enum SecretSource {
    /// Written into the config file (allowed only when nobody else may read it).
    Literal(Secret),
    /// The value of this environment variable.
    Env(String),
    /// The contents of this file, which nobody but its owner may read or write.
    File(PathBuf),
    /// The standard output of this program (argv: the program, then its arguments; run
    /// without a shell), which must finish within `timeout`.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// How long it may run.
        timeout: Duration,
    },
}

/// Names the source, never the secret (the `config profiles` listing shows this).
impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Literal(_) => f.write_str("in the config file"),
            SecretSource::Env(var) => write!(f, "environment variable {var}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
            SecretSource::Command { argv, .. } => {
                write!(f, "command {}", argv.first().map_or("", String::as_str))
            }
        }
    }
}

impl SecretSource {
    /// Reads the secret: leading and trailing whitespace (a file's final line break) removed;
    /// an empty secret is an error.
    pub fn fetch(&self, profile: &str) -> Result<Secret, Failure> {
        let secret = match self {
            SecretSource::Literal(secret) => secret.0.clone(),
            SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                Failure::Exit(
                    exit::AUTH,
                    format!(
                        "profile {profile:?} reads its client secret from the environment \
                         variable {var}, which is not set (or not UTF-8)"
                    ),
                )
            })?,
            SecretSource::File(path) => {
                let mode = permissions(path);
                if mode & 0o077 != 0 {
                    return Err(Failure::Exit(
                        exit::USAGE,
                        format!(
                            "profile {profile:?}: the secret file {} may be read or changed by \
                             others (mode {}); run `chmod 600 {}`",
                            path.display(),
                            mode_text(mode),
                            path.display()
                        ),
                    ));
                }
                std::fs::read_to_string(path).map_err(|e| {
                    Failure::Exit(
                        exit::AUTH,
                        format!(
                            "profile {profile:?}: could not read the secret file {}: {e}",
                            path.display()
                        ),
                    )
                })?
            }
            SecretSource::Command { argv, timeout } => run(profile, argv, *timeout)?,
        };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(Failure::Exit(
                exit::AUTH,
                format!("profile {profile:?}: the client secret from the {self} is empty"),
            ));
        }
        Ok(Secret(secret.to_owned()))
    }
}

/// Runs a secret command: stdin closed (the CLI's own input is not the helper's), stdout
/// captured as the secret, stderr left to the helper (its prompts and errors reach the person
/// directly, as with git's credential helpers). A failure names the program and its exit
/// status, never what it printed.
///
/// The helper runs in a process group of its own, and the timeout bounds the whole group: a
/// helper that is still running, or that exited leaving a process of its own holding its stdout
/// (`sleep 30 &`), is stopped with everything in its group when the time is up; the CLI never
/// waits for the pipe past the deadline. While it runs, the helper's group has the terminal (if
/// the CLI had it), so a helper that asks on `/dev/tty` is not stopped for reading it. (Elsewhere
/// than Unix, the timeout stops the helper alone.)
fn run(profile: &str, argv: &[String], timeout: Duration) -> Result<String, Failure> {
    let program = argv.first().map_or("", String::as_str);
    let failed = |why: String| {
        Failure::Exit(
            exit::AUTH,
            format!("profile {profile:?}: the secret_command {program} {why}"),
        )
    };
    let timed_out = |what: &str| {
        failed(format!(
            "{what} within {} s and was stopped, with every process it started (raise \
             secret_command_timeout if it waits for you)",
            timeout.as_secs()
        ))
    };
    let deadline = Instant::now() + timeout;
    let mut command = Command::new(program);
    command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("could not be started: {e}")))?;
    let terminal = Foreground::hand_to(&child);
    let Some(mut stdout) = child.stdout.take() else {
        stop(&mut child);
        return Err(failed("gave no output pipe".into()));
    };
    // Read on a thread: a helper that prints more than a pipe holds must not block forever, and
    // the wait for its output is bounded by the deadline, not by the pipe's end (which a
    // process left behind may hold open). Past the bound the rest is read and dropped: a
    // helper that prints without end costs no memory, and is stopped by the timeout.
    let (sent, output) = mpsc::channel();
    std::thread::spawn(move || {
        let read = (|| {
            let mut bytes = Vec::new();
            (&mut stdout)
                .take(MAX_SECRET_OUTPUT + 1)
                .read_to_end(&mut bytes)?;
            std::io::copy(&mut stdout, &mut std::io::sink())?;
            Ok::<_, std::io::Error>(bytes)
        })();
        let _ = sent.send(read);
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                return Err(timed_out("did not finish"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                stop(&mut child);
                return Err(failed(format!("could not be waited for: {e}")));
            }
        }
    };
    // The helper has ended: the terminal is the CLI's again.
    drop(terminal);
    if !status.success() {
        return Err(failed(format!(
            "failed ({status}); its output is not shown"
        )));
    }
    let bytes = match output.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(read) => read.map_err(|e| failed(format!("could not be read: {e}")))?,
        Err(RecvTimeoutError::Timeout) => {
            stop(&mut child);
            return Err(timed_out(
                "ended, but a process it started kept its output open, not closed",
            ));
        }
        Err(RecvTimeoutError::Disconnected) => return Err(failed("could not be read".into())),
    };
    if bytes.len() as u64 > MAX_SECRET_OUTPUT {
        return Err(failed(format!(
            "printed more than {} KiB; a secret is one line",
            MAX_SECRET_OUTPUT / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| failed("printed a secret that is not UTF-8".into()))
}

/// Kills the helper and, on Unix, every process of its group (SIGKILL: a helper past its time
/// is not asked), and reaps the helper itself. A group already empty is not an error.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    let _ = nix::sys::signal::killpg(group_of(child), nix::sys::signal::Signal::SIGKILL);
    #[cfg(not(unix))]
    let _ = child.kill();
    let _ = child.wait();
}

/// The helper's process group: its own pid (it was started with `process_group(0)`).
#[cfg(unix)]
fn group_of(child: &Child) -> nix::unistd::Pid {
    nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

/// The terminal handed to the helper's process group while it runs (as a shell does for the
/// job it starts), given back when dropped. Without it, a helper that reads `/dev/tty` (sudo,
/// a password prompt) would be stopped by the terminal (SIGTTIN), being in another group.
#[cfg(unix)]
struct Foreground {
    tty: std::fs::File,
    ours: nix::unistd::Pid,
}

#[cfg(unix)]
impl Foreground {
    /// Hands the terminal to the helper's group when the CLI has it in the foreground; `None`
    /// without a controlling terminal or in the background (where the helper could not read
    /// it anyway).
    fn hand_to(child: &Child) -> Option<Foreground> {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::{getpgrp, tcgetpgrp, tcsetpgrp};
        let tty = std::fs::File::open("/dev/tty").ok()?;
        let ours = getpgrp();
        if tcgetpgrp(&tty).ok()? != ours {
            return None;
        }
        let group = group_of(child);
        tcsetpgrp(&tty, group).ok()?;
        // It may have tried to read before it had the terminal, and been stopped for that.
        let _ = killpg(group, Signal::SIGCONT);
        Some(Foreground { tty, ours })
    }
}

#[cfg(unix)]
impl Drop for Foreground {
    fn drop(&mut self) {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
        // The CLI is in the background now: taking the terminal back raises SIGTTOU, which
        // would stop it unless blocked while it does.
        let mut ttou = SigSet::empty();
        ttou.add(Signal::SIGTTOU);
        let mut before = SigSet::empty();
        if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut before)).is_ok() {
            let _ = nix::unistd::tcsetpgrp(&self.tty, self.ours);
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
        }
    }
}

/// Elsewhere than Unix the helper shares the CLI's console: nothing to hand over.
#[cfg(not(unix))]
struct Foreground;

#[cfg(not(unix))]
impl Foreground {
    fn hand_to(_: &Child) -> Option<Foreground> {
        None
    }
}

/// The most a `secret_command` may print (a client secret is 40 characters).
const MAX_SECRET_OUTPUT: u64 = 64 * 1024;

/// The permission bits of `path`: a file holding a secret (a secret file, a config file with a
/// secret in it) must be its owner's alone. `0o600` off unix or when unreadable (reading it then
/// fails with its own message).
pub fn permissions(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o600
    }
}

/// Permission bits as `chmod` takes them, e.g. `0644`.
pub fn mode_text(mode: u32) -> String {
    format!("{mode:04o}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(script: &str, timeout: Duration) -> SecretSource {
        SecretSource::Command {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            timeout,
        }
    }

    #[test]
    fn a_command_prints_the_secret_and_failures_never_show_its_output() {
        let long = Duration::from_secs(20);
        let got = command("printf ' cmd-secret-1\\n'", long)
            .fetch("p")
            .expect("the command's output");
        assert_eq!(got.expose(), "cmd-secret-1");
        assert_eq!(format!("{got:?}"), "[redacted]");

        let cases = [
            (command("echo leaked-7; exit 3", long), "exit status: 3"),
            (command("printf '  '", long), "is empty"),
            (
                command("head -c 200000 /dev/zero | tr '\\0' x", long),
                "printed more than 64 KiB",
            ),
            (
                command("echo leaked-7; sleep 5", Duration::from_millis(200)),
                "did not finish within",
            ),
            (
                SecretSource::Command {
                    argv: vec!["/nonexistent/helper".into()],
                    timeout: long,
                },
                "could not be started",
            ),
            (
                SecretSource::Env("FALCON_TEST_UNSET_VAR_9".into()),
                "not set",
            ),
        ];
        for (source, want) in cases {
            let err = source.fetch("p").expect_err(want).to_string();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("leaked-7"), "{err}");
            assert!(
                matches!(source.fetch("p"), Err(Failure::Exit(exit::AUTH, _))),
                "{err}"
            );
        }
    }

    /// Whether `pid` runs (a zombie waiting for its parent to reap it runs no more).
    #[cfg(target_os = "linux")]
    fn running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, s)| !s.starts_with('Z'))
        })
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_timeout_stops_the_helpers_whole_group_and_never_waits_on_its_pipe() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let pids = dir.path().join("pids");
        let pids = pids.to_str().expect("a UTF-8 path");
        let cases = [
            // Still running at the deadline, a process of its own holding stdout too.
            (
                format!("sleep 30 & echo $$ $! > {pids}; echo leaked-7; exec sleep 30"),
                "did not finish within 2 s",
            ),
            // Ended at once, leaving a process that holds its stdout open.
            (
                format!("sleep 30 & echo $$ $! > {pids}; echo leaked-7"),
                "kept its output open",
            ),
        ];
        for (script, want) in cases {
            let started = Instant::now();
            let err = command(&script, Duration::from_secs(2))
                .fetch("p")
                .expect_err(want)
                .to_string();
            let took = started.elapsed();
            assert!(took < Duration::from_secs(10), "{script}: took {took:?}");
            assert!(err.contains(want) && !err.contains("leaked-7"), "{err}");
            let written = std::fs::read_to_string(pids).expect("the helper wrote its pids");
            for pid in written.split_whitespace() {
                let gone = Instant::now();
                while running(pid) {
                    assert!(
                        gone.elapsed() < Duration::from_secs(5),
                        "{script}: {pid} runs"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        // A process it leaves behind that does not hold its output is not waited for (nor
        // stopped: an agent a helper starts outlives it).
        let started = Instant::now();
        let got = command(
            "sleep 30 >/dev/null 2>&1 & echo $! > PIDS; echo cmd-secret-2"
                .replace("PIDS", pids)
                .as_str(),
            Duration::from_secs(20),
        )
        .fetch("p")
        .expect("the secret");
        assert_eq!(got.expose(), "cmd-secret-2");
        assert!(started.elapsed() < Duration::from_secs(10));
        let agent = std::fs::read_to_string(pids).expect("the helper wrote its pid");
        assert!(running(agent.trim()), "left running");
        let _ = std::process::Command::new("kill")
            .arg(agent.trim())
            .status();
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("secret");
        std::fs::write(&path, "file-secret-3\n").expect("written");
        let source = SecretSource::File(path.clone());
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            match source.fetch("p") {
                Ok(secret) => {
                    assert!(ok, "{mode:o} accepted");
                    assert_eq!(secret.expose(), "file-secret-3");
                }
                Err(err) => {
                    assert!(!ok, "{mode:o} refused: {err}");
                    assert!(err.to_string().contains("chmod 600"), "{err}");
                    assert!(!err.to_string().contains("file-secret-3"));
                }
            }
        }
    }
}

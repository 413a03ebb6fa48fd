//! Where a profile's client secret comes from: the config file, an environment variable, a
//! file only its owner may read, or a command's standard output (as git's credential helpers
//! work). The secret itself is never printed: not in `Debug`, not in an error, not in a log.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::commands::Failure;
use crate::exit;
use crate::profile::{mode_text, permissions};

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
fn run(profile: &str, argv: &[String], timeout: Duration) -> Result<String, Failure> {
    let program = argv.first().map_or("", String::as_str);
    let failed = |why: String| {
        Failure::Exit(
            exit::AUTH,
            format!("profile {profile:?}: the secret_command {program} {why}"),
        )
    };
    let mut child = Command::new(program)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("could not be started: {e}")))?;
    // Read on a thread: a helper that prints more than a pipe holds must not block forever.
    let Some(mut stdout) = child.stdout.take() else {
        return Err(failed("gave no output pipe".into()));
    };
    // Past the bound the rest is read and dropped: a helper that prints without end costs no
    // memory, and is stopped by the timeout.
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        (&mut stdout)
            .take(MAX_SECRET_OUTPUT + 1)
            .read_to_end(&mut bytes)?;
        std::io::copy(&mut stdout, &mut std::io::sink())?;
        Ok::<_, std::io::Error>(bytes)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "did not finish within {} s and was stopped (raise secret_command_timeout \
                     if it waits for you)",
                    timeout.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(failed(format!("could not be waited for: {e}"))),
        }
    };
    if !status.success() {
        return Err(failed(format!(
            "failed ({status}); its output is not shown"
        )));
    }
    let bytes = reader
        .join()
        .map_err(|_| failed("could not be read".into()))?
        .map_err(|e| failed(format!("could not be read: {e}")))?;
    if bytes.len() as u64 > MAX_SECRET_OUTPUT {
        return Err(failed(format!(
            "printed more than {} KiB; a secret is one line",
            MAX_SECRET_OUTPUT / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| failed("printed a secret that is not UTF-8".into()))
}

/// The most a `secret_command` may print (a client secret is 40 characters).
const MAX_SECRET_OUTPUT: u64 = 64 * 1024;

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

//! Profiles of the config file: the secret from a command, a file or the environment, never
//! printed; flags and variables over the profile; clear refusals.

use std::path::{Path, PathBuf};

use falcon_users_sim::SimConfig;
use serde_json::Value;

use crate::support::*;

/// A temporary config directory with a secret helper script and a secret file.
struct Setup {
    dir: tempfile::TempDir,
    sim: Sim,
}

impl Setup {
    fn new() -> Setup {
        let sim = Sim::start(SimConfig {
            users: 5,
            ..SimConfig::default()
        });
        Setup {
            dir: tempfile::tempdir().expect("a temporary directory"),
            sim,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn secret(&self) -> String {
        self.sim.sim.credentials().client_secret
    }

    /// Writes the config file with a profile per secret source, all for the simulator.
    fn config(&self) -> PathBuf {
        let creds = self.sim.sim.credentials();
        let helper = self.path("helper.sh");
        // The helper also leaves a mark, so a test can tell whether it ran.
        write_mode(
            &helper,
            &format!(
                "#!/bin/sh\ntouch '{}'\nprintf '%s\\n' '{}'\n",
                self.path("helper-ran").display(),
                creds.client_secret
            ),
            0o700,
        );
        write_mode(
            &self.path("private.secret"),
            &format!("{}\n", creds.client_secret),
            0o600,
        );
        write_mode(
            &self.path("shared.secret"),
            &format!("{}\n", creds.client_secret),
            0o644,
        );
        let url = self.sim.sim.base_url_str();
        let config = format!(
            r#"
default_profile = "from-file"

[profiles.from-command]
client_id = "{id}"
cloud = "{url}"
secret_command = ["{helper}"]

[profiles.from-file]
client_id = "{id}"
cloud = "{url}"
client_secret_file = "private.secret"

[profiles.shared-file]
client_id = "{id}"
cloud = "{url}"
client_secret_file = "shared.secret"

[profiles.from-env]
client_id = "{id}"
cloud = "{url}"
client_secret_env = "MY_SIM_SECRET"

[profiles.wrong-cloud]
client_id = "{id}"
cloud = "http://127.0.0.1:9"
secret_command = ["{helper}"]
"#,
            id = creds.client_id,
            helper = helper.display(),
        );
        let path = self.path("config.toml");
        write_mode(&path, &config, 0o644);
        path
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let out = run(args, env);
        let secret = self.secret();
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !text(stream).contains(&secret),
                "{args:?}: the secret leaked"
            );
        }
        out
    }
}

fn write_mode(path: &Path, contents: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).expect("written");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn users(out: &std::process::Output) -> usize {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let users: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    users.len()
}

#[test]
fn every_secret_source_reaches_the_simulator_and_no_output_shows_the_secret() {
    let setup = Setup::new();
    let config = setup.config();
    let config = config.to_str().expect("a UTF-8 path");
    let list = ["-vvv", "-f", "json", "--config", config];

    let by_flag = setup.run(
        &[&list[..], &["--profile", "from-command", "users", "list"]].concat(),
        &[],
    );
    assert_eq!(users(&by_flag), 5);
    assert!(setup.path("helper-ran").exists());

    let by_default = setup.run(&[&list[..], &["users", "list"]].concat(), &[]);
    assert_eq!(users(&by_default), 5, "default_profile: the private file");

    let secret = setup.secret();
    let by_env = setup.run(
        &[&list[..], &["users", "list"]].concat(),
        &[("FALCON_PROFILE", "from-env"), ("MY_SIM_SECRET", &secret)],
    );
    assert_eq!(users(&by_env), 5);

    // FALCON_CONFIG names the file as --config does.
    let by_variable = setup.run(
        &["-f", "json", "--profile", "from-file", "users", "list"],
        &[("FALCON_CONFIG", config)],
    );
    assert_eq!(users(&by_variable), 5);
}

#[test]
fn flags_and_variables_win_over_the_profile() {
    let setup = Setup::new();
    let config = setup.config();
    let config = config.to_str().expect("a UTF-8 path");
    let base = [
        "-f",
        "json",
        "--config",
        config,
        "--profile",
        "from-command",
    ];

    // A secret given by flag is used, and the helper is not even run.
    let flag = setup.run(
        &[
            &base[..],
            &["--client-secret", "wrong-secret-5", "users", "list"],
        ]
        .concat(),
        &[],
    );
    assert_eq!(flag.status.code(), Some(3), "{}", text(&flag.stderr));
    assert!(!setup.path("helper-ran").exists(), "the helper ran");
    assert!(!text(&flag.stderr).contains("wrong-secret-5"));

    let variable = setup.run(
        &[&base[..], &["users", "list"]].concat(),
        &[("FALCON_CLIENT_SECRET", "wrong-secret-5")],
    );
    assert_eq!(
        variable.status.code(),
        Some(3),
        "{}",
        text(&variable.stderr)
    );

    // The profile's cloud is a closed port; the flag's is the simulator.
    let url = setup.sim.sim.base_url_str();
    let wrong = [&base[..4], &["--profile", "wrong-cloud"]].concat();
    let cloud = setup.run(
        &[&wrong[..], &["--cloud", &url, "users", "list"]].concat(),
        &[],
    );
    assert_eq!(users(&cloud), 5);
    let cloud = setup.run(
        &[&wrong[..], &["users", "list"]].concat(),
        &[("FALCON_CLOUD", &url)],
    );
    assert_eq!(users(&cloud), 5);
}

#[test]
fn refusals_say_what_to_fix() {
    let setup = Setup::new();
    let config = setup.config();
    let config = config.to_str().expect("a UTF-8 path");

    let shared = setup.run(
        &[
            "--config",
            config,
            "--profile",
            "shared-file",
            "users",
            "list",
        ],
        &[],
    );
    assert_eq!(shared.status.code(), Some(2));
    let why = text(&shared.stderr);
    assert!(
        why.contains("shared.secret") && why.contains("chmod 600"),
        "{why}"
    );

    let unknown = setup.run(
        &["--config", config, "--profile", "nope", "users", "list"],
        &[],
    );
    assert_eq!(unknown.status.code(), Some(2));
    let why = text(&unknown.stderr);
    assert!(
        why.contains("unknown profile \"nope\"") && why.contains("from-command"),
        "{why}"
    );

    // No config file at all (the default place is empty in these tests).
    let none = setup.run(&["--profile", "nope", "users", "list"], &[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains("no config file"),
        "{}",
        text(&none.stderr)
    );

    let missing_var = setup.run(
        &["--config", config, "--profile", "from-env", "users", "list"],
        &[],
    );
    assert_eq!(missing_var.status.code(), Some(3));
    assert!(text(&missing_var.stderr).contains("MY_SIM_SECRET"));

    let failing = setup.path("failing.toml");
    write_mode(
        &failing,
        "[profiles.f]\nclient_id = \"x\"\ncloud = \"http://127.0.0.1:9\"\nsecret_command = [\"sh\", \"-c\", \"echo half-a-secret-8; exit 7\"]\n",
        0o600,
    );
    let failing = failing.to_str().expect("a UTF-8 path");
    let out = setup.run(
        &["--config", failing, "--profile", "f", "users", "list"],
        &[],
    );
    assert_eq!(out.status.code(), Some(3));
    let why = text(&out.stderr);
    assert!(
        why.contains("exit status: 7") && !why.contains("half-a-secret-8"),
        "{why}"
    );

    let literal = setup.path("literal.toml");
    write_mode(
        &literal,
        "[profiles.l]\nclient_id = \"x\"\nclient_secret = \"literal-secret-4\"\n",
        0o644,
    );
    let literal = literal.to_str().expect("a UTF-8 path");
    let out = setup.run(
        &["--config", literal, "--profile", "l", "users", "list"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let why = text(&out.stderr);
    assert!(
        why.contains("others may read it") && !why.contains("literal-secret-4"),
        "{why}"
    );
}

#[test]
fn the_profiles_listing_names_secret_sources_not_secrets() {
    let setup = Setup::new();
    let config = setup.config();
    let config = config.to_str().expect("a UTF-8 path");
    let out = setup.run(
        &["--config", config, "-f", "json", "config", "profiles"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let listed: Vec<(&str, bool, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default(),
                r["default"].as_bool().unwrap_or_default(),
                r["secret"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let helper = format!("command {}", setup.path("helper.sh").display());
    let private = format!("file {}", setup.path("private.secret").display());
    let shared = format!("file {}", setup.path("shared.secret").display());
    assert_eq!(
        listed,
        [
            ("from-command", false, helper.as_str()),
            ("from-env", false, "environment variable MY_SIM_SECRET"),
            ("from-file", true, private.as_str()),
            ("shared-file", false, shared.as_str()),
            ("wrong-cloud", false, helper.as_str()),
        ]
    );
    assert!(!setup.path("helper-ran").exists(), "listing runs no helper");

    let path = setup.run(&["config", "path"], &[("FALCON_CONFIG", config)]);
    assert_eq!(text(&path.stdout).trim(), config);
}

/// A helper that asks on the terminal (as `sudo` or a password prompt does) gets it while it
/// runs, although it runs in a process group of its own (so that its timeout can stop all it
/// started): without the terminal it would be stopped for reading it, and time out.
#[test]
fn a_secret_command_that_asks_on_the_terminal_is_answered() {
    let setup = Setup::new();
    let creds = setup.sim.sim.credentials();
    let config = setup.path("asking.toml");
    write_mode(
        &config,
        &format!(
            "[profiles.ask]\nclient_id = \"{}\"\ncloud = \"{}\"\nsecret_command_timeout = 10\n\
             secret_command = [\"sh\", \"-c\", \"printf 'secret? ' >/dev/tty; \
             read s </dev/tty; echo \\\"$s\\\"\"]\n",
            creds.client_id,
            setup.sim.sim.base_url_str()
        ),
        0o600,
    );
    let config = config.to_str().expect("a UTF-8 path");
    let args = [
        "--config",
        config,
        "--profile",
        "ask",
        "-f",
        "json",
        "users",
        "list",
    ];
    let Some(mut cmd) = on_a_terminal(&args, &[]) else {
        eprintln!("skipped: no `script` to make a terminal with");
        return;
    };
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script starts");
    // Typed at once: the terminal keeps the line until the helper reads it. The pipe stays
    // open until the end (an end of input would end the terminal's session).
    let mut keys = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut keys, format!("{}\n", setup.secret()).as_bytes())
        .expect("typed");
    let out = finish(child);
    drop(keys);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("secret? ") && shown.contains("\"uid\""),
        "{shown}"
    );
}

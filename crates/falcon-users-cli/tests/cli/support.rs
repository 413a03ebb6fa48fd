//! Running the built binary: a clean environment, simulators kept alive on their own runtime,
//! signals, and bounded waits.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use falcon_users::api::operations::OAUTH2_ACCESS_TOKEN;
use falcon_users_sim::{SimConfig, Simulator};
use httpmock::{Method, MockServer};
use serde_json::{Value, json};

/// Every wait in these tests gives up after this long (a hang fails instead of blocking).
pub const BOUND: Duration = Duration::from_secs(30);

/// The binary with `args`, the Falcon and proxy variables of the caller's environment removed and `env`
/// set, stdin closed. `HOME`, `XDG_STATE_HOME` and `XDG_CONFIG_HOME` (no config file, no
/// profile) point below the binary itself, a file, where
/// no directory can be made (not even by root): a `--simulate` command that is not given a
/// state file of its own (`FALCON_SIM_STATE`, see [`SimState`]) fails instead of writing the
/// tenant into the real home. `XDG_DATA_HOME`, where a review records its history by default,
/// is one directory under the build's temporary directory, shared by every test (the history
/// takes concurrent writers).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let bin = env!("CARGO_BIN_EXE_falcon-users");
    let mut cmd = Command::new(bin);
    for var in [
        "FALCON_CLIENT_ID",
        "FALCON_CLIENT_SECRET",
        "FALCON_CLOUD",
        "FALCON_MEMBER_CID",
        "FALCON_SIM_STATE",
        "FALCON_PROFILE",
        "FALCON_CONFIG",
        "NO_COLOR",
        "RUST_LOG",
        // A proxy of the caller's would take the tests' loopback traffic elsewhere.
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    let nowhere = Path::new(bin).join("no-home");
    cmd.env("HOME", &nowhere)
        .env("XDG_STATE_HOME", &nowhere)
        .env("XDG_CONFIG_HOME", &nowhere)
        .env(
            "XDG_DATA_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-data-home"),
        )
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

/// [`command`] run on a terminal of its own: a pseudo-terminal from util-linux `script`, whose
/// stdin is typed into the terminal and whose stdout is the terminal's output (the binary's
/// stdout and stderr, with `\r\n` line ends). `None` where `script` is missing.
pub fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<Command> {
    let present = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        return None;
    }
    let inner = command(args, env);
    let quote =
        |arg: &std::ffi::OsStr| format!("'{}'", arg.to_string_lossy().replace('\'', "'\\''"));
    let line: Vec<String> = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(quote)
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line.join(" "), "/dev/null"]);
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    Some(cmd)
}

/// Runs the binary to the end, with a state file of its own that goes when it ends (a
/// `--simulate` command starts from a newly seeded tenant) unless `env` names one.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let state = SimState::new();
    let mut cmd = command(args, &state.env());
    cmd.envs(env.iter().copied());
    cmd.output().expect("the binary runs")
}

/// A directory for the embedded simulator's saved tenant, removed when dropped.
pub struct SimState {
    _dir: tempfile::TempDir,
    file: String,
}

impl SimState {
    pub fn new() -> SimState {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // In a subdirectory that does not exist yet: the binary makes it.
        let file = dir.path().join("state").join("sim-tenant.json");
        let file = file.to_str().expect("a UTF-8 temporary path").to_owned();
        SimState { _dir: dir, file }
    }

    /// The state file.
    pub fn file(&self) -> &Path {
        Path::new(&self.file)
    }

    /// `FALCON_SIM_STATE` pointing at [`SimState::file`].
    pub fn env(&self) -> [(&'static str, &str); 1] {
        [("FALCON_SIM_STATE", &self.file)]
    }
}

/// The header row of a CSV output, and a reader positioned on its records.
pub fn csv_header(bytes: &[u8]) -> (Vec<String>, csv::Reader<&[u8]>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .expect("a CSV header row")
        .iter()
        .map(str::to_owned)
        .collect();
    (header, reader)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A simulator serving from its own runtime while the test thread runs the binary.
pub struct Sim {
    pub sim: Simulator,
    // Declared last: the simulator stops before its runtime goes.
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(config: SimConfig) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let sim = runtime
            .block_on(Simulator::start(config))
            .expect("the simulator starts");
        Sim {
            sim,
            _runtime: runtime,
        }
    }

    /// The variables that point the binary at this simulator with the read-write client.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let creds = self.sim.credentials();
        vec![
            ("FALCON_CLOUD", self.sim.base_url_str()),
            ("FALCON_CLIENT_ID", creds.client_id),
            ("FALCON_CLIENT_SECRET", creds.client_secret),
        ]
    }
}

/// `(name, value)` pairs as `command` takes them.
pub fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Polls `ready` until it holds; fails the test after [`BOUND`].
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < BOUND, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` (`INT`, `TERM`) to the child, as a shell's `kill -s` does.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal}");
}

/// Waits for the child to end, killing it after [`BOUND`].
pub fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > BOUND {
            let _ = child.kill();
            panic!("the binary did not stop");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// A running binary whose stderr is read line by line as it comes.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub stderr: Vec<String>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; fails after [`BOUND`].
    pub fn wait_for_line(&mut self, needle: &str) {
        let start = Instant::now();
        loop {
            let left = BOUND.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {needle:?}; got:\n{}",
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Waits for the end; the exit status and the whole of stderr.
    pub fn finish(self) -> (Output, String) {
        let Running {
            child,
            lines,
            mut stderr,
        } = self;
        let output = finish(child);
        while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
            stderr.push(line);
        }
        (output, stderr.join("\n"))
    }
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A loopback server whose token endpoint hands out a token to anyone.
pub fn mock_server() -> MockServer {
    let server = MockServer::start();
    answer(
        &server,
        Method::POST,
        OAUTH2_ACCESS_TOKEN.path,
        None,
        201,
        json!({"access_token": "t", "token_type": "bearer", "expires_in": 1799}),
    );
    server
}

/// Makes `server` answer `method path` (with a body containing `body_has`, if given) with
/// `status` and the JSON `body`.
pub fn answer(
    server: &MockServer,
    method: Method,
    path: &str,
    body_has: Option<&str>,
    status: u16,
    body: Value,
) {
    server.mock(|when, then| {
        let when = when.method(method).path(path);
        if let Some(part) = body_has {
            when.body_includes(part);
        }
        then.status(status)
            .header("content-type", "application/json")
            .json_body(body);
    });
}

/// Runs the binary against a loopback server.
pub fn run_against(server: &MockServer, args: &[&str]) -> Output {
    let url = server.base_url();
    run(
        args,
        &[
            ("FALCON_CLOUD", url.as_str()),
            ("FALCON_CLIENT_ID", "id"),
            ("FALCON_CLIENT_SECRET", "secret"),
        ],
    )
}

/// Runs `cmd` to the end with `input` written to its standard input (a command that refuses
/// before reading closes the pipe: not an error here), within a bound.
pub fn with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut pipe, &input);
    });
    let started = Instant::now();
    let out = child.wait_with_output().expect("the binary ends");
    assert!(started.elapsed() < BOUND, "bounded");
    writer.join().unwrap();
    out
}

//! The README's scheduled jobs, run as written: the cron line and the systemd unit's
//! `ExecStart`, taken from the README itself, against a simulator, with the profile the README
//! shows. Under `-q` only the `--fail-on` warning reaches stderr, the dated review lands in
//! `~/reviews`, and `--summary-json` says how the run ended with the review's counts.

use std::path::Path;
use std::process::{Command, Output};

use falcon_users_sim::SimConfig;
use serde_json::Value;

use crate::support::*;

const README: &str = include_str!("../../../../README.md");

/// The README's section on scheduled jobs.
fn section() -> &'static str {
    let start = README
        .find("### Scheduled jobs: cron and systemd")
        .expect("the README has the section");
    let rest = &README[start..];
    let end = rest[4..].find("\n## ").map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

/// The code blocks of the section whose fence says `lang`, in order.
fn blocks(lang: &str) -> Vec<&'static str> {
    let fence = format!("```{lang}\n");
    let mut found = Vec::new();
    let mut rest = section();
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("```").expect("a closed fence");
        found.push(&body[..end]);
        rest = &body[end + 3..];
    }
    found
}

/// The crontab's command, as cron runs it: the five schedule fields dropped, `\%` made `%`.
fn cron_command() -> String {
    let line = blocks("crontab")[0]
        .lines()
        .find(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .expect("a schedule line");
    let mut fields = line
        .splitn(6, char::is_whitespace)
        .filter(|f| !f.is_empty());
    let schedule: Vec<&str> = fields.by_ref().take(5).collect();
    assert_eq!(schedule, ["0", "6", "*", "*", "1"], "{line}");
    let command = line[line.find("falcon-users").expect("the command")..].to_owned();
    command.replace("\\%", "%")
}

/// The service's `ExecStart`, with systemd's `%%` made `%`.
fn exec_start() -> String {
    blocks("ini")
        .iter()
        .flat_map(|b| b.lines())
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line")
        .replace("%%", "%")
}

/// A home with the README's profile pointing at `sim`, its secret in a private file, and the
/// reviews directory the README says must exist.
fn home(sim: &Sim) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join(".config").join("falcon-users");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::create_dir(home.path().join("reviews")).unwrap();
    let creds = sim.sim.credentials();
    let profile = blocks("toml")[0]
        .lines()
        .map(|line| match line.split_once(" = ").map(|(k, _)| k) {
            Some("client_id") => format!("client_id = \"{}\"", creds.client_id),
            Some("cloud") => format!("cloud = \"{}\"", sim.sim.base_url_str()),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        profile.contains("client_secret_file = \"prod.secret\""),
        "{profile}"
    );
    std::fs::write(config_dir.join("config.toml"), profile).unwrap();
    let secret = config_dir.join("prod.secret");
    std::fs::write(&secret, &creds.client_secret).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    home
}

/// Runs `line` with `sh -c` in the environment a scheduler gives: a bare one, the binary on
/// `PATH`, `HOME` set.
fn scheduled(line: &str, home: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_falcon-users"));
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", bin.parent().unwrap().display()),
        )
        .env("HOME", home)
        .env("TZ", "UTC")
        .output()
        .expect("sh runs")
}

/// What both schedulers must see: exit 8 (privileged findings on the seeded tenant), nothing on
/// stdout, the `--fail-on` warning alone on stderr, a dated review that verifies, and a summary
/// whose counts are the review's.
fn check_run(out: &Output, home: &Path) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert_eq!(text(&out.stdout), "", "stdout is empty under -q");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "only the warning: {stderr}");
    assert!(
        lines[0].starts_with("warning: --fail-on: found privileged ("),
        "{stderr}"
    );
    let reviews = home.join("reviews");
    let dated: Vec<String> = names_in(&reviews)
        .into_iter()
        .filter(|n| n.starts_with("review-"))
        .collect();
    assert_eq!(dated.len(), 1, "{dated:?}");
    let name = &dated[0];
    assert!(
        name.len() == "review-2026-12-07.json".len()
            && name[7..17].chars().all(|c| c.is_ascii_digit() || c == '-'),
        "a dated name: {name}"
    );
    let review: Value =
        serde_json::from_slice(&std::fs::read(reviews.join(name)).unwrap()).unwrap();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(reviews.join("last-run.json")).unwrap()).unwrap();
    assert_eq!(summary["command"], "review");
    assert_eq!(summary["exit_code"], 8);
    assert_eq!(summary["exit_reason"], "findings");
    assert_eq!(summary["message"], Value::Null);
    let findings = &review["summary"]["findings"];
    assert!(findings["privileged"].as_u64().unwrap() > 0);
    for kind in ["privileged", "inactive-with-roles", "no-roles", "stale"] {
        assert_eq!(
            summary["counts"][format!("findings.{kind}")],
            findings[kind].as_u64().unwrap_or(0),
            "{kind}"
        );
    }
    assert_eq!(
        summary["counts"]["review.users"],
        review["summary"]["users"]
    );
    assert!(summary["requests"]["total"].as_u64().unwrap() > 1);
    let verified = command(
        &["review", "verify", &reviews.join(name).to_string_lossy()],
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stderr)
    );
}

#[test]
fn the_readmes_cron_line_runs_as_written() {
    let sim = Sim::start(SimConfig::default());
    let home = home(&sim);
    let out = scheduled(&cron_command(), home.path());
    check_run(&out, home.path());
}

#[test]
fn the_readmes_systemd_unit_runs_as_written() {
    let sim = Sim::start(SimConfig::default());
    let home = home(&sim);
    let exec = exec_start();
    assert!(exec.starts_with("/bin/sh -c '"), "{exec}");
    // systemd splits the line as the shell does for this quoting, then execs it.
    let out = scheduled(&exec, home.path());
    check_run(&out, home.path());
}

/// The summary is written for a run that fails too, with the failure's reason and message, and
/// a success that cannot write it is exit 7.
#[test]
fn the_summary_says_how_a_failed_run_ended_and_its_own_failure_is_exit_7() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("sum.json");
    let summary_arg = summary.to_string_lossy().into_owned();
    // Credentials the simulator refuses.
    let sim = Sim::start(SimConfig::default());
    let url = sim.sim.base_url_str();
    let out = command(
        &["-q", "--summary-json", &summary_arg, "users", "list"],
        &[
            ("FALCON_CLOUD", &url),
            ("FALCON_CLIENT_ID", "wrong-id"),
            ("FALCON_CLIENT_SECRET", "wrong-secret"),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(doc["command"], "users list");
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(doc["exit_reason"], "auth");
    let message = doc["message"].as_str().unwrap();
    assert!(!message.is_empty());
    assert!(!message.contains("wrong-secret"), "{message}");
    assert!(
        text(&out.stderr).starts_with("error: "),
        "errors still print under -q"
    );

    // A summary whose directory does not exist: the run's own success becomes exit 7.
    let env = sim.env();
    let nowhere = dir.path().join("missing").join("sum.json");
    let out = command(
        &[
            "--summary-json",
            &nowhere.to_string_lossy(),
            "roles",
            "list",
        ],
        &pairs(&env),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("could not write the summary"),
        "{}",
        text(&out.stderr)
    );
}

/// A change's summary counts its plan and each result, as the tables show them; a single
/// user's change counts its result.
#[test]
fn a_changing_commands_summary_counts_the_plan_and_results() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("sum.json");
    let summary_arg = summary.to_string_lossy().into_owned();
    let roster = dir.path().join("joiners.csv");
    std::fs::write(
        &roster,
        "uid,first_name,last_name,roles\n\
         sched.one@example.com,Sched,One,falcon_console_guest\n\
         sched.two@example.com,Sched,Two,falcon_console_guest\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--simulate", "-q", "--yes", "--summary-json", &summary_arg];
        all.extend_from_slice(args);
        let out = command(&all, &state.env()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "-q: no notes");
        serde_json::from_slice::<Value>(&std::fs::read(&summary).unwrap()).unwrap()
    };
    let roster_arg = roster.to_string_lossy().into_owned();
    let doc = run(&["-f", "json", "provision", "--from", &roster_arg]);
    assert_eq!(doc["command"], "provision");
    assert_eq!(doc["exit_reason"], "ok");
    assert_eq!(doc["counts"]["plan.create"], 2, "{doc}");
    assert_eq!(doc["counts"]["result.done"], 2, "{doc}");

    // Run again: not looked up first, so planned as creations, each found already done.
    let doc = run(&["-f", "json", "provision", "--from", &roster_arg]);
    assert_eq!(doc["counts"]["result.already_done"], 2, "{doc}");
    assert_eq!(doc["counts"].get("result.done"), None, "{doc}");

    let doc = run(&["-f", "json", "offboard", "sched.one@example.com"]);
    assert_eq!(doc["command"], "offboard");
    assert_eq!(doc["counts"]["result.done"], 1, "{doc}");

    // A single user's grant: done, then already done; a delete: done.
    let grant = [
        "grants",
        "grant",
        "sched.two@example.com",
        "falconhost_read_only",
    ];
    let doc = run(&grant);
    assert_eq!(doc["command"], "grants grant");
    assert_eq!(doc["counts"]["result.done"], 1, "{doc}");
    let doc = run(&grant);
    assert_eq!(doc["counts"]["result.already_done"], 1, "{doc}");
    assert_eq!(doc["counts"].get("result.done"), None, "{doc}");
    let doc = run(&["users", "delete", "sched.two@example.com"]);
    assert_eq!(doc["command"], "users delete");
    assert_eq!(doc["counts"]["result.done"], 1, "{doc}");
}

//! Scenario 10: the review of a large tenant as a page (`review -o r.html`) and as JSON, each
//! written by the CLI in a process of its own (wall time and peak memory), then the page
//! opened in headless Chromium: the time it takes to draw (the page's own `data-render-ms`,
//! from navigation start to the script's end) and the wall time of `--dump-dom`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::measure::{children_peak_rss, mib};
use crate::report::Report;
use crate::sim_process::{CLIENT_ID, CLIENT_SECRET, SimProcess, SimSpec};

/// How large a tenant.
#[derive(Debug, clap::Args)]
pub struct Settings {
    /// Users in the simulated tenant.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
}

/// The CLI beside this binary (`cargo build --release -p falcon-users-cli`).
fn cli() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let cli = exe.with_file_name("falcon-users");
    if !cli.is_file() {
        bail!(
            "{} is missing: cargo build --release -p falcon-users-cli",
            cli.display()
        );
    }
    Ok(cli)
}

/// `$CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on PATH.
fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

/// Reviews a tenant of `settings.users` into a page and a JSON file, then opens the page.
pub fn run(settings: &Settings) -> Result<Report> {
    let mut report = Report::new("page");
    let cli = cli()?;
    let sim = SimProcess::start(&SimSpec::unlimited(settings.users)?)?;
    let dir = tempfile::tempdir()?;
    for name in ["r.html", "r.json"] {
        let path = dir.path().join(name);
        let answer = super::child(&[
            "peak",
            "--",
            cli.to_str().context("the CLI's path")?,
            "--cloud",
            &sim.base_url,
            "review",
            // The page is measured here, the history in scenario 12; and a benchmark writes
            // nothing outside its temporary directory.
            "--no-history",
            "-o",
            path.to_str().context("a UTF-8 temporary path")?,
        ])?;
        let bytes = std::fs::metadata(&path)?.len();
        let peak = mib(answer["peak_rss"].as_u64().unwrap_or(0));
        report.figure(format!("{name}: size"), mib(bytes), "MiB");
        report.figure(
            format!("{name}: review written in"),
            answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            "s",
        );
        report.figure(format!("{name}: CLI peak RSS"), peak, "MiB");
        report.at_most(format!("{name}: CLI peak RSS MiB"), peak, 64.0);
    }
    let Some(browser) = browser() else {
        report.note("no Chromium (scripts/chromium.sh installs it): the page was not opened");
        return Ok(report);
    };
    let page = dir.path().join("r.html");
    let dom = dir.path().join("dom.html");
    let started = Instant::now();
    let status = Command::new(&browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom)?)
        .stderr(Stdio::null())
        .status()
        .context("running Chromium")?;
    let wall = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{} --dump-dom failed ({status})", browser.display());
    }
    let dom = std::fs::read_to_string(&dom)?;
    let body = body_attribute(&dom, "data-status").unwrap_or_default();
    if body != "ready" {
        bail!("the page did not draw: data-status={body:?}");
    }
    let drawn: f64 = body_attribute(&dom, "data-render-ms")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(f64::NAN);
    report.figure(
        "page drawn (navigation start to script end)",
        drawn / 1000.0,
        "s",
    );
    report.figure(
        "chromium --dump-dom wall (start, load, draw, dump)",
        wall,
        "s",
    );
    report.figure("table rows in the DOM", count_rows(&dom) as f64, "rows");
    Ok(report)
}

/// An attribute of the dumped page's `<body>`.
fn body_attribute(dom: &str, name: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let value = body.split(&format!("{name}=\"")).nth(1)?;
    Some(value[..value.find('"')?].to_owned())
}

/// The findings table's rows drawn (a page of them, whatever the tenant's size).
fn count_rows(dom: &str) -> usize {
    dom.matches("<tr data-finding=").count()
}

/// The child: runs `command` with the simulator's credentials and reports its wall time and
/// peak resident set (this process waits for nothing else, so the children's peak is its).
pub fn peak(command: &[String]) -> Result<()> {
    let (program, args) = command.split_first().context("no command")?;
    let started = Instant::now();
    let output = Command::new(program)
        .args(args)
        .env("FALCON_CLIENT_ID", CLIENT_ID)
        .env("FALCON_CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {program}"))?;
    let wall = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!(
        "{}",
        json!({"peak_rss": children_peak_rss()?, "wall_s": wall})
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_page_says_on_its_body() {
        let dom = "<html><head></head><body data-status=\"ready\" data-errors=\"0\" \
                   data-render-ms=\"812\"><table><tr data-finding=\"stale\"></tr>\
                   <tr data-finding=\"no-roles\"></tr></table></body></html>";
        assert_eq!(body_attribute(dom, "data-status").as_deref(), Some("ready"));
        assert_eq!(
            body_attribute(dom, "data-render-ms").as_deref(),
            Some("812")
        );
        assert_eq!(body_attribute(dom, "data-missing"), None);
        assert_eq!(count_rows(dom), 2);
    }
}

//! The review page in a real browser: headless Chromium (Debian's `chromium`, which
//! `scripts/chromium.sh` installs and `.ci/run` runs first) loads `review -o r.html` from disk
//! with no console message, shows the counts of the review's JSON, and shows a hostile user
//! name as text. A screenshot is kept under the target directory. Without a browser the test
//! fails under `CI=true` (after trying the install script) and is skipped, loudly, elsewhere.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

/// A first name that would run a script if it were ever markup.
const HOSTILE: &str = "<img src=x onerror=alert(1)>";
/// A last name that would end a script block or open a comment if it were ever raw.
const BREAKOUT: &str = "</script><!--";

/// `$CHROMIUM`, else the first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
fn find_browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// The browser. Under `CI=true` a missing one is installed by `scripts/chromium.sh`, and still
/// missing fails the test; elsewhere the test is skipped with a message saying how to run it.
fn browser() -> Option<PathBuf> {
    if let Some(found) = find_browser() {
        return Some(found);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/chromium.sh");
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        let installed = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs");
        let path = PathBuf::from(text(&installed.stdout).trim());
        assert!(
            installed.status.success() && path.is_file(),
            "CI=true and no Chromium, and {} could not install it: the review page's \
             browser test cannot be skipped in CI",
            script.display()
        );
        return Some(path);
    }
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED the review page's browser test: no Chromium (set CHROMIUM, or run {}) ***\n",
        script.display()
    );
    None
}

/// Runs the browser headless on `url` with `args`; its stdout and stderr (console messages
/// included). Output goes to files: a page's DOM is more than a pipe holds.
fn headless(browser: &Path, dir: &Path, args: &[&str], url: &str) -> (String, String) {
    let (stdout, stderr) = (dir.join("browser.out"), dir.join("browser.err"));
    let child = Command::new(browser)
        .args([
            "--headless=new",
            // Root (CI) has no sandbox; the page is ours and loads nothing.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("the browser starts");
    let status = finish(child).status;
    let (out, err) = (fs::read(&stdout).unwrap(), fs::read(&stderr).unwrap());
    assert!(status.success(), "{}: {}", browser.display(), text(&err));
    (text(&out), text(&err))
}

/// Runs `args` on the embedded simulator kept in `state`; they must succeed.
fn sim_ok(state: &SimState, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--simulate", "--sim-users", "60"];
    all.extend_from_slice(args);
    let out = command(&all, &state.env())
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

/// The `data-count` of the element marked `data-{attribute}="{key}"` (and `data-chart` when
/// given) in the dumped DOM.
fn shown_count(dom: &str, marker: &str) -> Option<u64> {
    let at = dom.find(marker)?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[at..tag_end];
    let count = tag.split("data-count=\"").nth(1)?;
    count[..count.find('"')?].parse().ok()
}

#[test]
fn the_review_page_renders_in_chromium_with_the_json_counts_and_hostile_names_as_text() {
    let Some(browser) = browser() else {
        return;
    };
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    // Seeded through the API, as any tenant's user would be.
    sim_ok(
        &state,
        &[
            "users",
            "create",
            "hostile@example.com",
            "--first-name",
            HOSTILE,
            "--last-name",
            BREAKOUT,
        ],
    );
    let page = dir.path().join("r.html");
    let json = dir.path().join("r.json");
    sim_ok(&state, &["review", "-o", page.to_str().unwrap()]);
    sim_ok(&state, &["review", "-o", json.to_str().unwrap()]);
    let review: Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    let summary = &review["summary"];

    // The tenant's strings are in the file only as JSON escapes.
    let raw = fs::read_to_string(&page).unwrap();
    assert!(!raw.contains(HOSTILE) && !raw.contains(BREAKOUT));
    assert!(raw.contains("\\u003cimg src=x onerror=alert(1)\\u003e"));

    // Filtered from the address to the hostile user, so that their row is on the first page.
    let url = format!("file://{}#q=onerror", page.display());
    let (dom, console) = headless(&browser, dir.path(), &["--dump-dom"], &url);
    assert!(
        dom.contains("data-status=\"ready\"") && dom.contains("data-errors=\"0\""),
        "the script did not finish cleanly: {}",
        &dom[dom.find("<body").unwrap_or(0)..][..400.min(dom.len())]
    );
    let messages: Vec<&str> = console.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(messages.is_empty(), "console: {messages:#?}");

    // The counts are the JSON's.
    assert_eq!(
        shown_count(&dom, "data-tile=\"users\""),
        summary["users"].as_u64()
    );
    let total: u64 = summary["findings"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(total > 0);
    assert_eq!(shown_count(&dom, "data-tile=\"findings\""), Some(total));
    for (kind, n) in summary["findings"].as_object().unwrap() {
        let marker = format!("data-chart=\"kinds\" data-key=\"{kind}\"");
        assert_eq!(shown_count(&dom, &marker), n.as_u64(), "{kind}");
    }
    let mut privileged = 0;
    for role in summary["roles"].as_array().unwrap() {
        if role["privileged"] == true {
            privileged += 1;
            let id = role["role_id"].as_str().unwrap();
            let marker = format!("data-chart=\"privileged\" data-key=\"{id}\"");
            assert_eq!(shown_count(&dom, &marker), role["holders"].as_u64(), "{id}");
        }
    }
    assert!(privileged > 0, "the simulated tenant has privileged roles");
    let logins = &summary["last_login"];
    for band in logins["bands"].as_array().unwrap() {
        let key = match band["up_to_days"].as_u64() {
            Some(days) => format!("up-to-{days}"),
            None => "older".to_owned(),
        };
        let marker = format!("data-chart=\"logins\" data-key=\"{key}\"");
        assert_eq!(shown_count(&dom, &marker), band["users"].as_u64(), "{key}");
    }
    assert_eq!(
        shown_count(&dom, "data-chart=\"logins\" data-key=\"never\""),
        logins["never"].as_u64()
    );

    // The hostile name is text in its cell; no element came of it.
    let cell = "<td>&lt;img src=x onerror=alert(1)&gt; &lt;/script&gt;&lt;!--</td>";
    assert!(dom.contains(cell), "the name as text");
    assert!(!dom.contains("<img"), "an element was made of a name");
    assert!(
        dom.contains("data-total=\"1\""),
        "the filter found the one user's finding"
    );

    // A screenshot of the page as drawn, kept from the run.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-page.png");
    let _ = fs::remove_file(&shot);
    headless(
        &browser,
        dir.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800",
        ],
        &format!("file://{}", page.display()),
    );
    let png = fs::read(&shot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    // Past the harness's capture, so that a run's log says where the screenshot is.
    let _ = writeln!(
        std::io::stderr().lock(),
        "review page screenshot: {}",
        shot.display()
    );
}

#[test]
fn a_page_is_only_a_reviews() {
    let state = SimState::new();
    for args in [
        &["--simulate", "-f", "html", "users", "list"][..],
        &["--simulate", "-f", "html", "review", "verify", "r.html"],
        &["--simulate", "inventory", "-o", "inv.html"],
    ] {
        let out = command(args, &state.env()).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("html"), "{}", text(&out.stderr));
    }
    // `-f html` to stdout: the page, sealed.
    let out = command(
        &["--simulate", "--sim-users", "5", "-f", "html", "review"],
        &state.env(),
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    let digest = page.lines().last().unwrap();
    assert!(
        digest.starts_with("<!-- sha256:") && digest.ends_with(" -->"),
        "{digest}"
    );
}

//! Help, completions and man pages, all generated from the one command-line grammar.

use std::path::PathBuf;

use crate::support::*;

/// Compares `actual` with the snapshot file `name` in `tests/cli/snapshots/`; any difference
/// fails. `UPDATE_SNAPSHOTS=1` rewrites the file instead (review the diff before committing).
fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("the snapshot is written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{name} changed (UPDATE_SNAPSHOTS=1 rewrites {}):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// The help text's section titles (lines ending in `:` at the margin), in order.
fn sections(help: &str) -> Vec<&str> {
    help.lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect()
}

/// The option names listed in `section` of a help text.
fn options_in<'a>(help: &'a str, section: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != section)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(',').trim_end_matches("..."))
        .collect()
}

fn help(args: &[&str]) -> String {
    let out = run(args, &[]);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn global_options_have_their_own_sections_after_the_commands_own() {
    let top = help(&["--help"]);
    assert_eq!(
        sections(&top),
        ["Commands:", "Options:", "Global options:", "Simulator:"]
    );
    let delete = help(&["users", "delete", "-h"]);
    assert_eq!(
        sections(&delete),
        ["Arguments:", "Options:", "Global options:", "Simulator:"]
    );
    assert_eq!(options_in(&delete, "Options:"), ["--help", "--version"]);
    let globals = options_in(&delete, "Global options:");
    for option in [
        "--profile",
        "--config",
        "--client-id",
        "--client-secret",
        "--cloud",
        "--member-cid",
        "--format",
        "--yes",
        "--settle",
        "--verbose",
    ] {
        assert!(globals.contains(&option), "{option} in {globals:?}");
    }
    assert_eq!(
        options_in(&delete, "Simulator:"),
        [
            "--simulate",
            "--sim-state",
            "--sim-reset",
            "--sim-users",
            "--sim-read-lag"
        ]
    );
    let list = help(&["users", "list", "-h"]);
    assert_eq!(
        options_in(&list, "Options:"),
        ["--filter", "--limit", "--sort", "--help", "--version"]
    );
    for text in [&top, &delete] {
        // An unset variable is not shown as set to the empty string.
        assert!(!text.contains("=]"), "{text}");
        assert!(text.contains("[env: FALCON_CLOUD]"), "{text}");
    }
    assert_snapshot("help.txt", &top);
    assert_snapshot("users-delete-help.txt", &delete);
}

#[test]
fn completion_scripts_know_the_commands() {
    let bash = run(&["completions", "bash"], &[]);
    assert!(bash.status.success(), "{}", text(&bash.stderr));
    let script = text(&bash.stdout);
    for word in [
        "complete -F _falcon__users",
        "inventory",
        "provision",
        "offboard",
        "--sim-users",
        "--profile",
    ] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("inventory"), "{shell}");
    }
    let unknown = run(&["completions", "tcsh"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let out = run(&["man"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains("\n.TH"),
        "roff: {page}"
    );
    assert!(page.contains(".TH falcon-users 1"), "{page}");
    for command in ["users", "inventory", "provision", "offboard", "completions"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }

    let dir = tempfile::tempdir().expect("a temporary directory");
    let pages = dir.path().join("man1");
    let pages_arg = pages.to_str().expect("a UTF-8 path");
    let out = run(&["man", "--out", pages_arg], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for file in [
        "falcon-users.1",
        "falcon-users-users.1",
        "falcon-users-users-delete.1",
    ] {
        let page =
            std::fs::read_to_string(pages.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.contains(".TH"), "{file}");
    }
}

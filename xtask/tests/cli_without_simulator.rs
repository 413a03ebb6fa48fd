//! `cargo build -p falcon-users-cli --no-default-features` links no HTTP server: neither the
//! simulator nor axum, and hyper without its `server` feature (the README promises it).

use std::path::PathBuf;
use std::process::Command;

/// `cargo tree` of the CLI's normal dependencies, with the given extra arguments.
fn tree(args: &[&str]) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["tree", "-p", "falcon-users-cli", "--locked", "--offline"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

/// The features of hyper that the CLI's normal dependencies turn on.
fn hyper_features(args: &[&str]) -> Vec<String> {
    let mut all = vec!["-e", "normal,features", "-i", "hyper"];
    all.extend_from_slice(args);
    tree(&all)
        .lines()
        .filter_map(|line| line.split_once("hyper feature \""))
        .filter_map(|(_, rest)| rest.split_once('"'))
        .map(|(feature, _)| feature.to_owned())
        .collect()
}

#[test]
fn the_cli_without_default_features_links_no_http_server() {
    let lean = tree(&["--no-default-features", "-e", "normal"]);
    assert!(lean.contains("falcon-users v"), "{lean}");
    for server in ["axum", "falcon-users-sim"] {
        assert!(!lean.contains(server), "{server} in:\n{lean}");
    }
    let features = hyper_features(&["--no-default-features"]);
    assert!(features.iter().any(|f| f == "client"), "{features:?}");
    assert!(!features.iter().any(|f| f == "server"), "{features:?}");

    // The default build has the embedded simulator, server and all: the check can tell.
    let full = tree(&["-e", "normal"]);
    assert!(full.contains("falcon-users-sim"), "{full}");
    assert!(hyper_features(&[]).iter().any(|f| f == "server"));
}

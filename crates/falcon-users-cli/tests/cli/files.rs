//! Files the CLI writes: all or nothing, `0600`, and an output error has its own exit code.

use std::fs;

use falcon_users_sim::SimConfig;

use crate::support::*;

pub const PREVIOUS: &str = "uuid,uid\nprevious,inventory@example.com\n";

/// A directory holding `inv.csv` with the previous run's content, mode 0644.
pub fn previous_inventory() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("inv.csv");
    fs::write(&path, PREVIOUS).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    (dir, path)
}

#[test]
fn a_failed_inventory_leaves_the_previous_file_as_it_was_and_nothing_else() {
    let sim = Sim::start(SimConfig {
        users: 40,
        ..SimConfig::default()
    });
    let (dir, path) = previous_inventory();
    let out = path.to_str().unwrap();

    // A wrong secret: refused before any row.
    let mut env = sim.env();
    env[2].1 = "not-the-secret".into();
    let refused = run(&["-f", "csv", "inventory", "-o", out], &pairs(&env));
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    assert_eq!(fs::read_to_string(&path).unwrap(), PREVIOUS);
    assert_eq!(names_in(dir.path()), ["inv.csv"], "no temporary file left");
}

#[test]
fn a_successful_inventory_replaces_the_file_whole_with_mode_0600() {
    let (dir, path) = previous_inventory();
    let done = run(
        &[
            "--simulate",
            "--sim-users",
            "30",
            "-f",
            "csv",
            "inventory",
            "-o",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(done.stdout.is_empty(), "the rows went to the file");
    let written = fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("uuid,uid,first_name,last_name,status,cid,user_type,created_at,last_login_at,roles,role_names,grant_cids,grant_types,expires_at,sources,user_groups,cid_groups\n"));
    assert_eq!(written.lines().count(), 31);
    // No temporary file left; the evidence beside the CSV.
    assert_eq!(names_in(dir.path()), ["inv.csv", "inv.csv.evidence.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [path.clone(), dir.path().join("inv.csv.evidence.json")] {
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "personal data: owner only, {mode:o}");
        }
    }
}

#[test]
fn an_output_that_cannot_be_written_exits_7_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("x.csv");
    let out = run(
        &[
            "--simulate",
            "--sim-users",
            "5",
            "-f",
            "csv",
            "inventory",
            "-o",
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no-such-dir"), "{stderr}");
    assert!(!missing.exists());
}

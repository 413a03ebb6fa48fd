//! Each crate is a one-way stack of modules: imports only point down, and no modules import
//! each other in a cycle. The layer tables below are the intended architecture.

use std::path::Path;

use falcon_users_tests::module_edges::{check_layers, edges};

fn src(krate: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crates")
        .join(krate)
        .join("src")
}

fn assert_layers(krate: &str, layers: &[&[&str]]) {
    let problems = check_layers(&src(krate), layers);
    assert!(
        problems.is_empty(),
        "{krate} is not a one-way stack:\n  {}",
        problems.join("\n  ")
    );
}

/// A throwaway crate: the checker must see grouped, inline, `super` and root imports.
#[test]
fn the_checker_reports_cycles_upward_imports_and_root_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("top")).unwrap();
    for (file, text) in [
        ("lib.rs", "mod low; mod top; pub use low::Thing;"),
        (
            "low.rs",
            "pub struct Thing; fn f() -> crate::top::Up { todo!() }",
        ),
        (
            "top/mod.rs",
            "pub struct Up; mod child; use crate::{low::{Thing}};",
        ),
        (
            "top/child.rs",
            "use super::Up; fn g() -> crate::Thing { todo!() }",
        ),
    ] {
        std::fs::write(src.join(file), text).unwrap();
    }
    let (edges, _) = edges(src);
    let edges: Vec<(&str, &str)> = edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        edges,
        [
            ("", "low"),
            ("low", "top"),
            ("top", "low"),
            ("top::child", "top")
        ]
    );
    let problems = check_layers(src, &[&["low"], &["top"]]);
    assert_eq!(
        problems,
        [
            "top::child names `crate::Thing` through the crate root; name the module it lives in",
            "low (layer 0) imports top (layer 1): imports must point down",
            "import cycle: low ↔ top",
        ]
    );
}

#[test]
fn falcon_users_layers_point_down() {
    assert_layers(
        "falcon-users",
        &[
            &["error"],
            &["clock", "model"],
            &["runtime::carry", "runtime::rate"],
            &[
                "runtime::body",
                "runtime::endpoint",
                "runtime::network",
                "runtime::pacing",
                "runtime::retry",
                "runtime::stats",
                "runtime::token",
                "runtime::trace",
                "runtime::transport",
            ],
            &["runtime::response", "runtime::shared"],
            &["runtime::pipeline"],
            &["runtime::minter"],
            &["client"],
            &["builder"],
            &["ops::partition"],
            &[
                "ops::paging::batch",
                "ops::paging::next",
                "ops::paging::page",
            ],
            &["ops::paging::progress"],
            &["ops::paging::walk"],
            &["ops::paging::prefetch"],
            &["ops::paging"],
            &["ops::users", "ops::roles", "ops::grants"],
            &["workflows::once"],
            &["workflows::inventory"],
            &["workflows::review::finding", "workflows::review::privilege"],
            &[
                "workflows::review::fixtures",
                "workflows::review::rules",
                "workflows::review::tally",
            ],
            &["workflows::review::run"],
            &["workflows"],
        ],
    );
}

/// Domain state below what handlers share, below HTTP, below the server.
#[test]
fn simulator_layers_point_down() {
    assert_layers(
        "falcon-users-sim",
        &[
            &["config", "clock"],
            &["fql", "state", "clients", "seed"],
            &["shared"],
            &["fixture"],
            &["envelope", "rate"],
            &["gate"],
            &["extract", "faults", "body"],
            &["routes"],
            &["router"],
            &["server"],
        ],
    );
}

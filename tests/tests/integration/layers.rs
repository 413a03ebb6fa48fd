//! Each crate is a one-way stack of modules: imports only point down, and no modules import
//! each other in a cycle. The layer tables below are the intended architecture: the library,
//! the simulator, the CLI and xtask, the generated client's crate, the mocks, the bench and
//! the tests' own support library.

use std::path::Path;

use falcon_users_tests::module_edges::{check_layers, edges};

/// The sources of the crate in `dir` (relative to the workspace root).
fn src(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir)
        .join("src")
}

fn assert_layers(krate: &str, layers: &[&[&str]]) {
    let dir = if krate == "xtask" {
        krate.to_owned()
    } else {
        format!("crates/{krate}")
    };
    let problems = check_layers(&src(&dir), layers);
    assert!(
        problems.is_empty(),
        "{krate} is not a one-way stack:\n  {}",
        problems.join("\n  ")
    );
}

/// A throwaway crate: the checker must see grouped, inline, `super` and root imports, and skip
/// test modules.
#[test]
fn the_checker_reports_cycles_upward_imports_and_root_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("top")).unwrap();
    for (file, text) in [
        ("lib.rs", "mod low; mod top; pub use low::Thing;"),
        (
            "low.rs",
            // A test module, also under a compound cfg, may reach anywhere.
            "pub struct Thing; fn f() -> crate::top::Up { todo!() } \
             #[cfg(all(test, unix))] mod t { use super::*; use crate::Thing; }",
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
            &["ops::partition", "ops::raw"],
            &[
                "ops::paging::batch",
                "ops::paging::next",
                "ops::paging::page",
            ],
            &["ops::paging::progress"],
            &["ops::paging::walk"],
            &["ops::paging::prefetch"],
            &["ops::paging", "ops::scope"],
            &[
                "ops::users",
                "ops::roles",
                "ops::grants",
                "ops::own_cid",
                "ops::children",
                "ops::flight_control",
            ],
            &["workflows::once"],
            // The privilege judgement, which an inventory filters privileged users by.
            &["workflows::review::privilege"],
            &["workflows::inventory"],
            // The fleet's reads (children, links), which the review reads the fleet with.
            &["workflows::fleet"],
            &["workflows::review::finding"],
            &[
                "workflows::review::fixtures",
                "workflows::review::rules",
                "workflows::review::tally",
            ],
            &["workflows::review::run"],
            &["workflows"],
            &["history"],
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
            &["fql", "state", "clients", "tenant_gen"],
            &["lag"],
            &["shared"],
            &["seeder"],
            &["envelope", "rate"],
            &["gate"],
            &["extract", "faults", "body"],
            &["routes"],
            &["router"],
            &["server"],
        ],
    );
}

/// The CLI as a thin shell: how a run ends (failure, exit codes) at the bottom, then local
/// inputs, the one rendering path (escaping, files, console, tables, plans), the grammar, the
/// connection, the machinery commands share, and the commands on top; `main` (the crate
/// root) builds the job, connects, runs and exits.
#[test]
fn cli_layers_point_down() {
    assert_layers(
        "falcon-users-cli",
        &[
            &["exit", "base_dir", "input"],
            &["failure", "summary"],
            &["list_file", "expiry"],
            &["output"],
            // Parsed as an input, resolved against the service (warnings on the console).
            &["member_cids"],
            // Rosters and lists of users, mapped, from files or standard input.
            &["roster_file"],
            &["records"],
            &["cli"],
            &[
                "confirm",
                "interrupt",
                "journal_file",
                "questions",
                "secret_source",
            ],
            &["profile", "sim_state"],
            &["connect", "ctx", "jobs"],
            &["history_file"],
            &["bulk"],
            &["commands"],
        ],
    );
}

/// One module per command, each on its own: what two commands share lives below `commands`.
#[test]
fn cli_commands_never_import_each_other() {
    let (edges, problems) = edges(&src("crates/falcon-users-cli"));
    assert!(problems.is_empty(), "{problems:?}");
    let between: Vec<String> = edges
        .iter()
        .filter(|(from, to)| from.starts_with("commands") && to.starts_with("commands"))
        .map(|(from, to)| format!("{from} imports {to}"))
        .collect();
    assert!(
        between.is_empty(),
        "commands import each other:\n  {}",
        between.join("\n  ")
    );
}

/// The generator's passes below generation; spec-diff's documents and findings below the
/// comparisons, below the report and the task.
#[test]
fn xtask_layers_point_down() {
    assert_layers(
        "xtask",
        &[
            &["naming"],
            &["normalize", "operation_table"],
            &["passes"],
            &["generate"],
            &["spec_diff::document", "spec_diff::curation"],
            &["spec_diff::finding", "spec_diff::operation"],
            &["spec_diff::schema"],
            &["spec_diff::inputs", "spec_diff::responses"],
            &["spec_diff::operations"],
            &["spec_diff::report"],
            &["spec_diff", "new_operation"],
        ],
    );
}

/// The generated client's crate: the operation's facts at the bottom; the hook slot, the
/// operation table and the helpers generated calls use (the body a hook read, optional query
/// parameters) above them; the generated code above those; the root, which joins the hook to
/// the generated client, on top. progenitor's output names its own inline modules (`types`,
/// `builder`) with `super::` paths, which this check (a module per file) would read as the
/// crate root: those stay inside the generated file and are left out; anything else it names
/// is a module below it.
#[test]
fn api_layers_point_down() {
    let problems: Vec<String> = check_layers(
        &src("crates/falcon-users-api"),
        &[
            &["operation"],
            &["hooks", "body", "query", "operations"],
            &["generated"],
        ],
    )
    .into_iter()
    .filter(|p| {
        !p.starts_with("generated names `super::")
            && !p.starts_with("generated names `self::super::")
    })
    .collect();
    assert!(
        problems.is_empty(),
        "falcon-users-api is not a one-way stack:\n  {}",
        problems.join("\n  ")
    );
}

/// The mocks: the envelopes below the token mocks, the generated mocks on their own.
#[test]
fn httpmock_layers_point_down() {
    assert_layers(
        "falcon-users-httpmock",
        &[&["envelope"], &["token"], &["generated"]],
    );
}

/// The bench: its defaults, then the simulator process, measuring and reporting, then the
/// peers (which run against a simulator), then the scenarios.
#[test]
fn bench_layers_point_down() {
    assert_layers(
        "falcon-users-bench",
        &[
            &["defaults"],
            &["sim_process", "measure", "report"],
            &["peer"],
            &["scenarios"],
        ],
    );
}

/// The tests' support library: the time bound below the helpers that await with it.
#[test]
fn test_support_layers_point_down() {
    let problems = check_layers(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[
            &["bound", "module_edges", "traces"],
            &["fixtures", "loopback", "mock", "sim", "wire"],
        ],
    );
    assert!(
        problems.is_empty(),
        "the test support library is not a one-way stack:\n  {}",
        problems.join("\n  ")
    );
}

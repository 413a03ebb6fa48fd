//! Maintainer tasks for falcon-users: `cargo xtask generate [--check]`, `cargo xtask spec-diff`
//! and `cargo xtask new-operation`.

mod generate;
mod naming;
mod new_operation;
mod normalize;
mod operation_table;
mod passes;
mod spec_diff;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "falcon-users maintainer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the low-level client and the typed httpmock helpers from the spec.
    Generate {
        /// Do not write anything; fail if the checked-in generated code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Compare our spec with upstream Swagger 2.0 documents and report drift: each operation
    /// of ours against the first document given that has it.
    SpecDiff {
        /// The upstream Swagger 2.0 JSON files (one per upstream collection).
        #[arg(required = true, num_args = 1..)]
        upstream: Vec<PathBuf>,
        /// Our OpenAPI 3.0 spec.
        #[arg(long, default_value = "spec/user-management.json")]
        spec: PathBuf,
        /// The curation notes whose "Explained drift" list excuses known differences.
        #[arg(long, default_value = "spec/CURATION.md")]
        curation: PathBuf,
        /// Print only the differences no curation pattern explains (the summary still counts
        /// all of them).
        #[arg(long)]
        unexplained_only: bool,
    },
    /// Write the spec entry of an upstream operation our spec lacks (descriptions left for a
    /// person) and print every file the new operation needs.
    NewOperation {
        /// The upstream operationId, e.g. `entitiesPermissionsGETV1`.
        operation_id: String,
        /// The upstream Swagger 2.0 JSON file.
        upstream: PathBuf,
        /// Our OpenAPI 3.0 spec, which gets the entry.
        #[arg(long, default_value = "spec/user-management.json")]
        spec: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate { check } => generate::run(&workspace_root(), check),
        Command::SpecDiff {
            upstream,
            spec,
            curation,
            unexplained_only,
        } => spec_diff::run(&upstream, &spec, &curation, unexplained_only),
        Command::NewOperation {
            operation_id,
            upstream,
            spec,
        } => new_operation::run(&workspace_root(), &operation_id, &upstream, &spec),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root, so `cargo xtask` works from any directory inside it.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

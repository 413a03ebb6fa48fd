//! Where the review history is, and opening it: `--history FILE`, else beside the simulated
//! tenant's state file under `--simulate`, else `$XDG_DATA_HOME/falcon-users/history.sqlite`
//! (or `~/.local/share/...`). A default directory is made (mode 0700) when missing; a file
//! given with `--history` must be in a directory that exists. A review is recorded in it the
//! same way wherever it runs ([`stage`], [`commit_review`], [`review_evidence`]): `review`, and
//! `review apply`'s snapshot after the decisions.

use std::path::{Path, PathBuf};

use std::process::ExitCode;

use falcon_users::history::{
    FILE_NAME, History, HistoryError, Snapshot, SnapshotKind, SnapshotMeta, SnapshotWriter,
};
use falcon_users::workflows::UserWithGrants;
use falcon_users::workflows::evidence;
use falcon_users::workflows::review::{FindingKind, Review, ReviewReport, RoleBook};
use falcon_users::{Cid, Falcon};

use crate::base_dir::BaseDir;
use crate::cli::Global;
use crate::connect;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::Failure;
use crate::jobs::Job;
use crate::output::console;

/// The history for this command, and whether it is the default place: `explicit`, else the
/// default for how it runs (whether it simulates). No place to be found is an error naming
/// `--history`.
pub fn path(global: &Global, explicit: Option<&Path>) -> Result<(PathBuf, bool), Failure> {
    if let Some(path) = explicit {
        return Ok((path.to_owned(), false));
    }
    #[cfg(feature = "simulator")]
    if connect::simulated(global)? {
        let state = crate::sim_state::path(global.sim.sim_state.as_deref())?;
        let dir = state.parent().unwrap_or(Path::new("."));
        return Ok((dir.join(FILE_NAME), true));
    }
    #[cfg(not(feature = "simulator"))]
    let _ = connect::simulated(global)?;
    BaseDir::Data
        .file(FILE_NAME)
        .map(|p| (p, true))
        .ok_or_else(|| {
            Failure::Exit(
                exit::USAGE,
                "no data directory for the history (neither XDG_DATA_HOME nor HOME is an absolute \
             path): give --history FILE, or --no-history"
                    .into(),
            )
        })
}

/// Where `job` records its snapshot: `review` unless `--no-history`, `inventory --save`,
/// `review apply` (its sign-off too); none for the other jobs. A place that cannot be found is kept as the reason.
pub fn for_job(global: &Global, job: &Job) -> Option<Result<(PathBuf, bool), String>> {
    let explicit = match job {
        Job::Review(args) if !args.no_history => args.history.as_deref(),
        Job::ReviewApply(args) => args.history.as_deref(),
        Job::Inventory(args) if args.save => args.history.as_deref(),
        _ => return None,
    };
    Some(path(global, explicit).map_err(|f| f.to_string()))
}

/// Opens (creating) the history at `path`; a default place's directory is made first.
pub fn open(path: &Path, default_place: bool) -> Result<History, HistoryError> {
    if default_place
        && let Some(dir) = path.parent()
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| HistoryError::Open {
            path: path.to_owned(),
            why: format!("cannot make its directory: {e}"),
        })?;
    }
    History::open(path)
}

/// A history failure as the command's: a snapshot or role not found is exit 2 (the arguments
/// name what is not there); writing the answer out is an output failure; anything else is
/// exit 7 (a local file that could not be used).
pub fn failure(err: HistoryError) -> Failure {
    match err {
        HistoryError::Missing { .. } => Failure::Exit(exit::USAGE, err.to_string()),
        HistoryError::Output(io) => Failure::Io(io),
        err => Failure::Exit(exit::LOCAL, err.to_string()),
    }
}

/// The history a run records in: where, and the first failure (after which nothing more is
/// recorded).
#[derive(Default)]
pub struct Recording {
    path: Option<PathBuf>,
    failed: Option<Failure>,
}

impl Recording {
    /// The history `ctx` names, opened; `None` when none is asked for or it cannot be used
    /// (kept as the failure).
    pub fn open(&mut self, ctx: &Ctx) -> Option<History> {
        let (path, default_place) = match ctx.history.as_ref()? {
            Ok(place) => place.clone(),
            Err(why) => {
                self.failed = Some(Failure::Exit(exit::LOCAL, why.clone()));
                return None;
            }
        };
        self.path = Some(path.clone());
        open(&path, default_place).map_err(|e| self.fail(e)).ok()
    }

    /// Keeps the first failure.
    pub fn fail(&mut self, err: HistoryError) {
        if self.failed.is_none() {
            self.failed = Some(failure(err));
        }
    }

    pub fn place(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

impl Recording {
    /// After the run's output: says where the snapshot went, or why it did not; the exit code
    /// when the history failed (7: the output is complete, its snapshot is not).
    pub fn recorded(&mut self, outcome: Result<Snapshot, HistoryError>) {
        match outcome {
            Ok(snapshot) => console::line(format_args!(
                "history: snapshot {} recorded in {}",
                snapshot.id,
                self.place()
            )),
            Err(e) => self.fail(e),
        }
    }

    /// The history's failure, if any, said on stderr: exit 7, whatever else the run found.
    pub fn report(&mut self, what: &str) -> Option<ExitCode> {
        let failure = self.failed.take()?;
        console::line(format_args!(
            "error: {failure}; the {what}'s output is complete, its snapshot is not recorded"
        ));
        Some(ExitCode::from(exit::LOCAL))
    }
}

/// Stages a reviewed row in the snapshot being written (in `cid`, `None`: the row's home CID);
/// the first failure ends the recording.
pub fn stage(
    writer: &mut Option<SnapshotWriter<'_>>,
    recording: &mut Recording,
    cid: Option<&Cid>,
    row: &UserWithGrants,
    book: &RoleBook,
) {
    if let Some(w) = writer.as_mut() {
        // The handle's own CID's rows are the user's home CID.
        let cid = cid.map(Cid::as_str).or(row.user.cid.as_deref());
        if let Err(e) = w.reviewed(cid.unwrap_or_default(), row, book) {
            recording.fail(e);
            *writer = None;
        }
    }
}

/// Records a review's snapshot: the rows staged, then its findings, described by its
/// evidence.
pub fn commit_review(
    mut writer: SnapshotWriter<'_>,
    report: &ReviewReport,
    evidence: &evidence::Evidence,
) -> Result<Snapshot, HistoryError> {
    let meta = SnapshotMeta::from_evidence(SnapshotKind::Review, evidence);
    report
        .findings
        .iter()
        .try_for_each(|f| writer.finding(f))
        .and_then(|()| writer.commit(meta))
}

/// The evidence of a review, taken once its requests are done (so that they are counted):
/// what its output files carry and its snapshot records.
pub async fn review_evidence(
    falcon: &Falcon,
    review: &Review,
    fail_on: &[FindingKind],
    report: &ReviewReport,
) -> evidence::Evidence {
    let fail_on: Vec<String> = fail_on.iter().map(ToString::to_string).collect();
    let mut evidence = falcon
        .evidence("review", &review.member_cids)
        .await
        .tool(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .review_options(review)
        .option("fail_on", fail_on);
    for (cid, err) in &report.failed {
        evidence = evidence.note(format!("child CID {cid} could not be reviewed: {err}"));
    }
    if let Some(unread) = &report.links_unread {
        evidence = evidence.note(falcon_users::workflows::LinkReach::unread_note(unread));
    }
    evidence
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::PathBuf;

    use falcon_users::history::FILE_NAME;

    use crate::base_dir::BaseDir;

    #[test]
    fn default_path_follows_xdg_then_home() {
        let cases = [
            (
                Some("/x"),
                Some("/h"),
                Some("/x/falcon-users/history.sqlite"),
            ),
            (
                None,
                Some("/h"),
                Some("/h/.local/share/falcon-users/history.sqlite"),
            ),
            (
                Some("rel"),
                Some("/h"),
                Some("/h/.local/share/falcon-users/history.sqlite"),
            ),
            (Some(""), None, None),
        ];
        for (xdg, home, want) in cases {
            assert_eq!(
                BaseDir::Data.file_in(xdg.map(OsStr::new), home.map(OsStr::new), FILE_NAME),
                want.map(PathBuf::from),
                "{xdg:?} {home:?}"
            );
        }
    }
}

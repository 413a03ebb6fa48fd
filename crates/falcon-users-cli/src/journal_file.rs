//! The journal file of a run (`apply`, the bulk commands): opened for appending before the first
//! change, so that an unwritable path stops the run before anything is done, and removed again
//! when this run created it and wrote nothing (a plan refused as stale leaves no empty file).

use std::path::{Path, PathBuf};

use falcon_users::workflows::roster::{Action, Journal, JournalEntry};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exit;
use crate::failure::Failure;

/// Where the journal of a run that reads `input` goes: `given` (`--journal`), else beside the
/// input (`roster.csv` → `roster.csv.journal.jsonl`). An input read from standard input has no
/// place beside it: `command -` without `--journal` is refused (exit 2), before any change.
pub fn path_for(input: &Path, given: Option<PathBuf>, command: &str) -> Result<PathBuf, Failure> {
    if let Some(given) = given {
        return Ok(given);
    }
    if crate::input::is_stdin(input) {
        return Err(Failure::Exit(
            exit::USAGE,
            format!(
                "{command} -: name the journal with --journal FILE (an input read from \
                 standard input has no place beside it for one)"
            ),
        ));
    }
    let mut name = input.as_os_str().to_owned();
    name.push(".journal.jsonl");
    Ok(PathBuf::from(name))
}

/// An open journal file (of roster actions, or of another workflow's: `A`).
pub struct JournalFile<A = Action> {
    /// The journal to hand to `apply`.
    pub journal: Journal<A>,
    path: PathBuf,
    created: bool,
}

impl<A: Serialize + DeserializeOwned + Clone + PartialEq> JournalFile<A> {
    /// Opens `path` for appending, creating it (mode 0600) when absent; exit 7 when it cannot be.
    pub fn open(path: &Path) -> Result<Self, Failure> {
        // Not `exists()`: that follows a link, and a dangling one would be taken as absent.
        let created = std::fs::symlink_metadata(path).is_err();
        let journal = Journal::<A>::open(path).map_err(|e| {
            Failure::Exit(
                exit::LOCAL,
                format!("cannot write the journal {}: {e}", path.display()),
            )
        })?;
        Ok(Self {
            journal,
            path: path.to_owned(),
            created,
        })
    }

    /// Exit 7 when a line could not be written (the run started no further change after it).
    pub fn check(&self) -> Result<(), Failure> {
        match self.journal.failure() {
            Some(why) => Err(Failure::Exit(
                exit::LOCAL,
                format!(
                    "the journal {} could not be written ({why}); no further change was started",
                    self.path.display()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The lines of the journal at `path` (none when there is none yet): what earlier runs did. A
/// line that does not read as one (another tool's, or cut short) is passed over; a journal
/// that is not a regular file is left to [`JournalFile::open`] to refuse.
pub fn entries(path: &Path) -> Result<Vec<JournalEntry>, Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Ok(Vec::new()),
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Exit(
            exit::LOCAL,
            format!("cannot read the journal {}: {e}", path.display()),
        )
    })?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

impl<A> Drop for JournalFile<A> {
    fn drop(&mut self) {
        let empty = std::fs::metadata(&self.path).is_ok_and(|m| m.len() == 0);
        if self.created && empty {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

//! The journal of an apply, written ahead: a JSON line for each action before it is sent
//! (outcome `started`) and one when it ends (`done`, `failed`, ...), each with what, for whom,
//! in which CID, the trace id of the answer and the time. Lines are appended, so a run after an
//! interruption adds to the record of the runs before, and a killed run leaves the action it
//! had in flight named: the next run records how it was resolved (`interrupted: done` when it
//! took effect, `interrupted: not done` when it did not and is done again).
//!
//! The file is opened as the user's own regular file only: never through a symbolic link, never
//! one that others may read or write (it names every user changed).
//!
//! The journal is generic over the action it records (`A`, by default a roster [`Action`]), so
//! that every plan-and-apply workflow (the roster's, the Flight Control groups' in
//! [`flight_control`](crate::workflows::flight_control)) shares one write-ahead format, one
//! file policy and one way of resolving what a killed run left in flight.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::cid::Cid;
use crate::workflows::roster::plan::Action;

/// The outcome of a line written before its action is sent.
pub const STARTED: &str = "started";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry<A = Action> {
    /// When the action started or ended.
    pub time: DateTime<Utc>,
    /// The CID the action went to (`None`: the handle's own, when its CID was not known).
    pub cid: Option<Cid>,
    /// The login (a roster), or what the action is about (a Flight Control group or link).
    pub uid: String,
    /// The user's UUID, once known.
    pub user_uuid: Option<String>,
    /// The action.
    #[serde(flatten)]
    pub action: A,
    /// `started` (written before the action is sent), then `done`, `failed` or `already
    /// exists` (a create found the login taken); `interrupted: done` / `interrupted: not
    /// done` for an action a killed run left started, as the next run found it.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// `X-Cs-Traceid` of the last answer, for CrowdStrike support.
    pub trace_id: Option<String>,
}

/// Where journal lines go: a file (appended, one write per line, so that a killed process
/// leaves whole lines) or memory.
#[derive(Debug)]
pub struct Journal<A = Action> {
    sink: Mutex<Sink<A>>,
    /// Actions an earlier run started and never ended, by lower-case login (or subject).
    in_flight: Mutex<BTreeMap<String, Vec<JournalEntry<A>>>>,
}

#[derive(Debug)]
enum Sink<A> {
    File { file: File, failed: Option<String> },
    Memory(Vec<JournalEntry<A>>),
    Off,
}

impl Journal {
    /// Appends to the file at `path`, created mode 0600 if absent. Refuses a symbolic link
    /// (not followed, even one planted between a check and the open), anything but a regular
    /// file, a file of another user, and one that group or others may read or write. The lines
    /// already there are read for actions an earlier run left started.
    pub fn append_to(path: &Path) -> std::io::Result<Self> {
        Self::open(path)
    }

    /// Keeps the entries in memory ([`Journal::entries`]).
    pub fn in_memory() -> Self {
        Self::memory()
    }

    /// Records nothing.
    pub fn off() -> Self {
        Self::disabled()
    }
}

impl<A: Serialize + DeserializeOwned + Clone + PartialEq> Journal<A> {
    /// [`Journal::append_to`] for a journal of any action (`Journal::<Step>::open(path)` for a
    /// Flight Control apply).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = open_private(path)?;
        let in_flight = unfinished(BufReader::new(&file));
        Ok(Self {
            sink: Mutex::new(Sink::File { file, failed: None }),
            in_flight: Mutex::new(in_flight),
        })
    }

    /// [`Journal::in_memory`] for a journal of any action.
    pub fn memory() -> Self {
        Self::to(Sink::Memory(Vec::new()))
    }

    /// [`Journal::off`] for a journal of any action.
    pub fn disabled() -> Self {
        Self::to(Sink::Off)
    }

    fn to(sink: Sink<A>) -> Self {
        Self {
            sink: Mutex::new(sink),
            in_flight: Mutex::new(BTreeMap::new()),
        }
    }

    /// The actions an earlier run started for `uid` and never ended, taken out (each is
    /// resolved once).
    pub(crate) fn take_in_flight(&self, uid: &str) -> Vec<JournalEntry<A>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&uid.to_lowercase())
            .unwrap_or_default()
    }

    /// Every action earlier runs started and never ended, taken out: for an apply that works
    /// out what is left from the whole state at once rather than subject by subject.
    pub(crate) fn take_all_in_flight(&self) -> Vec<JournalEntry<A>> {
        std::mem::take(&mut *self.in_flight.lock().unwrap_or_else(|p| p.into_inner()))
            .into_values()
            .flatten()
            .collect()
    }

    /// How many actions earlier runs left started and this one has not resolved (they concern
    /// users this run does not touch).
    pub fn unresolved(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Records one entry. A file that cannot be written is remembered ([`Journal::failure`]),
    /// and the apply starts no further change.
    pub(crate) fn record(&self, entry: &JournalEntry<A>) -> bool {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *sink {
            Sink::File { file, failed } => {
                if failed.is_some() {
                    return false;
                }
                let line = match serde_json::to_string(entry) {
                    Ok(mut line) => {
                        line.push('\n');
                        line
                    }
                    Err(e) => {
                        *failed = Some(e.to_string());
                        return false;
                    }
                };
                match file.write_all(line.as_bytes()) {
                    Ok(()) => true,
                    Err(e) => {
                        *failed = Some(e.to_string());
                        false
                    }
                }
            }
            Sink::Memory(entries) => {
                entries.push(entry.clone());
                true
            }
            Sink::Off => true,
        }
    }

    /// The entries recorded in memory (empty for a file journal).
    pub fn entries(&self) -> Vec<JournalEntry<A>> {
        match &*self.sink.lock().unwrap_or_else(|p| p.into_inner()) {
            Sink::Memory(entries) => entries.clone(),
            _ => Vec::new(),
        }
    }

    /// Why the journal file could not be written, if it could not.
    pub fn failure(&self) -> Option<String> {
        match &*self.sink.lock().unwrap_or_else(|p| p.into_inner()) {
            Sink::File { failed, .. } => failed.clone(),
            _ => None,
        }
    }
}

/// The lines of a journal whose action started and has no later line of its own: what a run
/// killed in flight left. A line that is not a journal entry (a torn last line) is skipped.
fn unfinished<A: DeserializeOwned + PartialEq>(
    lines: impl BufRead,
) -> BTreeMap<String, Vec<JournalEntry<A>>> {
    let mut open: BTreeMap<String, Vec<JournalEntry<A>>> = BTreeMap::new();
    for line in lines.lines().map_while(std::result::Result::ok) {
        let Ok(entry) = serde_json::from_str::<JournalEntry<A>>(&line) else {
            continue;
        };
        let started = open.entry(entry.uid.to_lowercase()).or_default();
        if entry.outcome == STARTED {
            started.push(entry);
        } else {
            started.retain(|s| s.action != entry.action);
        }
    }
    open.retain(|_, started| !started.is_empty());
    open
}

/// Opens `path` for appending as the user's own private regular file (see
/// [`Journal::append_to`]).
#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::MetadataExt;

    use rustix::fs::{Mode, OFlags};

    let refuse = |why: String| Error::new(ErrorKind::PermissionDenied, why);
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(
            "it is a symbolic link; a journal is never written through one".into(),
        ));
    }
    // O_NOFOLLOW holds even against a link planted after the check above.
    let flags = OFlags::RDWR | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)).map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            refuse("it is a symbolic link; a journal is never written through one".into())
        } else {
            Error::from(e)
        }
    })?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file".into()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refuse(format!(
            "it belongs to another user (uid {}, not {me})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!(
            "others may read or write it (mode {mode:o}); `chmod 600` it or name another file"
        )));
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(uid: &str, action: Action, outcome: &str) -> String {
        serde_json::to_string(&JournalEntry {
            time: DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            cid: None,
            uid: uid.into(),
            user_uuid: None,
            action,
            outcome: outcome.into(),
            error: None,
            trace_id: None,
        })
        .unwrap()
    }

    /// (journal lines, the actions left in flight, by login)
    #[test]
    fn what_a_killed_run_left_in_flight() {
        let create = || Action::Create {
            first_name: None,
            last_name: None,
        };
        let grant = || Action::Grant {
            roles: vec!["a".into()],
            expires_at: None,
        };
        type Case = (Vec<String>, Vec<(&'static str, Action)>);
        let cases: Vec<Case> = vec![
            (vec![], vec![]),
            (
                vec![line("ann@x.com", create(), "started")],
                vec![("ann@x.com", create())],
            ),
            (
                vec![
                    line("ann@x.com", create(), "started"),
                    line("ann@x.com", create(), "done"),
                    line("ann@x.com", grant(), "started"),
                ],
                vec![("ann@x.com", grant())],
            ),
            (
                vec![
                    line("Ann@x.com", create(), "started"),
                    line("ann@x.com", create(), "interrupted: done"),
                    line("bob@x.com", grant(), "started"),
                    "{\"torn".into(),
                ],
                vec![("bob@x.com", grant())],
            ),
        ];
        for (lines, want) in cases {
            let text = lines.join("\n");
            let got: Vec<(String, Action)> = unfinished::<Action>(text.as_bytes())
                .into_iter()
                .flat_map(|(uid, entries)| {
                    entries.into_iter().map(move |e| (uid.clone(), e.action))
                })
                .collect();
            let want: Vec<(String, Action)> =
                want.into_iter().map(|(u, a)| (u.to_owned(), a)).collect();
            assert_eq!(got, want, "{lines:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_a_private_regular_file_of_ones_own_is_a_journal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep\n").unwrap();
        let link = dir.path().join("plan.json.journal.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = Journal::append_to(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");

        let wide = dir.path().join("wide.jsonl");
        std::fs::write(&wide, "").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = Journal::append_to(&wide).unwrap_err().to_string();
        assert!(err.contains("mode 666"), "{err}");

        let err = Journal::append_to(dir.path()).unwrap_err();
        assert!(!err.to_string().is_empty());

        let fresh = dir.path().join("fresh.jsonl");
        Journal::append_to(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

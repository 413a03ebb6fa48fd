//! The journal of an apply: one JSON line per action as it ends (what, for whom, the outcome,
//! the trace id of the answer, the time), appended, so that runs after an interruption add to
//! the record of the runs before.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::cid::Cid;
use crate::workflows::roster::plan::Action;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When the action ended.
    pub time: DateTime<Utc>,
    /// The CID (`None`: the handle's own).
    pub cid: Option<Cid>,
    /// The login.
    pub uid: String,
    /// The user's UUID, once known.
    pub user_uuid: Option<String>,
    /// The action.
    #[serde(flatten)]
    pub action: Action,
    /// `done`, `failed`, `already done` (the state already matched) or `stale` (the user no
    /// longer starts where the plan did).
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// `X-Cs-Traceid` of the last answer, for CrowdStrike support.
    pub trace_id: Option<String>,
}

/// Where journal lines go: a file (appended, one write per line, so that a killed process
/// leaves whole lines) or memory.
#[derive(Debug)]
pub struct Journal {
    sink: Mutex<Sink>,
}

#[derive(Debug)]
enum Sink {
    File { file: File, failed: Option<String> },
    Memory(Vec<JournalEntry>),
    Off,
}

impl Journal {
    /// Appends to the file at `path`, created (mode 0600 on Unix) if absent.
    pub fn append_to(path: &Path) -> std::io::Result<Self> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        Ok(Self {
            sink: Mutex::new(Sink::File { file, failed: None }),
        })
    }

    /// Keeps the entries in memory ([`Journal::entries`]).
    pub fn in_memory() -> Self {
        Self {
            sink: Mutex::new(Sink::Memory(Vec::new())),
        }
    }

    /// Records nothing.
    pub fn off() -> Self {
        Self {
            sink: Mutex::new(Sink::Off),
        }
    }

    /// Records one entry. A file that cannot be written is remembered ([`Journal::failure`]),
    /// and the apply starts no further change.
    pub(crate) fn record(&self, entry: &JournalEntry) -> bool {
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
    pub fn entries(&self) -> Vec<JournalEntry> {
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

//! A history of access reviews and inventories in a local SQLite database: each run records a
//! snapshot (when, which cloud and CIDs, its evidence metadata, every user's effective access
//! and the review's findings), so that "what changed since last quarter?"
//! ([`History::diff`]) and "who held this role on that date?" ([`History::who_had`]) are
//! answered from it. A review decided on and carried out (`review apply`) is signed off in it
//! ([`History::sign_off`]): who decided what, and what became of each decision.
//!
//! The file is created mode `0600` (SQLite gives its `-wal` and `-shm` files the same mode), in
//! WAL mode, with a busy timeout: several processes may record at once, each waiting its turn.
//! A symlink where the file should be is refused. The schema is versioned
//! (`PRAGMA user_version`, see [`schema`]): an older database is migrated on open, a newer one
//! refused with a message naming both versions.
//!
//! Memory stays bounded however large the tenant: [`SnapshotWriter`] stages rows on disk as
//! they are given and records them in one short transaction at [`SnapshotWriter::commit`] (so
//! a long inventory read never holds the database's write lock), and the diff and `who_had`
//! stream ordered rows from SQL to a callback.
//!
//! ```
//! use falcon_users::history::{History, HeldRole, SnapshotKind, SnapshotMeta};
//! use falcon_users::access::Source;
//!
//! let dir = tempfile::tempdir()?;
//! let mut history = History::open(&dir.path().join("history.sqlite"))?;
//! let meta = |at: &str| SnapshotMeta::new(SnapshotKind::Inventory, at.parse().unwrap(), "us-1", "c1");
//! let admin = HeldRole { role_id: "falcon_administrator", role_name: None, privileged: Some(true), source: &Source::Direct };
//!
//! let mut first = history.begin()?;
//! first.user("c1", "u-1", "ana@example.com", [])?;
//! let first = first.commit(meta("2026-01-01T00:00:00Z"))?;
//! let mut second = history.begin()?;
//! second.user("c1", "u-1", "ana@example.com", [admin])?;
//! let second = second.commit(meta("2026-04-01T00:00:00Z"))?;
//!
//! let mut changes = Vec::new();
//! let summary = history.diff(first.id, second.id, |c| Ok(changes.push(c)))?;
//! assert_eq!(summary.total.privileged_gained, 1);
//! assert_eq!(changes[0].role_id.as_deref(), Some("falcon_administrator"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod diff;
pub mod schema;
mod signoff;
mod store;
mod who_had;

pub use diff::{Change, ChangeKind, DiffCounts, DiffSummary};
pub use signoff::{SignOff, SignedDecision};
pub use store::{
    BUSY_TIMEOUT, FILE_NAME, HeldRole, History, HistoryError, Result, Snapshot, SnapshotKind,
    SnapshotMeta, SnapshotWriter,
};
pub use who_had::{Holding, WhoHad};

#[cfg(test)]
mod tests;

//! The database itself: opening (creating, refusing, migrating), the snapshots, and writing one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::schema;
use crate::model::access::Source;
use crate::workflows::evidence::Evidence;
use crate::workflows::review::{Finding, RoleBook};
use crate::workflows::{UserAccess, UserWithGrants};

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The history's file name in a data or state directory.
pub const FILE_NAME: &str = "history.sqlite";

/// Why the history could not be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The file could not be created or opened.
    #[error("history {}: cannot open: {why}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A symlink stands where the file should be (refused: it could point anywhere).
    #[error("history {}: is a symlink; give the real file with --history", path.display())]
    Symlink {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer build.
    #[error(
        "history {}: schema version {found} is newer than this build knows ({known}); use a newer falcon-users",
        path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// This build's.
        known: i64,
    },
    /// Not a history database (another SQLite database, or not SQLite at all, or damaged).
    #[error("history {}: not a falcon-users history, or damaged ({why})", path.display())]
    NotHistory {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        why: String,
    },
    /// No snapshot with this id (or not enough snapshots for a default diff).
    #[error("history {}: {what}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// SQLite failed while reading or writing.
    #[error("history {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The caller's callback failed (writing the answer out).
    #[error(transparent)]
    Output(#[from] std::io::Error),
}

/// What a history call returns.
pub type Result<T> = std::result::Result<T, HistoryError>;

/// A review or an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Recorded by a review (with findings).
    Review,
    /// Recorded by an inventory.
    Inventory,
}

impl SnapshotKind {
    /// `review` or `inventory`.
    pub fn name(self) -> &'static str {
        match self {
            SnapshotKind::Review => "review",
            SnapshotKind::Inventory => "inventory",
        }
    }

    fn parse(text: &str) -> SnapshotKind {
        if text == "review" {
            SnapshotKind::Review
        } else {
            SnapshotKind::Inventory
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a snapshot is, before its rows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SnapshotMeta {
    /// Review or inventory.
    pub kind: SnapshotKind,
    /// When the run was made (whole seconds are kept).
    pub taken_at: DateTime<Utc>,
    /// The cloud's name.
    pub cloud: String,
    /// The handle's own CID (empty when unknown).
    pub cid: String,
    /// The child CIDs covered.
    pub member_cids: Vec<String>,
    /// The run's evidence metadata, kept as JSON.
    pub evidence: Option<serde_json::Value>,
}

impl SnapshotMeta {
    /// A snapshot of `kind` at `taken_at` of `cid` in `cloud`, no children, no evidence.
    pub fn new(kind: SnapshotKind, taken_at: DateTime<Utc>, cloud: &str, cid: &str) -> Self {
        SnapshotMeta {
            kind,
            taken_at,
            cloud: cloud.to_owned(),
            cid: cid.to_owned(),
            member_cids: Vec::new(),
            evidence: None,
        }
    }

    /// What a run's [`Evidence`] says: its time, cloud, CIDs, and the whole metadata.
    pub fn from_evidence(kind: SnapshotKind, evidence: &Evidence) -> Self {
        SnapshotMeta {
            kind,
            taken_at: evidence.made_at,
            cloud: evidence.cloud.name.clone(),
            cid: evidence
                .cid
                .as_ref()
                .map(|c| c.cid.clone())
                .unwrap_or_default(),
            member_cids: evidence.member_cids.iter().map(|c| c.cid.clone()).collect(),
            evidence: serde_json::to_value(evidence).ok(),
        }
    }
}

/// A recorded snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Its id (never reused).
    pub id: i64,
    /// When the run was made.
    pub taken_at: DateTime<Utc>,
    /// Review or inventory.
    pub kind: SnapshotKind,
    /// The cloud's name.
    pub cloud: String,
    /// The handle's own CID.
    pub cid: String,
    /// The child CIDs covered.
    pub member_cids: Vec<String>,
    /// Users recorded (a user counted once per CID they appear in).
    pub users: u64,
    /// Roles held (one per user, CID, role and source).
    pub grants: u64,
    /// The review's findings (0 for an inventory).
    pub findings: u64,
    /// SHA-256 of the rows and findings as recorded.
    pub digest: String,
}

/// One role a user holds, as [`SnapshotWriter::user`] records it.
#[derive(Debug, Clone, Copy)]
pub struct HeldRole<'a> {
    /// The role's id.
    pub role_id: &'a str,
    /// Its display name, when known.
    pub role_name: Option<&'a str>,
    /// Whether it is privileged (`None`: not judged).
    pub privileged: Option<bool>,
    /// Why it is held.
    pub source: &'a Source,
}

/// A local history database.
#[derive(Debug)]
pub struct History {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// RFC 3339, UTC, whole seconds: the stored form, which sorts as time.
pub(super) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn parse_stamp(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl History {
    /// Opens the history at `path`, creating it (mode `0600`) when absent; its directory must
    /// exist. Refuses a symlink, a file that is not a history, and a newer schema; migrates an
    /// older one.
    pub fn open(path: &Path) -> Result<History> {
        let open_err = |why: String| HistoryError::Open {
            path: path.to_owned(),
            why,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(HistoryError::Symlink {
                    path: path.to_owned(),
                });
            }
            Ok(meta) if !meta.is_file() => return Err(open_err("not a regular file".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_private(path)
                .or_else(|e| match e.kind() {
                    // Another process created it first.
                    std::io::ErrorKind::AlreadyExists => Ok(()),
                    _ => Err(e),
                })
                .map_err(|e| open_err(e.to_string()))?,
            Err(e) => return Err(open_err(e.to_string())),
        }
        // NOFOLLOW: a symlink swapped in since the check is refused by the open itself.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| open_err(e.to_string()))?;
        let sqlite = |source| HistoryError::Sqlite {
            path: path.to_owned(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
        // The first read of the file: a file that is not SQLite fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| not_history_or(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(format!(
                "could not switch to WAL mode (journal mode {mode})"
            )));
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE;")
            .map_err(sqlite)?;
        schema::migrate(&mut conn).map_err(|refusal| match refusal {
            schema::Refusal::Newer(found) => HistoryError::NewerSchema {
                path: path.to_owned(),
                found,
                known: schema::current(),
            },
            schema::Refusal::Foreign => HistoryError::NotHistory {
                path: path.to_owned(),
                why: "another application's SQLite database".into(),
            },
            schema::Refusal::Sqlite(e) => not_history_or(path, e),
        })?;
        Ok(History {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps SQLite's errors with the file's name.
    pub(super) fn sqlite(&self) -> impl Fn(rusqlite::Error) -> HistoryError + use<> {
        let path = self.path.clone();
        move |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        }
    }

    /// Starts a snapshot: give it its rows, then [`SnapshotWriter::commit`] it with what it
    /// is (known once the run is done). Dropped without a commit, nothing is recorded.
    pub fn begin(&mut self) -> Result<SnapshotWriter<'_>> {
        SnapshotWriter::new(self)
    }

    /// Every snapshot, oldest first.
    pub fn list(&self) -> Result<Vec<Snapshot>> {
        self.snapshots("1 = 1", [])
    }

    /// The snapshot `id`.
    pub fn snapshot(&self, id: i64) -> Result<Snapshot> {
        self.snapshots("id = ?1", [id])?
            .pop()
            .ok_or_else(|| HistoryError::Missing {
                path: self.path.clone(),
                what: format!("no snapshot {id} (`history list` shows them)"),
            })
    }

    /// The snapshots of `cid` (the handle's own CID), oldest first.
    pub fn series(&self, cid: &str) -> Result<Vec<Snapshot>> {
        self.snapshots("cid = ?1", [cid])
    }

    /// The latest snapshot and the one before it of the same CID: what `diff` compares by
    /// default.
    pub fn last_two(&self) -> Result<(Snapshot, Snapshot)> {
        let latest = self
            .snapshots("id = (SELECT max(id) FROM snapshots)", [])?
            .pop();
        let missing = |what: &str| HistoryError::Missing {
            path: self.path.clone(),
            what: what.to_owned(),
        };
        let latest = latest.ok_or_else(|| missing("no snapshot yet: run `review` first"))?;
        let mut series = self.series(&latest.cid)?;
        series.retain(|s| s.id != latest.id && (s.taken_at, s.id) <= (latest.taken_at, latest.id));
        let previous = series.pop().ok_or_else(|| {
            missing("only one snapshot of this CID: a diff needs two (run `review` again)")
        })?;
        Ok((previous, latest))
    }

    fn snapshots<P: rusqlite::Params>(&self, filter: &str, params: P) -> Result<Vec<Snapshot>> {
        let sql = format!(
            "SELECT id, taken_at, kind, cloud, cid, member_cids, users, grants, findings, digest \
             FROM snapshots WHERE {filter} ORDER BY taken_at, id"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.sqlite())?;
        let rows = stmt
            .query_map(params, |r| {
                let member_cids: String = r.get(5)?;
                Ok(Snapshot {
                    id: r.get(0)?,
                    taken_at: parse_stamp(&r.get::<_, String>(1)?),
                    kind: SnapshotKind::parse(&r.get::<_, String>(2)?),
                    cloud: r.get(3)?,
                    cid: r.get(4)?,
                    member_cids: serde_json::from_str(&member_cids).unwrap_or_default(),
                    users: r.get(6)?,
                    grants: r.get(7)?,
                    findings: r.get(8)?,
                    digest: r.get(9)?,
                })
            })
            .map_err(self.sqlite())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sqlite())
    }
}

/// A file that is not SQLite (or damaged) is named as such; any other failure is SQLite's.
fn not_history_or(path: &Path, err: rusqlite::Error) -> HistoryError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            HistoryError::NotHistory {
                path: path.to_owned(),
                why: err.to_string(),
            }
        }
        _ => HistoryError::Open {
            path: path.to_owned(),
            why: err.to_string(),
        },
    }
}

/// Creates the empty file owner-only before SQLite opens it (SQLite gives the `-wal` and
/// `-shm` files the database file's mode). `create_new`: never through a symlink.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// A snapshot being written: rows are staged on disk (SQLite's temporary database, not the
/// history) as they are given, then recorded in one transaction by [`SnapshotWriter::commit`].
pub struct SnapshotWriter<'h> {
    history: &'h mut History,
    digest: Sha256,
    users: u64,
    grants: u64,
    findings: u64,
    open: bool,
}

impl fmt::Debug for SnapshotWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}

const STAGE: &str = "
    DROP TABLE IF EXISTS temp.staged_rows;
    DROP TABLE IF EXISTS temp.staged_findings;
    CREATE TEMP TABLE staged_rows (
        cid TEXT NOT NULL, user_uuid TEXT NOT NULL, login TEXT NOT NULL, role_id TEXT,
        role_name TEXT, privileged INTEGER, source TEXT, user_group TEXT, cid_group TEXT,
        until TEXT);
    CREATE TEMP TABLE staged_findings (
        kind TEXT NOT NULL, cid TEXT NOT NULL, user_uuid TEXT NOT NULL, login TEXT NOT NULL,
        roles TEXT NOT NULL, role_names TEXT NOT NULL, why TEXT NOT NULL);
";

impl<'h> SnapshotWriter<'h> {
    fn new(history: &'h mut History) -> Result<Self> {
        let sqlite = history.sqlite();
        history.conn.execute_batch(STAGE).map_err(&sqlite)?;
        // Only the temporary database is written until commit: no lock on the history.
        history.conn.execute_batch("BEGIN").map_err(&sqlite)?;
        drop(sqlite);
        Ok(SnapshotWriter {
            history,
            digest: Sha256::new(),
            users: 0,
            grants: 0,
            findings: 0,
            open: true,
        })
    }

    /// Records one user in one CID with the roles they hold there (none: the user is recorded
    /// as holding none).
    pub fn user<'r>(
        &mut self,
        cid: &str,
        user_uuid: &str,
        login: &str,
        roles: impl IntoIterator<Item = HeldRole<'r>>,
    ) -> Result<()> {
        let sqlite = self.history.sqlite();
        let mut stmt = self
            .history
            .conn
            .prepare_cached(
                "INSERT INTO temp.staged_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(&sqlite)?;
        let mut stage = |fields: [Option<&str>; 10], privileged: Option<bool>| {
            hash(&mut self.digest, &fields);
            stmt.execute(params![
                fields[0], fields[1], fields[2], fields[3], fields[4], privileged, fields[6],
                fields[7], fields[8], fields[9]
            ])
            .map(drop)
        };
        let mut held = 0;
        for role in roles {
            let until = role.source.until().map(stamp);
            let privileged = role.privileged.map(|p| if p { "1" } else { "0" });
            stage(
                [
                    Some(cid),
                    Some(user_uuid),
                    Some(login),
                    Some(role.role_id),
                    role.role_name,
                    privileged,
                    Some(role.source.kind()),
                    role.source.user_group().map(|g| g.label()),
                    role.source.cid_group().map(|g| g.label()),
                    until.as_deref(),
                ],
                role.privileged,
            )
            .map_err(&sqlite)?;
            held += 1;
        }
        if held == 0 {
            let mut fields = [None; 10];
            fields[..3].copy_from_slice(&[Some(cid), Some(user_uuid), Some(login)]);
            stage(fields, None).map_err(&sqlite)?;
        }
        self.grants += held;
        self.users += 1;
        Ok(())
    }

    /// Records a user's effective access in one CID ([`UserAccess`]), judging each role with
    /// `privileged`.
    pub fn user_access(
        &mut self,
        cid: &str,
        access: &UserAccess,
        privileged: impl Fn(&str) -> Option<bool>,
    ) -> Result<()> {
        let uuid = access.user.uuid.as_deref().unwrap_or_default();
        let login = access.user.uid.as_deref().unwrap_or_default();
        self.user(
            cid,
            uuid,
            login,
            access.roles.iter().map(|a| HeldRole {
                role_id: a.role_id(),
                role_name: a.grant.role_name.as_deref(),
                privileged: privileged(a.role_id()),
                source: &a.source,
            }),
        )
    }

    /// Records an inventory row as a review judged it: in `cid`, each role judged by `book`.
    pub fn reviewed(&mut self, cid: &str, row: &UserWithGrants, book: &RoleBook) -> Result<()> {
        let sources: Vec<Source> = row.grants.iter().map(Source::of).collect();
        let uuid = row.user.uuid.as_deref().unwrap_or_default();
        let login = row.user.uid.as_deref().unwrap_or_default();
        self.user(
            cid,
            uuid,
            login,
            row.grants.iter().zip(&sources).map(|(g, source)| HeldRole {
                role_id: &g.role_id,
                role_name: g.role_name.as_deref(),
                privileged: Some(book.is_privileged(&g.role_id)),
                source,
            }),
        )
    }

    /// Records a review's finding.
    pub fn finding(&mut self, finding: &Finding) -> Result<()> {
        let roles = serde_json::to_string(&finding.roles).unwrap_or_default();
        let role_names = serde_json::to_string(&finding.role_names).unwrap_or_default();
        self.history
            .conn
            .prepare_cached("INSERT INTO temp.staged_findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .and_then(|mut stmt| {
                stmt.execute(params![
                    finding.kind.name(),
                    finding.cid,
                    finding.user_uuid,
                    finding.uid,
                    roles,
                    role_names,
                    finding.why
                ])
            })
            .map_err(self.history.sqlite())?;
        hash(
            &mut self.digest,
            &[
                Some(finding.kind.name()),
                Some(&finding.cid),
                Some(&finding.user_uuid),
                Some(&finding.uid),
                Some(&roles),
                Some(&role_names),
                Some(&finding.why),
            ],
        );
        self.findings += 1;
        Ok(())
    }

    /// Records the snapshot described by `meta`: its rows and findings in one write
    /// transaction (waiting up to [`BUSY_TIMEOUT`] for another writer).
    pub fn commit(mut self, meta: SnapshotMeta) -> Result<Snapshot> {
        let sqlite = self.history.sqlite();
        let conn = &mut self.history.conn;
        conn.execute_batch("COMMIT").map_err(&sqlite)?;
        self.open = false;
        let digest = format!("{:x}", self.digest.clone().finalize());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO snapshots (taken_at, kind, cloud, cid, member_cids, evidence, digest, \
             users, grants, findings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                stamp(meta.taken_at),
                meta.kind.name(),
                meta.cloud,
                meta.cid,
                serde_json::to_string(&meta.member_cids).unwrap_or_else(|_| "[]".into()),
                meta.evidence.as_ref().map(|e| e.to_string()),
                digest,
                self.users,
                self.grants,
                self.findings
            ],
        )
        .map_err(&sqlite)?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO snapshot_rows SELECT ?1, * FROM temp.staged_rows",
            [id],
        )
        .map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO snapshot_findings (snapshot_id, kind, cid, user_uuid, login, roles, \
             role_names, why) SELECT ?1, * FROM temp.staged_findings",
            [id],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)?;
        drop(sqlite);
        let _ = self
            .history
            .conn
            .execute_batch("DROP TABLE temp.staged_rows; DROP TABLE temp.staged_findings;");
        self.history.snapshot(id)
    }
}

impl Drop for SnapshotWriter<'_> {
    /// Not committed: the staged rows are dropped, nothing is recorded.
    fn drop(&mut self) {
        if self.open {
            let _ = self.history.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Adds a row's fields to the snapshot's digest, each with its length (a field's end is never
/// ambiguous) and `None` distinct from empty.
fn hash(digest: &mut Sha256, fields: &[Option<&str>]) {
    for field in fields {
        match field {
            Some(text) => {
                digest.update(b"s");
                digest.update((text.len() as u64).to_be_bytes());
                digest.update(text.as_bytes());
            }
            None => digest.update(b"n"),
        }
    }
}

//! The history's schema and its migrations: `PRAGMA user_version` is the number of migrations
//! applied, so a database made by an older build is brought up to date on open, and one made by
//! a newer build (a higher version) is refused rather than misread.
//!
//! A later migration adds tables beside the earlier ones (sign-offs refer to `snapshots(id)`,
//! stable: `AUTOINCREMENT` keys are never reused), never rewrites an applied one.

use rusqlite::{Connection, TransactionBehavior};

/// Marks a SQLite file as a falcon-users history (`PRAGMA application_id`): "FUH1".
pub const APPLICATION_ID: i32 = 0x4655_4831;

/// The migrations, in order: migration `n` (1-based) brings the schema to version `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: snapshots, their effective-access rows and their findings.
    "
    CREATE TABLE snapshots (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        -- RFC 3339, UTC, whole seconds, 'Z': sorts as time.
        taken_at    TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('review', 'inventory')),
        cloud       TEXT NOT NULL,
        -- The handle's own CID ('' when it could not be read).
        cid         TEXT NOT NULL,
        -- JSON array of the child CIDs covered.
        member_cids TEXT NOT NULL,
        -- The run's evidence metadata (options, requests, tool versions), JSON.
        evidence    TEXT,
        -- SHA-256 of the rows and findings as recorded.
        digest      TEXT NOT NULL,
        users       INTEGER NOT NULL,
        grants      INTEGER NOT NULL,
        findings    INTEGER NOT NULL
    );
    CREATE INDEX snapshots_by_cid_time ON snapshots (cid, taken_at);

    -- Effective access: one row per user, CID, role and source; a user holding no role in a
    -- CID has one row with role_id NULL (so that joiners and leavers are seen too).
    CREATE TABLE snapshot_rows (
        snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
        cid         TEXT NOT NULL,
        user_uuid   TEXT NOT NULL,
        login       TEXT NOT NULL,
        role_id     TEXT,
        role_name   TEXT,
        -- 1 privileged, 0 not, NULL not judged.
        privileged  INTEGER,
        -- direct | link | temporary
        source      TEXT,
        user_group  TEXT,
        cid_group   TEXT,
        until       TEXT
    );
    CREATE INDEX snapshot_rows_by_user ON snapshot_rows (snapshot_id, cid, user_uuid, role_id);
    CREATE INDEX snapshot_rows_by_role ON snapshot_rows (role_id, cid, user_uuid, snapshot_id);

    CREATE TABLE snapshot_findings (
        id          INTEGER PRIMARY KEY,
        snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        cid         TEXT NOT NULL,
        user_uuid   TEXT NOT NULL,
        login       TEXT NOT NULL,
        -- JSON arrays, in the same order.
        roles       TEXT NOT NULL,
        role_names  TEXT NOT NULL,
        why         TEXT NOT NULL
    );
    CREATE INDEX snapshot_findings_by_snapshot ON snapshot_findings (snapshot_id);
    ",
    // 2: sign-offs of reviews (`review apply`): who decided what on which review, and what
    // became of each decision.
    "
    CREATE TABLE signoffs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        -- The review decided on, and the snapshot taken once the decisions were carried out.
        review_id    INTEGER NOT NULL REFERENCES snapshots (id),
        after_id     INTEGER REFERENCES snapshots (id),
        signed_at    TEXT NOT NULL,
        reviewer     TEXT NOT NULL,
        -- The sheet as applied: its file name and SHA-256.
        sheet        TEXT NOT NULL,
        sheet_sha256 TEXT NOT NULL,
        -- 1 when every change was done.
        complete     INTEGER NOT NULL
    );
    CREATE INDEX signoffs_by_review ON signoffs (review_id);

    CREATE TABLE signoff_decisions (
        signoff_id INTEGER NOT NULL REFERENCES signoffs (id) ON DELETE CASCADE,
        row        INTEGER NOT NULL,
        uid        TEXT NOT NULL,
        user_uuid  TEXT NOT NULL,
        cid        TEXT NOT NULL,
        role_id    TEXT,
        finding    TEXT NOT NULL,
        why        TEXT NOT NULL,
        -- keep | revoke | offboard, or '' for an undecided row skipped.
        decision   TEXT NOT NULL,
        comment    TEXT NOT NULL,
        -- What became of it: kept, skipped, done, already done, failed: ..., not started.
        result     TEXT NOT NULL
    );
    CREATE INDEX signoff_decisions_by_signoff ON signoff_decisions (signoff_id, row);
    ",
];

/// The schema version this build writes and reads.
pub fn current() -> i64 {
    MIGRATIONS.len() as i64
}

/// What [`migrate`] found wrong with a database.
#[derive(Debug)]
pub enum Refusal {
    /// Made by a newer build: its version.
    Newer(i64),
    /// A SQLite database, but not a history (another application's id, or tables without ours).
    Foreign,
    /// SQLite failed.
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Refusal {
    fn from(err: rusqlite::Error) -> Self {
        Refusal::Sqlite(err)
    }
}

/// Brings the schema up to [`current`], in one write transaction (concurrent openers wait for
/// each other and the second finds the work done); refuses a newer or a foreign database.
pub fn migrate(conn: &mut Connection) -> Result<(), Refusal> {
    if version(conn)? == current() && application_id(conn)? == APPLICATION_ID {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    let app = application_id(&tx)?;
    if found > current() {
        return Err(Refusal::Newer(found));
    }
    if found == 0 {
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if app != 0 && app != APPLICATION_ID || app == 0 && tables > 0 {
            return Err(Refusal::Foreign);
        }
    } else if app != APPLICATION_ID {
        return Err(Refusal::Foreign);
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", current())?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// `PRAGMA user_version`.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn application_id(conn: &Connection) -> rusqlite::Result<i32> {
    conn.query_row("PRAGMA application_id", [], |r| r.get(0))
}

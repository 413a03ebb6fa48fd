//! Sign-offs: the record of a completed review. Who decided, when, on which review (its
//! snapshot), with which sheet, each decision and comment, what became of each, and the
//! snapshot taken once the decisions were carried out; and the findings a review recorded,
//! which a sheet's rows must be.

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};
use serde::Serialize;

use super::store::{History, HistoryError, Result, parse_stamp, stamp};
use crate::workflows::review::{Finding, FindingKind};

/// A review signed off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignOff {
    /// Its id (0 until recorded).
    pub id: i64,
    /// The review's snapshot.
    pub review: i64,
    /// The snapshot taken after the decisions were carried out (`None`: none could be).
    pub after: Option<i64>,
    /// Who signed off.
    pub reviewer: String,
    /// When.
    pub signed_at: DateTime<Utc>,
    /// The sheet's file name.
    pub sheet: String,
    /// The SHA-256 of the sheet as applied.
    pub sheet_sha256: String,
    /// Whether every change was done.
    pub complete: bool,
    /// Every row of the sheet, in sheet order.
    pub decisions: Vec<SignedDecision>,
}

impl SignOff {
    /// A sign-off of review `review` by `reviewer` at `signed_at`, of the sheet `sheet` (with
    /// its SHA-256), its `decisions`; not yet recorded.
    pub fn new(
        review: i64,
        reviewer: &str,
        signed_at: DateTime<Utc>,
        sheet: &str,
        sheet_sha256: &str,
        decisions: Vec<SignedDecision>,
    ) -> Self {
        SignOff {
            id: 0,
            review,
            after: None,
            reviewer: reviewer.to_owned(),
            signed_at,
            sheet: sheet.to_owned(),
            sheet_sha256: sheet_sha256.to_owned(),
            complete: false,
            decisions,
        }
    }

    /// With the snapshot taken after the decisions were carried out.
    pub fn after(mut self, snapshot: Option<i64>) -> Self {
        self.after = snapshot;
        self
    }

    /// Whether every change was done.
    pub fn complete(mut self, complete: bool) -> Self {
        self.complete = complete;
        self
    }
}

/// One row of a signed-off sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedDecision {
    /// The sheet's row.
    pub row: usize,
    /// The user's login.
    pub uid: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// The CID.
    pub cid: String,
    /// The role (`None`: a finding about the user).
    pub role: Option<String>,
    /// The finding's kind.
    pub finding: String,
    /// Why it was found.
    pub why: String,
    /// `keep`, `revoke`, `offboard`, or empty for an undecided row skipped.
    pub decision: String,
    /// The reviewer's comment.
    pub comment: String,
    /// What became of it: `kept`, `skipped`, `done`, `already done`, `failed: ...`,
    /// `not started`.
    pub result: String,
}

impl History {
    /// Records `signoff` in one transaction; hands it back with its id.
    pub fn sign_off(&mut self, signoff: &SignOff) -> Result<SignOff> {
        let sqlite = self.sqlite();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO signoffs (review_id, after_id, signed_at, reviewer, sheet, sheet_sha256, \
             complete) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                signoff.review,
                signoff.after,
                stamp(signoff.signed_at),
                signoff.reviewer,
                signoff.sheet,
                signoff.sheet_sha256,
                signoff.complete
            ],
        )
        .map_err(&sqlite)?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO signoff_decisions VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(&sqlite)?;
            for d in &signoff.decisions {
                stmt.execute(params![
                    id,
                    d.row as i64,
                    d.uid,
                    d.user_uuid,
                    d.cid,
                    d.role,
                    d.finding,
                    d.why,
                    d.decision,
                    d.comment,
                    d.result
                ])
                .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)?;
        Ok(SignOff {
            id,
            ..signoff.clone()
        })
    }

    /// The sign-offs of the review recorded as snapshot `review`, oldest first.
    pub fn sign_offs(&self, review: i64) -> Result<Vec<SignOff>> {
        let sqlite = self.sqlite();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, review_id, after_id, signed_at, reviewer, sheet, sheet_sha256, \
                 complete FROM signoffs WHERE review_id = ?1 ORDER BY id",
            )
            .map_err(&sqlite)?;
        let mut signoffs = stmt
            .query_map([review], |r| {
                Ok(SignOff {
                    id: r.get(0)?,
                    review: r.get(1)?,
                    after: r.get(2)?,
                    signed_at: parse_stamp(&r.get::<_, String>(3)?),
                    reviewer: r.get(4)?,
                    sheet: r.get(5)?,
                    sheet_sha256: r.get(6)?,
                    complete: r.get(7)?,
                    decisions: Vec::new(),
                })
            })
            .map_err(&sqlite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&sqlite)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT row, uid, user_uuid, cid, role_id, finding, why, decision, comment, \
                 result FROM signoff_decisions WHERE signoff_id = ?1 ORDER BY row",
            )
            .map_err(&sqlite)?;
        for signoff in &mut signoffs {
            signoff.decisions = stmt
                .query_map([signoff.id], |r| {
                    Ok(SignedDecision {
                        row: r.get::<_, i64>(0)? as usize,
                        uid: r.get(1)?,
                        user_uuid: r.get(2)?,
                        cid: r.get(3)?,
                        role: r.get(4)?,
                        finding: r.get(5)?,
                        why: r.get(6)?,
                        decision: r.get(7)?,
                        comment: r.get(8)?,
                        result: r.get(9)?,
                    })
                })
                .map_err(&sqlite)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(&sqlite)?;
        }
        Ok(signoffs)
    }

    /// The findings recorded with snapshot `snapshot`, in the order they were recorded
    /// (without the user's name, which the history does not keep). An error when there is no
    /// such snapshot.
    pub fn findings(&self, snapshot: i64) -> Result<Vec<Finding>> {
        self.snapshot(snapshot)?;
        let sqlite = self.sqlite();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, cid, user_uuid, login, roles, role_names, why \
                 FROM snapshot_findings WHERE snapshot_id = ?1 ORDER BY id",
            )
            .map_err(&sqlite)?;
        let rows = stmt
            .query_map([snapshot], |r| {
                let kind: String = r.get(0)?;
                let list = |text: String| serde_json::from_str(&text).unwrap_or_default();
                Ok((
                    kind,
                    Finding {
                        kind: FindingKind::NoRoles,
                        uid: r.get(3)?,
                        name: String::new(),
                        user_uuid: r.get(2)?,
                        cid: r.get(1)?,
                        roles: list(r.get(4)?),
                        role_names: list(r.get(5)?),
                        why: r.get(6)?,
                    },
                ))
            })
            .map_err(&sqlite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&sqlite)?;
        rows.into_iter()
            .map(|(kind, finding)| match kind.parse() {
                Ok(kind) => Ok(Finding { kind, ..finding }),
                Err(why) => Err(HistoryError::Missing {
                    path: self.path().to_owned(),
                    what: format!("snapshot {snapshot} records a finding of no known kind: {why}"),
                }),
            })
            .collect()
    }
}

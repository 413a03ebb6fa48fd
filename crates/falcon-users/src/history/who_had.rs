//! Who held a role at a date, answered from the snapshots around it: a holder seen on the last
//! snapshot before the date and on the first after it (and on any between) held it for sure;
//! one seen on only one side may or may not have; each answer says the stretch it is sure of.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store::{History, HistoryError, Result, Snapshot, stamp};

/// A user who held the role around the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Holding {
    /// The CID the role was held in.
    pub cid: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// Their login.
    pub login: String,
    /// The role's id.
    pub role_id: String,
    /// Its display name, when recorded.
    pub role_name: Option<String>,
    /// Held on the date for sure: the snapshots on both sides of it show the role held.
    pub sure: bool,
    /// The first of the consecutive snapshots around the date that show it held.
    pub held_from: DateTime<Utc>,
    /// The last of them.
    pub held_to: DateTime<Utc>,
    /// When not sure: from when the holding is unknown (`None`: before the first snapshot).
    pub unknown_from: Option<DateTime<Utc>>,
    /// When not sure: until when it is unknown (`None`: after the last snapshot).
    pub unknown_to: Option<DateTime<Utc>>,
}

impl Holding {
    /// The answer in words: `held on every snapshot from T1 to T2`, and when not sure, which
    /// stretch is unknown.
    pub fn sentence(&self) -> String {
        let held = format!(
            "held on every snapshot from {} to {}",
            stamp(self.held_from),
            stamp(self.held_to)
        );
        if self.sure {
            return held;
        }
        let unknown = match (self.unknown_from, self.unknown_to) {
            (Some(a), Some(b)) => {
                format!("between {} and {} unknown", stamp(a), stamp(b))
            }
            (Some(a), None) => format!("after {} unknown (no later snapshot)", stamp(a)),
            (None, Some(b)) => {
                format!("before {} unknown (no earlier snapshot)", stamp(b))
            }
            (None, None) => "unknown".to_owned(),
        };
        format!("{held}; {unknown}")
    }
}

/// What [`History::who_had`] looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WhoHad {
    /// The role ids the name matched.
    pub role_ids: Vec<String>,
    /// The last snapshot at or before the date, if any.
    pub before: Option<DateTime<Utc>>,
    /// The first snapshot at or after the date, if any.
    pub after: Option<DateTime<Utc>>,
    /// Holders found.
    pub holders: u64,
    /// Of which held it for sure.
    pub sure: u64,
}

/// Every snapshot (of the series) holding the role, per user and CID, in index order.
const HOLDERS: &str = "
    SELECT r.cid, r.user_uuid, min(r.login), min(r.role_name), r.snapshot_id
    FROM snapshot_rows r
    WHERE r.role_id = ?1 AND r.snapshot_id IN (SELECT id FROM snapshots WHERE cid = ?2)
    GROUP BY r.cid, r.user_uuid, r.snapshot_id
    ORDER BY r.cid, r.user_uuid, r.snapshot_id";

impl History {
    /// The role ids `role` names: its id if the history has it, else the roles whose
    /// recorded display name is `role` (any case).
    pub fn resolve_role(&self, role: &str) -> Result<Vec<String>> {
        let by_id: Option<String> = self
            .conn
            .prepare_cached("SELECT role_id FROM snapshot_rows WHERE role_id = ?1 LIMIT 1")
            .and_then(|mut s| s.query_row([role], |r| r.get(0)))
            .ok();
        if let Some(id) = by_id {
            return Ok(vec![id]);
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT role_id FROM snapshot_rows \
                 WHERE role_name = ?1 COLLATE NOCASE ORDER BY role_id",
            )
            .map_err(self.sqlite())?;
        let ids = stmt
            .query_map([role.trim()], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(self.sqlite())?;
        if ids.is_empty() {
            return Err(HistoryError::Missing {
                path: self.path.clone(),
                what: format!("no role {role:?} (by id or name) in any snapshot"),
            });
        }
        Ok(ids)
    }

    /// Who held `role` (an id, or a display name: [`History::resolve_role`]) between `from`
    /// and `to` (the same instant for a moment; a day's start and end for a day), in the
    /// snapshots of `cid` (the handle's own CID; `None`: the latest snapshot's). Each holder
    /// around the date is handed to `each` with what the snapshots on both sides of it say.
    pub fn who_had(
        &self,
        role: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cid: Option<&str>,
        mut each: impl FnMut(Holding) -> std::io::Result<()>,
    ) -> Result<WhoHad> {
        let role_ids = self.resolve_role(role)?;
        let cid = match cid {
            Some(cid) => cid.to_owned(),
            None => self
                .list()?
                .into_iter()
                .max_by_key(|s| s.id)
                .map(|s| s.cid)
                .unwrap_or_default(),
        };
        let series: Vec<Snapshot> = self.series(&cid)?;
        let before = series.iter().rposition(|s| s.taken_at <= to);
        let after = series.iter().position(|s| s.taken_at >= from);
        let mut answer = WhoHad {
            role_ids: role_ids.clone(),
            before: before.map(|i| series[i].taken_at),
            after: after.map(|i| series[i].taken_at),
            holders: 0,
            sure: 0,
        };
        let (lo, hi) = match (before, after) {
            (Some(b), Some(a)) => (b.min(a), b.max(a)),
            (Some(i), None) | (None, Some(i)) => (i, i),
            (None, None) => return Ok(answer),
        };
        let position: HashMap<i64, usize> =
            series.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        let mut stmt = self.conn.prepare_cached(HOLDERS).map_err(self.sqlite())?;
        for role_id in &role_ids {
            let mut rows = stmt.query([role_id, &cid]).map_err(self.sqlite())?;
            // One user's snapshots at a time (rows come ordered by CID, user, snapshot).
            let mut current: Option<(Holder, Vec<bool>)> = None;
            let mut finish = |done: Option<(Holder, Vec<bool>)>, answer: &mut WhoHad| {
                let Some((holder, held)) = done else {
                    return Ok(());
                };
                match judge(&holder, &held, &series, role_id, (lo, hi), (before, after)) {
                    Some(holding) => {
                        answer.holders += 1;
                        answer.sure += u64::from(holding.sure);
                        each(holding)
                    }
                    None => Ok(()),
                }
            };
            while let Some(row) = rows.next().map_err(self.sqlite())? {
                let sqlite = self.sqlite();
                let holder = Holder {
                    cid: row.get(0).map_err(&sqlite)?,
                    user_uuid: row.get(1).map_err(&sqlite)?,
                    login: row.get(2).map_err(&sqlite)?,
                    role_name: row.get(3).map_err(&sqlite)?,
                };
                let at = position[&row.get::<_, i64>(4).map_err(&sqlite)?];
                let same = current.as_ref().is_some_and(|(h, _)| {
                    (&h.cid, &h.user_uuid) == (&holder.cid, &holder.user_uuid)
                });
                if !same {
                    finish(current.take(), &mut answer)?;
                    current = Some((holder, vec![false; series.len()]));
                }
                if let Some((_, held)) = current.as_mut() {
                    held[at] = true;
                }
            }
            finish(current.take(), &mut answer)?;
        }
        Ok(answer)
    }
}

struct Holder {
    cid: String,
    user_uuid: String,
    login: String,
    role_name: Option<String>,
}

/// What the snapshots say of one holder: `held[i]` for each snapshot of the series; the date
/// lies between snapshots `lo` and `hi` (both sides known when `sides` is given).
fn judge(
    holder: &Holder,
    held: &[bool],
    series: &[Snapshot],
    role_id: &str,
    (lo, hi): (usize, usize),
    (before, after): (Option<usize>, Option<usize>),
) -> Option<Holding> {
    let anchor = (lo..=hi).find(|&i| held[i])?;
    let both_sides = before.is_some() && after.is_some();
    let sure = both_sides && (lo..=hi).all(|i| held[i]);
    let mut start = anchor;
    while start > 0 && held[start - 1] {
        start -= 1;
    }
    let mut end = anchor;
    while end + 1 < held.len() && held[end + 1] {
        end += 1;
    }
    let at = |i: usize| series.get(i).map(|s| s.taken_at);
    // Not sure: the unknown stretch is on the side of the date the run does not reach (with
    // no snapshot on one side, that side).
    let unknown_after = if both_sides {
        end < hi
    } else {
        after.is_none()
    };
    let (unknown_from, unknown_to) = if sure {
        (None, None)
    } else if unknown_after {
        (at(end), at(end + 1))
    } else {
        (start.checked_sub(1).and_then(at), at(start))
    };
    Some(Holding {
        cid: holder.cid.clone(),
        user_uuid: holder.user_uuid.clone(),
        login: holder.login.clone(),
        role_id: role_id.to_owned(),
        role_name: holder.role_name.clone(),
        sure,
        held_from: series[start].taken_at,
        held_to: series[end].taken_at,
        unknown_from,
        unknown_to,
    })
}

//! What changed between two snapshots: joiners, leavers, roles gained and lost (privileged
//! gains counted apart), per CID. Computed in SQL over the indexed rows and streamed to the
//! caller one change at a time: memory does not grow with the tenant.

use std::collections::BTreeMap;

use serde::Serialize;

use super::store::{History, HistoryError, Result};

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// In the later snapshot's CID, not in the earlier's.
    Joiner,
    /// In the earlier snapshot's CID, not in the later's.
    Leaver,
    /// A role held in the later snapshot, not in the earlier (a joiner's roles included).
    RoleGained,
    /// A role held in the earlier snapshot, not in the later (a leaver's roles included).
    RoleLost,
}

impl ChangeKind {
    /// `joiner`, `leaver`, `role-gained`, `role-lost`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Joiner => "joiner",
            ChangeKind::Leaver => "leaver",
            ChangeKind::RoleGained => "role-gained",
            ChangeKind::RoleLost => "role-lost",
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One change between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// What changed.
    pub change: ChangeKind,
    /// The CID.
    pub cid: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// Their login.
    pub login: String,
    /// The role gained or lost (none for a joiner or leaver).
    pub role_id: Option<String>,
    /// Its display name, when recorded.
    pub role_name: Option<String>,
    /// The role is privileged (as judged when it was held).
    pub privileged: bool,
}

/// Counts of changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffCounts {
    /// Users who joined.
    pub joiners: u64,
    /// Users who left.
    pub leavers: u64,
    /// Roles gained.
    pub roles_gained: u64,
    /// Roles lost.
    pub roles_lost: u64,
    /// Privileged roles gained.
    pub privileged_gained: u64,
}

impl DiffCounts {
    fn add(&mut self, change: &Change) {
        match change.change {
            ChangeKind::Joiner => self.joiners += 1,
            ChangeKind::Leaver => self.leavers += 1,
            ChangeKind::RoleGained => {
                self.roles_gained += 1;
                self.privileged_gained += u64::from(change.privileged);
            }
            ChangeKind::RoleLost => self.roles_lost += 1,
        }
    }
}

/// The counts of a diff, in all and per CID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    /// The earlier snapshot.
    pub from: i64,
    /// The later snapshot.
    pub to: i64,
    /// Every change counted.
    pub total: DiffCounts,
    /// Per CID (only CIDs with changes).
    pub per_cid: BTreeMap<String, DiffCounts>,
}

/// Users present in snapshot ?2 and not in ?1 (joiners; swapped: leavers), one per CID.
const USERS_ONLY_IN: &str = "
    SELECT b.cid, b.user_uuid, min(b.login)
    FROM snapshot_rows b
    WHERE b.snapshot_id = ?2
      AND NOT EXISTS (SELECT 1 FROM snapshot_rows a
                      WHERE a.snapshot_id = ?1 AND a.cid = b.cid AND a.user_uuid = b.user_uuid)
    GROUP BY b.cid, b.user_uuid
    ORDER BY b.cid, 3, b.user_uuid";

/// Roles held in snapshot ?2 and not in ?1 (gained; swapped: lost), one per user, CID and
/// role whatever the number of sources.
const ROLES_ONLY_IN: &str = "
    SELECT b.cid, b.user_uuid, min(b.login), b.role_id, min(b.role_name),
           max(coalesce(b.privileged, 0))
    FROM snapshot_rows b
    WHERE b.snapshot_id = ?2 AND b.role_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM snapshot_rows a
                      WHERE a.snapshot_id = ?1 AND a.cid = b.cid AND a.user_uuid = b.user_uuid
                        AND a.role_id = b.role_id)
    GROUP BY b.cid, b.user_uuid, b.role_id
    ORDER BY b.cid, 3, b.user_uuid, b.role_id";

impl History {
    /// What changed from snapshot `from` to snapshot `to`: each change handed to `each` as it
    /// is read (joiners, leavers, roles gained, roles lost; each by CID and login), and the
    /// counts returned. Users and roles are compared per CID; a role held through several
    /// sources counts once, and a change of source alone is no change.
    pub fn diff(
        &self,
        from: i64,
        to: i64,
        mut each: impl FnMut(Change) -> std::io::Result<()>,
    ) -> Result<DiffSummary> {
        self.snapshot(from)?;
        self.snapshot(to)?;
        let mut summary = DiffSummary {
            from,
            to,
            ..DiffSummary::default()
        };
        let passes = [
            (ChangeKind::Joiner, USERS_ONLY_IN, from, to),
            (ChangeKind::Leaver, USERS_ONLY_IN, to, from),
            (ChangeKind::RoleGained, ROLES_ONLY_IN, from, to),
            (ChangeKind::RoleLost, ROLES_ONLY_IN, to, from),
        ];
        let sqlite = self.sqlite();
        for (kind, sql, a, b) in passes {
            let mut stmt = self.conn.prepare_cached(sql).map_err(&sqlite)?;
            let mut rows = stmt.query([a, b]).map_err(&sqlite)?;
            while let Some(row) = rows.next().map_err(&sqlite)? {
                let role = kind == ChangeKind::RoleGained || kind == ChangeKind::RoleLost;
                let change = Change {
                    change: kind,
                    cid: row.get(0).map_err(&sqlite)?,
                    user_uuid: row.get(1).map_err(&sqlite)?,
                    login: row.get(2).map_err(&sqlite)?,
                    role_id: if role {
                        row.get(3).map_err(&sqlite)?
                    } else {
                        None
                    },
                    role_name: if role {
                        row.get(4).map_err(&sqlite)?
                    } else {
                        None
                    },
                    privileged: role && row.get::<_, i64>(5).map_err(&sqlite)? == 1,
                };
                summary.total.add(&change);
                summary
                    .per_cid
                    .entry(change.cid.clone())
                    .or_default()
                    .add(&change);
                each(change).map_err(HistoryError::Output)?;
            }
        }
        Ok(summary)
    }
}

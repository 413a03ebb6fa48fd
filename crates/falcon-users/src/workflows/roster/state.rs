//! What a plan starts from: per CID, the roles it offers and every user with the roles they hold
//! there (read by [`Falcon::roster_state`](crate::Falcon::roster_state)).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::model::views::Grant;
use crate::workflows::inventory::UserWithGrants;
use crate::workflows::roster::origin::Origin;
use crate::workflows::roster::rows::{Roster, RosterEntry, RosterRole};

/// A user as a plan sees them in one CID: UUID, names, and the roles held there directly, each
/// with its end (`None`: permanent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// The UUID (`None` in the `after` of a user not created yet).
    pub uuid: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Role id → when the grant ends.
    pub roles: BTreeMap<String, Option<DateTime<Utc>>>,
}

/// The tenant as a plan sees it: each CID read, by CID (`None`: the handle's own CID), and
/// where it was read from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantState {
    /// Each CID read.
    pub cids: BTreeMap<Option<Cid>, CidState>,
    /// Where it was read: what a plan of it records, and an apply of that plan checks.
    pub origin: Origin,
}

impl TenantState {
    /// The handle's own CID, as its users named it (`None`: not read, or no user).
    pub fn own_cid(&self) -> Option<Cid> {
        self.cids
            .get(&None)
            .and_then(|s| s.named.as_deref())
            .and_then(|c| c.parse().ok())
    }
}

/// One CID as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CidState {
    /// The roles the CID offers.
    pub catalogue: Catalogue,
    /// Every user homed there, by lower-case login, with the roles they hold directly there.
    pub users: BTreeMap<String, UserState>,
    /// The logins matching the prune scope, when one was given.
    pub in_scope: Option<BTreeSet<String>>,
    /// The CID as its users' entities name it (how a roster naming the handle's own CID by its
    /// hex is recognised).
    pub named: Option<String>,
}

impl UserState {
    /// A user's state in the CID they were listed in: names, UUID, and the grants made directly
    /// in that CID (grants through user groups or CID groups are not the roster's to change).
    pub fn from_inventory(row: &UserWithGrants) -> Self {
        let home = row.user.cid.as_deref().unwrap_or_default();
        let roles = row
            .grants
            .iter()
            .filter(|g| g.grant_type.as_deref().is_none_or(|t| t == "direct"))
            .filter(|g| g.cid.as_deref().is_none_or(|c| c.is_empty() || c == home))
            .map(|g| (g.role_id.clone(), grant_end(g)))
            .collect();
        UserState {
            uuid: row.user.uuid.clone(),
            first_name: row.user.first_name.clone().filter(|n| !n.is_empty()),
            last_name: row.user.last_name.clone().filter(|n| !n.is_empty()),
            roles,
        }
    }
}

/// A user as read by login: their state, and the CID their entity names.
pub(crate) type Found = (UserState, Option<String>);

/// When a grant ends (`None`: permanent, or an end that is not RFC 3339).
pub(crate) fn grant_end(grant: &Grant) -> Option<DateTime<Utc>> {
    let text = grant.expires_at.as_deref()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Roster {
    /// The roster of a tenant as read: every user of every CID with the roles they hold there
    /// (by id; temporary ones with their end), rows numbered as the CSV export numbers them. A
    /// plan of it against the same state is empty.
    pub fn from_state(state: &TenantState) -> Self {
        let mut entries = Vec::new();
        for (cid, cid_state) in &state.cids {
            for (uid, user) in &cid_state.users {
                entries.push(RosterEntry {
                    row: entries.len() + 2,
                    uid: uid.clone(),
                    first_name: user.first_name.clone(),
                    last_name: user.last_name.clone(),
                    roles: user
                        .roles
                        .iter()
                        .map(|(role, end)| RosterRole {
                            role: role.clone(),
                            expires_at: *end,
                        })
                        .collect(),
                    cid: cid.clone(),
                });
            }
        }
        Self { entries }
    }
}

//! What the bulk commands start from and plan: targeted reads (the roles of each CID once, and
//! only the users named, or those a filter matches: never a full inventory), and the plans that
//! offboard users or edit their roles, carried out by [`Falcon::apply`] like any plan.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::catalogue::Catalogue;
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;
use crate::workflows::roster::origin::Origin;
use crate::workflows::roster::plan::{Change, Guardrails, Mode, Plan, PlanOptions};
use crate::workflows::roster::state::{CidState, Found, TenantState, UserState};

/// Whose state to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Nobody: only the roles of these CIDs (what a provisioning run checks a roster against;
    /// it creates without looking first).
    Nobody(Vec<Option<Cid>>),
    /// These logins, each in its CID (`None`: the handle's own), one lookup each.
    Logins(Vec<(Option<Cid>, String)>),
    /// The users an FQL filter matches in each of these CIDs (`None`: the handle's own), with
    /// their grants.
    Filter {
        /// The FQL on users, as the service evaluates it.
        fql: String,
        /// Where to apply it.
        cids: Vec<Option<Cid>>,
    },
}

impl Falcon {
    /// Reads the roles each CID of `targets` offers (two requests per CID) and the users it
    /// names ([`PlanOptions::concurrency`] reads in flight). A login that does not exist is simply absent from
    /// the state. Member CIDs are read through their own member handles (their own tokens and
    /// rate budgets), one CID after another.
    pub async fn targeted_state(
        &self,
        targets: &Targets,
        options: &PlanOptions,
    ) -> Result<TenantState> {
        let concurrency = options.concurrency;
        let mut wanted: BTreeMap<Option<Cid>, Vec<String>> = BTreeMap::new();
        match targets {
            Targets::Nobody(cids) => {
                for cid in cids {
                    wanted.entry(cid.clone()).or_default();
                }
            }
            Targets::Logins(logins) => {
                for (cid, uid) in logins {
                    wanted.entry(cid.clone()).or_default().push(uid.clone());
                }
            }
            Targets::Filter { cids, .. } => {
                for cid in cids {
                    wanted.entry(cid.clone()).or_default();
                }
            }
        }
        let mut cids = BTreeMap::new();
        for (cid, logins) in wanted {
            let handle = match &cid {
                Some(member) => self.for_member(member),
                None => self.clone(),
            };
            let catalogue = Catalogue::from_roles(&handle.roles().await?);
            let mut users = BTreeMap::new();
            // The CID the users read name as theirs: what an apply addresses grants to.
            let mut named = None;
            if let Targets::Filter { fql, .. } = targets {
                (users, named) = handle
                    .users_state(UserQuery::new().filter(fql.clone()), concurrency)
                    .await?;
            } else {
                let distinct: BTreeSet<String> = logins.iter().map(|l| l.to_lowercase()).collect();
                let read: Vec<(String, Option<Found>)> = stream::iter(distinct)
                    .map(|uid| {
                        let handle = handle.clone();
                        async move { handle.user_found(&uid).await.map(|s| (uid, s)) }
                    })
                    .buffer_unordered(concurrency.max(1))
                    .try_collect()
                    .await?;
                for (uid, (state, cid)) in read
                    .into_iter()
                    .filter_map(|(uid, found)| Some((uid, found?)))
                {
                    named = named.or(cid);
                    users.insert(uid, state);
                }
            }
            cids.insert(
                cid,
                CidState {
                    catalogue,
                    users,
                    in_scope: None,
                    named,
                },
            );
        }
        let mut state = TenantState {
            cids,
            origin: Origin::default(),
        };
        state.origin = self.origin(state.own_cid());
        Ok(state)
    }
}

/// A bulk command's plan, and the users it names that need no change or do not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkPlan {
    /// The changes, for [`Falcon::apply`].
    pub plan: Plan,
    /// Users already as asked, in login order.
    pub unchanged: Vec<(Option<Cid>, String)>,
    /// Users named that do not exist, in login order.
    pub absent: Vec<(Option<Cid>, String)>,
}

/// Where each of `logins` was found in `state`: every (CID, login) holding that login, and
/// the logins no CID read holds. For a fleet read by login in several CIDs (a login is one
/// account, homed in one CID), so that a user is changed where they are and reported absent
/// only when they are nowhere.
pub fn locate(state: &TenantState, logins: &[String]) -> (Vec<(Option<Cid>, String)>, Vec<String>) {
    let mut found = Vec::new();
    let mut nowhere = Vec::new();
    let distinct: BTreeSet<String> = logins.iter().map(|l| l.to_lowercase()).collect();
    for uid in distinct {
        let homes: Vec<(Option<Cid>, String)> = state
            .cids
            .iter()
            .filter(|(_, s)| s.users.contains_key(&uid))
            .map(|(cid, _)| (cid.clone(), uid.clone()))
            .collect();
        if homes.is_empty() {
            nowhere.push(uid);
        } else {
            found.extend(homes);
        }
    }
    (found, nowhere)
}

/// How to change the roles of the users named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleEdit {
    /// Add these roles (permanent; a held role keeps its grant).
    Grant,
    /// Take these roles away.
    Revoke,
    /// Exactly these roles: grant the missing, revoke the others.
    Set,
}

/// Plans offboarding every user of `state` (each user read is offboarded; `named` are the
/// logins asked for, so the ones not found are reported absent).
pub fn offboard_plan(state: &TenantState, named: &[(Option<Cid>, String)]) -> BulkPlan {
    plan_each(state, named, |_, before| before.map(|_| None))
}

/// Plans `edit` with `roles` (ids or display names, resolved against each CID's catalogue) for
/// the users `named` (all the users read, for a filter: `named` empty). Refuses roles no CID
/// read offers, with a suggestion.
pub fn edit_plan(
    state: &TenantState,
    named: &[(Option<Cid>, String)],
    edit: RoleEdit,
    roles: &[String],
) -> Result<BulkPlan> {
    let mut resolved: BTreeMap<Option<Cid>, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (cid, cid_state) in &state.cids {
        for role in roles {
            match cid_state.catalogue.resolve(role) {
                Ok(id) => {
                    resolved.entry(cid.clone()).or_default().insert(id);
                }
                Err(why) => problems.push(why),
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::invalid("roles", problems.join("; ")));
    }
    let named: Vec<(Option<Cid>, String)> = if named.is_empty() {
        state
            .cids
            .iter()
            .flat_map(|(cid, s)| s.users.keys().map(|u| (cid.clone(), u.clone())))
            .collect()
    } else {
        named.to_vec()
    };
    let empty = BTreeSet::new();
    Ok(plan_each(state, &named, |cid, before| {
        let before = before?;
        let ids = resolved.get(cid).unwrap_or(&empty);
        let mut after = before.clone();
        match edit {
            RoleEdit::Grant => {
                for id in ids {
                    after.roles.entry(id.clone()).or_insert(None);
                }
            }
            RoleEdit::Revoke => after.roles.retain(|id, _| !ids.contains(id)),
            RoleEdit::Set => {
                after.roles.retain(|id, _| ids.contains(id));
                for id in ids {
                    after.roles.entry(id.clone()).or_insert(None);
                }
            }
        }
        Some(Some(after))
    }))
}

/// The change each named user needs: `target` says, from the user as read, where they go
/// (`None`: nowhere to go, the user is absent; `Some(None)`: offboarded).
fn plan_each(
    state: &TenantState,
    named: &[(Option<Cid>, String)],
    target: impl Fn(&Option<Cid>, Option<&UserState>) -> Option<Option<UserState>>,
) -> BulkPlan {
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    let mut absent = Vec::new();
    let distinct: BTreeSet<(Option<Cid>, String)> = named
        .iter()
        .map(|(c, u)| (c.clone(), u.to_lowercase()))
        .collect();
    for (cid, uid) in distinct {
        let before = state.cids.get(&cid).and_then(|s| s.users.get(&uid));
        match target(&cid, before) {
            None => absent.push((cid, uid)),
            Some(after) => {
                let change = Change {
                    cid: cid.clone(),
                    uid: uid.clone(),
                    row: None,
                    before: before.cloned(),
                    after,
                };
                if change.actions().is_empty() {
                    unchanged.push((cid, uid));
                } else {
                    changes.push(change);
                }
            }
        }
    }
    let options = PlanOptions::new()
        .mode(Mode::Exact)
        .guardrails(Guardrails::unlimited());
    let plan = Plan::new(state, options, Utc::now(), changes, unchanged.len());
    BulkPlan {
        plan,
        unchanged,
        absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> Option<Cid> {
        Some(format!("{n:032x}").parse().unwrap())
    }

    #[test]
    fn locate_finds_each_login_where_it_is_homed() {
        let mut state = TenantState::default();
        for (at, logins) in [
            (cid(1), &["a@x.com", "b@x.com"][..]),
            (cid(2), &["c@x.com"]),
        ] {
            let cid_state = state.cids.entry(at).or_default();
            for uid in logins {
                cid_state
                    .users
                    .insert((*uid).to_owned(), UserState::default());
            }
        }
        let asked = |logins: &[&str]| {
            locate(
                &state,
                &logins.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>(),
            )
        };
        let pair = |c: Option<Cid>, uid: &str| (c, uid.to_owned());
        type Pairs = Vec<(Option<Cid>, String)>;
        let cases: Vec<(Vec<&str>, Pairs, Vec<&str>)> = vec![
            (vec![], vec![], vec![]),
            (vec!["a@x.com"], vec![pair(cid(1), "a@x.com")], vec![]),
            (vec!["C@X.com"], vec![pair(cid(2), "c@x.com")], vec![]),
            (vec!["z@x.com"], vec![], vec!["z@x.com"]),
            (
                vec!["c@x.com", "a@x.com", "z@x.com", "a@x.com"],
                vec![pair(cid(1), "a@x.com"), pair(cid(2), "c@x.com")],
                vec!["z@x.com"],
            ),
        ];
        for (logins, found, nowhere) in cases {
            let (got_found, got_nowhere) = asked(&logins);
            assert_eq!(got_found, found, "{logins:?}");
            assert_eq!(got_nowhere, nowhere, "{logins:?}");
        }
    }
}

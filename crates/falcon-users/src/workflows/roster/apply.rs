//! Applying a plan: each change once, several at a time under the rate limit, every action
//! journaled before it is sent and when it ends. The guardrails of the apply hold for every
//! plan. A saved plan is checked first, against the tenant as read now and never on its own
//! word: it must have been made on this cloud, CID and member CID; every user must still be
//! where the plan found them, or on the way to where it takes them (an earlier, interrupted
//! apply); every role it grants must be offered where it grants it. Anything else refuses the
//! whole plan before any change. Grants go to the CID read now, and what is left of each change
//! is worked out from where the user is now, so running an apply again after it was killed
//! finishes the job without repeating what was done.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use tracing::{info, warn};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::grants::{GrantOptions, GrantQuery, RevokeOptions};
use crate::ops::users::UserUpdate;
use crate::runtime::trace::traced;
use crate::workflows::once::exactly_once;
use crate::workflows::provision::may_be_taken;
use crate::workflows::roster::journal::{Journal, JournalEntry, STARTED};
use crate::workflows::roster::plan::{
    Action, Change, Guardrails, PLAN_VERSION, Plan, actions, never_shorter, position, same_end,
};
use crate::workflows::roster::state::{UserState, grant_end};
use crate::workflows::settle::{Settle, Settled};
use crate::workflows::stop::Stop;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    concurrency: usize,
    verify: bool,
    stop: Stop,
    guardrails: Guardrails,
    settle: Settle,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            verify: true,
            stop: Stop::new(),
            guardrails: Guardrails::default(),
            settle: Settle::new(),
        }
    }
}

impl ApplyOptions {
    /// Check every user against the plan first, 8 changes at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes in flight at once (default 8; the rate limiter paces them further).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Whether to check the plan against the tenant first (default true): where it was made,
    /// each user read again, the roles it grants offered. Turn it off only for a plan this
    /// process made from a state read just now, as a plan-and-apply in one go does: the plan is
    /// then trusted as it is, and each change costs only its own requests.
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// The limits the apply holds the plan to, whatever limits it was made with (default 5
    /// offboarded and 5 stripped of every role: [`Guardrails::default`]).
    pub fn guardrails(mut self, guardrails: Guardrails) -> Self {
        self.guardrails = guardrails;
        self
    }

    /// Start no further change once `stop` is raised (the changes in flight finish).
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// How long to wait, after the last change, for the service to show it (default
    /// [`Settle::new`]: up to 90 s), so that a plan made right after starts from the changes.
    pub fn settle(mut self, settle: Settle) -> Self {
        self.settle = settle;
        self
    }
}

/// What became of one change.
#[derive(Debug, Clone)]
pub enum ChangeOutcome {
    /// Every action was done.
    Done {
        /// The actions done now.
        actions: Vec<Action>,
    },
    /// The user already matched the plan's target (done by an earlier run, or by someone else).
    AlreadyDone,
    /// An action failed; the ones before it were done.
    Failed {
        /// The actions done before the failure.
        done: Vec<Action>,
        /// The action that failed.
        action: Action,
        /// Why.
        error: Error,
    },
    /// Not started: the apply was stopped, or the journal could not be written.
    NotStarted,
}

/// One change and what became of it.
#[derive(Debug, Clone)]
pub struct ChangeResult {
    /// The change's position in the plan.
    pub index: usize,
    /// The CID, as the plan names it (`None`: the handle's own).
    pub cid: Option<Cid>,
    /// The CID the actions went to, as read from the tenant (`None`: not known, as when the
    /// handle's own CID lists no user and nothing was created).
    pub acted_in: Option<Cid>,
    /// The login.
    pub uid: String,
    /// The outcome.
    pub outcome: ChangeOutcome,
}

/// Every change's outcome, in plan order.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// One per change.
    pub results: Vec<ChangeResult>,
    /// Whether the service showed the changes before the apply returned ([`ApplyOptions::settle`]).
    pub settled: Settled,
}

impl ApplyReport {
    /// Changes done now, already done, failed, not started.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for r in &self.results {
            match r.outcome {
                ChangeOutcome::Done { .. } => counts.0 += 1,
                ChangeOutcome::AlreadyDone => counts.1 += 1,
                ChangeOutcome::Failed { .. } => counts.2 += 1,
                ChangeOutcome::NotStarted => counts.3 += 1,
            }
        }
        counts
    }

    /// Whether every change is done (now or before).
    pub fn is_complete(&self) -> bool {
        let (_, _, failed, not_started) = self.counts();
        failed == 0 && not_started == 0
    }
}

impl Falcon {
    /// Applies `plan` (see the [module](crate::workflows::roster) docs), recording every action
    /// in `journal`. Fails as a whole, before any change, for a plan of another format version
    /// and (when verifying) for a plan whose users moved since it was made
    /// ([`Error::PlanRefused`]); otherwise every change gets an outcome, and one failure does
    /// not stop the others.
    pub async fn apply(
        &self,
        plan: &Plan,
        options: &ApplyOptions,
        journal: &Journal,
    ) -> Result<ApplyReport> {
        if plan.plan_version != PLAN_VERSION {
            return Err(Error::PlanRefused {
                reason: format!(
                    "the plan has format version {}, this release applies version {PLAN_VERSION}: plan again",
                    plan.plan_version
                ),
            });
        }
        // The handle's own CID, to address grants to: read now when checking, else the one the
        // plan (made just now) read.
        let own_cid = if options.verify {
            let acting = match plan.made_against.cid {
                Some(_) => self.acting_cid().await?,
                None => None,
            };
            if let Some(why) = plan.made_against.mismatch(&self.origin(acting.clone())) {
                return Err(Error::PlanRefused {
                    reason: format!("it was made elsewhere: {why}; plan again here"),
                });
            }
            acting
        } else {
            plan.made_against.cid.clone()
        };
        let mut handles: BTreeMap<Option<Cid>, Falcon> = BTreeMap::new();
        for cid in plan.cids() {
            let handle = match &cid {
                Some(member) => self.for_member(member),
                None => self.clone(),
            };
            handles.insert(cid, handle);
        }
        let handle = |c: &Change| handles.get(&c.cid).cloned().unwrap_or_else(|| self.clone());
        let currents: Vec<Option<UserState>> = if options.verify {
            let read: Vec<Option<UserState>> = stream::iter(&plan.changes)
                .map(|c| {
                    let falcon = handle(c);
                    async move { falcon.user_state(&c.uid).await }
                })
                .buffered(options.concurrency)
                .try_collect()
                .await?;
            let mut stale: Vec<String> = plan
                .changes
                .iter()
                .zip(&read)
                .filter_map(|(c, now)| {
                    position(c.before.as_ref(), c.after.as_ref(), now.as_ref())
                        .err()
                        .map(|why| format!("{}: {why}", c.uid))
                })
                .collect();
            stale.extend(unoffered_roles(plan, &read, &handles).await?);
            if !stale.is_empty() {
                let shown: Vec<&str> = stale.iter().take(5).map(String::as_str).collect();
                return Err(Error::PlanRefused {
                    reason: format!(
                        "{} of its {} changes no longer hold against the tenant ({}{}); plan again",
                        stale.len(),
                        plan.changes.len(),
                        shown.join("; "),
                        if stale.len() > 5 { "; …" } else { "" }
                    ),
                });
            }
            read
        } else {
            plan.changes.iter().map(|c| c.before.clone()).collect()
        };
        options.guardrails.check(
            plan.changes
                .iter()
                .zip(&currents)
                .map(|(c, now)| (now.as_ref(), c.after.as_ref())),
        )?;
        let results = stream::iter(plan.changes.iter().zip(currents).enumerate())
            .map(|(index, (change, current))| {
                let falcon = handle(change);
                let home = change.cid.clone().or_else(|| own_cid.clone());
                async move {
                    let mut run = Run {
                        falcon: &falcon,
                        change,
                        home,
                        journal,
                        stop: &options.stop,
                    };
                    let outcome = if options.stop.is_raised() {
                        ChangeOutcome::NotStarted
                    } else {
                        run.carry_out(current).await
                    };
                    ChangeResult {
                        index,
                        cid: change.cid.clone(),
                        acted_in: run.home,
                        uid: change.uid.clone(),
                        outcome,
                    }
                }
            })
            .buffer_unordered(options.concurrency)
            .collect::<Vec<_>>()
            .await;
        // In the order they finished: the last change done is the last the service shows.
        // Judged by the actions it did (not by the plan's target: a login found taken is
        // completed, and keeps roles the plan did not name).
        let last_done = results.iter().rev().find_map(|r| match &r.outcome {
            ChangeOutcome::Done { actions } => Some((r.index, actions)),
            _ => None,
        });
        let settled = match last_done {
            Some((index, done)) => {
                let change = &plan.changes[index];
                let falcon = handle(change);
                falcon
                    .settle(&options.settle, "the changes", || async {
                        let now = falcon.user_state(&change.uid).await?;
                        Ok(shows(done, now.as_ref()))
                    })
                    .await
            }
            None => Settled::NotChecked,
        };
        let mut results = results;
        results.sort_by_key(|r| r.index);
        let report = ApplyReport { results, settled };
        let (done, already, failed, not_started) = report.counts();
        info!(done, already, failed, not_started, "plan applied");
        Ok(report)
    }
}

/// The roles a plan would grant that the CID it grants them in does not offer, as read now (one
/// listing of role ids per CID the plan grants in), each as `login: why`.
async fn unoffered_roles(
    plan: &Plan,
    currents: &[Option<UserState>],
    handles: &BTreeMap<Option<Cid>, Falcon>,
) -> Result<Vec<String>> {
    let mut wanted: BTreeMap<&Option<Cid>, Vec<(&str, &str)>> = BTreeMap::new();
    for (change, current) in plan.changes.iter().zip(currents) {
        let Some(after) = &change.after else { continue };
        for role in after.roles.keys() {
            if current.as_ref().is_none_or(|c| !c.roles.contains_key(role)) {
                wanted
                    .entry(&change.cid)
                    .or_default()
                    .push((change.uid.as_str(), role.as_str()));
            }
        }
    }
    let mut unoffered = Vec::new();
    for (cid, grants) in wanted {
        let Some(falcon) = handles.get(cid) else {
            continue;
        };
        let offered: std::collections::BTreeSet<String> =
            falcon.role_ids().await?.into_iter().collect();
        let place = cid
            .as_ref()
            .map_or("this CID".to_owned(), |c| format!("CID {c}"));
        unoffered.extend(
            grants
                .into_iter()
                .filter(|(_, role)| !offered.contains(*role))
                .map(|(uid, role)| format!("{uid}: {role} is not a role {place} offers")),
        );
    }
    Ok(unoffered)
}

/// Whether the user as read now shows every action of a change done: a deleted user shows
/// only as gone (the revokes before the delete are moot then).
fn shows(done: &[Action], now: Option<&UserState>) -> bool {
    if done.contains(&Action::Delete) {
        return now.is_none();
    }
    done.iter().all(|a| took_effect(a, now))
}

/// Whether `action`, started by a run that was killed before it ended, took effect, judged from
/// the user as read now (`None`: absent).
pub(crate) fn took_effect(action: &Action, now: Option<&UserState>) -> bool {
    match (action, now) {
        (Action::Create { .. }, now) => now.is_some(),
        (Action::Delete, now) => now.is_none(),
        (_, None) => false,
        (
            Action::Rename {
                first_name,
                last_name,
            },
            Some(now),
        ) => {
            let same =
                |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
            same(first_name, &now.first_name) && same(last_name, &now.last_name)
        }
        (Action::Grant { roles, expires_at }, Some(now)) => roles.iter().all(|r| {
            now.roles
                .get(r)
                .is_some_and(|end| same_end(*end, *expires_at))
        }),
        (Action::Revoke { roles }, Some(now)) => roles.iter().all(|r| !now.roles.contains_key(r)),
    }
}

/// One change being carried out.
struct Run<'a> {
    falcon: &'a Falcon,
    change: &'a Change,
    /// The CID to address grants to (`None`: looked up from the user).
    home: Option<Cid>,
    journal: &'a Journal,
    stop: &'a Stop,
}

impl Run<'_> {
    /// A journal line for `action` of this change.
    fn entry(&self, action: &Action, uuid: &Option<String>, outcome: &str) -> JournalEntry {
        JournalEntry {
            time: Utc::now(),
            cid: self.home.clone().or_else(|| self.change.cid.clone()),
            uid: self.change.uid.clone(),
            user_uuid: uuid.clone(),
            action: action.clone(),
            outcome: outcome.to_owned(),
            error: None,
            trace_id: None,
        }
    }

    /// Carries out the actions from `current` to the change's target.
    async fn carry_out(&mut self, current: Option<UserState>) -> ChangeOutcome {
        let mut uuid = current.as_ref().and_then(|c| c.uuid.clone());
        // What a killed run left in flight for this user: record how it turned out.
        for started in self.journal.take_in_flight(&self.change.uid) {
            let outcome = match took_effect(&started.action, current.as_ref()) {
                true => "interrupted: done",
                false => "interrupted: not done",
            };
            if !self
                .journal
                .record(&self.entry(&started.action, &uuid, outcome))
            {
                self.stop.raise();
            }
        }
        let mut todo = actions(current.as_ref(), self.change.after.as_ref());
        if todo.is_empty() {
            return ChangeOutcome::AlreadyDone;
        }
        let mut done = Vec::new();
        let mut next = 0;
        while let Some(action) = todo.get(next).cloned() {
            next += 1;
            // Written ahead: a run killed while the request is out still names the action.
            if !self.journal.record(&self.entry(&action, &uuid, STARTED)) {
                // Without a record, a later run could not be told what this one did.
                self.stop.raise();
                return match done.is_empty() {
                    true => ChangeOutcome::NotStarted,
                    false => ChangeOutcome::Failed {
                        done,
                        action,
                        error: Error::invalid(
                            "journal",
                            "could not be written; the action was not sent",
                        ),
                    },
                };
            }
            let mut existed = None;
            let mut home = self.home.clone();
            let (result, trace_id) =
                traced(self.act(&action, &mut uuid, &mut home, &mut existed)).await;
            self.home = home;
            let outcome = match (&result, &existed) {
                (Err(_), _) => "failed",
                (Ok(()), Some(_)) => "already exists",
                (Ok(()), None) => "done",
            };
            let entry = JournalEntry {
                error: result.as_ref().err().map(ToString::to_string),
                trace_id,
                ..self.entry(&action, &uuid, outcome)
            };
            if !self.journal.record(&entry) {
                self.stop.raise();
            }
            match result {
                Ok(()) => match existed {
                    // The login was taken: what is left follows from that user as they are.
                    Some(existing) => {
                        todo = actions(Some(&existing), Some(&completed(&existing, self.change)));
                        next = 0;
                    }
                    None => done.push(action),
                },
                Err(error) => {
                    warn!(uid = %self.change.uid, action = action.name(), error = %error, "change failed");
                    return ChangeOutcome::Failed {
                        done,
                        action,
                        error,
                    };
                }
            }
        }
        if done.is_empty() {
            ChangeOutcome::AlreadyDone
        } else {
            ChangeOutcome::Done { actions: done }
        }
    }

    async fn act(
        &self,
        action: &Action,
        uuid: &mut Option<String>,
        home: &mut Option<Cid>,
        existed: &mut Option<UserState>,
    ) -> Result<()> {
        let falcon = self.falcon;
        let uid = self.change.uid.as_str();
        if let Action::Create {
            first_name,
            last_name,
        } = action
        {
            let names = (first_name.clone(), last_name.clone());
            let user = match falcon
                .create_exactly_once(uid, names, self.change.cid.as_ref(), false)
                .await
            {
                Ok(user) => user,
                // The login exists (another run of the same plan, a user the plan did not
                // read, someone else): carry on with that user as they are now.
                Err(refused) if may_be_taken(&refused) => {
                    let existing = falcon.user_state(uid).await?.ok_or(refused)?;
                    *uuid = existing.uuid.clone();
                    *existed = Some(existing);
                    return Ok(());
                }
                Err(other) => return Err(other),
            };
            if home.is_none() {
                *home = user.cid.as_deref().and_then(|c| c.parse().ok());
            }
            *uuid = user.uuid;
            return Ok(());
        }
        let Some(uuid) = uuid.as_deref() else {
            return Err(Error::invalid("user", format!("no UUID known for {uid}")));
        };
        let cid = home.as_ref();
        match action {
            Action::Create { .. } => Ok(()),
            Action::Rename {
                first_name,
                last_name,
            } => {
                exactly_once(
                    falcon,
                    || async {
                        let change = UserUpdate {
                            first_name: first_name.clone(),
                            last_name: last_name.clone(),
                        };
                        falcon.update_user(uuid, change).await.map(drop)
                    },
                    // Renaming twice is harmless: nothing to read first.
                    || async { None },
                )
                .await
            }
            Action::Grant { roles, expires_at } => {
                exactly_once(
                    falcon,
                    || {
                        let options = GrantOptions {
                            cid: cid.cloned(),
                            expires_at: *expires_at,
                        };
                        falcon.grant_roles(uuid, roles.clone(), options)
                    },
                    || async {
                        let held = held_roles(falcon, uuid).await?;
                        roles
                            .iter()
                            .all(|r| held.get(r).is_some_and(|end| same_end(*end, *expires_at)))
                            .then_some(())
                    },
                )
                .await
            }
            Action::Revoke { roles } => {
                exactly_once(
                    falcon,
                    || {
                        let options = RevokeOptions { cid: cid.cloned() };
                        falcon.revoke_roles(uuid, roles.clone(), options)
                    },
                    || async {
                        let held = held_roles(falcon, uuid).await?;
                        roles.iter().all(|r| !held.contains_key(r)).then_some(())
                    },
                )
                .await
            }
            Action::Delete => falcon.delete_exactly_once(uuid).await,
        }
    }
}

/// Where a change that meant to create a user takes one found existing: its roles added to
/// the ones they hold (what was not seen is not taken away), their names kept.
fn completed(existing: &UserState, change: &Change) -> UserState {
    let mut target = existing.clone();
    if let Some(after) = &change.after {
        for (role, end) in &after.roles {
            let merged = never_shorter(target.roles.get(role).copied(), *end);
            target.roles.insert(role.clone(), merged);
        }
    }
    target
}

/// The roles a user holds, with their ends (`None` when they cannot be read).
async fn held_roles(
    falcon: &Falcon,
    uuid: &str,
) -> Option<BTreeMap<String, Option<DateTime<Utc>>>> {
    let grants: Vec<_> = falcon
        .grants(uuid, GrantQuery::new())
        .try_collect()
        .await
        .ok()?;
    Some(
        grants
            .into_iter()
            .map(|g| {
                let end = grant_end(&g);
                (g.role_id, end)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(first: &str, roles: &[&str]) -> UserState {
        UserState {
            uuid: Some("u".into()),
            first_name: Some(first.into()),
            last_name: Some("Lee".into()),
            roles: roles.iter().map(|r| (r.to_string(), None)).collect(),
        }
    }

    /// (the action a killed run left in flight, the user as read now, whether it took effect)
    #[test]
    fn whether_an_interrupted_action_took_effect() {
        let create = Action::Create {
            first_name: Some("Ann".into()),
            last_name: None,
        };
        let rename = Action::Rename {
            first_name: Some("Ann".into()),
            last_name: None,
        };
        let grant = Action::Grant {
            roles: vec!["a".into(), "b".into()],
            expires_at: None,
        };
        let revoke = Action::Revoke {
            roles: vec!["a".into()],
        };
        let cases: Vec<(&Action, Option<UserState>, bool)> = vec![
            (&create, None, false),
            (&create, Some(user("Ann", &[])), true),
            (&Action::Delete, None, true),
            (&Action::Delete, Some(user("Ann", &[])), false),
            (&rename, Some(user("Ann", &[])), true),
            (&rename, Some(user("Bo", &[])), false),
            (&rename, None, false),
            (&grant, Some(user("Ann", &["a", "b", "c"])), true),
            (&grant, Some(user("Ann", &["a"])), false),
            (&grant, None, false),
            (&revoke, Some(user("Ann", &["b"])), true),
            (&revoke, Some(user("Ann", &["a", "b"])), false),
        ];
        for (action, now, took) in cases {
            assert_eq!(
                took_effect(action, now.as_ref()),
                took,
                "{action} on {now:?}"
            );
        }
    }

    /// (the actions a change did, the user as read now, whether the read shows them all): what
    /// the apply waits for after its last change.
    #[test]
    fn whether_a_read_shows_a_change_done() {
        let grant = Action::Grant {
            roles: vec!["a".into()],
            expires_at: None,
        };
        let revoke = Action::Revoke {
            roles: vec!["b".into()],
        };
        let create = Action::Create {
            first_name: None,
            last_name: None,
        };
        let cases: Vec<(Vec<Action>, Option<UserState>, bool)> = vec![
            // A taken login completed: the roles it kept do not matter.
            (vec![grant.clone()], Some(user("Ann", &["a", "c"])), true),
            (vec![grant.clone()], Some(user("Ann", &["c"])), false),
            (vec![create.clone(), grant.clone()], None, false),
            (vec![create, grant.clone()], Some(user("Ann", &["a"])), true),
            // Offboarded: gone is all there is to show.
            (vec![revoke.clone(), Action::Delete], None, true),
            (
                vec![revoke.clone(), Action::Delete],
                Some(user("Ann", &[])),
                false,
            ),
            (vec![grant, revoke], Some(user("Ann", &["a", "b"])), false),
        ];
        for (done, now, shown) in cases {
            assert_eq!(shows(&done, now.as_ref()), shown, "{done:?} on {now:?}");
        }
    }
}

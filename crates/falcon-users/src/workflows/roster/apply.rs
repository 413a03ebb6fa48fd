//! Applying a plan: each change once, several at a time under the rate limit, every action
//! journaled. A saved plan is checked first: every user must still be where the plan found
//! them, or on the way to where it takes them (an earlier, interrupted apply); anything else
//! refuses the whole plan before any change. What is left of each change is worked out from
//! where the user is now, so running an apply again after it was killed finishes the job without
//! repeating what was done.

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
use crate::workflows::roster::journal::{Journal, JournalEntry};
use crate::workflows::roster::plan::{
    Action, Change, PLAN_VERSION, Plan, actions, never_shorter, position, same_end,
};
use crate::workflows::roster::state::{UserState, grant_end};
use crate::workflows::stop::Stop;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    concurrency: usize,
    verify: bool,
    stop: Stop,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            verify: true,
            stop: Stop::new(),
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

    /// Whether to read each user before changing them (default true). Turn it off only for a
    /// plan made from a state read just now, as a plan-and-apply in one go does: each change
    /// then costs only its own requests.
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// Start no further change once `stop` is raised (the changes in flight finish).
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
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
    /// The CID.
    pub cid: Option<Cid>,
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
        let mut handles: BTreeMap<Option<Cid>, Falcon> = BTreeMap::new();
        for cid in plan.cids() {
            let handle = match &cid {
                Some(member) => self.for_member(member.as_str())?,
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
            let stale: Vec<String> = plan
                .changes
                .iter()
                .zip(&read)
                .filter_map(|(c, now)| {
                    position(c.before.as_ref(), c.after.as_ref(), now.as_ref())
                        .err()
                        .map(|why| format!("{}: {why}", c.uid))
                })
                .collect();
            if !stale.is_empty() {
                let shown: Vec<&str> = stale.iter().take(5).map(String::as_str).collect();
                return Err(Error::PlanRefused {
                    reason: format!(
                        "{} of its {} users no longer start where the plan found them ({}{}); plan again",
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
        let results = stream::iter(plan.changes.iter().zip(currents).enumerate())
            .map(|(index, (change, current))| {
                let falcon = handle(change);
                async move {
                    let outcome = if options.stop.is_raised() {
                        ChangeOutcome::NotStarted
                    } else {
                        let home = change.cid.clone().or_else(|| plan.home_cid.clone());
                        let run = Run {
                            falcon: &falcon,
                            change,
                            home,
                            journal,
                            stop: &options.stop,
                        };
                        run.to_target(current).await
                    };
                    ChangeResult {
                        index,
                        cid: change.cid.clone(),
                        uid: change.uid.clone(),
                        outcome,
                    }
                }
            })
            .buffer_unordered(options.concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut results = results;
        results.sort_by_key(|r| r.index);
        let report = ApplyReport { results };
        let (done, already, failed, not_started) = report.counts();
        info!(done, already, failed, not_started, "plan applied");
        Ok(report)
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
    /// Carries out the actions from `current` to the change's target.
    async fn to_target(&self, current: Option<UserState>) -> ChangeOutcome {
        let mut todo = actions(current.as_ref(), self.change.after.as_ref());
        let mut uuid = current.and_then(|c| c.uuid);
        if todo.is_empty() {
            return ChangeOutcome::AlreadyDone;
        }
        let mut done = Vec::new();
        let mut home = self.home.clone();
        let mut next = 0;
        while let Some(action) = todo.get(next).cloned() {
            next += 1;
            let mut existed = None;
            let (result, trace_id) =
                traced(self.act(&action, &mut uuid, &mut home, &mut existed)).await;
            let entry = JournalEntry {
                time: Utc::now(),
                cid: self.change.cid.clone(),
                uid: self.change.uid.clone(),
                user_uuid: uuid.clone(),
                action: action.clone(),
                outcome: match (&result, &existed) {
                    (Err(_), _) => "failed",
                    (Ok(()), Some(_)) => "already exists",
                    (Ok(()), None) => "done",
                }
                .to_owned(),
                error: result.as_ref().err().map(ToString::to_string),
                trace_id,
            };
            if !self.journal.record(&entry) {
                // Without a record, a later run could not be told what this one did.
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

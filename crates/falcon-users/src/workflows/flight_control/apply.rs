//! Applying a fleet plan: checked first against the state read now and never on its own word,
//! then each step once, in order, journaled before it is sent and when it ends.
//!
//! The checks, each refusing the whole plan before any change: the format version; where it
//! was made (cloud, CID, member CID: [`Origin::mismatch`]); that its steps and effect follow from
//! its two ends (a hand-edited plan is refused); that what it asks for still fits the tenant
//! (members are the parent's users, CIDs its children, roles offered); that every group, member
//! and link role is as it was read or as the plan leaves it ([`position`]: anything else is a
//! stale plan); and the apply's own guardrails on what is left to do.
//!
//! What is left is worked out from the state read now ([`steps`] from it to the plan's `after`),
//! so a run after a kill does only what the killed run did not, and a run after a complete one
//! does nothing. The first step that fails stops the run: later steps may rely on it, and the
//! order is what keeps access from being broader mid-way than at either end.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::Utc;
use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::runtime::trace::traced;
use crate::workflows::flight_control::plan::{
    FLEET_PLAN_VERSION, FleetPlan, Step, effect, position, steps,
};
use crate::workflows::flight_control::state::{FleetModel, FleetState, GroupKind, UserIndex};
use crate::workflows::roster::{Guardrails, Journal, JournalEntry, Origin};
use crate::workflows::stop::Stop;

/// The journal outcome of a step written before it is sent.
const STARTED: &str = "started";

/// What an apply needs of a Flight Control tenant: where it is, its state, and the eight
/// changes a step makes. Members are UUIDs for user groups and CIDs for CID groups.
pub trait FleetApi: Sync {
    /// Where this handle is now: cloud, the CID it acts in, member CID.
    fn here(&self) -> impl Future<Output = Result<Origin>> + Send;
    /// The state now.
    fn fleet_state(&self) -> impl Future<Output = Result<FleetState>> + Send;
    /// Creates an empty group; its id.
    fn create_group(
        &self,
        kind: GroupKind,
        name: &str,
        description: &str,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Renames a group or changes its description.
    fn update_group(
        &self,
        kind: GroupKind,
        id: &str,
        name: &str,
        description: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a group.
    fn delete_group(&self, kind: GroupKind, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Adds members to a group.
    fn add_members(
        &self,
        kind: GroupKind,
        id: &str,
        members: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Removes members from a group.
    fn remove_members(
        &self,
        kind: GroupKind,
        id: &str,
        members: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Adds roles to the link of a user group and a CID group (`addRole`).
    fn add_roles(
        &self,
        user_group: &str,
        cid_group: &str,
        roles: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Removes roles from a link (`deletedRoles`); `None` dissolves it.
    fn remove_roles(
        &self,
        user_group: &str,
        cid_group: &str,
        roles: Option<&[String]>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// How to apply a fleet plan.
#[derive(Debug, Clone, Default)]
pub struct FleetApplyOptions {
    guardrails: Guardrails,
    stop: Stop,
}

impl FleetApplyOptions {
    /// The default guardrails ([`Guardrails::default`]: access taken from at most 5 users).
    pub fn new() -> Self {
        Self::default()
    }

    /// The limits the apply holds what is left of the plan to, whatever it was made with.
    pub fn guardrails(mut self, guardrails: Guardrails) -> Self {
        self.guardrails = guardrails;
        self
    }

    /// Start no further step once `stop` is raised (the step in flight finishes).
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }
}

/// What became of one step.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Done.
    Done,
    /// Failed; no later step was started.
    Failed(Error),
    /// Not started: an earlier step failed, the apply was stopped, or the journal could not
    /// be written.
    NotStarted,
}

/// One step and what became of it.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The step, as worked out from the state read at the start of this run.
    pub step: Step,
    /// What became of it.
    pub outcome: StepOutcome,
}

/// Every step this run had left to do, in order.
#[derive(Debug, Clone, Default)]
pub struct FleetApplyReport {
    /// One per step left.
    pub results: Vec<StepResult>,
    /// Steps an earlier, killed run left started, and whether each had taken effect.
    pub resolved: Vec<(Step, bool)>,
}

impl FleetApplyReport {
    /// Steps done, failed, not started.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for r in &self.results {
            match r.outcome {
                StepOutcome::Done => counts.0 += 1,
                StepOutcome::Failed(_) => counts.1 += 1,
                StepOutcome::NotStarted => counts.2 += 1,
            }
        }
        counts
    }

    /// Whether every step is done (now or by an earlier run).
    pub fn is_complete(&self) -> bool {
        let (_, failed, not_started) = self.counts();
        failed == 0 && not_started == 0
    }
}

fn refused(reason: impl Into<String>) -> Error {
    Error::PlanRefused {
        reason: reason.into(),
    }
}

/// Applies `plan` through `api`, step by step in the plan's order, recording every step in
/// `journal`. Fails as a whole, before any change, when a check refuses the plan
/// ([`Error::PlanRefused`]); otherwise every step left gets an outcome.
pub async fn apply<A: FleetApi>(
    api: &A,
    plan: &FleetPlan,
    options: &FleetApplyOptions,
    journal: &Journal<Step>,
) -> Result<FleetApplyReport> {
    if plan.plan_version != FLEET_PLAN_VERSION {
        return Err(refused(format!(
            "the plan has format version {}, this release applies version \
             {FLEET_PLAN_VERSION}: plan again",
            plan.plan_version
        )));
    }
    let here = api.here().await?;
    if let Some(why) = plan.made_against.mismatch(&here) {
        return Err(refused(format!(
            "it was made elsewhere: {why}; plan again here"
        )));
    }
    if steps(&plan.before, &plan.after) != plan.steps
        || effect(&plan.before, &plan.after) != plan.effect
    {
        return Err(refused(
            "it was edited after it was made (its steps or its effect on access do not follow \
             from the state it read and the state it asks for); plan again from the file",
        ));
    }
    let state = api.fleet_state().await?;
    let current = state.model()?;
    let mut problems = unfit(&plan.after, &state, &current);
    problems.extend(position(&plan.before, &plan.after, &current));
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        return Err(refused(format!(
            "it no longer holds against the tenant ({}{}); plan again",
            shown.join("; "),
            if problems.len() > 5 { "; …" } else { "" }
        )));
    }
    let left = effect(&current, &plan.after);
    let losing = left
        .iter()
        .filter(|c| !c.lost.is_empty())
        .map(|c| c.user.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    options.guardrails.check_removals(losing)?;

    let mut report = FleetApplyReport::default();
    let entry = |step: &Step, outcome: &str| JournalEntry {
        time: Utc::now(),
        cid: None,
        uid: step.subject(),
        user_uuid: None,
        action: step.clone(),
        outcome: outcome.to_owned(),
        error: None,
        trace_id: None,
    };
    let mut journal_ok = true;
    for started in journal.take_all_in_flight() {
        let took = took_effect(&started.action, &current);
        let outcome = if took {
            "interrupted: done"
        } else {
            "interrupted: not done"
        };
        journal_ok &= journal.record(&entry(&started.action, outcome));
        report.resolved.push((started.action, took));
    }

    let mut ids = Ids::of(&current);
    let index = state.user_index();
    let mut halted = !journal_ok;
    for step in steps(&current, &plan.after) {
        if halted || options.stop.is_raised() {
            report.results.push(StepResult {
                step,
                outcome: StepOutcome::NotStarted,
            });
            continue;
        }
        // Written ahead: a run killed while the request is out still names the step.
        if !journal.record(&entry(&step, STARTED)) {
            halted = true;
            report.results.push(StepResult {
                step,
                outcome: StepOutcome::NotStarted,
            });
            continue;
        }
        let (result, trace_id) = traced(run(api, &step, &index, &mut ids)).await;
        let line = JournalEntry {
            error: result.as_ref().err().map(ToString::to_string),
            trace_id,
            ..entry(&step, if result.is_ok() { "done" } else { "failed" })
        };
        if !journal.record(&line) {
            halted = true;
        }
        let outcome = match result {
            Ok(()) => StepOutcome::Done,
            Err(error) => {
                warn!(step = %step, error = %error, "fleet step failed");
                halted = true;
                StepOutcome::Failed(error)
            }
        };
        report.results.push(StepResult { step, outcome });
    }
    let (done, failed, not_started) = report.counts();
    info!(done, failed, not_started, "fleet plan applied");
    Ok(report)
}

/// What `after` asks for that the tenant as read cannot have: members that are not the
/// parent's users (nor already members), CIDs that are not its children (nor already in the
/// group), roles it does not offer.
fn unfit(after: &FleetModel, state: &FleetState, current: &FleetModel) -> Vec<String> {
    let mut out = Vec::new();
    let index = state.user_index();
    for (name, group) in &after.user_groups {
        let now = current.members(GroupKind::User, name);
        for m in &group.members {
            if index.uuid_of(m).is_none() && !now.contains(m) {
                out.push(format!("{m} is not a user of this CID"));
            }
        }
    }
    for (name, group) in &after.cid_groups {
        let now = current.members(GroupKind::Cid, name);
        for c in &group.members {
            if !state.is_fleet_cid(c) && !now.contains(c.as_str()) {
                out.push(format!("{c} is neither this CID nor one of its children"));
            }
        }
    }
    for (user, by_cid) in &after.links {
        for (cid, roles) in by_cid {
            let held = current.link(user, cid);
            for role in roles {
                if !state.catalogue.contains(role) && !held.contains(role) {
                    out.push(format!("{role} is not a role this CID offers"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Group ids by kind and name, as read and as this run creates and renames them.
struct Ids(BTreeMap<(GroupKind, String), String>);

impl Ids {
    fn of(model: &FleetModel) -> Self {
        let mut ids = BTreeMap::new();
        for (name, g) in &model.user_groups {
            if let Some(id) = &g.id {
                ids.insert((GroupKind::User, name.clone()), id.clone());
            }
        }
        for (name, g) in &model.cid_groups {
            if let Some(id) = &g.id {
                ids.insert((GroupKind::Cid, name.clone()), id.clone());
            }
        }
        Self(ids)
    }

    fn get(&self, kind: GroupKind, name: &str) -> Result<String> {
        self.0
            .get(&(kind, name.to_owned()))
            .cloned()
            .ok_or_else(|| Error::invalid("group", format!("no id is known for {kind} {name:?}")))
    }
}

/// Carries out one step.
async fn run<A: FleetApi>(
    api: &A,
    step: &Step,
    index: &UserIndex<'_>,
    ids: &mut Ids,
) -> Result<()> {
    // Members as the service takes them: user group members by UUID.
    let wire = |kind: GroupKind, members: &[String]| -> Vec<String> {
        members
            .iter()
            .map(|m| match kind {
                GroupKind::User => index.uuid_of(m).map_or_else(|| m.clone(), str::to_owned),
                GroupKind::Cid => m.clone(),
            })
            .collect()
    };
    match step {
        Step::CreateGroup {
            kind,
            name,
            description,
        } => {
            let id = api.create_group(*kind, name, description).await?;
            ids.0.insert((*kind, name.clone()), id);
        }
        Step::UpdateGroup {
            kind,
            id,
            new_name,
            description,
            ..
        } => {
            api.update_group(*kind, id, new_name, description).await?;
            ids.0.insert((*kind, new_name.clone()), id.clone());
        }
        Step::DeleteGroup { kind, id, .. } => api.delete_group(*kind, id).await?,
        Step::AddMembers {
            kind,
            group,
            members,
        } => {
            let id = ids.get(*kind, group)?;
            api.add_members(*kind, &id, &wire(*kind, members)).await?;
        }
        Step::RemoveMembers {
            kind,
            group,
            members,
        } => {
            let id = ids.get(*kind, group)?;
            api.remove_members(*kind, &id, &wire(*kind, members))
                .await?;
        }
        Step::AddRoles {
            user_group,
            cid_group,
            roles,
        } => {
            let (u, c) = (
                ids.get(GroupKind::User, user_group)?,
                ids.get(GroupKind::Cid, cid_group)?,
            );
            api.add_roles(&u, &c, roles).await?;
        }
        Step::RemoveRoles {
            user_group,
            cid_group,
            roles,
        } => {
            let (u, c) = (
                ids.get(GroupKind::User, user_group)?,
                ids.get(GroupKind::Cid, cid_group)?,
            );
            api.remove_roles(&u, &c, Some(roles)).await?;
        }
        Step::DissolveLink {
            user_group,
            cid_group,
        } => {
            let (u, c) = (
                ids.get(GroupKind::User, user_group)?,
                ids.get(GroupKind::Cid, cid_group)?,
            );
            api.remove_roles(&u, &c, None).await?;
        }
    }
    Ok(())
}

/// Whether `step`, started by a run that was killed before it ended, took effect, judged from
/// the state as read now.
pub(crate) fn took_effect(step: &Step, now: &FleetModel) -> bool {
    match step {
        Step::CreateGroup { kind, name, .. } => now.group(*kind, name).is_some(),
        Step::UpdateGroup {
            kind,
            id,
            new_name,
            description,
            ..
        } => now.group(*kind, new_name) == Some((Some(id.as_str()), description.as_str())),
        Step::DeleteGroup { kind, id, .. } => now.name_of(*kind, id).is_none(),
        Step::AddMembers {
            kind,
            group,
            members,
        } => {
            let have = now.members(*kind, group);
            members.iter().all(|m| have.contains(m))
        }
        Step::RemoveMembers {
            kind,
            group,
            members,
        } => {
            let have = now.members(*kind, group);
            members.iter().all(|m| !have.contains(m))
        }
        Step::AddRoles {
            user_group,
            cid_group,
            roles,
        } => {
            let have = now.link(user_group, cid_group);
            roles.iter().all(|r| have.contains(r))
        }
        Step::RemoveRoles {
            user_group,
            cid_group,
            roles,
        } => {
            let have = now.link(user_group, cid_group);
            roles.iter().all(|r| !have.contains(r))
        }
        Step::DissolveLink {
            user_group,
            cid_group,
        } => now.link(user_group, cid_group).is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::model::catalogue::Catalogue;
    use crate::model::cid::Cid;
    use crate::workflows::flight_control::doc::FleetFile;
    use crate::workflows::flight_control::plan::{access, plan};
    use crate::workflows::flight_control::state::{CidGroup, Link, UserGroup};

    fn cid(n: u8) -> Cid {
        format!("{n:032x}").parse().unwrap()
    }

    type Access = BTreeSet<(String, Cid, String)>;

    /// A tenant in memory that does what the service's operations do, counts the changes,
    /// records the access after each, and can fail or hang (a kill mid-request) at the n-th.
    struct Fake {
        state: Mutex<FleetState>,
        here: Origin,
        changes: AtomicUsize,
        fail_at: Option<usize>,
        hang_at: Option<usize>,
        /// Hang before the change is made: the request never reached the service.
        lose_at: Option<usize>,
        hung: tokio::sync::Notify,
        seen: Mutex<Vec<Access>>,
    }

    impl Fake {
        fn new(state: FleetState) -> Self {
            Self {
                here: state.origin.clone(),
                state: Mutex::new(state),
                changes: AtomicUsize::new(0),
                fail_at: None,
                hang_at: None,
                lose_at: None,
                hung: tokio::sync::Notify::new(),
                seen: Mutex::new(Vec::new()),
            }
        }

        fn access(&self) -> Access {
            access(&self.state.lock().unwrap().model().unwrap())
        }

        async fn change<T>(&self, f: impl FnOnce(&mut FleetState) -> T) -> Result<T> {
            let n = self.changes.fetch_add(1, Ordering::SeqCst);
            if self.fail_at == Some(n) {
                return Err(Error::invalid("fake", "refused by the test"));
            }
            if self.lose_at == Some(n) {
                self.hung.notify_one();
                std::future::pending::<()>().await;
            }
            let out = f(&mut self.state.lock().unwrap());
            let now = self.access();
            self.seen.lock().unwrap().push(now);
            if self.hang_at == Some(n) {
                // Done at the service, never answered: the run is killed waiting.
                self.hung.notify_one();
                std::future::pending::<()>().await;
            }
            Ok(out)
        }
    }

    impl FleetApi for Fake {
        async fn here(&self) -> Result<Origin> {
            Ok(self.here.clone())
        }

        async fn fleet_state(&self) -> Result<FleetState> {
            Ok(self.state.lock().unwrap().clone())
        }

        async fn create_group(
            &self,
            kind: GroupKind,
            name: &str,
            description: &str,
        ) -> Result<String> {
            let (name, description) = (name.to_owned(), description.to_owned());
            self.change(|s| {
                let id = format!(
                    "{kind:?}-{}",
                    s.user_groups.len() + s.cid_groups.len() + 100
                );
                match kind {
                    GroupKind::User => s.user_groups.push(UserGroup {
                        id: id.clone(),
                        name,
                        description,
                        members: BTreeSet::new(),
                    }),
                    GroupKind::Cid => s.cid_groups.push(CidGroup {
                        id: id.clone(),
                        name,
                        description,
                        cids: BTreeSet::new(),
                    }),
                }
                id
            })
            .await
        }

        async fn update_group(
            &self,
            kind: GroupKind,
            id: &str,
            name: &str,
            description: &str,
        ) -> Result<()> {
            self.change(|s| match kind {
                GroupKind::User => {
                    let g = s.user_groups.iter_mut().find(|g| g.id == id).unwrap();
                    (g.name, g.description) = (name.into(), description.into());
                }
                GroupKind::Cid => {
                    let g = s.cid_groups.iter_mut().find(|g| g.id == id).unwrap();
                    (g.name, g.description) = (name.into(), description.into());
                }
            })
            .await
        }

        async fn delete_group(&self, kind: GroupKind, id: &str) -> Result<()> {
            self.change(|s| match kind {
                GroupKind::User => s.user_groups.retain(|g| g.id != id),
                GroupKind::Cid => s.cid_groups.retain(|g| g.id != id),
            })
            .await
        }

        async fn add_members(&self, kind: GroupKind, id: &str, members: &[String]) -> Result<()> {
            self.change(|s| match kind {
                GroupKind::User => {
                    let g = s.user_groups.iter_mut().find(|g| g.id == id).unwrap();
                    g.members.extend(members.iter().cloned());
                }
                GroupKind::Cid => {
                    let g = s.cid_groups.iter_mut().find(|g| g.id == id).unwrap();
                    g.cids
                        .extend(members.iter().map(|c| c.parse::<Cid>().unwrap()));
                }
            })
            .await
        }

        async fn remove_members(
            &self,
            kind: GroupKind,
            id: &str,
            members: &[String],
        ) -> Result<()> {
            self.change(|s| match kind {
                GroupKind::User => {
                    let g = s.user_groups.iter_mut().find(|g| g.id == id).unwrap();
                    g.members.retain(|m| !members.contains(m));
                }
                GroupKind::Cid => {
                    let g = s.cid_groups.iter_mut().find(|g| g.id == id).unwrap();
                    g.cids.retain(|c| !members.contains(&c.to_string()));
                }
            })
            .await
        }

        async fn add_roles(
            &self,
            user_group: &str,
            cid_group: &str,
            roles: &[String],
        ) -> Result<()> {
            self.change(|s| {
                let at = s
                    .links
                    .iter()
                    .position(|l| l.user_group_id == user_group && l.cid_group_id == cid_group);
                let at = at.unwrap_or_else(|| {
                    s.links.push(Link {
                        user_group_id: user_group.into(),
                        cid_group_id: cid_group.into(),
                        roles: BTreeSet::new(),
                    });
                    s.links.len() - 1
                });
                s.links[at].roles.extend(roles.iter().cloned());
            })
            .await
        }

        async fn remove_roles(
            &self,
            user_group: &str,
            cid_group: &str,
            roles: Option<&[String]>,
        ) -> Result<()> {
            self.change(|s| {
                for link in &mut s.links {
                    if link.user_group_id == user_group && link.cid_group_id == cid_group {
                        match roles {
                            Some(roles) => link.roles.retain(|r| !roles.contains(r)),
                            None => link.roles.clear(),
                        }
                    }
                }
                s.links.retain(|l| !l.roles.is_empty());
            })
            .await
        }
    }

    fn tenant() -> FleetState {
        FleetState {
            origin: Origin {
                cloud: "us-1".into(),
                cid: Some(cid(0xaa)),
                ..Origin::default()
            },
            user_groups: vec![UserGroup {
                id: "u1".into(),
                name: "ops".into(),
                description: String::new(),
                members: ["uuid-1", "uuid-2"].map(String::from).into(),
            }],
            cid_groups: vec![CidGroup {
                id: "c1".into(),
                name: "emea".into(),
                description: String::new(),
                cids: [cid(1)].into(),
            }],
            links: vec![Link {
                user_group_id: "u1".into(),
                cid_group_id: "c1".into(),
                roles: ["falcon_admin".to_string()].into(),
            }],
            users: (1..=4)
                .map(|n| (format!("uuid-{n}"), format!("u{n}@x.com")))
                .collect(),
            children: [(cid(1), Some("Acme".into())), (cid(2), Some("Beta".into()))].into(),
            catalogue: Catalogue::from_pairs([
                ("falcon_admin", "Falcon Administrator"),
                ("falcon_guest", "Falcon Guest"),
            ]),
        }
    }

    /// The export, edited: u2 leaves ops; a new group "t2" (u3) gets the guest role in a new
    /// CID group "apac" (Beta).
    fn edited(fake: &Fake) -> FleetPlan {
        let state = fake.state.lock().unwrap().clone();
        let text = FleetFile::render(&state.model().unwrap(), &state.children)
            // A member removed as a person does: their line deleted.
            .replace("    \"u2@x.com\",\n", "")
            + &format!(
                "\n[[user_group]]\nname = \"t2\"\nmembers = [\"u3@x.com\"]\n\n[[cid_group]]\nname = \"apac\"\ncids = [{{ cid = \"{}\" }}]\n\n[[link]]\nuser_group = \"t2\"\ncid_group = \"apac\"\nroles = [\"Falcon Guest\"]\n",
                cid(2)
            );
        let file = FleetFile::parse(&text, "fleet.toml").unwrap();
        plan(
            &file,
            "fleet.toml",
            &state,
            Guardrails::default(),
            Utc::now(),
        )
        .unwrap()
    }

    fn replan(fake: &Fake, plan_: &FleetPlan) -> Vec<Step> {
        let state = fake.state.lock().unwrap().clone();
        steps(&state.model().unwrap(), &plan_.after)
    }

    #[tokio::test]
    async fn an_apply_converges_and_never_widens_access_mid_way() {
        let fake = Fake::new(tenant());
        let planned = edited(&fake);
        assert_eq!(planned.steps.len(), 6, "{:#?}", planned.steps);
        let (before, after) = (access(&planned.before), access(&planned.after));
        let journal = Journal::<Step>::memory();
        let report = apply(&fake, &planned, &FleetApplyOptions::new(), &journal)
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.counts(), (6, 0, 0));
        assert!(replan(&fake, &planned).is_empty());
        for (n, seen) in fake.seen.lock().unwrap().iter().enumerate() {
            assert!(
                seen.is_subset(&before) || seen.is_subset(&after),
                "after change {n}, access {seen:?} is broader than either end"
            );
        }
        let lines: Vec<(String, String)> = journal
            .entries()
            .into_iter()
            .map(|e| (e.uid, e.outcome))
            .collect();
        assert_eq!(lines.len(), 12);
        assert_eq!(lines[0], ("user group t2".into(), "started".into()));
        assert_eq!(lines[1], ("user group t2".into(), "done".into()));
        // Again: nothing left, nothing sent.
        let again = apply(
            &fake,
            &planned,
            &FleetApplyOptions::new(),
            &Journal::disabled(),
        )
        .await
        .unwrap();
        assert_eq!(again.counts(), (0, 0, 0));
        assert_eq!(fake.changes.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn a_run_killed_mid_request_is_finished_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.journal.jsonl");
        let mut fake = Fake::new(tenant());
        fake.hang_at = Some(2);
        let planned = edited(&fake);
        {
            let journal = Journal::<Step>::open(&path).unwrap();
            let options = FleetApplyOptions::new();
            let run = apply(&fake, &planned, &options, &journal);
            tokio::select! {
                _ = run => panic!("the run was to hang at its third change"),
                _ = fake.hung.notified() => {}
            }
        }
        let killed_at = planned.steps[2].clone();
        fake.hang_at = None;
        let journal = Journal::<Step>::open(&path).unwrap();
        let report = apply(&fake, &planned, &FleetApplyOptions::new(), &journal)
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.resolved, [(killed_at.clone(), true)]);
        assert_eq!(
            report.counts(),
            (3, 0, 0),
            "only what was left: {report:#?}"
        );
        assert_eq!(fake.changes.load(Ordering::SeqCst), 6);
        assert!(replan(&fake, &planned).is_empty());
        drop(journal);
        let written: Vec<JournalEntry<Step>> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let outcomes: Vec<&str> = written.iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(
            outcomes[..6],
            [
                "started",
                "done",
                "started",
                "done",
                "started",
                "interrupted: done"
            ],
            "{outcomes:?}"
        );
        assert_eq!(written[5].action, killed_at);
        assert_eq!(
            Journal::<Step>::open(&path).unwrap().take_all_in_flight(),
            []
        );
    }

    #[tokio::test]
    async fn a_step_killed_before_it_reached_the_service_is_done_by_the_next_run() {
        let mut fake = Fake::new(tenant());
        fake.lose_at = Some(1);
        let planned = edited(&fake);
        let journal = Journal::<Step>::memory();
        {
            let options = FleetApplyOptions::new();
            let run = apply(&fake, &planned, &options, &journal);
            tokio::select! {
                _ = run => panic!("the run was to hang at its second change"),
                _ = fake.hung.notified() => {}
            }
        }
        // The journal the killed run left, read again by the next run.
        let lines: String = journal
            .entries()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.journal.jsonl");
        std::fs::write(&path, &lines).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        fake.lose_at = None;
        let lost = planned.steps[1].clone();
        let journal = Journal::<Step>::open(&path).unwrap();
        let report = apply(&fake, &planned, &FleetApplyOptions::new(), &journal)
            .await
            .unwrap();
        assert_eq!(report.resolved, [(lost.clone(), false)]);
        assert_eq!(report.results[0].step, lost, "done again, first");
        assert!(report.is_complete(), "{report:#?}");
        assert!(replan(&fake, &planned).is_empty());
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.contains("\"outcome\":\"interrupted: not done\""),
            "{written}"
        );
    }

    #[tokio::test]
    async fn a_failed_step_stops_the_run_and_a_rerun_finishes() {
        let mut fake = Fake::new(tenant());
        fake.fail_at = Some(1);
        let planned = edited(&fake);
        let report = apply(
            &fake,
            &planned,
            &FleetApplyOptions::new(),
            &Journal::disabled(),
        )
        .await
        .unwrap();
        assert_eq!(report.counts(), (1, 1, 4), "{report:#?}");
        assert!(matches!(report.results[1].outcome, StepOutcome::Failed(_)));
        fake.fail_at = None;
        let report = apply(
            &fake,
            &planned,
            &FleetApplyOptions::new(),
            &Journal::disabled(),
        )
        .await
        .unwrap();
        assert_eq!(report.counts(), (5, 0, 0), "{report:#?}");
        assert!(replan(&fake, &planned).is_empty());
    }

    /// (case, how the plan or the tenant is changed, the refusal says): before any change.
    #[tokio::test]
    async fn a_plan_that_does_not_hold_is_refused_before_any_change() {
        type Edit = Box<dyn Fn(&mut FleetPlan, &mut FleetState, &mut FleetApplyOptions)>;
        let cases: Vec<(&str, Edit, &str)> = vec![
            (
                "another tenant",
                Box::new(|_, s, _| s.origin.cid = Some(cid(0xbb))),
                "it was made elsewhere: it was made in CID 000000000000000000000000000000aa",
            ),
            (
                "another cloud",
                Box::new(|_, s, _| s.origin.cloud = "eu-1".into()),
                "made on the cloud us-1, this is eu-1",
            ),
            (
                "a role added to the plan by hand",
                Box::new(|p, _, _| {
                    p.after
                        .links
                        .get_mut("ops")
                        .unwrap()
                        .get_mut("emea")
                        .unwrap()
                        .insert("falcon_guest".into());
                }),
                "it was edited after it was made",
            ),
            (
                "a member added by hand, with its step",
                Box::new(|p, _, _| {
                    p.after
                        .user_groups
                        .get_mut("ops")
                        .unwrap()
                        .members
                        .insert("eve@x.com".into());
                    p.steps = steps(&p.before, &p.after);
                    p.effect = effect(&p.before, &p.after);
                }),
                "eve@x.com is not a user of this CID",
            ),
            (
                "someone added a member since",
                Box::new(|_, s, _| {
                    s.user_groups[0].members.insert("uuid-4".into());
                }),
                "u4@x.com in user group \"ops\" was added since",
            ),
            (
                "an apply with a lower limit",
                Box::new(|_, _, o| {
                    *o = FleetApplyOptions::new().guardrails(Guardrails::new().max_removals(0))
                }),
                "--max-removals 1",
            ),
            (
                "another format",
                Box::new(|p, _, _| p.plan_version = 99),
                "format version 99",
            ),
        ];
        for (case, edit, says) in cases {
            let fake = Fake::new(tenant());
            let mut planned = edited(&fake);
            let mut options = FleetApplyOptions::new();
            let mut state = tenant();
            edit(&mut planned, &mut state, &mut options);
            let fake = Fake {
                here: state.origin.clone(),
                ..Fake::new(state)
            };
            let err = apply(&fake, &planned, &options, &Journal::disabled())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::PlanRefused { .. }), "{case}: {err}");
            assert!(err.to_string().contains(says), "{case}: {says:?} in {err}");
            assert_eq!(fake.changes.load(Ordering::SeqCst), 0, "{case}");
        }
    }
}

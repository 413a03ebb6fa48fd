//! Scenario 11: who has access to which child, and why, over a large Flight Control fleet:
//! discovery and the fleet-wide effective access of the parent's users
//! (`Falcon::effective_access`, the children's own users left out), on a parent whose analysts
//! reach a few children through a Flight Control link, directly, or both. The groups, members,
//! link and direct grants are set up through the API before each measured run (not counted);
//! each run is a fresh process reporting its requests, wall time and peak resident set. Two
//! fleets, the same access in the same number of children: the run over the large one must
//! need no more memory than over the small one.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use falcon_users::workflows::flight_control::GroupKind;
use falcon_users::workflows::{AccessOptions, AccessPart};
use falcon_users::{Cid, Falcon, GrantOptions, UserQuery};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::measure::{mib, own_peak_rss};
use crate::report::Report;
use crate::sim_process::{SimProcess, SimSpec};

/// The role the link gives.
const LINK_ROLE: &str = "falconhost_analyst";
/// The role granted directly.
const DIRECT_ROLE: &str = "falcon_console_guest";
/// Ids per page of the parent's users, and per details batch (the library's default).
const USERS_PAGE: usize = 500;
/// Children per `queryChildren` page and per `getChildrenV2` batch (the library's).
const CHILDREN_PAGE: usize = 5000;
const CHILDREN_BATCH: usize = 500;

/// The scenario's settings (the defaults are those BENCHMARKS.md reports).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Child CIDs of the large fleet.
    #[arg(long, default_value_t = 200)]
    pub children: usize,
    /// Child CIDs of the small fleet (the same access; memory compared).
    #[arg(long, default_value_t = 50)]
    pub small_fleet: usize,
    /// Users of the parent.
    #[arg(long, default_value_t = 100)]
    pub parent_users: usize,
    /// Parent users with access to children: the first `linked` of them through the link,
    /// the rest directly, and `both` of each kind through both.
    #[arg(long, default_value_t = 50)]
    pub granted: usize,
    /// Of `granted`, those in the linked user group.
    #[arg(long, default_value_t = 30)]
    pub linked: usize,
    /// Of `linked`, the last ones also granted directly.
    #[arg(long, default_value_t = 10)]
    pub both: usize,
    /// Children the access is given in (the linked CID group, and the direct grants).
    #[arg(long, default_value_t = 20)]
    pub with_access: usize,
    /// Users of each child (not read: the parent's users' access is measured).
    #[arg(long, default_value_t = 2)]
    pub users_per_child: usize,
    /// Added latency per answer, milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// The parent's budget, requests per minute (the service's is 6,000).
    #[arg(long, default_value_t = 6_000)]
    pub rate_per_minute: u32,
    /// Grants listings in flight per child.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Children worked at once.
    #[arg(long, default_value_t = 8)]
    pub at_once: usize,
}

impl Settings {
    /// The fewest requests discovery and the parent users' effective access over `children`
    /// children can take (BENCHMARKS.md, scenario 11): a token; the children (pages of ids,
    /// batches of details); the parent's own users (pages of ids, batches of details, a
    /// grants listing each); the groups and links (user groups: a page, a batch of details, a
    /// batch of members; a page of links per user group with members and a batch of link
    /// details; CID groups: a page, a batch of details, a batch of members); the linked users'
    /// details (a batch per 500); per child the query of the parent's users assigned there, a
    /// batch of their details where there are some, and one grants listing per parent user
    /// with access there.
    pub fn minimum_requests(&self, children: usize) -> u64 {
        let token = 1;
        let discovery = children.div_ceil(CHILDREN_PAGE).max(1) + children.div_ceil(CHILDREN_BATCH);
        let own = self.parent_users.div_ceil(USERS_PAGE).max(1)
            + self.parent_users.div_ceil(USERS_PAGE)
            + self.parent_users;
        let groups = 3 + 2 + 3;
        let linked_details = self.linked.div_ceil(USERS_PAGE);
        // The users granted directly: assigned in every child with access.
        let assigned = self.granted - self.linked + self.both;
        let per_child = children
            + self.with_access * assigned.div_ceil(USERS_PAGE)
            + self.with_access * self.granted;
        (token + discovery + own + groups + linked_details + per_child) as u64
    }

    /// `max(requests / rate, requests × latency / concurrency)`, in seconds: every request
    /// is the parent's, in its one budget.
    pub fn bound_secs(&self, requests: u64) -> f64 {
        super::bound_secs(
            requests,
            self.rate_per_minute,
            self.latency_ms,
            self.concurrency,
        )
    }

    fn check(&self) -> Result<()> {
        let fits = self.small_fleet >= self.with_access
            && self.small_fleet < self.children
            && self.both <= self.linked
            && self.linked <= self.granted
            && self.granted <= self.parent_users;
        if !fits {
            bail!(
                "the settings must hold: with-access ≤ small-fleet < children, both ≤ linked ≤ \
                 granted ≤ parent-users"
            );
        }
        Ok(())
    }
}

/// Sets up and measures the small and the large fleet, each on its own simulator.
pub fn run(settings: &Settings) -> Result<Report> {
    settings.check()?;
    let mut report = Report::new("flight");
    let mut peaks = Vec::new();
    for children in [settings.small_fleet, settings.children] {
        let spec = SimSpec {
            child_cids: children,
            users_per_child: settings.users_per_child,
            ..SimSpec::rate_bound(
                settings.parent_users,
                5,
                settings.latency_ms,
                settings.rate_per_minute,
            )
        };
        let sim = SimProcess::start(&spec)?;
        if sim.child_cids.len() != children {
            bail!(
                "the simulator has {} children, not {children}",
                sim.child_cids.len()
            );
        }
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(set_up(&sim, settings))?;
        // The setup's requests drew on the parent's budget: a second's refill, and the run
        // starts with the bucket every scenario starts with.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let run = Run::new(&sim, settings)?;
        let minimum = settings.minimum_requests(children);
        let bound = settings.bound_secs(minimum);
        let label = format!("{children} children");
        report.figure(format!("minimum requests, {label}"), minimum as f64, "req");
        report.figure(format!("requests, {label}"), run.requests as f64, "req");
        report.figure(
            format!("of them retries, {label}"),
            run.retries as f64,
            "req",
        );
        report.figure(format!("rate bound, {label}"), bound, "s");
        report.figure(format!("wall, {label}"), run.wall, "s");
        report.figure(format!("peak RSS, {label}"), run.peak, "MiB");
        report.at_most(
            format!("requests / minimum, {label}"),
            run.requests as f64 / minimum as f64,
            1.02,
        );
        report.at_most(
            format!("wall / rate bound, {label}"),
            run.wall / bound,
            1.25,
        );
        peaks.push(run.peak);
    }
    report.at_most(
        format!(
            "peak RSS difference, {} vs {} children",
            settings.children, settings.small_fleet
        ),
        (peaks[1] - peaks[0]).abs() / peaks[0],
        0.15,
    );
    Ok(report)
}

/// The access, through the API: the first `with_access` children in a CID group linked with
/// [`LINK_ROLE`] to a user group of the first `linked` of the `granted` users (by login); the
/// last `granted - linked + both` of them granted [`DIRECT_ROLE`] in each of those children.
async fn set_up(sim: &SimProcess, settings: &Settings) -> Result<()> {
    let falcon = super::client(&sim.base_url)?;
    let mut users: Vec<(String, String)> = falcon
        .users(UserQuery::new())
        .map_ok(|u| (u.uid.unwrap_or_default(), u.uuid.unwrap_or_default()))
        .try_collect()
        .await?;
    users.sort();
    let granted: Vec<String> = users
        .into_iter()
        .take(settings.granted)
        .map(|(_, uuid)| uuid)
        .collect();
    let children: Vec<String> = sim.child_cids[..settings.with_access].to_vec();
    let team = falcon
        .create_fleet_group(GroupKind::User, "Bench analysts", "")
        .await?;
    falcon
        .add_fleet_group_members(GroupKind::User, &team, &granted[..settings.linked])
        .await?;
    let customers = falcon
        .create_fleet_group(GroupKind::Cid, "Bench customers", "")
        .await?;
    falcon
        .add_fleet_group_members(GroupKind::Cid, &customers, &children)
        .await?;
    falcon
        .add_link_roles(&team, &customers, &[LINK_ROLE.to_owned()])
        .await?;
    let direct = &granted[settings.linked - settings.both..];
    let grants: Vec<(String, Cid)> = direct
        .iter()
        .flat_map(|uuid| {
            children
                .iter()
                .map(move |cid| Ok((uuid.clone(), cid.parse::<Cid>()?)))
        })
        .collect::<falcon_users::Result<_>>()?;
    futures::stream::iter(grants)
        .map(|(uuid, cid)| grant(&falcon, uuid, cid))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}

async fn grant(falcon: &Falcon, uuid: String, cid: Cid) -> Result<()> {
    falcon
        .grant_roles(uuid.as_str(), DIRECT_ROLE, GrantOptions::new().cid(cid))
        .await
        .context("granting directly in a child")
}

/// One measured run in a child process.
struct Run {
    wall: f64,
    requests: u64,
    retries: u64,
    peak: f64,
}

impl Run {
    /// Discovery and the effective access; every user and child with access must be there,
    /// each role with its source.
    fn new(sim: &SimProcess, settings: &Settings) -> Result<Run> {
        let answer = super::child(&[
            "flight-stream",
            "--base-url",
            &sim.base_url,
            "--at-once",
            &settings.at_once.to_string(),
            "--concurrency",
            &settings.concurrency.to_string(),
        ])?;
        let number = |key: &str| answer[key].as_u64().unwrap_or(0) as usize;
        let direct_users = settings.granted - settings.linked + settings.both;
        let expected = [
            ("children", sim.child_cids.len()),
            ("own", settings.parent_users),
            ("in_children", settings.with_access * settings.granted),
            ("link_roles", settings.with_access * settings.linked),
            ("direct_roles", settings.with_access * direct_users),
            ("failed", 0),
        ];
        for (key, want) in expected {
            if number(key) != want {
                bail!(
                    "{key}: {} where {want} were expected ({answer})",
                    number(key)
                );
            }
        }
        Ok(Run {
            wall: answer["wall_s"].as_f64().unwrap_or(f64::NAN),
            requests: answer["requests"].as_u64().unwrap_or(0),
            retries: answer["retries"].as_u64().unwrap_or(0),
            peak: mib(answer["peak_rss"].as_u64().unwrap_or(0)),
        })
    }
}

/// The child: discovery and the parent users' effective access over every child, rows
/// serialized and dropped as they come (what `inventory --member-cids all` does on its way to a
/// file); prints its figures.
pub async fn stream(base_url: &str, at_once: usize, concurrency: usize) -> Result<()> {
    let started = Instant::now();
    let falcon = super::client(base_url)?;
    let options = AccessOptions::new()
        .child_users(false)
        .children(at_once)
        .concurrency(concurrency);
    let access = falcon.effective_access(UserQuery::new(), &options).await?;
    if let Some(why) = &access.scope.links_unread {
        bail!("the links were not read: {why}");
    }
    let children = access.scope.children.len();
    let mut rows = access.rows;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut bytes = 0usize;
    while let Some(item) = rows.next().await {
        let row = match item.outcome {
            Ok(row) => row,
            Err(err) => {
                eprintln!("{:?}: {err}", item.part);
                *counts.entry("failed").or_default() += 1;
                continue;
            }
        };
        let part = match item.part {
            AccessPart::Own => "own",
            AccessPart::ParentUsersIn(_) => "in_children",
            AccessPart::ChildUsers(_) => "child_users",
        };
        *counts.entry(part).or_default() += 1;
        if part == "in_children" {
            for role in &row.roles {
                let kind = match (role.source.kind(), role.role_id()) {
                    ("link", LINK_ROLE) => "link_roles",
                    ("direct", DIRECT_ROLE) => "direct_roles",
                    _ => "other_roles",
                };
                *counts.entry(kind).or_default() += 1;
            }
        }
        bytes += serde_json::to_vec(&json!({ "user": row.user, "roles": row.roles }))?.len();
    }
    let stats = falcon.stats();
    let mut answer = json!({
        "children": children,
        "bytes": bytes,
        "peak_rss": own_peak_rss()?,
        "wall_s": started.elapsed().as_secs_f64(),
        // Every request sent, the token's included (checked against the simulator's counts:
        // `token_requests` is a part of `requests`, not more).
        "requests": stats.requests,
        "retries": stats.retries,
    });
    for (key, n) in counts {
        answer[key] = json!(n);
    }
    println!("{answer}");
    Ok(())
}

//! Effective access on the simulator: one person across the fleet (`access_of`) and everyone
//! (`effective_access`), each role with its source (direct, temporary; link sources are read
//! from listing rows in `client/access.rs`), in the fewest requests, and single-tenant work
//! without the Flight Control read scope.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use falcon_users::access::Source;
use falcon_users::workflows::{AccessOptions, AccessPart, Fleet};
use falcon_users::{Error, GrantOptions, UserQuery};
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::falcon as client;
use futures::{StreamExt, TryStreamExt};

async fn fleet(users: usize, children: usize) -> Simulator {
    Simulator::start(SimConfig {
        users,
        child_cids: children,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// The requests of each operation the simulator answered since `before`.
fn since(sim: &Simulator, before: &BTreeMap<&'static str, u64>) -> BTreeMap<&'static str, u64> {
    sim.request_counts()
        .into_iter()
        .map(|(op, n)| (op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn child_name(sim: &Simulator, cid: &str) -> String {
    sim.inspect(|s| s.tenants[cid].name.clone())
}

#[tokio::test]
async fn access_of_one_person_reads_every_cid_with_sources_in_the_fewest_requests() {
    let sim = fleet(10, 3).await;
    let falcon = client(&sim, sim.credentials());
    let parent = sim.parent_cid();
    let children = sim.child_cids();
    let analyst = sim.users(&parent)[0].clone();
    let child: falcon_users::Cid = children[1].parse().unwrap();
    falcon
        .grant_roles(
            analyst.uid.as_str(),
            "falcon_administrator",
            GrantOptions::new().cid(child.clone()),
        )
        .await
        .unwrap();
    let until = Utc::now() + Duration::hours(5);
    falcon
        .grant_roles(
            analyst.uid.as_str(),
            "remote_responder_one",
            GrantOptions::new().expires_at(until),
        )
        .await
        .unwrap();

    let before = sim.request_counts();
    let report = falcon
        .access_of(analyst.uid.as_str(), &AccessOptions::new())
        .await
        .unwrap();
    // The login and the user (2), the children (a page of ids, a batch of details), one grants
    // listing in the own CID and one per child: nothing else.
    let expected: BTreeMap<&str, u64> = [
        ("queryUserV1", 1),
        ("retrieveUsersGETV1", 1),
        ("queryChildren", 1),
        ("getChildrenV2", 1),
        ("CombinedUserRolesV2", 4),
    ]
    .into();
    assert_eq!(since(&sim, &before), expected);

    assert_eq!(report.user.uid.as_deref(), Some(analyst.uid.as_str()));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.scope.not_discovered.is_none());
    assert_eq!(report.scope.children.len(), 3);
    // Own CID: exactly what the simulator holds, each direct but the temporary one.
    let own: Vec<_> = report.roles.iter().filter(|r| r.cid() == parent).collect();
    let mut held: Vec<String> = sim
        .grants(&analyst.uid)
        .iter()
        .filter(|g| g.cid == parent)
        .map(|g| g.role_id.clone())
        .collect();
    held.sort();
    let mut listed: Vec<String> = own.iter().map(|r| r.role_id().to_owned()).collect();
    listed.sort();
    assert_eq!(listed, held);
    for role in &own {
        let want = if role.role_id() == "remote_responder_one" {
            "temporary"
        } else {
            "direct"
        };
        assert_eq!(role.source.kind(), want, "{role:?}");
        assert_eq!(role.cid_name, None, "the own CID has no discovered name");
    }
    let temporary = own
        .iter()
        .find(|r| r.role_id() == "remote_responder_one")
        .unwrap();
    assert_eq!(
        temporary.source.until().map(|t| t.timestamp()),
        Some(until.timestamp())
    );
    // The child: the one role granted there, direct, with the child's name.
    let in_children: Vec<_> = report.roles.iter().filter(|r| r.cid() != parent).collect();
    assert_eq!(in_children.len(), 1, "{in_children:?}");
    assert_eq!(in_children[0].cid(), child.as_str());
    assert_eq!(in_children[0].role_id(), "falcon_administrator");
    assert_eq!(in_children[0].source, Source::Direct);
    assert_eq!(
        in_children[0].cid_name.as_deref(),
        Some(child_name(&sim, child.as_str()).as_str())
    );

    // Explicit children: no discovery, one listing in each named child.
    let before = sim.request_counts();
    let listed = falcon
        .access_of(
            analyst.uuid.as_str(),
            &AccessOptions::new().fleet(Fleet::Listed(vec![child.clone()])),
        )
        .await
        .unwrap();
    let expected: BTreeMap<&str, u64> =
        [("retrieveUsersGETV1", 1), ("CombinedUserRolesV2", 2)].into();
    assert_eq!(since(&sim, &before), expected);
    assert_eq!(listed.roles.len(), report.roles.len());
    assert_eq!(
        listed.roles.last().unwrap().cid_name,
        None,
        "no discovery, no names"
    );

    // An unknown person is an error naming them, before any grants listing.
    let err = falcon
        .access_of("nobody@example.com", &AccessOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("nobody@example.com"), "{err}");
}

#[tokio::test]
async fn effective_access_covers_the_parent_its_users_in_children_and_each_childs_users() {
    let sim = fleet(12, 3).await;
    let falcon = client(&sim, sim.credentials());
    let parent = sim.parent_cid();
    let children = sim.child_cids();
    let analyst = sim.users(&parent)[3].clone();
    let child: falcon_users::Cid = children[0].parse().unwrap();
    falcon
        .grant_roles(
            analyst.uid.as_str(),
            "falconhost_analyst",
            GrantOptions::new().cid(child.clone()),
        )
        .await
        .unwrap();

    let before = sim.request_counts();
    let mut access = falcon
        .effective_access(UserQuery::new(), &AccessOptions::new())
        .await
        .unwrap();
    let mut own = 0;
    let mut parent_in: BTreeMap<String, Vec<(String, String, &'static str)>> = BTreeMap::new();
    let mut child_users: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(item) = access.rows.next().await {
        let row = item.outcome.unwrap();
        match item.part {
            AccessPart::Own => {
                assert_eq!(row.user.cid.as_deref(), Some(parent.as_str()));
                assert!(row.roles.iter().all(|r| r.cid() == parent));
                own += 1;
            }
            AccessPart::ParentUsersIn(cid) => {
                for role in &row.roles {
                    assert_eq!(role.cid(), cid.as_str());
                    assert_eq!(
                        role.cid_name.as_deref(),
                        Some(child_name(&sim, cid.as_str()).as_str())
                    );
                    parent_in.entry(cid.to_string()).or_default().push((
                        row.user.uid.clone().unwrap(),
                        role.role_id().to_owned(),
                        role.source.kind(),
                    ));
                }
            }
            AccessPart::ChildUsers(cid) => {
                assert_eq!(row.user.cid.as_deref(), Some(cid.as_str()));
                *child_users.entry(cid.to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(own, sim.users(&parent).len());
    let expected: BTreeMap<String, Vec<(String, String, &str)>> = [(
        child.to_string(),
        vec![(analyst.uid.clone(), "falconhost_analyst".into(), "direct")],
    )]
    .into();
    assert_eq!(parent_in, expected);
    for cid in &children {
        assert_eq!(child_users.get(cid), Some(&sim.users(cid).len()), "{cid}");
    }
    // The minimum: discovery (a page, a batch); the parent's users (a page of ids, a batch of
    // details, a listing each); per child, the parent's users assigned there (a query; details
    // and a listing only where there are some) and the child's own users (its token, a page, a
    // batch, a listing each). The Flight Control links once: here a page of user groups
    // finds none, so nothing more is read of them.
    let child_total: u64 = children.iter().map(|c| sim.users(c).len() as u64).sum();
    let parent_users = sim.users(&parent).len() as u64;
    let expected: BTreeMap<&str, u64> = [
        ("oauth2AccessToken", 3),
        ("queryChildren", 1),
        ("getChildrenV2", 1),
        ("queryUserGroups", 1),
        ("queryUserV1", 1 + 3 + 3),
        ("retrieveUsersGETV1", 1 + 1 + 3),
        ("CombinedUserRolesV2", parent_users + 1 + child_total),
    ]
    .into();
    assert_eq!(since(&sim, &before), expected);
}

#[tokio::test]
async fn without_the_flight_control_scope_access_is_the_own_cid_with_the_reason() {
    let sim = fleet(5, 2).await;
    let reader = client(&sim, sim.read_only_credentials());
    let parent = sim.parent_cid();
    let user = sim
        .users(&parent)
        .into_iter()
        .find(|u| !sim.grants(&u.uid).is_empty())
        .expect("a seeded user holds a role");
    let report = reader
        .access_of(user.uid.as_str(), &AccessOptions::new())
        .await
        .unwrap();
    let why = report
        .scope
        .not_discovered
        .as_ref()
        .expect("the refusal is kept");
    assert!(why.to_string().contains("mssp:read"), "{why}");
    assert!(report.scope.children.is_empty());
    assert!(!report.roles.is_empty());
    assert!(report.roles.iter().all(|r| r.cid() == parent));

    let access = reader
        .effective_access(UserQuery::new(), &AccessOptions::new())
        .await
        .unwrap();
    assert!(access.scope.not_discovered.is_some());
    let parts: Vec<AccessPart> = access.rows.map(|i| i.part).collect().await;
    assert_eq!(parts.len(), sim.users(&parent).len());
    assert!(parts.iter().all(|p| *p == AccessPart::Own));

    // `all` asks for the children: their refusal is the answer.
    let err = reader
        .access_of(user.uid.as_str(), &AccessOptions::new().fleet(Fleet::All))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mssp:read"), "{err}");
}

/// A user group `Tier 1` of `members` linked to a CID group `EMEA` of `cids` with `roles`,
/// made through the API as an MSSP would.
async fn link(falcon: &falcon_users::Falcon, members: &[String], cids: &[String], roles: &[&str]) {
    use falcon_users::workflows::flight_control::GroupKind;
    let users = falcon
        .create_fleet_group(GroupKind::User, "Tier 1", "")
        .await
        .unwrap();
    falcon
        .add_fleet_group_members(GroupKind::User, &users, members)
        .await
        .unwrap();
    let customers = falcon
        .create_fleet_group(GroupKind::Cid, "EMEA", "")
        .await
        .unwrap();
    falcon
        .add_fleet_group_members(GroupKind::Cid, &customers, cids)
        .await
        .unwrap();
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    falcon
        .add_link_roles(&users, &customers, &roles)
        .await
        .unwrap();
}

/// The parent's users in each child, as `(child, uid, role, source kind, user group, CID
/// group)`, and how many rows each user had per child.
async fn parent_rows(
    falcon: &falcon_users::Falcon,
    query: UserQuery,
    options: &AccessOptions,
) -> (
    Vec<(String, String, String, &'static str, String, String)>,
    BTreeMap<(String, String), usize>,
) {
    let mut access = falcon.effective_access(query, options).await.unwrap();
    let (mut roles, mut rows) = (Vec::new(), BTreeMap::new());
    while let Some(item) = access.rows.next().await {
        let AccessPart::ParentUsersIn(cid) = item.part else {
            continue;
        };
        let row = item.outcome.unwrap();
        let uid = row.user.uid.clone().unwrap();
        *rows.entry((cid.to_string(), uid.clone())).or_default() += 1;
        for role in &row.roles {
            let label = |g: Option<&falcon_users::access::GroupRef>| {
                g.map(|g| g.label().to_owned()).unwrap_or_default()
            };
            roles.push((
                cid.to_string(),
                uid.clone(),
                role.role_id().to_owned(),
                role.source.kind(),
                label(role.source.user_group()),
                label(role.source.cid_group()),
            ));
        }
    }
    roles.sort();
    (roles, rows)
}

/// A parent user whose only access to a child is a Flight Control link (the simulator's
/// `assigned_cids` counts direct grants only, as the service's may) is found there by the
/// fleet's effective access, with the link as the source; a user both linked and granted
/// directly is one row with both; the groups and links are read once per run, and a filter
/// applies to the linked users as to the others.
#[tokio::test]
async fn effective_access_finds_parent_users_whose_access_to_a_child_is_a_link() {
    let sim = fleet(12, 3).await;
    let falcon = client(&sim, sim.credentials());
    let parent = sim.parent_cid();
    let children = sim.child_cids();
    let users = sim.users(&parent);
    let (linked, both) = (users[2].clone(), users[3].clone());
    let child: falcon_users::Cid = children[1].parse().unwrap();
    falcon
        .grant_roles(
            both.uid.as_str(),
            "falconhost_analyst",
            GrantOptions::new().cid(child.clone()),
        )
        .await
        .unwrap();
    link(
        &falcon,
        &[linked.uuid.clone(), both.uuid.clone()],
        &[children[1].clone()],
        &["falcon_administrator"],
    )
    .await;
    // The premise: the user query does not find the linked user by `assigned_cids`.
    let assigned: Vec<String> = falcon
        .user_ids(UserQuery::new().filter(format!("assigned_cids:'{child}'")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(assigned, std::slice::from_ref(&both.uuid));

    let options = AccessOptions::new().child_users(false);
    let before = sim.request_counts();
    let (roles, rows) = parent_rows(&falcon, UserQuery::new(), &options).await;
    let link_row = |uid: &str| {
        (
            child.to_string(),
            uid.to_owned(),
            "falcon_administrator".to_owned(),
            "link",
            "Tier 1".to_owned(),
            "EMEA".to_owned(),
        )
    };
    let mut expected = vec![
        link_row(&linked.uid),
        link_row(&both.uid),
        (
            child.to_string(),
            both.uid.clone(),
            "falconhost_analyst".to_owned(),
            "direct",
            String::new(),
            String::new(),
        ),
    ];
    expected.sort();
    assert_eq!(roles, expected);
    assert!(
        rows.values().all(|n| *n == 1),
        "one row per user and child: {rows:?}"
    );
    // The groups and links once (ids, details and members of each kind; the links of the one
    // user group with members), the linked users' details in one batch; per child the
    // assigned users, and a listing for each user found there.
    let parent_users = users.len() as u64;
    let expected: BTreeMap<&str, u64> = [
        ("queryChildren", 1),
        ("getChildrenV2", 1),
        ("queryUserGroups", 1),
        ("getUserGroupsByIDV2", 1),
        ("getUserGroupMembersByIDV2", 1),
        ("queryRoles", 1),
        ("getRolesByID", 1),
        ("queryCIDGroups", 1),
        ("getCIDGroupByIdV2", 1),
        ("getCIDGroupMembersByV2", 1),
        ("queryUserV1", 1 + 3),
        ("retrieveUsersGETV1", 1 + 1 + 1),
        ("CombinedUserRolesV2", parent_users + 2),
    ]
    .into();
    assert_eq!(since(&sim, &before), expected);

    // A filter is the service's to apply, to the linked users too.
    let only_both = UserQuery::new().filter(format!("uid:'{}'", both.uid));
    let (roles, _) = parent_rows(&falcon, only_both, &options).await;
    assert!(roles.iter().all(|r| r.1 == both.uid), "{roles:?}");
    assert_eq!(roles.len(), 2, "{roles:?}");
}

/// Without the Flight Control read scope the groups cannot be read: the fleet's effective
/// access says so and still finds the parent's users granted directly in a child.
#[tokio::test]
async fn without_the_scope_to_read_links_parent_users_are_found_by_their_direct_grants() {
    let sim = fleet(6, 2).await;
    let falcon = client(&sim, sim.credentials());
    let reader = client(&sim, sim.read_only_credentials());
    let parent = sim.parent_cid();
    let children: Vec<falcon_users::Cid> = sim
        .child_cids()
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    let analyst = sim.users(&parent)[1].clone();
    falcon
        .grant_roles(
            analyst.uid.as_str(),
            "falconhost_analyst",
            GrantOptions::new().cid(children[0].clone()),
        )
        .await
        .unwrap();
    let options = AccessOptions::new()
        .fleet(Fleet::Listed(children.clone()))
        .child_users(false);
    let access = reader
        .effective_access(UserQuery::new(), &options)
        .await
        .unwrap();
    let why = access
        .scope
        .links_unread
        .as_ref()
        .expect("the refusal is kept");
    assert!(why.to_string().contains("Flight Control: Read"), "{why}");
    let found: Vec<(AccessPart, String)> = access
        .rows
        .filter_map(|i| async move {
            let row = i.outcome.unwrap();
            matches!(i.part, AccessPart::ParentUsersIn(_)).then(|| (i.part, row.user.uid.unwrap()))
        })
        .collect()
        .await;
    assert_eq!(
        found,
        [(
            AccessPart::ParentUsersIn(children[0].clone()),
            analyst.uid.clone()
        )]
    );
    // With the scope, nothing to say.
    let access = falcon
        .effective_access(UserQuery::new(), &options)
        .await
        .unwrap();
    assert!(access.scope.links_unread.is_none());
}

/// The review reads the fleet as the effective access does: a parent user holding a
/// privileged role in a child only through a link is a `parent-in-child` finding, marked
/// privileged, saying the link's groups.
#[tokio::test]
async fn the_review_finds_a_parent_user_linked_into_a_child() {
    use falcon_users::workflows::review::{FindingKind, Review};
    let sim = fleet(8, 2).await;
    let falcon = client(&sim, sim.credentials());
    let parent = sim.parent_cid();
    let children: Vec<falcon_users::Cid> = sim
        .child_cids()
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    let linked = sim.users(&parent)[4].clone();
    link(
        &falcon,
        std::slice::from_ref(&linked.uuid),
        &[children[1].to_string()],
        &["falcon_administrator"],
    )
    .await;
    let report = falcon
        .review(&Review::new().member_cids(children.clone()))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.links_unread.is_none());
    let in_child: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::ParentInChild)
        .collect();
    assert_eq!(in_child.len(), 1, "{in_child:?}");
    let finding = in_child[0];
    assert_eq!(finding.user_uuid, linked.uuid);
    assert_eq!(finding.cid, children[1].as_str());
    assert_eq!(finding.roles, ["falcon_administrator"]);
    assert!(
        finding.why.contains(
            "Falcon Administrator (privileged, through a link: user group \"Tier 1\" CID group \
             \"EMEA\") in child CID"
        ),
        "{}",
        finding.why
    );
}

/// One user's grant planned and carried out in several children at once: each CID read
/// first, a CID that is not a child keeps its error while the others change, and the same
/// plan made again finds every child already as asked (sending nothing more).
#[tokio::test]
async fn a_role_change_across_children_plans_each_then_changes_only_what_differs() {
    use falcon_users::workflows::{AcrossOptions, RoleChange};
    let sim = fleet(4, 2).await;
    let falcon = client(&sim, sim.credentials());
    let parent = sim.parent_cid();
    let analyst = sim.users(&parent)[0].clone();
    let mut cids: Vec<falcon_users::Cid> = sim
        .child_cids()
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    // Held already in the first child: left as it is there.
    falcon
        .grant_roles(
            analyst.uid.as_str(),
            "falcon_console_guest",
            GrantOptions::new().cid(cids[0].clone()),
        )
        .await
        .unwrap();
    let stranger: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
    cids.push(stranger.clone());
    let change = RoleChange::Grant { expires_at: None };
    let options = AcrossOptions::new().concurrency(2);
    // By display name, resolved in each CID.
    let roles = ["Falcon Console Guest"];
    let plan = falcon
        .plan_role_change_across(analyst.uid.as_str(), &roles, change, &cids, &options)
        .await
        .unwrap();
    assert_eq!(plan.to_change(), 1, "{plan:?}");
    let first = plan.cids[0].1.as_ref().unwrap();
    assert!(first.is_empty());
    assert_eq!(first.leave, ["falcon_console_guest"]);
    let second = plan.cids[1].1.as_ref().unwrap();
    assert_eq!(second.roles, ["falcon_console_guest"]);
    assert!(plan.cids[2].1.is_err(), "not a child: {:?}", plan.cids[2].1);

    let outcomes = falcon.carry_out_across(plan, &options).await;
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes[0].result.as_ref().unwrap().is_empty());
    assert_eq!(
        outcomes[1].result.as_ref().unwrap().roles,
        ["falcon_console_guest"]
    );
    assert_eq!(outcomes[2].cid, stranger);
    assert!(outcomes[2].result.is_err());

    let held: Vec<String> = falcon
        .grants(
            analyst.uid.as_str(),
            falcon_users::GrantQuery::new().cid(cids[1].clone()),
        )
        .map_ok(|g| g.role_id)
        .try_collect()
        .await
        .unwrap();
    assert!(
        held.contains(&"falcon_console_guest".to_owned()),
        "{held:?}"
    );

    let again = falcon
        .plan_role_change_across(analyst.uid.as_str(), &roles, change, &cids[..2], &options)
        .await
        .unwrap();
    assert_eq!(again.to_change(), 0, "{again:?}");
    let before = sim.request_counts();
    let outcomes = falcon.carry_out_across(again, &options).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.result.as_ref().is_ok_and(|p| p.is_empty()))
    );
    assert!(
        since(&sim, &before).is_empty(),
        "nothing sent for a plan with nothing to change"
    );
}

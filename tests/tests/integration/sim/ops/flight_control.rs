//! Flight Control's groups and links: CID groups, user groups, their members, the links that
//! give roles through them (addRole/deletedRoles/getRolesByID/queryRoles), the GET form of the
//! children's details; the 207 of the entity calls, the limits, the member token and the
//! seeded fleet of a standalone simulator.

use std::time::Duration;

use super::*;

/// The first resource of a Flight Control answer.
fn first<T: Clone>(resources: &Option<Vec<T>>) -> T {
    resources.as_ref().expect("resources")[0].clone()
}

async fn new_cid_group(c: &Ctx, name: &str) -> String {
    let made =
        c.rw.create_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    name: Some(name.into()),
                    description: Some(format!("{name}, for a test")),
                    ..Default::default()
                }],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    first(&made.resources).cid_group_id.expect("an id")
}

async fn new_user_group(c: &Ctx, name: &str) -> String {
    let made =
        c.rw.create_user_groups()
            .body(types::DomainUserGroupsRequestV1 {
                resources: vec![types::DomainUserGroup {
                    name: Some(name.into()),
                    ..Default::default()
                }],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    first(&made.resources).user_group_id.expect("an id")
}

fn user_members(group: &str, uuids: &[String]) -> types::DomainUserGroupMembersRequestV1 {
    types::DomainUserGroupMembersRequestV1 {
        resources: vec![types::DomainUserGroupMembers {
            user_group_id: group.into(),
            user_uuids: uuids.to_vec(),
        }],
    }
}

fn cid_members(group: &str, cids: &[String]) -> types::DomainCidGroupMembersRequestV1 {
    types::DomainCidGroupMembersRequestV1 {
        resources: vec![types::DomainCidGroupMembers {
            cid_group_id: group.into(),
            cids: cids.to_vec(),
        }],
    }
}

fn link(user_group: &str, cid_group: &str, roles: &[&str]) -> types::DomainMsspRoleRequestV1 {
    types::DomainMsspRoleRequestV1 {
        resources: vec![types::DomainMsspRoles {
            cid_group_id: cid_group.into(),
            id: None,
            role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
            user_group_id: user_group.into(),
        }],
    }
}

/// The roles a link gives, as `getRolesByID` reads it (none when it is gone).
async fn link_roles(c: &Ctx, user_group: &str, cid_group: &str) -> Option<Vec<String>> {
    let id = format!("{user_group}:{cid_group}");
    let answer = c.rw.get_roles_by_id().ids(vec![id]).send().await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.into_inner();
    match status {
        200 => Some(first(&body.resources).role_ids),
        207 => {
            assert_eq!(body.errors.unwrap_or_default()[0].code, 404);
            None
        }
        other => panic!("getRolesByID answered {other}"),
    }
}

#[tokio::test]
async fn cid_groups_are_made_read_renamed_queried_by_name_and_deleted() {
    let c = ctx().await;
    let mut ids = Vec::new();
    for name in ["Charlie", "alpha", "Bravo"] {
        ids.push(new_cid_group(&c, name).await);
    }
    assert!(
        ids.iter()
            .all(|id| id.len() == 32 && id.chars().all(|ch| ch.is_ascii_hexdigit()))
    );
    // Read back: name, description, the owning parent, `is_default` false.
    let read =
        c.rw.get_cid_group_by_id_v2()
            .ids(ids.clone())
            .send()
            .await
            .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    let groups = read.into_inner().resources.unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[1].name.as_deref(), Some("alpha"));
    assert_eq!(groups[1].description.as_deref(), Some("alpha, for a test"));
    assert_eq!(groups[1].cid.as_deref(), Some(c.parent.as_str()));
    assert_eq!(groups[1].is_default, Some(false));
    // By name, A to Z ignoring case by default; Z to A on request; by exact name (any case).
    let query = |sort: Option<types::QueryCidGroupsSort>, name: Option<&str>| {
        let mut q = c.rw.query_cid_groups();
        if let Some(sort) = sort {
            q = q.sort(sort);
        }
        if let Some(name) = name {
            q = q.name(name);
        }
        async move { q.send().await.unwrap().into_inner() }
    };
    let by_name = query(None, None).await;
    assert_eq!(
        by_name.resources.unwrap(),
        [ids[1].clone(), ids[2].clone(), ids[0].clone()]
    );
    let paging = by_name.meta.pagination.unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (0, 10, 3));
    let reversed = query(Some(types::QueryCidGroupsSort::NameDesc), None).await;
    assert_eq!(
        reversed.resources.unwrap(),
        [ids[0].clone(), ids[2].clone(), ids[1].clone()]
    );
    let named = query(None, Some("BRAVO")).await;
    assert_eq!(named.resources.unwrap(), [ids[2].clone()]);
    // Renamed: the new name is read back and queried.
    let renamed =
        c.rw.update_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    cid_group_id: Some(ids[2].clone()),
                    name: Some("Delta".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    let renamed = first(&renamed.resources);
    assert_eq!(renamed.name.as_deref(), Some("Delta"));
    assert_eq!(
        renamed.description.as_deref(),
        Some("Bravo, for a test"),
        "an update without a description keeps it"
    );
    assert!(
        query(None, Some("Bravo"))
            .await
            .resources
            .unwrap()
            .is_empty()
    );
    // An update naming nothing to change is refused; an unknown group is a 404 entry.
    let nothing = failure(
        c.rw.update_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    cid_group_id: Some(ids[2].clone()),
                    ..Default::default()
                }],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(nothing.status, 400);
    assert!(nothing.mentions("needs a name or a description"));
    // Deleted, with one unknown id beside it: 207, one 404 entry, one write.
    let gone =
        c.rw.delete_cid_groups()
            .cid_group_ids(vec![ids[0].clone(), "f".repeat(32)])
            .send()
            .await
            .unwrap();
    assert_eq!(gone.status().as_u16(), 207);
    let gone = gone.into_inner();
    assert_eq!(gone.meta.writes.unwrap().resources_affected, 1);
    let errors = gone.errors.unwrap();
    assert_eq!(
        (errors[0].code, errors[0].id.as_deref()),
        (404, Some("f".repeat(32).as_str()))
    );
    assert_eq!(query(None, None).await.resources.unwrap().len(), 2);
}

#[tokio::test]
async fn entity_reads_answer_207_with_a_404_entry_per_unknown_id_and_take_at_most_500() {
    let c = ctx().await;
    let cg = new_cid_group(&c, "Known CIDs").await;
    let ug = new_user_group(&c, "Known users").await;
    c.rw.add_role()
        .body(link(&ug, &cg, &["falcon_console_guest"]))
        .send()
        .await
        .unwrap();
    let unknown = "0".repeat(32);
    // (what, known id, a call with ids) → (status, found, errors with their ids)
    async fn statuses(
        c: &Ctx,
        kind: &str,
        ids: Vec<String>,
    ) -> (u16, usize, Vec<(i32, Option<String>)>) {
        macro_rules! read {
            ($call:ident) => {{
                let answer = c.rw.$call().ids(ids).send().await.unwrap();
                let status = answer.status().as_u16();
                let body = answer.into_inner();
                (
                    status,
                    body.resources.unwrap_or_default().len(),
                    body.errors
                        .unwrap_or_default()
                        .into_iter()
                        .map(|e| (e.code, e.id))
                        .collect(),
                )
            }};
        }
        match kind {
            "cid groups" => read!(get_cid_group_by_id_v2),
            "cid group members" => read!(get_cid_group_members_by_v2),
            "user groups" => read!(get_user_groups_by_id_v2),
            "user group members" => read!(get_user_group_members_by_id_v2),
            "links" => read!(get_roles_by_id),
            _ => unreachable!(),
        }
    }
    let link_id = format!("{ug}:{cg}");
    for (kind, known) in [
        ("cid groups", &cg),
        ("cid group members", &cg),
        ("user groups", &ug),
        ("user group members", &ug),
        ("links", &link_id),
    ] {
        assert_eq!(
            statuses(&c, kind, vec![known.clone()]).await,
            (200, 1, vec![]),
            "{kind}: all known"
        );
        assert_eq!(
            statuses(&c, kind, vec![known.clone(), unknown.clone()]).await,
            (207, 1, vec![(404, Some(unknown.clone()))]),
            "{kind}: one unknown"
        );
        assert_eq!(
            statuses(&c, kind, vec![unknown.clone()]).await,
            (207, 0, vec![(404, Some(unknown.clone()))]),
            "{kind}: none known (the operation declares no 404)"
        );
    }
    // More than 500 ids: 400, as a bad request (the URL stays short on the service too).
    let many: Vec<String> = (0..501).map(|n| format!("{n:032x}")).collect();
    let refused = failure(c.rw.get_cid_group_by_id_v2().ids(many).send().await).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.mentions("between 1 and 500 ids"),
        "{:?}",
        refused.errors
    );
}

#[tokio::test]
async fn at_most_500_groups_of_each_kind_and_500_members_per_user_group() {
    let c = ctx_with(SimConfig {
        users: 520,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await;
    let groups =
        |prefix: &str| -> Vec<String> { (0..500).map(|n| format!("{prefix} {n}")).collect() };
    let made =
        c.rw.create_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: groups("CIDs")
                    .into_iter()
                    .map(|name| types::DomainCidGroup {
                        name: Some(name),
                        ..Default::default()
                    })
                    .collect(),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(made.resources.unwrap().len(), 500);
    let one_more = failure(
        c.rw.create_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    name: Some("501st".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(one_more.status, 400);
    assert!(
        one_more.mentions("a parent has at most 500 CID groups: 500 exist and 1 more"),
        "{:?}",
        one_more.errors
    );
    c.rw.create_user_groups()
        .body(types::DomainUserGroupsRequestV1 {
            resources: groups("Users")
                .into_iter()
                .map(|name| types::DomainUserGroup {
                    name: Some(name),
                    ..Default::default()
                })
                .collect(),
        })
        .send()
        .await
        .unwrap();
    let one_more = failure(
        c.rw.create_user_groups()
            .body(types::DomainUserGroupsRequestV1 {
                resources: vec![types::DomainUserGroup {
                    name: Some("501st".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(one_more.status, 400);
    assert!(one_more.mentions("a customer has at most 500 user groups"));
    assert_eq!(
        c.sim
            .inspect(|s| (s.fleet.cid_groups.len(), s.fleet.user_groups.len())),
        (500, 500)
    );
    // 500 members fit in one group; the 501st is refused, naming the group, and nothing of
    // that request is added.
    let ug = c
        .sim
        .inspect(|s| s.fleet.user_groups.keys().next().unwrap().clone());
    let uuids: Vec<String> = c.users(&c.parent).into_iter().map(|u| u.uuid).collect();
    c.rw.add_user_group_members()
        .body(user_members(&ug, &uuids[..500]))
        .send()
        .await
        .unwrap();
    let too_many = failure(
        c.rw.add_user_group_members()
            .body(user_members(&ug, &uuids[499..502]))
            .send()
            .await,
    )
    .await;
    assert_eq!(too_many.status, 400);
    assert!(
        too_many.mentions(&format!(
            "a user group has at most 500 members: user group {ug} would have 502"
        )),
        "{:?}",
        too_many.errors
    );
    assert_eq!(
        c.sim.inspect(|s| s.fleet.user_groups[&ug].members.len()),
        500
    );
}

#[tokio::test]
async fn members_are_the_parents_users_and_the_parent_or_its_children() {
    let c = ctx().await;
    let ug = new_user_group(&c, "Analysts").await;
    let cg = new_cid_group(&c, "Customers").await;
    let parent_user = c.users(&c.parent)[0].uuid.clone();
    let child_user = c.users(&c.children[0])[0].uuid.clone();
    // A child's user is no member of the parent's user groups: the service's unknown user.
    let refused = failure(
        c.rw.add_user_group_members()
            .body(user_members(
                &ug,
                &[parent_user.clone(), child_user.clone()],
            ))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.mentions(&format!("invalid user uuid='{child_user}' specified")));
    let added =
        c.rw.add_user_group_members()
            .body(user_members(&ug, std::slice::from_ref(&parent_user)))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(first(&added.resources).user_uuids, [parent_user.as_str()]);
    let groups_of =
        c.rw.query_user_group_members()
            .user_uuid(&parent_user)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(groups_of.resources.unwrap(), [ug.as_str()]);
    // CIDs: the parent and its children, any case and with the console's checksum; anything
    // else is refused and nothing is added.
    let foreign = "0123456789abcdef0123456789abcdef".to_owned();
    let refused = failure(
        c.rw.add_cid_group_members()
            .body(cid_members(&cg, &[c.children[0].clone(), foreign.clone()]))
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.mentions(&format!(
        "CID {foreign} is neither the parent nor one of its children"
    )));
    assert!(c.sim.inspect(|s| s.fleet.cid_groups[&cg].cids.is_empty()));
    let with_checksum = format!("{}-AB", c.children[1].to_uppercase());
    let added =
        c.rw.add_cid_group_members()
            .body(cid_members(&cg, &[c.parent.clone(), with_checksum]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let mut expected = vec![c.parent.clone(), c.children[1].clone()];
    expected.sort();
    assert_eq!(first(&added.resources).cids, expected);
    let members =
        c.rw.get_cid_group_members_by_v2()
            .ids(vec![cg.clone()])
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(first(&members.resources).cids, expected);
    let groups_of =
        c.rw.query_cid_group_members()
            .cid(&c.children[1])
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(groups_of.resources.unwrap(), [cg.as_str()]);
    // Taken out again.
    let removed =
        c.rw.delete_cid_group_members_v2()
            .body(cid_members(&cg, &[c.children[1].clone()]))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(first(&removed.resources).cids, [c.parent.as_str()]);
    let removed =
        c.rw.delete_user_group_members()
            .body(user_members(&ug, std::slice::from_ref(&parent_user)))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert!(first(&removed.resources).user_uuids.is_empty());
}

#[tokio::test]
async fn a_deleted_user_leaves_every_user_group() {
    let c = ctx().await;
    let ug = new_user_group(&c, "Leavers").await;
    let user = c.users(&c.parent)[0].uuid.clone();
    c.rw.add_user_group_members()
        .body(user_members(&ug, std::slice::from_ref(&user)))
        .send()
        .await
        .unwrap();
    c.rw.delete_user_v1().user_uuid(&user).send().await.unwrap();
    let members =
        c.rw.get_user_group_members_by_id_v2()
            .ids(vec![ug])
            .send()
            .await
            .unwrap()
            .into_inner();
    assert!(first(&members.resources).user_uuids.is_empty());
}

#[tokio::test]
async fn add_role_adds_to_a_link_and_deleted_roles_takes_roles_off_or_the_whole_link() {
    let c = ctx().await;
    let ug = new_user_group(&c, "Analysts").await;
    let cg = new_cid_group(&c, "Customers").await;
    // The first addRole makes the link; its id joins the two group ids.
    let made =
        c.rw.add_role()
            .body(link(&ug, &cg, &["falconhost_analyst"]))
            .send()
            .await
            .unwrap()
            .into_inner();
    let made = first(&made.resources);
    assert_eq!(made.id.as_deref(), Some(format!("{ug}:{cg}").as_str()));
    assert_eq!(made.role_ids, ["falconhost_analyst"]);
    // A second adds to it, never replaces.
    c.rw.add_role()
        .body(link(&ug, &cg, &["falcon_console_guest"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        link_roles(&c, &ug, &cg).await.unwrap(),
        ["falcon_console_guest", "falconhost_analyst"]
    );
    // Queries: by user group, by CID group, by role; one of the groups is needed.
    let by = |ug: Option<&str>, cg: Option<&str>, role: Option<&str>| {
        let mut q = c.rw.query_roles();
        if let Some(ug) = ug {
            q = q.user_group_id(ug);
        }
        if let Some(cg) = cg {
            q = q.cid_group_id(cg);
        }
        if let Some(role) = role {
            q = q.role_id(role);
        }
        async move { q.send().await }
    };
    let link_id = format!("{ug}:{cg}");
    for (u, g, r) in [
        (Some(ug.as_str()), None, None),
        (None, Some(cg.as_str()), None),
        (
            Some(ug.as_str()),
            Some(cg.as_str()),
            Some("falconhost_analyst"),
        ),
    ] {
        let ids = by(u, g, r).await.unwrap().into_inner().resources.unwrap();
        assert_eq!(ids, [link_id.as_str()], "{u:?} {g:?} {r:?}");
    }
    let none = by(Some(ug.as_str()), None, Some("falcon_administrator"))
        .await
        .unwrap()
        .into_inner();
    assert!(none.resources.unwrap().is_empty());
    let refused = failure(by(None, None, Some("falconhost_analyst")).await).await;
    assert_eq!(refused.status, 400);
    assert!(refused.mentions("user_group_id or cid_group_id is required"));
    // Roles a link cannot give: a custom role (it belongs to one CID), an unknown one.
    for bad in [c.custom_role(&c.parent, 0), "made_up".to_owned()] {
        let refused = failure(
            c.rw.add_role()
                .body(link(&ug, &cg, &[bad.as_str()]))
                .send()
                .await,
        )
        .await;
        assert_eq!(refused.status, 400);
        assert!(refused.mentions(&format!("invalid roleID='{bad}' specified")));
    }
    // An unknown group is a 404 entry beside the link that was changed.
    let unknown = "e".repeat(32);
    let mut two = link(&ug, &cg, &["falconhost_read_only"]);
    two.resources
        .extend(link(&unknown, &cg, &["falconhost_read_only"]).resources);
    let partial = c.rw.add_role().body(two).send().await.unwrap();
    assert_eq!(partial.status().as_u16(), 207);
    let partial = partial.into_inner();
    assert_eq!(partial.resources.unwrap().len(), 1);
    assert_eq!(
        partial.errors.unwrap()[0].id.as_deref(),
        Some(unknown.as_str())
    );
    // deletedRoles with roles takes those off, the link stays.
    c.rw.deleted_roles()
        .body(link(
            &ug,
            &cg,
            &["falconhost_analyst", "falconhost_read_only"],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        link_roles(&c, &ug, &cg).await.unwrap(),
        ["falcon_console_guest"]
    );
    // Without roles it removes the link itself.
    let dissolved =
        c.rw.deleted_roles()
            .body(link(&ug, &cg, &[]))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(first(&dissolved.resources).role_ids, Vec::<String>::new());
    assert_eq!(link_roles(&c, &ug, &cg).await, None);
    let again =
        c.rw.deleted_roles()
            .body(link(&ug, &cg, &[]))
            .send()
            .await
            .unwrap();
    assert_eq!(again.status().as_u16(), 207, "no link left to remove");
    // Deleting a group takes its links.
    c.rw.add_role()
        .body(link(&ug, &cg, &["falcon_console_guest"]))
        .send()
        .await
        .unwrap();
    c.rw.delete_user_groups()
        .user_group_ids(vec![ug.clone()])
        .send()
        .await
        .unwrap();
    assert_eq!(link_roles(&c, &ug, &cg).await, None);
}

#[tokio::test]
async fn the_children_details_by_get_take_repeated_ids_as_the_post_form_does() {
    let c = ctx().await;
    let with_checksum = format!("{}-XY", c.children[1].to_uppercase());
    // Raw, to hold the query string's form: the key repeated per CID.
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let answer = reqwest::Client::new()
        .get(format!(
            "{}{}?ids={}&ids={with_checksum}",
            c.base,
            operations::GET_CHILDREN.path,
            c.children[0]
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    let cids: Vec<&str> = body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["child_cid"].as_str().unwrap())
        .collect();
    assert_eq!(cids, [c.children[0].as_str(), c.children[1].as_str()]);
    assert_eq!(body["resources"][0]["child_of"], c.parent.as_str());
    // The typed call: the same children as getChildrenV2.
    let get =
        c.rw.get_children()
            .ids(c.children.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
    let post =
        c.rw.get_children_v2()
            .body(ids(&[&c.children[0], &c.children[1]]))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(get.resources, post.resources);
}

#[tokio::test]
async fn a_member_token_sees_no_groups_and_may_change_none_and_reading_needs_the_scope() {
    let c = ctx().await;
    let ug = new_user_group(&c, "Parent's").await;
    let member = c.member(&c.children[0]).await;
    let seen = member
        .query_user_groups()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(seen.resources.unwrap().is_empty());
    let read = member
        .get_user_groups_by_id_v2()
        .ids(vec![ug.clone()])
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 207, "not the member's group");
    let refused = failure(
        member
            .create_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    name: Some("Child's".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(refused.mentions("Flight Control groups belong to the parent CID"));
    // The read-only client holds `user-management:read` alone: no Flight Control scope.
    let refused = failure(c.ro.query_user_groups().send().await).await;
    assert_eq!(refused.status, 403);
    assert_eq!(c.sim.inspect(|s| s.fleet.cid_groups.len()), 0);
}

#[tokio::test]
async fn a_standalone_fleet_is_seeded_with_two_groups_of_each_kind_and_two_links() {
    let c = ctx_with(SimConfig {
        users: 12,
        child_cids: 3,
        flight_control_groups: true,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(c.sim.inspect(|s| s.problems()), Vec::<String>::new());
    let names = |groups: Vec<String>, users: bool| {
        let c = &c;
        async move {
            let mut names: Vec<String> = if users {
                c.rw.get_user_groups_by_id_v2()
                    .ids(groups)
                    .send()
                    .await
                    .unwrap()
                    .into_inner()
                    .resources
                    .unwrap()
                    .into_iter()
                    .filter_map(|g| g.name)
                    .collect()
            } else {
                c.rw.get_cid_group_by_id_v2()
                    .ids(groups)
                    .send()
                    .await
                    .unwrap()
                    .into_inner()
                    .resources
                    .unwrap()
                    .into_iter()
                    .filter_map(|g| g.name)
                    .collect()
            };
            names.sort();
            names
        }
    };
    let ugs =
        c.rw.query_user_groups()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    assert_eq!(
        names(ugs.clone(), true).await,
        ["Fleet Analysts", "Fleet Leads"]
    );
    let cgs =
        c.rw.query_cid_groups()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    let first_child = c.sim.inspect(|s| s.tenants[&c.children[0]].name.clone());
    let mut expected = vec!["All Children".to_owned(), first_child];
    expected.sort();
    assert_eq!(names(cgs, false).await, expected);
    let mut links = Vec::new();
    for ug in &ugs {
        links.extend(
            c.rw.query_roles()
                .user_group_id(ug)
                .send()
                .await
                .unwrap()
                .into_inner()
                .resources
                .unwrap(),
        );
    }
    assert_eq!(links.len(), 2);
    let members =
        c.rw.get_user_group_members_by_id_v2()
            .ids(ugs)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
    assert_eq!(
        members.iter().map(|m| m.user_uuids.len()).sum::<usize>(),
        4,
        "three analysts and one lead"
    );
    // The same tenant every time (its own random stream: the users stay as seeded).
    let again = ctx_with(SimConfig {
        users: 12,
        child_cids: 3,
        flight_control_groups: true,
        ..SimConfig::default()
    })
    .await;
    let plain = ctx_with(SimConfig {
        users: 12,
        child_cids: 3,
        ..SimConfig::default()
    })
    .await;
    type Shape = Vec<(String, String, Vec<String>)>;
    /// Groups and links by id, name and members or roles (their times are the seeding's).
    fn shape(s: &falcon_users_sim::state::State) -> Shape {
        let f = &s.fleet;
        let users = f.user_groups.values().map(|g| {
            (
                g.id.clone(),
                g.name.clone(),
                g.members.iter().cloned().collect(),
            )
        });
        let cids = f.cid_groups.values().map(|g| {
            (
                g.id.clone(),
                g.name.clone(),
                g.cids.iter().cloned().collect(),
            )
        });
        let links = f.links.values().map(|l| {
            (
                l.id.clone(),
                String::new(),
                l.role_ids.iter().cloned().collect(),
            )
        });
        users.chain(cids).chain(links).collect()
    }
    assert_eq!(c.sim.inspect(shape), again.sim.inspect(shape));
    assert_eq!(c.sim.inspect(shape).len(), 6);
    let users = |s: &falcon_users_sim::state::State| -> Vec<(String, usize, Vec<String>)> {
        let mut all: Vec<_> = s
            .tenants
            .iter()
            .map(|(cid, t)| {
                let mut uuids: Vec<String> = t.users.keys().cloned().collect();
                uuids.sort();
                (cid.clone(), t.grants.len(), uuids)
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(c.sim.inspect(users), plain.sim.inspect(users));
    assert!(plain.sim.inspect(|s| s.fleet.is_empty()));
}

/// A user's rows in `cid` from `CombinedUserRolesV2`: (role, grant type, user group, CID group).
async fn rows(
    c: &Ctx,
    uuid: &str,
    cid: &str,
    direct_only: bool,
) -> Vec<types::FlightcontrolapiCombinedUserRolesResourceV2> {
    c.rw.combined_user_roles_v2()
        .user_uuid(uuid)
        .cid(cid)
        .direct_only(direct_only)
        .send()
        .await
        .unwrap()
        .into_inner()
        .resources
        .unwrap_or_default()
}

/// The (role, grant type) pairs of `rows`, in order.
fn kinds(rows: &[types::FlightcontrolapiCombinedUserRolesResourceV2]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r.role_id.clone(), r.grant_type.clone().unwrap_or_default()))
        .collect()
}

/// A parent user in a user group, the first child in a CID group, a link giving
/// `falconhost_analyst`: (user, user group, CID group).
async fn linked_analyst(c: &Ctx) -> (String, String, String) {
    let ug = new_user_group(c, "Analysts").await;
    let cg = new_cid_group(c, "First child").await;
    let user = c.user_without_roles(&c.parent).uuid;
    c.rw.add_user_group_members()
        .body(user_members(&ug, std::slice::from_ref(&user)))
        .send()
        .await
        .unwrap();
    c.rw.add_cid_group_members()
        .body(cid_members(&cg, &c.children[..1]))
        .send()
        .await
        .unwrap();
    c.rw.add_role()
        .body(link(&ug, &cg, &["falconhost_analyst"]))
        .send()
        .await
        .unwrap();
    (user, ug, cg)
}

#[tokio::test]
async fn a_link_lists_its_roles_for_each_member_in_each_cid_of_its_cid_group_with_the_source() {
    let c = ctx().await;
    let (user, ug, cg) = linked_analyst(&c).await;
    let listed = rows(&c, &user, &c.children[0], false).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let row = &listed[0];
    assert_eq!(row.role_id, "falconhost_analyst");
    assert_eq!(row.role_name.as_deref(), Some("Falcon Analyst"));
    assert_eq!(row.grant_type.as_deref(), Some("flight_control"));
    assert_eq!(row.cid.as_deref(), Some(c.children[0].as_str()));
    assert_eq!(row.parent_cid.as_deref(), Some(c.parent.as_str()));
    assert_eq!(row.user_group_id.as_deref(), Some(ug.as_str()));
    assert_eq!(row.user_group_name.as_deref(), Some("Analysts"));
    assert_eq!(row.cid_group_id.as_deref(), Some(cg.as_str()));
    assert_eq!(row.cid_group_name.as_deref(), Some("First child"));
    assert_eq!(row.uuid.as_deref(), Some(user.as_str()));
    assert_eq!(row.expires_at, None);
    // Only in the CID group's CIDs, and not with `direct_only`.
    assert!(rows(&c, &user, &c.children[1], false).await.is_empty());
    assert!(rows(&c, &user, &c.parent, false).await.is_empty());
    assert!(rows(&c, &user, &c.children[0], true).await.is_empty());
    // A direct grant of the same role is a row of its own, listed first; `direct_only` keeps it.
    c.rw.user_roles_action_v2()
        .body(grant_v2(
            "grant",
            &user,
            &c.children[0],
            &["falconhost_analyst"],
            None,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        kinds(&rows(&c, &user, &c.children[0], false).await),
        [
            ("falconhost_analyst".to_owned(), "direct".to_owned()),
            ("falconhost_analyst".to_owned(), "flight_control".to_owned())
        ]
    );
    let direct = rows(&c, &user, &c.children[0], true).await;
    assert_eq!(
        kinds(&direct),
        [("falconhost_analyst".into(), "direct".into())]
    );
    assert_eq!(direct[0].user_group_id, None);
    // The v1 listing carries the same rows and source fields.
    let v1 =
        c.rw.legacy_combined_user_roles_v1()
            .user_uuid(&user)
            .cid(&c.children[0])
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap_or_default();
    assert_eq!(v1.len(), 2);
    assert_eq!(v1[1].grant_type.as_deref(), Some("flight_control"));
    assert_eq!(v1[1].cid_group_name.as_deref(), Some("First child"));
}

#[tokio::test]
async fn link_grants_follow_changes_to_members_cids_roles_and_links() {
    let c = ctx().await;
    let (user, ug, cg) = linked_analyst(&c).await;
    let child = c.children[0].clone();
    let analyst = || vec![("falconhost_analyst".to_owned(), "flight_control".to_owned())];
    assert_eq!(kinds(&rows(&c, &user, &child, false).await), analyst());
    // A role added to the link is held at once.
    c.rw.add_role()
        .body(link(&ug, &cg, &["falcon_console_guest"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        kinds(&rows(&c, &user, &child, false).await),
        [
            ("falconhost_analyst".to_owned(), "flight_control".to_owned()),
            (
                "falcon_console_guest".to_owned(),
                "flight_control".to_owned()
            )
        ],
        "sorted by role name (Falcon Analyst, Falcon Console Guest)"
    );
    c.rw.deleted_roles()
        .body(link(&ug, &cg, &["falcon_console_guest"]))
        .send()
        .await
        .unwrap();
    assert_eq!(kinds(&rows(&c, &user, &child, false).await), analyst());
    // The user leaves the group: gone; back: there.
    c.rw.delete_user_group_members()
        .body(user_members(&ug, std::slice::from_ref(&user)))
        .send()
        .await
        .unwrap();
    assert!(rows(&c, &user, &child, false).await.is_empty());
    c.rw.add_user_group_members()
        .body(user_members(&ug, std::slice::from_ref(&user)))
        .send()
        .await
        .unwrap();
    assert_eq!(kinds(&rows(&c, &user, &child, false).await), analyst());
    // The CID leaves the CID group: gone there; another CID joins: held there.
    c.rw.delete_cid_group_members_v2()
        .body(cid_members(&cg, std::slice::from_ref(&child)))
        .send()
        .await
        .unwrap();
    assert!(rows(&c, &user, &child, false).await.is_empty());
    c.rw.add_cid_group_members()
        .body(cid_members(&cg, &c.children[1..2]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        kinds(&rows(&c, &user, &c.children[1], false).await),
        analyst()
    );
    // The link dissolved, then the CID group deleted: nothing is left.
    c.rw.deleted_roles()
        .body(link(&ug, &cg, &[]))
        .send()
        .await
        .unwrap();
    assert!(rows(&c, &user, &c.children[1], false).await.is_empty());
    c.rw.add_role()
        .body(link(&ug, &cg, &["falconhost_analyst"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        kinds(&rows(&c, &user, &c.children[1], false).await),
        analyst()
    );
    c.rw.delete_cid_groups()
        .cid_group_ids(vec![cg])
        .send()
        .await
        .unwrap();
    assert!(rows(&c, &user, &c.children[1], false).await.is_empty());
}

#[tokio::test]
async fn link_grants_appear_and_disappear_in_the_listing_only_after_the_read_lag() {
    let c = ctx_with(SimConfig {
        users: 20,
        child_cids: 2,
        read_lag: Duration::from_secs(30),
        ..SimConfig::default()
    })
    .await;
    let (user, ug, _cg) = linked_analyst(&c).await;
    let child = c.children[0].clone();
    // Groups and links are read as written (only the grants listing lags) ...
    assert_eq!(
        c.rw.query_roles()
            .user_group_id(&ug)
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap()
            .len(),
        1
    );
    // ... and the role the link gives is listed only once the lag has passed.
    assert!(rows(&c, &user, &child, false).await.is_empty());
    c.sim.clock().advance(Duration::from_secs(29));
    assert!(rows(&c, &user, &child, false).await.is_empty());
    c.sim.clock().advance(Duration::from_secs(1));
    assert_eq!(rows(&c, &user, &child, false).await.len(), 1);
    // Taken out of the group: still listed within the lag, then gone.
    c.rw.delete_user_group_members()
        .body(user_members(&ug, std::slice::from_ref(&user)))
        .send()
        .await
        .unwrap();
    assert_eq!(rows(&c, &user, &child, false).await.len(), 1);
    assert!(
        c.sim
            .inspect(|s| s.fleet.link_grants(&user, &child).is_empty())
    );
    c.sim.clock().advance(Duration::from_secs(30));
    assert!(rows(&c, &user, &child, false).await.is_empty());
}

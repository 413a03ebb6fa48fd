//! Headers, rate limits, and the sweep over every operation

use super::*;

/// What the sweep acts on.
struct Targets {
    cid: String,
    uuid: String,
    uid: String,
    victim_v1: String,
    victim_legacy: String,
    role: String,
}

impl Targets {
    fn new(c: &Ctx) -> Targets {
        let users = c.users(&c.parent);
        Targets {
            cid: c.parent.clone(),
            uuid: users[0].uuid.clone(),
            uid: users[0].uid.clone(),
            victim_v1: users[1].uuid.clone(),
            victim_legacy: users[2].uuid.clone(),
            role: "falcon_console_guest".into(),
        }
    }
}

/// One typed call, with valid arguments, of each bearer-token operation it knows (every one
/// of the table today): (operation, status, headers). A behaviour test of those calls; that
/// EVERY operation of the table is routed, authenticated and scoped is asserted from the table
/// alone by [`raw`] (`every_operation_of_the_table_…`), so a new operation needs no line here.
async fn sweep(api: &Client, t: &Targets) -> Vec<(&'static Operation, u16, HeaderMap)> {
    let mut out = Vec::new();
    let mut add = |op: &'static Operation, (status, headers): (u16, HeaderMap)| {
        out.push((op, status, headers))
    };
    let uuid = t.uuid.as_str();
    let role = t.role.as_str();
    add(
        &operations::AGGREGATE_USERS_V1,
        outcome(
            api.aggregate_users_v1()
                .body(vec![terms("status", "", 10)])
                .send()
                .await,
        ),
    );
    add(
        &operations::AGGREGATE_USERS_V2,
        outcome(
            api.aggregate_users_v2()
                .body(vec![terms("status", "", 10)])
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_COMBINED_USER_ROLES_V1,
        outcome(
            api.legacy_combined_user_roles_v1()
                .user_uuid(uuid)
                .send()
                .await,
        ),
    );
    add(
        &operations::COMBINED_USER_ROLES_V2,
        outcome(api.combined_user_roles_v2().user_uuid(uuid).send().await),
    );
    add(
        &operations::COMBINED_USER_ROLES_V3,
        outcome(api.combined_user_roles_v3().user_uuid(uuid).send().await),
    );
    add(
        &operations::ENTITIES_PERMISSION_GROUPS_GET_V1,
        outcome(
            api.entities_permission_groups_get_v1()
                .body(ids(&["users"]))
                .send()
                .await,
        ),
    );
    add(
        &operations::ENTITIES_PERMISSIONS_GET_V1,
        outcome(
            api.entities_permissions_get_v1()
                .body(ids(&["users:read"]))
                .send()
                .await,
        ),
    );
    add(
        &operations::ENTITIES_ROLE_PERMISSIONS_V1,
        outcome(api.entities_role_permissions_v1().id(role).send().await),
    );
    add(
        &operations::ENTITIES_ROLES_GET_V2,
        outcome(api.entities_roles_get_v2().body(ids(&[role])).send().await),
    );
    add(
        &operations::LEGACY_ENTITIES_ROLES_V1,
        outcome(
            api.legacy_entities_roles_v1()
                .ids(vec![role.to_owned()])
                .send()
                .await,
        ),
    );
    add(
        &operations::GET_USER_INVITATIONS_GET_V1,
        outcome(
            api.get_user_invitations_get_v1()
                .body(ids(&["inv-1"]))
                .send()
                .await,
        ),
    );
    add(
        &operations::RETRIEVE_USERS_GET_V1,
        outcome(api.retrieve_users_get_v1().body(ids(&[uuid])).send().await),
    );
    add(
        &operations::RETRIEVE_USERS_GET_V2,
        outcome(api.retrieve_users_get_v2().body(ids(&[uuid])).send().await),
    );
    add(
        &operations::QUERIES_PERMISSIONS_V1,
        outcome(api.queries_permissions_v1().send().await),
    );
    add(
        &operations::QUERIES_ROLES_V1,
        outcome(api.queries_roles_v1().send().await),
    );
    add(
        &operations::QUERY_USER_INVITATIONS_V1,
        outcome(api.query_user_invitations_v1().send().await),
    );
    add(
        &operations::QUERY_USER_V1,
        outcome(api.query_user_v1().send().await),
    );
    add(
        &operations::QUERY_USER_V2,
        outcome(api.query_user_v2().send().await),
    );
    add(
        &operations::LEGACY_GET_ROLES,
        outcome(
            api.legacy_get_roles()
                .ids(vec![role.to_owned()])
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_GET_AVAILABLE_ROLE_IDS,
        outcome(api.legacy_get_available_role_ids().send().await),
    );
    add(
        &operations::LEGACY_GET_USER_ROLE_IDS,
        outcome(api.legacy_get_user_role_ids().user_uuid(uuid).send().await),
    );
    add(
        &operations::LEGACY_RETRIEVE_USER,
        outcome(
            api.legacy_retrieve_user()
                .ids(vec![uuid.to_owned()])
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_RETRIEVE_EMAILS_BY_CID,
        outcome(api.legacy_retrieve_emails_by_cid().send().await),
    );
    add(
        &operations::LEGACY_RETRIEVE_USER_UUIDS_BY_CID,
        outcome(api.legacy_retrieve_user_uuids_by_cid().send().await),
    );
    add(
        &operations::LEGACY_RETRIEVE_USER_UUID,
        outcome(
            api.legacy_retrieve_user_uuid()
                .uid(vec![t.uid.clone()])
                .send()
                .await,
        ),
    );
    // Writes.
    let action = types::DomainUserActionRequest {
        action: types::DomainUserAction {
            action_name: types::DomainUserActionActionName::ResetPassword,
            action_value: None,
        },
        ids: vec![uuid.to_owned()],
    };
    add(
        &operations::USER_ACTION_V1,
        outcome(api.user_action_v1().body(action).send().await),
    );
    add(
        &operations::USER_ALLOWED_ACTIONS_V1,
        outcome(
            api.user_allowed_actions_v1()
                .body(types::DomainActionValidationRequest {
                    allowed_actions: Vec::new(),
                })
                .send()
                .await,
        ),
    );
    add(
        &operations::USER_ROLES_ACTION_V1,
        outcome(
            api.user_roles_action_v1()
                .body(grant_v1("grant", uuid, &t.cid, &[role], None))
                .send()
                .await,
        ),
    );
    add(
        &operations::USER_ROLES_ACTION_V2,
        outcome(
            api.user_roles_action_v2()
                .body(grant_v2("revoke", uuid, &t.cid, &[role], None))
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_GRANT_USER_ROLE_IDS,
        outcome(
            api.legacy_grant_user_role_ids()
                .user_uuid(uuid)
                .body(types::DomainRoleIds {
                    role_ids: vec![role.to_owned()],
                })
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_REVOKE_USER_ROLE_IDS,
        outcome(
            api.legacy_revoke_user_role_ids()
                .user_uuid(uuid)
                .ids(vec![role.to_owned()])
                .send()
                .await,
        ),
    );
    let create = types::DomainCreateUserRequest {
        uid: Some("sweep.v1@example.com".into()),
        ..Default::default()
    };
    add(
        &operations::CREATE_USER_V1,
        outcome(api.create_user_v1().body(create).send().await),
    );
    let rename = types::DomainUpdateUserRequest {
        first_name: Some("Swept".into()),
        last_name: None,
    };
    add(
        &operations::UPDATE_USER_V1,
        outcome(
            api.update_user_v1()
                .user_uuid(uuid)
                .body(rename)
                .send()
                .await,
        ),
    );
    add(
        &operations::DELETE_USER_V1,
        outcome(api.delete_user_v1().user_uuid(&t.victim_v1).send().await),
    );
    let create = types::DomainUserCreateRequest {
        uid: Some("sweep.legacy@example.com".into()),
        ..Default::default()
    };
    add(
        &operations::LEGACY_CREATE_USER,
        outcome(api.legacy_create_user().body(create).send().await),
    );
    let rename = types::DomainUpdateUserFields {
        first_name: None,
        last_name: Some("Swept".into()),
    };
    add(
        &operations::LEGACY_UPDATE_USER,
        outcome(
            api.legacy_update_user()
                .user_uuid(uuid)
                .body(rename)
                .send()
                .await,
        ),
    );
    add(
        &operations::LEGACY_DELETE_USER,
        outcome(
            api.legacy_delete_user()
                .user_uuid(&t.victim_legacy)
                .send()
                .await,
        ),
    );
    out
}

/// operationId → required scope (None for the token operations), from the spec itself: the
/// table the simulator is built from must say the same.
fn spec_operations() -> BTreeMap<String, Option<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/user-management.json");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ops = BTreeMap::new();
    for methods in spec["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let scope = op["security"][0]["oauth2"][0].as_str().map(str::to_owned);
            ops.insert(id.to_owned(), scope);
        }
    }
    ops
}

fn table_scope(op: &Operation) -> Option<String> {
    match op.auth {
        Auth::Bearer { scopes } => scopes.first().map(|s| (*s).to_owned()),
        Auth::None | Auth::Basic => None,
    }
}

/// The ids of `ops`, joined, for failure messages.
fn named<'a>(ops: impl IntoIterator<Item = &'a Operation>) -> String {
    ops.into_iter()
        .map(|op| op.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A raw request for `op` built from the table alone: its method and path; for a bearer
/// operation `authorization` (if any) and, on a POST/PATCH/PUT, the body `{}`; for the token
/// operation the read-write client's credentials as a form; for revoke its Basic credentials
/// and a form naming `token`. The arguments are not valid: the answer is the simulator's, not
/// necessarily a success.
async fn raw(
    c: &Ctx,
    op: &Operation,
    authorization: Option<&str>,
    token: &str,
) -> (u16, HeaderMap, serde_json::Value) {
    let url = format!("{}{}", c.base, op.path);
    let request = reqwest::Client::new().request(op.method.as_http(), url);
    let request = match op.auth {
        Auth::None => request.form(&[("client_id", RW_ID), ("client_secret", RW_SECRET)]),
        Auth::Basic => request
            .header("authorization", basic_header(RW_ID, RW_SECRET))
            .form(&[("token", token)]),
        Auth::Bearer { .. } => {
            let request = match authorization {
                Some(value) => request.header("authorization", value),
                None => request,
            };
            match op.method {
                HttpMethod::Post | HttpMethod::Patch | HttpMethod::Put => request
                    .header("content-type", "application/json")
                    .body("{}"),
                HttpMethod::Get | HttpMethod::Delete => request,
            }
        }
    };
    let answer = request.send().await.unwrap_or_else(|e| panic!("{op}: {e}"));
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let body = answer.json().await.unwrap_or_default();
    (status, headers, body)
}

/// The message of the first error of an envelope.
fn message(body: &serde_json::Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

fn bearer_ops() -> impl Iterator<Item = &'static Operation> {
    operations::ALL
        .iter()
        .filter(|op| matches!(op.auth, Auth::Bearer { .. }))
}

/// Every user and their grants, in every CID: to show that refused requests changed nothing.
fn snapshot(c: &Ctx) -> BTreeMap<(String, String), (User, Vec<String>)> {
    c.sim.inspect(|s| {
        s.tenants
            .iter()
            .flat_map(|(cid, t)| {
                t.users.iter().map(move |(uuid, user)| {
                    let grants = roles_held(t, uuid);
                    ((cid.clone(), uuid.clone()), (user.clone(), grants))
                })
            })
            .collect()
    })
}

#[tokio::test]
async fn every_operation_of_the_table_is_routed_and_answers_with_trace_and_rate_headers() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let spare = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let authorization = format!("Bearer {token}");
    let mut unrouted = Vec::new();
    for op in operations::ALL {
        // What the router answers for a path no operation has, with the same method.
        let made_up = Operation {
            path: "/user-management/queries/made-up/v1",
            ..*op
        };
        let (router_status, _, router_body) = raw(&c, &made_up, Some(&authorization), &spare).await;
        assert_eq!(router_status, 404, "{op}: a made-up path");
        let router_message = message(&router_body).replace(made_up.path, op.path);
        assert!(router_message.contains(op.path), "{router_message}");

        let (status, headers, body) = raw(&c, op, Some(&authorization), &spare).await;
        if status == 405 || (status == 404 && message(&body) == router_message) {
            unrouted.push(format!("{op} ({status}: {})", message(&body)));
            continue;
        }
        let trace = header(&headers, "X-CS-TRACEID").unwrap_or_else(|| panic!("{op}: no trace id"));
        assert!(trace.starts_with("sim-"), "{op}: {trace}");
        // Every answer reports the budget of the client that authenticated; the API's
        // operations spend it, the token endpoints do not.
        assert_eq!(header_num(&headers, "X-RateLimit-Limit"), 6000, "{op}");
        let remaining = header_num(&headers, "X-RateLimit-Remaining");
        if matches!(op.auth, Auth::Bearer { .. }) {
            assert!(remaining < 6000, "{op}: remaining {remaining}");
        }
    }
    assert!(unrouted.is_empty(), "not routed: {}", unrouted.join("; "));
    // Every request reached its operation's handler, counted under the table's id.
    let unanswered: Vec<&Operation> = operations::ALL
        .iter()
        .filter(|op| c.sim.request_count(op) == 0)
        .collect();
    assert!(
        unanswered.is_empty(),
        "the simulator counted no {}",
        named(unanswered)
    );
    let counted: BTreeSet<&str> = c.sim.request_counts().into_keys().collect();
    let table: BTreeSet<&str> = operations::ALL.iter().map(|op| op.id).collect();
    assert_eq!(counted, table, "counts are keyed by the table's ids");
}

/// One provocation of an operation: the `Authorization` value, the query, and the body (a
/// form for the token endpoints, JSON for the rest).
struct Provocation {
    why: &'static str,
    authorization: Option<String>,
    query: String,
    body: Option<String>,
}

/// The parent's Flight Control groups a Flight Control operation's known ids name: made
/// afresh for each (a delete of the previous operation may have taken them).
struct FleetIds {
    user_group: String,
    cid_group: String,
    link: String,
    child: String,
}

/// A user group with `member`, a CID group with the first child, and a link between them.
async fn fleet_fixture(c: &Ctx, member: &str) -> FleetIds {
    let user_group =
        c.rw.create_user_groups()
            .body(types::DomainUserGroupsRequestV1 {
                resources: vec![types::DomainUserGroup {
                    name: Some("Sweep users".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await
            .expect("a user group")
            .into_inner()
            .resources
            .unwrap_or_default()[0]
            .user_group_id
            .clone()
            .expect("its id");
    let cid_group =
        c.rw.create_cid_groups()
            .body(types::DomainCidGroupsRequestV1 {
                resources: vec![types::DomainCidGroup {
                    name: Some("Sweep CIDs".into()),
                    ..Default::default()
                }],
            })
            .send()
            .await
            .expect("a CID group")
            .into_inner()
            .resources
            .unwrap_or_default()[0]
            .cid_group_id
            .clone()
            .expect("its id");
    let child = c.children[0].clone();
    c.rw.add_user_group_members()
        .body(types::DomainUserGroupMembersRequestV1 {
            resources: vec![types::DomainUserGroupMembers {
                user_group_id: user_group.clone(),
                user_uuids: vec![member.to_owned()],
            }],
        })
        .send()
        .await
        .expect("a member");
    c.rw.add_cid_group_members()
        .body(types::DomainCidGroupMembersRequestV1 {
            resources: vec![types::DomainCidGroupMembers {
                cid_group_id: cid_group.clone(),
                cids: vec![child.clone()],
            }],
        })
        .send()
        .await
        .expect("a member CID");
    let link =
        c.rw.add_role()
            .body(types::DomainMsspRoleRequestV1 {
                resources: vec![types::DomainMsspRoles {
                    cid_group_id: cid_group.clone(),
                    id: None,
                    role_ids: vec!["falcon_console_guest".into()],
                    user_group_id: user_group.clone(),
                }],
            })
            .send()
            .await
            .expect("a link")
            .into_inner()
            .resources
            .unwrap_or_default()[0]
            .id
            .clone()
            .expect("its id");
    FleetIds {
        user_group,
        cid_group,
        link,
        child,
    }
}

/// What each operation is sent to draw out its statuses: success, bad input, unknown ids,
/// another CID, a read-only token, wrong credentials. A Flight Control operation's known ids
/// are those of `fleet`.
fn provocations(
    c: &Ctx,
    op: &Operation,
    rw: &str,
    ro: &str,
    spare: &str,
    fleet: Option<&FleetIds>,
) -> Vec<Provocation> {
    let user = c.users(&c.parent).pop().expect("a seeded user");
    let role = c.custom_role(&c.parent, 0);
    let foreign = "0123456789abcdef0123456789abcdef";
    let p = |why, authorization: Option<String>, query: String, body: Option<String>| Provocation {
        why,
        authorization,
        query,
        body,
    };
    let known_query = format!(
        "ids={u}&uuid={u}&user_uuid={u}&uid={login}&id={role}&role_id={role}&cid={cid}&action=grant",
        u = user.uuid,
        login = user.uid,
        cid = c.parent,
    );
    let known_body = serde_json::json!({
        "ids": [user.uuid],
        "uuid": user.uuid,
        "uid": format!("new.{}", user.uid),
        "cid": c.parent,
        "role_ids": [role],
        "action": "grant",
        "action_name": "reset_password",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "roleIds": [role],
    })
    .to_string();
    // The aggregates take a list of aggregation requests.
    let known_body = if op.path.contains("/aggregates/") {
        serde_json::to_string(&[terms("status", "", 10)]).expect("serialisable")
    } else {
        known_body
    };
    // Flight Control's calls name groups, links and children.
    let (known_query, known_body) = match fleet {
        Some(f) => {
            let ids = if op.path.contains("/cid-group") {
                &f.cid_group
            } else if op.path.contains("/user-group") {
                &f.user_group
            } else if op.path.contains("/mssp-roles/") {
                &f.link
            } else {
                &f.child
            };
            let query = format!(
                "ids={ids}&cid_group_ids={cg}&user_group_ids={ug}&cid={child}&user_uuid={u}\
                 &user_group_id={ug}&cid_group_id={cg}",
                cg = f.cid_group,
                ug = f.user_group,
                child = f.child,
                u = user.uuid,
            );
            let body = serde_json::json!({
                "ids": [f.child],
                "resources": [{
                    "name": "Sweep",
                    "description": "made by the sweep",
                    "cid_group_id": f.cid_group,
                    "user_group_id": f.user_group,
                    "cids": [f.child],
                    "user_uuids": [user.uuid],
                    "role_ids": ["falcon_console_guest"],
                }],
            })
            .to_string();
            (query, body)
        }
        None => (known_query, known_body),
    };
    match op.auth {
        Auth::None => vec![
            p(
                "good credentials",
                None,
                String::new(),
                Some(format!("client_id={RW_ID}&client_secret={RW_SECRET}")),
            ),
            p(
                "wrong credentials",
                None,
                String::new(),
                Some(format!("client_id={RW_ID}&client_secret=wrong")),
            ),
            p("no credentials", None, String::new(), Some(String::new())),
            p(
                "a foreign member CID",
                None,
                String::new(),
                Some(format!(
                    "client_id={RW_ID}&client_secret={RW_SECRET}&member_cid={foreign}"
                )),
            ),
        ],
        Auth::Basic => vec![
            p(
                "a token",
                Some(basic_header(RW_ID, RW_SECRET)),
                String::new(),
                Some(format!("token={spare}")),
            ),
            p(
                "no token",
                Some(basic_header(RW_ID, RW_SECRET)),
                String::new(),
                Some(String::new()),
            ),
            p(
                "wrong credentials",
                Some(basic_header(RW_ID, "wrong")),
                String::new(),
                Some(format!("token={spare}")),
            ),
        ],
        Auth::Bearer { .. } => {
            let rw = Some(format!("Bearer {rw}"));
            vec![
                    p("nothing", rw.clone(), String::new(), Some("{}".into())),
                    p("known ids", rw.clone(), known_query.clone(), Some(known_body.clone())),
                    p("unknown ids", rw.clone(), "ids=nope&uuid=nope&user_uuid=nope&uid=nobody@example.com&id=nope&role_id=nope&action=revoke".into(), Some(r#"{"ids":["nope"],"uuid":"nope","uid":"nobody","cid":"","role_ids":["nope"],"action":"revoke","roleIds":["nope"]}"#.into())),
                    p("another CID", rw.clone(), format!("cid={foreign}&ids={}", user.uuid), Some(format!(r#"{{"ids":["{}"],"cid":"{foreign}","uuid":"{}","role_ids":["{role}"],"action":"grant"}}"#, user.uuid, user.uuid))),
                    p("bad input", rw.clone(), "limit=-1&offset=-5&sort=nope&filter=bogus:'x".into(), Some("not json".into())),
                    p("a read-only token", Some(format!("Bearer {ro}")), known_query, Some(known_body)),
                ]
        }
    }
}

#[tokio::test]
async fn every_status_the_simulator_answers_is_one_the_spec_declares_for_the_operation() {
    let c = ctx().await;
    let http = reqwest::Client::new();
    let mut seen: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    let mut undeclared = Vec::new();
    for op in operations::ALL {
        let rw = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let ro = mint(&c.base, RO_ID, RO_SECRET, None).await;
        let spare = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let fleet = match op.path.starts_with("/mssp/") {
            true => {
                let member = c.users(&c.parent).pop().expect("a seeded user");
                Some(fleet_fixture(&c, &member.uuid).await)
            }
            false => None,
        };
        for case in provocations(&c, op, &rw, &ro, &spare, fleet.as_ref()) {
            let mut url = format!("{}{}", c.base, op.path);
            if !case.query.is_empty() {
                url = format!("{url}?{}", case.query);
            }
            let mut request = http.request(op.method.as_http(), url);
            if let Some(value) = &case.authorization {
                request = request.header("authorization", value);
            }
            if let Some(body) = case.body {
                let kind = match op.auth {
                    Auth::Bearer { .. } => "application/json",
                    _ => "application/x-www-form-urlencoded",
                };
                request = request.header("content-type", kind).body(body);
            }
            let answer = request.send().await.unwrap_or_else(|e| panic!("{op}: {e}"));
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            seen.entry(op.id).or_default().insert(status);
            // The gateway's 401 and 429 may come to any operation.
            if !op.statuses.contains(&status) && !matches!(status, 401 | 429) {
                undeclared.push(format!(
                    "{op} with {}: {status} ({}), declared {:?}",
                    case.why,
                    message(&body),
                    op.statuses
                ));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "undeclared statuses:\n{}",
        undeclared.join("\n")
    );
    // The provocations drew out more than successes: refusals for bad input, another CID,
    // a read-only token, unknown ids and wrong credentials, each from some operation.
    let all: BTreeSet<u16> = seen.values().flatten().copied().collect();
    for status in [200, 201, 400, 403, 404] {
        assert!(
            all.contains(&status),
            "no operation answered {status}: {all:?}"
        );
    }
    let successes = operations::ALL
        .iter()
        .filter(|op| seen[op.id].contains(&op.success))
        .count();
    assert!(
        successes * 3 >= operations::ALL.len() * 2,
        "only {successes} operations succeeded: {seen:?}"
    );
}

#[tokio::test]
async fn every_bearer_operation_of_the_table_refuses_missing_unknown_revoked_and_expired_tokens() {
    // Hundreds of refused requests from one address: past the service's 15 a minute.
    let c = ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        refused_per_minute: 100_000,
        ..SimConfig::default()
    })
    .await;
    let before = snapshot(&c);
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let revoked = mint(&c.base, RW_ID, RW_SECRET, None).await;
    basic(&c.base, RW_ID, RW_SECRET)
        .oauth2_revoke_token()
        .body(types::Oauth2RevokeTokenBody {
            client_id: None,
            token: revoked.clone(),
        })
        .send()
        .await
        .unwrap();
    let cases = [
        ("no", None),
        ("a revoked", Some(format!("Bearer {revoked}"))),
        (
            "an unknown",
            Some("Bearer us-1.0000000000000000".to_owned()),
        ),
        (
            "another region's",
            Some("Bearer eu-1.0000000000000000".to_owned()),
        ),
        ("a malformed", Some("Bearer".to_owned())),
    ];
    for (why, authorization) in &cases {
        for op in bearer_ops() {
            let (status, headers, _) = raw(&c, op, authorization.as_deref(), "").await;
            assert_eq!(status, 401, "{op} with {why} token");
            assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
        }
    }
    c.sim.expire_tokens();
    let expired = format!("Bearer {token}");
    for op in bearer_ops() {
        let (status, headers, _) = raw(&c, op, Some(&expired), "").await;
        assert_eq!(status, 401, "{op} with an expired token");
        assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
    }
    assert_eq!(snapshot(&c), before, "a refused request changed the state");
}

#[tokio::test]
async fn a_read_only_token_gets_403_on_exactly_the_operations_of_the_table_that_write() {
    let c = ctx().await;
    let before = snapshot(&c);
    let read_only = format!("Bearer {}", mint(&c.base, RO_ID, RO_SECRET, None).await);
    let mut writes = 0;
    for op in bearer_ops() {
        let (status, headers, _) = raw(&c, op, Some(&read_only), "").await;
        assert!(header(&headers, "x-cs-traceid").is_some(), "{op}: trace id");
        // The read-only client holds `user-management:read` alone: refused exactly where the
        // table names another scope (the writes, and the sensor-download CID lookup).
        let Auth::Bearer { scopes } = op.auth else {
            unreachable!("bearer_ops")
        };
        if op.needs_scope("user-management:write") {
            writes += 1;
            assert_eq!(status, 403, "{op} needs the write scope");
        } else if scopes.iter().any(|s| *s != "user-management:read") {
            assert_eq!(status, 403, "{op} needs {scopes:?}");
        } else {
            assert!(op.needs_scope("user-management:read"), "{op}");
            assert_ne!(status, 403, "{op} needs only the read scope");
            assert_ne!(status, 401, "{op}");
        }
    }
    assert!(writes > 0, "the table has writes");
    assert_eq!(snapshot(&c), before, "a refused write changed the state");
}

#[test]
fn the_operation_table_is_the_spec() {
    let table: BTreeMap<String, Option<String>> = operations::ALL
        .iter()
        .map(|op| (op.id.to_owned(), table_scope(op)))
        .collect();
    assert_eq!(table, spec_operations());
}

#[tokio::test]
async fn the_typed_sweep_succeeds_with_trace_and_rate_headers_and_its_writes_land() {
    let c = ctx().await;
    let t = Targets::new(&c);
    let results = sweep(&c.rw, &t).await;
    let swept: BTreeSet<&str> = results.iter().map(|(op, _, _)| op.id).collect();
    assert_eq!(
        swept.len(),
        results.len(),
        "the sweep calls an operation twice"
    );
    for (op, status, headers) in &results {
        let expected = if **op == operations::GET_USER_INVITATIONS_GET_V1 {
            400
        } else {
            200
        };
        assert_eq!(*status, expected, "{op}");
        let trace = header(headers, "X-CS-TRACEID").unwrap_or_else(|| panic!("{op}: no trace id"));
        assert!(trace.starts_with("sim-"), "{op}: {trace}");
        assert_eq!(header_num(headers, "X-RateLimit-Limit"), 6000, "{op}");
        // Every answer spent one request of the budget (it refills at 100 a second, so
        // successive answers need not count down under load).
        let remaining = header_num(headers, "x-ratelimit-remaining");
        assert!(remaining < 6000, "{op}: remaining {remaining}");
    }
    // The sweep's writes landed.
    c.sim.inspect(|s| {
        let t2 = &s.tenants[&c.parent];
        assert!(t2.by_uid.contains_key("sweep.v1@example.com"));
        assert!(t2.by_uid.contains_key("sweep.legacy@example.com"));
        assert!(!t2.users.contains_key(&t.victim_v1));
        assert!(!t2.users.contains_key(&t.victim_legacy));
        assert_eq!(t2.users[&t.uuid].first_name, "Swept");
        assert_eq!(t2.users[&t.uuid].last_name, "Swept");
    });
}

#[tokio::test]
async fn typed_calls_refuse_unknown_foreign_expired_and_revoked_tokens() {
    // More refused requests from one address than the service's 15 a minute.
    let c = ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        refused_per_minute: 100_000,
        ..SimConfig::default()
    })
    .await;
    let t = Targets::new(&c);
    let revoked = mint(&c.base, RW_ID, RW_SECRET, None).await;
    basic(&c.base, RW_ID, RW_SECRET)
        .oauth2_revoke_token()
        .body(types::Oauth2RevokeTokenBody {
            client_id: None,
            token: revoked.clone(),
        })
        .send()
        .await
        .unwrap();
    let unauthenticated = Client::new(&c.base, Hooks::none());
    let clients = [
        ("no token", unauthenticated),
        ("unknown", bearer(&c.base, "us-1.0000000000000000")),
        ("other region", bearer(&c.base, "eu-1.0000000000000000")),
        ("revoked", bearer(&c.base, &revoked)),
    ];
    for (why, api) in &clients {
        for (op, status, headers) in sweep(api, &t).await {
            assert_eq!(status, 401, "{op} with a {why} token");
            assert!(header(&headers, "x-cs-traceid").is_some(), "{op}");
        }
    }
    c.sim.expire_tokens();
    for (op, status, _) in sweep(&c.rw, &t).await {
        assert_eq!(status, 401, "{op} with an expired token");
    }
    // Nothing was changed by the refused writes.
    assert_eq!(c.user_count(&c.parent), 50);
    assert!(c.user(&c.parent, &t.victim_v1).is_some());
}

#[tokio::test]
async fn read_only_clients_get_403_on_the_typed_writes_and_only_there() {
    let c = ctx().await;
    let t = Targets::new(&c);
    let results = sweep(&c.ro, &t).await;
    for (op, status, _) in &results {
        if op.needs_scope("user-management:write") {
            assert_eq!(*status, 403, "{op} needs the write scope");
        } else {
            assert!(op.needs_scope("user-management:read"), "{op}");
            assert_ne!(*status, 403, "{op} needs only the read scope");
        }
    }
    assert_eq!(c.user_count(&c.parent), 50);
    assert_ne!(c.user(&c.parent, &t.uuid).unwrap().first_name, "Swept");
}

#[tokio::test]
async fn trace_id_matches_meta_and_rate_headers_count_down() {
    let service_like = ctx().await.rw.query_user_v1().send().await.unwrap();
    assert_eq!(
        header_num(service_like.headers(), "x-ratelimit-limit"),
        6000
    );
    // A budget that refills one request per 10 s: the countdown cannot be undone by a
    // refill between two requests, however slow the machine (at 6,000 a minute, one comes
    // back every 10 ms).
    let c = ctx_with(SimConfig {
        rate_limit_per_minute: 6,
        ..SimConfig::default()
    })
    .await;
    let first = c.rw.query_user_v1().send().await.unwrap();
    assert_eq!(
        header(first.headers(), "x-cs-traceid"),
        Some(first.meta.trace_id.as_str())
    );
    assert_eq!(header_num(first.headers(), "x-ratelimit-limit"), 6);
    let r1 = header_num(first.headers(), "x-ratelimit-remaining");
    assert!(r1 < 6);

    let declared = failure(c.rw.query_user_v1().limit(501u64).send().await).await;
    let r2 = header_num(&declared.headers, "x-ratelimit-remaining");
    assert!(r2 < r1);
    assert!(header(&declared.headers, "x-cs-traceid").is_some());

    // A status the operation does not declare (scripted: the simulator answers none).
    c.sim.fail_next(&operations::UPDATE_USER_V1, 404, 1);
    let undeclared = failure(
        c.rw.update_user_v1()
            .user_uuid("ghost")
            .body(types::DomainUpdateUserRequest {
                first_name: Some("X".into()),
                last_name: None,
            })
            .send()
            .await,
    )
    .await;
    assert!(!undeclared.declared);
    assert!(header_num(&undeclared.headers, "X-RATELIMIT-REMAINING") < r2);
    assert!(header(&undeclared.headers, "X-Cs-TraceId").is_some());
    // Trace ids are unique per answer.
    let second = c.rw.query_user_v1().send().await.unwrap();
    assert_ne!(second.meta.trace_id, first.meta.trace_id);
}

/// The rate headers of an answer: (limit, remaining); panics naming `what` without them.
fn rate(headers: &HeaderMap, what: &str) -> (u64, u64) {
    for name in ["x-ratelimit-limit", "x-ratelimit-remaining"] {
        assert!(header(headers, name).is_some(), "{what}: no {name}");
    }
    (
        header_num(headers, "x-ratelimit-limit"),
        header_num(headers, "x-ratelimit-remaining"),
    )
}

#[tokio::test]
async fn token_revoke_and_401_answers_carry_rate_limit_headers() {
    let c = ctx().await;
    let plain = Client::new(&c.base, Hooks::none());
    let minted = plain
        .oauth2_access_token()
        .body(token_body(RW_ID, RW_SECRET, None))
        .send()
        .await
        .unwrap();
    // A mint reports its client's budget.
    assert_eq!(rate(minted.headers(), "token 201").0, 6000);
    let token = minted.into_inner().access_token.unwrap();
    let revoked = basic(&c.base, RW_ID, RW_SECRET)
        .oauth2_revoke_token()
        .body(types::Oauth2RevokeTokenBody {
            client_id: None,
            token,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(rate(revoked.headers(), "revoke 200").0, 6000);

    // Failed authentications are charged to the source address: 15 a minute.
    let refused = failure(bearer(&c.base, "forged").query_user_v1().send().await).await;
    assert_eq!(refused.status, 401);
    assert_eq!(rate(&refused.headers, "401"), (15, 14));
    let missing = failure(
        Client::new(&c.base, Hooks::none())
            .query_user_v1()
            .send()
            .await,
    )
    .await;
    assert_eq!(rate(&missing.headers, "401 without a token"), (15, 13));
    let wrong = failure(
        plain
            .oauth2_access_token()
            .body(token_body(RW_ID, "wrong", None))
            .send()
            .await,
    )
    .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(rate(&wrong.headers, "token 403"), (15, 12));
    let wrong_basic = failure(
        basic(&c.base, RW_ID, "wrong")
            .oauth2_revoke_token()
            .body(types::Oauth2RevokeTokenBody {
                client_id: None,
                token: "x".into(),
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(wrong_basic.status, 403);
    assert_eq!(rate(&wrong_basic.headers, "revoke 403"), (15, 11));

    // Answers no operation gives (unknown path, wrong method) report the address's budget
    // without spending it.
    let http = reqwest::Client::new();
    for (method, path, status) in [
        (reqwest::Method::GET, "/no/such/path", 404),
        (reqwest::Method::DELETE, "/oauth2/token", 405),
    ] {
        let answer = http
            .request(method, format!("{}{path}", c.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{path}");
        assert_eq!(rate(answer.headers(), path), (15, 11), "{path}");
    }
}

#[tokio::test]
async fn requests_failing_authentication_are_limited_per_source_address() {
    let c = ctx().await;
    let forged = bearer(&c.base, "us-1.0000000000000000");
    for n in 0..15u64 {
        let refused = failure(forged.query_user_v1().send().await).await;
        assert_eq!(refused.status, 401, "request {n}");
        assert_eq!(rate(&refused.headers, "401"), (15, 14 - n));
    }
    let before = now_secs();
    let limited = failure(forged.query_user_v1().send().await).await;
    assert_eq!(limited.status, 429);
    assert!(limited.mentions("rate limit exceeded"));
    assert_eq!(rate(&limited.headers, "429"), (15, 0));
    let retry_after = header_num(&limited.headers, "X-RateLimit-RetryAfter");
    assert!(retry_after > before, "retry at {retry_after}, now {before}");
    assert!(
        retry_after <= before + 60,
        "epoch seconds, within the minute: {retry_after}"
    );
    // Wrong client credentials share that budget.
    let wrong = failure(
        Client::new(&c.base, Hooks::none())
            .oauth2_access_token()
            .body(token_body(RW_ID, "wrong", None))
            .send()
            .await,
    )
    .await;
    assert_eq!(wrong.status, 429);
    // A valid token is charged to its client's budget, not the address's.
    let ok = c.rw.query_user_v1().send().await.unwrap();
    assert_eq!(header_num(ok.headers(), "x-ratelimit-limit"), 6000);
}

#[tokio::test]
async fn authorization_schemes_are_case_insensitive() {
    let c = ctx().await;
    use base64::Engine as _;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{RW_ID}:{RW_SECRET}"));
    let http = reqwest::Client::new();
    let query = |authorization: String| {
        http.get(format!("{}{}", c.base, operations::QUERY_USER_V1.path))
            .header("authorization", authorization)
            .send()
    };
    for (scheme, expected) in [
        ("Bearer", 200),
        ("bearer", 200),
        ("BEARER", 200),
        ("bEaReR", 200),
        ("Basic", 401),
        ("Bearerx", 401),
    ] {
        let answer = query(format!("{scheme} {token}")).await.unwrap();
        assert_eq!(answer.status(), expected, "{scheme}");
    }
    assert_eq!(
        query(format!("Bearer  {token} ")).await.unwrap().status(),
        200
    );
    assert_eq!(query("Bearer ".into()).await.unwrap().status(), 401);

    for (scheme, expected) in [
        ("Basic", 200),
        ("basic", 200),
        ("BASIC", 200),
        ("Bearer", 403),
    ] {
        let victim = mint(&c.base, RW_ID, RW_SECRET, None).await;
        let answer = http
            .post(format!(
                "{}{}",
                c.base,
                operations::OAUTH2_REVOKE_TOKEN.path
            ))
            .header("authorization", format!("{scheme} {pair}"))
            .form(&[("token", victim.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "{scheme}");
        let still = bearer(&c.base, &victim).query_user_v1().send().await;
        assert_eq!(
            still.is_ok(),
            expected != 200,
            "{scheme}: revoked iff accepted"
        );
    }
}

#[tokio::test]
async fn only_the_client_a_token_was_issued_to_revokes_it() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let revoke = |id: &'static str, secret: &'static str| {
        let token = token.clone();
        let base = c.base.clone();
        async move {
            basic(&base, id, secret)
                .oauth2_revoke_token()
                .body(types::Oauth2RevokeTokenBody {
                    client_id: None,
                    token,
                })
                .send()
                .await
                .map(|a| a.status().as_u16())
        }
    };
    // RFC 7009 §2.1/§2.2: another client's token is not revoked, and the answer is 200
    // all the same (an invalid token gets 200 too).
    assert_eq!(revoke(RO_ID, RO_SECRET).await.unwrap(), 200);
    bearer(&c.base, &token)
        .query_user_v1()
        .send()
        .await
        .expect("another client's revoke left the token working");
    assert_eq!(revoke(RW_ID, RW_SECRET).await.unwrap(), 200);
    let gone = failure(bearer(&c.base, &token).query_user_v1().send().await).await;
    assert_eq!(gone.status, 401, "its own client revoked it");
}

#[tokio::test]
async fn an_empty_bucket_answers_429_with_retry_after_in_the_future() {
    let c = ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        rate_limit_per_minute: 5,
        ..SimConfig::default()
    })
    .await;
    for n in 0..5u64 {
        let ok = c.rw.query_user_v1().send().await.unwrap();
        assert_eq!(header_num(ok.headers(), "x-ratelimit-limit"), 5);
        assert_eq!(header_num(ok.headers(), "x-ratelimit-remaining"), 4 - n);
    }
    let before = now_secs();
    let limited = failure(c.rw.query_user_v1().send().await).await;
    assert_eq!(limited.status, 429);
    assert!(limited.declared, "queryUserV1 declares 429");
    assert!(limited.mentions("rate limit exceeded"));
    assert_eq!(limited.errors[0].0, 429);
    assert_eq!(header_num(&limited.headers, "x-ratelimit-limit"), 5);
    assert_eq!(header_num(&limited.headers, "x-ratelimit-remaining"), 0);
    let retry_after = header_num(&limited.headers, "X-RateLimit-RetryAfter");
    assert!(retry_after > before, "retry at {retry_after}, now {before}");
    assert!(
        retry_after <= before + 60,
        "epoch seconds, within the minute: {retry_after}"
    );
    assert!(header(&limited.headers, "x-cs-traceid").is_some());

    // The bucket is per client: the read-only client still has its own budget.
    c.ro.query_user_v1().send().await.unwrap();
    // A legacy operation that declares 429 too.
    let legacy = failure(c.rw.legacy_retrieve_emails_by_cid().send().await).await;
    assert_eq!(legacy.status, 429);
}

#[tokio::test]
async fn a_childs_budget_spent_to_429_leaves_the_parents_and_the_other_childs_whole() {
    // The service budgets requests per customer (CID): a parent's member token spends
    // the child's budget, not the parent's.
    let c = ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        rate_limit_per_minute: 5,
        ..SimConfig::default()
    })
    .await;
    let (first, second) = (&c.children[0], &c.children[1]);
    let member = c.member(first).await;
    for n in 0..5u64 {
        let ok = member.query_user_v1().send().await.unwrap();
        assert_eq!(header_num(ok.headers(), "x-ratelimit-remaining"), 4 - n);
    }
    let limited = failure(member.query_user_v1().send().await).await;
    assert_eq!(limited.status, 429);
    assert!(header(&limited.headers, "X-RateLimit-RetryAfter").is_some());

    // The token endpoint checks the budget of the CID asked for: the spent child is
    // refused a new token, the parent and the other child are not.
    let plain = Client::new(&c.base, Hooks::none());
    let again = failure(
        plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, Some(first)))
            .send()
            .await,
    )
    .await;
    assert_eq!(again.status, 429, "the spent child's budget");
    assert_eq!(header_num(&again.headers, "x-ratelimit-remaining"), 0);
    for (what, cid) in [("parent", None), ("other child", Some(second.as_str()))] {
        let minted = plain
            .oauth2_access_token()
            .body(token_body(RW_ID, RW_SECRET, cid))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            header_num(minted.headers(), "x-ratelimit-remaining"),
            5,
            "{what}'s budget is whole"
        );
    }
    let parent = c.rw.query_user_v1().send().await.unwrap();
    assert_eq!(header_num(parent.headers(), "x-ratelimit-remaining"), 4);
    let sibling = c.member(second).await.query_user_v1().send().await.unwrap();
    assert_eq!(header_num(sibling.headers(), "x-ratelimit-remaining"), 4);
    // The parent acting in the child with `cid` spends its own CID's budget (the token's).
    let in_child = c.rw.queries_roles_v1().cid(first).send().await.unwrap();
    assert_eq!(header_num(in_child.headers(), "x-ratelimit-remaining"), 3);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_the_error_envelope() {
    let c = ctx().await;
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let http = reqwest::Client::new();
    let made_up = http
        .get(format!("{}/user-management/queries/made-up/v1", c.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status().as_u16(), 404);
    assert!(header(made_up.headers(), "x-cs-traceid").is_some());
    let body: serde_json::Value = made_up.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], 404);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("/user-management/queries/made-up/v1"),
        "{message}"
    );
    assert!(body["meta"]["trace_id"].is_string(), "{body}");

    // PUT on the users entity path: its operations are POST, PATCH and DELETE.
    let wrong = http
        .put(format!("{}{}", c.base, operations::CREATE_USER_V1.path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    let allow = header(wrong.headers(), "allow").unwrap().to_owned();
    for op in [
        operations::CREATE_USER_V1,
        operations::UPDATE_USER_V1,
        operations::DELETE_USER_V1,
    ] {
        let method = op.method.as_http();
        assert!(allow.contains(method.as_str()), "{allow} lacks {method}");
    }
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], 405);
}

#[tokio::test]
async fn fail_next_fails_exactly_the_scripted_operation_the_scripted_times() {
    let c = ctx().await;
    c.sim.fail_next(&operations::QUERY_USER_V1, 503, 2);
    for n in 0..2 {
        let (status, headers) = outcome(c.rw.query_user_v1().send().await);
        assert_eq!(status, 503, "call {n}");
        assert!(header(&headers, "x-cs-traceid").is_some());
    }
    // Other operations were never affected; the third call succeeds.
    c.rw.query_user_v2().send().await.unwrap();
    c.rw.query_user_v1().send().await.unwrap();
    assert_eq!(c.sim.request_count(&operations::QUERY_USER_V1), 3);
    assert_eq!(c.sim.request_count(&operations::QUERY_USER_V2), 1);

    // The token endpoint too (it has no bearer token, but the same table entry).
    c.sim.fail_next(&operations::OAUTH2_ACCESS_TOKEN, 500, 1);
    let refused = Client::new(&c.base, Hooks::none())
        .oauth2_access_token()
        .body(token_body(RW_ID, RW_SECRET, None))
        .send()
        .await;
    assert_eq!(outcome(refused).0, 500);
    mint(&c.base, RW_ID, RW_SECRET, None).await;

    // Zero times cancels.
    c.sim.fail_next(&operations::QUERY_USER_V1, 500, 3);
    c.sim.fail_next(&operations::QUERY_USER_V1, 500, 0);
    c.rw.query_user_v1().send().await.unwrap();
}

#[test]
#[should_panic(expected = "userRoleActionV1 is not an operation of the table")]
fn fail_next_refuses_an_operation_not_in_the_table() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime
        .block_on(Simulator::start(SimConfig {
            users: 5,
            ..SimConfig::default()
        }))
        .unwrap();
    let misspelled = Operation {
        id: "userRoleActionV1",
        ..operations::USER_ROLES_ACTION_V1
    };
    sim.fail_next(&misspelled, 400, 1);
}

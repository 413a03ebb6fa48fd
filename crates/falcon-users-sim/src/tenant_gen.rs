//! A deterministic, realistic tenant from a seed: names, logins, roles and a spread of grants.

use chrono::{DateTime, Duration, Utc};
use falcon_users_api::types::DomainRole;

use std::collections::BTreeSet;

use crate::config::SimConfig;
use crate::state::fleet::{CidGroup, Link, UserGroup, link_id};
use crate::state::{Grant, State, Tenant, User};

const FIRST: &[&str] = &[
    "Ava", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jules", "Kenji",
    "Lena", "Mateo", "Nia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoë",
];
const LAST: &[&str] = &[
    "Anders", "Brooks", "Castillo", "Dubois", "Eriksen", "Fontaine", "García", "Hughes", "Ivanova",
    "Jensen", "Kim", "López", "Müller", "Nakamura", "O'Neill", "Patel", "Quispe", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
];

/// Built-in roles every CID offers (text ids, no home CID).
pub const BUILTIN_ROLES: &[(&str, &str)] = &[
    ("falcon_administrator", "Falcon Administrator"),
    ("falcon_console_guest", "Falcon Console Guest"),
    ("falconhost_read_only", "Falcon Read Only"),
    ("falconhost_analyst", "Falcon Analyst"),
    ("falconhost_investigator", "Falcon Investigator"),
    ("falconhost_admin", "Falcon Security Lead"),
    ("endpoint_manager", "Endpoint Manager"),
    (
        "remote_responder_one",
        "Real Time Responder – Read Only Analyst",
    ),
    (
        "remote_responder_two",
        "Real Time Responder – Active Responder",
    ),
    (
        "remote_responder_three",
        "Real Time Responder – Administrator",
    ),
    ("prevention_hashes_manager", "Prevention Hashes Manager"),
    ("user_admin", "Falcon User Admin"),
];

/// The tenant described by `config`, the same for the same seed (with
/// [`SimConfig::review_cases`], the temporary grants end a few days after `now`).
pub fn tenant(config: &SimConfig, now: DateTime<Utc>) -> State {
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let parent_cid = hex32(&mut rng);
    let child_cids: Vec<String> = (0..config.child_cids).map(|_| hex32(&mut rng)).collect();
    let mut state = State {
        builtin_roles: BUILTIN_ROLES
            .iter()
            .map(|(id, name)| DomainRole {
                cid: None,
                description: format!("Built-in role: {name}."),
                display_name: (*name).into(),
                id: (*id).into(),
                is_global: true,
            })
            .collect(),
        parent_cid: parent_cid.clone(),
        child_cids: child_cids.clone(),
        ..State::default()
    };
    let child_users = config.child_users();
    let children = child_cids
        .into_iter()
        .enumerate()
        .map(|(n, c)| (c, format!("Example Corp Child {}", n + 1), child_users));
    for (cid, name, users) in
        std::iter::once((parent_cid, "Example Corp".to_owned(), config.users)).chain(children)
    {
        let mut tenant = populate(&mut rng, &state, cid.clone(), users, config.roles);
        tenant.name = name;
        if config.review_cases && cid == state.parent_cid {
            review_cases(&mut tenant, now);
        }
        state.tenants.insert(cid, tenant);
    }
    if config.flight_control_groups {
        flight_control(&mut state, config.seed, now);
    }
    state
}

/// Gives the parent a small Flight Control setup when it has children, from a random stream
/// of its own (so every user and grant stays as seeded): user groups "Fleet Analysts" (the
/// parent's last three users by login) and "Fleet Leads" (the one before them), CID groups
/// "All Children" and the first child's name, and links: analysts × all children with
/// `falconhost_analyst` and `falcon_console_guest`, leads × the first child with
/// `falcon_administrator`. A parent with fewer users gets the members it has.
pub fn flight_control(state: &mut State, seed: u64, now: DateTime<Utc>) {
    let Some(first_child) = state.child_cids.first().cloned() else {
        return;
    };
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xF1C7_0C0D);
    let logins: Vec<String> = state
        .tenants
        .get(&state.parent_cid)
        .map(|t| t.by_uid.values().cloned().collect())
        .unwrap_or_default();
    let analysts: BTreeSet<String> = logins.iter().rev().take(3).cloned().collect();
    let leads: BTreeSet<String> = logins.iter().rev().skip(3).take(1).cloned().collect();
    let first_name = state
        .tenants
        .get(&first_child)
        .map_or_else(|| first_child.clone(), |t| t.name.clone());
    let mut user_group = |name: &str, members: BTreeSet<String>| UserGroup {
        id: hex32(&mut rng),
        name: name.into(),
        description: format!("Seeded: {name}"),
        members,
        modified_at: now,
    };
    let analysts = user_group("Fleet Analysts", analysts);
    let leads = user_group("Fleet Leads", leads);
    let mut cid_group = |name: &str, cids: BTreeSet<String>| CidGroup {
        id: hex32(&mut rng),
        name: name.into(),
        description: format!("Seeded: {name}"),
        cids,
        modified_at: now,
    };
    let all = cid_group("All Children", state.child_cids.iter().cloned().collect());
    let first = cid_group(&first_name, BTreeSet::from([first_child]));
    let link = |users: &UserGroup, cids: &CidGroup, roles: &[&str]| Link {
        id: link_id(&users.id, &cids.id),
        user_group_id: users.id.clone(),
        cid_group_id: cids.id.clone(),
        role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
        modified_at: now,
    };
    let links = [
        link(
            &analysts,
            &all,
            &["falconhost_analyst", "falcon_console_guest"],
        ),
        link(&leads, &first, &["falcon_administrator"]),
    ];
    let fleet = &mut state.fleet;
    for group in [analysts, leads] {
        fleet.user_groups.insert(group.id.clone(), group);
    }
    for group in [all, first] {
        fleet.cid_groups.insert(group.id.clone(), group);
    }
    for link in links {
        fleet.links.insert(link.id.clone(), link);
    }
}

fn populate(
    rng: &mut fastrand::Rng,
    state: &State,
    cid: String,
    users: usize,
    roles: usize,
) -> Tenant {
    let mut tenant = Tenant {
        cid: cid.clone(),
        ..Tenant::default()
    };
    tenant.custom_roles = (0..roles)
        .map(|i| DomainRole {
            cid: Some(cid.clone()),
            description: format!("Custom role {i} of this CID."),
            display_name: format!("Custom Role {i:03}"),
            id: hex32(rng),
            is_global: false,
        })
        .collect();
    let role_ids: Vec<String> = state
        .builtin_roles
        .iter()
        .chain(&tenant.custom_roles)
        .map(|r| r.id.clone())
        .collect();
    let domain = format!("corp{}.example.com", &cid[..4]);
    for n in 0..users {
        let first = FIRST[rng.usize(..FIRST.len())];
        let last = LAST[rng.usize(..LAST.len())];
        let uid = format!("{}.{}{n}@{domain}", ascii(first), ascii(last)).to_lowercase();
        let day = 1 + rng.u32(..28);
        let user = User {
            uuid: uuid(rng),
            uid,
            first_name: first.into(),
            last_name: last.into(),
            cid: cid.clone(),
            status: if rng.f64() < 0.9 {
                "active"
            } else {
                "inactive"
            }
            .into(),
            user_type: "internal".into(),
            created_at: format!(
                "2025-{:02}-{day:02}T09:{:02}:00Z",
                1 + rng.u32(..12),
                rng.u32(..60)
            ),
            updated_at: format!("2026-{:02}-{day:02}T10:00:00Z", 1 + rng.u32(..10)),
            last_login_at: if rng.f64() < 0.8 {
                format!("2026-10-{day:02}T08:30:00Z")
            } else {
                String::new()
            },
        };
        // Most users hold one to three roles; a few hold none.
        let count = [0, 1, 1, 1, 2, 2, 3][rng.usize(..7)];
        let mut grants: Vec<Grant> = Vec::new();
        for _ in 0..count {
            let role_id = role_ids[rng.usize(..role_ids.len())].clone();
            if !grants.iter().any(|g| g.role_id == role_id) {
                grants.push(Grant {
                    role_id,
                    cid: cid.clone(),
                    expires_at: None,
                });
            }
        }
        let uuid = user.uuid.clone();
        if tenant.insert(user) && !grants.is_empty() {
            tenant.grants.insert(uuid, grants);
        }
    }
    tenant
}

/// Gives the first users of `tenant` (in login order) what an access review finds, without
/// drawing from the seed's random numbers (so every other user stays as seeded):
///
/// | user (login order) | made                                                        |
/// |--------------------|-------------------------------------------------------------|
/// | 2nd                | last login 30 days after creation (in 2025: long ago)       |
/// | 3rd, 5th           | a temporary grant ending 2 and 5 days after `now`           |
/// | 6th                | holds `falcon_administrator`                                |
/// | 7th                | `inactive`, holding at least one role                       |
/// | 8th                | holds no role                                               |
/// | 9th                | never logged in (created in 2025)                           |
///
/// A tenant with fewer users gets the cases it has users for.
pub fn review_cases(tenant: &mut Tenant, now: DateTime<Utc>) {
    let order: Vec<String> = tenant.by_uid.values().cloned().collect();
    let cid = tenant.cid.clone();
    let grant = |role: &str, expires_at: Option<String>| Grant {
        role_id: role.into(),
        cid: cid.clone(),
        expires_at,
    };
    // Whole hours, as people set them.
    let days_ahead = |days: i64| {
        (now + Duration::days(days))
            .format("%Y-%m-%dT%H:00:00Z")
            .to_string()
    };
    for (index, uuid) in order.iter().enumerate().take(9) {
        let held = tenant.grants.entry(uuid.clone()).or_default();
        let holds = |held: &Vec<Grant>, role: &str| held.iter().any(|g| g.role_id == role);
        let Some(user) = tenant.users.get_mut(uuid) else {
            continue;
        };
        match index {
            1 => {
                user.last_login_at = DateTime::parse_from_rfc3339(&user.created_at)
                    .map(|created| {
                        (created + Duration::days(30))
                            .with_timezone(&Utc)
                            .format("%Y-%m-%dT%H:%M:00Z")
                            .to_string()
                    })
                    .unwrap_or_else(|_| "2025-02-01T08:30:00Z".into());
            }
            2 | 4 => {
                let role = ["falcon_console_guest", "falconhost_read_only"]
                    .into_iter()
                    .find(|r| !holds(held, r))
                    .unwrap_or("falconhost_investigator");
                held.retain(|g| g.role_id != role);
                held.push(grant(
                    role,
                    Some(days_ahead(if index == 2 { 2 } else { 5 })),
                ));
            }
            5 if !holds(held, "falcon_administrator") => {
                held.push(grant("falcon_administrator", None));
            }
            6 => {
                user.status = "inactive".into();
                if held.is_empty() {
                    held.push(grant("falconhost_analyst", None));
                }
            }
            7 => held.clear(),
            8 => user.last_login_at = String::new(),
            _ => {}
        }
    }
    tenant.grants.retain(|_, held| !held.is_empty());
}

/// 32 lowercase hex characters.
pub fn hex32(rng: &mut fastrand::Rng) -> String {
    format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
}

/// A version-4 style UUID.
pub fn uuid(rng: &mut fastrand::Rng) -> String {
    let h = hex32(rng);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' => Some('e'),
            'ë' => Some('e'),
            'í' => Some('i'),
            'ó' => Some('o'),
            'ü' => Some('u'),
            c if c.is_ascii_alphabetic() => Some(c),
            _ => None,
        })
        .collect()
}

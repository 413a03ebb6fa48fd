//! Every operation of `spec/user-management.json` (the operation table,
//! `falcon_users_api::operations::ALL`), each driven through the generated
//! `falcon_users_api::Client` against a running simulator: the happy path (the typed response and
//! the state it leaves, read with `Simulator::inspect`) and its main error path. Plus the headers
//! every answer carries and the rate limit. The coverage guarantees come from the table alone
//! (`gateway`): a raw request for every operation of `operations::ALL`, from its method and path,
//! is routed and answered with trace and rate headers, refused without a valid token, and refused
//! to a read-only token exactly where it writes; so a new operation needs only its spec entry,
//! `cargo xtask generate` and a simulator handler to keep these files green. One file per area of
//! the API, as `wire/` is split.
//!
//! Tests whose expectation the simulator does not meet yet are `#[ignore = "sim bug: ..."]`: they
//! assert the correct behaviour and say what the simulator does instead.
// Some of these tests exercise the legacy operations on purpose.
#![allow(deprecated)]

use std::collections::{BTreeMap, BTreeSet};

use falcon_users_api::types;
use falcon_users_api::{Auth, Client, Hooks, HttpMethod, Operation, ResponseValue, operations};
use falcon_users_sim::state::User;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::*;
use reqwest::header::HeaderMap;

fn grant_v1(
    action: &str,
    uuid: &str,
    cid: &str,
    roles: &[&str],
    expires_at: Option<String>,
) -> types::FlightcontrolapiGrantInput {
    types::FlightcontrolapiGrantInput {
        action: Some(action.into()),
        // An empty `cid` leaves the member out.
        cid: (!cid.is_empty()).then(|| cid.to_owned()),
        expires_at,
        role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
        uuid: Some(uuid.into()),
    }
}

fn grant_v2(
    action: &str,
    uuid: &str,
    cid: &str,
    roles: &[&str],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> types::DomainActionUserRolesRequestV2 {
    types::DomainActionUserRolesRequestV2 {
        action: Some(action.into()),
        cid: Some(cid.into()),
        expires_at,
        role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
        uuid: Some(uuid.into()),
    }
}

mod aggregates;
mod answers;
mod children;
mod flight_control;
mod gateway;
mod grants;
mod invitations;
mod legacy;
mod oauth2;
mod permissions;
mod roles;
mod sensor_download;
mod users;

//! The simulator (`falcon-users-sim`) for the tests: the generated client with a bearer or Basic
//! header ([`Ctx`], [`mint`], [`bearer`], [`basic`]), reading its answers ([`failure`],
//! [`outcome`], [`header`]), request bodies ([`ids`], [`terms`], [`new_user`]), the ergonomic client on it
//! ([`falcon`], [`falcon_builder`], [`fast_retries`]), the roles a user holds ([`roles_held`]),
//! a fault storm ([`storm`]), and a simulator whose reads lag its writes with the client on the
//! simulator's clock ([`lagged_tenant`]).
//!
//! Its short names (`header`, `ids`, `terms`, `bearer`, `Ctx`) mean simulator things: a file may
//! glob-import this module, but never next to [`crate::fixtures`] or [`crate::mock`].

use std::fmt::Debug;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use falcon_users::{Falcon, FalconBuilder, RetryPolicy};
use falcon_users_api::types::{self, MsaspecResponseFields};
use falcon_users_api::{Client, Error, Hooks, ResponseValue};
use falcon_users_sim::state::{Tenant, User};
use falcon_users_sim::{ClientCredentials, Faults, SimConfig, Simulator};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

/// The simulator's read-write client.
pub const RW_ID: &str = "sim-rw-client";
pub const RW_SECRET: &str = "sim-rw-secret";
/// The simulator's read-only client.
pub const RO_ID: &str = "sim-ro-client";
pub const RO_SECRET: &str = "sim-ro-secret";

/// A generated client's answer.
pub type Api<T> = Result<ResponseValue<T>, Error<MsaspecResponseFields>>;

/// A generated client whose `reqwest::Client` sends `authorization` on every request.
pub fn client_with(base: &str, authorization: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(base, http, Hooks::none())
}

/// A generated client sending `Bearer token`.
pub fn bearer(base: &str, token: &str) -> Client {
    client_with(base, &format!("Bearer {token}"))
}

/// `Basic base64(id:secret)`.
pub fn basic_header(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A generated client sending Basic credentials.
pub fn basic(base: &str, id: &str, secret: &str) -> Client {
    client_with(base, &basic_header(id, secret))
}

pub fn token_body(id: &str, secret: &str, member: Option<&str>) -> types::Oauth2AccessTokenBody {
    types::Oauth2AccessTokenBody {
        client_id: id.into(),
        client_secret: secret.into(),
        member_cid: member.map(str::to_owned),
    }
}

/// Mints a token with a plain (unauthenticated) generated client.
pub async fn mint(base: &str, id: &str, secret: &str, member: Option<&str>) -> String {
    Client::new(base, Hooks::none())
        .oauth2_access_token()
        .body(token_body(id, secret, member))
        .send()
        .await
        .expect("token")
        .into_inner()
        .access_token
        .expect("access_token")
}

/// An error answer, declared (typed `ErrorResponse`) or not (`UnexpectedResponse`).
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub declared: bool,
    pub headers: HeaderMap,
    /// (code, id, message) of each entry of `errors`.
    pub errors: Vec<(i64, Option<String>, String)>,
}

impl Failure {
    /// Whether an error message contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        self.errors.iter().any(|(_, _, m)| m.contains(text))
    }
}

/// The failure of `result` (panics on success or on a failure without an HTTP answer).
pub async fn failure<T: Debug>(result: Api<T>) -> Failure {
    match result {
        Ok(ok) => panic!(
            "expected a failure, got {}: {:?}",
            ok.status(),
            ok.into_inner()
        ),
        Err(Error::ErrorResponse(rv)) => Failure {
            status: rv.status().as_u16(),
            declared: true,
            headers: rv.headers().clone(),
            errors: rv
                .errors
                .iter()
                .flatten()
                .map(|e| (i64::from(e.code), e.id.clone(), e.message.clone()))
                .collect(),
        },
        Err(Error::UnexpectedResponse(response)) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let errors = body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e["code"].as_i64().unwrap_or_default(),
                        e["id"].as_str().map(str::to_owned),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            Failure {
                status,
                declared: false,
                headers,
                errors,
            }
        }
        Err(other) => panic!("expected an HTTP error answer, got {other:?}"),
    }
}

/// The status and headers of an answer, success or failure (0 if no answer arrived).
pub fn outcome<T, E>(result: Result<ResponseValue<T>, Error<E>>) -> (u16, HeaderMap) {
    match result {
        Ok(rv) => (rv.status().as_u16(), rv.headers().clone()),
        Err(Error::ErrorResponse(rv)) => (rv.status().as_u16(), rv.headers().clone()),
        Err(Error::UnexpectedResponse(r)) => (r.status().as_u16(), r.headers().clone()),
        Err(_) => (0, HeaderMap::new()),
    }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A numeric header (panics if absent or not a number).
pub fn header_num(headers: &HeaderMap, name: &str) -> u64 {
    header(headers, name)
        .unwrap_or_else(|| panic!("missing header {name}: {headers:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("header {name} is not a number"))
}

pub fn ids(list: &[&str]) -> types::MsaspecIdsRequest {
    types::MsaspecIdsRequest {
        ids: list.iter().map(|s| (*s).to_owned()).collect(),
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A terms aggregation over `field` (all 15 required members filled).
pub fn terms(field: &str, filter: &str, size: i32) -> types::MsaAggregateQueryRequest {
    types::MsaAggregateQueryRequest {
        date_ranges: Vec::new(),
        exclude: String::new(),
        extended_bounds: None,
        field: field.into(),
        filter: filter.into(),
        filters_spec: None,
        from: 0,
        include: String::new(),
        interval: String::new(),
        max_doc_count: None,
        min_doc_count: None,
        missing: String::new(),
        name: format!("by_{field}"),
        percents: Vec::new(),
        q: String::new(),
        ranges: Vec::new(),
        size,
        sort: String::new(),
        sub_aggregates: Vec::new(),
        time_zone: String::new(),
        type_: Some("terms".into()),
    }
}

/// A new user `uid` ("  Grace " Hopper: the first name needs trimming) in CID `cid`, or in the
/// token's CID if `cid` is empty.
pub fn new_user(uid: &str, cid: &str) -> types::DomainCreateUserRequest {
    types::DomainCreateUserRequest {
        cid: (!cid.is_empty()).then(|| cid.to_owned()),
        first_name: Some("  Grace ".into()),
        last_name: Some("Hopper".into()),
        password: None,
        uid: Some(uid.into()),
    }
}

/// The role ids `uuid` holds in `tenant`, sorted; a role granted twice appears twice (so
/// comparing with a list of distinct roles also checks that no grant is doubled).
pub fn roles_held(tenant: &Tenant, uuid: &str) -> Vec<String> {
    let mut roles: Vec<String> = tenant
        .grants
        .get(uuid)
        .into_iter()
        .flatten()
        .map(|g| g.role_id.clone())
        .collect();
    roles.sort();
    roles
}

/// The roles held in the parent CID by the user whose login is `uid` ([`roles_held`]), or
/// `None` if there is no such user.
pub fn roles_of_login(sim: &Simulator, uid: &str) -> Option<Vec<String>> {
    let parent = sim.parent_cid();
    sim.user(uid).filter(|u| u.cid == parent)?;
    let mut roles: Vec<String> = sim
        .grants(uid)
        .into_iter()
        .filter(|g| g.cid == parent)
        .map(|g| g.role_id)
        .collect();
    roles.sort();
    Some(roles)
}

/// The `n`th built-in role of `sim`: `(id, display name)`.
pub fn builtin_role(sim: &Simulator, n: usize) -> (String, String) {
    sim.inspect(|s| {
        let r = &s.builtin_roles[n];
        (r.id.clone(), r.display_name.clone())
    })
}

/// A builder of the ergonomic client on `sim` with `creds` (add options, then `build()`).
pub fn falcon_builder(sim: &Simulator, creds: ClientCredentials) -> FalconBuilder {
    sim.falcon_builder_with(creds)
}

/// The ergonomic client on `sim` with `creds` and default options.
pub fn falcon(sim: &Simulator, creds: ClientCredentials) -> Falcon {
    falcon_builder(sim, creds).build().unwrap()
}

/// A simulator seeded with `users` users and the ergonomic client on it, 32 requests in flight
/// (what the workflow tests run on).
pub async fn workflow_tenant(users: usize) -> (Simulator, Falcon) {
    tenant_with(SimConfig {
        users,
        ..SimConfig::default()
    })
    .await
}

/// A simulator started with `config` and the ergonomic client on it, 32 requests in flight.
pub async fn tenant_with(config: SimConfig) -> (Simulator, Falcon) {
    let sim = Simulator::start(config).await.unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .max_concurrency(32)
        .build()
        .unwrap();
    (sim, falcon)
}

/// A simulator started with `config` whose reads lag writes by `lag`, and the ergonomic client
/// on it (32 requests in flight) on the simulator's clock: the client's sleeps advance that
/// clock at once and its `now` reads it, so waiting out the lag takes no real time
/// (`sim.clock().advanced()` is the simulated time waited).
pub async fn lagged_tenant(config: SimConfig, lag: Duration) -> (Simulator, Falcon) {
    let sim = Simulator::start(SimConfig {
        read_lag: lag,
        ..config
    })
    .await
    .unwrap();
    let falcon = falcon_builder(&sim, sim.credentials())
        .max_concurrency(32)
        .clock(std::sync::Arc::new(sim.clock().clone()))
        .build()
        .unwrap();
    (sim, falcon)
}

/// A retry policy for fault storms: 10 attempts, backoff from 5 ms to 50 ms.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(10)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(50))
}

/// A fault storm over `users` seeded users, harsher than a busy tenant: 20 % 429s, 5 % 500/503s, 2 % dropped answers
/// (work done, answer lost).
pub fn storm(seed: u64, users: usize) -> SimConfig {
    SimConfig {
        users,
        seed,
        faults: Faults {
            rate_limited: 0.20,
            server_errors: 0.05,
            dropped: 0.02,
            ..Faults::default()
        },
        ..SimConfig::default()
    }
}

/// A simulator (50 users, 2 child CIDs by [`ctx`]) with read-write and read-only clients.
pub struct Ctx {
    pub sim: Simulator,
    pub base: String,
    pub rw: Client,
    pub ro: Client,
    pub parent: String,
    pub children: Vec<String>,
}

/// [`ctx_with`] 50 users and 2 child CIDs.
pub async fn ctx() -> Ctx {
    ctx_with(SimConfig {
        users: 50,
        child_cids: 2,
        ..SimConfig::default()
    })
    .await
}

/// [`Ctx::on`] a simulator started with `config`.
pub async fn ctx_with(config: SimConfig) -> Ctx {
    Ctx::on(Simulator::start(config).await.expect("simulator")).await
}

impl Ctx {
    /// The clients on `sim`, already started (say from a saved state).
    pub async fn on(sim: Simulator) -> Ctx {
        let base = sim.base_url_str();
        let rw_creds = sim.credentials();
        let ro_creds = sim.read_only_credentials();
        assert_eq!(
            (rw_creds.client_id.as_str(), rw_creds.client_secret.as_str()),
            (RW_ID, RW_SECRET)
        );
        assert_eq!(
            (ro_creds.client_id.as_str(), ro_creds.client_secret.as_str()),
            (RO_ID, RO_SECRET)
        );
        let rw = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
        let ro = bearer(&base, &mint(&base, RO_ID, RO_SECRET, None).await);
        let parent = sim.parent_cid();
        let children = sim.child_cids();
        Ctx {
            sim,
            base,
            rw,
            ro,
            parent,
            children,
        }
    }

    /// A read-write client whose token is pinned to member CID `cid`.
    pub async fn member(&self, cid: &str) -> Client {
        bearer(
            &self.base,
            &mint(&self.base, RW_ID, RW_SECRET, Some(cid)).await,
        )
    }

    /// The users of `cid`, in login order.
    pub fn users(&self, cid: &str) -> Vec<User> {
        self.sim.users(cid)
    }

    pub fn user(&self, cid: &str, uuid: &str) -> Option<User> {
        self.sim
            .inspect(|s| s.tenants[cid].users.get(uuid).cloned())
    }

    pub fn user_count(&self, cid: &str) -> usize {
        self.sim.users(cid).len()
    }

    /// Role ids `uuid` holds in `cid`, sorted ([`roles_held`]).
    pub fn held(&self, cid: &str, uuid: &str) -> Vec<String> {
        self.sim.inspect(|s| roles_held(&s.tenants[cid], uuid))
    }

    /// The first user (login order) of `cid` holding at least `n` roles there.
    pub fn user_holding(&self, cid: &str, n: usize) -> User {
        self.users(cid)
            .into_iter()
            .find(|u| self.held(cid, &u.uuid).len() >= n)
            .expect("a seeded user with grants")
    }

    /// The first user (login order) of `cid` holding no role there.
    pub fn user_without_roles(&self, cid: &str) -> User {
        self.users(cid)
            .into_iter()
            .find(|u| self.held(cid, &u.uuid).is_empty())
            .expect("a seeded user without grants")
    }

    /// The id of the `n`th custom role of `cid`.
    pub fn custom_role(&self, cid: &str, n: usize) -> String {
        self.sim
            .inspect(|s| s.tenants[cid].custom_roles[n].id.clone())
    }

    /// Every role id available in `cid`: built-in, then its own.
    pub fn role_ids(&self, cid: &str) -> Vec<String> {
        self.sim
            .inspect(|s| s.roles(cid).map(|r| r.id.clone()).collect())
    }

    pub fn role(&self, cid: &str, id: &str) -> types::DomainRole {
        self.sim
            .inspect(|s| s.role(cid, id).cloned().expect("role"))
    }

    /// A built-in role `uuid` does not hold in `cid`.
    pub fn builtin_not_held(&self, cid: &str, uuid: &str) -> String {
        let held = self.held(cid, uuid);
        self.sim.inspect(|s| {
            s.builtin_roles
                .iter()
                .map(|r| r.id.clone())
                .find(|id| !held.contains(id))
                .expect("a role not held")
        })
    }
}

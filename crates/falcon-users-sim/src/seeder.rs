//! Seeding and changing a running simulator's tenants from a test: users with any field,
//! grants (temporary ones too) and custom roles, without going through HTTP.

use std::time::Duration;

use chrono::{DateTime, Utc};
use falcon_users_api::types::DomainRole;

use crate::shared::Shared;
use crate::state::{Grant, User};
use crate::tenant_gen;

/// Why a seeding call changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// The login is empty (or only spaces).
    #[error("a login is required")]
    EmptyLogin,
    /// A user with this login exists already (logins are unique across the simulator).
    #[error("a user with login {0:?} exists already")]
    LoginTaken(String),
    /// No user has this login.
    #[error("no user with login {0:?}")]
    NoSuchUser(String),
    /// The CID is neither the parent nor one of its children.
    #[error("unknown CID {0:?}")]
    UnknownCid(String),
    /// The role is not available in the CID (built-in roles are everywhere, custom roles only
    /// in their home CID).
    #[error("role {role:?} is not available in CID {cid:?}")]
    UnknownRole {
        /// The role id.
        role: String,
        /// The CID.
        cid: String,
    },
    /// A role with this id exists in the CID already.
    #[error("role {0:?} exists already")]
    RoleTaken(String),
}

/// Seeding and changes on a running simulator: `sim.seed()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use falcon_users_sim::{SimConfig, Simulator};
///
/// let sim = Simulator::start(SimConfig { users: 0, ..SimConfig::default() }).await?;
/// let role = sim.seed().custom_role(&sim.parent_cid(), "0123456789abcdef0123456789abcdef", "Auditor")?;
/// sim.seed()
///     .user("ann@example.com")
///     .last_login_days_ago(120)
///     .grant(&role.id)
///     .grant("falcon_console_guest")
///     .expires_in(Duration::from_secs(86_400))
///     .create()?;
/// sim.seed().revoke("ann@example.com", &sim.parent_cid(), &role.id)?;
/// let grants = sim.grants("ann@example.com");
/// assert_eq!(grants.len(), 1);
/// assert!(grants[0].expires_at.is_some());
/// # Ok(()) }
/// ```
pub struct Seeder<'a> {
    shared: &'a Shared,
}

impl<'a> Seeder<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        Self { shared }
    }

    /// Starts a user with login `uid` (stored lower case), homed in the parent CID, active,
    /// `internal`, created now, never logged in, with no grants; [`UserSeed::create`] adds it.
    pub fn user(self, uid: &str) -> UserSeed<'a> {
        let now = self.shared.now_text();
        let local = uid.split('@').next().unwrap_or_default();
        UserSeed {
            shared: self.shared,
            user: User {
                uuid: tenant_gen::uuid(&mut fastrand::Rng::new()),
                uid: uid.trim().to_lowercase(),
                first_name: local.to_owned(),
                last_name: "Seeded".into(),
                cid: self.shared.read().parent_cid.clone(),
                status: "active".into(),
                user_type: "internal".into(),
                created_at: now.clone(),
                updated_at: now,
                last_login_at: String::new(),
            },
            grants: Vec::new(),
        }
    }

    /// Adds a custom role `id` (the service's are 32 hex) named `display_name` to `cid`.
    pub fn custom_role(
        self,
        cid: &str,
        id: &str,
        display_name: &str,
    ) -> Result<DomainRole, SeedError> {
        let mut state = self.shared.write_now();
        if state.role(cid, id).is_some() {
            return Err(SeedError::RoleTaken(id.to_owned()));
        }
        let tenant = state
            .tenants
            .get_mut(cid)
            .ok_or_else(|| SeedError::UnknownCid(cid.to_owned()))?;
        let role = DomainRole {
            cid: Some(cid.to_owned()),
            description: format!("Custom role: {display_name}."),
            display_name: display_name.to_owned(),
            id: id.to_owned(),
            is_global: false,
        };
        tenant.custom_roles.push(role.clone());
        Ok(role)
    }

    /// Grants `role` in `cid` to the user with login `uid`, until `expires_at` if given (no
    /// bounds are checked: a test may seed a grant the API would refuse). Granting a held role
    /// again sets its expiry.
    pub fn grant(
        self,
        uid: &str,
        cid: &str,
        role: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Grant, SeedError> {
        let mut state = self.shared.write_now();
        let uuid = state
            .user_by_login(uid)
            .map(|u| u.uuid.clone())
            .ok_or_else(|| SeedError::NoSuchUser(uid.to_owned()))?;
        if !state.knows(cid) {
            return Err(SeedError::UnknownCid(cid.to_owned()));
        }
        if state.role(cid, role).is_none() {
            return Err(SeedError::UnknownRole {
                role: role.to_owned(),
                cid: cid.to_owned(),
            });
        }
        let grant = Grant {
            role_id: role.to_owned(),
            cid: cid.to_owned(),
            expires_at: expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        };
        let held = state
            .tenants
            .get_mut(cid)
            .map(|t| t.grants.entry(uuid).or_default())
            .ok_or_else(|| SeedError::UnknownCid(cid.to_owned()))?;
        held.retain(|g| g.role_id != role);
        held.push(grant.clone());
        if let Some(at) = expires_at {
            self.shared.lapses_at(at);
        }
        Ok(grant)
    }

    /// Takes `role` in `cid` from the user with login `uid`; false if they did not hold it.
    pub fn revoke(self, uid: &str, cid: &str, role: &str) -> Result<bool, SeedError> {
        let mut state = self.shared.write_now();
        let uuid = state
            .user_by_login(uid)
            .map(|u| u.uuid.clone())
            .ok_or_else(|| SeedError::NoSuchUser(uid.to_owned()))?;
        let tenant = state
            .tenants
            .get_mut(cid)
            .ok_or_else(|| SeedError::UnknownCid(cid.to_owned()))?;
        let Some(held) = tenant.grants.get_mut(&uuid) else {
            return Ok(false);
        };
        let before = held.len();
        held.retain(|g| g.role_id != role);
        let removed = held.len() < before;
        if held.is_empty() {
            tenant.grants.remove(&uuid);
        }
        Ok(removed)
    }

    /// Changes the user with login `uid`: `change` edits a copy of the record, which replaces
    /// it (a new login must be free; a new `cid` must be known; the UUID stays).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use falcon_users_sim::{SimConfig, Simulator};
    /// let sim = Simulator::start(SimConfig { users: 0, ..SimConfig::default() }).await?;
    /// sim.seed().user("bob@example.com").create()?;
    /// sim.seed().update_user("bob@example.com", |u| u.status = "inactive".into())?;
    /// assert_eq!(sim.user("bob@example.com").unwrap().status, "inactive");
    /// # Ok(()) }
    /// ```
    pub fn update_user(self, uid: &str, change: impl FnOnce(&mut User)) -> Result<User, SeedError> {
        let mut state = self.shared.write_now();
        let old = state
            .user_by_login(uid)
            .cloned()
            .ok_or_else(|| SeedError::NoSuchUser(uid.to_owned()))?;
        let mut new = old.clone();
        change(&mut new);
        new.uuid = old.uuid.clone();
        new.uid = new.uid.trim().to_lowercase();
        if new.uid.is_empty() {
            return Err(SeedError::EmptyLogin);
        }
        if !state.knows(&new.cid) {
            return Err(SeedError::UnknownCid(new.cid));
        }
        if new.uid != old.uid && state.user_by_login(&new.uid).is_some() {
            return Err(SeedError::LoginTaken(new.uid));
        }
        // Only the home tenant's index moves; grants stay where they apply.
        let grants = state
            .tenants
            .get_mut(&old.cid)
            .and_then(|t| t.grants.remove(&old.uuid));
        if let Some(home) = state.tenants.get_mut(&old.cid) {
            home.remove(&old.uuid);
            if let Some(grants) = grants {
                home.grants.insert(old.uuid.clone(), grants);
            }
        }
        if let Some(home) = state.tenants.get_mut(&new.cid) {
            home.insert(new.clone());
        }
        Ok(new)
    }

    /// Deletes the user with login `uid` and every grant they hold; false if there was none.
    pub fn remove_user(self, uid: &str) -> bool {
        let mut state = self.shared.write_now();
        let Some(user) = state.user_by_login(uid).cloned() else {
            return false;
        };
        state.remove_user(&user.cid, &user.uuid).is_some()
    }
}

/// A user being seeded: set any field, add grants, then [`UserSeed::create`].
#[must_use = "a seeded user is added only by create()"]
pub struct UserSeed<'a> {
    shared: &'a Shared,
    user: User,
    /// (CID, role, expiry) in the order given.
    grants: Vec<(Option<String>, String, Option<DateTime<Utc>>)>,
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn days(n: u32) -> chrono::Duration {
    chrono::Duration::days(i64::from(n))
}

impl UserSeed<'_> {
    /// The first name (default: the login's local part).
    pub fn first_name(mut self, name: &str) -> Self {
        self.user.first_name = name.to_owned();
        self
    }

    /// The last name (default `Seeded`).
    pub fn last_name(mut self, name: &str) -> Self {
        self.user.last_name = name.to_owned();
        self
    }

    /// `active` (default) or `inactive`.
    pub fn status(mut self, status: &str) -> Self {
        self.user.status = status.to_owned();
        self
    }

    /// `internal` (default), `external` or `partner`.
    pub fn user_type(mut self, user_type: &str) -> Self {
        self.user.user_type = user_type.to_owned();
        self
    }

    /// The home CID (default: the parent).
    pub fn cid(mut self, cid: &str) -> Self {
        self.user.cid = cid.to_owned();
        self
    }

    /// A fixed UUID (default: a random one).
    pub fn uuid(mut self, uuid: &str) -> Self {
        self.user.uuid = uuid.to_owned();
        self
    }

    /// When it was created (default: now by the simulator's clock); `updated_at` follows.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.user.created_at = text(at);
        self.user.updated_at = text(at);
        self
    }

    /// Created `n` days before the simulator's now.
    pub fn created_days_ago(self, n: u32) -> Self {
        let at = self.shared.clock().utc() - days(n);
        self.created_at(at)
    }

    /// The last login (default: never).
    pub fn last_login_at(mut self, at: DateTime<Utc>) -> Self {
        self.user.last_login_at = text(at);
        self
    }

    /// Last logged in `n` days before the simulator's now.
    pub fn last_login_days_ago(self, n: u32) -> Self {
        let at = self.shared.clock().utc() - days(n);
        self.last_login_at(at)
    }

    /// Grants `role` in the user's home CID.
    pub fn grant(mut self, role: &str) -> Self {
        self.grants.push((None, role.to_owned(), None));
        self
    }

    /// Grants `role` in `cid` (a Flight Control child, say).
    pub fn grant_in(mut self, cid: &str, role: &str) -> Self {
        self.grants
            .push((Some(cid.to_owned()), role.to_owned(), None));
        self
    }

    /// Makes the grant added last temporary: it lapses `ttl` after the simulator's now.
    pub fn expires_in(self, ttl: Duration) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let at = self
            .shared
            .clock()
            .utc()
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.expires_at(at)
    }

    /// Makes the grant added last temporary, lapsing at `at`. Without a grant, does nothing.
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        if let Some(last) = self.grants.last_mut() {
            last.2 = Some(at);
        }
        self
    }

    /// Adds the user and their grants, all or nothing, and answers the record.
    pub fn create(self) -> Result<User, SeedError> {
        let mut state = self.shared.write_now();
        let user = self.user;
        if user.uid.is_empty() {
            return Err(SeedError::EmptyLogin);
        }
        if state.user_by_login(&user.uid).is_some() {
            return Err(SeedError::LoginTaken(user.uid));
        }
        if !state.knows(&user.cid) {
            return Err(SeedError::UnknownCid(user.cid));
        }
        let grants: Vec<Grant> = self
            .grants
            .into_iter()
            .map(|(cid, role_id, at)| Grant {
                cid: cid.unwrap_or_else(|| user.cid.clone()),
                role_id,
                expires_at: at.map(text),
            })
            .collect();
        for g in &grants {
            if !state.knows(&g.cid) {
                return Err(SeedError::UnknownCid(g.cid.clone()));
            }
            if state.role(&g.cid, &g.role_id).is_none() {
                return Err(SeedError::UnknownRole {
                    role: g.role_id.clone(),
                    cid: g.cid.clone(),
                });
            }
        }
        for g in grants {
            if let Some(at) = g.expiry() {
                self.shared.lapses_at(at);
            }
            if let Some(tenant) = state.tenants.get_mut(&g.cid) {
                let held = tenant.grants.entry(user.uuid.clone()).or_default();
                held.retain(|h| h.role_id != g.role_id);
                held.push(g);
            }
        }
        if let Some(home) = state.tenants.get_mut(&user.cid) {
            home.insert(user.clone());
        }
        Ok(user)
    }
}

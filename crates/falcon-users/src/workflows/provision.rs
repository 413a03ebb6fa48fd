//! Create a user and grant roles as one operation, validated first, idempotent, and never leaving
//! a half-provisioned user without saying so.

use falcon_users_api::types::{DomainCreateUserRequest, DomainUserCreateRequest};
use tracing::{info, warn};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::model::ids::IdList;
use crate::model::role_ref::{RoleRef, check_roles};
use crate::model::validation::checked_identity;
use crate::model::views::User;
use crate::ops::grants::{GrantOptions, GrantQuery};
use crate::workflows::once::exactly_once;
use crate::workflows::settle::{Settle, Settled};
use crate::workflows::stop::Stop;

/// The workflow's name in [`Error::Stopped`].
const WORKFLOW: &str = "provisioning";

/// What to do when the user was created but granting the roles failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnGrantFailure {
    /// Delete the user again, so nothing is left half done (the default).
    #[default]
    RollBack,
    /// Keep the user and report exactly what exists ([`Error::ProvisionIncomplete`]).
    Report,
}

/// A user to provision: login, names, roles (by id or display name), and how to behave on
/// failure.
///
/// ```
/// use falcon_users::workflows::{OnGrantFailure, Provision};
/// let job = Provision::new("ann@example.com", ["Falcon Console Guest", "falconhost_analyst"])
///     .names("Ann", "Lee")
///     .on_grant_failure(OnGrantFailure::Report);
/// ```
#[derive(Debug, Clone)]
pub struct Provision {
    uid: String,
    first_name: Option<String>,
    last_name: Option<String>,
    roles: Vec<RoleRef>,
    cid: Option<Cid>,
    legacy: bool,
    on_grant_failure: OnGrantFailure,
    stop: Stop,
    settle: Settle,
}

/// What provisioning did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProvisionOutcome {
    /// The user was created and every role granted.
    Created {
        /// The new user.
        user: User,
        /// Roles granted.
        granted: Vec<String>,
    },
    /// The user existed; the roles it lacked were granted.
    RolesAdded {
        /// The existing user.
        user: User,
        /// Roles granted now (the others were already held).
        granted: Vec<String>,
    },
    /// The user existed with every requested role: nothing was changed.
    AlreadyProvisioned {
        /// The existing user.
        user: User,
    },
}

impl ProvisionOutcome {
    /// The user, new or existing.
    pub fn user(&self) -> &User {
        match self {
            ProvisionOutcome::Created { user, .. }
            | ProvisionOutcome::RolesAdded { user, .. }
            | ProvisionOutcome::AlreadyProvisioned { user } => user,
        }
    }

    /// The roles granted by this run (empty when nothing changed).
    pub fn granted(&self) -> &[String] {
        match self {
            ProvisionOutcome::Created { granted, .. }
            | ProvisionOutcome::RolesAdded { granted, .. } => granted,
            ProvisionOutcome::AlreadyProvisioned { .. } => &[],
        }
    }

    /// A short label: `created`, `roles added` or `already provisioned`.
    pub fn label(&self) -> &'static str {
        match self {
            ProvisionOutcome::Created { .. } => "created",
            ProvisionOutcome::RolesAdded { .. } => "roles added",
            ProvisionOutcome::AlreadyProvisioned { .. } => "already provisioned",
        }
    }
}

impl Provision {
    /// A user with login `uid` (an email) and the roles to grant, each named by id or display
    /// name (a [`RoleRef`]; a string is split on commas, as an [`IdList`] is). The names are
    /// resolved when the job runs, against the roles of the CID it provisions in.
    pub fn new(uid: impl Into<String>, roles: impl Into<IdList>) -> Self {
        Self {
            uid: uid.into().trim().to_lowercase(),
            first_name: None,
            last_name: None,
            roles: roles
                .into()
                .into_vec()
                .into_iter()
                .map(RoleRef::from)
                .collect(),
            cid: None,
            legacy: false,
            on_grant_failure: OnGrantFailure::default(),
            stop: Stop::new(),
            settle: Settle::new(),
        }
    }

    /// First and last name.
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// The CID to create the user and grant in (default: the handle's member CID, else the
    /// tenant of the token).
    pub fn cid(mut self, cid: Cid) -> Self {
        self.cid = Some(cid);
        self
    }

    /// Create through the legacy `CreateUser` operation instead of `createUserV1`.
    pub fn legacy_create(mut self, legacy: bool) -> Self {
        self.legacy = legacy;
        self
    }

    /// Roll back (default) or report when the grant fails after the create.
    pub fn on_grant_failure(mut self, mode: OnGrantFailure) -> Self {
        self.on_grant_failure = mode;
        self
    }

    /// Stop between steps when `stop` is raised: before the create nothing is changed; after
    /// it, the grant is not started and the user is handled as on a failed grant (deleted again
    /// by default, see [`Provision::on_grant_failure`]), the error's source being
    /// [`Error::Stopped`].
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// How long to wait, once the user is created or granted, for the service to show them
    /// (default [`Settle::new`]: up to 90 s), so that a lookup right after finds them.
    pub fn settle(mut self, settle: Settle) -> Self {
        self.settle = settle;
        self
    }

    /// The login this job provisions.
    pub fn uid(&self) -> &str {
        &self.uid
    }
}

impl Falcon {
    /// Creates the user and grants the roles, after checking the email and resolving every role
    /// (by id or display name, [`Falcon::resolve_roles`]) against the roles the CID offers: a
    /// role that matches none is refused before anything is created, with the nearest id or
    /// name. Provisioning a user that already has the roles changes nothing.
    ///
    /// A create whose response was lost (timeout, connection reset, 5xx) is not sent again
    /// blindly: the user is looked up by `uid` first, and only created if absent. A create
    /// refused because another caller created the same login meanwhile ends as that user's
    /// outcome (`RolesAdded` or `AlreadyProvisioned`), not as an error.
    ///
    /// Before it returns, it waits ([`Provision::settle`]) until the service shows the user
    /// with the roles granted: its listings lag its writes, and a rerun that did not find the
    /// user would create them again.
    pub async fn provision(&self, job: &Provision) -> Result<ProvisionOutcome> {
        // Refused here, before the lookups, as the create would refuse them.
        checked_identity(&job.uid, job.first_name.clone(), job.last_name.clone())?;
        check_roles("role_ids", &job.roles)?;
        let falcon = match (&job.cid, self.member_cid()) {
            (Some(cid), member) if member != Some(cid) => self.for_member(cid),
            _ => self.clone(),
        };
        let outcome = falcon.provision_in(job).await?;
        if let ProvisionOutcome::Created { granted, .. }
        | ProvisionOutcome::RolesAdded { granted, .. } = &outcome
        {
            falcon
                .settle(&job.settle, &job.uid, || async {
                    let Some(found) = falcon.find_user_by_uid(&job.uid).await? else {
                        return Ok(false);
                    };
                    let uuid = found.uuid.unwrap_or_default();
                    let held = falcon.held_role_ids(&uuid, GrantQuery::new()).await?;
                    Ok(granted.iter().all(|r| held.contains(r)))
                })
                .await;
        }
        Ok(outcome)
    }

    /// [`Falcon::provision`]'s changes, on the handle of the CID it provisions in.
    async fn provision_in(&self, job: &Provision) -> Result<ProvisionOutcome> {
        let falcon = self;
        let role_ids = IdList::from(
            falcon
                .resolve_role_refs("role_ids", &job.roles, None)
                .await?,
        );

        if let Some(user) = falcon.find_user_by_uid(&job.uid).await? {
            return falcon.complete_existing(job, &role_ids, user).await;
        }
        let steps = [
            format!("create user {}", job.uid),
            format!("grant {}", role_ids.as_slice().join(", ")),
        ];
        job.stop.before(WORKFLOW, &steps, 0)?;
        let user = match falcon.create_once(job).await {
            Ok(user) => user,
            // Someone else created the login between the lookup and the create (another run
            // with the same roster row): their user is the one to complete, not an error.
            Err(refused) if may_be_taken(&refused) => {
                // Taken, yet maybe not listed: the service's reads lag its writes, so a login
                // created just before (by another run, or a run that did not wait) is waited
                // for as a change of this job's own would be.
                // The wait's first check is the lookup itself; with no wait, one lookup.
                let found = std::sync::Mutex::new(None);
                let settled = falcon
                    .settle(&job.settle, &job.uid, || async {
                        let user = falcon.find_user_by_uid(&job.uid).await?;
                        let listed = user.is_some();
                        *found.lock().unwrap_or_else(|p| p.into_inner()) = user;
                        Ok(listed)
                    })
                    .await;
                let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
                if settled == Settled::NotChecked {
                    found = falcon.find_user_by_uid(&job.uid).await.unwrap_or(None);
                }
                match found {
                    Some(user) => {
                        info!(uid = %job.uid, "created concurrently by another caller");
                        return falcon.complete_existing(job, &role_ids, user).await;
                    }
                    None => return Err(refused),
                }
            }
            Err(other) => return Err(other),
        };
        let uuid = user.uuid.clone().unwrap_or_default();
        if let Err(stopped) = job.stop.before(WORKFLOW, &steps, 1) {
            return Err(falcon
                .after_failed_grant(job, &role_ids, &uuid, stopped)
                .await);
        }
        let cid = user.cid.as_deref().and_then(|c| c.parse::<Cid>().ok());
        match falcon.grant_once(&uuid, &role_ids, cid.as_ref()).await {
            Ok(()) => {
                info!(uid = %job.uid, uuid = %uuid, "provisioned");
                Ok(ProvisionOutcome::Created {
                    user,
                    granted: role_ids.into_vec(),
                })
            }
            Err(grant_error) => Err(falcon
                .after_failed_grant(job, &role_ids, &uuid, grant_error)
                .await),
        }
    }

    /// Grants, and when the answer is lost or a 5xx, looks at the user's grants before granting
    /// again: granting is a set operation, so a repeat after checking cannot double anything.
    async fn grant_once(&self, uuid: &str, role_ids: &IdList, cid: Option<&Cid>) -> Result<()> {
        exactly_once(
            self,
            || {
                let options = GrantOptions {
                    cid: cid.cloned(),
                    expires_at: None,
                };
                self.grant_roles(uuid, role_ids.clone(), options)
            },
            || async { self.holds_all(uuid, role_ids).await.then_some(()) },
        )
        .await
    }

    async fn complete_existing(
        &self,
        job: &Provision,
        role_ids: &IdList,
        user: User,
    ) -> Result<ProvisionOutcome> {
        let uuid = user.uuid.clone().unwrap_or_default();
        let held = self.held_role_ids(&uuid, GrantQuery::new()).await?;
        let missing: Vec<String> = role_ids
            .as_slice()
            .iter()
            .filter(|r| !held.contains(*r))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(ProvisionOutcome::AlreadyProvisioned { user });
        }
        let step = [format!("grant {} to {uuid}", missing.join(", "))];
        job.stop.before(WORKFLOW, &step, 0)?;
        let cid = user.cid.as_deref().and_then(|c| c.parse::<Cid>().ok());
        let options = GrantOptions {
            cid,
            expires_at: None,
        };
        self.grant_roles(&uuid, missing.clone(), options).await?;
        Ok(ProvisionOutcome::RolesAdded {
            user,
            granted: missing,
        })
    }

    /// Creates the user; if the outcome is unknown, looks it up before trying again.
    async fn create_once(&self, job: &Provision) -> Result<User> {
        let names = (job.first_name.clone(), job.last_name.clone());
        self.create_exactly_once(&job.uid, names, job.cid.as_ref(), job.legacy)
            .await
    }

    /// Creates a user once: when the outcome is unknown, the login is looked up before the
    /// create is sent again (a lookup that fails leaves it unknown: no blind create then
    /// either).
    pub(crate) async fn create_exactly_once(
        &self,
        uid: &str,
        (first_name, last_name): (Option<String>, Option<String>),
        cid: Option<&Cid>,
        legacy: bool,
    ) -> Result<User> {
        exactly_once(
            self,
            || async {
                if legacy {
                    self.create_user_legacy(DomainUserCreateRequest {
                        first_name: first_name.clone(),
                        last_name: last_name.clone(),
                        password: None,
                        uid: Some(uid.to_owned()),
                    })
                    .await
                } else {
                    self.create_user(DomainCreateUserRequest {
                        cid: cid.map(ToString::to_string),
                        first_name: first_name.clone(),
                        last_name: last_name.clone(),
                        password: None,
                        uid: Some(uid.to_owned()),
                    })
                    .await
                }
            },
            || async { self.find_user_by_uid(uid).await.ok().flatten() },
        )
        .await
    }

    /// Whether the user holds every role (false when that cannot be read).
    async fn holds_all(&self, uuid: &str, role_ids: &IdList) -> bool {
        let held = self.held_role_ids(uuid, GrantQuery::new()).await;
        held.is_ok_and(|held| role_ids.as_slice().iter().all(|r| held.contains(r)))
    }

    async fn after_failed_grant(
        &self,
        job: &Provision,
        role_ids: &IdList,
        uuid: &str,
        grant_error: Error,
    ) -> Error {
        let rolled_back = match job.on_grant_failure {
            OnGrantFailure::Report => false,
            OnGrantFailure::RollBack => self.delete_once(uuid).await,
        };
        Error::ProvisionIncomplete {
            uid: job.uid.clone(),
            user_uuid: uuid.to_owned(),
            rolled_back,
            roles_not_granted: role_ids.as_slice().to_vec(),
            source: Box::new(grant_error),
        }
    }

    /// Deletes the user; when the answer is lost, checks whether it is gone before trying again.
    /// True when the user no longer exists.
    async fn delete_once(&self, uuid: &str) -> bool {
        let deleted = self.delete_exactly_once(uuid).await;
        if let Err(err) = &deleted {
            warn!(uuid, error = %err, "rollback delete failed; the user still exists");
        }
        deleted.is_ok()
    }

    /// Deletes a user once: when the answer is lost, whether they are gone is read before the
    /// delete is sent again.
    pub(crate) async fn delete_exactly_once(&self, uuid: &str) -> Result<()> {
        exactly_once(
            self,
            || self.delete_user(uuid),
            || async {
                let found = self.get_users(uuid).await;
                found.is_ok_and(|f| f.resources.is_empty()).then_some(())
            },
        )
        .await
    }
}

/// A refused create after which the login may exist: the service refuses a duplicate login with
/// a 400 (or a 409), in words that are not part of the contract, so the lookup decides.
pub(crate) fn may_be_taken(err: &Error) -> bool {
    matches!(
        err,
        Error::Api {
            status: 400 | 409,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_refusals_mean_the_login_may_be_taken() {
        let api = |status| Error::Api {
            operation: "createUserV1",
            status,
            trace_id: None,
            errors: Vec::new(),
            raw_body: None,
        };
        for (err, expected) in [
            (api(400), true),
            (api(409), true),
            (api(403), false),
            (api(500), false),
            (Error::invalid("uid", "bad"), false),
            (
                Error::Timeout {
                    operation: "createUserV1",
                },
                false,
            ),
        ] {
            assert_eq!(may_be_taken(&err), expected, "{err:?}");
        }
    }
}

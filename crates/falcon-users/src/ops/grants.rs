//! Grants: a user's roles in a CID (direct and Flight Control), granting and revoking.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use falcon_users_api::operations::{COMBINED_USER_ROLES_V2, USER_ROLES_ACTION_V1};
use falcon_users_api::types::{CombinedUserRolesV2Sort, FlightcontrolapiGrantInput};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::model::ids::IdList;
use crate::model::user_ref::UserRef;
use crate::model::validation::{check_expiry, checked_id, page_size};
use crate::model::views::Grant;
use crate::ops::paging::{DEFAULT_OFFSET_CEILING, Listing, Page, Slice, listing};
use crate::runtime::response::call;

/// What tells two grants of one user apart: the role, where it is held, and how.
type GrantKey = [Option<String>; 6];

fn grant_key(g: &Grant) -> GrantKey {
    [
        Some(g.role_id.clone()),
        g.cid.clone(),
        g.grant_type.clone(),
        g.user_group_id.clone(),
        g.cid_group_id.clone(),
        g.expires_at.clone(),
    ]
}

/// Which grants of a user to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrantQuery {
    filter: Option<String>,
    sort: Option<CombinedUserRolesV2Sort>,
    direct_only: bool,
    page_size: Option<u64>,
    cid: Option<Cid>,
}

impl GrantQuery {
    /// All grants, default order.
    pub fn new() -> Self {
        Self::default()
    }

    /// FQL on `expires_at`, `role_id`, `role_name`.
    pub fn filter(mut self, fql: impl Into<String>) -> Self {
        self.filter = Some(fql.into());
        self
    }

    /// The order.
    pub fn sort(mut self, sort: CombinedUserRolesV2Sort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Only grants made directly in the CID, not inherited through Flight Control.
    pub fn direct_only(mut self, direct: bool) -> Self {
        self.direct_only = direct;
        self
    }

    /// Grants per page request, 1–500 (default 500).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The grants held in `cid` (a Flight Control child the parent acts in, e.g. a parent
    /// user's roles there) instead of the handle's CID.
    ///
    /// ```
    /// let child: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
    /// let query = falcon_users::GrantQuery::new().cid(child);
    /// # drop(query);
    /// ```
    pub fn cid(mut self, cid: Cid) -> Self {
        self.cid = Some(cid);
        self
    }
}

/// How [`Falcon::grant_roles`] grants: in which CID, and until when.
///
/// ```
/// use chrono::{Duration, Utc};
/// use falcon_users::GrantOptions;
/// let child: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
/// let options = GrantOptions::new()
///     .cid(child)
///     .expires_at(Utc::now() + Duration::hours(8));
/// assert!(options.expires_at.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrantOptions {
    /// The CID to grant in (default: the handle's member CID, else the user's home CID).
    pub cid: Option<Cid>,
    /// When the grant ends (1 hour to 7 days ahead; default: never).
    pub expires_at: Option<DateTime<Utc>>,
}

impl GrantOptions {
    /// A permanent grant in the default CID.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grant in `cid` (a Flight Control child the parent acts in) instead of the default.
    pub fn cid(mut self, cid: Cid) -> Self {
        self.cid = Some(cid);
        self
    }

    /// End the grant at `at`, between 1 hour and 7 days from now (checked before any request).
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// How [`Falcon::revoke_roles`] revokes: in which CID.
///
/// ```
/// let child: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
/// let options = falcon_users::RevokeOptions::new().cid(child);
/// assert!(options.cid.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokeOptions {
    /// The CID to revoke in (default: the handle's member CID, else the user's home CID).
    pub cid: Option<Cid>,
}

impl RevokeOptions {
    /// Revoke in the default CID.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revoke in `cid` (a Flight Control child the parent acts in) instead of the default.
    pub fn cid(mut self, cid: Cid) -> Self {
        self.cid = Some(cid);
        self
    }
}

impl Falcon {
    /// Every grant of a user in this handle's CID, or the query's ([`GrantQuery::cid`])
    /// (`CombinedUserRolesV2`, paged), each once. The user is named by login or UUID (a login
    /// costs one lookup before the first page).
    /// The service pages no further than 10,000 grants: past that (no user holds so many) the
    /// stream ends with [`Error::ListingIncomplete`] after the grants it reached. So does a
    /// listing whose pages hold fewer grants than the service counted (a total of 200,000 and
    /// an empty second page): the grants it got come first, then the error, never a short
    /// success. A grant sent twice comes once (see [`Falcon::user_ids`]).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::GrantQuery;
    /// use futures::TryStreamExt;
    /// let grants: Vec<_> = falcon
    ///     .grants("ann@example.com", GrantQuery::new())
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn grants(
        &self,
        user: impl Into<UserRef>,
        query: GrantQuery,
    ) -> BoxStream<'static, Result<Grant>> {
        match user.into() {
            UserRef::Uuid(uuid) => self.grants_of(&uuid, query),
            login @ UserRef::Uid(_) => {
                let falcon = self.clone();
                let uuid = async move {
                    let uuid = falcon.user_uuid(login).await?;
                    Ok(falcon.grants_of(&uuid, query))
                };
                futures::stream::once(uuid).try_flatten().boxed()
            }
        }
    }

    fn grants_of(&self, user_uuid: &str, query: GrantQuery) -> BoxStream<'static, Result<Grant>> {
        let checked = checked_id("user_uuid", user_uuid)
            .map(str::to_owned)
            .and_then(|uuid| Ok((uuid, page_size(query.page_size)?)));
        let (uuid, size) = match checked {
            Ok(v) => v,
            Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
        };
        let falcon = self.clone();
        let spec = Listing {
            operation: &COMBINED_USER_ROLES_V2,
            page_size: size,
            ceiling: DEFAULT_OFFSET_CEILING,
            split: false,
            duplicates: self.duplicates(),
        };
        listing(spec, grant_key, move |slice: Slice| {
            let (falcon, query, uuid) = (falcon.clone(), query.clone(), uuid.clone());
            let (offset, limit) = (slice.offset, slice.limit);
            async move {
                let api = falcon.ready().await?;
                let mut req = api
                    .combined_user_roles_v2()
                    .user_uuid(uuid)
                    .offset(offset)
                    .limit(limit)
                    .direct_only(query.direct_only);
                let cid = query.cid.as_ref().map(ToString::to_string);
                if let Some(cid) = cid.or_else(|| falcon.cid_param()) {
                    req = req.cid(cid);
                }
                if let Some(filter) = &query.filter {
                    req = req.filter(filter.as_str());
                }
                if let Some(sort) = query.sort {
                    req = req.sort(sort);
                }
                let page = call(&COMBINED_USER_ROLES_V2, req.send()).await?;
                Ok(Page {
                    total: page.meta.pagination.map(|p| p.total.max(0) as u64),
                    items: page.resources.unwrap_or_default(),
                })
            }
        })
    }

    /// The role ids a user holds, as [`Falcon::grants`] lists them (each once).
    pub(crate) async fn held_role_ids(
        &self,
        user: impl Into<UserRef>,
        query: GrantQuery,
    ) -> Result<BTreeSet<String>> {
        self.grants(user, query)
            .map_ok(|g| g.role_id)
            .try_collect()
            .await
    }

    /// Grants roles to a user named by login or UUID (`userRolesActionV1`, action `grant`).
    /// The CID defaults to the member CID of this handle, else the user's home CID (looked
    /// up). The roles and the expiry are checked before any request; a login costs one lookup.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use chrono::{Duration, Utc};
    /// use falcon_users::GrantOptions;
    /// falcon
    ///     .grant_roles("ann@example.com", "falcon_console_guest", GrantOptions::new())
    ///     .await?;
    /// let until = GrantOptions::new().expires_at(Utc::now() + Duration::hours(8));
    /// falcon.grant_roles("ann@example.com", ["remote_responder"], until).await?;
    /// # Ok(()) }
    /// ```
    pub async fn grant_roles(
        &self,
        user: impl Into<UserRef>,
        role_ids: impl Into<IdList>,
        options: GrantOptions,
    ) -> Result<()> {
        if let Some(at) = options.expires_at {
            check_expiry(at)?;
        }
        self.role_action(
            "grant",
            user.into(),
            role_ids.into(),
            options.cid.as_ref(),
            options.expires_at.map(|t| t.to_rfc3339()),
        )
        .await
    }

    /// Revokes roles from a user named by login or UUID (`userRolesActionV1`, action
    /// `revoke`); the CID as in [`Falcon::grant_roles`]. The service accepts revoking a role
    /// the user does not hold: read [`Falcon::grants`] first to tell the two apart.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::RevokeOptions;
    /// falcon
    ///     .revoke_roles("ann@example.com", "falcon_console_guest", RevokeOptions::new())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_roles(
        &self,
        user: impl Into<UserRef>,
        role_ids: impl Into<IdList>,
        options: RevokeOptions,
    ) -> Result<()> {
        self.role_action(
            "revoke",
            user.into(),
            role_ids.into(),
            options.cid.as_ref(),
            None,
        )
        .await
    }

    async fn role_action(
        &self,
        action: &str,
        user: UserRef,
        role_ids: IdList,
        cid: Option<&Cid>,
        expires_at: Option<String>,
    ) -> Result<()> {
        if let UserRef::Uuid(uuid) = &user {
            checked_id("user_uuid", uuid)?;
        }
        role_ids.validate("role_ids")?;
        let uuid = self.user_uuid(user).await?;
        let cid = match (cid, self.cid_param()) {
            (Some(cid), _) => cid.to_string(),
            (None, Some(member)) => member,
            (None, None) => self.home_cid(&uuid).await?,
        };
        let api = self.ready().await?;
        for chunk in role_ids.chunks(self.batch().query_ids) {
            let body = FlightcontrolapiGrantInput {
                action: Some(action.to_owned()),
                cid: Some(cid.clone()),
                expires_at: expires_at.clone(),
                role_ids: chunk,
                uuid: Some(uuid.clone()),
            };
            call(
                &USER_ROLES_ACTION_V1,
                api.user_roles_action_v1().body(body).send(),
            )
            .await
            .map_err(|err| role_refused(err, &cid))?;
        }
        Ok(())
    }

    /// The CID a user belongs to, read from the user entity.
    async fn home_cid(&self, user_uuid: &str) -> Result<String> {
        let found = self.get_users(user_uuid).await?;
        found
            .resources
            .into_iter()
            .next()
            .and_then(|u| u.cid)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid("user_uuid", format!("no user {user_uuid} in this CID")))
    }
}

/// A refused role ([`Error::refused_role`]) as [`Error::RoleRefused`], naming the role and the
/// CID; any other error as it is.
fn role_refused(err: Error, cid: &str) -> Error {
    match err.refused_role() {
        Some(role) => Error::RoleRefused {
            operation: USER_ROLES_ACTION_V1.id,
            role: role.to_owned(),
            cid: cid.to_owned(),
            trace_id: err.trace_id().map(str::to_owned),
        },
        None => err,
    }
}

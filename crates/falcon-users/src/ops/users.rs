//! Users: search, stream, fetch by id, create, rename, delete, account actions.

use falcon_users_api::Operation;
use falcon_users_api::operations::{
    CREATE_USER_V1, DELETE_USER_V1, LEGACY_CREATE_USER, QUERY_USER_V1, RETRIEVE_USERS_GET_V1,
    UPDATE_USER_V1, USER_ACTION_V1,
};
use falcon_users_api::types::{
    DomainCreateUserRequest, DomainUpdateUserRequest, DomainUserAction, DomainUserActionActionName,
    DomainUserActionRequest, DomainUserCreateRequest, MsaspecIdsRequest, MsaspecQueryResponse,
    QueryUserV1Sort,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::fql;
use crate::model::ids::IdList;
use crate::model::user_filter::{FilterPlan, Placement, UserFilter, placement};
use crate::model::user_ref::UserRef;
use crate::model::validation::{checked_id, checked_identity, checked_name, page_size};
use crate::model::views::{User, UserStatus};
use crate::ops::paging::{
    DEFAULT_OFFSET_CEILING, Entities, Listing, Page, Slice, batched, detailed, listing,
};
use crate::runtime::response::call;

/// Which users to list: an FQL filter, the everyday questions ([`UserQuery::status`],
/// [`UserQuery::never_logged_in`], [`UserQuery::last_login_before`],
/// [`UserQuery::created_before`]), a sort, and the page size used underneath.
///
/// A question the users query can filter on is sent to the service as FQL; the others are
/// answered here, on every user the rest of the query lists (so those users are all read).
/// [`UserQuery::filter_plan`] says which is which.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use falcon_users::{UserQuery, UserStatus};
/// let june = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
/// let q = UserQuery::new()
///     .filter("last_name:'Lee'")
///     .status(UserStatus::Active)
///     .last_login_before(june)
///     .page_size(500);
/// let plan = q.filter_plan();
/// assert_eq!((plan.service.len(), plan.local.len()), (1, 1));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct UserQuery {
    filter: Option<String>,
    filters: Vec<UserFilter>,
    sort: Option<QueryUserV1Sort>,
    page_size: Option<u64>,
    offset_ceiling: Option<u64>,
}

impl UserQuery {
    /// Every user, default order.
    pub fn new() -> Self {
        Self::default()
    }

    /// An FQL filter, e.g. `status:'active'` (build values with [`crate::fql::eq`]).
    pub fn filter(mut self, fql: impl Into<String>) -> Self {
        self.filter = Some(fql.into());
        self
    }

    /// The FQL filter, if any (what a record of the query, such as evidence, states).
    pub fn filter_text(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// This query narrowed by the FQL condition `term` (`(<filter>)+<term>`, or `term` alone
    /// when there is no filter).
    pub(crate) fn and_filter(mut self, term: String) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(filter) if !filter.trim().is_empty() => format!("({filter})+{term}"),
            _ => term,
        });
        self
    }

    /// Only users with this status (sent to the service as FQL).
    pub fn status(self, status: UserStatus) -> Self {
        self.with(UserFilter::Status(status))
    }

    /// Only users who never signed in (answered here: the service cannot filter on
    /// `last_login_at`).
    pub fn never_logged_in(self) -> Self {
        self.with(UserFilter::NeverLoggedIn)
    }

    /// Only users whose last sign-in was before `at` (answered here); a user who never
    /// signed in is not one of them ([`UserQuery::never_logged_in`] finds those).
    pub fn last_login_before(self, at: DateTime<Utc>) -> Self {
        self.with(UserFilter::LastLoginBefore(at))
    }

    /// Only users created before `at` (answered here: the service cannot filter on
    /// `created_at`).
    pub fn created_before(self, at: DateTime<Utc>) -> Self {
        self.with(UserFilter::CreatedBefore(at))
    }

    fn with(mut self, filter: UserFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// The questions asked besides the FQL filter, in the order given.
    pub fn filters(&self) -> &[UserFilter] {
        &self.filters
    }

    /// Which of [`UserQuery::filters`] the service answers and which are answered here.
    pub fn filter_plan(&self) -> FilterPlan {
        FilterPlan::new(&self.filters, QUERY_USER_V1.filter_fields)
    }

    /// The query as the service is asked it (the questions it can answer folded into the
    /// FQL), and the questions left to answer here on each user read.
    /// A query without questions goes as it is, not copied (each page of a listing asks).
    fn split(&self) -> (Cow<'_, UserQuery>, Vec<UserFilter>) {
        if self.filters.is_empty() {
            return (Cow::Borrowed(self), Vec::new());
        }
        let mut sent = UserQuery {
            filters: Vec::new(),
            ..self.clone()
        };
        let mut local = Vec::new();
        for filter in &self.filters {
            match placement(filter, QUERY_USER_V1.filter_fields) {
                Placement::Service(term) => sent = sent.and_filter(term),
                Placement::Local | Placement::LocalOnGrants => local.push(filter.clone()),
            }
        }
        (Cow::Owned(sent), local)
    }

    /// Whether the query narrows the listing at all (FQL or a question).
    pub(crate) fn narrows(&self) -> bool {
        self.filter.as_deref().is_some_and(|f| !f.trim().is_empty()) || !self.filters.is_empty()
    }

    /// The FQL the service is sent (the filter with the questions it answers).
    pub(crate) fn sent_filter(&self) -> Option<String> {
        self.split().0.filter.clone()
    }

    /// The order, e.g. `QueryUserV1Sort::UidAsc`.
    pub fn sort(mut self, sort: QueryUserV1Sort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Ids per page request, 1–500 (default 500: fewest requests).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The largest `offset + limit` the service accepts (default
    /// [`DEFAULT_OFFSET_CEILING`](crate::paging::DEFAULT_OFFSET_CEILING), the Falcon API's):
    /// [`Falcon::user_ids`] lists a query that counts more users than this in parts. Only
    /// worth changing for a service that pages further (fewer parts) or less far (the listing
    /// also learns that from the service's refusal, at the cost of a few requests).
    ///
    /// ```
    /// use falcon_users::UserQuery;
    /// let q = UserQuery::new().offset_ceiling(50_000);
    /// ```
    pub fn offset_ceiling(mut self, ceiling: u64) -> Self {
        self.offset_ceiling = Some(ceiling);
        self
    }

    fn listing(&self, falcon: &Falcon) -> Result<Listing> {
        let ceiling = self.offset_ceiling.unwrap_or(DEFAULT_OFFSET_CEILING);
        if ceiling == 0 {
            return Err(Error::invalid("offset_ceiling", "must be at least 1"));
        }
        Ok(Listing {
            operation: &QUERY_USER_V1,
            page_size: page_size(self.page_size)?,
            ceiling,
            split: true,
            duplicates: falcon.duplicates(),
        })
    }
}

/// A change to a user's names ([`Falcon::update_user`]): set the first name, the last name or
/// both; a name not set is left as it is.
///
/// ```
/// use falcon_users::UserUpdate;
/// let change = UserUpdate::new().first_name("Ann").last_name("Lee");
/// assert_eq!(change.first_name.as_deref(), Some("Ann"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserUpdate {
    /// The new first name, if it changes.
    pub first_name: Option<String>,
    /// The new last name, if it changes.
    pub last_name: Option<String>,
}

impl UserUpdate {
    /// No change yet: set at least one name.
    pub fn new() -> Self {
        Self::default()
    }

    /// The new first name (trimmed; checked before the request).
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.first_name = Some(name.into());
        self
    }

    /// The new last name (trimmed; checked before the request).
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.last_name = Some(name.into());
        self
    }
}

impl Falcon {
    /// One page of user ids (`queryUserV1`).
    pub async fn query_user_ids(
        &self,
        query: &UserQuery,
        offset: u64,
    ) -> Result<MsaspecQueryResponse> {
        let limit = page_size(query.page_size)?;
        let (sent, local) = query.split();
        if let Some(first) = local.first() {
            return Err(Error::invalid(
                "query",
                format!(
                    "\"{first}\" is answered on the users themselves, not by the service: \
                     list them with Falcon::users or Falcon::user_ids"
                ),
            ));
        }
        self.query_ids(&sent, sent.filter.clone(), offset, limit)
            .await
    }

    async fn query_ids(
        &self,
        query: &UserQuery,
        filter: Option<String>,
        offset: u64,
        limit: u64,
    ) -> Result<MsaspecQueryResponse> {
        let api = self.ready().await?;
        let mut req = api.query_user_v1().offset(offset).limit(limit);
        if let Some(filter) = filter {
            req = req.filter(filter);
        }
        if let Some(sort) = query.sort {
            req = req.sort(sort);
        }
        call(&QUERY_USER_V1, req.send()).await
    }

    /// Every user id matching `query`, page after page (the next request is sent while the
    /// current page is consumed).
    ///
    /// **Complete for any tenant size.** The service pages no further than
    /// [`UserQuery::offset_ceiling`] (10,000) rows of one query. When the first page counts
    /// more, the query is listed in parts instead: the users whose login (`uid`) starts with
    /// `a`, then `b`, ... (FQL `(<filter>)+uid:'a*'`), a part still too big split by its next
    /// character, and so on. The parts never overlap, so no id comes twice; their counts are
    /// checked against the whole's, and logins the parts miss (a character outside printable
    /// ASCII, say) end the stream with [`Error::ListingIncomplete`] saying how many, after
    /// every id that could be listed. A listing in parts comes part by part, each in the
    /// query's sort order, the parts in the order of their characters (letters, digits, then
    /// the rest); it costs one more request per part counted, a few dozen per split.
    ///
    /// **Never a short success.** Each page is asked for from where the last one was asked to
    /// end, whatever it held: an id sent twice (on two pages, or a page longer than asked)
    /// comes once and is counted in [`StatsSnapshot::duplicates_dropped`](crate::StatsSnapshot).
    /// A part that ends with fewer distinct ids than its first page counted (an empty or short
    /// page before the count) ends the stream with [`Error::ListingIncomplete`] after every id
    /// it could list.
    ///
    /// A server that answers nonsense cannot make it loop: each part stops at the count of its
    /// first page, at the ceiling, at an empty page and at a page of ids already delivered
    /// (the offset is ignored); counts that cannot be true end it with
    /// [`Error::ListingIncomplete`]. Dropping the stream cancels the request in flight.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::UserQuery;
    /// use futures::TryStreamExt;
    ///
    /// let ids: Vec<String> = falcon
    ///     .user_ids(UserQuery::new().filter("status:'active'"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// A question the service cannot answer ([`UserQuery::filter_plan`]'s `local`) is
    /// answered on the users themselves: the ids then come from [`Falcon::users`], which
    /// reads every user the rest of the query lists.
    pub fn user_ids(&self, query: UserQuery) -> BoxStream<'static, Result<String>> {
        let (sent, local) = query.split();
        if local.is_empty() {
            return self.listed_ids(sent.into_owned());
        }
        self.users(query)
            .map_ok(|user| user.uuid.unwrap_or_default())
            .boxed()
    }

    /// The ids the service lists for `query` (its FQL only), page after page.
    fn listed_ids(&self, query: UserQuery) -> BoxStream<'static, Result<String>> {
        let spec = match query.listing(self) {
            Ok(spec) => spec,
            Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
        };
        let falcon = self.clone();
        listing(spec, String::clone, move |slice: Slice| {
            let (falcon, query) = (falcon.clone(), query.clone());
            async move {
                let filter = slice.part.filter(query.filter.as_deref());
                let page = falcon
                    .query_ids(&query, filter, slice.offset, slice.limit)
                    .await?;
                Ok(Page {
                    total: page.meta.pagination.map(|p| p.total.max(0) as u64),
                    items: page.resources.unwrap_or_default(),
                })
            }
        })
    }

    /// Every user matching `query`, with details: ids as [`Falcon::user_ids`] lists them (so
    /// complete for any tenant size), then entities in batches (`queryUserV1` →
    /// `retrieveUsersGETV1`), a few batches in flight, order kept. Memory stays constant in the
    /// number of users. A user deleted between the two steps is left out. Every user fetched
    /// before an error is delivered, then the error, then the stream ends. The questions the
    /// service cannot answer ([`UserQuery::filter_plan`]) are answered on each user fetched.
    pub fn users(&self, query: UserQuery) -> BoxStream<'static, Result<User>> {
        self.users_batched(query, self.batch().concurrency)
    }

    /// [`Falcon::users`] with `batches` entity batches in flight (each up to 500 users held).
    pub(crate) fn users_batched(
        &self,
        query: UserQuery,
        batches: usize,
    ) -> BoxStream<'static, Result<User>> {
        let falcon = self.clone();
        let batch = self.batch();
        let size = page_size(query.page_size).unwrap_or(500);
        let (sent, local) = query.split();
        let users = detailed(
            self.listed_ids(sent.into_owned()),
            batch.body_ids.min(500),
            size,
            batches,
            move |ids| {
                let falcon = falcon.clone();
                async move { falcon.retrieve_users(ids).await }
            },
        );
        if local.is_empty() {
            return users;
        }
        users
            .try_filter(move |user| future::ready(local.iter().all(|f| f.matches(user))))
            .boxed()
    }

    /// Users by UUID, any number: split into batches, fetched concurrently, merged in order.
    pub async fn get_users(&self, ids: impl Into<IdList>) -> Result<Entities<User>> {
        let ids = ids.into();
        ids.validate("ids")?;
        let batch = self.batch();
        batched(ids.chunks(batch.body_ids), batch.concurrency, |chunk| {
            self.retrieve_users(chunk)
        })
        .await
    }

    /// The user whose login (`uid`, usually the email) is `uid`, if any.
    pub async fn find_user_by_uid(&self, uid: &str) -> Result<Option<User>> {
        match self.uuid_of_login(uid).await? {
            Some(uuid) => Ok(self
                .retrieve_users(vec![uuid])
                .await?
                .resources
                .into_iter()
                .next()),
            None => Ok(None),
        }
    }

    /// The user named by login or UUID, if they exist: a login is looked up (`queryUserV1`),
    /// then the entity fetched (`retrieveUsersGETV1`); an unknown UUID is `None`, not an error.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// if let Some(user) = falcon.find_user("ann@example.com").await? {
    ///     println!("{:?}", user.uuid);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_user(&self, user: impl Into<UserRef>) -> Result<Option<User>> {
        match user.into() {
            UserRef::Uid(uid) => self.find_user_by_uid(&uid).await,
            UserRef::Uuid(uuid) => {
                let uuid = checked_id("user", &uuid)?;
                match self.retrieve_users(vec![uuid.to_owned()]).await {
                    Ok(found) => Ok(found
                        .resources
                        .into_iter()
                        .find(|u| u.uuid.as_deref() == Some(uuid))),
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Users named by login or UUID, in as few requests as the API allows: the logins in one
    /// `queryUserV1` (an FQL OR of their `uid`s; a hundred logins, or a short URL's worth, per
    /// request), then every UUID, named or found, in one `retrieveUsersGETV1` (5,000 per
    /// request). Two requests for a mix of up to a hundred logins and any UUIDs; one for UUIDs
    /// alone; none for an empty list.
    ///
    /// Returns the users found, in the order named and each once (a user named by login and by
    /// UUID comes once), with the errors the service sent beside them (an unknown UUID's, for
    /// one); and the users named that do not exist, in the order named. A UUID that could not
    /// be an id is refused before any request, naming it.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let (found, missing) = falcon
    ///     .resolve_users(["ann@example.com", "5a1e0000000000000000000000000000"])
    ///     .await?;
    /// for user in &found.resources {
    ///     println!("{:?} {:?}", user.uid, user.uuid);
    /// }
    /// for who in &missing {
    ///     println!("no user {who}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resolve_users<R: Into<UserRef>>(
        &self,
        users: impl IntoIterator<Item = R>,
    ) -> Result<(Entities<User>, Vec<UserRef>)> {
        let mut named: Vec<UserRef> = Vec::new();
        let mut seen = HashSet::new();
        for user in users {
            let user = match user.into() {
                UserRef::Uid(uid) => UserRef::Uid(uid.trim().to_lowercase()),
                UserRef::Uuid(uuid) => UserRef::Uuid(checked_id("users", &uuid)?.to_owned()),
            };
            if !user.as_str().is_empty() && seen.insert(user.clone()) {
                named.push(user);
            }
        }
        let logins: IdList = named
            .iter()
            .filter(|u| u.is_login())
            .map(|u| fql::eq("uid", u.as_str()))
            .collect();
        let batch = self.batch();
        // The filter is one query parameter: chunks as for repeated ids, the terms as the ids.
        let chunks = logins.query_chunks("filter", batch.query_ids, batch.max_query_len);
        let of_logins = batched(chunks, batch.concurrency, |terms| async move {
            let query = UserQuery::new()
                .filter(terms.join(","))
                .page_size(terms.len() as u64);
            let page = self.query_user_ids(&query, 0).await?;
            Ok(Entities {
                resources: page.resources.unwrap_or_default(),
                errors: Vec::new(),
            })
        })
        .await?
        .resources;
        let uuids: IdList = named
            .iter()
            .filter(|u| !u.is_login())
            .map(UserRef::as_str)
            .chain(of_logins.iter().map(String::as_str))
            .collect();
        let fetched = if uuids.is_empty() {
            Entities::default()
        } else {
            match self.get_users(uuids).await {
                Ok(fetched) => fetched,
                // Every UUID unknown: some services say so with a 404.
                Err(e) if e.is_not_found() => Entities::default(),
                Err(e) => return Err(e),
            }
        };
        let mut by_uuid: HashMap<String, User> = HashMap::new();
        let mut by_login: HashMap<String, String> = HashMap::new();
        for user in fetched.resources {
            let Some(uuid) = user.uuid.clone() else {
                continue;
            };
            if let Some(uid) = &user.uid {
                by_login.insert(uid.to_lowercase(), uuid.clone());
            }
            by_uuid.insert(uuid, user);
        }
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut delivered = HashSet::new();
        for user in named {
            let uuid = match &user {
                UserRef::Uid(uid) => by_login.get(uid).cloned(),
                UserRef::Uuid(uuid) => Some(uuid.clone()),
            };
            if let Some(uuid) = uuid {
                // Named before (by login, say): found once, and not missing.
                if delivered.contains(&uuid) {
                    continue;
                }
                if let Some(entity) = by_uuid.remove(&uuid) {
                    delivered.insert(uuid);
                    found.push(entity);
                    continue;
                }
            }
            missing.push(user);
        }
        Ok((
            Entities {
                resources: found,
                errors: fetched.errors,
            },
            missing,
        ))
    }

    /// The UUID of a user named by login or UUID: a UUID is checked and returned as it is (no
    /// request), a login costs one lookup (`queryUserV1`). Nothing is cached. A login nobody
    /// has is [`Error::InvalidInput`] naming it.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let uuid = falcon.user_uuid("ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_uuid(&self, user: impl Into<UserRef>) -> Result<String> {
        match user.into() {
            UserRef::Uuid(uuid) => Ok(checked_id("user_uuid", &uuid)?.to_owned()),
            UserRef::Uid(uid) => self.uuid_of_login(&uid).await?.ok_or_else(|| {
                Error::invalid("user", format!("no user with login {uid} in this CID"))
            }),
        }
    }

    /// The UUID of the user with this login, if any: one `queryUserV1` request.
    async fn uuid_of_login(&self, uid: &str) -> Result<Option<String>> {
        let uid = uid.trim();
        if uid.is_empty() {
            return Err(Error::invalid("uid", "empty"));
        }
        let query = UserQuery::new()
            .filter(fql::eq("uid", &uid.to_lowercase()))
            .page_size(1);
        let page = self.query_user_ids(&query, 0).await?;
        Ok(page.resources.unwrap_or_default().into_iter().next())
    }

    /// Creates a user (`createUserV1`). `uid` must be an email address; names are trimmed.
    pub async fn create_user(&self, mut user: DomainCreateUserRequest) -> Result<User> {
        let (uid, first_name, last_name) = checked_identity(
            user.uid.as_deref().unwrap_or_default(),
            user.first_name,
            user.last_name,
        )?;
        (user.uid, user.first_name, user.last_name) = (Some(uid), first_name, last_name);
        if user.cid.is_none() {
            user.cid = self.cid_param();
        }
        let api = self.ready().await?;
        let created = call(&CREATE_USER_V1, api.create_user_v1().body(user).send()).await?;
        first_resource(&CREATE_USER_V1, created.resources)
    }

    /// Changes a user's first and/or last name (`updateUserV1`); the user is named by login or
    /// UUID (a login costs one lookup first).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::UserUpdate;
    /// let user = falcon
    ///     .update_user("ann@example.com", UserUpdate::new().last_name("Lee"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_user(&self, user: impl Into<UserRef>, update: UserUpdate) -> Result<User> {
        if update.first_name.is_none() && update.last_name.is_none() {
            return Err(Error::invalid(
                "first_name",
                "give a first name, a last name or both",
            ));
        }
        let body = DomainUpdateUserRequest {
            first_name: checked_name("first_name", update.first_name)?,
            last_name: checked_name("last_name", update.last_name)?,
        };
        let uuid = self.user_uuid(user).await?;
        let api = self.ready().await?;
        let updated = call(
            &UPDATE_USER_V1,
            api.update_user_v1().user_uuid(uuid).body(body).send(),
        )
        .await?;
        first_resource(&UPDATE_USER_V1, updated.resources)
    }

    /// Deletes a user for good (`deleteUserV1`), named by login or UUID (a login costs one
    /// lookup first). Never retried on a 5xx.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// falcon.delete_user("ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_user(&self, user: impl Into<UserRef>) -> Result<()> {
        let uuid = self.user_uuid(user).await?;
        let api = self.ready().await?;
        call(&DELETE_USER_V1, api.delete_user_v1().user_uuid(uuid).send())
            .await
            .map(drop)
    }

    /// Applies `reset_password` or `reset_2fa` to users (`userActionV1`), any number, in
    /// batches. Each user is named by UUID or by login: every login is looked up first (one
    /// `queryUserV1` each), and a login nobody has is refused before any action is sent.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::types::DomainUserActionActionName;
    /// falcon
    ///     .user_action("ann@example.com, 5a1e-uuid", DomainUserActionActionName::ResetPassword)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_action(
        &self,
        users: impl Into<IdList>,
        action: DomainUserActionActionName,
    ) -> Result<()> {
        let named = users.into();
        named.validate("ids")?;
        let mut uuids = Vec::with_capacity(named.len());
        for user in named {
            uuids.push(self.user_uuid(user).await?);
        }
        let ids = IdList::from(uuids);
        let batch = self.batch();
        let api = self.ready().await?;
        for chunk in ids.chunks(batch.query_ids) {
            let body = DomainUserActionRequest {
                action: DomainUserAction {
                    action_name: action,
                    action_value: None,
                },
                ids: chunk,
            };
            call(&USER_ACTION_V1, api.user_action_v1().body(body).send()).await?;
        }
        Ok(())
    }

    async fn retrieve_users(&self, ids: Vec<String>) -> Result<Entities<User>> {
        let api = self.ready().await?;
        let response = call(
            &RETRIEVE_USERS_GET_V1,
            api.retrieve_users_get_v1()
                .body(MsaspecIdsRequest { ids })
                .send(),
        )
        .await?;
        Ok(Entities {
            resources: response.resources.unwrap_or_default(),
            errors: response.errors.unwrap_or_default(),
        })
    }

    /// Creates a user through the deprecated `CreateUser` operation (for tenants that still need
    /// it), returning it in the shape of `createUserV1`'s user. The login and names are checked
    /// as [`create_user`](Self::create_user) checks them.
    pub async fn create_user_legacy(&self, mut user: DomainUserCreateRequest) -> Result<User> {
        let (uid, first_name, last_name) = checked_identity(
            user.uid.as_deref().unwrap_or_default(),
            user.first_name,
            user.last_name,
        )?;
        (user.uid, user.first_name, user.last_name) = (Some(uid), first_name, last_name);
        let api = self.ready().await?;
        #[allow(deprecated)] // asked for explicitly (`Provision::legacy_create`)
        let created = call(
            &LEGACY_CREATE_USER,
            api.legacy_create_user().body(user).send(),
        )
        .await?;
        let meta = first_resource(&LEGACY_CREATE_USER, created.resources)?;
        Ok(User {
            cid: Some(meta.customer),
            first_name: meta.first_name,
            last_name: meta.last_name,
            status: meta.status,
            uid: meta.uid,
            uuid: Some(meta.uuid),
            ..User::default()
        })
    }
}

/// The one user a create or update answers with.
fn first_resource<T>(op: &'static Operation, resources: Option<Vec<T>>) -> Result<T> {
    resources
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| Error::Decode {
            operation: op.id,
            message: "the response has no user in `resources`".into(),
        })
}

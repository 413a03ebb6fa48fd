//! Every user with their grants, as a stream: constant memory in the number of users.

use falcon_users_api::operations::QUERY_USER_V1;
use futures::future;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tracing::warn;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::model::role_ref::RoleRef;
use crate::model::user_filter::{FilterPlan, UserFilter};
use crate::model::user_ref::UserRef;
use crate::model::views::{Grant, User};
use crate::ops::grants::GrantQuery;
use crate::ops::paging::end_at_error;
use crate::ops::users::UserQuery;
use crate::workflows::review::privilege::RoleBook;

/// One user and every grant they hold in the handle's CID.
#[derive(Debug, Clone, PartialEq)]
pub struct UserWithGrants {
    /// The user.
    pub user: User,
    /// Their grants (direct and Flight Control).
    pub grants: Vec<Grant>,
    /// The user was deleted while the inventory ran: listed, but gone by the time their grants
    /// were asked for (the grants listing answered "not found" and a fresh lookup found no such
    /// user). `grants` is then empty because there are none left, not because they held none.
    /// Keep the row to report the deletion, or drop it for a picture of the tenant as it is now.
    pub deleted: bool,
}

/// How [`Falcon::inventory`] and [`Falcon::fleet_inventory`] run: how many grants listings are
/// in flight at once, (fleet only) how many child CIDs are worked at once, and which users
/// are kept by what they hold: a role ([`InventoryOptions::role`]), privileged access
/// ([`InventoryOptions::privileged`]). Those two are answered here, on each user's grants:
/// every user the query lists is read with their grants (the users query cannot filter on
/// grants).
///
/// ```
/// use falcon_users::UserQuery;
/// use falcon_users::workflows::InventoryOptions;
/// let options = InventoryOptions::new().concurrency(16).role("Falcon Administrator");
/// assert_eq!(options.concurrency, 16);
/// assert_eq!(InventoryOptions::new().concurrency, 8);
/// let plan = options.filter_plan(&UserQuery::new().never_logged_in());
/// assert_eq!(
///     plan.to_string(),
///     "filtered here: never logged in, role Falcon Administrator (every user the rest of the \
///      query lists is read, with their grants, to be filtered)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InventoryOptions {
    /// Grants listings in flight at once (default 8; 0 counts as 1).
    pub concurrency: usize,
    /// Child CIDs worked at once by [`Falcon::fleet_inventory`] (default 8; 0 counts as 1).
    pub children: usize,
    /// Only users holding this role (an id, or a display name resolved against the roles of
    /// the CID the grants are read in; an unknown name is refused with the nearest).
    pub role: Option<RoleRef>,
    /// Only users holding at least one privileged role, judged as the access review judges
    /// them ([`Falcon::role_verdicts`]: from the roles' permissions, else the built-in
    /// administrator roles).
    pub privileged: bool,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            children: 8,
            role: None,
            privileged: false,
        }
    }
}

impl InventoryOptions {
    /// Eight grants listings in flight (and eight children at once in a fleet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants listings in flight at once (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Child CIDs worked at once by [`Falcon::fleet_inventory`] (0 counts as 1).
    pub fn children(mut self, n: usize) -> Self {
        self.children = n;
        self
    }

    /// Only users holding this role, by id or display name.
    pub fn role(mut self, role: impl Into<RoleRef>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Only users holding a privileged role (`true`), or everyone (`false`, the default).
    pub fn privileged(mut self, privileged: bool) -> Self {
        self.privileged = privileged;
        self
    }

    /// The filters an inventory of `query` with these options answers, and where: the
    /// query's ([`UserQuery::filter_plan`]), then the role and privilege, on the grants.
    pub fn filter_plan(&self, query: &UserQuery) -> FilterPlan {
        let mut filters = query.filters().to_vec();
        filters.extend(self.role.clone().map(UserFilter::Role));
        if self.privileged {
            filters.push(UserFilter::Privileged);
        }
        FilterPlan::new(&filters, QUERY_USER_V1.filter_fields)
    }
}

/// What a row must hold to be kept: the role (its id, resolved in the CID the grants are
/// read in) and privileged access (by the book of that CID's roles).
#[derive(Debug, Default)]
pub(crate) struct Holding {
    role_id: Option<String>,
    privileged: Option<RoleBook>,
}

impl Holding {
    /// Reads what `options` asks about: the role resolved, the roles judged (`cid`: where
    /// the grants are read; `None`, the handle's CID).
    async fn read(falcon: &Falcon, options: &InventoryOptions, cid: Option<&Cid>) -> Result<Self> {
        let role_id = match &options.role {
            None => None,
            Some(role) => falcon
                .resolve_role_refs("role", std::slice::from_ref(role), cid)
                .await?
                .into_iter()
                .next(),
        };
        let privileged = match options.privileged {
            false => None,
            true => Some(RoleBook::new(
                falcon.judged_roles(None, options.concurrency).await?,
            )),
        };
        Ok(Holding {
            role_id,
            privileged,
        })
    }

    /// Whether `row` holds what is asked. A user deleted while the inventory ran is kept (and
    /// marked): what they held is no longer known.
    fn keeps(&self, row: &UserWithGrants) -> bool {
        let holds_role = self
            .role_id
            .as_deref()
            .is_none_or(|id| row.grants.iter().any(|g| g.role_id == id));
        let privileged = self
            .privileged
            .as_ref()
            .is_none_or(|book| row.grants.iter().any(|g| book.is_privileged(&g.role_id)));
        row.deleted || (holds_role && privileged)
    }
}

impl Falcon {
    /// Every user matching `query` with their grants: ids page by page (complete for any
    /// tenant size, see [`Falcon::user_ids`]), entities in batches, then one grants listing
    /// per user, [`InventoryOptions::concurrency`] at a time, in user order. Only a bounded
    /// window of users is held in memory (one batch of at most 500); the rate limiter and
    /// retries apply to every call.
    ///
    /// A user deleted while the inventory runs does not end it: their row comes with
    /// [`UserWithGrants::deleted`] set (and a `tracing` warning names them). Any other failure
    /// ends the stream, after every row completed before it.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::UserQuery;
    /// use falcon_users::workflows::InventoryOptions;
    /// use futures::TryStreamExt;
    ///
    /// let mut rows = falcon.inventory(UserQuery::new(), InventoryOptions::new().concurrency(16));
    /// while let Some(row) = rows.try_next().await? {
    ///     if row.deleted {
    ///         eprintln!("{:?} was deleted during the run", row.user.uid);
    ///         continue;
    ///     }
    ///     println!("{:?}: {} grants", row.user.uid, row.grants.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn inventory(
        &self,
        query: UserQuery,
        options: InventoryOptions,
    ) -> BoxStream<'static, Result<UserWithGrants>> {
        let rows = self.inventory_of_grants(query, options.clone(), GrantQuery::new());
        self.holding(rows, options, None)
    }

    /// `rows` narrowed to those holding what `options` asks ([`InventoryOptions::role`],
    /// [`InventoryOptions::privileged`]), with grants read in `cid` (`None`: the handle's
    /// CID). What it asks is read first (one role lookup, the roles judged); a failure to
    /// read it is the stream's one error.
    pub(crate) fn holding(
        &self,
        rows: BoxStream<'static, Result<UserWithGrants>>,
        options: InventoryOptions,
        cid: Option<Cid>,
    ) -> BoxStream<'static, Result<UserWithGrants>> {
        if options.role.is_none() && !options.privileged {
            return rows;
        }
        let falcon = self.clone();
        stream::once(async move {
            match Holding::read(&falcon, &options, cid.as_ref()).await {
                Ok(holding) => rows
                    .try_filter(move |row| future::ready(holding.keeps(row)))
                    .boxed(),
                Err(err) => stream::once(future::ready(Err(err))).boxed(),
            }
        })
        .flatten()
        .boxed()
    }

    /// [`Falcon::inventory`] with each user's grants listed by `grants` (e.g. those held in a
    /// child CID).
    pub(crate) fn inventory_of_grants(
        &self,
        query: UserQuery,
        options: InventoryOptions,
        grants: GrantQuery,
    ) -> BoxStream<'static, Result<UserWithGrants>> {
        let falcon = self.clone();
        // One entity batch at a time: the grants listings (one per user) take far longer than
        // the next batch's one request, and a fleet inventory runs one of these per child at
        // once, so each batch held ahead would be held once per child.
        let rows = self
            .users_batched(query, 1)
            .map(move |user| {
                let (falcon, grants) = (falcon.clone(), grants.clone());
                async move { falcon.with_grants(user?, grants).await }
            })
            .buffered(options.concurrency.max(1));
        end_at_error(rows).boxed()
    }

    /// `user` with their grants as `grants` lists them; a user the listing no longer knows and
    /// a fresh lookup does not find is [`UserWithGrants::deleted`].
    pub(crate) async fn with_grants(
        &self,
        user: User,
        grants: GrantQuery,
    ) -> Result<UserWithGrants> {
        let uuid = user.uuid.clone().unwrap_or_default();
        let listed = self.grants(&uuid, grants).try_collect().await;
        match listed {
            Ok(grants) => Ok(UserWithGrants {
                user,
                grants,
                deleted: false,
            }),
            // Services answer an unknown user with a 404 or a 400: which one it was is told by
            // looking the user up, not by the wording of the message.
            Err(
                err @ Error::Api {
                    status: 400 | 404, ..
                },
            ) => {
                if self.find_user(UserRef::Uuid(uuid.clone())).await?.is_some() {
                    return Err(err);
                }
                warn!(
                    user_uuid = %uuid,
                    uid = user.uid.as_deref().unwrap_or_default(),
                    "the user was deleted while the inventory ran; listed with `deleted` set"
                );
                Ok(UserWithGrants {
                    user,
                    grants: Vec::new(),
                    deleted: true,
                })
            }
            Err(err) => Err(err),
        }
    }
}

//! Effective access over a Flight Control fleet: who holds which role in which CID, and why
//! ([`Source`](crate::access::Source)): one person ([`Falcon::access_of`]) or everyone
//! ([`Falcon::effective_access`]), in the handle's own CID and its children.
//!
//! Both read the grants listings through the same readers as the inventory
//! ([`Falcon::inventory`], [`Falcon::fleet_parent_users`], [`Falcon::fleet_inventory`]) and read
//! each row's source with [`Source::of`](crate::access::Source::of): one model for inventory,
//! `access` and the review.

use std::collections::HashMap;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{AuthProblem, Error, Result};
use crate::model::access::RoleAccess;
use crate::model::cid::Cid;
use crate::model::role_ref::RoleRef;
use crate::model::user_ref::UserRef;
use crate::model::views::User;
use crate::ops::grants::GrantQuery;
use crate::ops::users::UserQuery;
use crate::workflows::fleet::{FleetItem, LinkReach};
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};

/// Which CIDs a read of effective access covers besides the handle's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Fleet {
    /// Every child, discovered ([`Falcon::children`]). Without the Flight Control read scope
    /// (`mssp:read`) discovery is refused: the read covers the own CID alone and says why in
    /// [`FleetScope::not_discovered`].
    #[default]
    Discover,
    /// Every child, discovered; a refused discovery is an error.
    All,
    /// These children, as given (no discovery, so no names).
    Listed(Vec<Cid>),
    /// The handle's own CID alone.
    Own,
}

/// How [`Falcon::access_of`] and [`Falcon::effective_access`] read.
///
/// ```
/// use falcon_users::workflows::{AccessOptions, Fleet};
/// let options = AccessOptions::new().fleet(Fleet::Own).children(2);
/// assert_eq!(options.fleet, Fleet::Own);
/// assert_eq!(AccessOptions::new().fleet, Fleet::Discover);
/// assert!(AccessOptions::new().child_users);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessOptions {
    /// The children covered (default: every child, discovered).
    pub fleet: Fleet,
    /// How each CID is read: grants listings in flight per CID, children at once (default 8
    /// each), and the filters on grants ([`InventoryOptions::role`],
    /// [`InventoryOptions::privileged`]).
    pub inventory: InventoryOptions,
    /// [`Falcon::effective_access`] only: also each child's own users in their child
    /// (default); off, only the handle's users, in its CID and the children.
    pub child_users: bool,
}

impl Default for AccessOptions {
    fn default() -> Self {
        Self {
            fleet: Fleet::Discover,
            inventory: InventoryOptions::new(),
            child_users: true,
        }
    }
}

impl AccessOptions {
    /// Every child, discovered; eight listings and eight children at once; children's users too.
    pub fn new() -> Self {
        Self::default()
    }

    /// The children covered.
    pub fn fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = fleet;
        self
    }

    /// Grants listings in flight at once per CID.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.inventory = self.inventory.concurrency(n);
        self
    }

    /// Children worked at once.
    pub fn children(mut self, n: usize) -> Self {
        self.inventory = self.inventory.children(n);
        self
    }

    /// Whether [`Falcon::effective_access`] reads each child's own users too.
    pub fn child_users(mut self, on: bool) -> Self {
        self.child_users = on;
        self
    }

    /// Only rows holding this role, by id or display name.
    pub fn role(mut self, role: impl Into<RoleRef>) -> Self {
        self.inventory = self.inventory.role(role);
        self
    }

    /// Only rows holding a privileged role.
    pub fn privileged(mut self, privileged: bool) -> Self {
        self.inventory = self.inventory.privileged(privileged);
        self
    }
}

/// The children a read covered, with the names discovery gave them.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct FleetScope {
    /// The children, in the order discovered or given.
    pub children: Vec<Cid>,
    /// Their names, from discovery (none for a listed fleet).
    pub names: HashMap<Cid, String>,
    /// Why the children were not discovered ([`Fleet::Discover`] without the Flight Control
    /// read scope): the read covered the own CID alone.
    pub not_discovered: Option<Error>,
    /// [`Falcon::effective_access`] only: why the Flight Control groups and links could not be
    /// read (their read scope refused): the parent's users were found in each child by
    /// `assigned_cids` alone, so one holding roles there only through a link may be missing.
    pub links_unread: Option<Error>,
}

impl FleetScope {
    /// The name of `cid`, when discovery gave one.
    pub fn name(&self, cid: &str) -> Option<&str> {
        let cid: Cid = cid.parse().ok()?;
        self.names.get(&cid).map(String::as_str)
    }
}

/// One person's effective access, as [`Falcon::access_of`] reads it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessReport {
    /// The user.
    pub user: User,
    /// Every role they hold, each with its source: the own CID's first, then each child's in
    /// the order of [`FleetScope::children`].
    pub roles: Vec<RoleAccess>,
    /// The children covered.
    pub scope: FleetScope,
    /// The children whose grants could not be read, each with why (the others' are in
    /// `roles`).
    pub failed: Vec<(Cid, Error)>,
}

/// One user's roles in one CID, with their sources (an item of [`Falcon::effective_access`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserAccess {
    /// The user.
    pub user: User,
    /// Their roles in the item's CID, each with its source.
    pub roles: Vec<RoleAccess>,
    /// Deleted while the read ran (see [`UserWithGrants::deleted`]).
    pub deleted: bool,
}

impl UserAccess {
    /// An inventory row with each grant's source read, in a CID named `cid_name`.
    pub fn from_row(row: UserWithGrants, cid_name: Option<&str>) -> UserAccess {
        UserAccess {
            user: row.user,
            roles: row
                .grants
                .into_iter()
                .map(|g| RoleAccess::from_grant(g, cid_name))
                .collect(),
            deleted: row.deleted,
        }
    }
}

/// Whose users an item of [`Falcon::effective_access`] lists, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessPart {
    /// The handle's users in its own CID.
    Own,
    /// The handle's (the parent's) users holding roles in this child.
    ParentUsersIn(Cid),
    /// This child's own users.
    ChildUsers(Cid),
}

impl AccessPart {
    /// The child the item is about (none for the own CID).
    pub fn child(&self) -> Option<&Cid> {
        match self {
            AccessPart::Own => None,
            AccessPart::ParentUsersIn(cid) | AccessPart::ChildUsers(cid) => Some(cid),
        }
    }
}

/// An item of [`Falcon::effective_access`]: one user's roles in one CID, or the failure that
/// ended that part's reading (after every row it gave).
#[derive(Debug)]
pub struct AccessItem {
    /// Whose users, and where.
    pub part: AccessPart,
    /// The user's roles, or the failure.
    pub outcome: Result<UserAccess>,
}

/// [`Falcon::effective_access`]'s answer: the children covered, and the rows as a stream.
pub struct EffectiveAccess {
    /// The children covered.
    pub scope: FleetScope,
    /// The own CID's users first, then the parent's users in each child, then (with
    /// [`AccessOptions::child_users`]) each child's own users; children's rows interleave.
    pub rows: BoxStream<'static, AccessItem>,
}

impl std::fmt::Debug for EffectiveAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EffectiveAccess")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Falcon {
    /// The children `fleet` names: discovered (one [`Falcon::children`] read: its pages of ids
    /// and batches of details), or as listed, or none. [`Fleet::Discover`] without the Flight
    /// Control read scope covers none and keeps the refusal (which names the scope) in
    /// [`FleetScope::not_discovered`]; any other failure is an error.
    pub async fn fleet_scope(&self, fleet: &Fleet) -> Result<FleetScope> {
        match fleet {
            Fleet::Own => Ok(FleetScope::default()),
            Fleet::Listed(cids) => Ok(FleetScope {
                children: cids.clone(),
                ..FleetScope::default()
            }),
            Fleet::Discover | Fleet::All => match self.children().await {
                Ok(children) => Ok(FleetScope {
                    names: children
                        .iter()
                        .filter_map(|c| Some((c.cid.clone(), c.name.clone()?)))
                        .collect(),
                    children: children.into_iter().map(|c| c.cid).collect(),
                    ..FleetScope::default()
                }),
                Err(
                    err @ Error::Auth {
                        problem: AuthProblem::Forbidden,
                        ..
                    },
                ) if *fleet == Fleet::Discover => Ok(FleetScope {
                    not_discovered: Some(err),
                    ..FleetScope::default()
                }),
                Err(err) => Err(err),
            },
        }
    }

    /// One person's effective access: every role they hold in this handle's CID and in each
    /// child of `options.fleet`, each with its source (direct, through a link, temporary).
    /// The user is named by login or UUID and looked up in this handle's CID (a login: one
    /// query and one details request; a UUID: one details request), while the children are
    /// discovered; then one grants listing in the own CID and one per child, every page
    /// (a child whose listing fails is in [`AccessReport::failed`], the others go on).
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::AccessOptions;
    /// let report = falcon.access_of("analyst@mssp.example", &AccessOptions::new()).await?;
    /// if let Some(why) = &report.scope.not_discovered {
    ///     eprintln!("own CID only: {why}");
    /// }
    /// for role in &report.roles {
    ///     println!("{} {} {}", role.cid(), role.role_id(), role.source.kind());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn access_of(
        &self,
        user: impl Into<UserRef>,
        options: &AccessOptions,
    ) -> Result<AccessReport> {
        let user = user.into();
        let (found, scope) = futures::join!(
            self.find_user(user.clone()),
            self.fleet_scope(&options.fleet)
        );
        let found =
            found?.ok_or_else(|| Error::invalid("user", format!("no user {user} in this CID")))?;
        let scope = scope?;
        let uuid = found.uuid.clone().unwrap_or_default();
        let own = self.grants(UserRef::Uuid(uuid.clone()), GrantQuery::new());
        let mut roles: Vec<RoleAccess> = own
            .map_ok(|g| RoleAccess::from_grant(g, None))
            .try_collect()
            .await?;
        let per_child: Vec<(Cid, Result<Vec<RoleAccess>>)> = stream::iter(scope.children.clone())
            .map(|cid| {
                let name = scope.names.get(&cid).cloned();
                let listed = self
                    .grants(
                        UserRef::Uuid(uuid.clone()),
                        GrantQuery::new().cid(cid.clone()),
                    )
                    .map_ok(move |g| RoleAccess::from_grant(g, name.as_deref()))
                    .try_collect();
                async move { (cid, listed.await) }
            })
            .buffered(options.inventory.children.max(1))
            .collect()
            .await;
        let mut failed = Vec::new();
        for (cid, outcome) in per_child {
            match outcome {
                Ok(found) => roles.extend(found),
                Err(err) => failed.push((cid, err)),
            }
        }
        Ok(AccessReport {
            user: found,
            roles,
            scope,
            failed,
        })
    }

    /// Everyone's effective access over the fleet: the users matching `query` of this handle's
    /// CID with their roles there ([`Falcon::inventory`]); the same users' roles in each child
    /// of `options.fleet` ([`Falcon::fleet_parent_users`]: per child, only those assigned
    /// there or given roles there by a Flight Control link, then their grants there; the groups
    /// and links are read once, [`Falcon::link_reach`], and without their read scope
    /// [`FleetScope::links_unread`] says so); and, with [`AccessOptions::child_users`], each child's
    /// own users in their child ([`Falcon::fleet_inventory`], each child with its own token).
    /// Every role with its source. Streamed: memory is bounded by the work in flight, not by
    /// the fleet.
    ///
    /// The children are read first (discovery, see [`Falcon::fleet_scope`]); that read's
    /// failure is this call's. A child whose reading fails gives one item with the failure,
    /// after its rows so far, and the others go on; so does the own CID.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::UserQuery;
    /// use falcon_users::workflows::AccessOptions;
    /// use futures::StreamExt;
    ///
    /// let mut access = falcon.effective_access(UserQuery::new(), &AccessOptions::new()).await?;
    /// while let Some(item) = access.rows.next().await {
    ///     match item.outcome {
    ///         Ok(row) => {
    ///             for role in &row.roles {
    ///                 println!("{:?} {} {} {}", row.user.uid, role.cid(), role.role_id(), role.source.kind());
    ///             }
    ///         }
    ///         Err(err) => eprintln!("{:?}: {err}", item.part),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn effective_access(
        &self,
        query: UserQuery,
        options: &AccessOptions,
    ) -> Result<EffectiveAccess> {
        let mut scope = self.fleet_scope(&options.fleet).await?;
        // The groups and links are the parent's, and matter only when there are children.
        let links = match scope.children.is_empty() || self.member_cid().is_some() {
            true => LinkReach::default(),
            false => self.link_reach(&query).await?,
        };
        scope.links_unread = links.unread.clone();
        let inventory = &options.inventory;
        let names = std::sync::Arc::new(scope.names.clone());
        let own = self
            .inventory(query.clone(), inventory.clone())
            .map(|outcome| AccessItem {
                part: AccessPart::Own,
                outcome: outcome.map(|row| UserAccess::from_row(row, None)),
            });
        let named = |part: fn(Cid) -> AccessPart| {
            let names = names.clone();
            move |item: FleetItem| {
                let name = names.get(&item.cid).map(String::as_str);
                AccessItem {
                    outcome: item.outcome.map(|row| UserAccess::from_row(row, name)),
                    part: part(item.cid),
                }
            }
        };
        let parent_users = self
            .fleet_parent_users(&scope.children, query.clone(), inventory.clone(), links)
            .map(named(AccessPart::ParentUsersIn));
        let mut rows = own.chain(parent_users).boxed();
        if options.child_users {
            let child_users = self
                .fleet_inventory(&scope.children, query, inventory.clone())
                .map(named(AccessPart::ChildUsers));
            rows = rows.chain(child_users).boxed();
        }
        Ok(EffectiveAccess { scope, rows })
    }
}

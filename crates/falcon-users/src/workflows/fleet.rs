//! Flight Control fleets: one job over many child CIDs, each worked through its own member
//! handle (its own token, and its own rate budget, as the service counts requests per CID),
//! several at once, every result labelled with its CID, and one child's failure reported as
//! that child's result without ending the others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::{self, Future};
use std::sync::{Arc, Mutex};

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::{AuthProblem, Error, Result};
use crate::model::cid::Cid;
use crate::model::fql;
use crate::model::ids::IdList;
use crate::model::views::User;
use crate::ops::grants::GrantQuery;
use crate::ops::paging::end_at_error;
use crate::ops::users::UserQuery;
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};

/// Who the parent's Flight Control links reach in its children: for each CID group a link
/// with roles names, its child CIDs and the members of the user groups linked to it, with those
/// members' details (the ones matching the run's user query). Read once per run
/// ([`Falcon::link_reach`]) and consulted per child by [`Falcon::fleet_parent_users`], so that
/// a parent user whose only access to a child is a link is found there whatever the user
/// query's `assigned_cids` counts. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LinkReach {
    /// Per linked CID group: its CIDs, and the UUIDs of the linked user groups' members.
    groups: Arc<Vec<(BTreeSet<Cid>, BTreeSet<String>)>>,
    /// The linked users matching the query, by UUID.
    users: Arc<HashMap<String, User>>,
    /// Why the groups and links could not be read (the Flight Control read scope refused):
    /// the run finds the parent's users in a child by `assigned_cids` alone.
    pub unread: Option<Error>,
}

impl LinkReach {
    /// The users (matching the query the reach was read for) whom a link gives roles in
    /// `cid`, in UUID order.
    pub fn users_in(&self, cid: &Cid) -> Vec<User> {
        let uuids: BTreeSet<&String> = self
            .groups
            .iter()
            .filter(|(cids, _)| cids.contains(cid))
            .flat_map(|(_, members)| members)
            .collect();
        uuids
            .into_iter()
            .filter_map(|uuid| self.users.get(uuid).cloned())
            .collect()
    }

    /// Every linked user (matching the query), by UUID.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// What a fleet read whose links could not be read (`why`, as [`LinkReach::unread`] keeps
    /// it) misses, in a sentence for a note or an evidence file.
    ///
    /// ```
    /// use falcon_users::workflows::LinkReach;
    ///
    /// let why = falcon_users::Error::Timeout { operation: "queryUserGroups" };
    /// let note = LinkReach::unread_note(&why);
    /// assert!(note.starts_with("the Flight Control links could not be read"));
    /// ```
    pub fn unread_note(why: &Error) -> String {
        format!(
            "the Flight Control links could not be read, so the parent's users were found in each \
             child by their direct grants alone (one holding roles there only through a link is \
             missing): {why}"
        )
    }
}

/// One item of [`Falcon::fleet_inventory`]: a row of a child CID, or that child's failure.
#[derive(Debug)]
pub struct FleetItem {
    /// The child CID the item belongs to.
    pub cid: Cid,
    /// A row, or the failure that ended this child's inventory (its last item): every row it
    /// gave before the failure came first.
    pub outcome: Result<UserWithGrants>,
}

impl Falcon {
    /// Runs `job` once per CID of `cids`, each with a member handle for that CID
    /// ([`Falcon::for_member`]), `concurrency` CIDs at a time; the results come back in the
    /// order of `cids`, each labelled with its CID. A CID that fails (its token is refused, a
    /// request fails) fails only its own entry.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon, children: Vec<falcon_users::Cid>)
    /// # -> falcon_users::Result<()> {
    /// use falcon_users::UserQuery;
    /// use futures::TryStreamExt;
    ///
    /// let counts = falcon
    ///     .for_each_cid(&children, 8, |child| async move {
    ///         let users: Vec<_> = child.users(UserQuery::new()).try_collect().await?;
    ///         Ok(users.len())
    ///     })
    ///     .await;
    /// for (cid, count) in counts {
    ///     match count {
    ///         Ok(n) => println!("{cid}: {n} users"),
    ///         Err(err) => eprintln!("{cid}: {err}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn for_each_cid<T, F, Fut>(
        &self,
        cids: &[Cid],
        concurrency: usize,
        job: F,
    ) -> Vec<(Cid, Result<T>)>
    where
        F: Fn(Falcon) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let job = &job;
        stream::iter(cids.iter().cloned())
            .map(|cid| async move {
                let outcome = job(self.for_member(&cid)).await;
                (cid, outcome)
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    /// [`Falcon::inventory`] of every CID in `cids`, [`InventoryOptions::children`] of them at a
    /// time, each through its own member handle with [`InventoryOptions::concurrency`] grants
    /// listings in flight. The per-child
    /// streams are merged as they produce (rows of different children interleave; each child's
    /// rows stay in its order), never collected: memory is bounded per child in work, not by
    /// the fleet's users. A child whose inventory fails gives one item with the failure, after
    /// its rows so far, and the others go on.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::workflows::InventoryOptions;
    /// use falcon_users::{Cid, UserQuery};
    /// use futures::StreamExt;
    ///
    /// let children: Vec<Cid> = vec![
    ///     "0123456789abcdef0123456789abcdef".parse()?,
    ///     "fedcba9876543210fedcba9876543210".parse()?,
    /// ];
    /// let options = InventoryOptions::new().children(4).concurrency(8);
    /// let mut items = falcon.fleet_inventory(&children, UserQuery::new(), options);
    /// while let Some(item) = items.next().await {
    ///     match item.outcome {
    ///         Ok(row) => println!("{} {:?}", item.cid, row.user.uid),
    ///         Err(err) => eprintln!("{}: {err}", item.cid),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fleet_inventory(
        &self,
        cids: &[Cid],
        query: UserQuery,
        options: InventoryOptions,
    ) -> BoxStream<'static, FleetItem> {
        let children = options.children;
        self.per_child_rows(cids, children, move |falcon, cid| {
            falcon
                .for_member(cid)
                .inventory(query.clone(), options.clone())
        })
    }

    /// The users of this handle's CID (the Flight Control parent) holding grants in each CID
    /// of `cids`, each with their grants there. The candidates in a child are the users
    /// matching `query` whose `assigned_cids` name it, and the members of the user groups that
    /// `links` says a link gives roles there (whether the service's `assigned_cids` counts
    /// access through a link is not documented, so it is not relied on); then one grants
    /// listing per candidate with the child's `cid` (a child's own user listing does not list
    /// the parent's users). A candidate found only through a link comes after the others, and
    /// only when the listing shows grants there. Run, merged and failed as
    /// [`Falcon::fleet_inventory`] (labelled with the child), but through this handle: the
    /// parent's users are read with the parent's token.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon, children: Vec<falcon_users::Cid>)
    /// # -> falcon_users::Result<()> {
    /// use falcon_users::UserQuery;
    /// use falcon_users::workflows::InventoryOptions;
    /// use futures::StreamExt;
    ///
    /// let links = falcon.link_reach(&UserQuery::new()).await?;
    /// let mut items =
    ///     falcon.fleet_parent_users(&children, UserQuery::new(), InventoryOptions::new(), links);
    /// while let Some(item) = items.next().await {
    ///     if let Ok(row) = item.outcome {
    ///         println!("{:?} holds {} roles in {}", row.user.uid, row.grants.len(), item.cid);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fleet_parent_users(
        &self,
        cids: &[Cid],
        query: UserQuery,
        options: InventoryOptions,
        links: LinkReach,
    ) -> BoxStream<'static, FleetItem> {
        let children = options.children;
        self.per_child_rows(cids, children, move |falcon, cid| {
            // The role and privilege asked for are judged once per child, on every row.
            let rows = falcon.parent_users_in(cid, &query, &options, &links);
            falcon.holding(rows, options.clone(), Some(cid.clone()))
        })
    }

    /// [`Falcon::fleet_parent_users`] in one child, before what the rows must hold.
    fn parent_users_in(
        &self,
        cid: &Cid,
        query: &UserQuery,
        options: &InventoryOptions,
        links: &LinkReach,
    ) -> BoxStream<'static, Result<UserWithGrants>> {
        let grants = GrantQuery::new().cid(cid.clone());
        let assigned = self.inventory_of_grants(
            query
                .clone()
                .and_filter(fql::eq("assigned_cids", cid.as_str())),
            options.clone(),
            grants.clone(),
        );
        let linked = links.users_in(cid);
        if linked.is_empty() {
            return assigned;
        }
        // The assigned users are listed first; a linked user among them is not read twice.
        let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
        let record = seen.clone();
        let assigned = assigned.inspect(move |row| {
            if let Ok(row) = row {
                let uuid = row.user.uuid.clone().unwrap_or_default();
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(uuid);
            }
        });
        let falcon = self.clone();
        let options = options.clone();
        let only_linked = stream::iter(linked)
            .filter(move |user| {
                let uuid = user.uuid.as_deref().unwrap_or_default();
                let listed = seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(uuid);
                future::ready(!listed)
            })
            .map(move |user| {
                let (falcon, grants) = (falcon.clone(), grants.clone());
                async move { falcon.with_grants(user, grants).await }
            })
            .buffered(options.concurrency.max(1))
            // A member whose listing shows nothing there holds nothing there (a link
            // changed since the groups were read): no row, as for a user not assigned.
            .try_filter(|row| future::ready(row.deleted || !row.grants.is_empty()));
        end_at_error(assigned.chain(only_linked)).boxed()
    }

    /// Who the parent's Flight Control links reach ([`LinkReach`]), for a run over its
    /// children with the user query `query`: the user groups and their members
    /// ([`Falcon::user_groups`]), the links of the groups with members
    /// ([`Falcon::fleet_links`]), the CID groups and their CIDs ([`Falcon::cid_groups`]), then
    /// the linked users' details by id, in batches ([`Falcon::get_users`]; with a filter in
    /// `query`, the users matching it among them, asked for with the filter and their UUIDs).
    /// A step with nothing to read is skipped: no user group with members, no link. Without
    /// the Flight Control read scope the reach is empty and [`LinkReach::unread`] says why;
    /// any other failure is an error.
    pub async fn link_reach(&self, query: &UserQuery) -> Result<LinkReach> {
        match self.read_link_reach(query).await {
            Err(
                err @ Error::Auth {
                    problem: AuthProblem::Forbidden,
                    ..
                },
            ) => Ok(LinkReach {
                unread: Some(err),
                ..LinkReach::default()
            }),
            other => other,
        }
    }

    async fn read_link_reach(&self, query: &UserQuery) -> Result<LinkReach> {
        let user_groups = self.user_groups().await?;
        let with_members: Vec<String> = user_groups
            .iter()
            .filter(|g| !g.members.is_empty())
            .map(|g| g.id.clone())
            .collect();
        if with_members.is_empty() {
            return Ok(LinkReach::default());
        }
        let links = self.fleet_links(&with_members).await?;
        if links.is_empty() {
            return Ok(LinkReach::default());
        }
        let members: HashMap<&str, &BTreeSet<String>> = user_groups
            .iter()
            .map(|g| (g.id.as_str(), &g.members))
            .collect();
        // Per CID group, the members of every user group linked to it.
        let mut reached: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for link in &links {
            if let Some(users) = members.get(link.user_group_id.as_str()) {
                reached
                    .entry(link.cid_group_id.as_str())
                    .or_default()
                    .extend(users.iter().cloned());
            }
        }
        let groups: Vec<(BTreeSet<Cid>, BTreeSet<String>)> = self
            .cid_groups()
            .await?
            .into_iter()
            .filter_map(|g| Some((g.cids, reached.remove(g.id.as_str())?)))
            .filter(|(cids, _)| !cids.is_empty())
            .collect();
        let uuids: BTreeSet<&String> = groups.iter().flat_map(|(_, m)| m).collect();
        let uuids: Vec<String> = uuids.into_iter().cloned().collect();
        let users = self.linked_users(uuids, query).await?;
        Ok(LinkReach {
            groups: Arc::new(groups),
            users: Arc::new(users),
            unread: None,
        })
    }

    /// The users of `uuids` matching `query`, by UUID: read by id without a filter; with one
    /// (FQL or a question), asked for with it and their UUIDs (the FQL is the service's to
    /// apply, the questions it cannot answer are answered on the users read).
    async fn linked_users(
        &self,
        uuids: Vec<String>,
        query: &UserQuery,
    ) -> Result<HashMap<String, User>> {
        if uuids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = IdList::from(uuids);
        let found: Vec<User> = match query.narrows().then(|| query.sent_filter()) {
            None => match self.get_users(ids).await {
                Ok(found) => found.resources,
                // Every UUID unknown (members deleted since): some services say so with a 404.
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            },
            // With questions answered here, `users` answers them on the users read.
            Some(filter) => {
                let batch = self.batch();
                let sent = filter.map_or(0, |f| f.len());
                let room = batch.max_query_len.saturating_sub(sent + 16);
                let mut found = Vec::new();
                for chunk in ids.query_chunks("filter", batch.query_ids, room) {
                    let asked = query
                        .clone()
                        .and_filter(fql::any_of("uuid", chunk.iter().map(String::as_str)));
                    let users: Vec<User> = self.users(asked).try_collect().await?;
                    found.extend(users);
                }
                found
            }
        };
        Ok(found
            .into_iter()
            .filter_map(|u| Some((u.uuid.clone()?, u)))
            .collect())
    }

    /// The rows `rows` gives for each CID of `cids`, `children` CIDs at a time, merged as they
    /// produce (each CID's rows in its order), each labelled with its CID.
    fn per_child_rows<F>(
        &self,
        cids: &[Cid],
        children: usize,
        rows: F,
    ) -> BoxStream<'static, FleetItem>
    where
        F: Fn(&Falcon, &Cid) -> BoxStream<'static, Result<UserWithGrants>> + Send + 'static,
    {
        let falcon = self.clone();
        // Owned: the stream outlives the borrow of `cids`.
        let cids: Vec<Cid> = cids.to_vec();
        let per_child = cids
            .into_iter()
            .map(move |cid| -> BoxStream<'static, FleetItem> {
                rows(&falcon, &cid)
                    .map(move |outcome| FleetItem {
                        cid: cid.clone(),
                        outcome,
                    })
                    .boxed()
            });
        stream::iter(per_child)
            .flatten_unordered(children.max(1))
            .boxed()
    }
}

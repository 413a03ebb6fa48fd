//! Flight Control fleets: one job over many child CIDs, each worked through its own member
//! handle (its own token, and its own rate budget, as the service counts requests per CID),
//! several at once, every result labelled with its CID, and one child's failure reported as
//! that child's result without ending the others.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::model::fql;
use crate::ops::grants::GrantQuery;
use crate::ops::users::UserQuery;
use crate::workflows::inventory::{InventoryOptions, UserWithGrants};

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
    /// of `cids`, each with their grants there: per child, the users matching `query` whose
    /// `assigned_cids` name it, then one grants listing per user with the child's `cid` (a
    /// child's own user listing does not list the parent's users). Run, merged and failed as
    /// [`Falcon::fleet_inventory`] (labelled with the child), but through this handle: the
    /// parent's users are read with the parent's token.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon, children: Vec<falcon_users::Cid>) {
    /// use falcon_users::UserQuery;
    /// use falcon_users::workflows::InventoryOptions;
    /// use futures::StreamExt;
    ///
    /// let mut items = falcon.fleet_parent_users(&children, UserQuery::new(), InventoryOptions::new());
    /// while let Some(item) = items.next().await {
    ///     if let Ok(row) = item.outcome {
    ///         println!("{:?} holds {} roles in {}", row.user.uid, row.grants.len(), item.cid);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn fleet_parent_users(
        &self,
        cids: &[Cid],
        query: UserQuery,
        options: InventoryOptions,
    ) -> BoxStream<'static, FleetItem> {
        let children = options.children;
        self.per_child_rows(cids, children, move |falcon, cid| {
            falcon.inventory_of_grants(
                query
                    .clone()
                    .and_filter(fql::eq("assigned_cids", cid.as_str())),
                options.clone(),
                GrantQuery::new().cid(cid.clone()),
            )
        })
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

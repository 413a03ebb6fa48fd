//! Flight Control discovery: the children of the parent CID a handle acts in
//! (`queryChildren`, then `getChildrenV2`), which need the API client scope
//! "Flight Control: Read".

use falcon_users_api::operations::{GET_CHILDREN_V2, QUERY_CHILDREN};
use falcon_users_api::types::{DomainChildLink, MsaspecIdsRequest};
use futures::TryStreamExt;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::paging::{Entities, Listing, Page, Slice, batched, listing};
use crate::ops::partition::DEFAULT_OFFSET_CEILING;
use crate::ops::scope::needs_scope;
use crate::runtime::response::call;

/// The Falcon console's name of the scope discovery needs (`mssp:read` in the operation
/// table), which is what a user ticks when editing the API client.
pub const FLIGHT_CONTROL_READ: &str = "Flight Control: Read";

/// Children per `queryChildren` page: the largest the service is known to take (it documents
/// no bound; PSFalcon allows 5,000), so a fleet is one request in most cases.
pub const CHILDREN_PAGE: u64 = 5000;

/// Child CIDs per `getChildrenV2` request (PSFalcon's batch; the service states none).
pub const CHILDREN_BATCH: usize = 500;

/// A child CID of the parent (Flight Control), as [`Falcon::children`] lists it.
///
/// ```
/// use falcon_users::Child;
/// use falcon_users::types::DomainChildLink;
/// let link = DomainChildLink {
///     checksum: "C4".into(),
///     child_cid: "0123456789abcdef0123456789abcdef".into(),
///     child_gcid: None,
///     child_of: "fedcba9876543210fedcba9876543210".into(),
///     domains: vec![],
///     name: Some("Acme".into()),
///     status: Some("active".into()),
/// };
/// let child = Child::try_from(link).unwrap();
/// assert_eq!(child.cid.as_str(), "0123456789abcdef0123456789abcdef");
/// assert_eq!(child.with_checksum(), "0123456789ABCDEF0123456789ABCDEF-C4");
/// assert_eq!(child.parent.as_str(), "fedcba9876543210fedcba9876543210");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Child {
    /// The child's CID (32 lowercase hex).
    pub cid: Cid,
    /// The CID of its parent.
    pub parent: Cid,
    /// Its name as the parent's console shows it, when the service gives one.
    pub name: Option<String>,
    /// Its state in the fleet (e.g. `active`; the set of values is not documented).
    pub status: Option<String>,
    /// The two characters of the console's `CID-XX` form.
    pub checksum: String,
}

impl Child {
    /// The CID in the console's form: upper case, `-`, the checksum.
    pub fn with_checksum(&self) -> String {
        format!(
            "{}-{}",
            self.cid.as_str().to_ascii_uppercase(),
            self.checksum
        )
    }
}

impl TryFrom<DomainChildLink> for Child {
    type Error = Error;

    /// Reads the service's answer; a CID that is not one is an error naming it.
    fn try_from(link: DomainChildLink) -> Result<Self> {
        Ok(Child {
            cid: link.child_cid.parse()?,
            parent: link.child_of.parse()?,
            name: link.name,
            status: link.status,
            checksum: link.checksum,
        })
    }
}

impl Falcon {
    /// Every child CID of the parent this handle acts in (none for a child's or a standalone
    /// CID's handle), in the service's order (last changed first).
    ///
    /// `queryChildren` pages of [`CHILDREN_PAGE`], then `getChildrenV2` in batches of
    /// [`CHILDREN_BATCH`]. The API client needs the scope "Flight Control: Read"
    /// ([`FLIGHT_CONTROL_READ`], `mssp:read`); without it this fails with an [`Error::Auth`]
    /// ([`AuthProblem::Forbidden`](crate::AuthProblem::Forbidden)) that names the scope, and
    /// everything else the handle does keeps working.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// for child in falcon.children().await? {
    ///     println!("{} {:?} {:?}", child.cid, child.name, child.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn children(&self) -> Result<Vec<Child>> {
        let scoped = |op| move |e| needs_scope(e, op, FLIGHT_CONTROL_READ, "listing the children");
        let cids: Vec<String> = self
            .child_cids()
            .try_collect()
            .await
            .map_err(scoped(&QUERY_CHILDREN))?;
        if cids.is_empty() {
            return Ok(Vec::new());
        }
        let api = self.ready().await?;
        let batches = cids
            .chunks(CHILDREN_BATCH)
            .map(<[String]>::to_vec)
            .collect();
        let found = batched(batches, self.batch().concurrency, |ids| {
            let request = api.get_children_v2().body(MsaspecIdsRequest { ids });
            async move {
                let answer = call(&GET_CHILDREN_V2, request.send()).await?;
                Ok(Entities {
                    resources: answer.resources.unwrap_or_default(),
                    errors: answer.errors.unwrap_or_default(),
                })
            }
        })
        .await
        .map_err(scoped(&GET_CHILDREN_V2))?;
        found.resources.into_iter().map(Child::try_from).collect()
    }

    /// The child CIDs, as `queryChildren` lists them, every page.
    fn child_cids(&self) -> futures::stream::BoxStream<'static, Result<String>> {
        let spec = Listing {
            operation: &QUERY_CHILDREN,
            page_size: CHILDREN_PAGE,
            ceiling: DEFAULT_OFFSET_CEILING,
            split: false,
            duplicates: self.duplicates(),
        };
        let falcon = self.clone();
        listing(spec, String::clone, move |slice: Slice| {
            let falcon = falcon.clone();
            async move {
                let api = falcon.ready().await?;
                let page = call(
                    &QUERY_CHILDREN,
                    api.query_children()
                        .offset(slice.offset as i64)
                        .limit(slice.limit as i64)
                        .send(),
                )
                .await?;
                Ok(Page {
                    total: page.meta.pagination.map(|p| p.total.max(0) as u64),
                    items: page.resources.unwrap_or_default(),
                })
            }
        })
    }
}

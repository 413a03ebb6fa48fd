//! Every user with their grants, as a stream: constant memory in the number of users.

use falcon_users_api::types::{DomainUser, FlightcontrolapiCombinedUserRolesResourceV2};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::client::Falcon;
use crate::error::Result;
use crate::ops::grants::GrantQuery;
use crate::ops::users::UserQuery;

/// One user and every grant they hold in the handle's CID.
#[derive(Debug, Clone, PartialEq)]
pub struct UserWithGrants {
    /// The user.
    pub user: DomainUser,
    /// Their grants (direct and Flight Control).
    pub grants: Vec<FlightcontrolapiCombinedUserRolesResourceV2>,
}

impl Falcon {
    /// Every user matching `query` with their grants: ids page by page, entities in batches,
    /// then one grants listing per user, `concurrency` at a time, in user order. Only a bounded
    /// window of users is held in memory; the rate limiter and retries apply to every call.
    pub fn inventory(
        &self,
        query: UserQuery,
        concurrency: usize,
    ) -> BoxStream<'static, Result<UserWithGrants>> {
        let falcon = self.clone();
        self.users(query)
            .map_ok(move |user| {
                let falcon = falcon.clone();
                async move {
                    let uuid = user.uuid.clone().unwrap_or_default();
                    let grants = falcon
                        .grants(&uuid, GrantQuery::new())
                        .try_collect()
                        .await?;
                    Ok(UserWithGrants { user, grants })
                }
            })
            .try_buffered(concurrency.max(1))
            .boxed()
    }
}

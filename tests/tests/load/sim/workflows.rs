//! The inventory workflow at size: 5,000 users, equal to the simulator's state.

use std::collections::{BTreeMap, BTreeSet};

use falcon_users::UserQuery;
use falcon_users::workflows::InventoryOptions;
use falcon_users_tests::sim::workflow_tenant;
use futures::TryStreamExt;

#[tokio::test]
async fn an_inventory_of_five_thousand_users_equals_the_state() {
    let (sim, falcon) = workflow_tenant(5_000).await;
    let rows: Vec<_> = falcon
        .inventory(UserQuery::new(), InventoryOptions::new().concurrency(16))
        .try_collect()
        .await
        .unwrap();
    let got: BTreeMap<String, BTreeSet<String>> = rows
        .iter()
        .map(|r| {
            (
                r.user.uuid.clone().unwrap(),
                r.grants.iter().map(|g| g.role_id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(got.len(), rows.len(), "no user twice");
    let parent = sim.parent_cid();
    let want: BTreeMap<String, BTreeSet<String>> = sim.inspect(|s| {
        let tenant = &s.tenants[&parent];
        tenant
            .users
            .keys()
            .map(|uuid| {
                let roles = tenant
                    .grants
                    .get(uuid)
                    .map(|g| g.iter().map(|g| g.role_id.clone()).collect())
                    .unwrap_or_default();
                (uuid.clone(), roles)
            })
            .collect()
    });
    assert_eq!(got, want);
    // Requests: pages of 500 ids + batches + one grants call per user + the token.
    let minimum = 10 + 10 + 5_000 + 1;
    assert_eq!(falcon.stats().requests, minimum as u64);
}

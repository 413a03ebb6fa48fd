//! aggregateUsersV1, aggregateUsersV2

use super::*;

fn counts(c: &Ctx, cid: &str, field: impl Fn(&User) -> String) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for u in c.users(cid) {
        *counts.entry(field(&u)).or_default() += 1;
    }
    let mut buckets: Vec<(String, i64)> = counts.into_iter().collect();
    buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    buckets
}

fn buckets(result: &types::MsaAggregationResult) -> Vec<(String, i64)> {
    result
        .buckets
        .iter()
        .map(|b| {
            (
                b.label
                    .as_ref()
                    .and_then(|l| l.as_str())
                    .unwrap()
                    .to_owned(),
                b.count,
            )
        })
        .collect()
}

#[tokio::test]
async fn aggregate_users_v1_counts_terms() {
    let c = ctx().await;
    let answer =
        c.ro.aggregate_users_v1()
            .body(vec![
                terms("status", "", 10),
                terms("first_name", "", 2),
                terms("status", "status:'active'", 10),
            ])
            .send()
            .await
            .unwrap()
            .into_inner();
    let results = answer.resources.unwrap();
    assert_eq!(results.len(), 3);

    let by_status = counts(&c, &c.parent, |u| u.status.clone());
    assert_eq!(results[0].name, "by_status");
    assert_eq!(buckets(&results[0]), by_status);
    assert_eq!(results[0].sum_other_doc_count, Some(0));
    assert_eq!(
        results[0].buckets[0].key_as_string.as_deref(),
        Some("active")
    );
    assert_eq!(by_status.iter().map(|b| b.1).sum::<i64>(), 50);

    let by_name = counts(&c, &c.parent, |u| u.first_name.clone());
    assert_eq!(buckets(&results[1]), by_name[..2].to_vec());
    assert_eq!(
        results[1].sum_other_doc_count,
        Some(by_name[2..].iter().map(|b| b.1).sum::<i64>())
    );

    let active = by_status.iter().find(|b| b.0 == "active").unwrap().clone();
    assert_eq!(buckets(&results[2]), vec![active]);

    let refused = failure(
        c.ro.aggregate_users_v1()
            .body(vec![terms("uid", "", 10)])
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.declared,
        "aggregateUsersV1 declares 400 (spec/CURATION.md, 9)"
    );
    assert!(refused.mentions("only terms aggregations"));
    let mut range = terms("status", "", 10);
    range.type_ = Some("range".into());
    let refused = failure(c.ro.aggregate_users_v1().body(vec![range]).send().await).await;
    assert_eq!(refused.status, 400);
    let fql = failure(
        c.ro.aggregate_users_v1()
            .body(vec![terms("status", "status:'x", 10)])
            .send()
            .await,
    )
    .await;
    assert_eq!(fql.status, 400);
}

#[tokio::test]
async fn aggregate_users_v2_counts_internal_users() {
    let c = ctx().await;
    let answer =
        c.ro.aggregate_users_v2()
            .user_type(types::AggregateUsersV2UserType::Internal)
            .body(vec![terms("status", "", 10)])
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        buckets(&answer.resources.unwrap()[0]),
        counts(&c, &c.parent, |u| u.status.clone())
    );
    // By CID, the parent's token counts its own users.
    let by_cid =
        c.ro.aggregate_users_v2()
            .body(vec![terms("cid", "", 10)])
            .send()
            .await
            .unwrap()
            .into_inner();
    let parent_users = c.user_count(&c.parent) as i64;
    assert_eq!(
        buckets(&by_cid.resources.unwrap()[0])[0],
        (c.parent.clone(), parent_users)
    );

    let child = &c.children[0];
    let member = c.member(child).await;
    let theirs = member
        .aggregate_users_v2()
        .body(vec![terms("cid", "", 10)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        buckets(&theirs.resources.clone().unwrap()[0]),
        vec![(child.clone(), 5)]
    );

    let anonymous = failure(
        bearer(&c.base, "forged")
            .aggregate_users_v2()
            .body(vec![terms("status", "", 10)])
            .send()
            .await,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.declared, "aggregateUsersV2 declares 401");
}

#[tokio::test]
async fn aggregate_users_v2_external_counts_no_internal_user() {
    let c = ctx().await;
    let answer =
        c.ro.aggregate_users_v2()
            .user_type(types::AggregateUsersV2UserType::External)
            .body(vec![terms("status", "", 10)])
            .send()
            .await
            .unwrap()
            .into_inner();
    assert!(answer.resources.unwrap()[0].buckets.is_empty());
}

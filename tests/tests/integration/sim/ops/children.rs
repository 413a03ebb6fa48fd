//! Flight Control discovery: queryChildren (the children's CIDs, paged, sorted, filtered on
//! `cid`) and getChildrenV2 (their details), the member token, the scope.

use super::*;

/// Every CID `query_children` lists for `client`, a page of `limit` at a time, in `sort` order.
async fn all_children(client: &Client, limit: i64, sort: types::QueryChildrenSort) -> Vec<String> {
    let mut cids = Vec::new();
    loop {
        let page = client
            .query_children()
            .limit(limit)
            .offset(cids.len() as i64)
            .sort(sort)
            .send()
            .await
            .unwrap()
            .into_inner();
        let ids = page.resources.unwrap_or_default();
        let paging = page.meta.pagination.expect("a paged answer");
        assert_eq!(paging.limit as i64, limit);
        assert_eq!(paging.offset as usize, cids.len());
        let done = ids.is_empty() || cids.len() + ids.len() >= paging.total as usize;
        cids.extend(ids);
        if done {
            return cids;
        }
    }
}

#[tokio::test]
async fn query_children_pages_the_parents_children_ten_by_default_newest_first() {
    let c = ctx_with(SimConfig {
        users: 20,
        child_cids: 13,
        ..SimConfig::default()
    })
    .await;
    // The default page is 10, and says so; the total counts every child.
    let first = c.rw.query_children().send().await.unwrap().into_inner();
    let paging = first.meta.pagination.clone().unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (0, 10, 13));
    let first = first.resources.unwrap();
    assert_eq!(first.len(), 10);
    // Newest first: the children in reverse order of creation.
    let newest_first: Vec<String> = c.children.iter().rev().cloned().collect();
    assert_eq!(first, newest_first[..10]);
    let desc = all_children(
        &c.rw,
        4,
        types::QueryChildrenSort::LastModifiedTimestampDesc,
    )
    .await;
    assert_eq!(desc, newest_first);
    let asc = all_children(&c.rw, 5, types::QueryChildrenSort::LastModifiedTimestampAsc).await;
    assert_eq!(asc, c.children, "oldest first");
    // Past the end: an empty page, the same total.
    let past =
        c.rw.query_children()
            .offset(13)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(past.resources.unwrap_or_default(), Vec::<String>::new());
    assert_eq!(past.meta.pagination.unwrap().total, 13);
}

#[tokio::test]
async fn query_children_bounds_limit_and_filters_on_cid_only() {
    let c = ctx_with(SimConfig {
        users: 20,
        child_cids: 3,
        ..SimConfig::default()
    })
    .await;
    let most =
        c.rw.query_children()
            .limit(5000)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(most.resources.unwrap().len(), 3);
    for limit in [0, 5001] {
        let refused = failure(c.rw.query_children().limit(limit).send().await).await;
        assert_eq!(refused.status, 400, "limit {limit}");
        assert!(
            refused.mentions("between 1 and 5000"),
            "{:?}",
            refused.errors
        );
    }
    let one = &c.children[1];
    let found =
        c.rw.query_children()
            .filter(format!("cid:'{one}'"))
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(found.resources.unwrap(), std::slice::from_ref(one));
    assert_eq!(found.meta.pagination.unwrap().total, 1);
    let list =
        c.rw.query_children()
            .filter(format!("cid:['{}','{}']", c.children[0], c.children[2]))
            .sort(types::QueryChildrenSort::LastModifiedTimestampAsc)
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        list.resources.unwrap(),
        [c.children[0].clone(), c.children[2].clone()]
    );
    let other = failure(c.rw.query_children().filter("name:'x'").send().await).await;
    assert_eq!(other.status, 400);
    assert!(other.mentions("invalid filter"), "{:?}", other.errors);
}

#[tokio::test]
async fn get_children_v2_answers_name_status_parent_and_checksum_and_207_for_strangers() {
    let c = ctx().await;
    let body = types::MsaspecIdsRequest {
        ids: c.children.clone(),
    };
    let answer = c.rw.get_children_v2().body(body).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let links = answer.into_inner().resources.unwrap();
    assert_eq!(links.len(), c.children.len());
    for (link, cid) in links.iter().zip(&c.children) {
        assert_eq!(&link.child_cid, cid);
        assert_eq!(link.child_of, c.parent);
        let name = c.sim.inspect(|s| s.tenants[cid].name.clone());
        assert!(!name.is_empty());
        assert_eq!(link.name.as_deref(), Some(name.as_str()));
        assert_eq!(link.status.as_deref(), Some("active"));
        // The checksum is the console form's suffix, the one the CCID lookup shows.
        let member = c.member(cid).await;
        let ccid = member
            .get_sensor_installers_ccid_by_query()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert_eq!(ccid[0], format!("{}-{}", cid.to_uppercase(), link.checksum));
    }
    // The parent itself and a stranger are not children: 207, one 404 entry each.
    let stranger = "0123456789abcdef0123456789abcdef".to_owned();
    let body = types::MsaspecIdsRequest {
        ids: vec![
            c.children[0].to_uppercase(),
            c.parent.clone(),
            stranger.clone(),
        ],
    };
    let raw = reqwest::Client::new()
        .post(format!("{}{}", c.base, operations::GET_CHILDREN_V2.path))
        .bearer_auth(mint(&c.base, RW_ID, RW_SECRET, None).await)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 207);
    let wire: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(wire["resources"][0]["child_cid"], c.children[0].as_str());
    let missing: Vec<(i64, &str)> = wire["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].as_i64().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        missing,
        [(404, c.parent.as_str()), (404, stranger.as_str())]
    );
    let none = failure(
        c.rw.get_children_v2()
            .body(types::MsaspecIdsRequest { ids: vec![] })
            .send()
            .await,
    )
    .await;
    assert_eq!(none.status, 400);
}

#[tokio::test]
async fn a_member_token_sees_no_children() {
    let c = ctx().await;
    let member = c.member(&c.children[0]).await;
    let page = member.query_children().send().await.unwrap().into_inner();
    assert_eq!(page.resources.unwrap_or_default(), Vec::<String>::new());
    assert_eq!(page.meta.pagination.unwrap().total, 0);
    let sibling = member
        .get_children_v2()
        .body(types::MsaspecIdsRequest {
            ids: vec![c.children[1].clone()],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(sibling.status().as_u16(), 207);
    let sibling = sibling.into_inner();
    assert!(sibling.resources.unwrap_or_default().is_empty());
    assert_eq!(sibling.errors.unwrap()[0].code, 404);
}

#[tokio::test]
async fn a_client_without_the_flight_control_scope_gets_403() {
    let c = ctx().await;
    for op in [&operations::QUERY_CHILDREN, &operations::GET_CHILDREN_V2] {
        assert!(op.needs_scope("mssp:read"), "{op}");
    }
    let refused = failure(c.ro.query_children().send().await).await;
    assert_eq!(refused.status, 403);
    assert!(refused.declared);
    assert!(refused.mentions("access denied"), "{:?}", refused.errors);
    let refused = failure(
        c.ro.get_children_v2()
            .body(types::MsaspecIdsRequest {
                ids: c.children.clone(),
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 403);
}

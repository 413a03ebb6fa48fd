//! queryUserInvitationsV1, getUserInvitationsGETV1

use super::*;

#[tokio::test]
async fn query_user_invitations_v1_pages_over_none() {
    let c = ctx().await;
    let answer =
        c.ro.query_user_invitations_v1()
            .send()
            .await
            .unwrap()
            .into_inner();
    assert_eq!(answer.resources, Some(Vec::new()));
    let paging = answer.meta.pagination.unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (0, 100, 0));
    let page =
        c.ro.query_user_invitations_v1()
            .filter("status:'pending'")
            .sort("created_at.desc")
            .offset(20u64)
            .limit(10u64)
            .send()
            .await
            .unwrap();
    let paging = page.meta.pagination.clone().unwrap();
    assert_eq!((paging.offset, paging.limit, paging.total), (20, 10, 0));

    let too_many = failure(c.ro.query_user_invitations_v1().limit(501u64).send().await).await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.declared);
}

#[tokio::test]
async fn query_user_invitations_v1_refuses_bad_fql() {
    let c = ctx().await;
    let refused = failure(
        c.ro.query_user_invitations_v1()
            .filter("status:'pending")
            .send()
            .await,
    )
    .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn get_user_invitations_get_v1_reports_each_unknown_id() {
    let c = ctx().await;
    let answer = failure(
        c.ro.get_user_invitations_get_v1()
            .body(ids(&["inv-1", "inv-2"]))
            .send()
            .await,
    )
    .await;
    // No invitation exists in the simulated tenants: every id is reported not found, with
    // the 400 getUserInvitationsGETV1 declares (it declares no 404).
    assert_eq!(answer.status, 400);
    assert!(answer.declared);
    let reported: Vec<(i64, Option<String>)> =
        answer.errors.iter().map(|e| (e.0, e.1.clone())).collect();
    assert_eq!(
        reported,
        vec![
            (404, Some("inv-1".to_owned())),
            (404, Some("inv-2".to_owned()))
        ]
    );

    let empty = failure(
        c.ro.get_user_invitations_get_v1()
            .body(ids(&[]))
            .send()
            .await,
    )
    .await;
    assert_eq!(empty.status, 400);
    assert!(empty.declared);
}

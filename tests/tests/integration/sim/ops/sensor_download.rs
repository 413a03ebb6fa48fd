//! GetSensorInstallersCCIDByQuery: the token's own CID, as scripts look it up first.

use super::*;

/// `cid` as the service returns it: upper case, `-`, two upper-case hex digits.
fn assert_console_form(answer: &str, cid: &str) {
    let (head, checksum) = answer
        .rsplit_once('-')
        .unwrap_or_else(|| panic!("{answer:?} has no -XX checksum"));
    assert_eq!(head, cid.to_ascii_uppercase(), "{answer:?}");
    assert!(
        checksum.len() == 2
            && checksum
                .chars()
                .all(|ch| ch.is_ascii_digit() || ('A'..='F').contains(&ch)),
        "{answer:?}: the checksum is two upper-case hex digits"
    );
    let parsed: falcon_users::Cid = answer.parse().expect("the library reads the console form");
    assert_eq!(parsed.as_str(), cid);
}

#[tokio::test]
async fn the_ccid_lookup_answers_the_tokens_cid_upper_case_with_its_checksum() {
    let c = ctx().await;
    let answer =
        c.rw.get_sensor_installers_ccid_by_query()
            .send()
            .await
            .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let resources = answer.into_inner().resources.unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_console_form(&resources[0], &c.parent);

    // The wire: one query envelope, `resources` a list of one string, `meta` with the trace id.
    let url = format!(
        "{}{}",
        c.base,
        operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY.path
    );
    let token = mint(&c.base, RW_ID, RW_SECRET, None).await;
    let raw = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 200);
    let trace = header(raw.headers(), "X-CS-TRACEID").unwrap().to_owned();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["resources"], serde_json::json!([resources[0]]));
    assert_eq!(body["meta"]["trace_id"], trace.as_str());
    assert!(
        body["errors"].as_array().is_none_or(Vec::is_empty),
        "{body}"
    );
    // The same CID always has the same checksum.
    let again =
        c.rw.get_sensor_installers_ccid_by_query()
            .send()
            .await
            .unwrap();
    assert_eq!(again.into_inner().resources.unwrap(), resources);
}

#[tokio::test]
async fn a_member_token_gets_the_member_cid() {
    let c = ctx().await;
    let mut answers = BTreeSet::new();
    for child in &c.children {
        let member = c.member(child).await;
        let answer = member
            .get_sensor_installers_ccid_by_query()
            .send()
            .await
            .unwrap()
            .into_inner()
            .resources
            .unwrap();
        assert_eq!(answer.len(), 1, "{answer:?}");
        assert_console_form(&answer[0], child);
        answers.insert(answer[0].clone());
    }
    assert_eq!(answers.len(), c.children.len(), "{answers:?}");
}

#[tokio::test]
async fn a_client_without_the_sensor_download_scope_gets_403() {
    let c = ctx().await;
    assert!(operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY.needs_scope("sensor-installers:read"));
    let refused = failure(c.ro.get_sensor_installers_ccid_by_query().send().await).await;
    assert_eq!(refused.status, 403);
    assert!(refused.declared, "403 is declared for the operation");
    assert!(refused.mentions("access denied"), "{:?}", refused.errors);
    assert!(header(&refused.headers, "X-CS-TRACEID").is_some());
}

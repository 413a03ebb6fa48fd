//! FQL as CrowdStrike documents it and as its SDKs write it, sent over HTTP to a seeded
//! simulator: each form of the table selects exactly the users (or grants) it names, and the
//! malformed forms and fields the operation does not list are refused with a 400.
//!
//! The forms are adapted to the user and grant fields from FalconPy's and PSFalcon's FQL pages,
//! CrowdStrike's falcon-mcp FQL guides, and the strings caracara-filters' `FQLGenerator` builds
//! (`field: 'value'`, `field: ['a','b']`, `field: !'value'`, `field: null`, joined by `+`).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::SecondsFormat;
use falcon_users_api::Client;
use falcon_users_sim::{SimConfig, Simulator};
use falcon_users_tests::sim::*;

const DAY: Duration = Duration::from_secs(86_400);

/// A filter on the users query, and the first names of the users it selects. `{parent}` and
/// `{child}` stand for the CIDs.
const USER_FORMS: &[(&str, &[&str])] = &[
    // Equality, as typed and as caracara-filters writes it (a space after `:`).
    ("first_name:'Ava'", &["Ava"]),
    ("first_name: 'Ava'", &["Ava"]),
    ("first_name: 'ava'", &["Ava"]),
    ("last_name: 'Lee'", &["Ava"]),
    ("name: 'Ava Lee'", &["Ava"]),
    ("status:active", &["Ava", "Cy", "Dee"]),
    ("First_Name:'Cy'", &["Cy"]),
    // `+` and `,`, with and without spaces around them.
    ("first_name: 'Ava'+last_name: 'Lee'", &["Ava"]),
    ("first_name: 'Ava' + last_name: 'Nowak'", &[]),
    ("first_name:'Ava',first_name:'Bo'", &["Ava", "Bo"]),
    ("first_name: 'Ava' , first_name: 'Bo'", &["Ava", "Bo"]),
    // Value lists: any item, exactly as written (case included).
    (
        "cid: ['{parent}','{child}']",
        &["Ava", "Bo", "Cy", "Dee", "Eve"],
    ),
    (
        "assigned_cids: ['{child}','0123456789abcdef0123456789abcdef']",
        &["Bo"],
    ),
    ("assigned_cids:['{parent}']", &["Ava", "Dee"]),
    ("status:['active']", &["Ava", "Cy", "Dee"]),
    ("status: ['Active']", &[]),
    ("first_name: ['Ava', 'Cy', \"Eve\"]", &["Ava", "Cy", "Eve"]),
    ("temporarily_assigned_cids:['{child}']", &["Bo"]),
    // Negation.
    ("status: !'inactive'", &["Ava", "Cy", "Dee"]),
    ("status:!['inactive']", &["Ava", "Cy", "Dee"]),
    ("first_name:!['Ava','Bo']", &["Cy", "Dee", "Eve"]),
    // Wildcards, inside the value and as the `*` operator; an escaped star is a star.
    ("uid:'*@corp.example.com'", &["Ava", "Bo", "Cy", "Eve"]),
    ("first_name:'*e'", &["Dee", "Eve"]),
    ("uid:*'*@other*'", &["Dee"]),
    ("uid:!*'*@corp*'", &["Dee"]),
    (r"uid:'*\**'", &["Eve"]),
    (r"uid:'eve\*star@corp.example.com'", &["Eve"]),
    // Quoting: escapes, double quotes.
    (r"last_name:'O\'Brien'", &["Cy"]),
    ("last_name:\"O'Brien\"", &["Cy"]),
    // Text match: words, ignoring case, spaces and punctuation.
    ("last_name:~'brien'", &["Cy"]),
    ("name:~'LEE'", &["Ava", "Dee"]),
    ("name:~'lee smith'", &["Dee"]),
    ("name:!~'lee'", &["Bo", "Cy", "Eve"]),
    // Booleans and null.
    ("has_temporary_roles:true", &["Bo", "Dee"]),
    ("has_temporary_roles: false", &["Ava", "Cy", "Eve"]),
    ("assigned_cids:null", &["Cy", "Eve"]),
    ("assigned_cids: !null", &["Ava", "Bo", "Dee"]),
    ("factors:null", &["Ava", "Bo", "Cy", "Dee", "Eve"]),
    // Comparisons on text (ignoring case).
    ("uid:>'d'", &["Dee", "Eve"]),
    ("last_name:<='lee'", &["Ava"]),
    // Parentheses: ORed groups (PSFalcon's example), an ANDed group (falcon-mcp's).
    (
        "(first_name:'Ava'+status:'active'),(first_name:'Bo'+status:'active')",
        &["Ava"],
    ),
    (
        "(status:'active',status:'inactive')+uid:'*@other.example.com'",
        &["Dee"],
    ),
    (
        " status: 'active' + ( first_name: 'Ava' , first_name: 'Cy' ) ",
        &["Ava", "Cy"],
    ),
];

/// A filter on Gail's grants, and the roles it selects. `{in2d}` is the time two days from
/// now (RFC 3339).
const GRANT_FORMS: &[(&str, &[&str])] = &[
    ("expires_at:null", &[GUEST]),
    ("expires_at: !null", &[ANALYST, READ_ONLY]),
    ("expires_at:>'now'", &[ANALYST, READ_ONLY]),
    ("expires_at:<'now+3d'", &[READ_ONLY]),
    ("expires_at: >= 'now+48h'", &[ANALYST]),
    ("expires_at:>'{in2d}'", &[ANALYST]),
    ("expires_at:<={in2d}", &[READ_ONLY]),
    (
        "expires_at:>'2000-01'+expires_at:<'2999'",
        &[ANALYST, READ_ONLY],
    ),
    (
        "role_id: ['falcon_console_guest','falconhost_analyst']",
        &[ANALYST, GUEST],
    ),
    (
        "role_id:'falcon_console_guest',expires_at:<'now+2d'",
        &[GUEST, READ_ONLY],
    ),
    ("role_name:~'read only'", &[READ_ONLY]),
    ("role_name:'falcon*'", &[ANALYST, GUEST, READ_ONLY]),
];

const GUEST: &str = "falcon_console_guest";
const READ_ONLY: &str = "falconhost_read_only";
const ANALYST: &str = "falconhost_analyst";

/// Malformed filters and fields the user query does not list, and a word of each refusal.
const REFUSED: &[(&str, &str)] = &[
    ("nope:'x'", "cannot filter on \"nope\""),
    (
        "created_at:>'2020-01-01'",
        "cannot filter on \"created_at\"",
    ),
    ("first_name:'Ava", "unterminated"),
    ("first_name:['Ava'", "unclosed list"),
    ("first_name:[]", "empty list"),
    ("first_name:>['a','b']", "one value"),
    ("first_name:!>'a'", "cannot be combined"),
    ("first_name:*Ava", "needs a quoted value"),
    ("first_name:~'--'", "needs a word"),
    ("first_name:'Ava' last_name:'Lee'", "unexpected"),
    ("first_name:'Ava'+", "expected a field name"),
    ("(first_name:'Ava'", "unclosed parenthesis"),
    ("first_name:'Ava')", "unmatched ')'"),
    (r"first_name:'\q'", "bad escape"),
    (
        "(((((((((first_name:'Ava')))))))))",
        "parentheses nested deeper",
    ),
];

/// Five users of known names, logins, statuses and grants, and Gail, who holds three grants:
/// one permanent, one ending tomorrow, one in six days.
async fn seeded() -> (Simulator, Client) {
    let sim = Simulator::start(SimConfig {
        users: 0,
        child_cids: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let child = sim.child_cids()[0].clone();
    let user = |uid: &str, first: &str, last: &str, status: &str| {
        sim.seed()
            .user(uid)
            .first_name(first)
            .last_name(last)
            .status(status)
    };
    user("ava@corp.example.com", "Ava", "Lee", "active")
        .grant(GUEST)
        .create()
        .unwrap();
    user("bo@corp.example.com", "Bo", "Nowak", "inactive")
        .grant_in(&child, READ_ONLY)
        .expires_in(2 * DAY)
        .create()
        .unwrap();
    user("cy@corp.example.com", "Cy", "O'Brien", "active")
        .create()
        .unwrap();
    user("dee@other.example.com", "Dee", "Lee-Smith", "active")
        .grant(GUEST)
        .expires_in(5 * DAY)
        .create()
        .unwrap();
    user("eve*star@corp.example.com", "Eve", "Star", "inactive")
        .create()
        .unwrap();
    let base = sim.base_url_str();
    let client = bearer(&base, &mint(&base, RW_ID, RW_SECRET, None).await);
    (sim, client)
}

/// The first names of the users `filter` selects.
async fn users_selected(sim: &Simulator, client: &Client, filter: &str) -> Vec<String> {
    let answer = client
        .query_user_v1()
        .filter(filter)
        .limit(500)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{filter:?} refused: {e:?}"))
        .into_inner();
    let uuids: BTreeSet<String> = answer.resources.into_iter().flatten().collect();
    let mut names: Vec<String> = sim
        .users(&sim.parent_cid())
        .into_iter()
        .filter(|u| uuids.contains(&u.uuid))
        .map(|u| u.first_name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn documented_and_sdk_written_fql_selects_the_right_users() {
    let (sim, client) = seeded().await;
    let (parent, child) = (sim.parent_cid(), sim.child_cids()[0].clone());
    let mut wrong = Vec::new();
    for (form, expected) in USER_FORMS {
        let filter = form.replace("{parent}", &parent).replace("{child}", &child);
        let got = users_selected(&sim, &client, &filter).await;
        if got != *expected {
            wrong.push(format!("{filter:?}: {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn documented_fql_on_grants_compares_expiry_as_instants() {
    let (sim, client) = seeded().await;
    let gail = sim
        .seed()
        .user("gail@corp.example.com")
        .grant(GUEST)
        .grant(READ_ONLY)
        .expires_in(DAY)
        .grant(ANALYST)
        .expires_in(6 * DAY)
        .create()
        .unwrap();
    let in2d =
        (sim.clock().utc() + chrono::Duration::days(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut wrong = Vec::new();
    for (form, expected) in GRANT_FORMS {
        let filter = form.replace("{in2d}", &in2d);
        let answer = client
            .combined_user_roles_v2()
            .user_uuid(&gail.uuid)
            .cid(sim.parent_cid())
            .filter(&filter)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{filter:?} refused: {e:?}"))
            .into_inner();
        let mut got: Vec<String> = answer
            .resources
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.role_id)
            .collect();
        got.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        if got != expected {
            wrong.push(format!("{filter:?}: {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A relative date that is not one is refused, naming it.
    let bad = failure(
        client
            .combined_user_roles_v2()
            .user_uuid(&gail.uuid)
            .filter("expires_at:>'now-3x'")
            .send()
            .await,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.mentions("bad relative date \"now-3x\""), "{bad:?}");
}

#[tokio::test]
async fn malformed_fql_and_unlisted_fields_are_refused_with_a_400() {
    let (_sim, client) = seeded().await;
    for (filter, word) in REFUSED {
        let refused = failure(client.query_user_v1().filter(*filter).send().await).await;
        assert_eq!(refused.status, 400, "{filter:?}");
        assert!(
            refused.mentions("invalid filter: ") && refused.mentions(word),
            "{filter:?}: {refused:?}"
        );
    }
}

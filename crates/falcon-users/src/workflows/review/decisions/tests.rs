use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::workflows::roster::{Action, CidState, JournalEntry, Origin};

const OWN: &str = "0123456789abcdef0123456789abcdef";
const MEMBER: &str = "fedcba9876543210fedcba9876543210";
const OTHER: &str = "11111111111111111111111111111111";

fn now() -> DateTime<Utc> {
    "2030-01-01T00:00:00Z".parse().unwrap()
}

fn finding(kind: FindingKind, uid: &str, uuid: &str, cid: &str, roles: &[&str]) -> Finding {
    Finding {
        kind,
        uid: uid.into(),
        name: String::new(),
        user_uuid: uuid.into(),
        cid: cid.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        role_names: roles.iter().map(|r| r.to_uppercase()).collect(),
        why: "why".into(),
    }
}

/// The review: Ann privileged (two roles), Bob stale, Carl without roles, Dan privileged in
/// the member CID.
fn findings() -> Vec<Finding> {
    vec![
        finding(
            FindingKind::Privileged,
            "ann@x.com",
            "u-ann",
            OWN,
            &["admin", "rtr"],
        ),
        finding(FindingKind::Stale, "bob@x.com", "u-bob", OWN, &["guest"]),
        finding(FindingKind::NoRoles, "carl@x.com", "u-carl", OWN, &[]),
        finding(
            FindingKind::Privileged,
            "dan@x.com",
            "u-dan",
            MEMBER,
            &["admin"],
        ),
    ]
}

fn review() -> DecidedReview {
    DecidedReview::new(7, "us-1", OWN, &[MEMBER.to_owned()], &findings())
}

fn user(uuid: &str, roles: &[&str]) -> UserState {
    UserState {
        uuid: Some(uuid.into()),
        roles: roles.iter().map(|r| ((*r).to_owned(), None)).collect(),
        ..UserState::default()
    }
}

/// The tenant now: as the review found it.
fn tenant() -> TenantState {
    let own: BTreeMap<String, UserState> = [
        ("ann@x.com", user("u-ann", &["admin", "rtr", "guest"])),
        ("bob@x.com", user("u-bob", &["guest"])),
        ("carl@x.com", user("u-carl", &[])),
    ]
    .into_iter()
    .map(|(u, s)| (u.to_owned(), s))
    .collect();
    let member: BTreeMap<String, UserState> = [("dan@x.com".to_owned(), user("u-dan", &["admin"]))]
        .into_iter()
        .collect();
    let cid_state = |users| CidState {
        users,
        ..CidState::default()
    };
    TenantState {
        cids: [
            (None, cid_state(own)),
            (Some(MEMBER.parse().unwrap()), cid_state(member)),
        ]
        .into_iter()
        .collect(),
        origin: Origin {
            cloud: "us-1".into(),
            cid: Some(OWN.parse().unwrap()),
            ..Origin::default()
        },
    }
}

/// The review's sheet with these decisions, by row number (the others left undecided).
fn decide(decisions: &[(usize, &str)]) -> Vec<DecisionRow> {
    let mut rows = DecisionRow::of_findings(&findings());
    for (row, decision) in decisions {
        rows[row - 2].decision = (*decision).to_owned();
    }
    rows
}

/// Every row decided `keep`, then these decisions.
fn all_kept_but(decisions: &[(usize, &str)]) -> Vec<DecisionRow> {
    let mut rows = decide(&[]);
    for row in &mut rows {
        row.decision = "keep".into();
    }
    for (row, decision) in decisions {
        rows[row - 2].decision = (*decision).to_owned();
    }
    rows
}

#[test]
fn the_sheet_has_a_row_per_role_of_a_role_finding_and_one_per_user_finding() {
    let rows = decide(&[]);
    let got: Vec<(usize, &str, Option<&str>, &str)> = rows
        .iter()
        .map(|r| (r.row, r.uid.as_str(), r.role.as_deref(), r.finding.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "ann@x.com", Some("admin"), "privileged"),
            (3, "ann@x.com", Some("rtr"), "privileged"),
            (4, "bob@x.com", None, "stale"),
            (5, "carl@x.com", None, "no-roles"),
            (6, "dan@x.com", Some("admin"), "privileged"),
        ]
    );
    assert_eq!(rows[1].role_name, "RTR");
}

/// (sheet, skip undecided, the plan's changes as (login, actions) | the problems as (row,
/// column, part of the reason))
#[test]
fn what_decisions_plan_and_what_they_refuse() {
    type Want = std::result::Result<
        Vec<(&'static str, Vec<Action>)>,
        Vec<(usize, &'static str, &'static str)>,
    >;
    let revoke = |roles: &[&str]| Action::Revoke {
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    let mut other_user = all_kept_but(&[(2, "revoke")]);
    other_user[0].uid = "eve@x.com".into();
    let mut other_cid = all_kept_but(&[]);
    other_cid[2].cid = OTHER.into();
    let mut other_review = all_kept_but(&[]);
    other_review[0].finding = "stale".into();
    let mut duplicated = all_kept_but(&[(2, "revoke")]);
    let mut copy = duplicated[0].clone();
    copy.row = 7;
    duplicated.push(copy);
    let mut formula = all_kept_but(&[]);
    formula[0].decision = "=1+1".into();
    let cases: Vec<(&str, Vec<DecisionRow>, bool, Want)> = vec![
        ("every row kept", all_kept_but(&[]), false, Ok(vec![])),
        (
            "two revokes of one user are one change; an offboard deletes",
            all_kept_but(&[(2, "revoke"), (3, " Revoke "), (4, "offboard")]),
            false,
            Ok(vec![
                ("ann@x.com", vec![revoke(&["admin", "rtr"])]),
                ("bob@x.com", vec![revoke(&["guest"]), Action::Delete]),
            ]),
        ),
        (
            "an offboard wins over a revoke of the same user",
            all_kept_but(&[(2, "revoke"), (3, "offboard")]),
            false,
            Ok(vec![(
                "ann@x.com",
                vec![revoke(&["admin", "guest", "rtr"]), Action::Delete],
            )]),
        ),
        (
            "a member CID's row acts there",
            all_kept_but(&[(6, "revoke")]),
            false,
            Ok(vec![("dan@x.com", vec![revoke(&["admin"])])]),
        ),
        (
            "undecided rows are refused, every one",
            decide(&[(2, "keep"), (3, "keep")]),
            false,
            Err(vec![
                (4, "decision", "undecided"),
                (5, "decision", "undecided"),
                (6, "decision", "undecided"),
            ]),
        ),
        (
            "or skipped when asked",
            decide(&[(2, "revoke")]),
            true,
            Ok(vec![("ann@x.com", vec![revoke(&["admin"])])]),
        ),
        (
            "an unknown decision is refused even when skipping undecided rows",
            all_kept_but(&[(2, "revokee"), (4, "maybe")]),
            true,
            Err(vec![
                (2, "decision", "\"revokee\" is not a decision"),
                (4, "decision", "\"maybe\""),
            ]),
        ),
        (
            "a formula is not a decision",
            formula,
            false,
            Err(vec![(2, "decision", "\"=1+1\" is not a decision")]),
        ),
        (
            "revoke of a finding about the user",
            all_kept_but(&[(4, "revoke")]),
            false,
            Err(vec![(4, "decision", "revoke needs a role")]),
        ),
        (
            "a login changed by hand",
            other_user,
            false,
            Err(vec![(2, "uid", "the review found user u-ann as ann@x.com")]),
        ),
        (
            "a CID not of the review",
            other_cid,
            false,
            Err(vec![(4, "cid", "is not a CID of review 7")]),
        ),
        (
            "a row that is not one of the review's findings",
            other_review,
            false,
            Err(vec![(2, "row", "not a finding of review 7")]),
        ),
        (
            "a finding listed twice",
            duplicated,
            false,
            Err(vec![(7, "row", "the same finding as row 2")]),
        ),
    ];
    for (what, rows, skip, want) in cases {
        let options = DecisionOptions::new().skip_undecided(skip);
        let got = plan_decisions(
            &DecisionSheet::new(rows),
            &review(),
            &tenant(),
            &options,
            now(),
        );
        match (got, want) {
            (Ok(p), Ok(want)) => {
                let changes: Vec<(&str, Vec<Action>)> = p
                    .plan
                    .changes
                    .iter()
                    .map(|c| (c.uid.as_str(), c.actions()))
                    .collect();
                assert_eq!(changes, want, "{what}");
            }
            (Err(Error::Decisions { problems }), Err(want)) => {
                assert_eq!(problems.len(), want.len(), "{what}: {problems:?}");
                for (p, (row, column, why)) in problems.iter().zip(want) {
                    assert_eq!((p.row, p.column.as_str()), (row, column), "{what}: {p}");
                    assert!(p.reason.contains(why), "{what}: {p}");
                }
            }
            (got, want) => panic!("{what}: {got:?}, expected {want:?}"),
        }
    }
}

/// (how the tenant moved since the review, the row refused and why)
#[test]
fn rows_the_tenant_no_longer_matches_are_stale() {
    type Move = fn(&mut TenantState);
    let cases: Vec<(&str, Move, usize, &str)> = vec![
        (
            "the user is gone",
            |t| {
                t.cids.get_mut(&None).unwrap().users.remove("bob@x.com");
            },
            4,
            "stale: bob@x.com no longer exists",
        ),
        (
            "the role is no longer held",
            |t| {
                let users = &mut t.cids.get_mut(&None).unwrap().users;
                users.get_mut("ann@x.com").unwrap().roles.remove("admin");
            },
            2,
            "stale: ann@x.com no longer holds admin",
        ),
        (
            "the login belongs to another user",
            |t| {
                let users = &mut t.cids.get_mut(&None).unwrap().users;
                users.get_mut("ann@x.com").unwrap().uuid = Some("u-new".into());
            },
            2,
            "now belongs to another user (u-new), not u-ann",
        ),
    ];
    for (what, moved, row, why) in cases {
        let mut state = tenant();
        moved(&mut state);
        let sheet = DecisionSheet::new(all_kept_but(&[(2, "revoke"), (4, "offboard")]));
        let got = plan_decisions(&sheet, &review(), &state, &DecisionOptions::new(), now());
        let Err(Error::Decisions { problems }) = got else {
            panic!("{what}: {got:?}");
        };
        assert_eq!(problems.len(), 1, "{what}: {problems:?}");
        assert_eq!(problems[0].row, row, "{what}");
        assert!(problems[0].reason.contains(why), "{what}: {}", problems[0]);
    }
}

#[test]
fn another_tenant_and_the_guardrails_refuse_the_plan() {
    let sheet = DecisionSheet::new(all_kept_but(&[(4, "offboard"), (5, "offboard")]));
    let mut elsewhere = tenant();
    elsewhere.origin.cid = Some(OTHER.parse().unwrap());
    let got = plan_decisions(
        &sheet,
        &review(),
        &elsewhere,
        &DecisionOptions::new(),
        now(),
    );
    assert!(
        matches!(&got, Err(Error::PlanRefused { reason }) if reason.contains(&format!("this handle acts in CID {OTHER}"))),
        "{got:?}"
    );
    let mut other_cloud = tenant();
    other_cloud.origin.cloud = "eu-1".into();
    let got = plan_decisions(
        &sheet,
        &review(),
        &other_cloud,
        &DecisionOptions::new(),
        now(),
    );
    assert!(
        matches!(&got, Err(Error::PlanRefused { reason }) if reason.contains("cloud us-1, this is eu-1")),
        "{got:?}"
    );

    let limited = DecisionOptions::new().guardrails(Guardrails::new().max_offboard(1));
    let got = plan_decisions(&sheet, &review(), &tenant(), &limited, now());
    assert!(
        matches!(&got, Err(Error::PlanRefused { reason }) if reason.contains("--max-offboard 2")),
        "{got:?}"
    );
    let enough = DecisionOptions::new().guardrails(Guardrails::new().max_offboard(2));
    let plan = plan_decisions(&sheet, &review(), &tenant(), &enough, now()).unwrap();
    assert_eq!(plan.plan.counts(), (0, 0, 2));
    // Every row is accounted for, with the change that carries it out.
    let changes: Vec<Option<usize>> = plan.decided.iter().map(|d| d.change).collect();
    assert_eq!(changes, [None, None, Some(0), Some(1), None]);
}

#[test]
fn a_sheet_is_read_back_as_written_and_refused_with_its_row() {
    let csv = "\u{feff}Decision,uid,user_uuid,cid,role,finding,extra\n\
               revoke,ann@x.com,u-ann,c,'=cmd,privileged,x\n\
               ,bob@x.com,u-bob,c,,stale,y\n";
    let sheet = DecisionSheet::from_csv(csv.as_bytes()).unwrap();
    let rows = sheet.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].role.as_deref(),
        Some("=cmd"),
        "the formula guard is taken off"
    );
    assert_eq!(rows[0].decided(), Ok(Some(Decision::Revoke)));
    assert_eq!((rows[1].row, rows[1].role.as_ref()), (3, None));
    assert_eq!(rows[1].decided(), Ok(None));

    let refused = |csv: &str| match DecisionSheet::from_csv(csv.as_bytes()) {
        Err(Error::Decisions { problems }) => problems
            .iter()
            .map(|p| (p.row, p.reason.clone()))
            .collect::<Vec<_>>(),
        other => panic!("{csv:?}: {other:?}"),
    };
    let missing = refused("uid,cid,role\n");
    assert_eq!(missing[0].0, 1);
    assert!(
        missing[0].1.contains("lacks user_uuid, finding, decision"),
        "{missing:?}"
    );
    let short = refused("uid,user_uuid,cid,role,finding,decision\na,b,c,d,e,f\na,b\na,b,c,d,e,f\n");
    assert_eq!(short.len(), 1);
    assert_eq!(short[0].0, 3);
    assert!(
        short[0].1.contains("2 cells where the header has 6"),
        "{short:?}"
    );
}

#[test]
fn the_targets_are_the_users_acted_on_in_their_cids() {
    let mut rows = all_kept_but(&[(2, "revoke"), (3, "revoke"), (6, "offboard")]);
    rows[3].decision = "offboard".into();
    rows[3].cid = OTHER.into();
    let Targets::Logins(logins) = DecisionSheet::new(rows).targets(&review()) else {
        panic!("logins");
    };
    assert_eq!(
        logins,
        [
            (None, "ann@x.com".to_owned()),
            (Some(MEMBER.parse().unwrap()), "dan@x.com".to_owned())
        ]
    );
}

/// Rows as a spreadsheet numbers them: with the CRLF line ends spreadsheets save (whose lines
/// the CSV reader counts one short), and past a cell holding a line break.
#[test]
fn rows_are_numbered_as_a_spreadsheet_numbers_them() {
    let saved = "uid,user_uuid,cid,role,finding,decision,comment\r\n\
                 a,b,c,d,e,keep,\"two\r\nlines\"\r\n\
                 a,b,c,d,e,keep,\r\n";
    let rows: Vec<usize> = DecisionSheet::from_csv(saved.as_bytes())
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.row)
        .collect();
    assert_eq!(rows, [2, 3]);
    let Err(Error::Decisions { problems }) =
        DecisionSheet::from_csv("uid,user_uuid,cid,role,finding,decision\r\na,b\r\n".as_bytes())
    else {
        panic!("a short row");
    };
    assert_eq!(problems[0].row, 2, "{problems:?}");
}

/// A journal line of an earlier apply: `action` on the user `uuid`, with `outcome`.
fn journaled(uuid: &str, action: Action, outcome: &str) -> JournalEntry {
    JournalEntry {
        time: now(),
        cid: None,
        uid: String::new(),
        user_uuid: Some(uuid.into()),
        action,
        outcome: outcome.into(),
        error: None,
        trace_id: None,
    }
}

/// (what an earlier apply's journal records, the rows already done | the rows refused stale)
#[test]
fn what_an_earlier_apply_did_is_already_done_not_stale() {
    // Since the review: Ann lost admin and Bob is gone.
    let mut state = tenant();
    let users = &mut state.cids.get_mut(&None).unwrap().users;
    users.get_mut("ann@x.com").unwrap().roles.remove("admin");
    users.remove("bob@x.com");
    let sheet = DecisionSheet::new(all_kept_but(&[
        (2, "revoke"),
        (3, "revoke"),
        (4, "offboard"),
    ]));
    let revoke = |roles: &[&str]| Action::Revoke {
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    type Want = std::result::Result<Vec<usize>, Vec<usize>>;
    let cases: Vec<(Vec<JournalEntry>, Want)> = vec![
        // No journal: someone else did it; stale.
        (vec![], Err(vec![2, 4])),
        // Started, never ended: not known to be done.
        (
            vec![
                journaled("u-ann", revoke(&["admin"]), "started"),
                journaled("u-bob", Action::Delete, "started"),
            ],
            Err(vec![2, 4]),
        ),
        // Done by the earlier apply (or found done after its interruption).
        (
            vec![
                journaled("U-ANN", revoke(&["admin", "guest"]), "done"),
                journaled("u-bob", revoke(&["guest"]), "done"),
                journaled("u-bob", Action::Delete, "interrupted: done"),
            ],
            Ok(vec![2, 4]),
        ),
        // Bob's roles revoked, not deleted: someone else deleted him.
        (
            vec![
                journaled("u-ann", revoke(&["admin"]), "done"),
                journaled("u-bob", revoke(&["guest"]), "done"),
            ],
            Err(vec![4]),
        ),
    ];
    for (journal, want) in cases {
        let options = DecisionOptions::new().done_before(&journal);
        let got = plan_decisions(&sheet, &review(), &state, &options, now());
        match (got, want) {
            (Ok(p), Ok(rows)) => {
                let already: Vec<usize> = p
                    .decided
                    .iter()
                    .filter(|d| d.already_done)
                    .map(|d| d.row.row)
                    .collect();
                assert_eq!(already, rows, "{journal:?}");
                // What is left: Ann's rtr, from her row 3.
                let changes: Vec<(&str, Vec<Action>)> = p
                    .plan
                    .changes
                    .iter()
                    .map(|c| (c.uid.as_str(), c.actions()))
                    .collect();
                assert_eq!(changes, [("ann@x.com", vec![revoke(&["rtr"])])]);
                assert_eq!(p.decided[1].change, Some(0));
                assert_eq!(p.decided[0].change, None);
            }
            (Err(Error::Decisions { problems }), Err(rows)) => {
                let got: Vec<usize> = problems.iter().map(|p| p.row).collect();
                assert_eq!(got, rows, "{problems:?}");
                assert!(problems.iter().all(|p| p.reason.starts_with("stale: ")));
            }
            (got, want) => panic!("{journal:?}: {got:?}, expected {want:?}"),
        }
    }
}

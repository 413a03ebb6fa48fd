//! The history against real files in a temporary directory.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::*;
use crate::model::access::Source;
use crate::workflows::review::Finding;
use crate::workflows::review::FindingKind;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a time")
}

fn meta(when: &str) -> SnapshotMeta {
    SnapshotMeta::new(SnapshotKind::Review, at(when), "us-1", "c0")
}

/// A user as a test gives it: CID, UUID, and the roles held (id, privileged).
type U<'a> = (&'a str, &'a str, &'a [(&'a str, bool)]);

fn record(history: &mut History, when: &str, users: &[U<'_>]) -> Snapshot {
    let mut writer = history.begin().unwrap();
    for (cid, uuid, roles) in users {
        writer
            .user(
                cid,
                uuid,
                &format!("{uuid}@example.com"),
                roles.iter().map(|(id, privileged)| HeldRole {
                    role_id: id,
                    role_name: Some(id),
                    privileged: Some(*privileged),
                    source: &Source::Direct,
                }),
            )
            .unwrap();
    }
    writer.commit(meta(when)).unwrap()
}

/// A diff case: its name, the users before and after, the changes expected.
type DiffCase<'a> = (&'a str, Vec<U<'a>>, Vec<U<'a>>, Vec<&'a str>);

fn changes(history: &History, a: i64, b: i64) -> (Vec<String>, DiffSummary) {
    let mut seen = Vec::new();
    let summary = history
        .diff(a, b, |c| {
            seen.push(format!(
                "{} {} {} {}{}",
                c.change,
                c.cid,
                c.user_uuid,
                c.role_id.unwrap_or_default(),
                if c.privileged { " privileged" } else { "" }
            ));
            Ok(())
        })
        .unwrap();
    (seen, summary)
}

fn open(dir: &Path) -> History {
    History::open(&dir.join(FILE_NAME)).unwrap()
}

#[test]
fn a_new_history_is_migrated_from_empty_private_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    assert_eq!(schema::version(&history.conn).unwrap(), schema::current());
    let mode: String = history
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    record(&mut history, "2026-01-01T00:00:00Z", &[("c0", "u1", &[])]);
    #[cfg(unix)]
    for name in ["history.sqlite", "history.sqlite-wal", "history.sqlite-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    drop(history);
    // Opened again: nothing to migrate, the snapshot is there.
    let history = open(dir.path());
    assert_eq!(history.list().unwrap().len(), 1);
}

#[test]
fn a_newer_schema_a_foreign_database_a_damaged_file_and_a_symlink_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    drop(open(dir.path()));
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = History::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("schema version 99 is newer than this build knows (2)"),
        "{err}"
    );

    let foreign = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = History::open(&foreign).unwrap_err().to_string();
    assert!(err.contains("not a falcon-users history"), "{err}");

    let damaged = dir.path().join("damaged.sqlite");
    std::fs::write(
        &damaged,
        b"this is not a database, just some text, long enough ".repeat(100),
    )
    .unwrap();
    let err = History::open(&damaged).unwrap_err().to_string();
    assert!(
        err.contains("not a falcon-users history, or damaged"),
        "{err}"
    );

    #[cfg(unix)]
    {
        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = History::open(&link).unwrap_err();
        assert!(matches!(err, HistoryError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("is a symlink"), "{err}");
    }
}

#[test]
fn two_writers_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = dir.path().join(FILE_NAME);
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut history = History::open(&path).unwrap();
                let mut writer = history.begin().unwrap();
                barrier.wait();
                for i in 0..2000 {
                    writer
                        .user("c0", &format!("w{w}-{i}"), "x@example.com", [])
                        .unwrap();
                }
                writer.commit(meta("2026-01-01T00:00:00Z")).unwrap().users
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.join().unwrap(), 2000);
    }
    let history = open(dir.path());
    assert_eq!(history.list().unwrap().len(), 2);
}

#[test]
fn a_writer_dropped_without_commit_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    {
        let mut writer = history.begin().unwrap();
        writer.user("c0", "u1", "u1@example.com", []).unwrap();
    }
    assert!(history.list().unwrap().is_empty());
    let rows: i64 = history
        .conn
        .query_row("SELECT count(*) FROM snapshot_rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    // And the next snapshot is recorded whole.
    let s = record(&mut history, "2026-01-02T00:00:00Z", &[("c0", "u2", &[])]);
    assert_eq!(s.users, 1);
}

#[test]
fn diff_cases() {
    const ADMIN: (&str, bool) = ("falcon_administrator", true);
    const GUEST: (&str, bool) = ("falcon_console_guest", false);
    // (name, before, after, changes expected)
    let cases: Vec<DiffCase<'_>> = vec![
        (
            "nothing changed",
            vec![("c0", "u1", &[GUEST])],
            vec![("c0", "u1", &[GUEST])],
            vec![],
        ),
        (
            "joiner, with their role",
            vec![],
            vec![("c0", "u1", &[GUEST])],
            vec!["joiner c0 u1 ", "role-gained c0 u1 falcon_console_guest"],
        ),
        (
            "joiner without roles",
            vec![],
            vec![("c0", "u1", &[])],
            vec!["joiner c0 u1 "],
        ),
        (
            "leaver, with their role",
            vec![("c0", "u1", &[GUEST])],
            vec![],
            vec!["leaver c0 u1 ", "role-lost c0 u1 falcon_console_guest"],
        ),
        (
            "role gained",
            vec![("c0", "u1", &[])],
            vec![("c0", "u1", &[GUEST])],
            vec!["role-gained c0 u1 falcon_console_guest"],
        ),
        (
            "role lost",
            vec![("c0", "u1", &[GUEST, ADMIN])],
            vec![("c0", "u1", &[ADMIN])],
            vec!["role-lost c0 u1 falcon_console_guest"],
        ),
        (
            "privileged gained",
            vec![("c0", "u1", &[GUEST])],
            vec![("c0", "u1", &[GUEST, ADMIN])],
            vec!["role-gained c0 u1 falcon_administrator privileged"],
        ),
        (
            "per CID: the same user and role in another CID is a change there",
            vec![("c0", "u1", &[ADMIN])],
            vec![("c0", "u1", &[ADMIN]), ("c1", "u1", &[ADMIN])],
            vec![
                "joiner c1 u1 ",
                "role-gained c1 u1 falcon_administrator privileged",
            ],
        ),
    ];
    for (name, before, after, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut history = open(dir.path());
        let a = record(&mut history, "2026-01-01T00:00:00Z", &before);
        let b = record(&mut history, "2026-04-01T00:00:00Z", &after);
        let (seen, summary) = changes(&history, a.id, b.id);
        assert_eq!(seen, want, "{name}");
        let per_cid: u64 = summary
            .per_cid
            .values()
            .map(|c| c.joiners + c.leavers + c.roles_gained + c.roles_lost)
            .sum();
        assert_eq!(per_cid as usize, want.len(), "{name}");
        assert_eq!(
            summary.total.privileged_gained as usize,
            want.iter().filter(|w| w.ends_with("privileged")).count(),
            "{name}"
        );
    }
}

#[test]
fn a_role_held_through_two_sources_counts_once_and_a_source_change_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let link = Source::Link {
        user_group: None,
        cid_group: None,
        grant_type: Some("flight_control".into()),
    };
    let role = |source| HeldRole {
        role_id: "r",
        role_name: None,
        privileged: Some(false),
        source,
    };
    let mut w = history.begin().unwrap();
    w.user("c0", "u1", "u1", [role(&Source::Direct)]).unwrap();
    let a = w.commit(meta("2026-01-01T00:00:00Z")).unwrap();
    let mut w = history.begin().unwrap();
    w.user("c0", "u1", "u1", [role(&link), role(&Source::Direct)])
        .unwrap();
    let b = w.commit(meta("2026-02-01T00:00:00Z")).unwrap();
    assert_eq!(b.grants, 2);
    let (seen, _) = changes(&history, a.id, b.id);
    assert!(seen.is_empty(), "{seen:?}");
    let (seen, _) = changes(&history, b.id, a.id);
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn last_two_and_missing_snapshots_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let err = history.last_two().unwrap_err().to_string();
    assert!(err.contains("no snapshot yet"), "{err}");
    let a = record(&mut history, "2026-01-01T00:00:00Z", &[]);
    assert!(
        history
            .last_two()
            .unwrap_err()
            .to_string()
            .contains("only one snapshot")
    );
    let b = record(&mut history, "2026-02-01T00:00:00Z", &[]);
    let (x, y) = history.last_two().unwrap();
    assert_eq!((x.id, y.id), (a.id, b.id));
    let err = history.diff(a.id, 42, |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("no snapshot 42"), "{err}");
}

#[test]
fn findings_and_the_digest_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let finding = Finding {
        kind: FindingKind::Privileged,
        uid: "ana@example.com".into(),
        user_uuid: "u1".into(),
        name: "Ana Example".into(),
        cid: "c0".into(),
        roles: vec!["falcon_administrator".into()],
        role_names: vec!["Falcon Administrator".into()],
        why: "holds a privileged role".into(),
    };
    let digest = |history: &mut History, why: &str| {
        let mut w = history.begin().unwrap();
        w.user("c0", "u1", "ana@example.com", []).unwrap();
        w.finding(&Finding {
            why: why.into(),
            ..finding.clone()
        })
        .unwrap();
        w.commit(meta("2026-01-01T00:00:00Z")).unwrap()
    };
    let a = digest(&mut history, "holds a privileged role");
    let b = digest(&mut history, "holds a privileged role");
    let c = digest(&mut history, "holds a privileged role!");
    assert_eq!(a.findings, 1);
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
    let (kind, why): (String, String) = history
        .conn
        .query_row(
            "SELECT kind, why FROM snapshot_findings WHERE snapshot_id = ?1",
            [a.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), why.as_str()),
        ("privileged", "holds a privileged role")
    );
}

#[test]
fn who_had_says_the_interval_it_is_sure_of() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let admin: &[(&str, bool)] = &[("falcon_administrator", true)];
    let none: &[(&str, bool)] = &[];
    // Four quarterly snapshots: "steady" holds it throughout; "left" until March; "came"
    // from June; "new" only in the last.
    let snapshots = [
        ("2026-01-01T00:00:00Z", [admin, admin, none, none]),
        ("2026-03-01T00:00:00Z", [admin, admin, none, none]),
        ("2026-06-01T00:00:00Z", [admin, none, admin, none]),
        ("2026-09-01T00:00:00Z", [admin, none, admin, admin]),
    ];
    for (when, roles) in snapshots {
        let users: Vec<U<'_>> = ["steady", "left", "came", "new"]
            .into_iter()
            .zip(roles)
            .map(|(u, r)| ("c0", u, r))
            .collect();
        record(&mut history, when, &users);
    }
    let ask = |from: &str, to: &str| {
        let mut answers = Vec::new();
        let summary = history
            .who_had("Falcon_Administrator", at(from), at(to), None, |h| {
                answers.push(format!("{}: {}", h.user_uuid, h.sentence()));
                Ok(())
            })
            .unwrap();
        answers.sort();
        (answers, summary)
    };
    // 1 April: between the March and June snapshots.
    let (answers, summary) = ask("2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z");
    assert_eq!(
        answers,
        [
            "came: held on every snapshot from 2026-06-01T00:00:00Z to 2026-09-01T00:00:00Z; \
             between 2026-03-01T00:00:00Z and 2026-06-01T00:00:00Z unknown",
            "left: held on every snapshot from 2026-01-01T00:00:00Z to 2026-03-01T00:00:00Z; \
             between 2026-03-01T00:00:00Z and 2026-06-01T00:00:00Z unknown",
            "steady: held on every snapshot from 2026-01-01T00:00:00Z to 2026-09-01T00:00:00Z",
        ]
    );
    assert_eq!((summary.holders, summary.sure), (3, 1));
    // On a snapshot's own day: that snapshot answers for sure.
    let (answers, _) = ask("2026-06-01T00:00:00Z", "2026-06-01T23:59:59Z");
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers.iter().all(|a| !a.contains("unknown")),
        "{answers:?}"
    );
    // After the last snapshot: nothing is sure.
    let (answers, summary) = ask("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z");
    assert_eq!(summary.sure, 0);
    assert!(
        answers.contains(
            &"new: held on every snapshot from 2026-09-01T00:00:00Z to 2026-09-01T00:00:00Z; \
              after 2026-09-01T00:00:00Z unknown (no later snapshot)"
                .to_owned()
        ),
        "{answers:?}"
    );
    // Before the first: likewise.
    let (answers, _) = ask("2025-12-01T00:00:00Z", "2025-12-01T00:00:00Z");
    assert!(
        answers
            .iter()
            .all(|a| a.ends_with("before 2026-01-01T00:00:00Z unknown (no earlier snapshot)")),
        "{answers:?}"
    );
    let err = history
        .who_had(
            "nope",
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
            None,
            |_| Ok(()),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("no role \"nope\""), "{err}");
}

/// A 100,000-user snapshot, twice, and their diff: the rows stream to disk and the diff
/// streams from it (sizes asserted, not times).
#[test]
fn a_100k_user_snapshot_and_its_diff() {
    const USERS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let roles = [
        ("falcon_console_guest", false),
        ("falcon_administrator", true),
    ];
    let mut take = |when: &str, shift: usize| {
        let mut w = history.begin().unwrap();
        for i in shift..USERS + shift {
            let held = &roles[..1 + usize::from(i % 10 == 0)];
            w.user(
                "c0",
                &format!("{i:08}"),
                &format!("user{i}@example.com"),
                held.iter().map(|(id, p)| HeldRole {
                    role_id: id,
                    role_name: None,
                    privileged: Some(*p),
                    source: &Source::Direct,
                }),
            )
            .unwrap();
        }
        w.commit(meta(when)).unwrap()
    };
    let a = take("2026-01-01T00:00:00Z", 0);
    // 1,000 users left, 1,000 joined (every tenth of them an administrator).
    let b = take("2026-04-01T00:00:00Z", 1000);
    assert_eq!((a.users, a.grants), (USERS as u64, 110_000));
    let mut seen = 0u64;
    let summary = history
        .diff(a.id, b.id, |_| {
            seen += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        summary.total,
        DiffCounts {
            joiners: 1000,
            leavers: 1000,
            roles_gained: 1100,
            roles_lost: 1100,
            privileged_gained: 100,
        }
    );
    assert_eq!(seen, 4200);
}

#[test]
fn a_version_1_history_is_migrated_and_keeps_its_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        // A history as the first schema left it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.execute(
            "INSERT INTO snapshots (taken_at, kind, cloud, cid, member_cids, digest, users, \
             grants, findings) VALUES ('2026-01-01T00:00:00Z', 'review', 'us-1', 'c0', '[]', \
             'd', 0, 0, 0)",
            [],
        )
        .unwrap();
    }
    let mut history = History::open(&path).unwrap();
    assert_eq!(schema::version(&history.conn).unwrap(), 2);
    assert_eq!(history.list().unwrap().len(), 1);
    let signed = history
        .sign_off(&SignOff::new(
            1,
            "ana",
            at("2026-01-02T00:00:00Z"),
            "d.csv",
            "ab",
            vec![],
        ))
        .unwrap();
    assert_eq!(signed.id, 1);
}

#[test]
fn a_sign_off_and_a_reviews_findings_read_back_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = open(dir.path());
    let mut writer = history.begin().unwrap();
    let found = Finding {
        kind: FindingKind::Privileged,
        uid: "ann@example.com".into(),
        name: "Ann Lee".into(),
        user_uuid: "u-1".into(),
        cid: "c0".into(),
        roles: vec!["falcon_administrator".into(), "rtr".into()],
        role_names: vec!["Falcon Administrator".into(), "RTR".into()],
        why: "holds Falcon Administrator, RTR".into(),
    };
    writer.finding(&found).unwrap();
    let review = writer.commit(meta("2026-01-01T00:00:00Z")).unwrap();
    let after = record(&mut history, "2026-01-02T00:00:00Z", &[]);
    // The name is not kept; everything else is.
    let recorded = history.findings(review.id).unwrap();
    assert_eq!(
        recorded,
        [Finding {
            name: String::new(),
            ..found
        }]
    );
    assert!(history.findings(99).is_err());

    let decision = |row: usize, decision: &str, result: &str| SignedDecision {
        row,
        uid: "ann@example.com".into(),
        user_uuid: "u-1".into(),
        cid: "c0".into(),
        role: Some("rtr".into()).filter(|_| row == 3),
        finding: "privileged".into(),
        why: "holds".into(),
        decision: decision.into(),
        comment: format!("comment {row}"),
        result: result.into(),
    };
    let signoff = SignOff::new(
        review.id,
        "ana",
        at("2026-01-02T00:00:00Z"),
        "d.csv",
        "00ff",
        vec![decision(3, "revoke", "done"), decision(2, "keep", "kept")],
    )
    .after(Some(after.id))
    .complete(true);
    let signed = history.sign_off(&signoff).unwrap();
    assert!(signed.id > 0);
    let read = history.sign_offs(review.id).unwrap();
    assert_eq!(read.len(), 1);
    let mut want = signed.clone();
    want.decisions.sort_by_key(|d| d.row);
    assert_eq!(read[0], want);
    assert!(history.sign_offs(after.id).unwrap().is_empty());
}

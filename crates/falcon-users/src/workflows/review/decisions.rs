//! The decision loop of a review (a certification campaign): the review's findings as a sheet
//! a reviewer fills in ([`DecisionRow::of_findings`], one row per finding and role, with empty
//! `decision` and `comment` columns), read back ([`DecisionSheet::from_csv`]), and turned,
//! against the tenant as it is now, into a roster [`Plan`] ([`plan_decisions`], a pure
//! function), carried out by [`Falcon::apply`](crate::Falcon::apply) like any plan.
//!
//! `revoke` takes that role from that user in that CID; `offboard` revokes every role and
//! deletes the user; `keep` changes nothing. A sheet is refused as a whole, before any
//! change, with every problem and its row: an undecided row (unless skipped), a decision that
//! is not one of the three, a row that is not one of the review's findings (edited, or taken
//! from another review), a CID that is not the review's, a finding listed twice, a `revoke` of
//! a finding about the user rather than a role; and, against the tenant now, a row it no longer
//! matches (stale: the user is gone, the login belongs to another user, the role is no longer
//! held directly there) unless an earlier, interrupted apply of the sheet did it
//! ([`DecisionOptions::done_before`], from its journal): running the sheet again finishes it.
//!
//! ```
//! use falcon_users::workflows::review::decisions::{DecisionSheet, Decision};
//! let csv = "uid,user_uuid,cid,role,role_name,finding,why,decision,comment\n\
//!            ann@example.com,u-1,c1,falcon_administrator,Falcon Administrator,privileged,\
//!            holds Falcon Administrator,Revoke,left the team\n";
//! let sheet = DecisionSheet::from_csv(csv.as_bytes()).unwrap();
//! assert_eq!(sheet.rows()[0].decided(), Ok(Some(Decision::Revoke)));
//! assert_eq!(sheet.rows()[0].row, 2);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, RowProblem};
use crate::model::cid::Cid;
use crate::workflows::review::finding::{Finding, FindingKind};
use crate::workflows::roster::{
    Action, Bounded, Change, Guardrails, JournalEntry, MAX_ENTRIES, MAX_LINE_BYTES, Mode, Plan,
    PlanOptions, Targets, TenantState, UserState, csv_problem,
};

/// The sheet's columns, in the order [`DecisionRow::of_findings`] writes them. `decision` and
/// `comment` are the reviewer's; the others say which finding a row is.
pub const DECISION_COLUMNS: [&str; 9] = [
    "uid",
    "user_uuid",
    "cid",
    "role",
    "role_name",
    "finding",
    "why",
    "decision",
    "comment",
];

/// The evidence kind of a decision sheet (its sidecar's `kind`): what a sheet's reader checks
/// it was given.
pub const EVIDENCE_KIND: &str = "decisions";

/// The columns a sheet must have to be read back: what identifies the finding, and the
/// decision. `role_name`, `why` and `comment` may be left out (or moved: columns are found
/// by their header).
const REQUIRED: [&str; 6] = ["uid", "user_uuid", "cid", "role", "finding", "decision"];

/// What a reviewer decided for one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Leave the access as it is.
    Keep,
    /// Take the row's role away from the user, in the row's CID.
    Revoke,
    /// Revoke every role of the user and delete them.
    Offboard,
}

impl Decision {
    /// Every decision.
    pub const ALL: [Decision; 3] = [Decision::Keep, Decision::Revoke, Decision::Offboard];

    /// `keep`, `revoke` or `offboard`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Revoke => "revoke",
            Decision::Offboard => "offboard",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Decision {
    type Err = String;

    /// A decision by its name, in any case, spaces around it ignored.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let wanted = text.trim().to_lowercase();
        Decision::ALL
            .into_iter()
            .find(|d| d.name() == wanted)
            .ok_or_else(|| format!("{text:?} is not a decision: keep, revoke or offboard"))
    }
}

/// Whether a finding of `kind` is about a role (one sheet row per role it names, each to keep
/// or revoke on its own) or about the user (one row, the role empty: keep or offboard).
fn per_role(kind: FindingKind) -> bool {
    matches!(
        kind,
        FindingKind::Privileged
            | FindingKind::Expiring
            | FindingKind::ParentInChild
            | FindingKind::ChildCidGrant
    )
}

/// One row of a decision sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// The row as a spreadsheet numbers it (the header is row 1).
    pub row: usize,
    /// The user's login.
    pub uid: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// The CID the finding concerns.
    pub cid: String,
    /// The role (`None`: the finding is about the user).
    pub role: Option<String>,
    /// The role's display name.
    pub role_name: String,
    /// The finding's kind, by its stable name.
    pub finding: String,
    /// Why it was found.
    pub why: String,
    /// The decision as written (empty: undecided).
    pub decision: String,
    /// The reviewer's comment.
    pub comment: String,
}

impl DecisionRow {
    /// The sheet of a review: a row per finding about a user, and per role of a finding about
    /// roles, undecided, numbered from 2 (after the header) in the findings' order.
    pub fn of_findings(findings: &[Finding]) -> Vec<DecisionRow> {
        let mut rows = Vec::new();
        for finding in findings {
            let roles: Vec<(Option<&String>, &str)> = if per_role(finding.kind) {
                finding
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let name = finding.role_names.get(i).map_or(r.as_str(), String::as_str);
                        (Some(r), name)
                    })
                    .collect()
            } else {
                vec![(None, "")]
            };
            for (role, role_name) in roles {
                rows.push(DecisionRow {
                    row: rows.len() + 2,
                    uid: finding.uid.clone(),
                    user_uuid: finding.user_uuid.clone(),
                    cid: finding.cid.clone(),
                    role: role.cloned(),
                    role_name: role_name.to_owned(),
                    finding: finding.kind.name().to_owned(),
                    why: finding.why.clone(),
                    decision: String::new(),
                    comment: String::new(),
                });
            }
        }
        rows
    }

    /// The row's cells, in [`DECISION_COLUMNS`] order.
    pub fn cells(&self) -> [String; DECISION_COLUMNS.len()] {
        [
            self.uid.clone(),
            self.user_uuid.clone(),
            self.cid.clone(),
            self.role.clone().unwrap_or_default(),
            self.role_name.clone(),
            self.finding.clone(),
            self.why.clone(),
            self.decision.clone(),
            self.comment.clone(),
        ]
    }

    /// The decision (`None`: undecided), or why it is not one.
    pub fn decided(&self) -> std::result::Result<Option<Decision>, String> {
        if self.decision.trim().is_empty() {
            return Ok(None);
        }
        self.decision.parse().map(Some)
    }

    /// Which finding the row is: kind, CID, user and role (the login is checked apart: it is
    /// what a hand edit changes).
    fn key(&self) -> Key {
        (
            self.finding.trim().to_lowercase(),
            self.cid.trim().to_lowercase(),
            self.user_uuid.trim().to_lowercase(),
            self.role.as_ref().map(|r| r.trim().to_owned()),
        )
    }
}

/// A finding's identity on a sheet: kind, CID, user UUID, role.
type Key = (String, String, String, Option<String>);

/// A filled-in decision sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionSheet {
    rows: Vec<DecisionRow>,
}

impl DecisionSheet {
    /// A sheet of these rows.
    pub fn new(rows: Vec<DecisionRow>) -> Self {
        DecisionSheet { rows }
    }

    /// Reads a sheet (CSV with a header row; an Excel byte-order mark is ignored; columns by
    /// their header, in any order, others ignored). A cell the writer kept from being run as
    /// a formula (a leading `'` before `=`, `+`, `-` or `@`) reads as it was. Refuses a
    /// sheet without the columns that identify a finding and its decision, or that is not
    /// CSV, with the row; at most [`MAX_ENTRIES`] rows, and the roster's size bounds.
    pub fn from_csv(reader: impl Read) -> Result<Self> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(Bounded::new(reader, Some(MAX_LINE_BYTES), "decision sheet"));
        let headers = csv
            .headers()
            .map_err(|e| refused(1, "row", csv_problem(&e, "decision sheet")))?
            .clone();
        let titles: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let t = if i == 0 {
                    t.trim_start_matches('\u{feff}')
                } else {
                    t
                };
                t.trim().to_lowercase()
            })
            .collect();
        let at = |name: &str| titles.iter().position(|t| t == name);
        let missing: Vec<&str> = REQUIRED.into_iter().filter(|c| at(c).is_none()).collect();
        if !missing.is_empty() {
            return Err(refused(
                1,
                "row",
                format!(
                    "the header lacks {}: a decision sheet has the columns {}",
                    missing.join(", "),
                    DECISION_COLUMNS.join(", ")
                ),
            ));
        }
        let columns: Vec<Option<usize>> = DECISION_COLUMNS.iter().map(|c| at(c)).collect();
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut row = 1;
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    row = record.position().map_or(row + 1, spreadsheet_row);
                    if rows.len() >= MAX_ENTRIES {
                        problems.push(RowProblem::new(
                            row,
                            "row",
                            format!(
                                "a sheet has at most {MAX_ENTRIES} rows; the rest was not read"
                            ),
                        ));
                        break;
                    }
                    let cell = |i: usize| {
                        columns[i]
                            .and_then(|c| record.get(c))
                            .map(as_written)
                            .unwrap_or_default()
                    };
                    rows.push(DecisionRow {
                        row,
                        uid: cell(0),
                        user_uuid: cell(1),
                        cid: cell(2),
                        role: Some(cell(3)).filter(|r| !r.is_empty()),
                        role_name: cell(4),
                        finding: cell(5),
                        why: cell(6),
                        decision: cell(7),
                        comment: cell(8),
                    });
                }
                Err(e) => {
                    let row = e.position().map_or(row + 1, spreadsheet_row);
                    problems.push(RowProblem::new(
                        row,
                        "row",
                        csv_problem(&e, "decision sheet"),
                    ));
                    if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                        break;
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(DecisionSheet { rows })
        } else {
            Err(Error::Decisions { problems })
        }
    }

    /// The rows, in sheet order.
    pub fn rows(&self) -> &[DecisionRow] {
        &self.rows
    }

    /// Whom the decisions act on, each in the CID to read them in: the logins of the rows
    /// decided `revoke` or `offboard` whose CID is one of `review`'s (the others are refused
    /// by [`plan_decisions`] without a read).
    pub fn targets(&self, review: &DecidedReview) -> Targets {
        let logins = self
            .rows
            .iter()
            .filter(|r| matches!(r.decided(), Ok(Some(Decision::Revoke | Decision::Offboard))))
            .filter_map(|r| Some((review.cid_key(&r.cid).ok()?, r.uid.trim().to_lowercase())))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Targets::Logins(logins)
    }
}

/// The row of a record as a spreadsheet numbers it (the header is row 1): by record, not by
/// line, so that a cell holding a line break, and the CRLF line ends spreadsheets save with
/// (whose lines the CSV reader counts one short), leave it right.
fn spreadsheet_row(position: &csv::Position) -> usize {
    position.record() as usize + 1
}

/// A cell as the review wrote it: the `'` the writer put before a formula's first character
/// (OWASP's CSV injection guidance) taken off again.
fn as_written(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
        _ => cell.to_owned(),
    }
}

fn refused(row: usize, column: &str, why: impl Into<String>) -> Error {
    Error::Decisions {
        problems: vec![RowProblem::new(row, column, why)],
    }
}

/// The review a sheet decides on, as the history recorded it: where it was made and the
/// sheet it wrote (its findings, as rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedReview {
    /// The review's snapshot in the history.
    pub snapshot: i64,
    /// The cloud it was made on.
    pub cloud: String,
    /// The handle's own CID (lower-case hex; empty when it could not be read).
    pub cid: String,
    /// The member CIDs it covered.
    pub member_cids: Vec<String>,
    /// The review's sheet: every finding, by its identity, with the login it was found for.
    findings: BTreeMap<Key, String>,
}

impl DecidedReview {
    /// The review recorded as snapshot `snapshot` of `cid` (and `member_cids`) on `cloud`, with
    /// its `findings`.
    pub fn new(
        snapshot: i64,
        cloud: &str,
        cid: &str,
        member_cids: &[String],
        findings: &[Finding],
    ) -> Self {
        let findings = DecisionRow::of_findings(findings)
            .into_iter()
            .map(|r| (r.key(), r.uid.to_lowercase()))
            .collect();
        DecidedReview {
            snapshot,
            cloud: cloud.to_owned(),
            cid: cid.to_lowercase(),
            member_cids: member_cids.iter().map(|c| c.to_lowercase()).collect(),
            findings,
        }
    }

    /// The tenant state's key of a CID of the review (`None`: the handle's own), or why it is
    /// not one of them.
    fn cid_key(&self, cid: &str) -> std::result::Result<Option<Cid>, String> {
        let parsed: Option<Cid> = cid.parse().ok();
        let hex = parsed.as_ref().map(|c| c.as_str().to_owned());
        match hex {
            Some(hex) if !self.cid.is_empty() && hex == self.cid => Ok(None),
            Some(hex) if self.member_cids.contains(&hex) => Ok(parsed),
            _ => {
                let mut cids = vec![self.cid.clone()];
                cids.extend(self.member_cids.iter().cloned());
                Err(format!(
                    "{cid:?} is not a CID of review {} ({})",
                    self.snapshot,
                    cids.join(", ")
                ))
            }
        }
    }
}

/// How to plan decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionOptions {
    /// Leave undecided rows out instead of refusing the sheet (a decision that is not one of
    /// the three is refused all the same).
    pub skip_undecided: bool,
    /// The limits the plan is held to (offboarded users, users left without any role).
    pub guardrails: Guardrails,
    /// What an earlier apply of the sheet did, by user UUID (lower case): a role revoked, or
    /// (`None`) the user deleted. A row it did is already done, not stale.
    pub done_before: BTreeSet<(String, Option<String>)>,
}

impl DecisionOptions {
    /// Undecided rows refused, the default guardrails.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leave undecided rows out.
    pub fn skip_undecided(mut self, skip: bool) -> Self {
        self.skip_undecided = skip;
        self
    }

    /// The limits.
    pub fn guardrails(mut self, guardrails: Guardrails) -> Self {
        self.guardrails = guardrails;
        self
    }

    /// What an earlier, interrupted apply of the sheet did, from its journal: the actions it
    /// records as done (or found done after an interruption). Running the sheet again then
    /// finishes the job: what that apply did is already done, not stale.
    pub fn done_before<'a>(mut self, journal: impl IntoIterator<Item = &'a JournalEntry>) -> Self {
        for entry in journal {
            if !matches!(entry.outcome.as_str(), "done" | "interrupted: done") {
                continue;
            }
            let Some(uuid) = entry.user_uuid.as_deref().map(str::to_lowercase) else {
                continue;
            };
            match &entry.action {
                Action::Revoke { roles } => {
                    for role in roles {
                        self.done_before.insert((uuid.clone(), Some(role.clone())));
                    }
                }
                Action::Delete => {
                    self.done_before.insert((uuid, None));
                }
                _ => {}
            }
        }
        self
    }
}

/// One row of the sheet and what became of it in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// The row.
    pub row: DecisionRow,
    /// Its decision (`None`: undecided, skipped).
    pub decision: Option<Decision>,
    /// The plan's change that carries it out (`None` for keep and skipped rows, and rows
    /// already done).
    pub change: Option<usize>,
    /// An earlier apply of the sheet did it ([`DecisionOptions::done_before`]).
    pub already_done: bool,
}

/// Decisions turned into a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionPlan {
    /// The changes, for [`Falcon::apply`](crate::Falcon::apply).
    pub plan: Plan,
    /// Every row of the sheet, in sheet order, with its decision and change.
    pub decided: Vec<Decided>,
}

/// Turns the decisions of `sheet` on `review` into a plan against `state` (read now: the users
/// the sheet's `revoke` and `offboard` rows name, [`DecisionSheet::targets`]), made at `now`.
/// One change per user: an `offboard` anywhere wins over revokes, the revokes of one user are
/// made together.
///
/// Refused, before anything is planned: a state of another cloud or CID than the review's
/// ([`Error::PlanRefused`]); every problem of the sheet with its row ([`Error::Decisions`]:
/// see the [module](self) docs); a plan over the guardrails ([`Error::PlanRefused`]).
pub fn plan_decisions(
    sheet: &DecisionSheet,
    review: &DecidedReview,
    state: &TenantState,
    options: &DecisionOptions,
    now: DateTime<Utc>,
) -> Result<DecisionPlan> {
    same_tenant(review, state)?;
    let mut problems = Vec::new();
    let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
    let mut decided = Vec::new();
    let mut acting = Acting::new();
    for (i, row) in sheet.rows().iter().enumerate() {
        let mut problem = |column: &str, why: String| {
            problems.push(RowProblem::new(row.row, column, why));
        };
        let decision = match row.decided() {
            Ok(Some(d)) => Some(d),
            Ok(None) if options.skip_undecided => None,
            Ok(None) => {
                problem(
                    "decision",
                    "undecided: write keep, revoke or offboard (or skip undecided rows)".into(),
                );
                None
            }
            Err(why) => {
                problem("decision", why);
                None
            }
        };
        decided.push(Decided {
            row: row.clone(),
            decision,
            change: None,
            already_done: false,
        });
        let cid = match review.cid_key(&row.cid) {
            Ok(cid) => cid,
            Err(why) => {
                problem("cid", why);
                continue;
            }
        };
        let key = row.key();
        let Some(login) = review.findings.get(&key) else {
            problem(
                "row",
                format!(
                    "not a finding of review {} (this {} of {} in {}{}): the sheet was edited, \
                     or the row is from another review",
                    review.snapshot,
                    row.finding,
                    row.user_uuid,
                    row.cid,
                    row.role
                        .as_ref()
                        .map(|r| format!(", role {r}"))
                        .unwrap_or_default()
                ),
            );
            continue;
        };
        if *login != row.uid.trim().to_lowercase() {
            problem(
                "uid",
                format!(
                    "the review found user {} as {login}, the sheet says {:?}",
                    row.user_uuid, row.uid
                ),
            );
            continue;
        }
        if let Some(first) = seen.insert(key, row.row) {
            problem("row", format!("the same finding as row {first}"));
            continue;
        }
        match decision {
            Some(Decision::Revoke) if row.role.is_none() => problem(
                "decision",
                format!(
                    "revoke needs a role: this {} finding is about the user (offboard, or keep)",
                    row.finding
                ),
            ),
            Some(d @ (Decision::Revoke | Decision::Offboard)) => {
                acting.entry((cid, login.clone())).or_default().push((i, d));
            }
            _ => {}
        }
    }
    let mut changes = Vec::new();
    for ((cid, uid), rows) in &acting {
        let first = sheet.rows()[rows[0].0].row;
        let before = state.cids.get(cid).and_then(|s| s.users.get(uid)).cloned();
        match target(&sheet.rows, rows, before.as_ref(), &options.done_before) {
            Err(stale) => problems.extend(stale),
            Ok((after, already)) => {
                for i in &already {
                    decided[*i].already_done = true;
                }
                let Some(after) = after else {
                    continue;
                };
                for (i, _) in rows.iter().filter(|(i, _)| !already.contains(i)) {
                    decided[*i].change = Some(changes.len());
                }
                changes.push(Change {
                    cid: cid.clone(),
                    uid: uid.clone(),
                    row: Some(first),
                    before,
                    after,
                });
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Err(Error::Decisions { problems });
    }
    options.guardrails.check(
        changes
            .iter()
            .map(|c| (c.before.as_ref(), c.after.as_ref())),
    )?;
    let plan_options = PlanOptions::new()
        .mode(Mode::Exact)
        .guardrails(options.guardrails);
    let unchanged = decided
        .iter()
        .filter(|d| d.decision == Some(Decision::Keep))
        .count();
    let plan = Plan::new(state, plan_options, now, changes, unchanged);
    Ok(DecisionPlan { plan, decided })
}

/// Per user (CID, login), the rows acting on them (by index in the sheet) with their decision.
type Acting = BTreeMap<(Option<Cid>, String), Vec<(usize, Decision)>>;

/// Refuses a state read on another cloud or in another CID than the review was made in: a
/// sheet carried to another tenant would act on users it never reviewed.
fn same_tenant(review: &DecidedReview, state: &TenantState) -> Result<()> {
    let here = &state.origin;
    let mut why = Vec::new();
    if !review.cloud.eq_ignore_ascii_case(&here.cloud) {
        why.push(format!(
            "it was made on the cloud {}, this is {}",
            review.cloud, here.cloud
        ));
    }
    if let Some(cid) = &here.cid
        && !review.cid.is_empty()
        && cid.as_str() != review.cid
    {
        why.push(format!(
            "it was made in CID {}, this handle acts in CID {cid}",
            review.cid
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Error::PlanRefused {
            reason: format!(
                "the sheet decides on review {}, of another tenant: {}",
                review.snapshot,
                why.join("; ")
            ),
        })
    }
}

/// Where one user goes (`None`: nowhere, `Some(None)`: offboarded), and the rows (by index)
/// an earlier apply did.
type Target = (Option<Option<UserState>>, BTreeSet<usize>);

/// Where one user's decisions take them from `before` (as read now): `Some(None)` offboarded,
/// `Some(Some(..))` without the roles revoked, `None` nowhere (an earlier apply did it all);
/// with the rows an earlier apply did (`done`). Or every row the tenant no longer matches
/// (stale) that no earlier apply explains.
fn target(
    rows: &[DecisionRow],
    decisions: &[(usize, Decision)],
    before: Option<&UserState>,
    done: &BTreeSet<(String, Option<String>)>,
) -> std::result::Result<Target, Vec<RowProblem>> {
    let stale =
        |i: usize, why: String| RowProblem::new(rows[i].row, "row", format!("stale: {why}"));
    let uuid = |i: usize| rows[i].user_uuid.trim().to_lowercase();
    let deleted = |i: usize| done.contains(&(uuid(i), None));
    let Some(before) = before else {
        // Gone: as asked, when an earlier apply deleted them.
        if decisions.iter().all(|(i, _)| deleted(*i)) {
            return Ok((None, decisions.iter().map(|(i, _)| *i).collect()));
        }
        return Err(decisions
            .iter()
            .map(|(i, _)| {
                stale(
                    *i,
                    format!(
                        "{} no longer exists in CID {}",
                        rows[*i].uid.trim(),
                        rows[*i].cid
                    ),
                )
            })
            .collect());
    };
    let mut problems = Vec::new();
    let mut already = BTreeSet::new();
    let mut after = before.clone();
    let mut offboard = false;
    for (i, decision) in decisions {
        let row = &rows[*i];
        let uuid = row.user_uuid.trim();
        if before
            .uuid
            .as_deref()
            .is_some_and(|now| !now.eq_ignore_ascii_case(uuid))
        {
            problems.push(stale(
                *i,
                format!(
                    "{} now belongs to another user ({}), not {uuid}",
                    row.uid.trim(),
                    before.uuid.as_deref().unwrap_or_default()
                ),
            ));
            continue;
        }
        match (decision, &row.role) {
            (Decision::Offboard, _) => offboard = true,
            (_, Some(role)) if before.roles.contains_key(role.trim()) => {
                after.roles.remove(role.trim());
            }
            (_, Some(role))
                if done.contains(&(uuid.to_lowercase(), Some(role.trim().to_owned()))) =>
            {
                already.insert(*i);
            }
            (_, Some(role)) => problems.push(stale(
                *i,
                format!(
                    "{} no longer holds {} directly in CID {}",
                    row.uid.trim(),
                    role.trim(),
                    row.cid
                ),
            )),
            (_, None) => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(match (offboard, after == *before) {
        (true, _) => (Some(None), already),
        (false, true) => (None, already),
        (false, false) => (Some(Some(after)), already),
    })
}

#[cfg(test)]
mod tests;

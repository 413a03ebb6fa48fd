//! The roster's rows: read from CSV or JSON, every row checked (logins, names, roles as written,
//! CIDs, ends), every problem reported with its row; written back as CSV.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::error::{Error, Result, RowProblem};
use crate::model::cid::Cid;
use crate::model::validation::{checked_name, is_deceptive_char, validate_email};

/// The columns a roster may have, in the order an export writes them.
pub const COLUMNS: [&str; 6] = [
    "uid",
    "first_name",
    "last_name",
    "roles",
    "cid",
    "expires_at",
];

/// The most rows a roster may have: far beyond any tenant, small enough to hold in memory.
pub const MAX_ENTRIES: usize = 1_000_000;

/// The largest roster read: 256 MiB (a million rows of 268 bytes each). Past it, reading
/// stops with a problem saying so.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The longest line of a CSV roster: 1 MiB (a row naming [`MAX_ROLES_PER_ENTRY`] roles, each
/// with its end, takes a seventh of it), so that a file with no line break (`/dev/zero`) is
/// refused at once instead of read whole as one cell.
pub const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// The most roles one row may name: far more than a CID offers (built-in and custom roles
/// together), so that a runaway cell is refused with its row rather than worked through.
pub const MAX_ROLES_PER_ENTRY: usize = 500;

/// A roster: who should exist, with which roles, in which CID. Built only through the parsers
/// (or [`Roster::new`]), so every entry has been checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roster {
    pub(super) entries: Vec<RosterEntry>,
}

/// One user of a roster.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterEntry {
    /// The row it came from (CSV: the line, the header being line 1; JSON: the position from 1).
    pub row: usize,
    /// The login, trimmed and in lower case.
    pub uid: String,
    /// First name; `None` leaves an existing user's name as it is.
    pub first_name: Option<String>,
    /// Last name; `None` leaves an existing user's name as it is.
    pub last_name: Option<String>,
    /// The roles, as written (ids or display names), each once.
    pub roles: Vec<RosterRole>,
    /// The Flight Control member CID; `None` for the handle's own CID.
    pub cid: Option<Cid>,
}

/// A role on a roster row, by id or display name, permanent or ending at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRole {
    /// The role id or display name, as written.
    pub role: String,
    /// When the grant ends; `None` for a permanent grant.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A row as read, before it is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    uid: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default)]
    roles: Option<RawRoles>,
    cid: Option<String>,
    expires_at: Option<String>,
}

/// `roles` in JSON: `"a;b"` or `["a", "b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoles {
    Text(String),
    List(Vec<String>),
}

impl Roster {
    /// A roster of entries made in code. The entries are checked as a file's rows are (their
    /// `row` fields number the problems).
    pub fn new(entries: Vec<RosterEntry>) -> Result<Self> {
        let mut checker = Checker::default();
        for entry in entries {
            checker.push_entry(entry);
        }
        checker.finish()
    }

    /// Reads a CSV roster (RFC 4180, a header row; an Excel byte-order mark is ignored).
    /// At most [`MAX_BYTES`], in lines of at most [`MAX_LINE_BYTES`].
    pub fn from_csv(reader: impl Read) -> Result<Self> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(Bounded::new(reader, Some(MAX_LINE_BYTES), "roster"));
        let headers = match csv.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(refused(1, "row", csv_problem(&e, "roster"))),
        };
        let columns = header_columns(&headers)?;
        let mut checker = Checker::default();
        let mut record = csv::StringRecord::new();
        let mut row = 1;
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    row = record.position().map_or(row + 1, |p| p.line() as usize);
                    if checker.full(row) {
                        break;
                    }
                    let mut raw = RawEntry::default();
                    for (column, cell) in columns.iter().zip(record.iter()) {
                        let cell = Some(cell.to_owned()).filter(|c| !c.is_empty());
                        match *column {
                            "uid" => raw.uid = cell,
                            "first_name" => raw.first_name = cell,
                            "last_name" => raw.last_name = cell,
                            "roles" => raw.roles = cell.map(RawRoles::Text),
                            "cid" => raw.cid = cell,
                            _ => raw.expires_at = cell,
                        }
                    }
                    checker.push_raw(row, raw);
                }
                Err(e) => {
                    // A read error has no position: it is in the row after the last one read.
                    let row = e.position().map_or(row + 1, |p| p.line() as usize);
                    checker.problem(row, "row", csv_problem(&e, "roster"));
                    // A broken quote or a short row leaves the reader somewhere it cannot
                    // resync from: report the rest as unread rather than guess.
                    if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                        break;
                    }
                }
            }
        }
        checker.finish()
    }

    /// Reads a JSON roster: an array of objects with the roster's columns as keys (`roles` a
    /// `;`-separated string or an array of strings). At most [`MAX_BYTES`].
    pub fn from_json(reader: impl Read) -> Result<Self> {
        let mut text = String::new();
        Bounded::new(reader, None, "roster")
            .read_to_string(&mut text)
            .map_err(|e| refused(1, "row", format!("could not read the roster: {e}")))?;
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
            refused(
                e.line(),
                "row",
                format!("not a JSON array of objects: {e} (line {})", e.line()),
            )
        })?;
        let mut checker = Checker::default();
        for (i, value) in values.into_iter().enumerate() {
            let row = i + 1;
            if checker.full(row) {
                break;
            }
            match serde_json::from_value::<RawEntry>(value) {
                Ok(raw) => checker.push_raw(row, raw),
                Err(e) => checker.problem(row, "row", json_problem(&e)),
            }
        }
        checker.finish()
    }

    /// Reads a roster file, CSV or JSON by its extension (`.csv`, `.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let kind = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let open = || {
            std::fs::File::open(path).map_err(|e| {
                Error::invalid("roster", format!("cannot read {}: {e}", path.display()))
            })
        };
        match kind.as_deref() {
            Some("csv") => Self::from_csv(std::io::BufReader::new(open()?)),
            Some("json") => Self::from_json(std::io::BufReader::new(open()?)),
            _ => Err(Error::invalid(
                "roster",
                format!(
                    "{}: a roster is a .csv or a .json file (the extension tells which)",
                    path.display()
                ),
            )),
        }
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[RosterEntry] {
        &self.entries
    }

    /// Writes the roster as CSV with every column, roles by id or name as held, each temporary
    /// role as `role@time` (what [`Roster::from_csv`] reads back as the same roster).
    ///
    /// The cells are written as held: a program that shows the file to people (or to a
    /// spreadsheet) should write [`Roster::rows`] through its own escaping instead.
    pub fn write_csv(&self, out: impl Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(COLUMNS).map_err(csv_io)?;
        for row in self.rows() {
            csv.write_record(row).map_err(csv_io)?;
        }
        csv.flush()
    }

    /// The cells of each entry, in [`COLUMNS`] order, as [`Roster::write_csv`] writes them:
    /// roles `;`-separated, each temporary one as `role@time`; `expires_at` empty (each role
    /// carries its own end).
    pub fn rows(&self) -> impl Iterator<Item = [String; COLUMNS.len()]> + '_ {
        self.entries.iter().map(|entry| {
            let roles: Vec<String> = entry.roles.iter().map(RosterRole::cell).collect();
            [
                entry.uid.clone(),
                entry.first_name.clone().unwrap_or_default(),
                entry.last_name.clone().unwrap_or_default(),
                roles.join(";"),
                entry
                    .cid
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                String::new(),
            ]
        })
    }
}

impl RosterRole {
    /// The role as a roster cell: `role`, or `role@time` when temporary.
    pub fn cell(&self) -> String {
        match self.expires_at {
            Some(at) => format!(
                "{}@{}",
                self.role,
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            None => self.role.clone(),
        }
    }
}

/// The reader of a file of rows (a roster, a review's decision sheet), failing past
/// [`MAX_BYTES`] and, when given, a line longer than `max_line` (the parsers report the error
/// with its row); `what` names the file in the error.
pub(crate) struct Bounded<R> {
    inner: R,
    read: u64,
    line: u64,
    max_line: Option<u64>,
    what: &'static str,
}

impl<R: Read> Bounded<R> {
    pub(crate) fn new(inner: R, max_line: Option<u64>, what: &'static str) -> Self {
        Bounded {
            inner,
            read: 0,
            line: 0,
            max_line,
            what,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        self.read += n as u64;
        if self.read > MAX_BYTES {
            return Err(std::io::Error::other(format!(
                "larger than {} MiB, the most a {} may be",
                MAX_BYTES >> 20,
                self.what
            )));
        }
        let Some(max) = self.max_line else {
            return Ok(n);
        };
        // The first piece continues the line read so far; each after a line break starts one.
        for (i, piece) in bytes.split(|b| *b == b'\n').enumerate() {
            let len = piece.len() as u64;
            self.line = if i == 0 { self.line + len } else { len };
            if self.line > max {
                return Err(std::io::Error::other(format!(
                    "a line longer than {} MiB, the most a {} line may be",
                    max >> 20,
                    self.what
                )));
            }
        }
        Ok(n)
    }
}

/// The columns of a header row, each known and once.
fn header_columns(headers: &csv::StringRecord) -> Result<Vec<&'static str>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for (i, title) in headers.iter().enumerate() {
        let title = if i == 0 {
            title.trim_start_matches('\u{feff}')
        } else {
            title
        };
        let name = title.trim().to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if columns.contains(c) => {
                problems.push(RowProblem::new(1, *c, "the column appears twice"));
            }
            Some(c) => columns.push(*c),
            None => problems.push(RowProblem::new(
                1,
                "row",
                format!(
                    "unknown column {title:?} (a roster has the columns {})",
                    COLUMNS.join(", ")
                ),
            )),
        }
    }
    if !columns.contains(&"uid") {
        problems.push(RowProblem::new(1, "uid", "the header has no uid column"));
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(Error::Roster { problems })
    }
}

/// Checks rows as they come and keeps every problem.
#[derive(Default)]
struct Checker {
    entries: Vec<RosterEntry>,
    problems: Vec<RowProblem>,
    /// The row of each (CID, login) seen so far.
    seen: HashMap<(Option<Cid>, String), usize>,
}

impl Checker {
    fn problem(&mut self, row: usize, column: &str, reason: impl Into<String>) {
        self.problems.push(RowProblem::new(row, column, reason));
    }

    /// Refuses rows past [`MAX_ENTRIES`] (once).
    fn full(&mut self, row: usize) -> bool {
        let full = self.entries.len() + self.problems.len() >= MAX_ENTRIES;
        if full {
            self.problem(
                row,
                "row",
                format!("a roster has at most {MAX_ENTRIES} rows; the rest was not read"),
            );
        }
        full
    }

    fn push_raw(&mut self, row: usize, raw: RawEntry) {
        let before = self.problems.len();
        let uid = raw.uid.unwrap_or_default().trim().to_lowercase();
        if uid.is_empty() {
            self.problem(row, "uid", "the login is empty");
        }
        let mut names = [None, None];
        for (slot, (column, value)) in names
            .iter_mut()
            .zip([("first_name", raw.first_name), ("last_name", raw.last_name)])
        {
            match checked_name("name", value) {
                Ok(name) => *slot = name,
                Err(e) => self.problem(row, column, reason(&e)),
            }
        }
        let cid = match raw.cid.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => match text.parse::<Cid>() {
                Ok(cid) => Some(cid),
                Err(e) => {
                    self.problem(row, "cid", reason(&e));
                    None
                }
            },
        };
        let default_end = match raw.expires_at.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match parse_time(text) {
                Some(at) => Some(at),
                None => {
                    self.problem(row, "expires_at", not_a_time(text));
                    None
                }
            },
        };
        let cells: Vec<String> = match raw.roles {
            None => Vec::new(),
            Some(RawRoles::Text(text)) => text.split(';').map(str::to_owned).collect(),
            Some(RawRoles::List(list)) => list,
        };
        let mut cells: Vec<&str> = cells
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        if cells.len() > MAX_ROLES_PER_ENTRY {
            let named = cells.len();
            self.problem(
                row,
                "roles",
                format!("{named} roles: a row names at most {MAX_ROLES_PER_ENTRY}"),
            );
            cells.clear();
        }
        let mut roles: Vec<RosterRole> = Vec::new();
        // Each role once (the first as written): a set, so a long cell costs linear time.
        let mut named: HashSet<&str> = HashSet::new();
        for cell in cells {
            let (role, expires_at) = match cell.rsplit_once('@') {
                Some((role, time)) => match parse_time(time.trim()) {
                    Some(at) => (role.trim(), Some(at)),
                    None => {
                        self.problem(row, "roles", format!("{cell:?}: {}", not_a_time(time)));
                        continue;
                    }
                },
                None => (cell, default_end),
            };
            if role.is_empty() || role.chars().count() > 256 || role.chars().any(is_deceptive_char)
            {
                self.problem(
                    row,
                    "roles",
                    format!("{role:?} is not a role id or name (empty, too long or with control characters)"),
                );
                continue;
            }
            if named.insert(role) {
                roles.push(RosterRole {
                    role: role.to_owned(),
                    expires_at,
                });
            }
        }
        if self.problems.len() > before {
            if !uid.is_empty() {
                // Still counts for duplicates, so that one typo does not hide another.
                self.seen.entry((cid, uid)).or_insert(row);
            }
            return;
        }
        self.push_entry(RosterEntry {
            row,
            uid,
            first_name: names[0].take(),
            last_name: names[1].take(),
            roles,
            cid,
        });
    }

    fn push_entry(&mut self, entry: RosterEntry) {
        if let Err(e) = validate_email(&entry.uid) {
            self.problem(entry.row, "uid", reason(&e));
            return;
        }
        let key = (entry.cid.clone(), entry.uid.clone());
        if let Some(first) = self.seen.get(&key) {
            self.problem(
                entry.row,
                "uid",
                format!(
                    "{} is also on row {first}: one row per user and CID",
                    entry.uid
                ),
            );
            return;
        }
        self.seen.insert(key, entry.row);
        self.entries.push(entry);
    }

    fn finish(self) -> Result<Roster> {
        if self.problems.is_empty() {
            Ok(Roster {
                entries: self.entries,
            })
        } else {
            let mut problems = self.problems;
            problems.sort_by_key(|p| p.row);
            Err(Error::Roster { problems })
        }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn not_a_time(text: &str) -> String {
    format!("{text:?} is not an RFC 3339 time such as 2030-01-02T15:04:05Z")
}

/// The reason of an input error, without its field (the problem names the column).
fn reason(err: &Error) -> String {
    match err {
        Error::InvalidInput { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn refused(row: usize, column: &str, why: impl Into<String>) -> Error {
    Error::Roster {
        problems: vec![RowProblem::new(row, column, why)],
    }
}

/// What is wrong with a CSV file of rows (`what`: a roster, a decision sheet), as a problem's
/// reason.
pub(crate) fn csv_problem(err: &csv::Error, what: &str) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} cells where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text (save the file as UTF-8)".to_owned(),
        csv::ErrorKind::Io(e) => format!("could not read the {what}: {e}"),
        _ => format!("not valid CSV: {err}"),
    }
}

fn json_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // serde's "unknown field `x`, expected one of ..." is already the sentence a user needs.
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let field = rest.split(',').next().unwrap_or(rest).trim_matches('`');
        return format!(
            "unknown column {field:?} (a roster has the columns {})",
            COLUMNS.join(", ")
        );
    }
    format!("not a roster entry: {text}")
}

fn csv_io(err: csv::Error) -> std::io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(err: Error) -> Vec<(usize, String)> {
        match err {
            Error::Roster { problems } => problems.into_iter().map(|p| (p.row, p.column)).collect(),
            other => panic!("not a roster error: {other}"),
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_row() {
        let csv = "uid,first_name,last_name,roles,cid,expires_at\n\
                   ann@example.com,Ann,Lee,a,,\n\
                   not-an-email,,,a,,\n\
                   ANN@example.com,,,b,,\n\
                   cat@example.com,,,a,xyz,\n\
                   dan@example.com,,,a,,tomorrow\n\
                   eve@example.com,,,a@soon,,\n\
                   fay@example.com,\"Fa\u{1b}[2Jy\",,a,,\n\
                   gus@example.com,,,a\n";
        let found = problems(Roster::from_csv(csv.as_bytes()).unwrap_err());
        assert_eq!(
            found,
            [
                (3, "uid".to_owned()),
                (4, "uid".to_owned()),
                (5, "cid".to_owned()),
                (6, "expires_at".to_owned()),
                (7, "roles".to_owned()),
                (8, "first_name".to_owned()),
                (9, "row".to_owned()),
            ]
        );
    }

    #[test]
    fn quoted_fields_bom_and_per_role_ends_are_read() {
        let csv = "\u{feff}UID , Roles,expires_at\n\
                   \"ann@example.com\",\"Falcon Analyst; a@2030-01-02T00:00:00Z;;a\",2030-01-01T00:00:00Z\n";
        let roster = Roster::from_csv(csv.as_bytes()).unwrap();
        let entry = &roster.entries()[0];
        let end = |s: &str| Some(parse_time(s).unwrap());
        assert_eq!(
            entry.roles,
            [
                RosterRole {
                    role: "Falcon Analyst".into(),
                    expires_at: end("2030-01-01T00:00:00Z"),
                },
                RosterRole {
                    role: "a".into(),
                    expires_at: end("2030-01-02T00:00:00Z"),
                },
            ]
        );
        let mut out = Vec::new();
        roster.write_csv(&mut out).unwrap();
        let again = Roster::from_csv(out.as_slice()).unwrap();
        assert_eq!(again.entries()[0].roles, entry.roles);
    }

    #[test]
    fn a_row_names_at_most_the_role_cap_and_each_role_once() {
        let many: Vec<String> = (0..120_000).map(|n| format!("r{n}")).collect();
        // 120,000 roles in one cell (or one JSON list): refused with the row and the cap.
        let csv = format!(
            "uid,roles\nann@example.com,a\nbob@example.com,\"{}\"\n",
            many.join(";")
        );
        let err = Roster::from_csv(csv.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("120000 roles: a row names at most 500"),
            "{err}"
        );
        assert_eq!(problems(err), [(3, "roles".to_owned())]);
        let json = serde_json::json!([{"uid": "bob@example.com", "roles": many}]).to_string();
        let err = Roster::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(problems(err), [(1, "roles".to_owned())]);

        // At the cap, each role written twice: read, each once, in the order first written.
        let half = &many[..MAX_ROLES_PER_ENTRY / 2];
        let twice: Vec<&String> = half.iter().chain(half).collect();
        let cell = twice
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let csv = format!("uid,roles\nann@example.com,\"{cell}\"\n");
        let roster = Roster::from_csv(csv.as_bytes()).unwrap();
        let read: Vec<&str> = roster.entries()[0]
            .roles
            .iter()
            .map(|r| r.role.as_str())
            .collect();
        assert_eq!(read, half);
    }

    #[test]
    fn a_roster_with_no_line_break_or_past_the_size_cap_is_refused_as_it_is_read() {
        // No line break: refused in the header's row, after reading about a mebibyte of it.
        let zeros = std::io::repeat(0).take(MAX_BYTES * 4);
        let err = Roster::from_csv(zeros).unwrap_err();
        assert!(
            err.to_string()
                .contains("row 1, row: could not read the roster: a line longer than 1 MiB"),
            "{err}"
        );
        // A long line after good rows: refused in its own row.
        let long = format!(
            "uid,first_name\nann@example.com,Ann\nbob@example.com,{}\n",
            "x".repeat(MAX_LINE_BYTES as usize)
        );
        assert_eq!(
            problems(Roster::from_csv(long.as_bytes()).unwrap_err()),
            [(3, "row".to_owned())]
        );
        // JSON has no lines to bound; the whole document is.
        let spaces = std::io::repeat(b' ').take(MAX_BYTES + 1);
        let err = Roster::from_json(spaces).unwrap_err();
        assert!(err.to_string().contains("larger than 256 MiB"), "{err}");
    }

    #[test]
    fn headers_are_checked() {
        for (csv, column) in [
            ("uid,uid\n", "uid"),
            ("first_name\n", "uid"),
            ("uid,role\n", "row"),
        ] {
            let found = problems(Roster::from_csv(csv.as_bytes()).unwrap_err());
            assert!(found.contains(&(1, column.to_owned())), "{csv}: {found:?}");
        }
    }

    /// Invisible and look-alike characters are refused in the row and column they are in,
    /// naming the code point and its position, in CSV and JSON alike.
    #[test]
    fn invisible_and_mixed_script_identities_are_refused_by_row_and_column() {
        let csv = "uid,first_name,last_name\n\
                   ad\u{ad}min@example.com,,\n\
                   \u{430}dmin@example.com,,\n\
                   zoe@example.com,Zo\u{115f}e,\n\
                   jose@example.com,Jos\u{e9},Gu\u{f0}mundsd\u{f3}ttir\n\
                   kim@example.com,,Kim\u{2800}\n";
        let err = Roster::from_csv(csv.as_bytes()).unwrap_err();
        let text = err.to_string();
        for expected in [
            "row 2, uid: \"ad\\u{ad}min@example.com\" is not an email address: character 3 (counting from 1) is U+00AD, an invisible (default-ignorable) character",
            "row 3, uid: \"\u{430}dmin@example.com\" is not an email address: character 1 (counting from 1) is U+0430, Cyrillic",
            "row 4, first_name: \"Zo\u{115f}e\": character 3 (counting from 1) is U+115F",
            "row 6, last_name: \"Kim\u{2800}\": character 4 (counting from 1) is U+2800",
        ] {
            assert!(text.contains(expected), "{expected}\n in {text}");
        }
        assert_eq!(
            problems(err),
            [
                (2, "uid".to_owned()),
                (3, "uid".to_owned()),
                (4, "first_name".to_owned()),
                (6, "last_name".to_owned()),
            ]
        );
        let json = r#"[{"uid":"ad\u00admin@example.com"}]"#;
        let found = problems(Roster::from_json(json.as_bytes()).unwrap_err());
        assert_eq!(found, [(1, "uid".to_owned())]);
    }

    #[test]
    fn the_same_login_may_appear_once_per_cid() {
        let child = "0123456789abcdef0123456789abcdef";
        let csv = format!("uid,cid\nann@example.com,\nann@example.com,{child}\n");
        assert_eq!(Roster::from_csv(csv.as_bytes()).unwrap().entries().len(), 2);
    }

    #[test]
    fn json_rosters_take_lists_or_text_and_refuse_unknown_keys() {
        let json = r#"[{"uid":"ann@example.com","roles":["a","b"]},{"uid":"bob@example.com","roles":"a;b"}]"#;
        let roster = Roster::from_json(json.as_bytes()).unwrap();
        assert_eq!(roster.entries()[0].roles, roster.entries()[1].roles);
        let err = Roster::from_json(r#"[{"uid":"a@b.co","rolez":"x"}]"#.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("unknown column \"rolez\""),
            "{err}"
        );
        assert!(Roster::from_json("{".as_bytes()).is_err());
    }
}

//! The roster's rows: read from CSV or JSON, every row checked (logins, names, roles as written,
//! CIDs, ends), every problem reported with its row; written back as CSV.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::error::{Error, Result, RowProblem};
use crate::model::cid::Cid;
use crate::model::spelling::did_you_mean;
use crate::model::validation::{checked_name, is_deceptive_char, validate_email};
use crate::workflows::roster::columns::{
    COLUMNS, ColumnMap, ReadNotes, ReadOptions, detect_delimiter, same_header,
};

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

    /// Reads a CSV roster (RFC 4180, a header row; an Excel byte-order mark is ignored) as
    /// [`Roster::read_csv`] does with the default options.
    pub fn from_csv(reader: impl Read) -> Result<Self> {
        Self::read_csv(reader, &ReadOptions::new()).map(|(roster, _)| roster)
    }

    /// Reads a CSV roster: a header row, then a row per user. The delimiter is told from the
    /// header line (`,`, `;` or a tab: [`detect_delimiter`]); rows with every cell empty are
    /// skipped; an Excel byte-order mark is ignored; a cell that is not UTF-8 is refused with
    /// its row. Without a mapping every header must be a roster column; with one
    /// ([`ReadOptions::map`]) the columns it names are read and the others ignored. At most
    /// [`MAX_BYTES`], in lines of at most [`MAX_LINE_BYTES`].
    pub fn read_csv(reader: impl Read, options: &ReadOptions) -> Result<(Self, ReadNotes)> {
        let mut reader = BufReader::new(Bounded::new(reader, Some(MAX_LINE_BYTES), "roster"));
        // The header line, to tell the delimiter from; then read again by the CSV reader.
        let mut first = Vec::new();
        reader
            .read_until(b'\n', &mut first)
            .map_err(|e| refused(1, "row", format!("could not read the roster: {e}")))?;
        let delimiter = detect_delimiter(&first);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            // Records end at a line feed alone, so that their line numbers are right in a file
            // with Windows line ends (the reader's own CRLF handling counts each such line one
            // short); the carriage return is trimmed off the last cell.
            .terminator(csv::Terminator::Any(b'\n'))
            // Row lengths are checked here: a blank row of any length is skipped first.
            .flexible(true)
            .from_reader(std::io::Cursor::new(first).chain(reader));
        let headers = match csv.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(refused(1, "row", csv_problem(&e, "roster"))),
        };
        let headers: Vec<String> = headers
            .iter()
            .map(|h| {
                std::str::from_utf8(h)
                    .map(|h| h.trim_start_matches('\u{feff}').to_owned())
                    .map_err(|e| refused(1, "row", not_utf8(h, &e)))
            })
            .collect::<Result<_>>()?;
        let mut notes = ReadNotes {
            delimiter: Some(char::from(delimiter)),
            ..ReadNotes::default()
        };
        let columns = match options.map_for(headers.iter().map(String::as_str)) {
            None => header_columns(&headers)?.into_iter().map(Some).collect(),
            Some(map) => {
                let (columns, ignored) = mapped_columns(&headers, map)?;
                notes.ignored = ignored;
                columns
            }
        };
        let mut checker = Checker::new(options);
        let mut record = csv::ByteRecord::new();
        let mut row = 1;
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    row = record.position().map_or(row + 1, |p| p.line() as usize);
                    if record.iter().all(<[u8]>::is_empty) {
                        notes.blank_rows += 1;
                        continue;
                    }
                    if checker.full(row) {
                        break;
                    }
                    if record.len() != headers.len() {
                        let why = format!(
                            "{} cells where the header has {}",
                            record.len(),
                            headers.len()
                        );
                        checker.problem(row, "row", why);
                        continue;
                    }
                    let mut raw = RawEntry::default();
                    let mut readable = true;
                    for (column, cell) in columns.iter().zip(record.iter()) {
                        // An ignored column is not read, whatever its encoding.
                        let Some(column) = *column else { continue };
                        let cell = match std::str::from_utf8(cell) {
                            Ok(text) => Some(text.to_owned()).filter(|c| !c.is_empty()),
                            Err(e) => {
                                checker.problem(row, column, not_utf8(cell, &e));
                                readable = false;
                                continue;
                            }
                        };
                        match column {
                            "uid" => raw.uid = cell,
                            "first_name" => raw.first_name = cell,
                            "last_name" => raw.last_name = cell,
                            "roles" => raw.roles = cell.map(RawRoles::Text),
                            "cid" => raw.cid = cell,
                            _ => raw.expires_at = cell,
                        }
                    }
                    if readable {
                        checker.push_raw(row, raw);
                    }
                }
                Err(e) => {
                    // A read error has no position: it is in the row after the last one read.
                    let row = e.position().map_or(row + 1, |p| p.line() as usize);
                    checker.problem(row, "row", csv_problem(&e, "roster"));
                    // A broken quote leaves the reader somewhere it cannot resync from:
                    // report the rest as unread rather than guess.
                    break;
                }
            }
        }
        checker.finish().map(|roster| (roster, notes))
    }

    /// Reads a JSON roster as [`Roster::read_json`] does with the default options.
    pub fn from_json(reader: impl Read) -> Result<Self> {
        Self::read_json(reader, &ReadOptions::new()).map(|(roster, _)| roster)
    }

    /// Reads a JSON roster: an array of objects with the roster's columns as keys (`roles` a
    /// `;`-separated string or an array of strings), or with a mapping
    /// ([`ReadOptions::map`]) the keys it names (the others ignored). At most [`MAX_BYTES`].
    pub fn read_json(reader: impl Read, options: &ReadOptions) -> Result<(Self, ReadNotes)> {
        let mut text = String::new();
        Bounded::new(reader, None, "roster")
            .read_to_string(&mut text)
            .map_err(|e| refused(1, "row", format!("could not read the roster: {e}")))?;
        let mut values: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
            refused(
                e.line(),
                "row",
                format!("not a JSON array of objects: {e} (line {})", e.line()),
            )
        })?;
        let mut notes = ReadNotes::default();
        let keys = json_keys(&values);
        if let Some(map) = options.map_for(keys.iter().map(String::as_str)) {
            notes.ignored = mapped_keys(&mut values, &keys, map)?;
        }
        let mut checker = Checker::new(options);
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
        checker.finish().map(|roster| (roster, notes))
    }

    /// Reads a roster in `format` (see [`Roster::read_csv`], [`Roster::read_json`]).
    pub fn read(
        reader: impl Read,
        format: RosterFormat,
        options: &ReadOptions,
    ) -> Result<(Self, ReadNotes)> {
        match format {
            RosterFormat::Csv => Self::read_csv(reader, options),
            RosterFormat::Json => Self::read_json(reader, options),
        }
    }

    /// Reads a roster file, CSV or JSON by its extension (`.csv`, `.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let format = RosterFormat::of_path(path)?;
        let file = std::fs::File::open(path).map_err(|e| {
            Error::invalid("roster", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::read(BufReader::new(file), format, &ReadOptions::new()).map(|(roster, _)| roster)
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

/// How a roster is written: CSV or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterFormat {
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl RosterFormat {
    /// The format a file's extension names (`.csv`, `.json`).
    pub fn of_path(path: &Path) -> Result<Self> {
        let kind = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match kind.as_deref() {
            Some("csv") => Ok(RosterFormat::Csv),
            Some("json") => Ok(RosterFormat::Json),
            _ => Err(Error::invalid(
                "roster",
                format!(
                    "{}: a roster is a .csv or a .json file (the extension tells which)",
                    path.display()
                ),
            )),
        }
    }

    /// The format of a roster that starts with `start` (a stream has no extension): JSON when
    /// its first character (after a byte-order mark and blanks) opens an array, else CSV.
    ///
    /// ```
    /// use falcon_users::workflows::roster::RosterFormat;
    /// assert_eq!(RosterFormat::sniff(b"\xef\xbb\xbf [{\"uid\": \"a@b.example\"}]"), RosterFormat::Json);
    /// assert_eq!(RosterFormat::sniff(b"uid,roles\n"), RosterFormat::Csv);
    /// ```
    pub fn sniff(start: &[u8]) -> Self {
        let start = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
        match start.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => RosterFormat::Json,
            _ => RosterFormat::Csv,
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
fn header_columns(headers: &[String]) -> Result<Vec<&'static str>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for title in headers {
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
                    "unknown column {title:?} (a roster has the columns {}; a column mapping \
                     reads other headers)",
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

/// The roster column of each header under `map` (`None`: ignored), and the headers ignored.
/// Refused: a mapped header the file lacks (with the closest it has) or has twice, and a
/// mapping without `uid`.
fn mapped_columns(
    headers: &[String],
    map: &ColumnMap,
) -> Result<(Vec<Option<&'static str>>, Vec<String>)> {
    let mut problems = Vec::new();
    let mut columns = vec![None; headers.len()];
    for (column, header) in map.pairs() {
        let at: Vec<usize> = (0..headers.len())
            .filter(|&i| same_header(&headers[i], header))
            .collect();
        match at.as_slice() {
            [i] => columns[*i] = Some(column),
            [] => problems.push(missing_header(column, header, headers)),
            _ => problems.push(RowProblem::new(
                1,
                column,
                format!("the header {header:?} appears {} times", at.len()),
            )),
        }
    }
    require_uid(map, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Roster { problems });
    }
    let ignored = headers
        .iter()
        .zip(&columns)
        .filter(|(h, c)| c.is_none() && !h.trim().is_empty())
        .map(|(h, _)| h.trim().to_owned())
        .collect();
    Ok((columns, ignored))
}

/// A mapping must say where the logins are.
fn require_uid(map: &ColumnMap, problems: &mut Vec<RowProblem>) {
    if map.header("uid").is_none() {
        problems.push(RowProblem::new(
            1,
            "uid",
            "the column mapping names no uid (the login column), such as uid=Email",
        ));
    }
}

fn missing_header(column: &str, header: &str, headers: &[String]) -> RowProblem {
    let known: Vec<&str> = headers
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .collect();
    RowProblem::new(
        1,
        column,
        format!(
            "the column mapping reads {column} from {header:?}, which the file does not \
             have{} (its headers: {})",
            did_you_mean(header, known.iter().copied()),
            known.join(", ")
        ),
    )
}

/// Every key of the objects of a JSON roster, each once, in the order first seen.
fn json_keys(values: &[serde_json::Value]) -> Vec<String> {
    let mut seen = HashSet::new();
    values
        .iter()
        .filter_map(serde_json::Value::as_object)
        .flat_map(|o| o.keys())
        .filter(|k| seen.insert(k.as_str()))
        .cloned()
        .collect()
}

/// Renames the keys of each object as `map` says, dropping the others; the keys dropped.
fn mapped_keys(
    values: &mut [serde_json::Value],
    keys: &[String],
    map: &ColumnMap,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for (column, header) in map.pairs() {
        if !keys.iter().any(|k| same_header(k, header)) {
            problems.push(missing_header(column, header, keys));
        }
    }
    require_uid(map, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Roster { problems });
    }
    let column_of = |key: &str| {
        map.pairs()
            .find(|(_, h)| same_header(h, key))
            .map(|(c, _)| c)
    };
    for value in values.iter_mut() {
        if let Some(object) = value.as_object_mut() {
            *object = std::mem::take(object)
                .into_iter()
                .filter_map(|(k, v)| column_of(&k).map(|c| (c.to_owned(), v)))
                .collect();
        }
    }
    Ok(keys
        .iter()
        .filter(|k| column_of(k).is_none())
        .cloned()
        .collect())
}

/// Checks rows as they come and keeps every problem.
#[derive(Default)]
struct Checker {
    /// The roles of a row that names none.
    default_roles: Vec<String>,
    entries: Vec<RosterEntry>,
    problems: Vec<RowProblem>,
    /// The row of each (CID, login) seen so far.
    seen: HashMap<(Option<Cid>, String), usize>,
}

impl Checker {
    fn new(options: &ReadOptions) -> Self {
        Checker {
            default_roles: options.default_roles.clone(),
            ..Checker::default()
        }
    }

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
            None => self.default_roles.clone(),
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
        csv::ErrorKind::Utf8 { .. } => NOT_UTF8.to_owned(),
        csv::ErrorKind::Io(e) => format!("could not read the {what}: {e}"),
        _ => format!("not valid CSV: {err}"),
    }
}

/// Why a file in another encoding is refused, and what to do.
const NOT_UTF8: &str = "not UTF-8 text: the file is in another encoding (such as Windows-1252); \
     save it as UTF-8 (in Excel: CSV UTF-8)";

/// A cell that is not UTF-8: its first bad byte, and [`NOT_UTF8`].
fn not_utf8(cell: &[u8], err: &std::str::Utf8Error) -> String {
    let byte = cell.get(err.valid_up_to()).copied().unwrap_or_default();
    format!("byte 0x{byte:02X} is {NOT_UTF8}")
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

    fn read(csv: &[u8], options: &ReadOptions) -> Result<(Roster, ReadNotes)> {
        Roster::read_csv(csv, options)
    }

    fn hr_map() -> ColumnMap {
        "uid=Email,first_name=First Name,last_name=Last Name,roles=Roles"
            .parse()
            .unwrap()
    }

    /// An HR export as Excel writes it in three locales: comma, semicolon, tab; Windows line
    /// ends, a byte-order mark, trailing empty rows. Each is read as the same roster, the
    /// extra columns ignored and listed once, a row's own roles winning over the batch's.
    #[test]
    fn hr_exports_are_read_through_a_mapping_whatever_the_delimiter() {
        let comma = "\u{feff}Email,First Name,Last Name,Department,Title,Roles\r\n\
                     Ann@Corp.example.com,Ann,Lee,Sales,Rep,\r\n\
                     bob@corp.example.com,Bob,Ray,IT,Admin,Falcon Analyst\r\n\
                     ,,,,,\r\n\
                     ,,\r\n";
        let options = ReadOptions::new()
            .map(hr_map())
            .default_roles(["falcon_console_guest"]);
        let mut rosters = Vec::new();
        for (delimiter, text) in [
            (',', comma.to_owned()),
            (';', comma.replace(',', ";")),
            ('\t', comma.replace(',', "\t")),
        ] {
            let (roster, notes) =
                read(text.as_bytes(), &options).unwrap_or_else(|e| panic!("{delimiter:?}: {e}"));
            assert_eq!(
                notes,
                ReadNotes {
                    delimiter: Some(delimiter),
                    ignored: vec!["Department".into(), "Title".into()],
                    blank_rows: 2,
                },
                "{delimiter:?}"
            );
            rosters.push(roster);
        }
        let entries = rosters[0].entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].uid.as_str(), entries[0].first_name.as_deref()),
            ("ann@corp.example.com", Some("Ann"))
        );
        let roles = |e: &RosterEntry| e.roles.iter().map(|r| r.role.clone()).collect::<Vec<_>>();
        assert_eq!(roles(&entries[0]), ["falcon_console_guest"], "the batch's");
        assert_eq!(roles(&entries[1]), ["Falcon Analyst"], "the row's own");
        assert!(rosters.iter().all(|r| r == &rosters[0]));
        // Without the batch default, a row naming no roles has none.
        let (plain, _) = read(comma.as_bytes(), &ReadOptions::new().map(hr_map())).unwrap();
        assert!(plain.entries()[0].roles.is_empty());
    }

    #[test]
    fn mapping_problems_name_the_column_and_the_headers_the_file_has() {
        let hr = b"Email,First Name,Last Name,Department\nann@corp.example.com,Ann,Lee,Sales\n";
        let cases: [(&str, &[u8], &str, &str); 4] = [
            (
                "uid=Emial",
                hr,
                "uid",
                "row 1, uid: the column mapping reads uid from \"Emial\", which the file does not have; did you mean Email? (its headers: Email, First Name, Last Name, Department)",
            ),
            (
                "first_name=First Name",
                hr,
                "uid",
                "the column mapping names no uid (the login column), such as uid=Email",
            ),
            (
                "uid=Email",
                b"Email,email\na@corp.example.com,b@corp.example.com\n",
                "uid",
                "the header \"Email\" appears 2 times",
            ),
            (
                "uid=Email,last_name=Surname",
                hr,
                "last_name",
                "from \"Surname\", which the file does not have (its headers",
            ),
        ];
        for (map, csv, column, want) in cases {
            let options = ReadOptions::new().map(map.parse().unwrap());
            let err = read(csv, &options).unwrap_err();
            assert!(err.to_string().contains(want), "{map}: {err}");
            assert_eq!(problems(err), [(1, column.to_owned())], "{map}");
        }
        // Without a mapping, every header must be a roster column, and the refusal says a
        // mapping reads others.
        let err = Roster::from_csv(&hr[..]).unwrap_err().to_string();
        assert!(
            err.contains("unknown column \"Email\"")
                && err.contains("a column mapping reads other headers"),
            "{err}"
        );
    }

    /// A Windows-1252 `é` (0xE9) is refused in its own row and column, however the lines end,
    /// with what to do; an ignored column is not read at all.
    #[test]
    fn a_cell_that_is_not_utf8_is_refused_in_its_row() {
        for ending in ["\n", "\r\n"] {
            let mut csv =
                format!("uid,first_name{ending}ann@example.com,Ann{ending}bob@example.com,Jos")
                    .into_bytes();
            csv.push(0xE9);
            csv.extend_from_slice(ending.as_bytes());
            let err = Roster::from_csv(csv.as_slice()).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("row 3, first_name: byte 0xE9 is not UTF-8 text")
                    && text.contains("Windows-1252")
                    && text.contains("save it as UTF-8"),
                "{ending:?}: {text}"
            );
            assert_eq!(problems(err), [(3, "first_name".to_owned())]);
        }
        let mut header = b"uid,Na".to_vec();
        header.extend_from_slice(b"\xe9me\nann@example.com,x\n");
        assert_eq!(
            problems(Roster::from_csv(header.as_slice()).unwrap_err()),
            [(1, "row".to_owned())]
        );
        let mut ignored = b"Email;Note\r\nann@example.com;caf".to_vec();
        ignored.extend_from_slice(b"\xe9\r\n");
        let options = ReadOptions::new().map("uid=Email".parse().unwrap());
        let (roster, notes) = read(&ignored, &options).unwrap();
        assert_eq!(
            (roster.entries().len(), notes.ignored),
            (1, vec!["Note".to_owned()])
        );
    }

    #[test]
    fn a_short_row_that_is_not_blank_is_still_refused() {
        let csv = "uid,first_name,last_name\nann@example.com,Ann\n,,\nbob@example.com,Bob,Ray\n";
        let err = Roster::from_csv(csv.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("row 2, row: 2 cells where the header has 3"),
            "{err}"
        );
        assert_eq!(problems(err), [(2, "row".to_owned())]);
    }

    #[test]
    fn json_rosters_take_a_mapping_and_a_standing_one_only_when_needed() {
        let json = r#"[{"Email":"ann@corp.example.com","Dept":"IT"},{"Email":"bob@corp.example.com","Roles":"a"}]"#;
        let options = ReadOptions::new()
            .map("uid=Email,roles=Roles".parse().unwrap())
            .default_roles(["b"]);
        let (roster, notes) = Roster::read_json(json.as_bytes(), &options).unwrap();
        assert_eq!(notes.ignored, ["Dept"]);
        let roles: Vec<&str> = roster
            .entries()
            .iter()
            .map(|e| e.roles[0].role.as_str())
            .collect();
        assert_eq!(roles, ["b", "a"]);
        let err = Roster::read_json(
            json.as_bytes(),
            &ReadOptions::new().map("uid=Mail".parse().unwrap()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean Email?"), "{err}");

        // A profile's standing mapping leaves a roster's own columns alone.
        let standing = ReadOptions::new().fallback_map("uid=Email".parse().unwrap());
        let own = Roster::read_csv("uid,roles\nann@corp.example.com,a\n".as_bytes(), &standing);
        assert_eq!(own.unwrap().0.entries().len(), 1);
        let (hr, notes) = Roster::read_csv(
            "Email,Title\nann@corp.example.com,x\n".as_bytes(),
            &standing,
        )
        .unwrap();
        assert_eq!(
            (hr.entries().len(), notes.ignored),
            (1, vec!["Title".to_owned()])
        );
    }

    #[test]
    fn the_format_of_a_stream_is_told_from_its_first_character() {
        for (start, want) in [
            (&b"[]"[..], RosterFormat::Json),
            (b"\n  [{\"uid\":1}]", RosterFormat::Json),
            (b"\xef\xbb\xbf[", RosterFormat::Json),
            (b"uid\n", RosterFormat::Csv),
            (b"\xef\xbb\xbfEmail;Name", RosterFormat::Csv),
            (b"", RosterFormat::Csv),
        ] {
            assert_eq!(
                RosterFormat::sniff(start),
                want,
                "{}",
                String::from_utf8_lossy(start)
            );
        }
    }
}

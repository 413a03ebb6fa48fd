//! Rosters and lists of users as every command reads them (`provision --from`, `plan`,
//! `apply`, `offboard --from`, `grants ... --users-from`): from a file or standard input (`-`),
//! through the column mapping of `--map` (else the profile's `map`), with the batch's roles;
//! what reading noticed (a delimiter other than a comma, columns not read, blank rows) said
//! once on stderr.

use std::io::{BufRead, BufReader};
use std::path::Path;

use falcon_users::Error;
use falcon_users::workflows::roster::{
    ColumnMap, ReadNotes, ReadOptions, Roster, RosterFormat, detect_delimiter,
};

use crate::exit;
use crate::failure::Failure;
use crate::input;
use crate::list_file;
use crate::output::console;

/// How a command reads its roster or list of users.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reading<'a> {
    /// `--map`: the columns to read, whatever the file's header.
    pub map: Option<&'a ColumnMap>,
    /// The profile's `map`: used for a file whose header is not a roster's own columns.
    pub standing: Option<&'a ColumnMap>,
    /// `--roles` with `provision --from`: the roles of a row that names none.
    pub default_roles: &'a [String],
}

/// The header names a list of users is recognised by, best first: its login column. Compared
/// ignoring case, spaces, `_`, `-` and `.` (`E-mail`, `User Name`, `email_address`).
pub const LOGIN_HEADERS: [&str; 7] = [
    "uid",
    "login",
    "email",
    "emailaddress",
    "mail",
    "username",
    "user",
];

/// Reads the roster at `path` (`-`: standard input; CSV or JSON by the extension, or for
/// standard input by its first character).
pub fn roster(path: &Path, reading: Reading<'_>) -> Result<Roster, Failure> {
    let input = input::open(path, "roster").map_err(refused)?;
    let name = input.name().to_owned();
    let mut reader = BufReader::new(input);
    let format = if input::is_stdin(path) {
        let start = reader
            .fill_buf()
            .map_err(|e| refused(format!("cannot read the roster from standard input: {e}")))?;
        RosterFormat::sniff(start)
    } else {
        RosterFormat::of_path(path)?
    };
    let mut options = ReadOptions::new().default_roles(reading.default_roles.iter().cloned());
    match (reading.map, reading.standing) {
        (Some(map), _) => options = options.map(map.clone()),
        (None, Some(standing)) => options = options.fallback_map(standing.clone()),
        (None, None) => {}
    }
    match Roster::read(reader, format, &options) {
        Ok((roster, notes)) => {
            tell(&name, &notes);
            Ok(roster)
        }
        Err(err) => Err(with_hint(err, reading)),
    }
}

/// The logins of a list of users at `path` (`-`: standard input), each once:
/// - with a header, the login column's: the one `--map` names as `uid` (else the profile's
///   mapping's, when the header has it), else the first named as in [`LOGIN_HEADERS`]; the
///   other columns are not read;
/// - else a [list file](crate::list_file): one login (or UUID) a line, `#` comments.
///
/// Either way within the list file bounds.
pub fn users(path: &Path, reading: Reading<'_>) -> Result<Vec<String>, Failure> {
    let text = list_file::read(path, "list of users").map_err(refused)?;
    let name = input::name_of(path);
    let headers = header_cells(&text);
    let map = match (reading.map, reading.standing) {
        (Some(map), _) => Some(map.only(&["uid"])),
        (None, standing) => standing
            .filter(|m| {
                m.header("uid")
                    .is_some_and(|uid| headers.iter().any(|h| same(h, uid)))
            })
            .map(|m| m.only(&["uid"]))
            .or_else(|| login_column(&headers).and_then(|h| ColumnMap::new().with("uid", h).ok())),
    };
    let logins = match map {
        Some(map) => {
            let (roster, notes) = Roster::read_csv(text.as_bytes(), &ReadOptions::new().map(map))?;
            tell(&name, &notes);
            let rows = roster
                .entries()
                .iter()
                .map(|e| (Some(e.row), e.uid.as_str()));
            list_file::distinct(rows, |uid| Ok(uid.to_owned()))
        }
        None => {
            let lines = list_file::entries(&text).map(|(n, login)| (Some(n), login));
            list_file::distinct(lines, |login| Ok(login.to_owned()))
        }
    };
    logins.map_err(|e| refused(format!("{name}: {e}")))
}

/// The cells of the first line of `text`, split at its delimiter, unquoted and trimmed.
fn header_cells(text: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(detect_delimiter(first.as_bytes()))
        .has_headers(false)
        .flexible(true)
        .from_reader(first.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|c| c.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// The header of a list of users' login column, as [`LOGIN_HEADERS`] recognises it.
fn login_column(headers: &[String]) -> Option<&str> {
    let squeezed = |h: &str| -> String {
        h.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    LOGIN_HEADERS.iter().find_map(|want| {
        headers
            .iter()
            .find(|h| squeezed(h) == *want)
            .map(String::as_str)
    })
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Says on stderr what reading `name` noticed: a delimiter other than a comma, the columns a
/// mapping left unread (once, all of them), blank rows skipped.
fn tell(name: &str, notes: &ReadNotes) {
    match notes.delimiter {
        Some(';') => console::line(format_args!("{name}: read with ';' as the delimiter")),
        Some('\t') => console::line(format_args!("{name}: read with tabs as the delimiter")),
        _ => {}
    }
    if !notes.ignored.is_empty() {
        console::line(format_args!(
            "{name}: ignored columns (the mapping does not name them): {}",
            notes.ignored.join(", ")
        ));
    }
    if notes.blank_rows > 0 {
        let rows = if notes.blank_rows == 1 { "row" } else { "rows" };
        console::line(format_args!(
            "{name}: {} blank {rows} skipped",
            notes.blank_rows
        ));
    }
}

/// A roster refused for a column it does not know, read without a mapping: say how to map.
fn with_hint(err: Error, reading: Reading<'_>) -> Failure {
    let unknown = matches!(&err, Error::Roster { problems }
        if problems.iter().any(|p| p.reason.starts_with("unknown column")));
    if !unknown || reading.map.is_some() {
        return Failure::Sdk(err);
    }
    Failure::Exit(
        exit::for_error(&err),
        format!(
            "{err}\nhint: to read a file with other headers (an HR export), map them with \
             --map, e.g. --map 'uid=Email,first_name=First Name,last_name=Last Name,roles=Roles' \
             (or `map` in the profile); the columns it does not name are ignored"
        ),
    )
}

fn refused(reason: String) -> Failure {
    Failure::Sdk(Error::InvalidInput {
        field: "from",
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_users_is_recognised_by_its_login_column() {
        let cases: [(&str, Option<&str>); 9] = [
            ("Email,Last Day", Some("Email")),
            ("Last Day;E-Mail", Some("E-Mail")),
            ("\"Name\",\"User Name\"", Some("User Name")),
            ("User\tEmail Address", Some("Email Address")),
            ("uid,roles", Some("uid")),
            ("login", Some("login")),
            ("ann@example.com", None),
            ("# leavers", None),
            ("Name,Last Day", None),
        ];
        for (first, want) in cases {
            let headers = header_cells(&format!("{first}\nann@example.com\n"));
            assert_eq!(login_column(&headers), want, "{first}");
        }
    }
}

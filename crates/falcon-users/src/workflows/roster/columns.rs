//! Which column of a file is which: a column mapping (`uid=Email,first_name="First Name"`) so
//! that an HR export or a spreadsheet is read as it is, the delimiter a spreadsheet wrote
//! (`,`, `;` or a tab) told from the header line, and what reading noticed on the way.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::spelling::did_you_mean;

/// The columns a roster may have, in the order an export writes them.
pub const COLUMNS: [&str; 6] = [
    "uid",
    "first_name",
    "last_name",
    "roles",
    "cid",
    "expires_at",
];

/// Which header of a file holds each roster column: `uid` in `Email`, `first_name` in
/// `First Name`, ... With a mapping, only the columns it names are read; the file's other
/// columns are ignored (and listed in [`ReadNotes::ignored`]). Headers match ignoring case and
/// surrounding spaces.
///
/// Written as `COLUMN=HEADER` pairs separated by commas; a header holding a comma or a quote is
/// written in double quotes (a quote inside doubled, as in CSV):
///
/// ```
/// use falcon_users::workflows::roster::ColumnMap;
/// let map: ColumnMap = r#"uid=Email, first_name="First Name",last_name=Last Name"#.parse().unwrap();
/// assert_eq!(map.header("first_name"), Some("First Name"));
/// assert_eq!(map.header("last_name"), Some("Last Name"));
/// assert_eq!(map.header("roles"), None);
///
/// let err = "frist_name=First".parse::<ColumnMap>().unwrap_err();
/// assert!(err.to_string().contains("did you mean first_name?"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnMap {
    /// (roster column, header), in the order given.
    pairs: Vec<(&'static str, String)>,
}

impl ColumnMap {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// This mapping with `column` (one of [`COLUMNS`]) read from `header`. Refused: an unknown
    /// column (with the closest one), a column or a header named twice, an empty header.
    pub fn with(mut self, column: &str, header: &str) -> Result<Self> {
        let name = column.trim().to_ascii_lowercase();
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(invalid(format!(
                "unknown roster column {column:?}{} (a mapping names uid, first_name, \
                 last_name, roles, cid or expires_at, each as COLUMN=HEADER)",
                did_you_mean(&name, COLUMNS)
            )));
        };
        let header = header.trim();
        if header.is_empty() {
            return Err(invalid(format!("{known}= names no header")));
        }
        if self.header(known).is_some() {
            return Err(invalid(format!("{known} is mapped twice")));
        }
        if let Some((other, _)) = self.pairs.iter().find(|(_, h)| same_header(h, header)) {
            return Err(invalid(format!(
                "the header {header:?} is mapped to both {other} and {known}"
            )));
        }
        self.pairs.push((known, header.to_owned()));
        Ok(self)
    }

    /// The header `column` is read from, if the mapping names one.
    pub fn header(&self, column: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, h)| h.as_str())
    }

    /// Each (roster column, header), in the order given.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.pairs.iter().map(|(c, h)| (*c, h.as_str()))
    }

    /// The mapping of `columns` alone (a list of users reads only its `uid`).
    pub fn only(&self, columns: &[&str]) -> Self {
        ColumnMap {
            pairs: self
                .pairs
                .iter()
                .filter(|(c, _)| columns.contains(c))
                .cloned()
                .collect(),
        }
    }

    /// Whether the mapping names no column.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Two headers are the same one ignoring case and surrounding spaces (and an Excel
/// byte-order mark).
pub(crate) fn same_header(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.trim_start_matches('\u{feff}').trim().to_lowercase();
    clean(a) == clean(b)
}

impl FromStr for ColumnMap {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let mut map = ColumnMap::new();
        for (column, header) in pairs_of(text)? {
            map = map.with(&column, &header)?;
        }
        if map.is_empty() {
            return Err(invalid(
                "an empty mapping: give COLUMN=HEADER pairs, such as uid=Email".to_owned(),
            ));
        }
        Ok(map)
    }
}

impl fmt::Display for ColumnMap {
    /// As [`ColumnMap::from_str`] reads it back: headers quoted when they hold a comma or a
    /// quote.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (column, header)) in self.pairs().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            if header.contains([',', '"']) {
                write!(f, "{sep}{column}=\"{}\"", header.replace('"', "\"\""))?;
            } else {
                write!(f, "{sep}{column}={header}")?;
            }
        }
        Ok(())
    }
}

/// The `COLUMN=HEADER` pairs of a mapping's text, headers unquoted.
fn pairs_of(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut column = String::new();
        let mut found_equals = false;
        for c in chars.by_ref() {
            if c == '=' {
                found_equals = true;
                break;
            }
            if c == ',' {
                break;
            }
            column.push(c);
        }
        if !found_equals {
            if column.trim().is_empty() {
                continue; // An empty item (`a=b,,c=d` or a trailing comma).
            }
            return Err(invalid(format!(
                "{:?} is not COLUMN=HEADER (such as uid=Email)",
                column.trim()
            )));
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut header = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => header.push('"'),
                    Some('"') => break,
                    Some(c) => header.push(c),
                    None => {
                        return Err(invalid(format!(
                            "the header of {} has no closing quote",
                            column.trim()
                        )));
                    }
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            match chars.next() {
                None | Some(',') => {}
                Some(c) => {
                    return Err(invalid(format!(
                        "{c:?} after the quoted header of {}: put a comma between pairs",
                        column.trim()
                    )));
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
                header.push(c);
            }
        }
        pairs.push((column, header));
    }
    Ok(pairs)
}

fn invalid(reason: String) -> Error {
    Error::InvalidInput {
        field: "column mapping",
        reason,
    }
}

/// How a roster file is read, besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub(crate) map: Option<(ColumnMap, MapUse)>,
    pub(crate) default_roles: Vec<String>,
}

/// When a [`ReadOptions`] mapping applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapUse {
    /// To every file.
    Always,
    /// Only to a file whose header is not a roster's own columns.
    Fallback,
}

impl ReadOptions {
    /// Read as the roster columns are named in the file (the strict default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Read the columns `map` names, and only those.
    pub fn map(mut self, map: ColumnMap) -> Self {
        self.map = Some((map, MapUse::Always));
        self
    }

    /// A standing mapping (a profile's): used for a file whose header is not made of the
    /// roster's own columns, while a roster written by `roster` (or by hand with the roster's
    /// columns) is read as it is.
    pub fn fallback_map(mut self, map: ColumnMap) -> Self {
        self.map = Some((map, MapUse::Fallback));
        self
    }

    /// The roles of a row that names none (its `roles` cell empty, or no `roles` column): the
    /// batch's default. A row's own roles win.
    pub fn default_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.default_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The mapping in force for a file with `headers`, if any.
    pub(crate) fn map_for<'a>(
        &self,
        headers: impl IntoIterator<Item = &'a str>,
    ) -> Option<&ColumnMap> {
        match &self.map {
            None => None,
            Some((map, MapUse::Always)) => Some(map),
            Some((map, MapUse::Fallback)) => {
                let own = headers
                    .into_iter()
                    .all(|h| COLUMNS.iter().any(|c| same_header(c, h)));
                (!own).then_some(map)
            }
        }
    }
}

/// What reading a roster noticed, for the reader to tell its user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadNotes {
    /// The delimiter of a CSV roster (`,`, `;` or a tab, told from the header line); `None`
    /// for JSON.
    pub delimiter: Option<char>,
    /// The headers (JSON: keys) a column mapping did not name, as written, each once in the
    /// order first seen: not read.
    pub ignored: Vec<String>,
    /// Rows with every cell empty (a spreadsheet's trailing `,,,` rows), skipped.
    pub blank_rows: usize,
}

/// The delimiter of a CSV file, told from its header line: whichever of `,`, `;` and a tab it
/// holds most of outside quotes (a comma on a tie, and when it holds none: one column).
///
/// ```
/// use falcon_users::workflows::roster::detect_delimiter;
/// assert_eq!(detect_delimiter(b"Email;First Name;\"Last, Name\"\n"), b';');
/// assert_eq!(detect_delimiter(b"uid\tfirst_name\n"), b'\t');
/// assert_eq!(detect_delimiter(b"uid\n"), b',');
/// ```
pub fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }
    // The first of the most frequent: the comma wins a tie.
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_parsed_with_quoted_headers_and_refused_with_the_reason() {
        let ok = [
            ("uid=Email", vec![("uid", "Email")]),
            (
                r#"uid=Email,first_name="First Name",last_name="Last Name",roles=Roles"#,
                vec![
                    ("uid", "Email"),
                    ("first_name", "First Name"),
                    ("last_name", "Last Name"),
                    ("roles", "Roles"),
                ],
            ),
            // As a shell leaves it after removing the quotes.
            (
                "uid=Email,first_name=First Name",
                vec![("uid", "Email"), ("first_name", "First Name")],
            ),
            (
                r#" UID = "Name, ""as given""" , cid=Tenant,"#,
                vec![("uid", "Name, \"as given\""), ("cid", "Tenant")],
            ),
        ];
        for (text, want) in ok {
            let map: ColumnMap = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            let got: Vec<(&str, &str)> = map.pairs().collect();
            assert_eq!(got, want, "{text}");
            // Written back, read back the same.
            assert_eq!(map.to_string().parse::<ColumnMap>().unwrap(), map, "{text}");
        }
        let refused = [
            (
                "frist_name=First",
                "unknown roster column \"frist_name\"; did you mean first_name?",
            ),
            ("email=Email", "unknown roster column \"email\""),
            ("uid", "\"uid\" is not COLUMN=HEADER"),
            ("uid=", "uid= names no header"),
            ("uid=a,uid=b", "uid is mapped twice"),
            (
                "uid=Email,first_name=email",
                "the header \"email\" is mapped to both uid and first_name",
            ),
            ("uid=\"Email", "has no closing quote"),
            ("uid=\"Email\" x", "after the quoted header of uid"),
            ("", "an empty mapping"),
            (",", "an empty mapping"),
        ];
        for (text, want) in refused {
            let err = text.parse::<ColumnMap>().unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_outside_quotes() {
        for (line, want) in [
            (&b"Email,First Name,Last Name"[..], b','),
            (b"Email;First Name;Last Name", b';'),
            (b"Email\tFirst Name\tLast Name", b'\t'),
            (b"\"Name; with; semicolons\",Email", b','),
            (b"\"a,b\";c", b';'),
            (b"a;b,c", b','),
            (b"uid", b','),
            (b"uid;x\nann,b,c,d", b';'),
        ] {
            assert_eq!(
                detect_delimiter(line) as char,
                want as char,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_fallback_mapping_applies_only_to_a_header_that_is_not_a_roster() {
        let map: ColumnMap = "uid=Email".parse().unwrap();
        let options = ReadOptions::new().fallback_map(map.clone());
        assert_eq!(options.map_for(["UID", " roles"]), None);
        assert_eq!(options.map_for(["Email", "Title"]), Some(&map));
        let always = ReadOptions::new().map(map.clone());
        assert_eq!(always.map_for(["uid"]), Some(&map));
        assert_eq!(ReadOptions::new().map_for(["Email"]), None);
        assert!(
            map.only(&["first_name"]).is_empty(),
            "a list of users keeps only its uid"
        );
        assert_eq!(map.only(&["uid"]), map);
    }
}

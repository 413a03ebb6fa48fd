//! List files: the CIDs of `--member-cids @FILE`, the users of `offboard --from FILE` and
//! `grants … --users-from FILE`. One reader, so that every list is read by the same rules and
//! within the same bounds:
//!
//! - a path, or `-` for standard input ([`input`]);
//! - UTF-8 text (a byte-order mark dropped; another encoding refused with the line of its
//!   first byte that is not UTF-8), one entry a line, surrounding spaces trimmed, blank lines
//!   skipped;
//! - `#` starts a comment at the start of a line or after a space or a tab (so `CID  # note`
//!   is a CID, and `a#b@example.com` a login);
//! - at most [`MAX_BYTES`] (read with that bound: `/dev/zero` is refused at once) and
//!   [`MAX_ENTRIES`] entries; past either the file is refused, named with the bound, before any
//!   request;
//! - an entry given twice is kept once, in the order first given (a hash set: linear).

use std::collections::HashSet;
use std::hash::Hash;
use std::path::Path;

use crate::input;

/// The largest list file read: 16 MiB (100,000 logins of 160 characters).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The most entries a list may have: far more CIDs or users than one command should name.
pub const MAX_ENTRIES: usize = 100_000;

/// The text of the list file `path` (`-`: standard input, see [`input`]), refused when
/// larger than [`MAX_BYTES`] or not UTF-8 (naming the line of the first byte that is not); an
/// Excel byte-order mark is dropped. `what` names the list in errors ("CID list").
pub fn read(path: &Path, what: &str) -> Result<String, String> {
    let (bytes, name) = input::read_bounded(path, MAX_BYTES, what)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        format!(
            "cannot read the {what} {name}: line {line}: byte 0x{:02X} is not UTF-8 text: the \
             file is in another encoding (such as Windows-1252); save it as UTF-8",
            bytes[at]
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// The entries of a list's text, each with its line number (from 1).
pub fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(n, line)| {
        let item = comment_start(line).map_or(line, |at| &line[..at]).trim();
        (!item.is_empty()).then_some((n + 1, item))
    })
}

/// Where the comment of `line` starts: a `#` first on the line or after a space or tab.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')))
}

/// Each `(line, text)` parsed, the first of duplicates (by parsed value) kept, in order; a
/// parse error is prefixed with its line (when from a file); more than [`MAX_ENTRIES`] entries
/// are refused.
pub fn distinct<'a, T: Eq + Hash + Clone>(
    items: impl IntoIterator<Item = (Option<usize>, &'a str)>,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    for (count, (line, item)) in items.into_iter().enumerate() {
        let at = || line.map(|n| format!("line {n}: ")).unwrap_or_default();
        if count == MAX_ENTRIES {
            return Err(format!(
                "{}more than {MAX_ENTRIES} entries, the most a list may have",
                at()
            ));
        }
        let value = parse(item).map_err(|e| format!("{}{e}", at()))?;
        if seen.insert(value.clone()) {
            kept.push(value);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_start_at_a_line_or_after_a_blank_and_blank_lines_are_skipped() {
        let text = "# heading\n\n  ann@example.com  # leaver\na#b@example.com\n\tbob@example.com\t#x\n#\ncat@example.com#not-a-comment\n";
        let got: Vec<(usize, &str)> = entries(text).collect();
        assert_eq!(
            got,
            [
                (3, "ann@example.com"),
                (4, "a#b@example.com"),
                (5, "bob@example.com"),
                (7, "cat@example.com#not-a-comment"),
            ]
        );
    }

    #[test]
    fn duplicates_are_kept_once_in_first_order_and_the_entry_cap_is_refused() {
        let lowered = |s: &str| Ok::<_, String>(s.to_lowercase());
        let got = distinct(
            [(None, "B"), (None, "a"), (None, "b"), (None, "A")],
            lowered,
        );
        assert_eq!(got, Ok(vec!["b".to_owned(), "a".to_owned()]));

        let bad = distinct([(Some(1), "ok"), (Some(4), "bad")], |s| {
            if s == "bad" {
                Err("no good".into())
            } else {
                Ok(s.to_owned())
            }
        });
        assert_eq!(bad, Err("line 4: no good".to_owned()));

        // At the cap, accepted (in linear time: a hash set, not a scan per entry); past it, refused.
        let many: Vec<String> = (0..=MAX_ENTRIES)
            .map(|n| format!("user{n}@example.com"))
            .collect();
        let at_cap = distinct(
            many[..MAX_ENTRIES].iter().map(|s| (None, s.as_str())),
            |s| Ok(s.to_owned()),
        );
        assert_eq!(at_cap.map(|v| v.len()), Ok(MAX_ENTRIES));
        let past = distinct(
            many.iter()
                .enumerate()
                .map(|(n, s)| (Some(n + 1), s.as_str())),
            |s| Ok(s.to_owned()),
        )
        .unwrap_err();
        assert!(
            past.contains("line 100001") && past.contains("more than 100000 entries"),
            "{past}"
        );
    }

    #[test]
    fn a_file_past_the_size_cap_is_refused_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.txt");
        std::fs::write(&big, vec![b'a'; MAX_BYTES as usize + 1]).unwrap();
        let err = read(&big, "CID list").unwrap_err();
        assert!(
            err.contains("big.txt") && err.contains("larger than 16 MiB"),
            "{err}"
        );
        #[cfg(unix)]
        {
            let err = read(Path::new("/dev/zero"), "CID list").unwrap_err();
            assert!(err.contains("/dev/zero: larger than 16 MiB"), "{err}");
        }
        let missing = read(&dir.path().join("missing.txt"), "CID list").unwrap_err();
        assert!(missing.contains("cannot read the CID list"), "{missing}");
        std::fs::write(&big, b"\xff\xfe").unwrap();
        assert!(read(&big, "CID list").unwrap_err().contains("not UTF-8"));
    }

    /// A Windows-1252 file is refused naming the line of its first such byte; a UTF-8 file
    /// saved with a byte-order mark reads as without.
    #[test]
    fn encodings_name_the_line_and_a_byte_order_mark_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leavers.txt");
        std::fs::write(&path, b"ann@example.com\r\njos\xe9@example.com\r\n").unwrap();
        let err = read(&path, "list of users").unwrap_err();
        assert!(
            err.contains("leavers.txt: line 2: byte 0xE9 is not UTF-8 text")
                && err.contains("Windows-1252"),
            "{err}"
        );
        std::fs::write(&path, b"\xef\xbb\xbfann@example.com\n").unwrap();
        let text = read(&path, "list of users").unwrap();
        assert_eq!(entries(&text).collect::<Vec<_>>(), [(1, "ann@example.com")]);
    }
}

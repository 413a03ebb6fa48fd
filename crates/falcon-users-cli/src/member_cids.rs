//! `--member-cids LIST`: the Flight Control child CIDs a command works through, given as
//! comma-separated CIDs, as `@FILE`, a [list file](crate::list_file) (one CID a line, `#`
//! comments, at most 100,000 CIDs and 16 MiB), or as `all`: every child, discovered. One clap
//! value parser, so every command that works on a fleet reads the list the same way, and a bad
//! CID is refused (exit 2) before any request; then, once connected, one resolution
//! ([`MemberCids::resolve`]) discovers the children for `all` and refuses a listed CID that is
//! not one of them (exit 2) before any change.

use std::path::Path;

use falcon_users::{AuthProblem, Cid, Error, Falcon};

use crate::exit;
use crate::failure::Failure;
use crate::list_file;
use crate::output::console;

/// The child CIDs of `--member-cids`, in the order given, each once. For `all`, empty until
/// [`MemberCids::resolve`] fills it with the children discovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCids(pub Vec<Cid>, Given);

/// How `--member-cids` named the CIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    /// A list or a file.
    Listed,
    /// `all`: every child of the parent.
    All,
}

/// What a command does in the CIDs of `--member-cids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Only reads them (`inventory`, `review`, `roster`).
    Read,
    /// Changes them, or plans changes to them.
    Change,
}

/// What `--member-cids` takes for every child.
pub const ALL: &str = "all";

/// Parses `--member-cids`: `all`, `CID,CID,...` or `@FILE`. CIDs are accepted as [`Cid`]
/// parses them (32 hex characters, any case, a pasted `-XX` checksum suffix dropped); a CID
/// given twice is kept once. Refused: an empty list, a bad CID (named, with its line in a file),
/// a file that cannot be read or is past the [list file](crate::list_file) bounds.
pub fn parse(text: &str) -> Result<MemberCids, String> {
    if text.trim().eq_ignore_ascii_case(ALL) {
        return Ok(MemberCids(Vec::new(), Given::All));
    }
    let cids = match text.strip_prefix('@') {
        Some(path) => {
            let content = list_file::read(Path::new(path), "CID list")?;
            let lines = list_file::entries(&content).map(|(n, item)| (Some(n), item));
            list_file::distinct(lines, parse_cid).map_err(|e| format!("{path}: {e}"))?
        }
        None => list_file::distinct(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| (None, item)),
            parse_cid,
        )?,
    };
    if cids.is_empty() {
        return Err("no CID given: a comma-separated list or @FILE with one CID per line".into());
    }
    Ok(MemberCids(cids, Given::Listed))
}

impl MemberCids {
    /// Whether the CIDs are every child (`all`).
    pub fn is_all(&self) -> bool {
        self.1 == Given::All
    }

    /// Checks the CIDs against the children `falcon` discovers (one discovery): `all` becomes
    /// every child; for a command that changes them ([`Use::Change`]) a listed CID that is not
    /// a child is refused (exit 2), naming it, before anything starts. A command that only
    /// reads a listed set does not discover: a CID that is not a child fails alone there, as a
    /// child it could not read (exit 5), beside the others' rows. Without the Flight Control
    /// read scope, `all` fails with the discovery's error (which names the scope), and a listed
    /// set is used as given after a warning (it worked without discovery before, and still
    /// does).
    /// `flag` names the option in messages (`--member-cids`, or `grants`' `--cid`).
    pub async fn resolve(&mut self, falcon: &Falcon, use_: Use, flag: &str) -> Result<(), Failure> {
        if use_ == Use::Read && !self.is_all() {
            // Reading a CID that is not a child fails that CID alone, reported as such beside
            // the others' rows: nothing to protect, so no discovery (and no parent token).
            return Ok(());
        }
        let discovered = falcon.children().await;
        let children: Vec<Cid> = match discovered {
            Ok(children) => children.into_iter().map(|c| c.cid).collect(),
            Err(
                err @ Error::Auth {
                    problem: AuthProblem::Forbidden,
                    ..
                },
            ) if !self.is_all() => {
                console::line(format_args!(
                    "warning: {flag} not checked against the children: {err}"
                ));
                return Ok(());
            }
            Err(err) if self.is_all() => {
                return Err(Failure::Exit(
                    exit::for_error(&err),
                    format!("{flag} {ALL}: the children could not be listed: {err}"),
                ));
            }
            Err(err) => return Err(err.into()),
        };
        if self.is_all() {
            if children.is_empty() {
                return Err(Failure::Exit(
                    exit::USAGE,
                    format!("{flag} {ALL}: this CID has no child CIDs"),
                ));
            }
            self.0 = children;
            return Ok(());
        }
        let strangers: Vec<&str> = self
            .0
            .iter()
            .filter(|cid| !children.contains(cid))
            .map(Cid::as_str)
            .collect();
        if strangers.is_empty() {
            return Ok(());
        }
        let said = format!(
            "{flag}: not a child CID of this parent: {} ({} children; \
             `falcon-users children` lists them)",
            strangers.join(", "),
            children.len()
        );
        Err(Failure::Exit(
            exit::USAGE,
            format!("{said}; nothing was changed"),
        ))
    }
}

fn parse_cid(item: &str) -> Result<Cid, String> {
    item.parse().map_err(|e: falcon_users::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    fn cids(list: &[&str]) -> MemberCids {
        MemberCids(
            list.iter().map(|c| c.parse().unwrap()).collect(),
            Given::Listed,
        )
    }

    #[test]
    fn lists_table() {
        let pasted = format!("{}-7C", A.to_uppercase());
        for (text, expected) in [
            (format!("{A},{B}"), Ok(cids(&[A, B]))),
            (format!(" {A} , {B} ,"), Ok(cids(&[A, B]))),
            (pasted.clone(), Ok(cids(&[A]))),
            (format!("{A},{pasted}"), Ok(cids(&[A]))),
            (String::new(), Err("no CID given")),
            (",,".into(), Err("no CID given")),
            (format!("{A},nope"), Err("\"nope\" is not a CID")),
            (format!("{A}0"), Err("is not a CID")),
            ("all".into(), Ok(MemberCids(Vec::new(), Given::All))),
            (" ALL ".into(), Ok(MemberCids(Vec::new(), Given::All))),
            ("all,all".into(), Err("\"all\" is not a CID")),
        ] {
            let got = parse(&text);
            match (&got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, &expected, "{text:?}"),
                (Err(message), Err(part)) => assert!(message.contains(part), "{text:?}: {message}"),
                _ => panic!("{text:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn files_take_one_cid_a_line_with_comments_and_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("children.txt");
        std::fs::write(&path, format!("# the fleet\n\n{A}  # first\n  {B}-1F\n\n")).unwrap();
        assert_eq!(parse(&format!("@{}", path.display())), Ok(cids(&[A, B])));

        std::fs::write(&path, format!("{A}\n# fine\nnot-a-cid\n")).unwrap();
        let err = parse(&format!("@{}", path.display())).unwrap_err();
        assert!(err.contains("line 3") && err.contains("not-a-cid"), "{err}");

        std::fs::write(&path, "# only comments\n\n").unwrap();
        let err = parse(&format!("@{}", path.display())).unwrap_err();
        assert!(err.contains("no CID given"), "{err}");

        let missing = dir.path().join("missing.txt");
        let err = parse(&format!("@{}", missing.display())).unwrap_err();
        assert!(err.contains("cannot read the CID list"), "{err}");
    }

    #[test]
    fn a_file_of_the_most_cids_is_read_and_one_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.txt");
        let lines: Vec<String> = (0..=list_file::MAX_ENTRIES)
            .map(|n| format!("{n:032x}"))
            .collect();
        std::fs::write(&path, lines[..list_file::MAX_ENTRIES].join("\n")).unwrap();
        let read = parse(&format!("@{}", path.display())).expect("100,000 CIDs");
        assert_eq!(read.0.len(), list_file::MAX_ENTRIES);
        assert_eq!(read.0[7], lines[7].parse().unwrap());

        std::fs::write(&path, lines.join("\n")).unwrap();
        let err = parse(&format!("@{}", path.display())).unwrap_err();
        assert!(
            err.starts_with(&path.display().to_string())
                && err.contains("more than 100000 entries"),
            "{err}"
        );
    }
}

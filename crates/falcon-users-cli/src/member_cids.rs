//! `--member-cids LIST`: the Flight Control child CIDs a command works through, given as
//! comma-separated CIDs or as `@FILE` (one per line, `#` starts a comment, blank lines
//! ignored). One clap value parser, so every command that works on a fleet reads the list the
//! same way, and a bad CID is refused (exit 2) before any request.

use falcon_users::Cid;

/// The child CIDs of `--member-cids`, in the order given, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCids(pub Vec<Cid>);

/// Parses `--member-cids`: `CID,CID,...` or `@FILE`. CIDs are accepted as [`Cid`] parses them
/// (32 hex characters, any case, a pasted `-XX` checksum suffix dropped); a CID given twice is
/// kept once. Refused: an empty list, a bad CID (named, with its line in a file), an unreadable
/// file.
pub fn parse(text: &str) -> Result<MemberCids, String> {
    match text.strip_prefix('@') {
        Some(path) => {
            let content = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the CID list {path}: {e}"))?;
            from_lines(&content).map_err(|e| format!("{path}: {e}"))
        }
        None => collect(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| (item, None)),
        ),
    }
}

/// The CIDs of a list file: one per line, `#` comments and blank lines skipped.
fn from_lines(content: &str) -> Result<MemberCids, String> {
    collect(content.lines().enumerate().filter_map(|(n, line)| {
        let item = line
            .split_once('#')
            .map_or(line, |(before, _)| before)
            .trim();
        (!item.is_empty()).then_some((item, Some(n + 1)))
    }))
}

/// Parses each `(text, line)` as a CID, keeping the first of duplicates.
fn collect<'a>(
    items: impl Iterator<Item = (&'a str, Option<usize>)>,
) -> Result<MemberCids, String> {
    let mut cids: Vec<Cid> = Vec::new();
    for (item, line) in items {
        let cid: Cid = item.parse().map_err(|e: falcon_users::Error| {
            let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
            format!("{at}{e}")
        })?;
        if !cids.contains(&cid) {
            cids.push(cid);
        }
    }
    if cids.is_empty() {
        return Err("no CID given: a comma-separated list or @FILE with one CID per line".into());
    }
    Ok(MemberCids(cids))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    fn cids(list: &[&str]) -> MemberCids {
        MemberCids(list.iter().map(|c| c.parse().unwrap()).collect())
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
}

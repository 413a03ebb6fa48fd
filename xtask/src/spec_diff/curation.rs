//! The "Explained drift" patterns of `spec/CURATION.md`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use regex::Regex;

/// Heading of the CURATION.md section whose bullets hold the patterns.
const EXPLAINED_HEADING: &str = "explained drift";

/// The "Explained drift" patterns of CURATION.md.
pub(crate) struct Curation {
    pub(super) path: PathBuf,
    pub(super) found: bool,
    pub(super) patterns: Vec<Pattern>,
    /// Problems in the file worth telling the maintainer about, without failing.
    pub(super) warnings: Vec<String>,
}

/// A glob from CURATION.md, compiled to an anchored regex.
pub(super) struct Pattern {
    pub(super) glob: String,
    pub(super) line: usize,
    regex: Regex,
}

impl Curation {
    /// Reads `path`; a missing file means no difference is explained (a fresh checkout or a
    /// project without curation notes is still diffable).
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(err).with_context(|| format!("reading {}", path.display()));
            }
        };
        let (patterns, warnings) = match &text {
            Some(text) => parse_curation(text).with_context(|| format!("in {}", path.display()))?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Self {
            path: path.to_path_buf(),
            found: text.is_some(),
            patterns,
            warnings,
        })
    }

    /// Index of the first pattern matching the whole `key`.
    pub(crate) fn explain(&self, key: &str) -> Option<usize> {
        self.patterns
            .iter()
            .position(|pattern| pattern.regex.is_match(key))
    }
}

/// Extracts the patterns: in the `## Explained drift` section (up to the next heading of level
/// one or two), every bullet that starts with a backticked glob. Fenced code is skipped so the
/// section can show examples. Top-level bullets without a pattern are reported as warnings.
fn parse_curation(text: &str) -> Result<(Vec<Pattern>, Vec<String>)> {
    let bullet = Regex::new(r"^(\s*)[-*+]\s+(.*)$")?;
    let pattern_start = Regex::new(r"^`([^`]+)`")?;
    let mut patterns = Vec::new();
    let mut warnings = Vec::new();
    let mut in_section = false;
    let mut in_fence = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(level) = heading_level(line) {
            if level <= 2 {
                in_section = line[level..].trim().eq_ignore_ascii_case(EXPLAINED_HEADING);
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let Some(captures) = bullet.captures(line) else {
            continue;
        };
        let indented = !captures[1].is_empty();
        match pattern_start.captures(&captures[2]) {
            Some(glob) => patterns.push(Pattern {
                glob: glob[1].to_owned(),
                line: number,
                regex: glob_regex(&glob[1])?,
            }),
            None if !indented => warnings.push(format!(
                "line {number}: bullet without a leading `pattern`, ignored"
            )),
            None => {}
        }
    }
    Ok((patterns, warnings))
}

/// The level of a markdown ATX heading (`## Title` → 2), if `line` is one.
fn heading_level(line: &str) -> Option<usize> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' '))).then_some(level)
}

/// Compiles a glob (`*` any run of characters, `?` one character, everything else literal)
/// into a regex anchored at both ends, so a pattern must match the whole key.
fn glob_regex(glob: &str) -> Result<Regex> {
    let mut regex = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    regex.push('$');
    Regex::new(&regex).with_context(|| format!("pattern `{glob}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_whole_key_only() {
        let regex = glob_regex("response.prop.missing:*:4*:resources").unwrap();
        assert!(regex.is_match("response.prop.missing:GetRoles:400:resources"));
        assert!(!regex.is_match("response.prop.missing:GetRoles:400:resources.x"));
        assert!(!regex.is_match("xresponse.prop.missing:GetRoles:400:resources"));
        assert!(!regex.is_match("response.prop.missing:GetRoles:200:resources"));
        let regex = glob_regex("op.path:get?").unwrap();
        assert!(regex.is_match("op.path:getX"));
        assert!(!regex.is_match("op.path:get"));
        // `.` is literal, not "any character".
        assert!(!glob_regex("a.b").unwrap().is_match("axb"));
    }

    #[test]
    fn curation_reads_only_the_explained_drift_section() {
        let text = "\
# Title
- `outside:*` not in the section
## Explained drift
Intro text.
- `param.missing:*:query.x` — reason
  continued reason
  - `nested:*` also counts
* `op.extra:foo` — other bullet style
- no pattern here
```
- `in.fence:*` ignored
```
### Sub-heading stays in the section
- `sub:*` — yes
## Next section
- `after:*` — no
";
        let (patterns, warnings) = parse_curation(text).unwrap();
        let globs: Vec<_> = patterns.iter().map(|p| p.glob.as_str()).collect();
        assert_eq!(
            globs,
            [
                "param.missing:*:query.x",
                "nested:*",
                "op.extra:foo",
                "sub:*"
            ]
        );
        assert_eq!(patterns[0].line, 5);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}

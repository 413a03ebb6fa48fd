//! The access file: Flight Control user groups, CID groups and links in TOML, as people edit it
//! by hand and review it in a pull request.
//!
//! TOML, because the file is written and reviewed by people: one `[[user_group]]` table per
//! group reads as a section with one key per line, so a diff of an added member or role is one
//! line; comments are allowed (why a group exists, who asked); there is no indentation to get
//! wrong and no implicit typing (YAML reads `no` or `0123` as something else, and its Rust
//! parser is unmaintained); and the parser gives the line of every mistake. JSON has neither
//! comments nor a friendly diff.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, FileProblem, Result};
use crate::model::cid::Cid;
use crate::model::validation::{is_deceptive_char, validate_email};
use crate::workflows::flight_control::state::{FleetModel, GroupKind};

/// The largest file read (8 MiB): 500 groups of 500 members is about 15 MiB of logins at most,
/// but no real file comes near it, and a mistaken path (a log, an image) is refused at once.
pub const MAX_BYTES: u64 = 8 << 20;

/// The most user groups, and CID groups, a customer may have (the service's limit).
pub const MAX_GROUPS: usize = 500;

/// The most members a user group may have (the service's limit).
pub const MAX_MEMBERS: usize = 500;

/// One value of the file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<T> {
    /// The line, from 1.
    pub line: usize,
    /// The value.
    pub value: T,
}

/// A `[[user_group]]` of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupDecl {
    /// The line of its name.
    pub line: usize,
    /// Its name (how links and plans name it).
    pub name: String,
    /// Its id, when the file gives one: a group with an id and another name is renamed.
    pub id: Option<Item<String>>,
    /// Its description.
    pub description: String,
    /// Its members: lower-case logins of the parent's users (or their UUIDs).
    pub members: Vec<Item<String>>,
}

/// A `[[cid_group]]` of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidGroupDecl {
    /// The line of its name.
    pub line: usize,
    /// Its name.
    pub name: String,
    /// Its id, when the file gives one.
    pub id: Option<Item<String>>,
    /// Its description.
    pub description: String,
    /// Its member CIDs (the child names the file may give are for its readers only).
    pub cids: Vec<Item<Cid>>,
}

/// A `[[link]]` of the file: the roles a user group holds in every CID of a CID group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDecl {
    /// The line of its user group.
    pub line: usize,
    /// The user group's name.
    pub user_group: String,
    /// The CID group's name.
    pub cid_group: String,
    /// The roles, as ids or display names.
    pub roles: Vec<Item<String>>,
}

/// A parsed access file: every name unique, every link naming declared groups, every member a
/// login and every CID a CID (whether they exist is for the plan, which reads the tenant).
///
/// ```
/// use falcon_users::workflows::flight_control::FleetFile;
/// let text = r#"
/// [[user_group]]
/// name = "Tier 1"
/// members = ["ann@example.com"]
///
/// [[cid_group]]
/// name = "EMEA"
/// cids = [{ cid = "0123456789abcdef0123456789abcdef", name = "Acme" }]
///
/// [[link]]
/// user_group = "Tier 1"
/// cid_group = "EMEA"
/// roles = ["Falcon Analyst"]
/// "#;
/// let file = FleetFile::parse(text, "fleet.toml").unwrap();
/// assert_eq!(file.links[0].roles[0].value, "Falcon Analyst");
///
/// let err = FleetFile::parse("[[user_group]]\nname = \"x\"\nmembrs = []\n", "fleet.toml");
/// assert!(err.unwrap_err().to_string().contains("fleet.toml was refused (1 problem): line 3, membrs"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFile {
    /// The user groups, in file order.
    pub user_groups: Vec<UserGroupDecl>,
    /// The CID groups, in file order.
    pub cid_groups: Vec<CidGroupDecl>,
    /// The links, in file order.
    pub links: Vec<LinkDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    user_group: Vec<RawUserGroup>,
    #[serde(default)]
    cid_group: Vec<RawCidGroup>,
    #[serde(default)]
    link: Vec<RawLink>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUserGroup {
    name: Spanned<String>,
    id: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    members: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCidGroup {
    name: Spanned<String>,
    id: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    cids: Vec<Spanned<RawCid>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCid {
    cid: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)] // for the file's readers: the service's name is what counts
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    user_group: Spanned<String>,
    cid_group: Spanned<String>,
    roles: Vec<Spanned<String>>,
}

/// Line numbers of byte offsets in one text: where each line starts, found once, so that the
/// line of each of a file's many values is a binary search, not a count from the top.
struct Lines(Vec<usize>);

impl Lines {
    fn of_text(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Lines(starts)
    }

    fn at(&self, offset: usize) -> usize {
        // The number of lines starting at or before `offset`.
        self.0.partition_point(|start| *start <= offset)
    }

    fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        self.at(spanned.span().start)
    }
}

/// Problems found while checking a file, in file order when reported.
struct Problems(Vec<FileProblem>);

impl Problems {
    fn add(&mut self, line: usize, field: &str, reason: impl Into<String>) {
        self.0.push(FileProblem::new(line, field, reason));
    }
}

impl FleetFile {
    /// Reads the file at `path` (at most [`MAX_BYTES`]); problems name the path.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let refuse = |why: String| Error::FleetFile {
            file: name.clone(),
            problems: vec![FileProblem::new(1, "file", why)],
        };
        let meta = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read it: {e}")))?;
        if meta.len() > MAX_BYTES {
            return Err(refuse(format!(
                "it is {} bytes, more than the {MAX_BYTES} an access file may be",
                meta.len()
            )));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| refuse(format!("cannot read it: {e}")))?;
        Self::parse(&text, &name)
    }

    /// Parses `text`, named `file` in problems: unknown keys, duplicate names, members, CIDs
    /// and roles, links naming undeclared groups and the service's limits are refused, every
    /// problem with its line and field, before anything is read from the tenant.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let lines = Lines::of_text(text);
        let refused = |problems: Vec<FileProblem>| Error::FleetFile {
            file: file.to_owned(),
            problems,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| lines.at(s.start));
            let field = e
                .span()
                .and_then(|s| text.get(s))
                .map(|t| t.trim().trim_matches('"'))
                .filter(|t| {
                    !t.is_empty()
                        && t.len() <= 64
                        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .unwrap_or("file")
                .to_owned();
            refused(vec![FileProblem::new(line, field, e.message().trim())])
        })?;
        let mut problems = Problems(Vec::new());
        let out = FleetFile {
            user_groups: user_groups(raw.user_group, &lines, &mut problems),
            cid_groups: cid_groups(raw.cid_group, &lines, &mut problems),
            links: Vec::new(),
        };
        let out = FleetFile {
            links: links(raw.link, &out, &lines, &mut problems),
            ..out
        };
        if problems.0.is_empty() {
            Ok(out)
        } else {
            let mut problems = problems.0;
            problems.sort_by_key(|p| p.line);
            Err(refused(problems))
        }
    }

    /// The file of `model`: what `fleet export` writes. Groups carry their ids (so that a
    /// renamed group stays the same group) and CID groups the children's names (`children`),
    /// for the reader. One member, CID or role per line, so that a change to one is one line
    /// of a diff. Parsed again and planned against the same state, it plans no change.
    pub fn render(model: &FleetModel, children: &BTreeMap<Cid, Option<String>>) -> String {
        let mut out = String::from(
            "# Flight Control access: user groups (members by login), CID groups (child CIDs) and\n\
             # links (a user group's roles in every CID of a CID group). Edit, then\n\
             # `falcon-users fleet plan` this file. A group's id keeps it the same group when it is\n\
             # renamed; a group without one is matched by name, or created.\n",
        );
        for (name, group) in &model.user_groups {
            header(&mut out, "user_group", name, &group.id, &group.description);
            list(&mut out, "members", group.members.iter().map(|m| quoted(m)));
        }
        for (name, group) in &model.cid_groups {
            header(&mut out, "cid_group", name, &group.id, &group.description);
            let cids = group.members.iter().map(|c| {
                let cid = quoted(c.as_str());
                match children.get(c).cloned().flatten() {
                    Some(child) => format!("{{ cid = {cid}, name = {} }}", quoted(&child)),
                    None => format!("{{ cid = {cid} }}"),
                }
            });
            list(&mut out, "cids", cids);
        }
        for (user, by_cid) in &model.links {
            for (cid, roles) in by_cid {
                out.push_str(&format!(
                    "\n[[link]]\nuser_group = {}\ncid_group = {}\n",
                    quoted(user),
                    quoted(cid)
                ));
                list(&mut out, "roles", roles.iter().map(|r| quoted(r)));
            }
        }
        out
    }
}

/// A group's table header, name, id and description.
fn header(out: &mut String, table: &str, name: &str, id: &Option<String>, description: &str) {
    out.push_str(&format!("\n[[{table}]]\nname = {}\n", quoted(name)));
    if let Some(id) = id {
        out.push_str(&format!("id = {}\n", quoted(id)));
    }
    if !description.is_empty() {
        out.push_str(&format!("description = {}\n", quoted(description)));
    }
}

/// `text` as a TOML basic string. Quotes, backslashes, control characters and every character
/// [`is_deceptive_char`] flags (text-direction overrides, invisible characters) are escapes
/// (`\u202E`), so the file decodes to the exact value while nothing in it can reorder or hide
/// text in a terminal or in a pull request's diff.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_deceptive_char(c) => {
                let code = u32::from(c);
                if code <= 0xFFFF {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key = [ ... ]` with one item per line (`key = []` when empty).
fn list(out: &mut String, key: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        out.push_str(&format!("{key} = []\n"));
        return;
    }
    out.push_str(&format!("{key} = [\n"));
    for item in items {
        out.push_str(&format!("    {item},\n"));
    }
    out.push_str("]\n");
}

/// Whether `text` has the form of a UUID (8-4-4-4-12 hex): a member given by UUID.
fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn reason(err: &Error) -> String {
    match err {
        Error::InvalidInput { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// A group's name, unique (ignoring case) among the groups of its kind; `None` when refused.
fn group_name(
    kind: GroupKind,
    name: &Spanned<String>,
    seen: &mut BTreeMap<String, usize>,
    lines: &Lines,
    problems: &mut Problems,
    field: &str,
) -> Option<String> {
    let line = lines.of(name);
    let text = name.get_ref().trim();
    if text.is_empty() {
        problems.add(line, field, format!("a {kind} needs a name"));
        return None;
    }
    if let Some(first) = seen.insert(text.to_lowercase(), line) {
        problems.add(
            line,
            field,
            format!("{text:?} is declared twice (first on line {first})"),
        );
        return None;
    }
    Some(text.to_owned())
}

/// A group's id, unique among the groups of its kind.
fn group_id(
    id: Option<Spanned<String>>,
    seen: &mut BTreeMap<String, usize>,
    lines: &Lines,
    problems: &mut Problems,
    field: &str,
) -> Option<Item<String>> {
    let id = id?;
    let line = lines.of(&id);
    let text = id.into_inner().trim().to_lowercase();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        problems.add(line, field, format!("{text:?} is not a group id"));
        return None;
    }
    if let Some(first) = seen.insert(text.clone(), line) {
        problems.add(
            line,
            field,
            format!("{text} is given to two groups (first on line {first})"),
        );
    }
    Some(Item { line, value: text })
}

fn user_groups(
    raw: Vec<RawUserGroup>,
    lines: &Lines,
    problems: &mut Problems,
) -> Vec<UserGroupDecl> {
    if let Some(extra) = raw.get(MAX_GROUPS) {
        problems.add(
            lines.of(&extra.name),
            "user_group",
            format!("more than {MAX_GROUPS} user groups, the service's limit"),
        );
    }
    let (mut names, mut ids) = (BTreeMap::new(), BTreeMap::new());
    let mut out = Vec::new();
    for group in raw {
        let line = lines.of(&group.name);
        let name = group_name(
            GroupKind::User,
            &group.name,
            &mut names,
            lines,
            problems,
            "user_group.name",
        );
        let id = group_id(group.id, &mut ids, lines, problems, "user_group.id");
        if let Some(extra) = group.members.get(MAX_MEMBERS) {
            problems.add(
                lines.of(extra),
                "user_group.members",
                format!("more than {MAX_MEMBERS} members, the service's limit for a user group"),
            );
        }
        let mut seen = BTreeMap::new();
        let mut members = Vec::new();
        for member in group.members {
            let line = lines.of(&member);
            let login = member.into_inner().trim().to_lowercase();
            if !is_uuid(&login)
                && let Err(e) = validate_email(&login)
            {
                problems.add(line, "user_group.members", reason(&e));
                continue;
            }
            if let Some(first) = seen.insert(login.clone(), line) {
                problems.add(
                    line,
                    "user_group.members",
                    format!("{login} is listed twice (first on line {first})"),
                );
                continue;
            }
            members.push(Item { line, value: login });
        }
        if let Some(name) = name {
            out.push(UserGroupDecl {
                line,
                name,
                id,
                description: group.description.trim().to_owned(),
                members,
            });
        }
    }
    out
}

fn cid_groups(raw: Vec<RawCidGroup>, lines: &Lines, problems: &mut Problems) -> Vec<CidGroupDecl> {
    if let Some(extra) = raw.get(MAX_GROUPS) {
        problems.add(
            lines.of(&extra.name),
            "cid_group",
            format!("more than {MAX_GROUPS} CID groups, the service's limit"),
        );
    }
    let (mut names, mut ids) = (BTreeMap::new(), BTreeMap::new());
    let mut out = Vec::new();
    for group in raw {
        let line = lines.of(&group.name);
        let name = group_name(
            GroupKind::Cid,
            &group.name,
            &mut names,
            lines,
            problems,
            "cid_group.name",
        );
        let id = group_id(group.id, &mut ids, lines, problems, "cid_group.id");
        let mut seen = BTreeMap::new();
        let mut cids = Vec::new();
        for entry in group.cids {
            let entry = entry.into_inner();
            let line = lines.of(&entry.cid);
            match entry.cid.get_ref().parse::<Cid>() {
                Ok(cid) => {
                    if let Some(first) = seen.insert(cid.clone(), line) {
                        problems.add(
                            line,
                            "cid_group.cids",
                            format!("{cid} is listed twice (first on line {first})"),
                        );
                    } else {
                        cids.push(Item { line, value: cid });
                    }
                }
                Err(e) => problems.add(line, "cid_group.cids", reason(&e)),
            }
        }
        if let Some(name) = name {
            out.push(CidGroupDecl {
                line,
                name,
                id,
                description: group.description.trim().to_owned(),
                cids,
            });
        }
    }
    out
}

fn links(
    raw: Vec<RawLink>,
    file: &FleetFile,
    lines: &Lines,
    problems: &mut Problems,
) -> Vec<LinkDecl> {
    let users: BTreeSet<&str> = file.user_groups.iter().map(|g| g.name.as_str()).collect();
    let cids: BTreeSet<&str> = file.cid_groups.iter().map(|g| g.name.as_str()).collect();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for link in raw {
        let line = lines.of(&link.user_group);
        let user = link.user_group.get_ref().trim().to_owned();
        let cid = link.cid_group.get_ref().trim().to_owned();
        let mut ok = true;
        if !users.contains(user.as_str()) {
            problems.add(
                line,
                "link.user_group",
                format!("no [[user_group]] is named {user:?} in this file"),
            );
            ok = false;
        }
        if !cids.contains(cid.as_str()) {
            problems.add(
                lines.of(&link.cid_group),
                "link.cid_group",
                format!("no [[cid_group]] is named {cid:?} in this file"),
            );
            ok = false;
        }
        if ok && let Some(first) = seen.insert((user.clone(), cid.clone()), line) {
            problems.add(
                line,
                "link",
                format!(
                    "{user:?} and {cid:?} are linked twice (first on line {first}); list every \
                     role in one [[link]]"
                ),
            );
            ok = false;
        }
        if link.roles.is_empty() {
            problems.add(
                line,
                "link.roles",
                "a link gives at least one role; to dissolve it, remove the [[link]]",
            );
            ok = false;
        }
        let mut roles_seen = BTreeMap::new();
        let mut roles = Vec::new();
        for role in link.roles {
            let role_line = lines.of(&role);
            let text = role.into_inner().trim().to_owned();
            if text.is_empty() {
                problems.add(role_line, "link.roles", "a role is empty");
                ok = false;
            } else if let Some(first) = roles_seen.insert(text.to_lowercase(), role_line) {
                problems.add(
                    role_line,
                    "link.roles",
                    format!("{text:?} is listed twice (first on line {first})"),
                );
                ok = false;
            } else {
                roles.push(Item {
                    line: role_line,
                    value: text,
                });
            }
        }
        if ok {
            out.push(LinkDecl {
                line,
                user_group: user,
                cid_group: cid,
                roles,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "0123456789abcdef0123456789abcdef";

    /// (file text, the problems it is refused with as `line field: reason part`)
    #[test]
    fn what_a_file_is_refused_for() {
        type Case = (String, Vec<(usize, &'static str, &'static str)>);
        let cases: Vec<Case> = vec![
            (
                "[[user_group]]\nname = \"a\"\nmembrs = []\n".into(),
                vec![(3, "membrs", "unknown field `membrs`")],
            ),
            ("[[usergroup]]\nname = \"a\"\n".into(), vec![(1, "usergroup", "unknown field")]),
            ("[[user_group]]\ndescription = \"x\"\n".into(), vec![(1, "file", "missing field `name`")]),
            ("[[user_group]]\nname = \"a\"\nmembers = \"ann@example.com\"\n".into(), vec![(3, "file", "invalid type")]),
            ("[[user_group]]\nname = \"a\n".into(), vec![(2, "file", "")]),
            (
                "[[user_group]]\nname = \"Ops\"\n[[user_group]]\nname = \"ops\"\n".into(),
                vec![(4, "user_group.name", "\"ops\" is declared twice (first on line 2)")],
            ),
            (
                "[[user_group]]\nname = \"a\"\nmembers = [\n \"ann@example.com\",\n \"ANN@example.com\",\n \"bob\",\n]\n".into(),
                vec![
                    (5, "user_group.members", "ann@example.com is listed twice (first on line 4)"),
                    (6, "user_group.members", "bob"),
                ],
            ),
            (
                "[[user_group]]\nname = \"a\"\nid = \"x1\"\n[[user_group]]\nname = \"b\"\nid = \"X1\"\n".into(),
                vec![(6, "user_group.id", "x1 is given to two groups (first on line 3)")],
            ),
            (
                format!("[[cid_group]]\nname = \"c\"\ncids = [\n {{ cid = \"{CID}\" }},\n {{ cid = \"{}-7F\" }},\n {{ cid = \"nope\" }},\n]\n", CID.to_uppercase()),
                vec![
                    (5, "cid_group.cids", "is listed twice (first on line 4)"),
                    (6, "cid_group.cids", "\"nope\" is not a CID"),
                ],
            ),
            (
                format!("[[cid_group]]\nname = \"c\"\ncids = [{{ cid = \"{CID}\", nam = \"x\" }}]\n"),
                vec![(3, "nam", "unknown field `nam`")],
            ),
            (
                "[[user_group]]\nname = \"a\"\n[[cid_group]]\nname = \"c\"\n[[link]]\nuser_group = \"b\"\ncid_group = \"d\"\nroles = [\"x\", \"X\"]\n".into(),
                vec![
                    (6, "link.user_group", "no [[user_group]] is named \"b\""),
                    (7, "link.cid_group", "no [[cid_group]] is named \"d\""),
                    (8, "link.roles", "\"X\" is listed twice"),
                ],
            ),
            (
                "[[user_group]]\nname = \"a\"\n[[cid_group]]\nname = \"c\"\n[[link]]\nuser_group = \"a\"\ncid_group = \"c\"\nroles = [\"x\"]\n[[link]]\nuser_group = \"a\"\ncid_group = \"c\"\nroles = []\n".into(),
                vec![
                    (10, "link", "linked twice (first on line 6)"),
                    (10, "link.roles", "at least one role"),
                ],
            ),
            (
                "[[user_group]]\nname = \"  \"\n".into(),
                vec![(2, "user_group.name", "needs a name")],
            ),
        ];
        for (text, want) in cases {
            let err = FleetFile::parse(&text, "f.toml").unwrap_err();
            let Error::FleetFile { file, problems } = &err else {
                panic!("{err:?}");
            };
            assert_eq!(file, "f.toml");
            assert_eq!(problems.len(), want.len(), "{text}\n{problems:#?}");
            for (got, (line, field, part)) in problems.iter().zip(&want) {
                assert_eq!(
                    (got.line, got.field.as_str()),
                    (*line, *field),
                    "{text}\n{got:?}"
                );
                assert!(got.reason.contains(part), "{part:?} in {got:?}");
            }
        }
    }

    #[test]
    fn the_service_limits_are_refused_in_the_file() {
        let members: Vec<String> = (0..=MAX_MEMBERS)
            .map(|i| format!("\"u{i}@example.com\""))
            .collect();
        let text = format!(
            "[[user_group]]\nname = \"big\"\nmembers = [{}]\n",
            members.join(",")
        );
        let err = FleetFile::parse(&text, "f.toml").unwrap_err().to_string();
        assert!(err.contains("more than 500 members"), "{err}");
        let groups: String = (0..=MAX_GROUPS)
            .map(|i| format!("[[cid_group]]\nname = \"g{i}\"\n"))
            .collect();
        let err = FleetFile::parse(&groups, "f.toml").unwrap_err().to_string();
        assert!(
            err.contains("line 1002, cid_group: more than 500 CID groups"),
            "{err}"
        );
    }

    /// API text in an export (names, descriptions) that would hide or reorder text in a
    /// terminal or a diff is written as escapes, and reads back as the same value.
    #[test]
    fn an_export_escapes_deceptive_text_and_reads_back_the_same() {
        use crate::workflows::flight_control::state::Group;
        let tricky = "Ops\u{202e}nimda\u{200b} \"q\" \\ \u{1b}[31m\u{e0041}";
        let mut model = FleetModel::default();
        model.user_groups.insert(
            tricky.to_owned(),
            Group {
                id: Some("u1".into()),
                description: format!("line\nbreak {tricky}"),
                members: ["ann@example.com".to_string()].into(),
            },
        );
        let cid: Cid = CID.parse().unwrap();
        model.cid_groups.insert(
            "c".into(),
            Group {
                id: None,
                description: String::new(),
                members: [cid.clone()].into(),
            },
        );
        let children = [(cid, Some(format!("Acme{tricky}")))].into();
        let text = FleetFile::render(&model, &children);
        assert!(!text.contains(is_deceptive_char_or_escape), "{text:?}");
        assert!(
            text.contains("\\u202E") && text.contains("\\U000E0041"),
            "{text}"
        );
        let file = FleetFile::parse(&text, "f.toml").unwrap();
        assert_eq!(file.user_groups[0].name, tricky);
        assert_eq!(
            file.user_groups[0].description,
            format!("line\nbreak {tricky}")
        );
    }

    /// A raw deceptive character, or a raw line break inside a line's text.
    fn is_deceptive_char_or_escape(c: char) -> bool {
        c != '\n' && is_deceptive_char(c)
    }

    #[test]
    fn a_file_reads_with_its_lines_and_normalised_values() {
        let text = format!(
            "# who may see EMEA\n[[user_group]]\nname = \"Tier 1\"\nmembers = [\"Ann@Example.com\", \"0a1b2c3d-0000-4000-8000-00000000abcd\"]\n\n[[cid_group]]\nname = \"EMEA\"\ncids = [{{ cid = \"{}-7F\", name = \"Acme\" }}]\n\n[[link]]\nuser_group = \"Tier 1\"\ncid_group = \"EMEA\"\nroles = [\"falcon_analyst\"]\n",
            CID.to_uppercase()
        );
        let file = FleetFile::parse(&text, "f.toml").unwrap();
        let group = &file.user_groups[0];
        assert_eq!((group.line, group.name.as_str()), (3, "Tier 1"));
        assert_eq!(group.members[0].value, "ann@example.com");
        assert_eq!(group.members[1].line, 4);
        assert_eq!(file.cid_groups[0].cids[0].value.as_str(), CID);
        assert_eq!(file.links[0].line, 11);
    }
}

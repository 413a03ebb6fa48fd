//! The subset of Falcon Query Language the user and grant queries document: `field:'value'`
//! equality (case-insensitive), `*` wildcards inside quoted values, `!` negation, `+` for AND,
//! `,` for OR (an AND of OR-groups), `\'`, `\*` and `\\` escapes; sorts `field|asc`,
//! `field.desc`. Which fields an operation accepts comes from the operation table
//! (`Operation::filter_fields`, `Operation::sort_fields`), never from here.
//!
//! A field may hold several values (a user's `assigned_cids`): a condition holds when any value
//! matches, and its negation when none does.

/// How deep parentheses may nest (each level is parsed by a nested call).
const MAX_DEPTH: usize = 8;

/// A parsed filter: every group must match, and a group matches when any condition does.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    groups: Vec<Vec<Condition>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: String,
    negated: bool,
    pattern: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Any,
}

/// A parsed sort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The field.
    pub field: String,
    /// Descending.
    pub descending: bool,
}

impl Filter {
    /// Parses `input`, accepting only `fields`.
    pub fn parse(input: &str, fields: &[&str]) -> Result<Filter, String> {
        Self::parse_nested(input, fields, 0)
    }

    /// `input` at `depth` parentheses deep. A parenthesised filter may stand as a whole term of
    /// an AND (`(a,b)+c`, what a listing in parts sends); an OR of one is refused, since an AND
    /// of OR-groups cannot hold it.
    fn parse_nested(input: &str, fields: &[&str], depth: usize) -> Result<Filter, String> {
        let mut parser = Parser {
            chars: input.trim().chars().collect(),
            pos: 0,
        };
        let mut groups: Vec<Vec<Condition>> = vec![Vec::new()];
        loop {
            if parser.peek() == Some('(') {
                if depth >= MAX_DEPTH {
                    return Err(format!("parentheses nested deeper than {MAX_DEPTH}"));
                }
                let inner = Self::parse_nested(&parser.parenthesised()?, fields, depth + 1)?;
                let only_and = || "a parenthesised filter can only be ANDed with `+`".to_owned();
                if groups.pop().is_some_and(|open| !open.is_empty()) {
                    return Err(only_and());
                }
                groups.extend(inner.groups);
                match parser.next() {
                    None => break,
                    Some('+') => groups.push(Vec::new()),
                    Some(_) => return Err(only_and()),
                }
                continue;
            }
            let condition = parser.condition(fields)?;
            groups.last_mut().expect("one group").push(condition);
            match parser.next() {
                None => break,
                Some('+') => groups.push(Vec::new()),
                Some(',') => {}
                Some(c) => return Err(format!("unexpected {c:?} at {} in filter", parser.pos)),
            }
        }
        Ok(Filter { groups })
    }

    /// Whether the record whose values of a field `values` returns matches (no values: the
    /// record lacks the field, which only a negated condition accepts).
    pub fn matches<I>(&self, values: impl Fn(&str) -> I) -> bool
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.groups.iter().all(|group| {
            group.iter().any(|c| {
                let hit = values(&c.field)
                    .into_iter()
                    .any(|v| glob(&c.pattern, &v.as_ref().to_lowercase()));
                hit != c.negated
            })
        })
    }
}

impl Sort {
    /// Parses `field`, `field|asc`, `field|desc`, `field.asc` or `field.desc`.
    pub fn parse(input: &str, fields: &[&str]) -> Result<Sort, String> {
        let input = input.trim();
        let (field, direction) = match input.rsplit_once(['|', '.']) {
            Some((f, d)) if matches!(d, "asc" | "desc") => (f, d),
            _ => (input, "asc"),
        };
        if !fields.contains(&field) {
            return Err(format!(
                "cannot sort by {field:?}; sortable fields: {}",
                fields.join(", ")
            ));
        }
        Ok(Sort {
            field: field.to_owned(),
            descending: direction == "desc",
        })
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        self.pos += 1;
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn condition(&mut self, fields: &[&str]) -> Result<Condition, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        let field: String = self.chars[start..self.pos].iter().collect();
        if field.is_empty() {
            return Err(format!("expected a field name at {start} in filter"));
        }
        if !fields.contains(&field.as_str()) {
            return Err(format!(
                "cannot filter on {field:?}; filterable fields: {}",
                fields.join(", ")
            ));
        }
        if self.next() != Some(':') {
            return Err(format!("expected ':' after {field:?}"));
        }
        let negated = self.peek() == Some('!');
        if negated {
            self.pos += 1;
        }
        let pattern = if self.peek() == Some('\'') {
            self.pos += 1;
            self.quoted()?
        } else {
            let start = self.pos;
            while self.peek().is_some_and(|c| c != '+' && c != ',') {
                self.pos += 1;
            }
            let raw: String = self.chars[start..self.pos].iter().collect();
            if raw.is_empty() || raw.contains('\'') {
                return Err(format!("bad value for {field:?}"));
            }
            vec![Piece::Text(raw.to_lowercase())]
        };
        Ok(Condition {
            field,
            negated,
            pattern,
        })
    }

    /// The text inside `(...)`, up to the matching `)` outside quoted values.
    fn parenthesised(&mut self) -> Result<String, String> {
        self.pos += 1;
        let start = self.pos;
        let (mut depth, mut quoted) = (0usize, false);
        loop {
            match self.next() {
                None => return Err("unclosed parenthesis in filter".into()),
                Some('\\') if quoted => self.pos += 1,
                Some('\'') => quoted = !quoted,
                Some('(') if !quoted => depth += 1,
                Some(')') if !quoted && depth == 0 => break,
                Some(')') if !quoted => depth -= 1,
                Some(_) => {}
            }
        }
        Ok(self.chars[start..self.pos - 1].iter().collect())
    }

    /// The inside of `'...'`; the opening quote is consumed.
    fn quoted(&mut self) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            match self.next() {
                None => return Err("unterminated quoted value".into()),
                Some('\'') => break,
                Some('\\') => match self.next() {
                    Some(c @ ('\'' | '\\' | '*')) => text.extend(c.to_lowercase()),
                    _ => return Err("bad escape in quoted value".into()),
                },
                Some('*') => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Any);
                }
                Some(c) => text.extend(c.to_lowercase()),
            }
        }
        if !text.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(pieces)
    }
}

/// Whether `value` (lower case) matches the pattern.
fn glob(pattern: &[Piece], value: &str) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some((Piece::Text(t), rest)) => value
            .strip_prefix(t.as_str())
            .is_some_and(|v| glob(rest, v)),
        Some((Piece::Any, rest)) => {
            if rest.is_empty() {
                return true;
            }
            value
                .char_indices()
                .map(|(i, _)| i)
                .chain([value.len()])
                .any(|i| glob(rest, &value[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["uid", "status", "first_name"];

    fn check(filter: &str, uid: &str, status: &str) -> bool {
        let f = Filter::parse(filter, FIELDS).unwrap();
        f.matches(|field| match field {
            "uid" => vec![uid],
            "status" => vec![status],
            _ => vec![],
        })
    }

    #[test]
    fn multi_valued_fields_match_any_value_and_negate_none() {
        let f = Filter::parse("status:'b*'", FIELDS).unwrap();
        assert!(f.matches(|_| ["a", "bee"]));
        assert!(!f.matches(|_| ["a", "c"]));
        assert!(!f.matches(|_| Vec::<&str>::new()));
        let not = Filter::parse("status:!'b*'", FIELDS).unwrap();
        assert!(!not.matches(|_| ["a", "bee"]));
        assert!(not.matches(|_| ["a", "c"]));
        assert!(not.matches(|_| Vec::<&str>::new()));
    }

    #[test]
    fn filters() {
        assert!(check("uid:'ann@example.com'", "ANN@example.com", "active"));
        assert!(check("uid:'ann*'", "ann@example.com", "active"));
        assert!(check(
            "uid:'*@example.com'+status:'active'",
            "bo@example.com",
            "active"
        ));
        assert!(!check(
            "uid:'*@example.com'+status:'active'",
            "bo@example.com",
            "inactive"
        ));
        assert!(check("status:'inactive',status:'active'", "x", "active"));
        assert!(check("status:!'inactive'", "x", "active"));
        assert!(check(r"uid:'o\'brien\*'", "o'brien*", "active"));
        assert!(!check(r"uid:'o\'brien\*'", "o'briens", "active"));
        assert!(check("status:active", "x", "active"));
    }

    #[test]
    fn a_parenthesised_filter_is_an_and_term() {
        let both = "(status:'inactive',status:'active')+uid:'a*'";
        assert!(check(both, "ann@x.io", "active"));
        assert!(check(both, "ann@x.io", "inactive"));
        assert!(!check(both, "bo@x.io", "active"));
        assert!(!check(both, "ann@x.io", "gone"));
        // Quoted parentheses are text; nesting and a trailing group work too.
        assert!(check(
            r"(uid:'a(b)\'c*')+status:'active'",
            "a(b)'cd",
            "active"
        ));
        assert!(check("((uid:'a*'))", "ab", "x"));
        assert!(check("status:'active'+(uid:'a*',uid:'b*')", "bo", "active"));
        assert!(!check(
            "status:'active'+(uid:'a*',uid:'b*')",
            "cy",
            "active"
        ));
        for bad in [
            "(uid:'a*'",
            "uid:'a*',(status:'x')",
            "(uid:'a*'),status:'x'",
            "()",
            "(uid:'a*')status:'x'",
            &format!("{}uid:'a'{}", "(".repeat(9), ")".repeat(9)),
        ] {
            assert!(Filter::parse(bad, FIELDS).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_filters_are_errors() {
        for bad in [
            "",
            "uid",
            "uid:'x",
            "nope:'x'",
            "uid:'x'+",
            "uid:'x' status:'y'",
            r"uid:'\q'",
        ] {
            assert!(Filter::parse(bad, FIELDS).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sorts() {
        assert_eq!(
            Sort::parse("uid|desc", FIELDS).unwrap(),
            Sort {
                field: "uid".into(),
                descending: true
            }
        );
        assert!(!Sort::parse("first_name.asc", FIELDS).unwrap().descending);
        assert_eq!(Sort::parse("status", FIELDS).unwrap().field, "status");
        assert!(Sort::parse("uuid|asc", FIELDS).is_err());
    }
}

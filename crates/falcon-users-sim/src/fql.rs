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
    pattern: Glob,
}

/// A value's pattern, lower case: literal bytes and `*` wildcards, a run of `*` kept as one
/// (it matches what one does). Bytes, not chars: UTF-8 is self-synchronising, so a literal's
/// first byte never matches inside another character and byte matching is char matching.
#[derive(Debug, Clone, PartialEq, Default)]
struct Glob(Vec<Token>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Byte(u8),
    Any,
}

impl Glob {
    fn literal(&mut self, text: &str) {
        self.0.extend(text.bytes().map(Token::Byte));
    }

    /// `c` in lower case.
    fn char(&mut self, c: char) {
        let mut buf = [0; 4];
        for lower in c.to_lowercase() {
            self.literal(lower.encode_utf8(&mut buf));
        }
    }

    fn any(&mut self) {
        if self.0.last() != Some(&Token::Any) {
            self.0.push(Token::Any);
        }
    }

    /// Whether `value` (lower case) matches the whole pattern.
    fn matches(&self, value: &str) -> bool {
        self.match_counting(value.as_bytes()).0
    }

    /// Whether `value` matches, and the steps it took (each moves the pattern or the value
    /// position by one). Greedy, with one backtrack point: a mismatch returns to just after
    /// the last `*` and lets it take one more byte. Revisiting an earlier `*` is never needed,
    /// because the later one can absorb whatever the earlier would have taken, so the steps are
    /// at most (value + 1) × (pattern + 1): never the exponential blow-up of trying every
    /// split for every `*` (which `uid:'******z'` took 20 s over 1,000 users to show).
    fn match_counting(&self, value: &[u8]) -> (bool, usize) {
        let pattern = &self.0;
        let (mut p, mut v, mut steps) = (0, 0, 0);
        // The last `*` seen, and where in the value its match ends now.
        let mut star: Option<(usize, usize)> = None;
        while let Some(&byte) = value.get(v) {
            steps += 1;
            match pattern.get(p) {
                Some(Token::Any) => {
                    star = Some((p, v));
                    p += 1;
                }
                Some(Token::Byte(b)) if *b == byte => {
                    p += 1;
                    v += 1;
                }
                _ => match star {
                    Some((star_p, end)) => {
                        star = Some((star_p, end + 1));
                        p = star_p + 1;
                        v = end + 1;
                    }
                    None => return (false, steps),
                },
            }
        }
        while pattern.get(p) == Some(&Token::Any) {
            steps += 1;
            p += 1;
        }
        (p == pattern.len(), steps)
    }
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
                    .any(|v| c.pattern.matches(&v.as_ref().to_lowercase()));
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
            let mut glob = Glob::default();
            glob.literal(&raw.to_lowercase());
            glob
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
    fn quoted(&mut self) -> Result<Glob, String> {
        let mut glob = Glob::default();
        loop {
            match self.next() {
                None => return Err("unterminated quoted value".into()),
                Some('\'') => break,
                Some('\\') => match self.next() {
                    Some(c @ ('\'' | '\\' | '*')) => glob.char(c),
                    _ => return Err("bad escape in quoted value".into()),
                },
                Some('*') => glob.any(),
                Some(c) => glob.char(c),
            }
        }
        Ok(glob)
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

    /// The pattern of `uid:<value>` (quoted or not), as the parser compiles it.
    fn glob(value: &str) -> Glob {
        let filter = Filter::parse(&format!("uid:{value}"), FIELDS).unwrap();
        filter.groups[0][0].pattern.clone()
    }

    /// What a glob means, by definition: try every split for every `*` (exponential; small
    /// inputs only).
    fn by_every_split(pattern: &[Token], value: &[u8]) -> bool {
        match pattern.split_first() {
            None => value.is_empty(),
            Some((Token::Byte(b), rest)) => {
                value.first() == Some(b) && by_every_split(rest, &value[1..])
            }
            Some((Token::Any, rest)) => {
                (0..=value.len()).any(|i| by_every_split(rest, &value[i..]))
            }
        }
    }

    #[test]
    fn glob_table() {
        for (pattern, value, expected) in [
            ("''", "", true),
            ("''", "a", false),
            ("'*'", "", true),
            ("'*'", "anything", true),
            ("'**'", "", true),
            ("'a*'", "a", true),
            ("'a*'", "ba", false),
            ("'*a'", "ba", true),
            ("'*a'", "ab", false),
            ("'a*b*c'", "axxbyyc", true),
            ("'a*b*c'", "axxbyy", false),
            ("'a*b*c'", "acb", false),
            ("'*ab*ab'", "abab", true),
            ("'*ab*ab'", "aabab", true),
            ("'*ab*ab'", "abba", false),
            ("'******z'", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaz", true),
            ("'******z'", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("'ANN@*'", "ann@example.com", true),
            ("'é*ü'", "éxyzü", true),
            ("'É*'", "école", true),
            ("'*ß'", "straß", true),
            ("'*ü'", "u", false),
            (r"'a\*'", "a*", true),
            (r"'a\*'", "ab", false),
            (r"'\\*'", "\\tail", true),
            (r"'o\'*'", "o'brien", true),
            ("plain", "plain", true),
            ("plain", "plainer", false),
            ("pl*n", "pl*n", true),
            ("pl*n", "plain", false),
        ] {
            assert_eq!(
                glob(pattern).matches(value),
                expected,
                "{pattern} on {value:?}"
            );
        }
    }

    #[test]
    fn glob_agrees_with_trying_every_split() {
        // Every pattern over `a`, `b` and `*` of up to 5 symbols against every value over `a`
        // and `b` of up to 6 letters.
        let words = |alphabet: &[char], max: usize| -> Vec<String> {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let values = words(&['a', 'b'], 6);
        for pattern in words(&['a', 'b', '*'], 5) {
            let compiled = glob(&format!("'{pattern}'"));
            for value in &values {
                assert_eq!(
                    compiled.matches(value),
                    by_every_split(&compiled.0, value.as_bytes()),
                    "{pattern:?} on {value:?}"
                );
            }
        }
    }

    #[test]
    fn runs_of_stars_are_one_star() {
        assert_eq!(glob("'******z'"), glob("'*z'"));
        assert_eq!(glob("'a**b***'"), glob("'a*b*'"));
        assert_ne!(
            glob(r"'a\**'"),
            glob("'a*'"),
            "an escaped star is a literal"
        );
    }

    #[test]
    fn matching_takes_at_most_value_times_pattern_steps() {
        let long_a = "a".repeat(10_000);
        for (pattern, value) in [
            ("'******z'", long_a.clone()),
            ("'*a*a*a*a*a*b'", "a".repeat(2_000)),
            ("'*ab*ab*ab*abc'", "ab".repeat(1_000)),
            ("'*a*'", long_a.clone()),
            (
                "'a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*z'",
                long_a.clone(),
            ),
        ] {
            let compiled = glob(pattern);
            let (_, steps) = compiled.match_counting(value.as_bytes());
            let bound = (value.len() + 1) * (compiled.0.len() + 1);
            assert!(steps <= bound, "{pattern}: {steps} steps > {bound}");
        }
        // One run of stars before a literal: linear in the value.
        let (hit, steps) = glob("'******z'").match_counting(long_a.as_bytes());
        assert!(!hit);
        assert!(steps <= 2 * (long_a.len() + 1), "{steps} steps");
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

//! Listings larger than the service pages through: the query split by login (`uid`) prefix into
//! parts small enough to page, and the parts' counts checked against the whole's.
//!
//! The service refuses `offset + limit` past a ceiling, so offset paging reaches at most that
//! many rows of one query. The parts of a prefix are the login equal to the prefix (once it
//! holds an `@`, when it can be a whole login), then the prefix extended by each character of
//! [`ALPHABET`]. A login falls in at most one part of a level, so the parts never overlap; a
//! login holding a character outside the alphabet falls in none, so the counts of the parts fall
//! short of the whole's, and the listing says by how many instead of ending silently.
//!
//! The decisions are pure: [`plan`] (list a part or split it), [`tally`] (after each part's
//! count: go on, skip the rest, recount, or stop because the counts cannot be true).

use std::fmt;

use crate::model::fql;

/// The largest `offset + limit` the Falcon API accepts on user and grant queries: a query
/// matching more rows than this is listed in parts (see [`crate::Falcon::user_ids`]).
pub const DEFAULT_OFFSET_CEILING: u64 = 10_000;

/// Every printable ASCII character but the upper-case letters (the service matches `uid`
/// case-insensitively and stores logins in lower case), the common ones first: the counts are
/// usually complete after the letters and digits, and the rarer parts are then skipped
/// unasked. A space ends the list: logins hold none, but a listing that met one still counts it.
pub(crate) const ALPHABET: &str =
    "abcdefghijklmnopqrstuvwxyz0123456789._-+'@!#$%&*/=?^`{|}~\"(),:;<>[\\] ";

/// The longest login the service accepts: a prefix this long has no longer logins under it.
const LONGEST_LOGIN: usize = 254;

/// The rows of a query a request asks for: all of them, the logins that start with a prefix,
/// or one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// The whole query.
    All,
    /// Logins (`uid`) starting with this (lower case).
    Prefix(String),
    /// The login equal to this.
    Login(String),
}

impl Part {
    /// The FQL filter selecting this part of the rows `base` selects: the caller's filter in
    /// parentheses, AND (`+`) the login condition.
    pub(crate) fn filter(&self, base: Option<&str>) -> Option<String> {
        let base = base.map(str::trim).filter(|b| !b.is_empty());
        let own = match self {
            Part::All => return base.map(str::to_owned),
            Part::Prefix(prefix) => fql::starts_with("uid", prefix),
            Part::Login(login) => fql::eq("uid", login),
        };
        Some(match base {
            Some(base) => format!("({base})+{own}"),
            None => own,
        })
    }

    /// The parts this one splits into, in the order they are listed; none when it cannot split.
    fn parts(&self) -> Vec<Part> {
        let prefix = match self {
            Part::All => "",
            Part::Prefix(prefix) if prefix.chars().count() < LONGEST_LOGIN => prefix,
            Part::Prefix(_) | Part::Login(_) => return Vec::new(),
        };
        // The login equal to the prefix first: it sorts first, and the counts cannot add up
        // before it is counted.
        let whole = prefix.contains('@').then(|| Part::Login(prefix.to_owned()));
        let longer = ALPHABET
            .chars()
            .map(|c| Part::Prefix(format!("{prefix}{c}")));
        whole.into_iter().chain(longer).collect()
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::All => f.write_str("the whole query"),
            Part::Prefix(prefix) => write!(f, "the logins starting with {prefix:?}"),
            Part::Login(login) => write!(f, "the login {login:?}"),
        }
    }
}

/// What to do with a part whose first page counted `total` rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Page through it: offset paging reaches every row.
    List,
    /// List these parts instead (the first page's rows are not delivered: they come again in
    /// the parts).
    Split(Vec<Part>),
    /// Too big to page and nothing to split it by: list what paging reaches and report the rest.
    Unsplittable,
}

/// Whether a part counted at `total` rows can be paged through with the service's `ceiling`
/// on `offset + limit`, or must be split.
pub(crate) fn plan(part: &Part, total: u64, ceiling: u64) -> Plan {
    if total <= ceiling {
        return Plan::List;
    }
    match part.parts() {
        parts if parts.is_empty() => Plan::Unsplittable,
        parts => Plan::Split(parts),
    }
}

/// Where a split part stands after its parts' counts so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tally {
    /// Count the next part.
    More,
    /// The parts counted hold every row: the parts not yet counted are empty and are skipped.
    Complete,
    /// Every part was counted and they hold this many rows fewer than the whole: count the
    /// whole again (rows may have been deleted meanwhile) before calling them missing.
    Short(u64),
    /// The parts count more rows than the whole by more than rows created meanwhile explain:
    /// the service does not apply the filter, or its counts are not true.
    Inconsistent,
}

/// The verdict on a split part counted at `total` once `probed` of its parts were counted,
/// `counted` rows together, with `left` parts not counted yet.
///
/// The rest is skipped only once two parts were counted: a service that ignored the login
/// filter would count the whole in every part, and the second count then exposes it.
pub(crate) fn tally(total: u64, counted: u64, probed: usize, left: usize) -> Tally {
    // Rows created while the listing runs land in parts counted after the whole (a split part
    // holds more rows than the ceiling, so 1 % is at least a hundred of them).
    let margin = total / 100;
    if counted > total.saturating_add(margin) {
        Tally::Inconsistent
    } else if counted >= total && (probed >= 2 || left == 0) {
        Tally::Complete
    } else if left == 0 {
        Tally::Short(total - counted)
    } else {
        Tally::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(p: &str) -> Part {
        Part::Prefix(p.to_owned())
    }

    #[test]
    fn the_alphabet_holds_every_printable_ascii_character_but_upper_case_once() {
        let mut chars: Vec<char> = ALPHABET.chars().collect();
        chars.sort_unstable();
        let want: Vec<char> = (' '..='~').filter(|c| !c.is_ascii_uppercase()).collect();
        assert_eq!(chars, want);
    }

    #[test]
    fn plans() {
        let children = |p: &str| -> Vec<Part> {
            ALPHABET
                .chars()
                .map(|c| Part::Prefix(format!("{p}{c}")))
                .collect()
        };
        let mut under_at = vec![Part::Login("ann@".into())];
        under_at.extend(children("ann@"));
        let longest = "a".repeat(LONGEST_LOGIN);
        let table: Vec<(Part, u64, u64, Plan)> = vec![
            // Fits: paged through (the probe's rows are its first page).
            (Part::All, 0, 10_000, Plan::List),
            (Part::All, 10_000, 10_000, Plan::List),
            (prefix("a"), 9_999, 10_000, Plan::List),
            // Too big: one part per character; logins first split by their first one.
            (Part::All, 10_001, 10_000, Plan::Split(children(""))),
            (prefix("a"), 50_000, 10_000, Plan::Split(children("a"))),
            (prefix("ab"), 11, 10, Plan::Split(children("ab"))),
            // Once a prefix can be a whole login, that login is a part too.
            (prefix("ann@"), 20_000, 10_000, Plan::Split(under_at)),
            // Nothing left to split by.
            (Part::Login("a@b.c".into()), 2, 1, Plan::Unsplittable),
            (Part::Prefix(longest), 20_000, 10_000, Plan::Unsplittable),
        ];
        for (part, total, ceiling, want) in table {
            assert_eq!(plan(&part, total, ceiling), want, "{part} total {total}");
        }
    }

    #[test]
    fn tallies() {
        use Tally::*;
        // (total, counted, probed, left) -> verdict
        let table = [
            // Counting goes on while rows are unaccounted for.
            ((50_000, 0, 1, 67), More),
            ((50_000, 49_999, 26, 42), More),
            // All rows found after two parts or more: the rest is empty and skipped.
            ((50_000, 50_000, 26, 42), Complete),
            ((20, 20, 2, 66), Complete),
            // One part holding everything is not enough to skip: the second count checks
            // that the service applies the filter.
            ((20, 20, 1, 67), More),
            ((20, 20, 1, 0), Complete),
            // Every part counted: short by the difference (recount before reporting).
            ((50_000, 49_990, 68, 0), Short(10)),
            ((5, 0, 68, 0), Short(5)),
            // Rows created meanwhile: tolerated up to 1 %.
            ((10_000, 10_100, 3, 10), Complete),
            ((10_000, 10_101, 3, 10), Inconsistent),
            // A service that ignores the filter counts the whole twice.
            ((1_000_000, 2_000_000, 2, 66), Inconsistent),
            ((u64::MAX, u64::MAX, 2, 66), Complete),
        ];
        for ((total, counted, probed, left), want) in table {
            assert_eq!(
                tally(total, counted, probed, left),
                want,
                "{total} {counted} {probed} {left}"
            );
        }
    }

    #[test]
    fn filters_and_the_callers_filter_together() {
        let table = [
            (Part::All, None, None),
            (Part::All, Some("status:'active'"), Some("status:'active'")),
            (prefix("a"), None, Some("uid:'a*'")),
            (prefix("a"), Some("  "), Some("uid:'a*'")),
            (
                prefix("a"),
                Some("status:'active',status:'inactive'"),
                Some("(status:'active',status:'inactive')+uid:'a*'"),
            ),
            (prefix("o'*\\"), None, Some(r"uid:'o\'\*\\*'")),
            (
                Part::Login("ann@x.io".into()),
                Some("status:'active'"),
                Some("(status:'active')+uid:'ann@x.io'"),
            ),
        ];
        for (part, base, want) in table {
            assert_eq!(part.filter(base).as_deref(), want, "{part} {base:?}");
        }
    }
}

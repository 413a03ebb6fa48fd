//! The checks every convenience method runs on its arguments before anything is sent, so a bad
//! value is refused with the argument's name rather than as an API error.

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{
    CodePointMapData, CodePointMapDataBorrowed, CodePointSetData, CodePointSetDataBorrowed,
};
use unicode_security::mixed_script::AugmentedScriptSet;
use unicode_security::{GeneralSecurityProfile, MixedScript};

use crate::error::{Error, Result};
use crate::model::ids::IdList;

/// A single id, trimmed and checked by the same rules as [`IdList::validate`].
pub fn checked_id<'a>(field: &'static str, id: &'a str) -> Result<&'a str> {
    let id = id.trim();
    IdList::from_iter([id]).validate(field)?;
    Ok(id)
}

/// Ids per page request: 1–500, 500 when not given (fewest requests).
pub fn page_size(size: Option<u64>) -> Result<u64> {
    match size.unwrap_or(500) {
        n @ 1..=500 => Ok(n),
        n => Err(Error::invalid(
            "page_size",
            format!("{n} is outside 1..=500"),
        )),
    }
}

/// A plausible email: one `@`, non-empty local part, a dotted domain, no spaces, ≤ 254 bytes,
/// and an identity string that is what it looks like: no [deceptive
/// character](is_deceptive_char), no non-ASCII character that Unicode's security profile
/// (UTS 39) restricts from identifiers, and one script per part (a Cyrillic `а` in `аdmin` is
/// refused; `иван@example.com` and `山田@example.jp` are not).
///
/// This is the one check every login passes before a request: user creation, provisioning and
/// roster rows.
pub fn validate_email(uid: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(
            "uid",
            format!("{uid:?} is not an email address: {why}"),
        ))
    };
    if uid.len() > 254 {
        return bad("longer than 254 characters");
    }
    if let Some(why) = login_char_problem(uid) {
        return bad(&why);
    }
    if uid.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    let Some((local, domain)) = uid.split_once('@') else {
        return bad("no @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("needs exactly one @ with a name before it");
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad("the domain must look like example.com");
    }
    if let Some(why) = mixed_script_problem(uid) {
        return bad(&why);
    }
    Ok(())
}

/// Names are trimmed; blank means "not given"; at most 256 characters; no [deceptive
/// character](is_deceptive_char). Any script, accents, apostrophes, hyphens and spaces are
/// fine ("José", "王", "O'Brien", "Björk Guðmundsdóttir").
///
/// This is the one check every first and last name passes before a request: user creation,
/// updates and roster rows.
pub fn checked_name(field: &'static str, name: Option<String>) -> Result<Option<String>> {
    let Some(name) = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 256 {
        return Err(Error::invalid(field, "longer than 256 characters"));
    }
    if let Some((at, c, kind)) = first_deceptive(&name) {
        return Err(Error::invalid(
            field,
            format!("{name:?}: {}", char_problem(at, c, kind.what())),
        ));
    }
    Ok(Some(name))
}

/// A new user's login (trimmed, [checked](validate_email)) and names ([checked](checked_name)):
/// what every create sends, whichever operation sends it.
pub(crate) fn checked_identity(
    uid: &str,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(String, Option<String>, Option<String>)> {
    let uid = uid.trim();
    validate_email(uid)?;
    Ok((
        uid.to_owned(),
        checked_name("first_name", first_name)?,
        checked_name("last_name", last_name)?,
    ))
}

/// Why a character makes text display as something other than what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deceptive {
    /// C0, DEL, C1: terminal escape sequences, forged line breaks.
    Control,
    /// Default_Ignorable_Code_Point: drawn as nothing (soft hyphen, zero-width characters,
    /// text-direction marks and overrides, variation selectors, tags, Hangul fillers, …).
    Ignorable,
    /// Any other format character (General_Category Cf), drawn as nothing or steering layout.
    Format,
    /// Line and paragraph separators: forge a line break where none seems to be.
    Separator,
    /// A symbol that draws as a blank.
    Blank,
}

impl Deceptive {
    /// The kind of `c`, if it is deceptive. The Unicode data is the Unicode Consortium's
    /// (ICU4X's compiled tables), not a hand list, so it follows new Unicode versions.
    fn of(c: char) -> Option<Self> {
        const IGNORABLE: CodePointSetDataBorrowed<'static> =
            CodePointSetData::new::<DefaultIgnorableCodePoint>();
        const CATEGORY: CodePointMapDataBorrowed<'static, GeneralCategory> =
            CodePointMapData::<GeneralCategory>::new();
        if c.is_control() {
            return Some(Self::Control);
        }
        if IGNORABLE.contains(c) {
            return Some(Self::Ignorable);
        }
        match CATEGORY.get(c) {
            GeneralCategory::Format => Some(Self::Format),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                Some(Self::Separator)
            }
            // BRAILLE PATTERN BLANK is an ordinary symbol to every Unicode property (so no table
            // lists it) yet draws as empty space: the blank used to fake an empty or shorter name.
            _ if c == '\u{2800}' => Some(Self::Blank),
            _ => None,
        }
    }

    /// What the character is, for an error message.
    fn what(self) -> &'static str {
        match self {
            Self::Control => "a control character",
            Self::Ignorable => "an invisible (default-ignorable) character",
            Self::Format => "an invisible format character",
            Self::Separator => "a line or paragraph separator",
            Self::Blank => "a symbol that shows as a blank",
        }
    }
}

/// Characters that make text display as something other than what it is, refused in logins and
/// names (and escaped by the CLI wherever it prints API data): control characters (C0, DEL,
/// C1), every Default_Ignorable_Code_Point (soft hyphen, combining grapheme joiner, zero-width
/// characters, text-direction marks, embeddings, overrides and isolates, variation selectors,
/// tag characters, Hangul fillers, the BOM), other format characters, line and paragraph
/// separators, and the braille blank.
pub fn is_deceptive_char(c: char) -> bool {
    Deceptive::of(c).is_some()
}

/// The first deceptive character of `text`: its position (1-based), the character and its kind.
fn first_deceptive(text: &str) -> Option<(usize, char, Deceptive)> {
    (1..)
        .zip(text.chars())
        .find_map(|(at, c)| Deceptive::of(c).map(|kind| (at, c, kind)))
}

/// "character 2 (counting from 1) is U+00AD, an invisible …": names the code point and where.
fn char_problem(at: usize, c: char, what: &str) -> String {
    format!(
        "character {at} (counting from 1) is U+{:04X}, {what}",
        u32::from(c)
    )
}

/// Why a login's characters are refused: the first deceptive character, else the first
/// non-ASCII one that UTS 39's General Security Profile does not allow in identifiers (symbols,
/// obsolete and limited-use scripts, compatibility forms such as fullwidth letters).
fn login_char_problem(uid: &str) -> Option<String> {
    if let Some((at, c, kind)) = first_deceptive(uid) {
        return Some(char_problem(at, c, kind.what()));
    }
    (1..).zip(uid.chars()).find_map(|(at, c)| {
        (!c.is_ascii() && !c.identifier_allowed()).then(|| {
            char_problem(
                at,
                c,
                "which Unicode's security profile (UTS 39) does not allow in identifiers",
            )
        })
    })
}

/// Why a login mixes scripts: each part (the name before `@`, each label of the domain) must be
/// in one script (UTS 39's augmented script sets, so kana with kanji is one script), as a
/// Cyrillic `а` among Latin letters makes `аdmin` look like `admin`. Digits and punctuation
/// belong to every script. The character named is the first that disagrees with the script most
/// of the part's letters share.
fn mixed_script_problem(uid: &str) -> Option<String> {
    let mut start = 1;
    for part in uid.split(['@', '.']) {
        let first = start;
        start += part.chars().count() + 1;
        if part.is_single_script() {
            continue;
        }
        let chars: Vec<(usize, char, AugmentedScriptSet)> = (first..)
            .zip(part.chars())
            .map(|(at, c)| (at, c, AugmentedScriptSet::for_char(c)))
            .filter(|(_, _, set)| !set.is_all())
            .collect();
        let meets = |a: AugmentedScriptSet, b: AugmentedScriptSet| {
            let mut both = a;
            both.intersect_with(b);
            !both.is_empty()
        };
        // Parts are at most 254 characters: comparing every pair is cheap.
        let (_, _, main) = chars
            .iter()
            .max_by_key(|(at, _, set)| {
                let agree = chars.iter().filter(|(_, _, o)| meets(*set, *o)).count();
                (agree, std::cmp::Reverse(*at))
            })
            .copied()?;
        let (at, c, set) = chars
            .iter()
            .find(|(_, _, set)| !meets(main, *set))
            .copied()?;
        return Some(format!(
            "{} (one script per part of a login: {part:?} mixes {} with {})",
            char_problem(at, c, script_names(set).as_str()),
            script_names(set),
            script_names(main),
        ));
    }
    None
}

/// The scripts of a character, by their Unicode names ("Cyrillic", "Latin", "Han").
fn script_names(set: AugmentedScriptSet) -> String {
    let names: Vec<&str> = set.base.iter().map(|s| s.full_name()).collect();
    names.join(" or ")
}

/// How far ahead a grant may end, in hours: 1 hour to 7 days, as the service accepts.
pub const GRANT_EXPIRY_HOURS: RangeInclusive<i64> = 1..=168;

/// Grants may end 1 hour to 7 days from now, no sooner and no later.
pub fn check_expiry(at: DateTime<Utc>) -> Result<()> {
    check_expiry_from(at, Utc::now())
}

/// [`check_expiry`] with "now" given: `at` must lie within [`GRANT_EXPIRY_HOURS`] of `now`.
pub fn check_expiry_from(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    let ahead = at - now;
    let earliest = ChronoDuration::hours(*GRANT_EXPIRY_HOURS.start());
    let latest = ChronoDuration::hours(*GRANT_EXPIRY_HOURS.end());
    if ahead < earliest || ahead > latest {
        return Err(Error::invalid(
            "expires_at",
            format!("{at} must be between 1 hour and 7 days from now"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logins and names refuse the same characters; plain and international text passes.
    #[test]
    fn logins_and_names_refuse_the_same_deceptive_characters() {
        let cases: &[(&str, bool)] = &[
            ("ann", true),
            ("Zoë-Ånne", true),
            ("李", true),
            ("a\u{1b}]0;pwned\u{7}", false),
            ("a\u{7f}", false),
            ("a\u{9b}2J", false),
            ("a\u{202E}moc", false),
            ("a\u{2066}b", false),
            ("a\u{200B}b", false),
            ("a\u{200D}b", false),
            ("a\u{2028}b", false),
            ("a\u{2060}b", false),
            ("a\u{061C}b", false),
            ("\u{FEFF}a", false),
        ];
        for (text, accepted) in cases {
            let login = format!("{text}@example.com");
            assert_eq!(validate_email(&login).is_ok(), *accepted, "login {login:?}");
            assert_eq!(
                checked_name("first_name", Some((*text).to_owned())).is_ok(),
                *accepted,
                "name {text:?}"
            );
        }
        for login in ["a b@example.com", "a\tb@example.com", "a\nb@example.com"] {
            assert!(validate_email(login).is_err(), "{login:?}");
        }
    }

    /// Every class of invisible character is refused in logins and in names, and the error
    /// names the field, the code point and its 1-based position.
    #[test]
    fn invisible_characters_are_refused_naming_code_point_and_position() {
        const IGNORABLE: &str = "an invisible (default-ignorable) character";
        let cases: &[(char, &str, &str)] = &[
            ('\u{00AD}', "U+00AD", IGNORABLE),   // soft hyphen
            ('\u{034F}', "U+034F", IGNORABLE),   // combining grapheme joiner
            ('\u{3164}', "U+3164", IGNORABLE),   // Hangul filler
            ('\u{115F}', "U+115F", IGNORABLE),   // Hangul choseong filler
            ('\u{FE0F}', "U+FE0F", IGNORABLE),   // variation selector 16
            ('\u{E0041}', "U+E0041", IGNORABLE), // tag latin capital a
            ('\u{200B}', "U+200B", IGNORABLE),   // zero-width space
            ('\u{202E}', "U+202E", IGNORABLE),   // right-to-left override
            ('\u{2800}', "U+2800", "a symbol that shows as a blank"), // braille blank
            ('\u{0085}', "U+0085", "a control character"), // next line (C1)
            ('\u{0600}', "U+0600", "an invisible format character"), // Arabic number sign
        ];
        for &(c, code, what) in cases {
            let expected = format!("character 3 (counting from 1) is {code}, {what}");
            let login = format!("ad{c}min@example.com");
            let err = validate_email(&login).unwrap_err().to_string();
            assert!(err.starts_with("invalid uid: "), "{err}");
            assert!(err.contains(&expected), "login {code}: {err}");
            let err = checked_name("last_name", Some(format!("Le{c}e")))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("invalid last_name: "), "{err}");
            assert!(err.contains(&expected), "name {code}: {err}");
            assert!(is_deceptive_char(c), "{code}");
        }
    }

    /// A login is one script per part (Cyrillic `а` U+0430 in a Latin login is refused, named
    /// by position), and non-ASCII characters UTS 39 restricts from identifiers are refused;
    /// logins wholly in another script, or Japanese before a Latin domain, still pass.
    #[test]
    fn logins_refuse_mixed_scripts_and_restricted_characters() {
        let refused: &[(&str, &str)] = &[
            (
                "\u{430}dmin@example.com",
                "character 1 (counting from 1) is U+0430, Cyrillic (one script per part of a login: \"\u{430}dmin\" mixes Cyrillic with Latin)",
            ),
            (
                "p\u{430}yp\u{430}l@example.com",
                "character 2 (counting from 1) is U+0430, Cyrillic",
            ),
            (
                "admin@ex\u{430}mple.com",
                "character 9 (counting from 1) is U+0430, Cyrillic",
            ),
            (
                "\u{43f}\u{440}\u{438}\u{432}\u{435}\u{442}o@example.com",
                "character 7 (counting from 1) is U+006F, Latin",
            ),
            (
                "\u{FF41}dmin@example.com",
                "character 1 (counting from 1) is U+FF41, which Unicode's security profile (UTS 39) does not allow in identifiers",
            ),
            (
                "a\u{2460}@example.com",
                "character 2 (counting from 1) is U+2460, which Unicode's security profile",
            ),
        ];
        for (login, expected) in refused {
            let err = validate_email(login).unwrap_err().to_string();
            assert!(err.contains(expected), "{login:?}: {err}");
        }
        for login in [
            "ann.lee+tag@example.com",
            "jos\u{e9}@example.com",
            "\u{438}\u{432}\u{430}\u{43d}@example.com",
            "\u{5c71}\u{7530}\u{305f}\u{308d}\u{3046}@example.jp",
            "\u{3b3}\u{3b9}\u{3ac}\u{3bd}\u{3bd}\u{3b7}\u{3c2}@\u{3c0}\u{3b1}\u{3c1}\u{3ac}\u{3b4}\u{3b5}\u{3b9}\u{3b3}\u{3bc}\u{3b1}.gr",
            "user2024@example.com",
        ] {
            assert!(
                validate_email(login).is_ok(),
                "{login:?}: {:?}",
                validate_email(login)
            );
        }
    }

    /// Ordinary international names are not mistaken for deceptive ones.
    #[test]
    fn international_names_pass() {
        for name in [
            "Jos\u{e9}",
            "Jose\u{301}",
            "Zo\u{eb}",
            "\u{738b}",
            "O'Brien",
            "Anne-Marie",
            "Bj\u{f6}rk Gu\u{f0}mundsd\u{f3}ttir",
            "Nguy\u{1ec5}n V\u{103}n Anh",
            "\u{41e}\u{43b}\u{44c}\u{433}\u{430}",
            "\u{645}\u{62d}\u{645}\u{62f}",
            "\u{5e9}\u{5e8}\u{5d4}",
            "\u{d55c}\u{ac00}\u{c778}",
            "\u{92a}\u{94d}\u{930}\u{93f}\u{92f}\u{93e}",
        ] {
            assert_eq!(
                checked_name("first_name", Some(name.to_owned())).unwrap(),
                Some(name.to_owned()),
                "{name:?}"
            );
        }
    }

    #[test]
    fn expiry_window_is_one_hour_to_seven_days_inclusive() {
        let now = Utc::now();
        let cases = [
            (ChronoDuration::minutes(59), false),
            (ChronoDuration::hours(1), true),
            (ChronoDuration::hours(100), true),
            (ChronoDuration::days(7), true),
            (ChronoDuration::days(7) + ChronoDuration::seconds(1), false),
            (ChronoDuration::hours(-2), false),
        ];
        for (ahead, ok) in cases {
            assert_eq!(
                check_expiry_from(now + ahead, now).is_ok(),
                ok,
                "{ahead} ahead"
            );
        }
    }
}

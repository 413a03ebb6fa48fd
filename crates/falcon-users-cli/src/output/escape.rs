//! What API data may not do to whoever reads the output. One test decides which characters are
//! dangerous ([`is_deceptive_char`], the same one that refuses them in logins and names); each
//! destination renders them harmlessly:
//!
//! - for a terminal (tables, messages on stderr) they are written as
//!   visible escapes (`\n`, `\t`, `\u{1b}`), so no escape sequence reaches the terminal and no
//!   line break or tab forges a row or a column;
//! - in JSON they are `\uXXXX` escapes, so the document still decodes to the exact value;
//! - in CSV they are the terminal's escapes (a CSV is shown with `cat` as often as opened in a
//!   spreadsheet), and a cell a spreadsheet would run as a formula gets a leading `'` (OWASP).
//!   Every CSV the CLI writes goes through [`for_csv`] (the `RowWriter` of `output`).

use std::borrow::Cow;
use std::fmt::{self, Write};

use falcon_users::validation::is_deceptive_char;

/// Text made safe for a terminal, as `Display`.
pub struct ForTerminal<T>(pub T);

impl<T: fmt::Display> fmt::Display for ForTerminal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(f), "{}", self.0)
    }
}

/// A `fmt::Write` that escapes deceptive characters on their way through.
struct Escaping<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(is_deceptive_char) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\t' => self.0.write_str("\\t")?,
                '\r' => self.0.write_str("\\r")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// `text` safe for a terminal (borrowed when nothing needed escaping).
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if text.contains(is_deceptive_char) {
        Cow::Owned(ForTerminal(text).to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// Serialized JSON with every deceptive character that serde_json writes raw (DEL, C1,
/// text-direction and invisible characters; it already escapes C0) as a `\uXXXX` escape.
/// Outside strings JSON has only ASCII punctuation and whitespace, so every such character is
/// inside a string, where the escape means the same character: the value does not change.
pub fn for_json(json: String) -> String {
    let raw = |c: char| u32::from(c) >= 0x7f && is_deceptive_char(c);
    if !json.contains(raw) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            // JSON escapes are UTF-16 units: a tag character (U+E0041) is a surrogate pair.
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{:04x}", unit);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A CSV cell: escaped as for a terminal ([`for_terminal`]), and when a spreadsheet would treat
/// it as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) with a leading
/// `'`, as OWASP's CSV injection guidance says; the CSV writer does the quoting.
pub fn for_csv(cell: &str) -> String {
    // Escaped first: a leading tab or carriage return is then `\t` or `\r`, text already.
    let cell = for_terminal(cell);
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_shows_every_control_and_invisible_character_as_an_escape() {
        let cases = [
            ("plain Zoë 李", "plain Zoë 李"),
            ("\u{1b}]0;pwned\u{7}", "\\u{1b}]0;pwned\\u{7}"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("row\nforged\tcell\r", "row\\nforged\\tcell\\r"),
            ("del\u{7f}", "del\\u{7f}"),
            ("csi\u{9b}2J", "csi\\u{9b}2J"),
            ("evil\u{202E}gpj.exe", "evil\\u{202e}gpj.exe"),
            ("zero\u{200B}width", "zero\\u{200b}width"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("a\u{2028}b", "a\\u{2028}b"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("blank\u{2800}", "blank\\u{2800}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(for_terminal(raw), shown, "{raw:?}");
            assert_eq!(ForTerminal(raw).to_string(), shown, "{raw:?}");
        }
    }

    #[test]
    fn json_escapes_keep_the_value_and_leave_no_raw_control_character() {
        let raw = "a\u{1b}]0;x\u{7}\u{7f}\u{9b}\u{202e}\u{200b}\u{ad}\u{e0041}\n\"\\ Zoë";
        let value = serde_json::json!({ "name": raw, "list": [raw] });
        for text in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let safe = for_json(text);
            assert!(
                !safe.contains(|c: char| is_deceptive_char(c) && c != '\n'),
                "{safe}"
            );
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn csv_cells_are_escaped_and_those_that_start_a_formula_neutralised() {
        let cases = [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "\\tx"),
            ("\rx", "\\rx"),
            ("\u{1b}[2J=1", "\\u{1b}[2J=1"),
            ("=\u{1b}]0;x\u{7}", "'=\\u{1b}]0;x\\u{7}"),
            ("Lee\nforged", "Lee\\nforged"),
            ("evil\u{202e}", "evil\\u{202e}"),
            ("ann@example.com", "ann@example.com"),
            ("a=b", "a=b"),
            ("Zoë 李", "Zoë 李"),
            ("", ""),
        ];
        for (raw, cell) in cases {
            assert_eq!(for_csv(raw), cell, "{raw:?}");
        }
    }
}

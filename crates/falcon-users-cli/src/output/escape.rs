//! What API data may not do to whoever reads the output. One test decides which characters are
//! dangerous ([`is_deceptive_char`], the same one that refuses them in logins and names); each
//! destination renders them harmlessly:
//!
//! - for a terminal (tables, messages on stderr) they are written as
//!   visible escapes (`\n`, `\t`, `\u{1b}`), so no escape sequence reaches the terminal and no
//!   line break or tab forges a row or a column;
//! - in JSON they are `\uXXXX` escapes, so the document still decodes to the exact value;
//! - in a page's JSON blocks ([`EscapedJson::for_page`]) as in JSON, and `<`, `>`, `&` too, so that no
//!   tenant string ends its `<script>` block or opens a comment;
//! - in CSV they are the terminal's escapes (a CSV is shown with `cat` as often as opened in a
//!   spreadsheet), and a cell a spreadsheet would run as a formula gets a leading `'` (OWASP).
//!   Every CSV the CLI writes goes through [`for_csv`] (the `RowWriter` of `output`).

use std::borrow::Cow;
use std::fmt::{self, Write};
use std::io;

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
/// The text form of [`EscapedJson::new`].
pub fn for_json(json: String) -> String {
    if !json.contains(raw_in_json) {
        return json;
    }
    let mut out = EscapedJson::new(Vec::with_capacity(json.len() + 16));
    // Into a Vec, from a str: neither can fail.
    let _ = io::Write::write_all(&mut out, json.as_bytes());
    out.into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// A deceptive character serde_json writes raw (it escapes C0 itself).
fn raw_in_json(c: char) -> bool {
    u32::from(c) >= 0x7f && is_deceptive_char(c)
}

/// `c` as JSON escapes: UTF-16 units, so a tag character (U+E0041) is a surrogate pair.
fn json_escape(out: &mut String, c: char) {
    for unit in c.encode_utf16(&mut [0; 2]) {
        let _ = write!(out, "\\u{:04x}", unit);
    }
}

/// Serialized JSON on its way to its destination, escaped as it passes, so that a document
/// of any size is written as it is serialized ([`EscapedJson::serialize`]): for a file or a
/// terminal as [`for_json`] says; for a page's `<script type="application/json">` block
/// ([`EscapedJson::for_page`]) `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` too, so that a
/// tenant's `</script>` or `<!--` can neither end the block nor open a comment (HTML ends a
/// script's text at `</script`, whatever its type). Outside strings JSON has none of these
/// characters, so the value does not change. A character split between two writes is held
/// until it is whole.
pub struct EscapedJson<W: io::Write> {
    out: W,
    held: Vec<u8>,
    for_page: bool,
}

impl<W: io::Write> EscapedJson<W> {
    /// Escapes what is written on its way to `out`, a file or a terminal.
    pub fn new(out: W) -> Self {
        EscapedJson {
            out,
            held: Vec::new(),
            for_page: false,
        }
    }

    /// Escapes what is written on its way into a page's JSON block in `out`.
    pub fn for_page(out: W) -> Self {
        EscapedJson {
            for_page: true,
            ..EscapedJson::new(out)
        }
    }

    /// Serializes `value` (pretty or one line, no trailing line break) through the escapes,
    /// a buffer at a time: the document is never whole in memory. Hands back the destination.
    pub fn serialize<T: serde::Serialize + ?Sized>(
        mut self,
        value: &T,
        pretty: bool,
    ) -> io::Result<W> {
        let mut buffered = io::BufWriter::new(&mut self);
        if pretty {
            serde_json::to_writer_pretty(&mut buffered, value)
        } else {
            serde_json::to_writer(&mut buffered, value)
        }
        .map_err(io::Error::other)?;
        io::Write::flush(&mut buffered)?;
        drop(buffered);
        self.into_inner()
    }

    /// The destination, once every character written is whole.
    pub fn into_inner(self) -> io::Result<W> {
        if self.held.is_empty() {
            Ok(self.out)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the JSON ends inside a character",
            ))
        }
    }
}

impl<W: io::Write> io::Write for EscapedJson<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(buf);
        let (text, whole) = match std::str::from_utf8(&self.held) {
            Ok(text) => (text, self.held.len()),
            // The end of a character still to come: held; anything else is not text.
            Err(e) if e.error_len().is_none() => {
                let whole = e.valid_up_to();
                (
                    std::str::from_utf8(&self.held[..whole]).unwrap_or_default(),
                    whole,
                )
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        };
        let for_page = self.for_page;
        let escaped = |c: char| {
            raw_in_json(c) || (for_page && matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}'))
        };
        let mut rest = text;
        let mut escapes = String::new();
        while let Some(at) = rest.find(escaped) {
            self.out.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            escapes.clear();
            json_escape(&mut escapes, c);
            self.out.write_all(escapes.as_bytes())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.out.write_all(rest.as_bytes())?;
        self.held.drain(..whole);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
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

    #[test]
    fn json_for_a_page_cannot_end_its_script_block_and_keeps_the_value() {
        let hostile = "</script><script>alert(1)</script><!-- <img src=x onerror=alert(1)> & \u{2028}\u{2029}\u{202e}";
        let value = serde_json::json!({ "name": hostile, "list": [hostile, "Zoë 李"] });
        let mut page = EscapedJson::for_page(Vec::new());
        serde_json::to_writer(&mut page, &value).unwrap();
        let text = String::from_utf8(page.into_inner().unwrap()).unwrap();
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}', '\u{202e}'] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        assert!(text.contains("\\u003c/script\\u003e"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Written a byte at a time, characters split between writes: the same text.
        let mut split = EscapedJson::for_page(Vec::new());
        for byte in serde_json::to_vec(&value).unwrap() {
            io::Write::write_all(&mut split, &[byte]).unwrap();
        }
        assert_eq!(
            String::from_utf8(split.into_inner().unwrap()).unwrap(),
            text
        );
        // A document cut inside a character is refused, not written half.
        let mut cut = EscapedJson::for_page(Vec::new());
        io::Write::write_all(&mut cut, &"李".as_bytes()[..2]).unwrap();
        assert!(cut.into_inner().is_err());
    }

    #[test]
    fn a_json_document_is_serialized_through_the_escapes_a_buffer_at_a_time() {
        /// Counts the largest single write.
        struct Largest(Vec<u8>, usize);
        impl io::Write for Largest {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.1 = self.1.max(buf.len());
                self.0.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let rows: Vec<_> = (0..20_000)
            .map(|i| serde_json::json!({"uid": format!("user{i}@example.com"), "why": "\u{202e}<b>"}))
            .collect();
        for pretty in [true, false] {
            let out = EscapedJson::new(Largest(Vec::new(), 0))
                .serialize(&rows, pretty)
                .unwrap();
            assert!(out.0.len() > 512 << 10);
            assert!(out.1 <= 64 << 10, "a write of {} bytes", out.1);
            // What the text form gives: escaped for a file, not for a page.
            assert_eq!(
                String::from_utf8(out.0).unwrap(),
                super::super::json(&rows, pretty).unwrap()
            );
        }
        let page = EscapedJson::for_page(Vec::new())
            .serialize(&rows[..1], false)
            .unwrap();
        assert_eq!(
            String::from_utf8(page).unwrap(),
            r#"[{"uid":"user0@example.com","why":"\u202e\u003cb\u003e"}]"#
        );
    }
}

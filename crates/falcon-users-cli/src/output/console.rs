//! Messages for the person running the command, on stderr: one line each, with API data made
//! safe for a terminal ([`ForTerminal`]), and a stderr that is closed or full is not a crash
//! (`eprintln!` panics when stderr is a closed pipe). Every stderr write of the CLI, the logs
//! included, goes through here; log lines are escaped as they are formatted ([`LogFields`]).

use std::fmt::{self, Debug, Display};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

use super::escape::ForTerminal;

/// `--quiet`: only warnings and errors reach stderr.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences the notes (progress, counts, where a file went) from here on; warnings and errors
/// still print. For scheduled runs, where any output is mailed or paged.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Writes `message` and a line break to stderr, escaped for a terminal; write errors are
/// dropped (there is nowhere left to report them). Under `--quiet`, only a message that says
/// it is a warning or an error (`warning: ...`, `error: ...`, the words the person reads) is
/// written.
pub fn line(message: impl Display) {
    if QUIET.load(Ordering::Relaxed) {
        let text = message.to_string();
        if !is_alarm(&text) {
            return;
        }
        let _ = writeln!(Stderr, "{}", ForTerminal(text));
        return;
    }
    let _ = writeln!(Stderr, "{}", ForTerminal(message));
}

/// Whether a message is one `--quiet` keeps: it starts with `error` or `warning`.
fn is_alarm(text: &str) -> bool {
    ["error", "warning"].iter().any(|word| {
        text.get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    })
}

/// Writes `message` without a line break (a prompt) and flushes.
pub fn prompt(message: impl Display) {
    let _ = write!(Stderr, "{}", ForTerminal(message));
    let _ = Stderr.flush();
}

/// stderr, where a closed pipe swallows the bytes instead of failing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match io::stderr().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match io::stderr().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// How the log subscriber writes an event's (and a span's) fields, its message included: every
/// value escaped for a terminal ([`ForTerminal`], as in the tables), whatever its level and
/// whoever logged it (the SDK logs logins and servers' messages). A login in a `change failed`
/// warning cannot set the title, ring, move the cursor, reverse the text or forge a line. Only
/// the values go through the escaping: the formatter's own colours (the level, a field's name)
/// still reach a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFields;

impl<'w> MakeVisitor<Writer<'w>> for LogFields {
    type Visitor = LogFieldsVisitor<'w>;

    fn make_visitor(&self, writer: Writer<'w>) -> Self::Visitor {
        LogFieldsVisitor {
            writer,
            first: true,
            result: Ok(()),
        }
    }
}

/// Writes the fields of one event or span for [`LogFields`]: `message name=value ...`, as the
/// default format does.
pub struct LogFieldsVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visit for LogFieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        // A text field is quoted (the message is not), as the default format does.
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The error, then each of its sources.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        self.record_debug(field, &format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let name = field.name();
        // A `log` record's metadata, which the formatter shows itself.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let gap = if self.first { "" } else { " " };
        self.first = false;
        let value = ForTerminal(format_args!("{value:?}"));
        self.result = match name {
            "message" => write!(self.writer, "{gap}{value}"),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                if self.writer.has_ansi_escapes() {
                    // Italic name, dimmed `=`: the default format's colours.
                    write!(
                        self.writer,
                        "{gap}\x1b[3m{name}\x1b[0m\x1b[2m=\x1b[0m{value}"
                    )
                } else {
                    write!(self.writer, "{gap}{name}={value}")
                }
            }
        };
    }
}

impl VisitOutput<fmt::Result> for LogFieldsVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for LogFieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use falcon_users::validation::is_deceptive_char;

    use super::*;

    /// What `--quiet` keeps: the messages that say they are a warning or an error.
    #[test]
    fn quiet_keeps_warnings_and_errors_only() {
        for (message, kept) in [
            ("error: child CID 0123: denied", true),
            (
                "warning: the service does not show 2 users after 90 s",
                true,
            ),
            ("Error: capitalised", true),
            ("plan: 1 to create, 0 to update", false),
            ("12 requests (0 retried, 0 rate limited)", false),
            ("note: the links could not be read", false),
            ("err", false),
            ("", false),
            ("é", false),
        ] {
            assert_eq!(is_alarm(message), kept, "{message:?}");
        }
    }

    /// A title change, a bell, a C1 CSI, a right-to-left override and a forged line.
    const HOSTILE: &str = "\u{1b}]0;pwned\u{7}eve\u{9b}2J\u{202e}moc.elpmaxe\nERROR forged";
    const SHOWN: &str = "\\u{1b}]0;pwned\\u{7}eve\\u{9b}2J\\u{202e}moc.elpmaxe\\nERROR forged";

    #[derive(Debug)]
    struct Failed;

    impl Display for Failed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "refused {HOSTILE}")
        }
    }

    impl std::error::Error for Failed {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&Cause)
        }
    }

    #[derive(Debug)]
    struct Cause;

    impl Display for Cause {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "because {HOSTILE}")
        }
    }

    impl std::error::Error for Cause {}

    /// What the subscriber writes for a few events carrying `HOSTILE` in every kind of field.
    fn logged(ansi: bool) -> String {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(LogFields)
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(ansi)
            .with_writer(move || Capture(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(uid = %HOSTILE, error = %HOSTILE, attempt = 2, "change failed");
            tracing::info!("{HOSTILE} in the message");
            let span = tracing::info_span!("apply", uid = %HOSTILE);
            let _inside = span.enter();
            tracing::debug!(login = ?HOSTILE, text = HOSTILE, "inside");
            let error: &(dyn std::error::Error + 'static) = &Failed;
            tracing::error!(error, "failed");
        });
        let bytes = lines.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// `text` without its SGR sequences (`ESC [ digits ; ... m`, colours and styles).
    fn without_colours(text: &str) -> String {
        let mut plain = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('\u{1b}') {
            plain.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let body = after.strip_prefix('[').unwrap_or("");
            let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            match end {
                Some(end) if body[end..].starts_with('m') => rest = &body[end + 1..],
                // Anything else stays, raw, for the assertion to find.
                _ => {
                    plain.push('\u{1b}');
                    rest = after;
                }
            }
        }
        plain.push_str(rest);
        plain
    }

    #[test]
    fn every_logged_value_is_escaped_and_the_formatters_colours_stay() {
        for ansi in [false, true] {
            let out = logged(ansi);
            let plain = without_colours(&out);
            assert!(
                !plain.contains(|c| is_deceptive_char(c) && c != '\n'),
                "ansi {ansi}: {out:?}"
            );
            assert_eq!(plain.lines().count(), 4, "one line an event: {out:?}");
            for part in [
                format!("change failed uid={SHOWN} error={SHOWN} attempt=2"),
                format!("{SHOWN} in the message"),
                format!("apply{{uid={SHOWN}}}"),
                format!("inside login=\"{}\"", HOSTILE.escape_debug()),
                format!("text=\"{}\"", HOSTILE.escape_debug()),
                format!("failed error=refused {SHOWN}: because {SHOWN}"),
            ] {
                assert!(plain.contains(&part), "ansi {ansi}: {part:?} in {plain:?}");
            }
            // The level's colour and the names' style, on a terminal only.
            assert_eq!(out.contains("\u{1b}[33m"), ansi, "{out:?}");
            assert_eq!(out.contains("\u{1b}[3muid\u{1b}[0m"), ansi, "{out:?}");
        }
    }
}

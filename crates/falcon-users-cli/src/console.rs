//! Messages for the person running the command, on stderr: one line each, with API data made
//! safe for a terminal ([`ForTerminal`]), and a stderr that is closed or full is not a crash
//! (`eprintln!` panics when stderr is a closed pipe). Every stderr write of the CLI, the logs
//! included, goes through here.

use std::fmt::Display;
use std::io::{self, Write};

use crate::sanitize::ForTerminal;

/// Writes `message` and a line break to stderr, escaped for a terminal; write errors are
/// dropped (there is nowhere left to report them).
pub fn line(message: impl Display) {
    let _ = writeln!(Stderr, "{}", ForTerminal(message));
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

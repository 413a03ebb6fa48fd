//! Input files: every file argument a command reads (a roster, a list of users or CIDs) is a
//! path, or `-` for standard input. Standard input can be read once, so `-` given for two
//! inputs of one invocation is refused, naming both: each input claims it ([`claim`]) when
//! the arguments are checked, before any request, and again when opened.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

/// What `-` stands for.
pub const STDIN: &str = "-";

/// The input that took standard input in this run, if any.
static STDIN_TAKEN_BY: Mutex<Option<String>> = Mutex::new(None);

/// An input being read: a file, or standard input.
pub struct Input {
    reader: Box<dyn Read + Send>,
    name: String,
}

impl Input {
    /// How messages name it: the path, or "standard input".
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// How messages name the input at `path`: the path, or "standard input" for `-`.
pub fn name_of(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Claims standard input for the input `what` ("roster", "list of users", ...) when `path`
/// is `-`: refused when another input has it.
pub fn claim(path: &Path, what: &str) -> Result<(), String> {
    if !is_stdin(path) {
        return Ok(());
    }
    let mut taken = STDIN_TAKEN_BY.lock().unwrap_or_else(|e| e.into_inner());
    match taken.as_deref() {
        Some(first) if first != what => Err(format!(
            "`-` (standard input) is given for both the {first} and the {what}: standard \
             input can be read once; put one of them in a file"
        )),
        _ => {
            *taken = Some(what.to_owned());
            Ok(())
        }
    }
}

/// Opens `path` (`-`: standard input, see [`claim`]) for reading `what` ("roster", "list of
/// users", ...). The error is a sentence naming the input.
pub fn open(path: &Path, what: &str) -> Result<Input, String> {
    let name = name_of(path);
    if is_stdin(path) {
        claim(path, what)?;
        return Ok(Input {
            reader: Box::new(io::stdin()),
            name,
        });
    }
    let file = File::open(path).map_err(|e| format!("cannot read the {what} {name}: {e}"))?;
    Ok(Input {
        reader: Box::new(file),
        name,
    })
}

/// The whole of `path` (`-`: standard input), read no further than `limit` bytes (a whole
/// number of MiB) and refused past it; with how messages name it. `what` names the input in
/// errors ("CID list", "access file").
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<(Vec<u8>, String), String> {
    let input = open(path, what)?;
    let name = input.name().to_owned();
    let mut bytes = Vec::new();
    input
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the {what} {name}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{name}: larger than {} MiB, the most the {what} may be",
            limit >> 20
        ));
    }
    Ok((bytes, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test touches the process-wide claim on standard input (tests run in threads).
    #[test]
    fn standard_input_is_taken_once_and_files_are_named_in_errors() {
        claim(Path::new("-"), "roster").expect("the first `-`");
        claim(Path::new("roster.csv"), "CID list").expect("a file is no claim");
        let first = open(Path::new("-"), "roster").expect("opened by the input that claimed it");
        assert_eq!(first.name(), "standard input");
        let err = open(Path::new("-"), "CID list")
            .err()
            .expect("a second `-`");
        assert_eq!(
            err,
            "`-` (standard input) is given for both the roster and the CID list: standard \
             input can be read once; put one of them in a file"
        );
        let missing = open(Path::new("/no/such/file.csv"), "roster")
            .err()
            .unwrap();
        assert!(
            missing.starts_with("cannot read the roster /no/such/file.csv:"),
            "{missing}"
        );
    }
}

//! Asking before irreversible changes.

use std::io::{self, BufRead, IsTerminal, Write};

/// True when the user confirmed (or passed `--yes`). Without a terminal there is nobody to ask,
/// so the answer is no.
pub fn confirm(yes: bool, what: &str) -> bool {
    if yes {
        return true;
    }
    if !io::stdin().is_terminal() {
        eprintln!("refusing to {what} without --yes (no terminal to ask on)");
        return false;
    }
    eprint!("About to {what}. Type 'yes' to continue: ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    if io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    let confirmed = answer.trim().eq_ignore_ascii_case("yes");
    if !confirmed {
        eprintln!("not confirmed; nothing changed");
    }
    confirmed
}

//! Asking before irreversible changes.

use std::io::{self, BufRead, IsTerminal};

use crate::output::console;

/// True when the user confirmed (or passed `--yes`). Without a terminal there is nobody to ask,
/// so the answer is no. The answer is read on a blocking thread, so a signal while the prompt
/// waits still stops the run at once.
pub async fn confirm(yes: bool, what: &str) -> bool {
    if yes {
        return true;
    }
    if !io::stdin().is_terminal() {
        console::line(format_args!(
            "refusing to {what} without --yes (no terminal to ask on)"
        ));
        return false;
    }
    console::prompt(format_args!("About to {what}. Type 'yes' to continue: "));
    let answer = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer).map(|_| answer)
    })
    .await;
    let confirmed = matches!(answer, Ok(Ok(a)) if a.trim().eq_ignore_ascii_case("yes"));
    if !confirmed {
        console::line("not confirmed; nothing changed");
    }
    confirmed
}

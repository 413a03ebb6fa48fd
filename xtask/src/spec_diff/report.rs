//! The printed report: one line per difference, curation warnings, a summary.

use std::fmt::Write as _;

use super::curation::Curation;
use super::finding::Finding;

/// The printable report and the count that decides the exit code.
pub(super) struct Report {
    pub(super) text: String,
    pub(super) unexplained: usize,
}

impl Report {
    /// One line per finding, marked `explained` or `DRIFT` (only the `DRIFT` lines with
    /// `unexplained_only`, for reading what needs attention in a long report); then warnings
    /// about the curation (including patterns that matched nothing, which are probably stale);
    /// then a summary that always counts everything.
    pub(super) fn build(findings: &[Finding], curation: &Curation, unexplained_only: bool) -> Self {
        let mut text = String::new();
        let mut used = vec![false; curation.patterns.len()];
        let mut unexplained = 0;
        for finding in findings {
            let marker = match curation.explain(&finding.key) {
                Some(index) => {
                    used[index] = true;
                    "explained"
                }
                None => {
                    unexplained += 1;
                    "DRIFT    "
                }
            };
            if unexplained_only && marker == "explained" {
                continue;
            }
            let _ = write!(text, "  {marker} {}  {}", finding.key, finding.detail);
            if !finding.used_in.is_empty() {
                let _ = write!(
                    text,
                    "; used by {}: {}",
                    finding.used_in.len(),
                    finding.used_in.join(", ")
                );
            }
            let _ = writeln!(text);
        }
        let source = curation.path.display();
        if !curation.found {
            let _ = writeln!(text, "note: {source} not found; no difference is explained");
        }
        for warning in &curation.warnings {
            let _ = writeln!(text, "warning: {source}: {warning}");
        }
        for (pattern, used) in curation.patterns.iter().zip(used) {
            if !used {
                let _ = writeln!(
                    text,
                    "warning: {source}:{}: pattern `{}` matches no difference (stale curation?)",
                    pattern.line, pattern.glob
                );
            }
        }
        let total = findings.len();
        let noun = if total == 1 {
            "difference"
        } else {
            "differences"
        };
        let _ = writeln!(
            text,
            "spec-diff: {total} {noun}, {} explained by {source}, {unexplained} unexplained",
            total - unexplained
        );
        Self { text, unexplained }
    }
}

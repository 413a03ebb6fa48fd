//! What a scenario reports: figures, and targets with their measured value and whether they hold.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// One scenario's outcome.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Scenario name, as typed on the command line.
    pub scenario: &'static str,
    /// Measured figures, in order.
    pub figures: Vec<Figure>,
    /// The targets BENCHMARKS.md states, checked against the figures.
    pub targets: Vec<Target>,
    /// Why something was not measured (e.g. FalconPy unavailable).
    pub notes: Vec<String>,
}

/// A named measurement.
#[derive(Debug, Serialize)]
pub struct Figure {
    /// What it is.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Unit, e.g. `µs`, `req`, `MiB`.
    pub unit: &'static str,
}

/// A target: `value` must be at most (or at least) `bound`.
#[derive(Debug, Serialize)]
pub struct Target {
    /// What is compared, e.g. `requests / minimum`.
    pub name: String,
    /// Measured.
    pub value: f64,
    /// Allowed.
    pub bound: f64,
    /// `true`: value ≤ bound; `false`: value ≥ bound.
    pub at_most: bool,
    /// Whether it holds.
    pub met: bool,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            figures: Vec::new(),
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records a figure.
    pub fn figure(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
        });
    }

    /// Records a target that `value` must not exceed.
    pub fn at_most(&mut self, name: impl Into<String>, value: f64, bound: f64) {
        self.target(name.into(), value, bound, true);
    }

    /// Records a target that `value` must reach.
    pub fn at_least(&mut self, name: impl Into<String>, value: f64, bound: f64) {
        self.target(name.into(), value, bound, false);
    }

    fn target(&mut self, name: String, value: f64, bound: f64, at_most: bool) {
        let met = if at_most {
            value <= bound
        } else {
            value >= bound
        };
        self.targets.push(Target {
            name,
            value,
            bound,
            at_most,
            met,
        });
    }

    /// Records why something is missing.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Whether every target holds.
    pub fn met(&self) -> bool {
        self.targets.iter().all(|t| t.met)
    }

    /// The report as a table for a terminal.
    pub fn table(&self) -> String {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(vec![self.scenario, "value", "target", ""]);
        for f in &self.figures {
            table.add_row(vec![
                f.name.clone(),
                format!("{} {}", number(f.value), f.unit),
                String::new(),
                String::new(),
            ]);
        }
        for t in &self.targets {
            let relation = if t.at_most { "≤" } else { "≥" };
            table.add_row(vec![
                t.name.clone(),
                number(t.value),
                format!("{relation} {}", number(t.bound)),
                if t.met { "met" } else { "MISSED" }.to_owned(),
            ]);
        }
        let mut out = table.to_string();
        for note in &self.notes {
            out.push_str(&format!("\nnote: {note}"));
        }
        out
    }
}

/// Three significant figures, without noise for integers.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_compare_in_their_direction() {
        let mut r = Report::new("x");
        r.at_most("ratio", 1.01, 1.02);
        r.at_least("speedup", 19.0, 20.0);
        assert!(r.targets[0].met);
        assert!(!r.targets[1].met);
        assert!(!r.met());
        assert!(r.table().contains("MISSED"));
    }
}

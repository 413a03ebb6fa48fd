//! The one rendering path: records as a table, JSON or CSV, to stdout or a file, without
//! buffering streams; plans and reports ([`plan`]); lines and logs on stderr ([`console`]);
//! files replaced atomically ([`file`]), with their evidence ([`evidence`]). Every cell, document and logged value passes
//! [`escape`] for its format on the way out.

pub mod console;
pub mod escape;
pub mod evidence;
pub mod file;
pub mod fleet;
pub mod plan;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use clap::ValueEnum;
use falcon_users::StatsSnapshot;
use serde::Serialize;

use self::escape::{for_csv, for_json, for_terminal};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// JSON (one document; JSON lines for streams).
    Json,
    /// CSV with a header row.
    Csv,
}

/// Something printable as one row.
pub trait Record: Serialize + Sized {
    /// The table/CSV columns, in order. Titles and cells come from this one list, so a header
    /// and its rows cannot differ in width (a CSV writer refuses that at runtime).
    fn columns() -> Vec<Column<Self>>;

    /// The columns of a table, for people: [`Record::columns`] unless a record has more than
    /// fit on a screen.
    fn table_columns() -> Vec<Column<Self>> {
        Self::columns()
    }
}

/// One table/CSV column: its title and how to read its cell from a record.
pub struct Column<R> {
    /// The title in the header row.
    pub name: &'static str,
    /// The cell text for one record.
    pub cell: fn(&R) -> String,
}

/// The header row of these columns.
pub fn header<R>(columns: &[Column<R>]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

/// One record's cells, in column order, as they may be written in `format`: escaped for a
/// terminal in a table, and in CSV too ([`for_csv`]: a CSV is `cat` as often as opened), there
/// also neutralised against formulas.
pub fn cells<R>(columns: &[Column<R>], record: &R, format: Format) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let cell = (c.cell)(record);
            match format {
                Format::Csv => for_csv(&cell),
                Format::Table | Format::Json => for_terminal(&cell).into_owned(),
            }
        })
        .collect()
}

/// How JSON output is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// One document per line (what a stream on stdout gets, and a `.jsonl` file).
    Lines,
    /// One document: an array of the records (a `.json` file).
    Document,
}

/// What to write: the format and, for JSON, its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The format.
    pub format: Format,
    /// The JSON layout (used when `format` is JSON).
    pub json: JsonLayout,
}

/// The format a file's name asks for: `.csv`; `.json` (one document); `.jsonl` or `.ndjson`
/// (JSON lines); `.txt` (an aligned table). Any case.
pub fn layout_of_name(path: &Path) -> Option<Layout> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    let (format, json) = match extension.as_str() {
        "csv" => (Format::Csv, JsonLayout::Lines),
        "json" => (Format::Json, JsonLayout::Document),
        "jsonl" | "ndjson" => (Format::Json, JsonLayout::Lines),
        "txt" => (Format::Table, JsonLayout::Lines),
        _ => return None,
    };
    Some(Layout { format, json })
}

/// The layout of an output: `-f` when given, else the output file's extension
/// ([`layout_of_name`]), else (stdout) a table on a terminal and JSON otherwise. JSON keeps the
/// file's layout (`.json` one document, `.jsonl` lines) even under `-f json`; elsewhere it is
/// `unnamed`. A file whose name tells no format, without `-f`, is refused (a sentence naming
/// the choices): guessing would write a format nobody asked for.
pub fn layout(
    explicit: Option<Format>,
    output: Option<&Path>,
    unnamed: JsonLayout,
) -> Result<Layout, String> {
    let named = output.and_then(layout_of_name);
    match (explicit, named, output) {
        (Some(format), named, _) => Ok(Layout {
            format,
            json: named.map_or(unnamed, |n| n.json),
        }),
        (None, Some(named), _) => Ok(named),
        (None, None, Some(path)) => Err(format!(
            "cannot tell the output format from the name {}: name it .csv, .json, .jsonl or \
             .txt (a table), or choose with -f csv|json|table",
            path.display()
        )),
        (None, None, None) => Ok(Layout {
            format: resolve(None),
            json: unnamed,
        }),
    }
}

/// The format to use when the user did not choose: a table for people, JSON for pipes.
pub fn resolve(format: Option<Format>) -> Format {
    format.unwrap_or_else(|| {
        if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    })
}

/// `value` as JSON (pretty or one line), safe for a terminal, without the trailing line break.
pub fn json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> io::Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    Ok(for_json(text.map_err(io::Error::other)?))
}

/// Prints one JSON document to stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let text = json(value, false)?;
    writeln!(io::stdout().lock(), "{text}")
}

/// Prints lines of text to stdout, escaped for a terminal.
pub fn print_lines<S: AsRef<str>>(lines: &[S]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{}", for_terminal(line.as_ref()))?;
    }
    out.flush()
}

/// Prints a finite list of records.
pub fn print_all<R: Record>(format: Format, records: &[R]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", json(records, true)?),
        Format::Csv => {
            let csv = Layout {
                format: Format::Csv,
                json: JsonLayout::Lines,
            };
            let mut writer = RowWriter::new(out, csv)?;
            for record in records {
                writer.write(record)?;
            }
            writer.finish().map(drop)
        }
        Format::Table => {
            let columns = R::table_columns();
            let rows = records.iter().map(|r| cells(&columns, r, format));
            writeln!(out, "{}", table(header(&columns), rows))
        }
    }
}

/// An aligned table of these (already escaped) cells.
pub fn table<I: IntoIterator<Item = Vec<String>>>(
    titles: Vec<&'static str>,
    rows: I,
) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(titles);
    for row in rows {
        table.add_row(row);
    }
    table
}

/// Writes records one at a time: JSON lines or a JSON array, CSV rows, or an aligned table.
/// JSON and CSV are written as the records come; a table is aligned, so its rows are kept
/// (as cells) until [`RowWriter::finish`] prints it.
pub struct RowWriter<R, W: Write> {
    format: Format,
    columns: Vec<Column<R>>,
    sink: Sink<W>,
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    JsonLines(W),
    JsonArray { out: W, empty: bool },
    Table { out: W, rows: Vec<Vec<String>> },
}

impl<R: Record, W: Write> RowWriter<R, W> {
    /// Starts the output (the header row for CSV, `[` for a JSON array).
    pub fn new(mut out: W, layout: Layout) -> io::Result<Self> {
        let format = layout.format;
        let columns = match format {
            Format::Table => R::table_columns(),
            _ => R::columns(),
        };
        let sink = match (format, layout.json) {
            (Format::Csv, _) => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(header(&columns)).map_err(csv_to_io)?;
                Sink::Csv(Box::new(csv))
            }
            (Format::Table, _) => Sink::Table {
                out,
                rows: Vec::new(),
            },
            (Format::Json, JsonLayout::Lines) => Sink::JsonLines(out),
            (Format::Json, JsonLayout::Document) => {
                write!(out, "[")?;
                Sink::JsonArray { out, empty: true }
            }
        };
        Ok(RowWriter {
            format,
            columns,
            sink,
        })
    }

    /// Writes one record.
    pub fn write(&mut self, record: &R) -> io::Result<()> {
        match &mut self.sink {
            Sink::Csv(csv) => csv
                .write_record(cells(&self.columns, record, self.format))
                .map_err(csv_to_io),
            Sink::JsonLines(out) => writeln!(out, "{}", json(record, false)?),
            Sink::JsonArray { out, empty } => {
                let separator = if *empty { "\n" } else { ",\n" };
                *empty = false;
                write!(out, "{separator}{}", json(record, false)?)
            }
            Sink::Table { rows, .. } => {
                rows.push(cells(&self.columns, record, self.format));
                Ok(())
            }
        }
    }

    /// Ends the output (prints the table, closes the array), flushes, and hands back the
    /// destination.
    pub fn finish(self) -> io::Result<W> {
        let mut out = match self.sink {
            Sink::Csv(csv) => (*csv).into_inner().map_err(|e| e.into_error())?,
            Sink::JsonLines(out) => out,
            Sink::JsonArray { mut out, empty } => {
                writeln!(out, "{}]", if empty { "" } else { "\n" })?;
                out
            }
            Sink::Table { mut out, rows } => {
                writeln!(out, "{}", table(header(&self.columns), rows))?;
                out
            }
        };
        out.flush()?;
        Ok(out)
    }
}

/// Keeps the I/O error kind (a closed pipe is not a failure worth reporting).
fn csv_to_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// What the client sent, for a command's last line: requests, retries, 429s, and the rows the
/// service sent twice (dropped, so each user counts once), when it did.
pub fn requests_summary(stats: &StatsSnapshot) -> String {
    let duplicates = match stats.duplicates_dropped {
        0 => String::new(),
        n => format!(", {n} rows sent twice by the service dropped"),
    };
    format!(
        "{} requests ({} retried, {} rate limited{duplicates})",
        stats.requests, stats.retries, stats.rate_limited
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_comes_from_the_flag_then_the_extension() {
        use Format::*;
        use JsonLayout::*;
        let lines = |format| {
            Ok(Layout {
                format,
                json: Lines,
            })
        };
        let document = |format| {
            Ok(Layout {
                format,
                json: Document,
            })
        };
        for (flag, name, expected) in [
            (None, "inv.csv", lines(Csv)),
            (None, "INV.CSV", lines(Csv)),
            (None, "inv.json", document(Json)),
            (None, "inv.jsonl", lines(Json)),
            (None, "dir.d/inv.ndjson", lines(Json)),
            (None, "inv.txt", lines(Table)),
            (Some(Csv), "inv.json", document(Csv)),
            (Some(Json), "inv.json", document(Json)),
            (Some(Json), "inv.jsonl", lines(Json)),
            (Some(Table), "inv.csv", lines(Table)),
            (Some(Json), "inv.out", lines(Json)),
            (Some(Csv), "inventory", lines(Csv)),
        ] {
            assert_eq!(
                layout(flag, Some(Path::new(name)), Lines),
                expected,
                "{flag:?} {name}"
            );
        }
        for name in ["inv.out", "inventory", "inv.", ".csv"] {
            let refused = layout(None, Some(Path::new(name)), Lines).unwrap_err();
            assert!(
                refused.contains(name) && refused.contains("-f"),
                "{refused}"
            );
        }
        assert_eq!(layout(Some(Csv), None, Document), document(Csv));
    }
}

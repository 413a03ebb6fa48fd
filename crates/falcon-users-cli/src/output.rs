//! Printing records as a table, JSON or CSV, to stdout or a file, without buffering streams.
//! Every cell and document passes [`crate::sanitize`] for its format on the way out.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::Format;
use crate::sanitize::{for_csv, for_json, for_terminal};

/// Something printable as one row.
pub trait Record: Serialize + Sized {
    /// The table/CSV columns, in order. Titles and cells come from this one list, so a header
    /// and its rows cannot differ in width (a CSV writer refuses that at runtime).
    fn columns() -> Vec<Column<Self>>;
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
/// terminal in a table, neutralised against formulas in CSV.
pub fn cells<R>(columns: &[Column<R>], record: &R, format: Format) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let cell = (c.cell)(record);
            match format {
                Format::Csv => for_csv(cell),
                Format::Table | Format::Json => for_terminal(&cell).into_owned(),
            }
        })
        .collect()
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
            let mut writer = RowWriter::new(out, Format::Csv)?;
            for record in records {
                writer.write(record)?;
            }
            writer.finish().map(drop)
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            let columns = R::columns();
            table.set_header(header(&columns));
            for record in records {
                table.add_row(cells(&columns, record, format));
            }
            writeln!(out, "{table}")
        }
    }
}

/// Writes records one at a time: JSON lines, CSV rows, or tab-separated table rows.
pub struct RowWriter<R, W: Write> {
    format: Format,
    columns: Vec<Column<R>>,
    sink: Sink<W>,
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Plain(W),
}

impl<R: Record, W: Write> RowWriter<R, W> {
    /// Starts the output (header row for CSV and table).
    pub fn new(mut out: W, format: Format) -> io::Result<Self> {
        let columns = R::columns();
        let titles = header(&columns);
        let sink = match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(&titles).map_err(csv_to_io)?;
                Sink::Csv(Box::new(csv))
            }
            Format::Table => {
                writeln!(out, "{}", titles.join("\t"))?;
                Sink::Plain(out)
            }
            Format::Json => Sink::Plain(out),
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
            Sink::Plain(out) if self.format == Format::Json => {
                writeln!(out, "{}", json(record, false)?)
            }
            Sink::Plain(out) => writeln!(
                out,
                "{}",
                cells(&self.columns, record, self.format).join("\t")
            ),
        }
    }

    /// Flushes everything and hands back the destination.
    pub fn finish(self) -> io::Result<W> {
        match self.sink {
            Sink::Csv(csv) => {
                let mut out = (*csv).into_inner().map_err(|e| e.into_error())?;
                out.flush()?;
                Ok(out)
            }
            Sink::Plain(mut out) => {
                out.flush()?;
                Ok(out)
            }
        }
    }
}

/// Keeps the I/O error kind (a closed pipe is not a failure worth reporting).
fn csv_to_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

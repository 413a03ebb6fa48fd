//! Printing records as a table, JSON or CSV, to stdout or a file, without buffering streams.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::Format;

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

/// One record's cells, in column order.
pub fn cells<R>(columns: &[Column<R>], record: &R) -> Vec<String> {
    columns.iter().map(|c| (c.cell)(record)).collect()
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

/// Prints a finite list of records.
pub fn print_all<R: Record>(format: Format, records: &[R]) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, records)?;
            writeln!(out)
        }
        Format::Csv => {
            let mut writer = RowWriter::new(Box::new(out), Format::Csv)?;
            for record in records {
                writer.write(record)?;
            }
            writer.finish()
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            let columns = R::columns();
            table.set_header(header(&columns));
            for record in records {
                table.add_row(cells(&columns, record));
            }
            writeln!(out, "{table}")
        }
    }
}

/// Writes records one at a time: JSON lines, CSV rows, or tab-separated table rows.
pub struct RowWriter<R> {
    format: Format,
    columns: Vec<Column<R>>,
    out: Box<dyn Write>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
}

impl<R: Record> RowWriter<R> {
    /// Starts the output (header row for CSV and table).
    pub fn new(out: Box<dyn Write>, format: Format) -> io::Result<Self> {
        let columns = R::columns();
        let titles = header(&columns);
        let mut writer = RowWriter {
            format,
            columns,
            out: Box::new(io::sink()),
            csv: None,
        };
        match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(&titles).map_err(csv_to_io)?;
                writer.csv = Some(csv);
            }
            Format::Table => {
                writer.out = out;
                writeln!(writer.out, "{}", titles.join("\t"))?;
            }
            Format::Json => writer.out = out,
        }
        Ok(writer)
    }

    /// Writes one record.
    pub fn write(&mut self, record: &R) -> io::Result<()> {
        match (self.format, self.csv.as_mut()) {
            (Format::Csv, Some(csv)) => csv
                .write_record(cells(&self.columns, record))
                .map_err(csv_to_io),
            (Format::Json, _) => {
                serde_json::to_writer(&mut self.out, record)?;
                writeln!(self.out)
            }
            _ => writeln!(self.out, "{}", cells(&self.columns, record).join("\t")),
        }
    }

    /// Flushes everything.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(mut csv) = self.csv.take() {
            csv.flush()?;
        }
        self.out.flush()
    }
}

/// Keeps the I/O error kind (a closed pipe is not a failure worth reporting).
fn csv_to_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

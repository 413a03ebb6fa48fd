//! Printing records as a table, JSON or CSV, to stdout or a file, without buffering streams.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::Format;

/// Something printable as one row.
pub trait Record: Serialize {
    /// Column titles for table and CSV output.
    const COLUMNS: &'static [&'static str];
    /// The row's cells, in column order.
    fn cells(&self) -> Vec<String>;
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
            let mut writer = RowWriter::new(Box::new(out), Format::Csv, R::COLUMNS)?;
            for record in records {
                writer.write(record)?;
            }
            writer.finish()
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header(R::COLUMNS);
            for record in records {
                table.add_row(record.cells());
            }
            writeln!(out, "{table}")
        }
    }
}

/// Writes records one at a time: JSON lines, CSV rows, or tab-separated table rows.
pub struct RowWriter {
    format: Format,
    out: Box<dyn Write>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
}

impl RowWriter {
    /// Starts the output (header row for CSV and table).
    pub fn new(out: Box<dyn Write>, format: Format, columns: &[&str]) -> io::Result<Self> {
        let mut writer = RowWriter {
            format,
            out: Box::new(io::sink()),
            csv: None,
        };
        match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(columns).map_err(csv_to_io)?;
                writer.csv = Some(csv);
            }
            Format::Table => {
                writer.out = out;
                writeln!(writer.out, "{}", columns.join("\t"))?;
            }
            Format::Json => writer.out = out,
        }
        Ok(writer)
    }

    /// Writes one record.
    pub fn write<R: Record>(&mut self, record: &R) -> io::Result<()> {
        match (self.format, self.csv.as_mut()) {
            (Format::Csv, Some(csv)) => csv.write_record(record.cells()).map_err(csv_to_io),
            (Format::Json, _) => {
                serde_json::to_writer(&mut self.out, record)?;
                writeln!(self.out)
            }
            _ => writeln!(self.out, "{}", record.cells().join("\t")),
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

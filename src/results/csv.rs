//! CSV results: UTF-8 with a BOM so Excel picks the encoding, text guarded against formula
//! injection, dates as `YYYY-MM-DD` and booleans as `TRUE`/`FALSE` (what Excel reads back as
//! booleans). Streams straight to the temporary file; it never renames or styles anything.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use super::guard_formula;
use crate::cell::Cell;
use crate::outcome::{ResultRow, join_errors};

/// A CSV results file being streamed to its temporary path.
pub(super) struct CsvResults {
    out: csv::Writer<BufWriter<File>>,
    /// One reusable record buffer, so writing a row allocates only its cell texts.
    record: Vec<String>,
    /// How many command columns and input columns the header row names.
    extra: usize,
    inputs: usize,
}

impl CsvResults {
    pub(super) fn new(temp: &Path, columns: &[String], extra: usize) -> Result<CsvResults, String> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp)
            .map_err(|e| format!("cannot create {}: {e}", temp.display()))?;
        let mut buf = BufWriter::with_capacity(1 << 16, file);
        buf.write_all("\u{feff}".as_bytes())
            .map_err(|e| e.to_string())?;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(buf);
        out.write_record(columns.iter().map(|h| guard_formula(h).into_owned()))
            .map_err(|e| e.to_string())?;
        Ok(CsvResults {
            out,
            record: Vec::with_capacity(columns.len()),
            extra,
            inputs: columns
                .len()
                .saturating_sub(super::LEAD_COLUMNS.len() + extra),
        })
    }

    pub(super) fn write(&mut self, row: &ResultRow) -> Result<(), String> {
        self.record.clear();
        self.record.push(row.source_row.to_string());
        self.record.push(row.outcome.as_str().to_string());
        self.record
            .push(row.kayse_id.map(|id| id.to_string()).unwrap_or_default());
        self.record
            .push(guard_formula(&join_errors(&row.errors)).into_owned());
        // Every record has the header's width: short rows are padded, cells beyond the last header
        // are dropped (the XLSX writer does the same).
        for i in 0..self.extra {
            self.record
                .push(row.extra.get(i).map(csv_text).unwrap_or_default());
        }
        for i in 0..self.inputs {
            self.record
                .push(row.cells.get(i).map(csv_text).unwrap_or_default());
        }
        self.out
            .write_record(&self.record)
            .map_err(|e| e.to_string())
    }

    pub(super) fn finish(mut self) -> Result<(), String> {
        self.out.flush().map_err(|e| e.to_string())?;
        let buf = self.out.into_inner().map_err(|e| e.to_string())?;
        let file = buf.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())
    }
}

/// The text of one cell in a CSV results file. Numbers stay unguarded (`-5` is a number, not a
/// formula); every text value goes through the formula guard.
pub(super) fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Bool(true) => "TRUE".to_string(),
        Cell::Bool(false) => "FALSE".to_string(),
        Cell::Int(_) | Cell::Float(_) | Cell::Date(_) | Cell::DateTime(_) => cell.to_text(),
        Cell::Text(s) | Cell::Error(s) => guard_formula(s).into_owned(),
    }
}

//! CSV results: UTF-8 with a BOM so Excel picks the encoding, text guarded against formula
//! injection, dates as `YYYY-MM-DD` and booleans as `TRUE`/`FALSE` (what Excel reads back as
//! booleans). Streams straight to the temporary file; it never renames or styles anything.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use super::guard_formula;
use crate::cell::Cell;
use crate::outcome::{ResultRow, join_errors};

/// A CSV results file being streamed to its temporary path.
pub(super) struct CsvResults {
    out: csv::Writer<BufWriter<File>>,
    /// How many command columns and input columns the header row names.
    extra: usize,
    inputs: usize,
    /// Input columns left out (hidden in the input workbook; a CSV cannot hide them), sorted.
    left_out: Vec<usize>,
}

impl CsvResults {
    /// `columns` is the full header row, `extra` how many command columns follow the lead ones,
    /// `hidden` the input columns (0 is the first input column) to leave out.
    pub(super) fn new(
        temp: &Path,
        columns: &[String],
        extra: usize,
        hidden: &[usize],
    ) -> Result<CsvResults, String> {
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
        let first_input = super::LEAD_COLUMNS.len() + extra;
        let mut left_out = hidden.to_vec();
        left_out.sort_unstable();
        left_out.dedup();
        out.write_record(
            columns
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    i.checked_sub(first_input)
                        .is_none_or(|c| left_out.binary_search(&c).is_err())
                })
                .map(|(_, h)| guard_formula(h).into_owned()),
        )
        .map_err(|e| e.to_string())?;
        Ok(CsvResults {
            out,
            extra,
            inputs: columns.len().saturating_sub(first_input),
            left_out,
        })
    }

    /// Fields go straight to the writer, borrowed where they can be: no per-row record buffer,
    /// and text cells that need no guard are never copied.
    pub(super) fn write(&mut self, row: &ResultRow) -> Result<(), String> {
        let err = |e: csv::Error| e.to_string();
        self.out
            .write_field(row.source_row.to_string())
            .map_err(err)?;
        self.out.write_field(row.outcome.as_str()).map_err(err)?;
        match row.kayse_id {
            Some(id) => self.out.write_field(id.to_string()).map_err(err)?,
            None => self.out.write_field("").map_err(err)?,
        }
        if row.errors.is_empty() {
            self.out.write_field("").map_err(err)?;
        } else {
            self.out
                .write_field(guard_formula(&join_errors(&row.errors)).as_bytes())
                .map_err(err)?;
        }
        // Every record has the header's width: short rows are padded, cells beyond the last header
        // are dropped (the XLSX writer does the same).
        for i in 0..self.extra {
            let text = row.extra.get(i).map(csv_text).unwrap_or_default();
            self.out.write_field(text.as_bytes()).map_err(err)?;
        }
        for i in 0..self.inputs {
            if !self.left_out.is_empty() && self.left_out.binary_search(&i).is_ok() {
                continue;
            }
            let text = row.cells.get(i).map(csv_text).unwrap_or_default();
            self.out.write_field(text.as_bytes()).map_err(err)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(err)
    }

    /// Flush to the temporary file. No fsync, as for XLSX: a results file is a report that can
    /// always be written again (validate re-reads the input; import rebuilds it from its journal,
    /// which is the durable record and is synced line by line).
    pub(super) fn finish(mut self) -> Result<(), String> {
        self.out.flush().map_err(|e| e.to_string())?;
        let buf = self.out.into_inner().map_err(|e| e.to_string())?;
        buf.into_inner().map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// The text of one cell in a CSV results file. Numbers stay unguarded (`-5` is a number, not a
/// formula); every text value goes through the formula guard.
pub(super) fn csv_text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Empty => Cow::Borrowed(""),
        Cell::Bool(true) => Cow::Borrowed("TRUE"),
        Cell::Bool(false) => Cow::Borrowed("FALSE"),
        Cell::Int(_) | Cell::Float(_) | Cell::Date(_) | Cell::DateTime(_) => {
            Cow::Owned(cell.to_text())
        }
        Cell::Text(s) | Cell::Error(s) => guard_formula(s),
    }
}

/// A [`Table`] as a CSV file of its own at `path`: a BOM, its header, its rows, text guarded.
pub(super) fn write_table(path: &Path, table: &super::Table) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut buf = BufWriter::new(file);
    buf.write_all("\u{feff}".as_bytes())
        .map_err(|e| e.to_string())?;
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf);
    out.write_record(table.headers.iter().map(|h| guard_formula(h).into_owned()))
        .map_err(|e| e.to_string())?;
    for row in &table.rows {
        out.write_record(row.iter().map(|c| csv_text(c).into_owned()))
            .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

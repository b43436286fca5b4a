//! XLSX results: a constant-memory `Results` sheet (frozen header, autofilter, widths, problem
//! rows and bad cells filled, a note on each bad cell) and a `Summary` sheet. Rows must arrive in
//! order; this module never renames files or decides outcomes.
//!
//! Constant-memory mode streams each finished row to a temporary file, so cell data costs nothing
//! per row. Column widths and the frozen pane are set before any data; the autofilter range is
//! set at the end (it is only metadata). Notes are kept in memory by rust_xlsxwriter until the
//! workbook is saved, so only the first `MAX_NOTES` bad cells get one; later bad cells keep their
//! fill and their messages stay in `kayse_errors`, and the Summary sheet says so.

use std::path::Path;

use chrono::Datelike;

use rust_xlsxwriter::{Color, Format, FormatBorder, Note, Workbook, Worksheet, XlsxError};

use super::{MAX_CELL_CHARS, MAX_SHEET_ROWS, clip_for_excel};
use crate::cell::Cell;
use crate::outcome::{ResultRow, join_errors};
use crate::report::summary::Summary;

/// Notes kept before falling back to fill only. rust_xlsxwriter 0.102 holds each note in memory
/// until the save (about 4 KiB each) and builds the drawing XML for all of them at once (about
/// 14 KiB each at the peak): 2,000 notes cost about 30 MiB, where the cell data costs nothing.
pub(super) const MAX_NOTES: usize = 2_000;

/// Excel's note text limit (the cell limit less room for an author prefix).
const MAX_NOTE_CHARS: usize = MAX_CELL_CHARS - 54;

/// Why a row could not be written.
pub(super) enum RowFail {
    /// The sheet is full (Excel's row limit).
    TooManyRows,
    Other(String),
}

impl From<XlsxError> for RowFail {
    fn from(e: XlsxError) -> Self {
        RowFail::Other(e.to_string())
    }
}

/// The cell formats of the Results sheet, built once.
struct Formats {
    header: Format,
    bad: Format,
    date: Format,
    bad_date: Format,
    datetime: Format,
    bad_datetime: Format,
}

impl Formats {
    fn new() -> Formats {
        let bad = Format::new()
            .set_background_color(Color::RGB(0xFFC7CE))
            .set_font_color(Color::RGB(0x9C0006));
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xD9E1F2))
                .set_border_bottom(FormatBorder::Thin),
            bad_date: bad.clone().set_num_format("yyyy-mm-dd"),
            bad_datetime: bad.clone().set_num_format("yyyy-mm-dd hh:mm:ss"),
            bad,
            date,
            datetime,
        }
    }
}

/// An XLSX results workbook being written.
pub(super) struct XlsxResults {
    workbook: Workbook,
    sheet: Worksheet,
    formats: Formats,
    /// Sheet column of the first input column.
    first_input: u16,
    /// How many command columns follow the lead ones.
    extra: usize,
    last_col: u16,
    /// The next sheet row to write (0 is the header).
    next_row: u32,
    notes: usize,
    notes_skipped: usize,
    /// `MAX_SHEET_ROWS` and `MAX_NOTES`, lowered by tests.
    pub(super) max_rows: usize,
    pub(super) note_limit: usize,
}

impl XlsxResults {
    /// `columns` is the full header row; `extra` how many command columns follow the lead ones;
    /// `hidden` the input columns (0 is the first input column) to hide.
    pub(super) fn new(
        columns: &[String],
        extra: usize,
        hidden: &[usize],
    ) -> Result<XlsxResults, String> {
        Self::build(columns, extra, hidden).map_err(|e| e.to_string())
    }

    fn build(columns: &[String], extra: usize, hidden: &[usize]) -> Result<XlsxResults, XlsxError> {
        let mut workbook = Workbook::new();
        let mut sheet = workbook.new_worksheet_with_constant_memory()?;
        sheet.set_name("Results")?;
        let formats = Formats::new();
        let lead = super::LEAD_COLUMNS.len();
        for (i, name) in columns.iter().enumerate() {
            let col = i as u16;
            sheet.set_column_width(col, column_width(i, name))?;
        }
        // Columns the input workbook hid (an internal SSN, say) stay hidden: a person opening the
        // results sees what they saw, and the file still reads back with every column.
        for &i in hidden {
            let col = lead + extra + i;
            if col < columns.len() {
                sheet.set_column_hidden(col as u16)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        for (i, name) in columns.iter().enumerate() {
            sheet.write_string_with_format(
                0,
                i as u16,
                clip_for_excel(name, MAX_CELL_CHARS),
                &formats.header,
            )?;
        }
        Ok(XlsxResults {
            workbook,
            sheet,
            formats,
            first_input: (lead + extra) as u16,
            extra,
            last_col: columns.len().saturating_sub(1) as u16,
            next_row: 1,
            notes: 0,
            notes_skipped: 0,
            max_rows: MAX_SHEET_ROWS,
            note_limit: MAX_NOTES,
        })
    }

    pub(super) fn write(&mut self, row: &ResultRow) -> Result<(), RowFail> {
        if self.next_row as usize >= self.max_rows {
            return Err(RowFail::TooManyRows);
        }
        let r = self.next_row;
        let problem = row.outcome.is_problem();
        let sheet = &mut self.sheet;
        let f = &self.formats;
        sheet.write_number(r, 0, row.source_row as f64)?;
        if problem {
            sheet.write_string_with_format(r, 1, row.outcome.as_str(), &f.bad)?;
        } else {
            sheet.write_string(r, 1, row.outcome.as_str())?;
        }
        if let Some(id) = row.kayse_id {
            sheet.write_number(r, 2, id as f64)?;
        }
        if !row.errors.is_empty() {
            let text = join_errors(&row.errors);
            let text = clip_for_excel(&text, MAX_CELL_CHARS);
            if problem {
                sheet.write_string_with_format(r, 3, text, &f.bad)?;
            } else {
                sheet.write_string(r, 3, text)?;
            }
        }
        let lead = super::LEAD_COLUMNS.len() as u16;
        // Extra values beyond the declared extra columns are dropped rather than overwriting an
        // input column; input cells beyond the last header likewise (below).
        for (i, cell) in row.extra.iter().take(self.extra).enumerate() {
            put(sheet, f, r, lead + i as u16, cell, false)?;
        }
        let marked = bad_columns(row);
        for (i, cell) in row.cells.iter().enumerate() {
            let col = self.first_input.saturating_add(i as u16);
            if col > self.last_col {
                break;
            }
            let bad = marked.iter().any(|(c, _)| *c == i);
            put(sheet, f, r, col, cell, bad)?;
        }
        for (i, message) in &marked {
            let col = self.first_input as usize + i;
            if col > self.last_col as usize {
                continue;
            }
            let col = col as u16;
            if *i >= row.cells.len() {
                // A missing trailing cell still gets its fill.
                sheet.write_blank(r, col, &f.bad)?;
            }
            if self.notes < self.note_limit {
                let note = Note::new(clip_for_excel(message, MAX_NOTE_CHARS))
                    .set_author("kayse-bulk")
                    .add_author_prefix(false);
                sheet.insert_note(r, col, &note)?;
                self.notes += 1;
            } else {
                self.notes_skipped += 1;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Set the autofilter, add the Summary sheet and save the workbook to `temp`.
    pub(super) fn finish(
        self,
        temp: &Path,
        summary: &Summary,
        tables: &[super::Table],
    ) -> Result<(), String> {
        self.save(temp, summary, tables).map_err(|e| e.to_string())
    }

    fn save(
        mut self,
        temp: &Path,
        summary: &Summary,
        tables: &[super::Table],
    ) -> Result<(), XlsxError> {
        let last_row = self.next_row.saturating_sub(1);
        self.sheet.autofilter(0, 0, last_row, self.last_col)?;
        self.workbook.push_worksheet(self.sheet);
        for t in tables {
            let sheet = self.workbook.add_worksheet();
            sheet.set_name(&t.name)?;
            for (c, h) in t.headers.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, h, &self.formats.header)?;
                sheet.set_column_width(c as u16, column_width(usize::MAX, h))?;
            }
            for (r, row) in t.rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    put(sheet, &self.formats, r as u32 + 1, c as u16, cell, false)?;
                }
            }
            sheet.set_freeze_panes(1, 0)?;
            let last = t.headers.len().saturating_sub(1) as u16;
            sheet.autofilter(0, 0, t.rows.len() as u32, last)?;
        }
        let sheet = self.workbook.add_worksheet();
        write_summary(sheet, summary, self.notes, self.notes_skipped)?;
        // Level 1 instead of 6: 200,000 rows x 14 columns took 6.4 s instead of 16.5 s (release
        // build), for a somewhat bigger file. The compressor is zlib-rs (flate2's backend when
        // rust_xlsxwriter's `zlib` feature, the system zlib, is off): at level 1 it takes 0.43x
        // the instructions of the system zlib's level 1, for a file about 30% bigger; its level 2
        // would take 0.72x for a file 7% smaller (20,000 rows, callgrind).
        self.workbook.set_zip_compression_level(1);
        self.workbook.save(temp)
    }
}

/// The input columns a row's errors point at, each with its messages joined by newlines, in
/// column order.
fn bad_columns(row: &ResultRow) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for e in &row.errors {
        let Some(c) = e.column else { continue };
        match out.iter_mut().find(|(col, _)| *col == c) {
            Some((_, text)) => {
                text.push('\n');
                text.push_str(&e.to_string());
            }
            None => out.push((c, e.to_string())),
        }
    }
    out.sort_by_key(|(c, _)| *c);
    out
}

/// A readable width: the header's length clamped to 10..50, wider for the error messages.
fn column_width(index: usize, name: &str) -> f64 {
    if index == 3 {
        return 60.0;
    }
    (name.chars().count() + 3).clamp(10, 50) as f64
}

/// Write one input or extra cell with its own type: text stays text (never a number or formula),
/// dates stay dates.
fn put(
    sheet: &mut Worksheet,
    f: &Formats,
    r: u32,
    c: u16,
    cell: &Cell,
    bad: bool,
) -> Result<(), XlsxError> {
    match (cell, bad) {
        (Cell::Empty, false) => {}
        (Cell::Empty, true) => {
            sheet.write_blank(r, c, &f.bad)?;
        }
        (Cell::Text(s) | Cell::Error(s), false) => {
            sheet.write_string(r, c, clip_for_excel(s, MAX_CELL_CHARS))?;
        }
        (Cell::Text(s) | Cell::Error(s), true) => {
            sheet.write_string_with_format(r, c, clip_for_excel(s, MAX_CELL_CHARS), &f.bad)?;
        }
        (Cell::Int(i), false) => {
            sheet.write_number(r, c, *i as f64)?;
        }
        (Cell::Int(i), true) => {
            sheet.write_number_with_format(r, c, *i as f64, &f.bad)?;
        }
        (Cell::Float(x), bad) if !x.is_finite() => {
            let text = cell.to_text();
            if bad {
                sheet.write_string_with_format(r, c, text, &f.bad)?;
            } else {
                sheet.write_string(r, c, text)?;
            }
        }
        (Cell::Float(x), false) => {
            sheet.write_number(r, c, *x)?;
        }
        (Cell::Float(x), true) => {
            sheet.write_number_with_format(r, c, *x, &f.bad)?;
        }
        (Cell::Bool(b), false) => {
            sheet.write_boolean(r, c, *b)?;
        }
        (Cell::Bool(b), true) => {
            sheet.write_boolean_with_format(r, c, *b, &f.bad)?;
        }
        // Excel cannot show dates outside 1900..=9999 (they would read as ####): keep their text.
        (Cell::Date(_) | Cell::DateTime(_), bad) if !excel_date_range(cell) => {
            let text = cell.to_text();
            if bad {
                sheet.write_string_with_format(r, c, text, &f.bad)?;
            } else {
                sheet.write_string(r, c, text)?;
            }
        }
        (Cell::Date(d), bad) => {
            let fmt = if bad { &f.bad_date } else { &f.date };
            sheet.write_date_with_format(r, c, d, fmt)?;
        }
        (Cell::DateTime(dt), bad) => {
            let fmt = if bad { &f.bad_datetime } else { &f.datetime };
            sheet.write_datetime_with_format(r, c, dt, fmt)?;
        }
    }
    Ok(())
}

/// Whether a date or datetime cell falls in the years an Excel date cell can show.
fn excel_date_range(cell: &Cell) -> bool {
    let year = match cell {
        Cell::Date(d) => d.year(),
        Cell::DateTime(dt) => dt.year(),
        _ => return false,
    };
    (1900..=9999).contains(&year)
}

/// The Summary sheet: the summary lines, the distinct statuses and types, and the note cap.
fn write_summary(
    sheet: &mut Worksheet,
    summary: &Summary,
    notes: usize,
    notes_skipped: usize,
) -> Result<(), XlsxError> {
    sheet.set_name("Summary")?;
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xD9E1F2))
        .set_border_bottom(FormatBorder::Thin);
    sheet.set_column_width(0, 30)?;
    sheet.set_column_width(1, 90)?;
    let mut r = 0u32;
    sheet.write_string_with_format(r, 0, "item", &head)?;
    sheet.write_string_with_format(r, 1, "value", &head)?;
    r += 1;
    let mut lines = summary.lines();
    if notes_skipped > 0 {
        lines.push((
            "notes".to_string(),
            format!(
                "the first {notes} bad cells carry a note; {notes_skipped} more are marked by their fill only (every message is in kayse_errors)"
            ),
        ));
    }
    for (label, value) in &lines {
        sheet.write_string(r, 0, clip_for_excel(label, MAX_CELL_CHARS))?;
        write_value(sheet, r, 1, value)?;
        r += 1;
    }
    for (title, list) in [("status", &summary.statuses), ("type", &summary.types)] {
        if list.is_empty() {
            continue;
        }
        r += 1;
        sheet.write_string_with_format(r, 0, title, &head)?;
        sheet.write_string_with_format(r, 1, "rows", &head)?;
        r += 1;
        for (value, count) in list {
            sheet.write_string(r, 0, clip_for_excel(value, MAX_CELL_CHARS))?;
            sheet.write_number(r, 1, *count as f64)?;
            r += 1;
        }
    }
    Ok(())
}

/// Counts become numbers (so they sum and sort); everything else is written as text.
fn write_value(sheet: &mut Worksheet, r: u32, c: u16, value: &str) -> Result<(), XlsxError> {
    let is_count = !value.is_empty()
        && value.len() <= 15
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    match value.parse::<u64>() {
        Ok(n) if is_count => sheet.write_number(r, c, n as f64)?,
        _ => sheet.write_string(r, c, clip_for_excel(value, MAX_CELL_CHARS))?,
    };
    Ok(())
}

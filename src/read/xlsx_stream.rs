//! XLSX, XLSM and XLSB sheets read as a stream: calamine's cell reader parses the sheet on a
//! thread of its own, which finds the header, builds the rows (`sheet.rs`) and hands them over in
//! batches through a bounded channel. Memory stays flat whatever the sheet's size (only a few
//! batches are ever in flight), and the parsing, the largest part of reading a workbook, runs
//! beside the checks and the results writer instead of before them.
//!
//! The thread is needed anyway: calamine's cell reader borrows the workbook, so the two must
//! live together somewhere, and a thread owning both is simpler than a self-referencing struct.
//! It ends when the sheet does, when the reading fails, or as soon as the rows are no longer
//! wanted (the receiving end is dropped).
//!
//! The same thread asks `xlsx_hidden`'s scan, which reads the XML beside it, whether each row is
//! hidden: a hidden row is noted in `Facts`, and left out when `--skip-hidden-rows` says so.

use std::io::{Read, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use calamine::{DataRef, Xlsb, Xlsx, XlsxError};

use super::header::HeaderMatcher;
use super::sheet::{DenseRows, Found, Header, Placed, SparseRows, find_header};
use super::workbook::{SheetRows, data_ref_cell};
use super::xlsx_hidden::HiddenRows;
use super::{Facts, RawRow, ReadError};

/// Rows per message: enough to make the channel's cost per row negligible, few enough that the
/// checks start at once and the batches in flight hold little memory.
const BATCH_ROWS: usize = 256;

/// Batches that may wait in the channel before the reader pauses.
const BATCHES_IN_FLIGHT: usize = 8;

/// What the reading thread sends: the header (or why there is none) first, then rows, then the
/// end or the one failure that ends the sheet early.
enum Msg {
    Header(Header),
    Rows(Vec<RawRow>),
    Failed(String),
    End,
}

/// A workbook whose sheets calamine can read cell by cell, in row order.
pub(super) trait CellSource: Send + 'static {
    /// The cells of `sheet` that hold something, or `Ok(None)` for a sheet with no cells (a
    /// chart sheet). Errors are the message for a `ReadError`, without the path.
    #[allow(clippy::type_complexity)]
    fn cells<'a>(
        &'a mut self,
        sheet: &str,
    ) -> Result<Option<Box<dyn Iterator<Item = Result<Placed, String>> + 'a>>, String>;
}

fn unreadable_sheet(sheet: &str) -> String {
    format!("sheet '{sheet}' cannot be read (the file is damaged or the sheet is not a worksheet)")
}

impl<RS: Read + Seek + Send + 'static> CellSource for Xlsx<RS> {
    fn cells<'a>(
        &'a mut self,
        sheet: &str,
    ) -> Result<Option<Box<dyn Iterator<Item = Result<Placed, String>> + 'a>>, String> {
        match self.worksheet_cells_reader(sheet) {
            Ok(mut r) => Ok(Some(cells_of(move || r.next_cell()))),
            // A chart sheet or a dialog sheet: no cells, as calamine's whole-sheet read has it.
            Err(XlsxError::NotAWorksheet(_)) => Ok(None),
            Err(_) => Err(unreadable_sheet(sheet)),
        }
    }
}

impl<RS: Read + Seek + Send + 'static> CellSource for Xlsb<RS> {
    fn cells<'a>(
        &'a mut self,
        sheet: &str,
    ) -> Result<Option<Box<dyn Iterator<Item = Result<Placed, String>> + 'a>>, String> {
        match self.worksheet_cells_reader(sheet) {
            Ok(mut r) => Ok(Some(cells_of(move || r.next_cell()))),
            Err(_) => Err(unreadable_sheet(sheet)),
        }
    }
}

/// A calamine cell reader's `next_cell` as an iterator of the cells that hold something:
/// formatted empty cells make no row, so they are skipped.
fn cells_of<'a, E: std::fmt::Display>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E> + 'a,
) -> Box<dyn Iterator<Item = Result<Placed, String>> + 'a> {
    Box::new(std::iter::from_fn(move || {
        loop {
            match next() {
                Ok(None) => return None,
                Err(e) => return Some(Err(format!("the file is damaged ({e})"))),
                Ok(Some(cell)) => {
                    let value = cell.get_value();
                    if matches!(value, DataRef::Empty) {
                        continue;
                    }
                    let (row, col) = cell.get_position();
                    return Some(Ok((row, col, data_ref_cell(value))));
                }
            }
        }
    }))
}

/// How the reading thread reads: the header row asked for or the matcher to find it, whether
/// hidden rows are left out, the hidden rows' scan, and where to note what it sees.
pub(super) struct Reading {
    pub header_row: Option<usize>,
    pub matcher: Option<HeaderMatcher>,
    pub skip_hidden: bool,
    pub hidden: HiddenRows,
    pub facts: Facts,
}

/// Start reading `sheet` of `book`; return its header, once found, and its rows as they come.
/// Errors are the message for a `ReadError`, without the path.
pub(super) fn start<B: CellSource>(
    book: B,
    sheet: &str,
    reading: Reading,
    path: &Path,
) -> Result<SheetRows, String> {
    let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
    let name = sheet.to_string();
    std::thread::Builder::new()
        .name("xlsx-reader".to_string())
        .spawn(move || run(book, &name, reading, &tx))
        .map_err(|e| format!("cannot start reading the workbook ({e})"))?;
    let header = match rx.recv() {
        Ok(Msg::Header(h)) => h,
        Ok(Msg::Failed(m)) => return Err(m),
        Ok(Msg::Rows(_) | Msg::End) | Err(_) => return Err(stopped(sheet)),
    };
    let rows = Rows {
        rx,
        batch: Vec::new().into_iter(),
        path: path.to_path_buf(),
        sheet: sheet.to_string(),
        done: false,
    };
    Ok((header, Box::new(rows)))
}

fn stopped(sheet: &str) -> String {
    format!("sheet '{sheet}' cannot be read: the reading stopped unexpectedly")
}

/// Why the reading thread stopped early.
enum Stop {
    /// The sheet cannot be read further; the message says why.
    Failed(String),
    /// The receiving end is gone: nobody wants the rows any more.
    Gone,
}

/// The reading thread: everything calamine does happens here, under `catch_unwind`, so hostile
/// bytes that make the library panic end in one message like any other damage.
fn run<B: CellSource>(mut book: B, sheet: &str, mut reading: Reading, tx: &SyncSender<Msg>) {
    // The last Excel row handed over, for the message when the sheet breaks after it.
    let mut done_to = 0usize;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        stream(&mut book, sheet, &mut reading, tx, &mut done_to)
    }));
    let last = match outcome {
        Ok(Ok(())) => {
            note_scan_end(&mut reading);
            Msg::End
        }
        Ok(Err(Stop::Failed(m))) => Msg::Failed(m),
        Ok(Err(Stop::Gone)) => return,
        Err(_) => Msg::Failed(broken(sheet, done_to, "the file is damaged")),
    };
    let _ = tx.send(last);
}

/// Once every row is read: whether the sheet is filtered, and whether the hidden rows' scan
/// failed (then hidden rows past where it stopped were read as if shown).
fn note_scan_end(reading: &mut Reading) {
    reading.hidden.wait_end();
    if reading.hidden.filtered == Some(true) {
        reading.facts.note_filtered();
    }
    if let Some(why) = &reading.hidden.failed {
        reading.facts.warn(format!(
            "hidden rows could not all be checked ({why}): some hidden rows may have been read as shown"
        ));
    }
}

/// The message for a sheet that breaks after `done_to` (0: before the header was found).
fn broken(sheet: &str, done_to: usize, why: &str) -> String {
    if done_to == 0 {
        format!("sheet '{sheet}': {why}")
    } else {
        format!("sheet '{sheet}' cannot be read past row {done_to}: {why}")
    }
}

fn stream<B: CellSource>(
    book: &mut B,
    sheet: &str,
    reading: &mut Reading,
    tx: &SyncSender<Msg>,
    done_to: &mut usize,
) -> Result<(), Stop> {
    let send = |m: Msg| tx.send(m).map_err(|_| Stop::Gone);
    let mut source = book.cells(sheet).map_err(Stop::Failed)?;
    let cells = std::iter::from_fn(|| source.as_mut()?.next());
    let mut rows = SparseRows::new(cells);
    let (header, read): Found =
        find_header(&mut rows, reading.header_row, reading.matcher.as_ref())
            .map_err(|m| Stop::Failed(broken(sheet, 0, &m)))?;
    *done_to = header.row;
    let dense = DenseRows::new(rows, &header, read);
    send(Msg::Header(header))?;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for row in dense {
        match row {
            Ok(row) => {
                *done_to = row.source_row;
                if !row.is_blank() && reading.hidden.is_hidden(row.source_row as u32) {
                    reading
                        .facts
                        .note_hidden_row(row.source_row, reading.skip_hidden);
                    if reading.skip_hidden {
                        continue;
                    }
                }
                batch.push(row);
                if batch.len() == BATCH_ROWS {
                    send(Msg::Rows(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(BATCH_ROWS),
                    )))?;
                }
            }
            Err(m) => {
                if !batch.is_empty() {
                    send(Msg::Rows(batch))?;
                }
                return Err(Stop::Failed(broken(sheet, *done_to, &m)));
            }
        }
    }
    if !batch.is_empty() {
        send(Msg::Rows(batch))?;
    }
    Ok(())
}

/// The receiving end: the rows of each batch in turn, then the end or the one error.
struct Rows {
    rx: Receiver<Msg>,
    batch: std::vec::IntoIter<RawRow>,
    path: PathBuf,
    sheet: String,
    done: bool,
}

impl Iterator for Rows {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.batch.next() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            let failed = match self.rx.recv() {
                Ok(Msg::Rows(rows)) => {
                    self.batch = rows.into_iter();
                    continue;
                }
                Ok(Msg::End) => {
                    self.done = true;
                    return None;
                }
                Ok(Msg::Failed(m)) => m,
                // A second header, or the thread gone without a word: neither should happen,
                // and neither may pass for the end of the sheet.
                Ok(Msg::Header(_)) | Err(_) => stopped(&self.sheet),
            };
            self.done = true;
            return Some(Err(ReadError::new(&self.path, failed)));
        }
    }
}

//! Readers: turn a CSV or tab-delimited text file (`.csv`, `.tsv`, `.txt`, `.tab`) or a workbook
//! (XLSX, XLSM, XLSB, XLS, ODS) into a header and a lazy stream of rows of cells. They know
//! nothing of the case schema: no field names, no validation, no trimming of values; what a
//! header cell means is asked of the caller (`HeaderMatcher`). Besides the rows they report what a
//! person would want to know about the sheet (`InputInfo`, `Facts`): the header row chosen,
//! hidden rows and columns, a Total row left out, the other sheets. Every failure is one
//! `ReadError` line naming the file; no input bytes may make them panic.

mod ahead;
// The CSV pieces are crate-visible for `crate::fuzzing`, which hands them to the fuzz targets.
pub(crate) mod csv;
mod header;
mod sheet;
mod total;
mod words;
mod workbook;
mod xlsx_hidden;
mod xlsx_stream;

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::cell::Cell;

pub use self::ahead::{ReadAhead, Recycler};
pub use self::csv::{sniff_delimiter, undo_formula_guard};
pub use self::header::{HeaderMatcher, SEARCH_ROWS};
pub use self::words::may_hold_any;

/// How to read the input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sheet name or 0-based index as text (`--sheet`). Workbooks only.
    pub sheet: Option<String>,
    /// 1-based row number of the header (`--header-row`); default: among the first
    /// `SEARCH_ROWS` rows, the one `header_matcher` likes best, else the first non-empty row.
    pub header_row: Option<usize>,
    /// CSV delimiter (`--delimiter`); default: sniffed among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    /// Leave out rows hidden in the workbook (`--skip-hidden-rows`); they are counted in `Facts`.
    pub skip_hidden_rows: bool,
    /// What makes a header cell count when the header row is searched for.
    pub header_matcher: Option<HeaderMatcher>,
}

/// What the reader found out about the file before its rows, for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputInfo {
    /// `csv`, `text` (`.txt`, `.tab`), `xlsx`, `xlsm`, `xlsb`, `xls` or `ods`.
    pub format: String,
    /// Text files only: `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE`, `UTF-16BE` or `Windows-1252`.
    pub encoding: Option<String>,
    /// True when the bytes were not valid UTF-8 and were read as Windows-1252.
    pub encoding_fallback: bool,
    pub delimiter: Option<char>,
    pub sheet: Option<String>,
    /// The first non-empty row, when the header was found below it (a title above the header).
    pub header_below: Option<usize>,
    /// Header columns (indices into `Table::headers`) hidden in the workbook.
    pub hidden_columns: Vec<usize>,
    /// The workbook's other sheets, in order; hidden ones say so (`Lookups (hidden)`).
    pub other_sheets: Vec<String>,
    /// True when the format keeps hidden rows and columns where this reader cannot see them
    /// (XLS, XLSB, ODS): every row is read and no column is hidden in the results.
    pub hidden_unseen: bool,
}

/// What the reader noticed while the rows were read: known in full once they have all been
/// read. Shared between the reading thread and the command (clones see the same record).
#[derive(Debug, Clone, Default)]
pub struct Facts(Arc<Mutex<Noticed>>);

/// The record behind `Facts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Noticed {
    /// Rows hidden in the workbook that were read (and so are checked and sent like the others).
    pub hidden_rows_read: RowList,
    /// Rows hidden in the workbook that were left out (`--skip-hidden-rows`).
    pub hidden_rows_skipped: RowList,
    /// The sheet has a filter (an autofilter), which is how rows are usually hidden.
    pub filtered: bool,
    /// A trailing Total row that was left out.
    pub total_row: Option<TotalRow>,
    /// Things the reader could not do, said once each (e.g. hidden rows could not be checked).
    pub warnings: Vec<String>,
}

/// A Total row left out: its row number and its label as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalRow {
    pub row: usize,
    pub label: String,
}

/// Row numbers, counted in full and kept up to `RowList::KEPT` for naming.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RowList {
    pub count: u64,
    pub first: Vec<usize>,
}

impl RowList {
    /// Rows named in a message; the rest are counted.
    pub const KEPT: usize = 20;

    pub fn push(&mut self, row: usize) {
        self.count += 1;
        if self.first.len() < Self::KEPT {
            self.first.push(row);
        }
    }

    /// `rows 7, 9, 12` or `row 7`, then `and 40 more` past the kept ones.
    pub fn describe(&self) -> String {
        let noun = if self.count == 1 { "row" } else { "rows" };
        let list: Vec<String> = self.first.iter().map(usize::to_string).collect();
        let more = self.count.saturating_sub(self.first.len() as u64);
        if more > 0 {
            format!("{noun} {} and {more} more", list.join(", "))
        } else {
            format!("{noun} {}", list.join(", "))
        }
    }
}

impl Facts {
    /// A copy of what has been noticed so far (all of it once the rows have ended).
    pub fn snapshot(&self) -> Noticed {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Noticed)) {
        if let Ok(mut n) = self.0.lock() {
            f(&mut n);
        }
    }

    pub(crate) fn note_hidden_row(&self, row: usize, skipped: bool) {
        self.update(|n| {
            if skipped {
                n.hidden_rows_skipped.push(row)
            } else {
                n.hidden_rows_read.push(row)
            }
        });
    }

    pub(crate) fn note_filtered(&self) {
        self.update(|n| n.filtered = true);
    }

    pub(crate) fn note_total_row(&self, row: usize, label: &str) {
        let label = label.to_string();
        self.update(|n| n.total_row = Some(TotalRow { row, label }));
    }

    pub(crate) fn warn(&self, message: String) {
        self.update(|n| {
            if !n.warnings.contains(&message) {
                n.warnings.push(message)
            }
        });
    }
}

/// One data row. Blank rows are yielded too (all cells blank) so the caller can count them.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// The row number a person sees in Excel (1-based; the header's own row counts).
    pub source_row: usize,
    /// One cell per header column; short rows are padded with `Cell::Empty`.
    pub cells: Vec<Cell>,
}

impl RawRow {
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_blank)
    }
}

/// An opened input: its header and a lazy stream of rows.
pub struct Table {
    pub info: InputInfo,
    pub headers: Vec<String>,
    /// 1-based row number of the header.
    pub header_row: usize,
    pub rows: Box<dyn Rows>,
    /// What the reader notices while the rows are read (complete once they have ended).
    pub facts: Facts,
}

/// A reader's rows. `next_reusing` lets a reader fill the cells of rows that are done with
/// instead of allocating new ones (see `ReadAhead`); a reader that cannot simply drops them.
pub trait Rows: Iterator<Item = Result<RawRow, ReadError>> + Send {
    /// The next row, made from one of `spare`'s rows where the reader can.
    fn next_reusing(&mut self, spare: &mut Vec<Vec<Cell>>) -> Option<Self::Item> {
        let _ = spare;
        self.next()
    }
}

/// Any iterator of rows, as a reader that does not reuse cells.
pub struct Plain<I>(pub I);

impl<I: Iterator<Item = Result<RawRow, ReadError>>> Iterator for Plain<I> {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl<I: Iterator<Item = Result<RawRow, ReadError>> + Send> Rows for Plain<I> {}

/// Why a file cannot be read. Its Display is one line that starts with the file's path, so the
/// command can print it as is.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {message}")]
    Unusable { path: String, message: String },
}

impl ReadError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> ReadError {
        ReadError::Unusable {
            path: path.display().to_string(),
            message: one_line(&message.into()),
        }
    }
}

/// The formats `open` knows, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    /// Tab-delimited text as Excel saves it: "Text (Tab delimited)" and "Unicode Text" `.txt`,
    /// and `.tab`/`.tsv`. Read by the CSV reader, preferring tab as the delimiter.
    Text,
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
}

impl Format {
    fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "txt" | "tab" | "tsv" => Format::Text,
            "xlsx" => Format::Xlsx,
            "xlsm" => Format::Xlsm,
            "xlsb" => Format::Xlsb,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Text => "text",
            Format::Xlsx => "xlsx",
            Format::Xlsm => "xlsm",
            Format::Xlsb => "xlsb",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

/// The file types `open` reads, for messages.
pub const SUPPORTED: &str = ".csv, .txt, .tab, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods";

/// Open any supported spreadsheet by its extension (case-insensitive; see `SUPPORTED`). Checks up
/// front what can be checked cheaply (missing file, directory, empty file) so the user gets one
/// plain sentence instead of a library's error. A trailing Total row is left out of the rows
/// (`total`), whatever the format.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Table, ReadError> {
    let mut table = open_format(path, opts)?;
    let rows = std::mem::replace(&mut table.rows, Box::new(Plain(std::iter::empty())));
    table.rows = Box::new(total::SkipTotal::new(rows, table.facts.clone()));
    Ok(table)
}

fn open_format(path: &Path, opts: &ReadOptions) -> Result<Table, ReadError> {
    if opts.header_row == Some(0) {
        return Err(ReadError::new(
            path,
            "--header-row counts from 1 (the first row is row 1)",
        ));
    }
    let format = Format::from_path(path).ok_or_else(|| {
        let ext = path
            .extension()
            .map(|e| format!("'.{}'", e.to_string_lossy()))
            .unwrap_or_else(|| "no extension".to_string());
        ReadError::new(
            path,
            format!("unsupported file type ({ext}); use a {SUPPORTED} file"),
        )
    })?;
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::new(path, "no such file"),
        std::io::ErrorKind::PermissionDenied => {
            ReadError::new(path, "permission denied: the file cannot be read")
        }
        _ => ReadError::new(path, format!("cannot open the file ({e})")),
    })?;
    if meta.is_dir() {
        return Err(ReadError::new(
            path,
            "is a folder, not a file; give the path of a spreadsheet",
        ));
    }
    if meta.len() == 0 {
        return Err(ReadError::new(path, "the file is empty"));
    }
    match format {
        Format::Csv => csv::open(path, opts, false),
        Format::Text => csv::open(path, opts, true),
        Format::Xlsx | Format::Xlsm | Format::Xlsb | Format::Xls | Format::Ods => {
            workbook::open(path, format.name(), opts)
        }
    }
}

/// Excel's column letters for a 0-based column index: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Turn the cells of the header row into column names. Names are trimmed; an empty name inside
/// the header becomes `column_D` (the Excel letter), which a person can find in the sheet.
/// Trailing empty header cells are dropped: Excel writes them for formatted but unused columns,
/// and listing them as "unmapped" would be noise. Duplicates are kept as they are; mapping
/// reports them.
pub(crate) fn header_names(cells: &[String], first_col: usize) -> Vec<String> {
    let width = cells
        .iter()
        .rposition(|c| !c.trim().is_empty())
        .map_or(0, |i| i + 1);
    cells[..width]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c.trim();
            if name.is_empty() {
                format!("column_{}", column_letter(first_col + i))
            } else {
                name.to_string()
            }
        })
        .collect()
}

/// Squeeze a message onto one line (library errors sometimes carry newlines) and cap its length.
fn one_line(message: &str) -> String {
    let joined: String = message
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(297).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

/// Quote a value for a message, shortened so a 6 MB cell cannot flood the terminal.
pub(crate) fn quote_short(value: &str) -> String {
    if value.chars().count() > 40 {
        let cut: String = value.chars().take(37).collect();
        format!("'{cut}...'")
    } else {
        format!("'{value}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        let cases = [
            (0, "A"),
            (3, "D"),
            (25, "Z"),
            (26, "AA"),
            (51, "AZ"),
            (52, "BA"),
            (701, "ZZ"),
            (702, "AAA"),
            (16383, "XFD"),
        ];
        for (i, want) in cases {
            assert_eq!(column_letter(i), want, "{i}");
        }
    }

    #[test]
    fn header_naming() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: &[(&[&str], usize, &[&str])] = &[
            (&[" Case # ", "name"], 0, &["Case #", "name"]),
            (&["a", "", "c"], 0, &["a", "column_B", "c"]),
            (&["a", "", "c"], 2, &["a", "column_D", "c"]),
            (&["a", "b", "", "  "], 0, &["a", "b"]),
            (&["a", "a"], 0, &["a", "a"]),
            (&["", "b"], 0, &["column_A", "b"]),
        ];
        for (cells, first, want) in cases {
            assert_eq!(header_names(&s(cells), *first), s(want), "{cells:?}");
        }
    }

    #[test]
    fn formats_by_extension() {
        let cases = [
            ("a.csv", Some(Format::Csv)),
            ("a.CSV", Some(Format::Csv)),
            ("a.tsv", Some(Format::Text)),
            ("a.txt", Some(Format::Text)),
            ("a.TXT", Some(Format::Text)),
            ("a.tab", Some(Format::Text)),
            ("a.Xlsx", Some(Format::Xlsx)),
            ("a.xlsm", Some(Format::Xlsm)),
            ("a.xlsb", Some(Format::Xlsb)),
            ("a.XLS", Some(Format::Xls)),
            ("a.ods", Some(Format::Ods)),
            ("a.text", None),
            ("a", None),
            ("a.numbers", None),
        ];
        for (p, want) in cases {
            assert_eq!(Format::from_path(Path::new(p)), want, "{p}");
        }
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\nb\r\n c"), "a b c");
        assert!(one_line(&"x".repeat(1000)).len() <= 300);
        assert_eq!(quote_short("abc"), "'abc'");
        assert!(quote_short(&"y".repeat(100)).len() < 50);
    }

    #[test]
    fn row_lists_count_all_and_name_the_first() {
        let list = |n: usize| {
            let mut l = RowList::default();
            for r in 0..n {
                l.push(r * 2 + 7);
            }
            l
        };
        assert_eq!(list(1).describe(), "row 7");
        assert_eq!(list(3).describe(), "rows 7, 9, 11");
        let many = list(25);
        assert_eq!(many.count, 25);
        assert_eq!(many.first.len(), RowList::KEPT);
        assert!(
            many.describe().ends_with(", 45 and 5 more"),
            "{}",
            many.describe()
        );
    }

    #[test]
    fn facts_are_shared_and_warnings_said_once() {
        let facts = Facts::default();
        let theirs = facts.clone();
        theirs.note_hidden_row(7, false);
        theirs.note_hidden_row(9, true);
        theirs.note_filtered();
        theirs.warn("x".into());
        theirs.warn("x".into());
        let n = facts.snapshot();
        assert_eq!(n.hidden_rows_read.first, [7]);
        assert_eq!(n.hidden_rows_skipped.first, [9]);
        assert!(n.filtered);
        assert_eq!(n.warnings, ["x"]);
    }
}

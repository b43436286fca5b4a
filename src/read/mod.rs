//! Readers: turn a CSV, XLSX, XLSM, XLS or ODS file into a header and a lazy stream of rows of
//! cells. They know nothing of the case schema: no field names, no validation, no trimming of values.
//! Every failure is one `ReadError` line naming the file; no input bytes may make them panic.

mod ahead;
// The CSV pieces are crate-visible for `crate::fuzzing`, which hands them to the fuzz targets.
pub(crate) mod csv;
mod sheet;
mod workbook;
mod xlsx_stream;

use std::path::Path;

use serde::Serialize;

use crate::cell::Cell;

pub use self::ahead::{ReadAhead, Recycler};
pub use self::csv::{sniff_delimiter, undo_formula_guard};

/// How to read the input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sheet name or 0-based index as text (`--sheet`). Workbooks only.
    pub sheet: Option<String>,
    /// 1-based row number of the header (`--header-row`); default: first non-empty row.
    pub header_row: Option<usize>,
    /// CSV delimiter (`--delimiter`); default: sniffed among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
}

/// What the reader found out about the file, for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputInfo {
    /// `csv`, `xlsx`, `xlsm`, `xls` or `ods`.
    pub format: String,
    /// CSV only: `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE`, `UTF-16BE` or `Windows-1252`.
    pub encoding: Option<String>,
    /// True when the bytes were not valid UTF-8 and were read as Windows-1252.
    pub encoding_fallback: bool,
    pub delimiter: Option<char>,
    pub sheet: Option<String>,
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
    Xlsx,
    Xlsm,
    Xls,
    Ods,
}

impl Format {
    fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "tsv" => Format::Csv,
            "xlsx" => Format::Xlsx,
            "xlsm" => Format::Xlsm,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Xlsm => "xlsm",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

/// Open any supported spreadsheet by its extension (case-insensitive: `.csv`/`.tsv`, `.xlsx`,
/// `.xlsm`, `.xls`, `.ods`). Checks up front what can be checked cheaply (missing file, directory,
/// empty file) so the user gets one plain sentence instead of a library's error.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Table, ReadError> {
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
            format!("unsupported file type ({ext}); use a .csv, .xlsx, .xlsm, .xls or .ods file"),
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
        Format::Csv => csv::open(path, opts),
        Format::Xlsx | Format::Xlsm | Format::Xls | Format::Ods => {
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
            ("a.tsv", Some(Format::Csv)),
            ("a.Xlsx", Some(Format::Xlsx)),
            ("a.xlsm", Some(Format::Xlsm)),
            ("a.XLS", Some(Format::Xls)),
            ("a.ods", Some(Format::Ods)),
            ("a.txt", None),
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
}

//! Readers: turn a CSV, XLSX, XLSM, XLS or ODS file into a header and a stream of rows of cells.
//! They know nothing of the case schema. (SKELETON: to be implemented.)

use std::path::Path;

use serde::Serialize;

use crate::cell::Cell;

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
    pub rows: Box<dyn Iterator<Item = Result<RawRow, ReadError>> + Send>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {message}")]
    Unusable { path: String, message: String },
}

/// Open any supported spreadsheet by its extension.
pub fn open(path: &Path, _opts: &ReadOptions) -> Result<Table, ReadError> {
    Err(ReadError::Unusable {
        path: path.display().to_string(),
        message: "reading is not implemented yet".into(),
    })
}

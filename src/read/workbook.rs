//! Workbook reading (XLSX, XLSM, XLS, ODS) through calamine: sheet choice, header detection, and
//! the conversion of calamine's values into `Cell`s (integral numbers as integers, dates as dates,
//! errors with Excel's spelling). It must not interpret values for the case schema.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use calamine::{
    Data, Ods, Range, Reader, SheetType, SheetVisible, Xls, Xlsx, open_workbook_from_rs,
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::{InputInfo, RawRow, ReadError, ReadOptions, Table, header_names};
use crate::cell::Cell;

/// Excel's date serials run from 0 (1899-12-30/31) to 2958465 (9999-12-31); outside that a
/// "date" cell is garbage and is kept as its number rather than converted.
const MAX_SERIAL: f64 = 2_958_466.0;

/// What a user is told when calamine cannot open the file at all.
fn unreadable(format: &str) -> &'static str {
    match format {
        "xls" => "not a readable Excel 97-2003 workbook (the file is damaged or is not an .xls)",
        "ods" => "not a readable OpenDocument spreadsheet (the file is damaged or is not an .ods)",
        "xlsm" => "not a readable Excel workbook (the file is damaged or is not an .xlsm)",
        _ => "not a readable Excel workbook (the file is damaged or is not an .xlsx)",
    }
}

/// Run a calamine call, turning a panic inside the library into an error: hostile bytes must
/// never crash the tool.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

/// The first bytes of a zip archive (XLSX, XLSM, ODS) and of an OLE compound file (XLS, and also
/// any password-protected Excel file, whatever its extension).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

type Book = calamine::Sheets<Cursor<Vec<u8>>>;

/// Open the workbook by what its bytes are rather than by its name, so an `.xls` that is really
/// an `.xlsx` (a common renaming) still reads. Returns the book and its real format name.
fn open_book(bytes: Vec<u8>, format: &str) -> Result<(Book, &'static str), String> {
    let try_xlsx = |b: Vec<u8>| {
        guarded(|| open_workbook_from_rs::<Xlsx<_>, _>(Cursor::new(b)).ok())
            .map(calamine::Sheets::Xlsx)
    };
    let try_ods = |b: Vec<u8>| {
        guarded(|| open_workbook_from_rs::<Ods<_>, _>(Cursor::new(b)).ok())
            .map(calamine::Sheets::Ods)
    };
    let try_xls = |b: Vec<u8>| {
        guarded(|| open_workbook_from_rs::<Xls<_>, _>(Cursor::new(b)).ok())
            .map(calamine::Sheets::Xls)
    };
    if bytes.starts_with(ZIP_MAGIC) {
        let xlsx_name = if format == "xlsm" { "xlsm" } else { "xlsx" };
        let found = if format == "ods" {
            try_ods(bytes.clone())
                .map(|b| (b, "ods"))
                .or_else(|| try_xlsx(bytes).map(|b| (b, xlsx_name)))
        } else {
            try_xlsx(bytes.clone())
                .map(|b| (b, xlsx_name))
                .or_else(|| try_ods(bytes).map(|b| (b, "ods")))
        };
        return found.ok_or_else(|| unreadable(format).to_string());
    }
    if bytes.starts_with(CFB_MAGIC) {
        return try_xls(bytes).map(|b| (b, "xls")).ok_or_else(|| {
            "is password-protected or damaged (it cannot be opened without Excel); remove the \
             password in Excel and save it again"
                .to_string()
        });
    }
    Err(unreadable(format).to_string())
}

/// Open a workbook, pick the sheet, find the header, and return its rows. The whole file is read
/// into memory: calamine loads a whole sheet anyway, so this costs at most the file's size again.
pub(crate) fn open(path: &Path, format: &str, opts: &ReadOptions) -> Result<Table, ReadError> {
    let fail = |m: String| ReadError::new(path, m);
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read the file ({e})")))?;
    let (mut book, format) = open_book(bytes, format).map_err(fail)?;
    let sheets: Vec<calamine::Sheet> = book.sheets_metadata().to_vec();
    if sheets.is_empty() {
        return Err(fail("the workbook has no sheets".to_string()));
    }
    let sheet = choose_sheet(&sheets, opts.sheet.as_deref()).map_err(fail)?;
    let range = guarded(|| book.worksheet_range(&sheet).ok()).ok_or_else(|| {
        fail(format!(
            "sheet '{sheet}' cannot be read (the file is damaged or the sheet is not a worksheet)"
        ))
    })?;
    drop(book);
    let (headers, header_row, data_start) =
        find_header(&range, opts.header_row).map_err(|m| fail(format!("sheet '{sheet}': {m}")))?;
    let info = InputInfo {
        format: format.to_string(),
        encoding: None,
        encoding_fallback: false,
        delimiter: None,
        sheet: Some(sheet),
    };
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let width = headers.len();
    Ok(Table {
        info,
        headers,
        header_row,
        rows: Box::new(SheetRows {
            range,
            next: data_start,
            first_row,
            width,
        }),
    })
}

/// Choose the sheet: by exact name, then by name ignoring case, then by 0-based index; by default
/// the first visible worksheet (a hidden first sheet holds lookups, not the data).
pub(crate) fn choose_sheet(
    sheets: &[calamine::Sheet],
    wanted: Option<&str>,
) -> Result<String, String> {
    let Some(wanted) = wanted else {
        let visible = sheets
            .iter()
            .find(|s| s.visible == SheetVisible::Visible && s.typ == SheetType::WorkSheet)
            .or_else(|| sheets.iter().find(|s| s.typ == SheetType::WorkSheet))
            .or_else(|| sheets.first());
        return visible
            .map(|s| s.name.clone())
            .ok_or_else(|| "the workbook has no sheets".to_string());
    };
    if let Some(s) = sheets.iter().find(|s| s.name == wanted) {
        return Ok(s.name.clone());
    }
    let trimmed = wanted.trim();
    if let Some(s) = sheets
        .iter()
        .find(|s| s.name.trim().eq_ignore_ascii_case(trimmed))
    {
        return Ok(s.name.clone());
    }
    if let Ok(i) = trimmed.parse::<usize>()
        && let Some(s) = sheets.get(i)
    {
        return Ok(s.name.clone());
    }
    let names: Vec<String> = sheets
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{i}: '{}'", s.name))
        .collect();
    Err(format!(
        "no sheet '{wanted}'; the sheets are {}",
        names.join(", ")
    ))
}

/// Find the header row: the first row with any non-blank cell, or the 1-based Excel row given.
/// Returns the column names, the header's Excel row number, and the range index of the first
/// data row.
fn find_header(
    range: &Range<Data>,
    header_row: Option<usize>,
) -> Result<(Vec<String>, usize, usize), String> {
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let index = match header_row {
        None => range
            .rows()
            .position(|row| row.iter().any(|d| !to_cell(d).is_blank()))
            .ok_or_else(|| "the sheet is empty: no header row found".to_string())?,
        Some(n) => {
            let blank =
                || format!("row {n} is blank, so it cannot be the header (--header-row {n})");
            let i = n.checked_sub(1 + first_row).ok_or_else(blank)?;
            let row = range.rows().nth(i).ok_or_else(|| {
                format!(
                    "no header on row {n}: the sheet ends at row {}",
                    first_row + range.height()
                )
            })?;
            if row.iter().all(|d| to_cell(d).is_blank()) {
                return Err(blank());
            }
            i
        }
    };
    let texts: Vec<String> = range
        .rows()
        .nth(index)
        .map(|row| row.iter().map(|d| to_cell(d).to_text()).collect())
        .unwrap_or_default();
    Ok((
        header_names(&texts, first_col),
        first_row + index + 1,
        index + 1,
    ))
}

/// The rows after the header, converted one at a time from the range calamine loaded.
struct SheetRows {
    range: Range<Data>,
    /// Index within the range of the next row to yield.
    next: usize,
    /// 0-based sheet row where the range starts.
    first_row: usize,
    width: usize,
}

impl super::Rows for SheetRows {}

impl Iterator for SheetRows {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.range.height() {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // Cells are addressed relative to the range, as the header was; `get` is O(1) where
        // `rows().nth(i)` would walk from the top on every call.
        let cells: Vec<Cell> = (0..self.width)
            .map(|c| self.range.get((i, c)).map_or(Cell::Empty, to_cell))
            .collect();
        Some(Ok(RawRow {
            source_row: self.first_row + i + 1,
            cells,
        }))
    }
}

/// Convert one calamine value into a cell.
pub(crate) fn to_cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::from_f64(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::Error(e) => Cell::Error(e.to_string()),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            if dt.is_duration() {
                duration_text(v).map_or_else(|| Cell::from_f64(v), Cell::Text)
            } else if (0.0..1.0).contains(&v) {
                // A time of day with no date: show it as Excel does.
                duration_text(v).map_or_else(|| Cell::from_f64(v), Cell::Text)
            } else if (0.0..MAX_SERIAL).contains(&v) {
                dt.as_datetime()
                    .map_or_else(|| Cell::from_f64(v), date_or_datetime)
            } else {
                Cell::from_f64(v)
            }
        }
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// A date with a midnight time is a plain date.
fn date_or_datetime(dt: NaiveDateTime) -> Cell {
    if dt.time() == NaiveTime::MIN {
        Cell::Date(dt.date())
    } else {
        Cell::DateTime(dt)
    }
}

/// An ISO date or date-time string (how ODS stores dates), or the text itself when it is neither.
fn iso_cell(s: &str) -> Cell {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Cell::Date(d);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return date_or_datetime(dt);
        }
    }
    Cell::Text(s.to_string())
}

/// A fraction of days as `H:MM:SS` (hours may exceed 24 for durations).
fn duration_text(days: f64) -> Option<String> {
    if !(0.0..=1.0e6).contains(&days) {
        return None;
    }
    let secs = (days * 86_400.0).round() as u64;
    Some(format!(
        "{}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn converts_cells() {
        let dt = |v: f64| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        let cases: Vec<(Data, Cell)> = vec![
            (Data::Empty, Cell::Empty),
            (Data::String(String::new()), Cell::Empty),
            (Data::String("007".into()), Cell::Text("007".into())),
            (Data::String(" x ".into()), Cell::Text(" x ".into())),
            (Data::Float(2024001.0), Cell::Int(2024001)),
            (Data::Float(-3.0), Cell::Int(-3)),
            (Data::Float(1.5), Cell::Float(1.5)),
            (Data::Float(1e20), Cell::Float(1e20)),
            (Data::Float(f64::NAN), Cell::Float(f64::NAN)),
            (Data::Int(42), Cell::Int(42)),
            (Data::Bool(true), Cell::Bool(true)),
            (Data::Error(CellErrorType::NA), Cell::Error("#N/A".into())),
            (
                Data::Error(CellErrorType::Div0),
                Cell::Error("#DIV/0!".into()),
            ),
            (
                Data::Error(CellErrorType::Value),
                Cell::Error("#VALUE!".into()),
            ),
            (Data::Error(CellErrorType::Ref), Cell::Error("#REF!".into())),
            (
                Data::Error(CellErrorType::Name),
                Cell::Error("#NAME?".into()),
            ),
            (dt(45356.0), Cell::Date(date(2024, 3, 5))),
            (
                dt(45356.5),
                Cell::DateTime(date(2024, 3, 5).and_hms_opt(12, 0, 0).unwrap()),
            ),
            (dt(0.75), Cell::Text("18:00:00".into())),
            (dt(-5.0), Cell::Int(-5)),
            (dt(1.0e12), Cell::Int(1_000_000_000_000)),
            (
                Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false)),
                Cell::Text("36:00:00".into()),
            ),
            (
                Data::DateTimeIso("2024-03-05".into()),
                Cell::Date(date(2024, 3, 5)),
            ),
            (
                Data::DateTimeIso("2024-03-05T00:00:00".into()),
                Cell::Date(date(2024, 3, 5)),
            ),
            (
                Data::DateTimeIso("2024-03-05T09:30:00".into()),
                Cell::DateTime(date(2024, 3, 5).and_hms_opt(9, 30, 0).unwrap()),
            ),
            (Data::DateTimeIso("junk".into()), Cell::Text("junk".into())),
            (Data::DurationIso("PT1H".into()), Cell::Text("PT1H".into())),
        ];
        for (data, want) in cases {
            let got = to_cell(&data);
            match (&got, &want) {
                (Cell::Float(a), Cell::Float(b)) if a.is_nan() && b.is_nan() => {}
                _ => assert_eq!(got, want, "{data:?}"),
            }
        }
    }

    fn sheet(name: &str, visible: SheetVisible) -> calamine::Sheet {
        calamine::Sheet {
            name: name.to_string(),
            typ: SheetType::WorkSheet,
            visible,
        }
    }

    #[test]
    fn chooses_sheets() {
        let sheets = vec![
            sheet("Lookups", SheetVisible::Hidden),
            sheet("Cases", SheetVisible::Visible),
            sheet("2", SheetVisible::Visible),
        ];
        let cases: &[(Option<&str>, Result<&str, &str>)] = &[
            (None, Ok("Cases")),
            (Some("Cases"), Ok("Cases")),
            (Some("cases"), Ok("Cases")),
            (Some("Lookups"), Ok("Lookups")),
            (Some("0"), Ok("Lookups")),
            (Some("2"), Ok("2")), // a name wins over an index
            (Some("1"), Ok("Cases")),
            (
                Some("9"),
                Err("no sheet '9'; the sheets are 0: 'Lookups', 1: 'Cases', 2: '2'"),
            ),
            (Some("Nope"), Err("no sheet 'Nope'")),
        ];
        for (wanted, want) in cases {
            let got = choose_sheet(&sheets, *wanted);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{wanted:?}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{wanted:?}: {g}"),
                (g, w) => panic!("{wanted:?}: got {g:?}, want {w:?}"),
            }
        }
        let all_hidden = vec![sheet("Only", SheetVisible::Hidden)];
        assert_eq!(choose_sheet(&all_hidden, None).unwrap(), "Only");
    }

    fn range_at(start: (u32, u32), rows: &[&[Data]]) -> Range<Data> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(1) as u32;
        let end = (start.0 + rows.len() as u32 - 1, start.1 + width - 1);
        let mut range = Range::new(start, end);
        for (i, row) in rows.iter().enumerate() {
            for (j, d) in row.iter().enumerate() {
                range.set_value((start.0 + i as u32, start.1 + j as u32), d.clone());
            }
        }
        range
    }

    #[test]
    fn finds_headers() {
        let s = |x: &str| Data::String(x.to_string());
        // Sheet starts at B3 (row index 2, column 1): a title, a blank row, then the header.
        let range = range_at(
            (2, 1),
            &[
                &[s("Case list"), Data::Empty],
                &[Data::Empty, Data::Empty],
                &[s("case_number"), s(""), s("status")],
                &[Data::Float(1.0), Data::Empty, s("open")],
            ],
        );
        type Want<'a> = Result<(Vec<&'a str>, usize, usize), &'a str>;
        let cases: &[(Option<usize>, Want)] = &[
            (None, Ok((vec!["Case list"], 3, 1))),
            (
                Some(5),
                Ok((vec!["case_number", "column_C", "status"], 5, 3)),
            ),
            (Some(4), Err("row 4 is blank")),
            (Some(1), Err("row 1 is blank")),
            (Some(9), Err("no header on row 9: the sheet ends at row 6")),
        ];
        for (hr, want) in cases {
            let got = find_header(&range, *hr);
            match (got, want) {
                (Ok((h, row, start)), Ok((wh, wrow, wstart))) => {
                    assert_eq!(h, *wh, "{hr:?}");
                    assert_eq!((row, start), (*wrow, *wstart), "{hr:?}");
                }
                (Err(g), Err(w)) => assert!(g.contains(w), "{hr:?}: {g}"),
                (g, w) => panic!("{hr:?}: got {g:?}, want {w:?}"),
            }
        }
        let empty: Range<Data> = Range::empty();
        assert!(find_header(&empty, None).unwrap_err().contains("empty"));
    }
}

//! Workbook reading (XLSX, XLSM, XLSB, XLS, ODS) through calamine: opening by content, sheet
//! choice, the XLS and ODS whole-sheet path (XLSX and XLSB stream: `xlsx_stream`; both build rows
//! with `sheet`), and the conversion of calamine's values into `Cell`s (integral numbers as
//! integers, dates as dates, errors with Excel's spelling). It must not interpret values for the
//! case schema.

use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use calamine::{
    Data, DataRef, ExcelDateTime, Ods, Range, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx,
    open_workbook_from_rs,
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::header::HeaderMatcher;
use super::sheet::{DenseRows, Header, Placed, SparseRows, find_header};
use super::xlsx_hidden::{self, HiddenRows};
use super::xlsx_stream::{self, Reading};
use super::{Facts, InputInfo, RawRow, ReadError, ReadOptions, Table};
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
        "xlsb" => "not a readable Excel binary workbook (the file is damaged or is not an .xlsb)",
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

type Book = calamine::Sheets<BufReader<File>>;

/// Open the workbook by what its bytes are rather than by its name, so an `.xls` that is really
/// an `.xlsx` (a common renaming) still reads. Returns the book and its real format name. The
/// file is read through a buffer, not loaded: calamine reads the parts it needs, and an XLSX
/// sheet is then streamed from the file, so memory does not grow with the file's size.
fn open_book(path: &Path, format: &str) -> Result<(Book, &'static str), String> {
    let cannot = |e: std::io::Error| format!("cannot read the file ({e})");
    // Each attempt gets the file afresh: a failed one leaves its reader anywhere.
    let file = || File::open(path).map(BufReader::new).map_err(cannot);
    let try_xlsx = |f: BufReader<File>| {
        guarded(|| open_workbook_from_rs::<Xlsx<_>, _>(f).ok()).map(calamine::Sheets::Xlsx)
    };
    let try_ods = |f: BufReader<File>| {
        guarded(|| open_workbook_from_rs::<Ods<_>, _>(f).ok()).map(calamine::Sheets::Ods)
    };
    let try_xls = |f: BufReader<File>| {
        guarded(|| open_workbook_from_rs::<Xls<_>, _>(f).ok()).map(calamine::Sheets::Xls)
    };
    let try_xlsb = |f: BufReader<File>| {
        guarded(|| open_workbook_from_rs::<Xlsb<_>, _>(f).ok()).map(calamine::Sheets::Xlsb)
    };
    let mut magic = Vec::with_capacity(CFB_MAGIC.len());
    file()?
        .take(CFB_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(cannot)?;
    if magic.starts_with(ZIP_MAGIC) {
        let xlsx_name = if format == "xlsm" { "xlsm" } else { "xlsx" };
        // The format the name says first, then the other zip-based ones.
        let order: [&str; 3] = match format {
            "ods" => ["ods", "xlsx", "xlsb"],
            "xlsb" => ["xlsb", "xlsx", "ods"],
            _ => ["xlsx", "ods", "xlsb"],
        };
        for kind in order {
            let found = match kind {
                "ods" => try_ods(file()?).map(|b| (b, "ods")),
                "xlsb" => try_xlsb(file()?).map(|b| (b, "xlsb")),
                _ => try_xlsx(file()?).map(|b| (b, xlsx_name)),
            };
            if let Some(found) = found {
                return Ok(found);
            }
        }
        return Err(unreadable(format).to_string());
    }
    if magic.starts_with(CFB_MAGIC) {
        return try_xls(file()?).map(|b| (b, "xls")).ok_or_else(|| {
            "is password-protected or damaged (it cannot be opened without Excel); remove the \
             password in Excel and save it again"
                .to_string()
        });
    }
    Err(unreadable(format).to_string())
}

/// Open a workbook, pick the sheet, find the header, and return its rows. XLSX, XLSM and XLSB
/// sheets are streamed (`xlsx_stream`), and an XLSX sheet's hidden rows and columns are read
/// beside it (`xlsx_hidden`); calamine can only load XLS and ODS sheets whole, so those are
/// loaded and their rows built from the loaded range.
pub(crate) fn open(path: &Path, format: &str, opts: &ReadOptions) -> Result<Table, ReadError> {
    let fail = |m: String| ReadError::new(path, m);
    let (book, format) = open_book(path, format).map_err(fail)?;
    let sheets: Vec<calamine::Sheet> = book.sheets_metadata().to_vec();
    if sheets.is_empty() {
        return Err(fail("the workbook has no sheets".to_string()));
    }
    let sheet = choose_sheet(&sheets, opts.sheet.as_deref()).map_err(fail)?;
    let facts = Facts::default();
    let mut hidden_cols: Vec<u32> = Vec::new();
    let reading = |hidden: HiddenRows| Reading {
        header_row: opts.header_row,
        matcher: opts.header_matcher.clone(),
        skip_hidden: opts.skip_hidden_rows,
        hidden,
        facts: facts.clone(),
    };
    let (header, rows) = match book {
        calamine::Sheets::Xlsx(xlsx) => {
            let hidden = match xlsx_hidden::start(path, &sheet) {
                Ok((cols, rows)) => {
                    hidden_cols = cols;
                    rows
                }
                Err(why) => {
                    facts.warn(format!(
                        "hidden rows and columns could not be checked ({why}): every row was read and no column is hidden in the results"
                    ));
                    HiddenRows::none()
                }
            };
            xlsx_stream::start(xlsx, &sheet, reading(hidden), path)
        }
        calamine::Sheets::Xlsb(xlsb) => {
            xlsx_stream::start(xlsb, &sheet, reading(HiddenRows::none()), path)
        }
        book => loaded_rows(book, &sheet, opts, path),
    }
    .map_err(fail)?;
    let width = header.names.len() as u32;
    let hidden_columns = hidden_cols
        .iter()
        .filter_map(|&c| c.checked_sub(header.first_col))
        .filter(|&i| i < width)
        .map(|i| i as usize)
        .collect();
    // A results workbook fed back in: its own Summary sheet is no data left unread.
    let ours = |name: &str| sheet == "Results" && name == "Summary";
    let other_sheets = sheets
        .iter()
        .filter(|s| s.name != sheet && !ours(&s.name))
        .map(|s| match s.visible {
            SheetVisible::Visible => s.name.clone(),
            _ => format!("{} (hidden)", s.name),
        })
        .collect();
    let info = InputInfo {
        format: format.to_string(),
        sheet: Some(sheet),
        header_below: header.below,
        hidden_columns,
        other_sheets,
        hidden_unseen: !matches!(format, "xlsx" | "xlsm"),
        ..InputInfo::default()
    };
    Ok(Table {
        info,
        headers: header.names,
        header_row: header.row,
        rows: Box::new(super::Plain(rows)),
        facts,
    })
}

/// A sheet's header and the rows after it.
pub(super) type SheetRows = (
    Header,
    Box<dyn Iterator<Item = Result<RawRow, ReadError>> + Send>,
);

/// Load a whole XLS or ODS sheet and build its rows from the loaded range. Errors are the message
/// for a `ReadError`, without the path.
fn loaded_rows(
    mut book: Book,
    sheet: &str,
    opts: &ReadOptions,
    path: &Path,
) -> Result<SheetRows, String> {
    let range = guarded(|| book.worksheet_range(sheet).ok()).ok_or_else(|| {
        format!(
            "sheet '{sheet}' cannot be read (the file is damaged or the sheet is not a worksheet)"
        )
    })?;
    drop(book);
    let matcher: Option<&HeaderMatcher> = opts.header_matcher.as_ref();
    let mut rows = SparseRows::new(RangeCells { range, next: 0 });
    let (header, read) = find_header(&mut rows, opts.header_row, matcher)
        .map_err(|m| format!("sheet '{sheet}': {m}"))?;
    let shown = path.to_path_buf();
    let name = sheet.to_string();
    let dense = DenseRows::new(rows, &header, read)
        .map(move |r| r.map_err(|m| ReadError::new(&shown, format!("sheet '{name}': {m}"))));
    Ok((header, Box::new(dense)))
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

/// The cells of a loaded range that hold something, in row order, at their sheet positions.
struct RangeCells {
    range: Range<Data>,
    /// Index in the range (row-major) of the next cell to look at.
    next: usize,
}

impl Iterator for RangeCells {
    type Item = Result<Placed, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let (first_row, first_col) = self.range.start()?;
        let width = self.range.width();
        while width > 0 && self.next < width.saturating_mul(self.range.height()) {
            let (r, c) = (self.next / width, self.next % width);
            self.next += 1;
            match self.range.get((r, c)) {
                None | Some(Data::Empty) => continue,
                Some(d) => {
                    let row = first_row.saturating_add(r as u32);
                    let col = first_col.saturating_add(c as u32);
                    return Some(Ok((row, col, to_cell(d))));
                }
            }
        }
        None
    }
}

/// Convert one calamine value into a cell.
pub(crate) fn to_cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => text_cell(s),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::from_f64(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::Error(e) => Cell::Error(e.to_string()),
        Data::DateTime(dt) => datetime_cell(dt),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// Convert one value of calamine's XLSX cell reader into a cell, exactly as `to_cell` converts
/// the same value loaded whole.
pub(crate) fn data_ref_cell(data: &DataRef<'_>) -> Cell {
    match data {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::from_f64(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::Error(e) => Cell::Error(e.to_string()),
        DataRef::DateTime(dt) => datetime_cell(dt),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// Empty text is an empty cell.
fn text_cell(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_string())
    }
}

/// A date, a date-time, a time of day or a duration, as Excel shows it.
fn datetime_cell(dt: &ExcelDateTime) -> Cell {
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
    use calamine::{CellErrorType, ExcelDateTimeType};

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
        let same = |got: &Cell, want: &Cell| match (got, want) {
            (Cell::Float(a), Cell::Float(b)) => a.to_bits() == b.to_bits(),
            _ => got == want,
        };
        for (data, want) in cases {
            let got = to_cell(&data);
            assert!(same(&got, &want), "{data:?}: {got:?}");
            // The XLSX stream's values convert the same way.
            let streamed = data_ref_cell(&as_data_ref(&data));
            assert!(same(&streamed, &want), "streamed {data:?}: {streamed:?}");
        }
        assert_eq!(
            data_ref_cell(&DataRef::SharedString("shared")),
            Cell::Text("shared".into())
        );
        assert_eq!(data_ref_cell(&DataRef::SharedString("")), Cell::Empty);
    }

    /// The value calamine's cell reader gives for what its whole-sheet read gives as `data`.
    fn as_data_ref(data: &Data) -> DataRef<'static> {
        match data.clone() {
            Data::Empty => DataRef::Empty,
            Data::String(s) => DataRef::String(s),
            Data::Int(i) => DataRef::Int(i),
            Data::Float(f) => DataRef::Float(f),
            Data::Bool(b) => DataRef::Bool(b),
            Data::Error(e) => DataRef::Error(e),
            Data::DateTime(dt) => DataRef::DateTime(dt),
            Data::DateTimeIso(s) => DataRef::DateTimeIso(s),
            Data::DurationIso(s) => DataRef::DurationIso(s),
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

    /// The header and rows of a loaded range, as the XLS and ODS readers build them.
    fn read_range(
        range: Range<Data>,
        header_row: Option<usize>,
    ) -> Result<(Header, Vec<RawRow>), String> {
        let mut rows = SparseRows::new(RangeCells { range, next: 0 });
        let (header, read) = find_header(&mut rows, header_row, None)?;
        let dense = DenseRows::new(rows, &header, read).collect::<Result<Vec<_>, String>>()?;
        Ok((header, dense))
    }

    #[test]
    fn reads_loaded_ranges() {
        let s = |x: &str| Data::String(x.to_string());
        // Sheet starts at B3 (row index 2, column 1): a title, a blank row, then the header.
        let range = || {
            range_at(
                (2, 1),
                &[
                    &[s("Case list"), Data::Empty],
                    &[Data::Empty, Data::Empty],
                    &[s("case_number"), s(""), s("status")],
                    &[Data::Float(1.0), Data::Empty, s("open")],
                    &[Data::Empty, Data::Empty, Data::Empty],
                    &[Data::Empty, s("x"), Data::Empty],
                ],
            )
        };
        type Want<'a> = Result<(Vec<&'a str>, usize, Vec<usize>), &'a str>;
        let cases: &[(Option<usize>, Want)] = &[
            (None, Ok((vec!["Case list"], 3, vec![4, 5, 6, 7, 8]))),
            (
                Some(5),
                Ok((vec!["case_number", "column_C", "status"], 5, vec![6, 7, 8])),
            ),
            (Some(4), Err("row 4 is blank")),
            (Some(1), Err("row 1 is blank")),
            (Some(9), Err("no header on row 9: the sheet ends at row 8")),
        ];
        for (hr, want) in cases {
            match (read_range(range(), *hr), want) {
                (Ok((h, rows)), Ok((names, row, numbers))) => {
                    assert_eq!(h.names, *names, "{hr:?}");
                    assert_eq!((h.row, h.first_col), (*row, 1), "{hr:?}");
                    let got: Vec<usize> = rows.iter().map(|r| r.source_row).collect();
                    assert_eq!(got, *numbers, "{hr:?}");
                    assert!(rows.iter().all(|r| r.cells.len() == names.len()));
                }
                (Err(g), Err(w)) => assert!(g.contains(w), "{hr:?}: {g}"),
                (g, w) => panic!("{hr:?}: got {g:?}, want {w:?}"),
            }
        }
        let (_, rows) = read_range(range(), Some(5)).unwrap();
        assert_eq!(
            rows[0].cells,
            [Cell::Int(1), Cell::Empty, Cell::Text("open".into())]
        );
        assert!(rows[1].is_blank());
        assert_eq!(
            rows[2].cells,
            [Cell::Empty, Cell::Text("x".into()), Cell::Empty]
        );
        let empty: Range<Data> = Range::empty();
        assert!(read_range(empty, None).unwrap_err().contains("empty"));
    }
}

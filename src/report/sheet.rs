//! Writing exported records: XLSX (real date cells, frozen header, autofilter, an `Errors` sheet)
//! or CSV (UTF-8 with BOM, `YYYY-MM-DD` dates, formula guard, failures in `<out>.errors.csv`). The
//! layout is a valid import file: `id` plus the entity's fields under their own names, in table
//! order, then what only answers carry. It is for people too: each text key of
//! `external_source_data` has a column of its own, columns are as wide as their values and long
//! text wraps. Each kind's export form is the text its check reads back. No network.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatBorder, Workbook, XlsxError};

use crate::check::rules::format_id_list;
use crate::entity::{Entity, Record, Value};
use crate::report::changes;
use crate::report::results::{MAX_CELL_CHARS, ResultsError, clip_for_excel, guard_formula};
use crate::report::summary_sheet::{self, Tally};

/// The export's header row for `entity`: `id`, every create field in table order, then the
/// answer-only fields.
pub fn columns(entity: &Entity) -> Vec<&'static str> {
    entity.export_columns().map(|f| f.name).collect()
}

/// One exported value, typed so XLSX gets real dates, numbers and booleans.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Empty,
    Text(String),
    Int(u64),
    Bool(bool),
    Date(NaiveDate),
}

impl Out {
    /// The CSV text: dates `YYYY-MM-DD`, booleans `true`/`false`, text formula-guarded.
    pub fn csv_text(&self) -> String {
        match self {
            Out::Empty => String::new(),
            Out::Text(s) => guard_formula(s).into_owned(),
            Out::Int(i) => i.to_string(),
            Out::Bool(b) => b.to_string(),
            Out::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The export form of one value, by kind: what `check` reads back as the same value (id lists
/// as `1;2`, objects as JSON text).
pub fn out(v: &Value) -> Out {
    match v {
        Value::Text(s) => Out::Text(s.to_string()),
        Value::Date(d) => Out::Date(*d),
        Value::Bool(b) => Out::Bool(*b),
        Value::IdList(ids) => Out::Text(format_id_list(ids)),
        Value::Object(m) => Out::Text(serde_json::Value::Object(m.clone()).to_string()),
    }
}

/// The row of one record, in [`columns`] order.
pub fn row(record: &Record) -> Vec<Out> {
    let entity = record.entity();
    let id = record.id.map_or(Out::Empty, Out::Int);
    std::iter::once(id)
        .chain((0..entity.value_count()).map(|i| record.get(i).map_or(Out::Empty, out)))
        .collect()
}

/// The columns of one export, for people as much as for a re-import: the entity's columns, with
/// each `external_source_data` key that holds text in every case that has it as a column of its
/// own, `external_source_data.KEY`, right after the `external_source_data` column, which keeps
/// only the rest (numbers, flags, nested objects: what a column of text would not give back).
/// A re-import reads both and merges them into the same object.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub names: Vec<String>,
    /// Where `external_source_data` is in [`row`], and the keys given their own column.
    data: Option<(usize, Vec<String>)>,
}

/// The [`Layout`] of an export of `records`.
pub fn layout(entity: &Entity, records: &[Record]) -> Layout {
    let base: Vec<String> = columns(entity).iter().map(|c| c.to_string()).collect();
    let Some(d) = entity.data_field() else {
        return Layout {
            names: base,
            data: None,
        };
    };
    // key → whether every value it has is text a column gives back as it was
    let mut keys: std::collections::BTreeMap<&str, bool> = Default::default();
    for r in records {
        if let Some(Value::Object(m)) = r.get(d) {
            for (k, v) in m {
                let text = matches!(v, serde_json::Value::String(s) if !s.trim().is_empty() && s.trim() == s);
                *keys.entry(k.as_str()).or_insert(true) &= text && !k.trim().is_empty();
            }
        }
    }
    // Headers are matched without regard to case: `Ref` and `ref` stay in the object.
    let folded = |k: &str| k.to_lowercase();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for k in keys.keys() {
        *seen.entry(folded(k)).or_default() += 1;
    }
    let split: Vec<String> = keys
        .into_iter()
        .filter(|(k, text)| *text && seen[&folded(k)] == 1)
        .map(|(k, _)| k.to_string())
        .collect();
    let at = 1 + d; // after `id`
    let mut names = base;
    for (i, k) in split.iter().enumerate() {
        names.insert(at + 1 + i, format!("{}.{k}", entity.fields[d].name));
    }
    Layout {
        names,
        data: Some((at, split)),
    }
}

impl Layout {
    /// The row of one record under these columns.
    pub fn row(&self, record: &Record) -> Vec<Out> {
        let mut cells = row(record);
        let Some((at, keys)) = &self.data else {
            return cells;
        };
        let mut rest = match record.get(at - 1) {
            // An empty object stays `{}`, as it was: only keys moved out leave the cell blank.
            Some(Value::Object(m)) if m.is_empty() => return with_blank_keys(cells, *at, keys),
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        let own: Vec<Out> = keys
            .iter()
            .map(|k| match rest.remove(k) {
                Some(serde_json::Value::String(s)) => Out::Text(s),
                _ => Out::Empty,
            })
            .collect();
        cells[*at] = if rest.is_empty() {
            Out::Empty
        } else {
            Out::Text(serde_json::Value::Object(rest).to_string())
        };
        let tail = cells.split_off(at + 1);
        cells.extend(own);
        cells.extend(tail);
        cells
    }
}

/// `cells` with a blank cell for each key column, after the data column at `at`.
fn with_blank_keys(mut cells: Vec<Out>, at: usize, keys: &[String]) -> Vec<Out> {
    let tail = cells.split_off(at + 1);
    cells.extend(keys.iter().map(|_| Out::Empty));
    cells.extend(tail);
    cells
}

/// A column's width for people: its widest value (the header included, first rows only) in
/// characters, at least 8 and at most 50; text wider than that is wrapped in its cell.
pub fn width(widest: usize) -> f64 {
    (widest as f64 + 2.0).clamp(8.0, WRAP_WIDTH)
}

/// The width past which a text column wraps its cells.
const WRAP_WIDTH: f64 = 50.0;

/// How many rows a column's width is measured over: the first screens are what people see.
const MEASURED_ROWS: usize = 1000;

/// The width in characters of one exported value as Excel shows it.
fn shown_chars(v: &Out) -> usize {
    match v {
        Out::Empty => 0,
        Out::Text(s) => s.lines().map(|l| l.chars().count()).max().unwrap_or(0),
        Out::Int(n) => n.to_string().len(),
        Out::Bool(_) => 5,
        Out::Date(_) => 10,
    }
}

/// Whether Excel can hold a date as a date cell: its calendar runs from 1900-01-01 to
/// 9999-12-31. Outside it a date cell would read back as a time (`1899-12-31` is serial 0) or
/// as a negative number (a typo year such as `0202`).
pub fn excel_holds_date(d: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(1900, 1, 1).is_some_and(|lo| d >= lo)
        && NaiveDate::from_ymd_opt(9999, 12, 31).is_some_and(|hi| d <= hi)
}

/// What an XLSX export of `records` cannot hold as it is, one warning each (empty when all
/// fits): texts longer than a cell (cut, with a marker that a re-import refuses) and dates
/// outside Excel's calendar (written whole as `YYYY-MM-DD` text). A CSV export holds everything.
pub fn excel_limits(records: &[Record]) -> Vec<String> {
    const SHOWN: usize = 5;
    let mut long: Vec<String> = Vec::new();
    let mut long_n = 0;
    let mut dates: Vec<String> = Vec::new();
    let mut dates_n = 0;
    for r in records {
        let id = r.id.map_or_else(|| "?".to_string(), |i| i.to_string());
        for (name, v) in row_names(r).into_iter().zip(row(r)) {
            match v {
                Out::Text(s) if s.len() > MAX_CELL_CHARS => {
                    let units = s.encode_utf16().count();
                    if units > MAX_CELL_CHARS {
                        long_n += 1;
                        if long.len() < SHOWN {
                            long.push(format!("id {id} {name} ({units} characters)"));
                        }
                    }
                }
                Out::Date(d) if !excel_holds_date(d) => {
                    dates_n += 1;
                    if dates.len() < SHOWN {
                        dates.push(format!("id {id} {name} {}", d.format("%Y-%m-%d")));
                    }
                }
                _ => {}
            }
        }
    }
    let more = |n: usize, shown: usize| {
        if n > shown {
            format!(" and {} more", n - shown)
        } else {
            String::new()
        }
    };
    let mut out = Vec::new();
    if long_n > 0 {
        out.push(format!(
            "{long_n} {} longer than one Excel cell holds ({MAX_CELL_CHARS} characters) and cut in the workbook, ending '[cut: N characters]': {}{}; importing the workbook refuses them. Export to a .csv file to keep them whole",
            if long_n == 1 { "text is" } else { "texts are" },
            long.join(", "),
            more(long_n, long.len())
        ));
    }
    if dates_n > 0 {
        out.push(format!(
            "{dates_n} {} outside Excel's calendar (1900-01-01 to 9999-12-31), written whole as text: {}{}; check the year for a typo",
            if dates_n == 1 { "date is" } else { "dates are" },
            dates.join(", "),
            more(dates_n, dates.len())
        ));
    }
    out
}

/// The column name of each value of [`row`].
fn row_names(record: &Record) -> Vec<&'static str> {
    columns(record.entity())
}

/// `<out>.errors.csv`, beside a CSV export.
pub fn errors_csv_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".errors.csv");
    PathBuf::from(s)
}

/// Why an export could not be written. Names the file; keeps the writer's error as the cause.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Xlsx {
        path: PathBuf,
        #[source]
        source: XlsxError,
    },
    /// The finished temporary file could not be moved into place.
    #[error(transparent)]
    Replace(#[from] ResultsError),
}

/// A writer failure before the file is named: [`write`] names it.
enum Cause {
    Io(std::io::Error),
    Csv(csv::Error),
    Xlsx(XlsxError),
}

impl From<std::io::Error> for Cause {
    fn from(e: std::io::Error) -> Self {
        Cause::Io(e)
    }
}

impl From<csv::Error> for Cause {
    fn from(e: csv::Error) -> Self {
        Cause::Csv(e)
    }
}

impl From<XlsxError> for Cause {
    fn from(e: XlsxError) -> Self {
        Cause::Xlsx(e)
    }
}

impl Cause {
    fn at(self, path: &Path) -> SheetError {
        let path = path.to_path_buf();
        match self {
            Cause::Io(source) => SheetError::Io { path, source },
            Cause::Csv(source) => SheetError::Csv { path, source },
            Cause::Xlsx(source) => SheetError::Xlsx { path, source },
        }
    }
}

/// What a report adds beside the records themselves.
#[derive(Debug, Default)]
pub struct Extras {
    /// The Summary sheet (XLSX only: a CSV file has one table) and its title line.
    pub summary: Option<(Tally, String)>,
    /// What changed since the previous report: the `Changes` sheet, or `<out>.changes.csv`.
    pub changes: Option<Vec<changes::Row>>,
    /// The records the first sheet's id lists link to (`export --with-clients`: the clients of
    /// the cases, which `client_ids` name by id): a sheet of their own after the first
    /// (`Clients`), or [`clients_csv_path`] beside a CSV export.
    pub linked: Option<(&'static Entity, Vec<Record>)>,
}

/// `<out>.clients.csv`, beside a CSV export that has its clients (`export --with-clients`).
pub fn clients_csv_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".clients.csv");
    PathBuf::from(s)
}

/// Write the export of `entity`'s `records` atomically (temporary file, then rename). `errors`
/// are (id, reason) pairs.
pub fn write(
    out: &Path,
    entity: &Entity,
    records: &[Record],
    errors: &[(u64, String)],
) -> Result<(), SheetError> {
    write_with(out, entity, records, errors, &Extras::default())
}

/// [`write`], with the report's [`Extras`].
pub fn write_with(
    out: &Path,
    entity: &Entity,
    records: &[Record],
    errors: &[(u64, String)],
    extras: &Extras,
) -> Result<(), SheetError> {
    let csv = out
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    let temp = crate::report::results::temp_path(out);
    let done = if csv {
        write_csv(&temp, entity, records)
    } else {
        write_xlsx(&temp, entity, records, errors, extras)
    };
    if let Err(e) = done {
        let _ = std::fs::remove_file(&temp);
        return Err(e.at(out));
    }
    crate::report::results::replace(&temp, out)?;
    if let (true, Some(rows)) = (csv, &extras.changes) {
        write_changes_beside(out, rows)?;
    }
    if let (true, Some((other, linked))) = (csv, &extras.linked) {
        let lp = clients_csv_path(out);
        let t = crate::report::results::temp_path(&lp);
        write_csv(&t, other, linked).map_err(|e| e.at(&lp))?;
        crate::report::results::replace(&t, &lp)?;
    }
    if csv {
        let ep = errors_csv_path(out);
        if errors.is_empty() {
            let _ = std::fs::remove_file(&ep);
        } else {
            let t = crate::report::results::temp_path(&ep);
            write_errors_csv(&t, errors).map_err(|e| e.at(&ep))?;
            crate::report::results::replace(&t, &ep)?;
        }
    }
    Ok(())
}

/// `<out>.changes.csv` beside a CSV report, written atomically.
pub fn write_changes_beside(out: &Path, rows: &[changes::Row]) -> Result<(), SheetError> {
    let cp = changes::csv_path(out);
    let t = crate::report::results::temp_path(&cp);
    write_changes_csv(&t, rows).map_err(|e| e.at(&cp))?;
    crate::report::results::replace(&t, &cp)?;
    Ok(())
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>, Cause> {
    let mut f = std::fs::File::create(path)?;
    f.write_all("\u{feff}".as_bytes())?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f))
}

fn write_csv(path: &Path, entity: &Entity, records: &[Record]) -> Result<(), Cause> {
    let mut w = csv_writer(path)?;
    let layout = layout(entity, records);
    w.write_record(&layout.names)?;
    for r in records {
        w.write_record(layout.row(r).iter().map(Out::csv_text))?;
    }
    Ok(w.flush()?)
}

fn write_errors_csv(path: &Path, errors: &[(u64, String)]) -> Result<(), Cause> {
    let mut w = csv_writer(path)?;
    w.write_record(["id", "error"])?;
    for (id, e) in errors {
        w.write_record([id.to_string(), guard_formula(e).into_owned()])?;
    }
    Ok(w.flush()?)
}

fn write_changes_csv(path: &Path, rows: &[changes::Row]) -> Result<(), Cause> {
    let mut w = csv_writer(path)?;
    w.write_record(changes::COLUMNS)?;
    for r in rows {
        w.write_record(
            std::iter::once(r.id.to_string())
                .chain(r.cells.iter().map(|c| guard_formula(c).into_owned())),
        )?;
    }
    Ok(w.flush()?)
}

/// The `Changes` sheet: one line per new case, changed field and gone case, filterable.
pub(crate) fn add_changes(
    wb: &mut Workbook,
    rows: &[changes::Row],
    head: &Format,
) -> Result<(), XlsxError> {
    let cs = wb.add_worksheet();
    cs.set_name("Changes")?;
    for (i, (name, width)) in changes::COLUMNS
        .iter()
        .zip([10.0, 18.0, 12.0, 20.0, 40.0, 40.0])
        .enumerate()
    {
        cs.write_string_with_format(0, i as u16, *name, head)?;
        cs.set_column_width(i as u16, width)?;
    }
    cs.set_freeze_panes(1, 0)?;
    // Printed, old and new stay on the page beside the field they belong to.
    cs.set_landscape();
    cs.set_print_fit_to_pages(1, 0);
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        cs.write_number(r, 0, row.id as f64)?;
        for (i, c) in row.cells.iter().enumerate() {
            if !c.is_empty() {
                cs.write_string(r, (i + 1) as u16, clip_for_excel(c, MAX_CELL_CHARS))?;
            }
        }
    }
    cs.autofilter(0, 0, rows.len() as u32, (changes::COLUMNS.len() - 1) as u16)?;
    Ok(())
}

/// One sheet of records, named after their entity (`Cases`): frozen header, filter, columns as
/// wide as their values, long text wrapped.
fn records_sheet(
    wb: &mut Workbook,
    entity: &Entity,
    records: &[Record],
    head: &Format,
) -> Result<(), Cause> {
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let wrap = Format::new()
        .set_text_wrap()
        .set_align(rust_xlsxwriter::FormatAlign::Top);
    let layout = layout(entity, records);
    let cols = &layout.names;
    let sheet = wb.add_worksheet();
    sheet.set_name(entity.title())?;
    let mut widest: Vec<usize> = cols.iter().map(|c| c.chars().count()).collect();
    for r in records.iter().take(MEASURED_ROWS) {
        for (w, v) in widest.iter_mut().zip(layout.row(r)) {
            *w = (*w).max(shown_chars(&v));
        }
    }
    for (i, name) in cols.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, name, head)?;
        sheet.set_column_width(i as u16, width(widest[i]))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, c) in records.iter().enumerate() {
        let r = (r + 1) as u32;
        for (i, v) in layout.row(c).iter().enumerate() {
            let i = i as u16;
            match v {
                Out::Empty => {}
                // Long text (or text of several lines) wraps in its column, top-aligned.
                Out::Text(s) if s.contains('\n') || width(shown_chars(v)) >= WRAP_WIDTH => {
                    sheet.write_string_with_format(
                        r,
                        i,
                        clip_for_excel(s, MAX_CELL_CHARS),
                        &wrap,
                    )?;
                }
                Out::Text(s) => {
                    sheet.write_string(r, i, clip_for_excel(s, MAX_CELL_CHARS))?;
                }
                Out::Int(n) => {
                    sheet.write_number(r, i, *n as f64)?;
                }
                Out::Bool(b) => {
                    sheet.write_boolean(r, i, *b)?;
                }
                Out::Date(d) if excel_holds_date(*d) => {
                    sheet.write_datetime_with_format(r, i, d, &date)?;
                }
                Out::Date(d) => {
                    // Whole, as the text a re-import reads back as the same date.
                    sheet.write_string(r, i, d.format("%Y-%m-%d").to_string())?;
                }
            }
        }
    }
    sheet.autofilter(0, 0, records.len() as u32, (cols.len() - 1) as u16)?;
    Ok(())
}

fn write_xlsx(
    path: &Path,
    entity: &Entity,
    records: &[Record],
    errors: &[(u64, String)],
    extras: &Extras,
) -> Result<(), Cause> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    records_sheet(&mut wb, entity, records, &head)?;
    if let Some((other, linked)) = &extras.linked {
        records_sheet(&mut wb, other, linked, &head)?;
    }
    // After the cases, which stay the first sheet: the workbook is an import file.
    if let Some((tally, title)) = &extras.summary {
        summary_sheet::add(&mut wb, tally, title)?;
    }
    if let Some(rows) = &extras.changes {
        add_changes(&mut wb, rows, &head)?;
    }
    if !errors.is_empty() {
        let es = wb.add_worksheet();
        es.set_name("Errors")?;
        es.write_string_with_format(0, 0, "id", &head)?;
        es.write_string_with_format(0, 1, "error", &head)?;
        es.set_column_width(1, 80)?;
        es.set_freeze_panes(1, 0)?;
        for (r, (id, e)) in errors.iter().enumerate() {
            es.write_number((r + 1) as u32, 0, *id as f64)?;
            es.write_string((r + 1) as u32, 1, e)?;
        }
    }
    Ok(wb.save(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;
    use crate::check::parse_cell;
    use crate::check::phone::Country;
    use crate::check::rules::DateOrder;
    use crate::entity::{ALL, CASES, Kind};

    const US: Country = Country::US;

    #[test]
    fn header_follows_the_table() {
        let c = columns(&CASES);
        assert_eq!(c[0], "id");
        assert_eq!(c[1], "case_number");
        assert_eq!(c.len(), 1 + CASES.fields.len() + 5);
        assert_eq!(
            &c[c.len() - 5..],
            [
                "call_opted_out",
                "sms_opted_out",
                "email_opted_out",
                "origin",
                "update_origin"
            ]
        );
    }

    #[test]
    fn values() {
        let answer = serde_json::json!({
            "id": 7, "case_number": "=1+1", "client_ids": [1, 2], "created_date": "2024-03-05",
            "external_source_data": {"a": 1}, "is_obo": false, "sms_opted_out": true
        });
        let c = Record::from_json(&CASES, &answer).unwrap();
        let r = row(&c);
        let cols = columns(&CASES);
        assert_eq!(r.len(), cols.len());
        let at = |n: &str| r[cols.iter().position(|c| *c == n).unwrap()].clone();
        let table: &[(&str, Out, &str)] = &[
            ("id", Out::Int(7), "7"),
            ("client_ids", Out::Text("1;2".into()), "1;2"),
            (
                "external_source_data",
                Out::Text(r#"{"a":1}"#.into()),
                r#"{"a":1}"#,
            ),
            (
                "created_date",
                Out::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()),
                "2024-03-05",
            ),
            ("is_obo", Out::Bool(false), "false"),
            ("sms_opted_out", Out::Bool(true), "true"),
            ("name", Out::Empty, ""),
            ("case_number", Out::Text("=1+1".into()), "'=1+1"),
        ];
        for (name, want, csv) in table {
            assert_eq!(at(name), *want, "{name}");
            assert_eq!(at(name).csv_text(), *csv, "{name}");
        }
    }

    /// Every kind has a check (a cell becomes a value), a payload form (the value goes out as JSON
    /// and an answer reads back as the same value) and an export form (which the check reads back
    /// as the same value). A kind added without one of them fails here, or does not compile.
    #[test]
    fn every_kind_has_a_check_a_payload_and_an_export_form() {
        let position = |k: Kind| match k {
            Kind::Text => 0,
            Kind::Date => 1,
            Kind::Bool => 2,
            Kind::IdList => 3,
            Kind::Object => 4,
            Kind::Email => 5,
            Kind::Mobile => 6,
        };
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(position(k), i, "Kind::ALL lists every kind once, in order");
            let checked = parse_cell(k, &Cell::Text(k.sample().into()), DateOrder::Mdy, US)
                .unwrap_or_else(|e| panic!("{k:?}: no check accepts its sample: {e}"));
            assert_eq!(checked.kind(), k.value_kind());
            let wire = serde_json::to_value(&checked).unwrap();
            assert_eq!(wire, checked.to_json(), "{k:?}: one payload form");
            assert!(!wire.is_null(), "{k:?}: no payload form");
            let mut answer = serde_json::Map::new();
            let (entity, field) = ALL
                .iter()
                .find_map(|e| e.fields.iter().find(|f| f.kind == k).map(|f| (*e, f)))
                .unwrap_or_else(|| panic!("no field of kind {k:?} in any table to test with"));
            answer.insert(field.name.into(), wire);
            let read = Record::from_json(entity, &answer.into()).unwrap();
            assert_eq!(
                read.by_name(field.name),
                Some(&checked),
                "{k:?}: answer form"
            );
            let exported = out(&checked);
            assert_ne!(exported, Out::Empty, "{k:?}: no export form");
            let cell = match &exported {
                Out::Date(d) => Cell::Date(*d),
                Out::Bool(b) => Cell::Bool(*b),
                // As the CSV reader reads it back: our own formula guard undone (`'+1404…`).
                other => Cell::Text(crate::read::undo_formula_guard(&other.csv_text()).into()),
            };
            assert_eq!(
                parse_cell(k, &cell, DateOrder::Mdy, US).as_ref(),
                Ok(&checked),
                "{k:?}: the export form reads back"
            );
        }
        assert_eq!(Kind::ALL.len(), 7);
    }

    #[test]
    fn data_keys_of_text_get_columns_of_their_own() {
        let case = |id: u64, data: serde_json::Value| {
            Record::from_json(
                &CASES,
                &serde_json::json!({"id": id, "external_source_data": data}),
            )
            .unwrap()
        };
        let base = columns(&CASES).len();
        // (the cases' data, the key columns, each case's data cells: rest, then key columns)
        type Want = (Vec<&'static str>, Vec<Vec<&'static str>>);
        let table: Vec<(Vec<serde_json::Value>, Want)> = vec![
            (vec![serde_json::json!({})], (vec![], vec![vec!["{}"]])),
            (
                vec![serde_json::json!({"ref": "R1"}), serde_json::json!({})],
                (vec!["ref"], vec![vec!["", "R1"], vec!["{}", ""]]),
            ),
            (
                vec![
                    serde_json::json!({"ref": "R1", "n": 1}),
                    serde_json::json!({"ref": "R2", "office": "Austin"}),
                ],
                (
                    vec!["ref", "office"],
                    vec![vec![r#"{"n":1}"#, "", "R1"], vec!["", "Austin", "R2"]],
                ),
            ),
            (
                // Text in one case and a number in another, blank or padded text, keys that
                // differ only in case: all stay in the object, which gives them back as they were.
                vec![
                    serde_json::json!({"a": "x", "b": "", "c": " y", "K": "1"}),
                    serde_json::json!({"a": 2, "k": "2"}),
                ],
                (
                    vec![],
                    vec![
                        vec![r#"{"K":"1","a":"x","b":"","c":" y"}"#],
                        vec![r#"{"a":2,"k":"2"}"#],
                    ],
                ),
            ),
        ];
        for (data, (keys, cells)) in table {
            let records: Vec<Record> = data
                .into_iter()
                .enumerate()
                .map(|(i, d)| case(i as u64 + 1, d))
                .collect();
            let l = layout(&CASES, &records);
            let at = l
                .names
                .iter()
                .position(|n| n == "external_source_data")
                .unwrap();
            let mut want_keys: Vec<String> = keys
                .iter()
                .map(|k| format!("external_source_data.{k}"))
                .collect();
            want_keys.sort();
            assert_eq!(l.names[at + 1..at + 1 + keys.len()], want_keys[..]);
            assert_eq!(l.names.len(), base + keys.len());
            for (r, want) in records.iter().zip(cells) {
                let row = l.row(r);
                assert_eq!(row.len(), l.names.len());
                let got: Vec<String> = row[at..=at + keys.len()]
                    .iter()
                    .map(Out::csv_text)
                    .collect();
                assert_eq!(got, want, "{:?}", l.names);
            }
        }
    }

    #[test]
    fn columns_are_as_wide_as_their_values_within_bounds() {
        for (widest, want) in [(0, 8.0), (6, 8.0), (10, 12.0), (48, 50.0), (400, 50.0)] {
            assert_eq!(width(widest), want, "{widest}");
        }
        let table = [
            (Out::Empty, 0),
            (Out::Text("héllo".into()), 5),
            (Out::Text("ab\nabcd".into()), 4),
            (Out::Int(12345), 5),
            (Out::Bool(false), 5),
            (Out::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()), 10),
        ];
        for (v, want) in table {
            assert_eq!(shown_chars(&v), want, "{v:?}");
        }
    }

    #[test]
    fn write_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // A missing folder is made (a scheduled job's reports/); a file in its place cannot be.
        std::fs::write(dir.path().join("a-file"), "").unwrap();
        let out = dir.path().join("a-file").join("x.csv");
        let e = write(&out, &CASES, &[], &[]).unwrap_err();
        assert!(matches!(e, SheetError::Io { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("cannot write {}: ", out.display())),
            "{e}"
        );
        let ok = dir.path().join("new-folder").join("x.xlsx");
        write(&ok, &CASES, &[], &[(5, "gone".into())]).unwrap();
        assert!(ok.exists());
    }

    #[test]
    fn what_excel_cannot_hold_is_named() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for (d, want) in [
            (day(1900, 1, 1), true),
            (day(2024, 3, 5), true),
            (day(9999, 12, 31), true),
            (day(1899, 12, 31), false),
            (day(202, 3, 5), false),
            (day(10000, 1, 1), false),
        ] {
            assert_eq!(excel_holds_date(d), want, "{d}");
        }
        let field = |n: &str| CASES.field_index(n).unwrap();
        let mut fits = Record::new(&CASES);
        fits.id = Some(1);
        fits.set(
            field("description"),
            Value::Text("x".repeat(MAX_CELL_CHARS).into()),
        );
        fits.set(field("created_date"), Value::Date(day(1900, 1, 1)));
        assert!(excel_limits(std::slice::from_ref(&fits)).is_empty());
        let mut bad = Record::new(&CASES);
        bad.id = Some(7);
        bad.set(
            field("description"),
            Value::Text("é".repeat(MAX_CELL_CHARS + 1).into()),
        );
        bad.set(field("created_date"), Value::Date(day(1899, 12, 31)));
        bad.set(field("end_date"), Value::Date(day(202, 3, 5)));
        let got = excel_limits(&[fits, bad]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("1 text is longer than one Excel cell holds (32767 characters) and cut in the workbook, ending '[cut: N characters]': id 7 description (32768 characters);"), "{}", got[0]);
        assert_eq!(
            got[1],
            "2 dates are outside Excel's calendar (1900-01-01 to 9999-12-31), written whole as text: id 7 created_date 1899-12-31, id 7 end_date 0202-03-05; check the year for a typo"
        );
    }
}

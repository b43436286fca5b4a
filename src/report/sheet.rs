//! Writing exported records: XLSX (real date cells, frozen header, autofilter, an `Errors` sheet)
//! or CSV (UTF-8 with BOM, `YYYY-MM-DD` dates, formula guard, failures in `<out>.errors.csv`). The
//! layout is a valid import file: `id` plus the entity's fields under their own names, in table
//! order, then what only answers carry. Each kind's export form is the text its check reads back.
//! No network.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatBorder, Workbook, XlsxError};

use crate::check::rules::format_id_list;
use crate::entity::{Entity, Record, Value};
use crate::report::results::{ResultsError, guard_formula};

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
        Value::Text(s) => Out::Text(s.clone()),
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

/// Write the export of `entity`'s `records` atomically (temporary file, then rename). `errors`
/// are (id, reason) pairs.
pub fn write(
    out: &Path,
    entity: &Entity,
    records: &[Record],
    errors: &[(u64, String)],
) -> Result<(), SheetError> {
    let csv = out
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    let temp = crate::report::results::temp_path(out);
    let done = if csv {
        write_csv(&temp, entity, records)
    } else {
        write_xlsx(&temp, entity, records, errors)
    };
    if let Err(e) = done {
        let _ = std::fs::remove_file(&temp);
        return Err(e.at(out));
    }
    crate::report::results::replace(&temp, out)?;
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

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>, Cause> {
    let mut f = std::fs::File::create(path)?;
    f.write_all("\u{feff}".as_bytes())?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f))
}

fn write_csv(path: &Path, entity: &Entity, records: &[Record]) -> Result<(), Cause> {
    let mut w = csv_writer(path)?;
    w.write_record(columns(entity))?;
    for r in records {
        w.write_record(row(r).iter().map(Out::csv_text))?;
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

fn write_xlsx(
    path: &Path,
    entity: &Entity,
    records: &[Record],
    errors: &[(u64, String)],
) -> Result<(), Cause> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let cols = columns(entity);
    let sheet = wb.add_worksheet();
    sheet.set_name(entity.title())?;
    for (i, name) in cols.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *name, &head)?;
        sheet.set_column_width(i as u16, (name.len() as f64 + 2.0).max(12.0))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, c) in records.iter().enumerate() {
        let r = (r + 1) as u32;
        for (i, v) in row(c).iter().enumerate() {
            let i = i as u16;
            match v {
                Out::Empty => {}
                Out::Text(s) => {
                    sheet.write_string(r, i, crate::report::results::clip_for_excel(s, 32_767))?;
                }
                Out::Int(n) => {
                    sheet.write_number(r, i, *n as f64)?;
                }
                Out::Bool(b) => {
                    sheet.write_boolean(r, i, *b)?;
                }
                Out::Date(d) => {
                    sheet.write_datetime_with_format(r, i, d, &date)?;
                }
            }
        }
    }
    sheet.autofilter(0, 0, records.len() as u32, (cols.len() - 1) as u16)?;
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
    use crate::check::rules::DateOrder;
    use crate::entity::{CASES, Kind};

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
        };
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(position(k), i, "Kind::ALL lists every kind once, in order");
            let checked = parse_cell(k, &Cell::Text(k.sample().into()), DateOrder::Mdy)
                .unwrap_or_else(|e| panic!("{k:?}: no check accepts its sample: {e}"));
            assert_eq!(checked.kind(), k);
            let wire = serde_json::to_value(&checked).unwrap();
            assert_eq!(wire, checked.to_json(), "{k:?}: one payload form");
            assert!(!wire.is_null(), "{k:?}: no payload form");
            let mut answer = serde_json::Map::new();
            let field = CASES
                .fields
                .iter()
                .find(|f| f.kind == k)
                .unwrap_or_else(|| panic!("no case field of kind {k:?} to test with"));
            answer.insert(field.name.into(), wire);
            let read = Record::from_json(&CASES, &answer.into()).unwrap();
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
                other => Cell::Text(other.csv_text()),
            };
            assert_eq!(
                parse_cell(k, &cell, DateOrder::Mdy).as_ref(),
                Ok(&checked),
                "{k:?}: the export form reads back"
            );
        }
        assert_eq!(Kind::ALL.len(), 5);
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
}

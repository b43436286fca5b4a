//! Writing exported cases: XLSX (real date cells, frozen header, autofilter, an `Errors` sheet) or
//! CSV (UTF-8 with BOM, `YYYY-MM-DD` dates, formula guard, failures in `<out>.errors.csv`). The
//! layout is a valid import file: `id` plus the schema's fields under their own names. No network.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatBorder, Workbook, XlsxError};
use serde_json::Value;

use crate::case::CaseRecord;
use crate::entity::{FIELDS, FieldType};
use crate::report::results::guard_formula;

/// Columns that follow the schema fields: what only an answer carries.
pub const TAIL_COLUMNS: &[&str] = &[
    "call_opted_out",
    "sms_opted_out",
    "email_opted_out",
    "origin",
    "update_origin",
];

/// The export's header row: `id`, every schema field in schema order, then [`TAIL_COLUMNS`].
pub fn columns() -> Vec<&'static str> {
    std::iter::once("id")
        .chain(FIELDS.iter().map(|f| f.name))
        .chain(TAIL_COLUMNS.iter().copied())
        .collect()
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

/// The row of one case, in [`columns`] order.
pub fn row(case: &CaseRecord) -> Vec<Out> {
    let v = serde_json::to_value(case).unwrap_or(Value::Null);
    columns()
        .into_iter()
        .map(|name| {
            let ty = crate::entity::field(name).map(|f| f.ty);
            value(v.get(name).unwrap_or(&Value::Null), ty)
        })
        .collect()
}

fn value(v: &Value, ty: Option<FieldType>) -> Out {
    match (v, ty) {
        (Value::Null, _) => Out::Empty,
        (Value::String(s), Some(FieldType::Date)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d")
        {
            Ok(d) => Out::Date(d),
            Err(_) => Out::Text(s.clone()),
        },
        (Value::String(s), _) => Out::Text(s.clone()),
        (Value::Bool(b), _) => Out::Bool(*b),
        (Value::Number(n), _) => match n.as_u64() {
            Some(i) => Out::Int(i),
            None => Out::Text(n.to_string()),
        },
        (Value::Array(a), _) => Out::Text(
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(";"),
        ),
        (Value::Object(_), _) => Out::Text(v.to_string()),
    }
}

/// `<out>.errors.csv`, beside a CSV export.
pub fn errors_csv_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".errors.csv");
    PathBuf::from(s)
}

/// Write the export atomically (temporary file, then rename). `errors` are (id, reason) pairs.
pub fn write(out: &Path, cases: &[CaseRecord], errors: &[(u64, String)]) -> Result<(), String> {
    let csv = out
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    let temp = crate::report::results::temp_path(out);
    let done = if csv {
        write_csv(&temp, cases)
    } else {
        write_xlsx(&temp, cases, errors).map_err(|e| e.to_string())
    };
    if let Err(e) = done {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write {}: {e}", out.display()));
    }
    crate::report::results::replace(&temp, out).map_err(|e| e.to_string())?;
    if csv {
        let ep = errors_csv_path(out);
        if errors.is_empty() {
            let _ = std::fs::remove_file(&ep);
        } else {
            let t = crate::report::results::temp_path(&ep);
            write_errors_csv(&t, errors)
                .map_err(|e| format!("cannot write {}: {e}", ep.display()))?;
            crate::report::results::replace(&t, &ep).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>, String> {
    let mut f = std::fs::File::create(path).map_err(|e| e.to_string())?;
    f.write_all("\u{feff}".as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f))
}

fn write_csv(path: &Path, cases: &[CaseRecord]) -> Result<(), String> {
    let mut w = csv_writer(path)?;
    w.write_record(columns()).map_err(|e| e.to_string())?;
    for c in cases {
        w.write_record(row(c).iter().map(Out::csv_text))
            .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn write_errors_csv(path: &Path, errors: &[(u64, String)]) -> Result<(), String> {
    let mut w = csv_writer(path)?;
    w.write_record(["id", "error"]).map_err(|e| e.to_string())?;
    for (id, e) in errors {
        w.write_record([id.to_string(), guard_formula(e).into_owned()])
            .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn write_xlsx(
    path: &Path,
    cases: &[CaseRecord],
    errors: &[(u64, String)],
) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let cols = columns();
    let sheet = wb.add_worksheet();
    sheet.set_name("Cases")?;
    for (i, name) in cols.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *name, &head)?;
        sheet.set_column_width(i as u16, (name.len() as f64 + 2.0).max(12.0))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, c) in cases.iter().enumerate() {
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
    sheet.autofilter(0, 0, cases.len() as u32, (cols.len() - 1) as u16)?;
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
    wb.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_follows_the_schema() {
        let c = columns();
        assert_eq!(c[0], "id");
        assert_eq!(c[1], "case_number");
        assert_eq!(c.len(), 1 + FIELDS.len() + 5);
        assert_eq!(&c[c.len() - 5..], TAIL_COLUMNS);
    }

    #[test]
    fn values() {
        let mut data = serde_json::Map::new();
        data.insert("a".into(), serde_json::json!(1));
        let c = CaseRecord {
            id: Some(7),
            case_number: Some("=1+1".into()),
            client_ids: Some(vec![1, 2]),
            created_date: NaiveDate::from_ymd_opt(2024, 3, 5),
            external_source_data: Some(data),
            is_obo: Some(false),
            sms_opted_out: Some(true),
            ..Default::default()
        };
        let r = row(&c);
        let at = |n: &str| r[columns().iter().position(|c| *c == n).unwrap()].clone();
        assert_eq!(at("id"), Out::Int(7));
        assert_eq!(at("client_ids"), Out::Text("1;2".into()));
        assert_eq!(at("external_source_data"), Out::Text(r#"{"a":1}"#.into()));
        assert_eq!(
            at("created_date"),
            Out::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())
        );
        assert_eq!(at("created_date").csv_text(), "2024-03-05");
        assert_eq!(at("is_obo"), Out::Bool(false));
        assert_eq!(at("sms_opted_out").csv_text(), "true");
        assert_eq!(at("name"), Out::Empty);
        assert_eq!(at("case_number").csv_text(), "'=1+1");
    }
}

//! Shared helpers for the integration tests: run the binary in a temp folder and read results
//! files back cell by cell.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, open_workbook_auto};

pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("kayse-bulk").unwrap();
    c.env_remove("KAYSE_API_KEY").env_remove("KAYSE_BASE_URL");
    c
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every row of a sheet (the first when `sheet` is None) as calamine cells.
pub fn sheet_rows(path: &Path, sheet: Option<&str>) -> Vec<Vec<Data>> {
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = match sheet {
        Some(s) => s.to_string(),
        None => wb.sheet_names()[0].clone(),
    };
    let range = wb.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// A results CSV as rows of strings (BOM stripped).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Text of a calamine cell, the way a person reads it.
pub fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|d| d.date().format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

/// Column index of a header in the first row.
pub fn col(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| text(h) == header)
        .unwrap_or_else(|| panic!("no column {header}"))
}

//! The clients table of a linked import's results, as `reconcile` settles it: read back (the
//! `Clients` sheet of a workbook, or `<results>.clients.csv` beside a CSV file), its clients in
//! doubt found, the clients found marked `created` with their ids, and its counts for the
//! summary. Written again with the results by `file::write`.

use std::collections::BTreeMap;
use std::path::Path;

use super::Lost;
use super::file::col;
use crate::cell::Cell;
use crate::engine::input::read_failed;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::read;
use crate::report::clients::NAME as CLIENTS_TABLE;
use crate::report::results::{ResultsFormat, Table, table_csv_path};

/// The clients table of a linked import's results: the `Clients` sheet of a workbook, or
/// `<results>.clients.csv` beside a CSV file. `None` when there is none.
pub fn read_clients(results: &Path, in_workbook: bool) -> Result<Option<Table>, Fatal> {
    let (path, sheet) = match ResultsFormat::from_path(results) {
        Some(ResultsFormat::Xlsx) if in_workbook => {
            (results.to_path_buf(), Some(CLIENTS_TABLE.to_string()))
        }
        Some(ResultsFormat::Csv) => (table_csv_path(results, CLIENTS_TABLE), None),
        _ => return Ok(None),
    };
    if !path.exists() {
        return Ok(None);
    }
    let options = read::ReadOptions {
        sheet,
        header_row: Some(1),
        ..Default::default()
    };
    let t = read::open(&path, &options).map_err(read_failed)?;
    let width = t.headers.len();
    let mut rows = Vec::new();
    for raw in t.rows {
        let raw = raw.map_err(read_failed)?;
        if raw.is_blank() {
            continue;
        }
        let mut cells = raw.cells;
        cells.resize(width, Cell::Empty);
        rows.push(cells);
    }
    Ok(Some(Table {
        name: CLIENTS_TABLE.to_string(),
        headers: t.headers,
        rows,
    }))
}

/// The clients of the table whose create was lost: `unknown`, no id, matched by their external
/// pair (a client without one cannot be told from another person: it is left as it is).
pub fn lost_clients(table: &Table) -> Vec<Lost> {
    let (Some(res), Some(id)) = (
        col(&table.headers, "kayse_result"),
        col(&table.headers, "kayse_id"),
    ) else {
        return Vec::new();
    };
    let text = |r: &[Cell], c: Option<usize>| {
        c.and_then(|c| r.get(c))
            .map(|c| c.to_text().trim().to_string())
            .unwrap_or_default()
    };
    let (src, ext) = (
        col(&table.headers, "external_source"),
        col(&table.headers, "external_source_id"),
    );
    table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            Outcome::parse(&text(r, Some(res))) == Some(Outcome::Unknown)
                && text(r, Some(id)).is_empty()
        })
        .filter_map(|(k, r)| Lost::client(k, &text(r, src), &text(r, ext)))
        .collect()
}

/// The clients found: each row `created`, with its `kayse_id`, its `kayse_errors` cleared.
pub fn settle_clients(table: &mut Table, found: &[(usize, u64)]) {
    let col = |n: &str| col(&table.headers, n);
    let (id, res, err) = (col("kayse_id"), col("kayse_result"), col("kayse_errors"));
    for &(k, n) in found {
        let Some(row) = table.rows.get_mut(k) else {
            continue;
        };
        let mut set = |c: Option<usize>, v: Cell| {
            if let Some(cell) = c.and_then(|c| row.get_mut(c)) {
                *cell = v;
            }
        };
        set(id, Cell::Int(i64::try_from(n).unwrap_or(i64::MAX)));
        set(res, Cell::Text(Outcome::Created.as_str().to_string()));
        set(err, Cell::Empty);
    }
}

/// The clients per `kayse_result`, for the summary.
pub fn client_counts(table: &Table) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Some(res) = col(&table.headers, "kayse_result") {
        for r in &table.rows {
            let word = r.get(res).map(Cell::to_text).unwrap_or_default();
            if !word.trim().is_empty() {
                *out.entry(word.trim().to_string()).or_default() += 1;
            }
        }
    }
    out
}

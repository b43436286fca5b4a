//! The results file `reconcile` settles: read back (its own columns and the input's), the
//! rows in doubt found in it, a sheet of ids to settle them from, and the file written again
//! atomically through the results writer, with the journal beside it told of each id.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::{Args, Lost};
use crate::cell::Cell;
use crate::cli::Global;
use crate::engine::finish::{self, Results};
use crate::engine::input::read_failed;
use crate::error::{CmdResult, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::read;
use crate::record::journal::{Journal, Record, RowRecord};

const OWN: &[&str] = &["source_row", "kayse_result", "kayse_id", "kayse_errors"];

/// One row of the results file, as read back.
pub struct Row {
    pub source_row: usize,
    pub outcome: Outcome,
    pub id: Option<u64>,
    pub errors: String,
    pub cells: Vec<Cell>,
}

fn col(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

pub fn read_rows(path: &Path) -> Result<(Vec<String>, Vec<Row>), Fatal> {
    let t = read::open(path, &read::ReadOptions::default()).map_err(read_failed)?;
    let need = |n: &str| {
        col(&t.headers, n).ok_or_else(|| {
            Fatal::usage(format!(
                "{} is not a results file (no {n} column)",
                path.display()
            ))
        })
    };
    let (sr, res, id, err) = (
        need("source_row")?,
        need("kayse_result")?,
        need("kayse_id")?,
        need("kayse_errors")?,
    );
    let input: Vec<usize> = (0..t.headers.len())
        .filter(|i| {
            !OWN.iter()
                .any(|o| t.headers[*i].trim().eq_ignore_ascii_case(o))
        })
        .collect();
    let headers = input.iter().map(|i| t.headers[*i].clone()).collect();
    let mut rows = Vec::new();
    for raw in t.rows {
        let raw = raw.map_err(read_failed)?;
        if raw.is_blank() {
            continue;
        }
        let text = |i: usize| raw.cells.get(i).map(Cell::to_text).unwrap_or_default();
        rows.push(Row {
            source_row: text(sr).trim().parse().unwrap_or(raw.source_row),
            outcome: Outcome::parse(&text(res)).unwrap_or(Outcome::Skipped),
            id: text(id).trim().parse().ok(),
            errors: text(err),
            cells: input
                .iter()
                .map(|i| raw.cells.get(*i).cloned().unwrap_or(Cell::Empty))
                .collect(),
        });
    }
    Ok((headers, rows))
}

/// The unknown creates of the file, with their keys.
pub fn lost(headers: &[String], rows: &[Row]) -> Vec<Lost> {
    let cell = |r: &Row, n: &str| {
        col(headers, n)
            .and_then(|c| r.cells.get(c))
            .map(|c| c.to_text().trim().to_string())
            .filter(|t| !t.is_empty())
    };
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.outcome == Outcome::Unknown && r.id.is_none())
        .filter_map(|(index, r)| {
            Some(Lost {
                index,
                case_number: cell(r, "case_number")?,
                external: cell(r, "external_source").zip(cell(r, "external_source_id")),
            })
        })
        .collect()
}

/// Ids a sheet gives for case numbers, with the state they stand for.
pub fn from_sheet(path: &Path) -> Result<HashMap<String, (u64, Value)>, Fatal> {
    let t = read::open(path, &read::ReadOptions::default()).map_err(read_failed)?;
    let id = col(&t.headers, "kayse_id").or(col(&t.headers, "id"));
    let (Some(id), Some(_)) = (id, col(&t.headers, "case_number")) else {
        return Err(Fatal::usage(format!(
            "{}: needs an id column (kayse_id or id) and a case_number column",
            path.display()
        )));
    };
    let mut out = HashMap::new();
    for raw in t.rows {
        let raw = raw.map_err(read_failed)?;
        let Ok(Some(n)) = crate::check::ids::from_cell(raw.cells.get(id).unwrap_or(&Cell::Empty))
        else {
            continue;
        };
        let mut state = serde_json::Map::new();
        for (i, h) in t.headers.iter().enumerate() {
            let v = raw.cells.get(i).map(Cell::to_text).unwrap_or_default();
            if !v.trim().is_empty() && !h.trim().eq_ignore_ascii_case("id") {
                state.insert(h.trim().to_string(), Value::String(v.trim().to_string()));
            }
        }
        if let Some(Value::String(cn)) = state.get("case_number").cloned() {
            out.insert(cn, (n, Value::Object(state)));
        }
    }
    Ok(out)
}

/// The journal beside the results learns each id too, so a later `--resume` agrees.
pub fn note_in_journal(results: &Path, rows: &[Row], found: &[(usize, u64)]) {
    let path = Journal::path_for(results);
    if found.is_empty() || !path.exists() {
        return;
    }
    if let Ok((mut j, _)) = Journal::resume(&path) {
        let recs: Vec<Record> = found
            .iter()
            .map(|(i, id)| {
                Record::Row(RowRecord {
                    row: rows[*i].source_row,
                    batch: None,
                    outcome: Outcome::Created,
                    id: Some(*id),
                    error: None,
                    data: None,
                })
            })
            .collect();
        let _ = j.append(&recs);
        let _ = j.note("reconciled");
    }
}

#[allow(clippy::too_many_arguments)]
pub fn write(
    args: &Args,
    headers: &[String],
    rows: Vec<Row>,
    recovered: usize,
    lost: usize,
    stats: Option<crate::report::summary::RequestStats>,
    ledger: &Path,
    g: &Global,
    started: Instant,
) -> CmdResult {
    let mut summary = finish::summary("reconcile", args.results.display(), Some(&args.results));
    summary.ledger = Some(ledger.display().to_string());
    summary.warnings.push(format!(
        "recovered {recovered} of {lost} unknown rows; {} still unknown",
        lost - recovered
    ));
    let mut results = Results::create(&args.results, headers, &[], &[], summary)?;
    for r in rows {
        let errors = if r.errors.trim().is_empty() {
            Vec::new()
        } else {
            vec![RowError::new("kayse", r.errors)]
        };
        results.write(ResultRow {
            source_row: r.source_row,
            outcome: r.outcome,
            kayse_id: r.id,
            errors,
            cells: r.cells,
            extra: Vec::new(),
        })?;
    }
    let sent = stats.map(|s| crate::engine::Sent {
        stats: Some(s),
        ..Default::default()
    });
    results.finish(g, sent.as_ref(), started)
}

//! `ledger add FILE...`: seed the ledger from results files, exports, or any sheet with an id
//! (`kayse_id` or `id`) and a `case_number` column (`--entity clients`: the external pair): how a new laptop, or a firm that imported
//! before the ledger existed, recovers its ids. No request is sent. A row the checks accept is
//! recorded with every field it holds (so re-importing the same file finds nothing new); a
//! sheet with only ids and keys is recorded with those. Conflicts are reported, never written
//! over what the ledger knows.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cell::Cell;
use crate::engine::input::{CaseSheet, Scanned, read_failed};
use crate::engine::options::{HiddenRows, InputArgs, RulesArgs};
use crate::entity::Entity;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::read;
use crate::record::ledger::{Ledger, Source};

/// What seeding came to.
#[derive(Debug, Default)]
pub struct Added {
    /// Ids recorded without a conflict (new, or known with the same keys).
    pub added: u64,
    /// One line per conflict: the file, the row, what disagrees.
    pub conflicts: Vec<String>,
    /// Rows without an id (not created, or not a results row): nothing to learn.
    pub without_id: u64,
}

/// One row's id and state, as a sheet gives it.
struct Seed {
    row: usize,
    id: u64,
    state: Value,
}

/// Read `file`'s rows with ids. Through the import's own checks when the sheet passes them (the
/// state is then what an import of it would send); else from the id and key columns alone.
fn seeds(file: &Path, rules: &RulesArgs, without_id: &mut u64) -> Result<Vec<Seed>, Fatal> {
    let entity = rules.entity.table();
    let input = InputArgs {
        file: file.to_path_buf(),
        sheet: None,
        header_row: None,
        delimiter: None,
    };
    let hidden = HiddenRows::default();
    let Ok(mut sheet) = CaseSheet::open(&input, hidden, rules, false) else {
        return plain_seeds(entity, file, without_id);
    };
    let headers = sheet.table.headers.clone();
    let result_col = column(&headers, &["kayse_result"]);
    let mut out = Vec::new();
    while let Some(item) = sheet.next_row() {
        let Scanned::Row { raw, result } = item? else {
            continue;
        };
        if !settled(result_col.and_then(|c| raw.cells.get(c))) {
            continue;
        }
        let plain = plain_row(entity, &headers, &raw.cells);
        let (id, state) = match result {
            Ok(rec) => (rec.id.or(plain.as_ref().map(|p| p.0)), rec.to_json()),
            Err(_) => match plain {
                Some((id, state)) => (Some(id), state),
                None => (None, Value::Null),
            },
        };
        match id {
            Some(id) => out.push(Seed {
                row: raw.source_row,
                id,
                state: strip_id(state),
            }),
            None => *without_id += 1,
        }
    }
    Ok(out)
}

/// A results row that says the record was deleted or never found names no live record.
fn settled(result: Option<&Cell>) -> bool {
    let Some(c) = result else { return true };
    !matches!(
        Outcome::parse(&c.to_text()),
        Some(Outcome::Deleted | Outcome::NotFound | Outcome::Failed | Outcome::Invalid)
    )
}

fn strip_id(mut state: Value) -> Value {
    if let Some(m) = state.as_object_mut() {
        m.remove("id");
    }
    state
}

fn column(headers: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(n))
    })
}

/// The fields of an entity's keys (`case_number`, `external_source`, `external_source_id`).
fn key_fields(entity: &Entity) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for f in entity.keys.iter().flat_map(|k| k.iter()) {
        if !out.contains(f) {
            out.push(f);
        }
    }
    out
}

/// A row's id (`kayse_id`, else `id`) and its keys, from the columns of those names.
fn plain_row(entity: &Entity, headers: &[String], cells: &[Cell]) -> Option<(u64, Value)> {
    let cell = |names: &[&str]| column(headers, names).and_then(|c| cells.get(c));
    let id = crate::check::ids::from_cell(cell(&["kayse_id", "id"])?).ok()??;
    let mut state = Map::new();
    for f in key_fields(entity) {
        if let Some(c) = cell(&[f]) {
            let t = c.to_text().trim().to_string();
            if !t.is_empty() {
                state.insert(f.into(), Value::String(t));
            }
        }
    }
    Some((id, Value::Object(state)))
}

fn plain_seeds(entity: &Entity, file: &Path, without_id: &mut u64) -> Result<Vec<Seed>, Fatal> {
    let t = read::open(file, &read::ReadOptions::default()).map_err(read_failed)?;
    // The first key names the record: a case's case_number, a client's external pair.
    let first: &[&str] = entity.keys.first().copied().unwrap_or(&[]);
    if column(&t.headers, &["kayse_id", "id"]).is_none()
        || first.iter().any(|f| column(&t.headers, &[f]).is_none())
    {
        return Err(Fatal::usage(format!(
            "{}: needs an id column (kayse_id or id) and {} to add {} to the ledger",
            file.display(),
            first
                .iter()
                .map(|f| format!("a {f} column"))
                .collect::<Vec<_>>()
                .join(" and "),
            entity.name
        )));
    }
    let result_col = column(&t.headers, &["kayse_result"]);
    let mut out = Vec::new();
    for raw in t.rows {
        let raw = raw.map_err(read_failed)?;
        if raw.is_blank() || !settled(result_col.and_then(|c| raw.cells.get(c))) {
            continue;
        }
        match plain_row(entity, &t.headers, &raw.cells) {
            Some((id, state)) => out.push(Seed {
                row: raw.source_row,
                id,
                state,
            }),
            None => *without_id += 1,
        }
    }
    Ok(out)
}

/// Seed the ledger from `files`, one transaction per file.
pub fn add(
    ledger: &mut Ledger,
    files: &[std::path::PathBuf],
    rules: &RulesArgs,
) -> Result<Added, Fatal> {
    let entity = rules.entity.table().name;
    let mut out = Added::default();
    for file in files {
        let seeds = seeds(file, rules, &mut out.without_id)?;
        let name = file.display().to_string();
        let mut b = ledger.batch(None).map_err(Fatal::from)?;
        for s in seeds {
            let before = out.conflicts.len();
            let source = Source {
                file: Some(&name),
                row: Some(s.row as u64),
            };
            let rec = b
                .seed(entity, s.id, &s.state, source)
                .map_err(Fatal::from)?;
            out.conflicts.extend(
                rec.conflicts
                    .iter()
                    .map(|c| format!("{name} row {}: {c}", s.row)),
            );
            if out.conflicts.len() == before {
                out.added += 1;
            }
        }
        b.commit().map_err(Fatal::from)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use serde_json::json;

    #[test]
    fn ids_and_keys_from_plain_columns() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t = |s: &str| Cell::Text(s.into());
        type Case = (Vec<String>, Vec<Cell>, Option<(u64, Value)>);
        let table: Vec<Case> = vec![
            (
                h(&["kayse_id", "case_number"]),
                vec![Cell::Int(7), t("A-1")],
                Some((7, json!({"case_number": "A-1"}))),
            ),
            (
                h(&["ID", "Case_Number", "external_source", "external_source_id"]),
                vec![t("8"), t(" B-2 "), t("clio"), t("")],
                Some((8, json!({"case_number": "B-2", "external_source": "clio"}))),
            ),
            (h(&["id", "case_number"]), vec![Cell::Empty, t("C")], None),
            (h(&["case_number"]), vec![t("C")], None),
            (h(&["id", "case_number"]), vec![t("abc"), t("C")], None),
        ];
        for (i, (headers, cells, want)) in table.into_iter().enumerate() {
            assert_eq!(plain_row(&CASES, &headers, &cells), want, "case {i}");
        }
    }

    #[test]
    fn rows_a_results_file_says_name_no_live_record() {
        let table = [
            (None, true),
            (Some("created"), true),
            (Some("unchanged"), true),
            (Some("unknown"), true),
            (Some("deleted"), false),
            (Some("not_found"), false),
            (Some("failed"), false),
            (Some("invalid"), false),
        ];
        for (word, want) in table {
            let cell = word.map(|w| Cell::Text(w.into()));
            assert_eq!(settled(cell.as_ref()), want, "{word:?}");
        }
    }
}

//! `--changes-from`: an earlier export (XLSX or CSV) read back as the state of each case by id,
//! in the JSON form a fetched case has (`Record::to_json`), so `report::changes` compares like
//! with like. Read before any request: a file that is no export stops the run with exit 2 and
//! spends nothing.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cell::Cell;
use crate::check::phone::Country;
use crate::check::rules::DateOrder;
use crate::check::{ids, parse_cell};
use crate::engine::input::{names_matcher, read_failed};
use crate::entity::{Entity, Kind};
use crate::error::Fatal;
use crate::read;
use crate::report::changes::States;
use crate::report::sheet::columns;

/// The cases of the export at `path`, by id. Its first sheet (or the CSV) is read; a header may
/// sit below a title, as in any input.
pub fn read(path: &Path, entity: &'static Entity) -> Result<States, Fatal> {
    let cols = columns(entity);
    let opts = read::ReadOptions {
        header_matcher: Some(names_matcher(&cols)),
        ..Default::default()
    };
    let t = read::open(path, &opts).map_err(read_failed)?;
    let fields = Fields::of(entity, &t.headers).ok_or_else(|| {
        Fatal::usage(format!(
            "--changes-from {}: no id column in row {}; give an earlier export of these cases",
            path.display(),
            t.header_row
        ))
    })?;
    let mut out = States::new();
    for raw in t.rows {
        let raw = raw.map_err(read_failed)?;
        if let Some((id, state)) = fields.state(&raw.cells) {
            out.insert(id, state);
        }
    }
    Ok(out)
}

/// Which column holds the id, which hold fields (with their kinds), and which hold one key of
/// the data field each (`external_source_data.KEY`, the export's columns for people).
struct Fields {
    id: usize,
    fields: Vec<(usize, &'static str, Kind)>,
    data: Option<(&'static str, Vec<(usize, String)>)>,
}

impl Fields {
    /// `None` when the header has no `id` column.
    fn of(entity: &'static Entity, headers: &[String]) -> Option<Fields> {
        let named = |h: &str, n: &str| h.trim().eq_ignore_ascii_case(n);
        let id = headers.iter().position(|h| named(h, entity.id.name))?;
        let fields = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let f = entity
                    .fields
                    .iter()
                    .chain(entity.answer_only)
                    .find(|f| named(h, f.name))?;
                Some((i, f.name, f.kind))
            })
            .collect();
        let data = entity.data_field().map(|d| {
            let name = entity.fields[d].name;
            let keys = headers
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    let (field, key) = h.split_once('.')?;
                    named(field, name).then(|| (i, key.to_string()))
                })
                .collect();
            (name, keys)
        });
        Some(Fields { id, fields, data })
    }

    /// One row's id and state; `None` for a row without a readable id.
    fn state(&self, cells: &[Cell]) -> Option<(u64, Value)> {
        let at = |i: usize| cells.get(i).unwrap_or(&Cell::Empty);
        let id = ids::from_cell(at(self.id)).ok().flatten()?;
        let mut m = Map::new();
        for (i, name, kind) in &self.fields {
            let cell = at(*i);
            if !cell.is_blank() {
                m.insert((*name).to_string(), cell_json(*kind, cell));
            }
        }
        // Keys with columns of their own join what the data column kept, as a re-import does.
        if let Some((name, keys)) = &self.data {
            for (i, key) in keys {
                if let Cell::Text(t) = at(*i) {
                    if t.trim().is_empty() {
                        continue;
                    }
                    let data = m
                        .entry(name.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(o) = data {
                        o.insert(key.clone(), Value::String(t.clone()));
                    }
                }
            }
        }
        Some((id, Value::Object(m)))
    }
}

/// A cell of the export in the form a fetched case holds the value. Texts stay exactly as
/// written (the API's own spaces included); what no check reads (a cell someone edited into
/// nonsense) stays its text, and so shows as changed.
fn cell_json(kind: Kind, cell: &Cell) -> Value {
    match (kind, cell) {
        (Kind::Text | Kind::Email | Kind::Mobile, Cell::Text(s)) => Value::String(s.clone()),
        (Kind::Text | Kind::Email | Kind::Mobile, other) => Value::String(other.to_text()),
        _ => parse_cell(kind, cell, DateOrder::Ymd, Country::US)
            .map(|v| v.to_json())
            .unwrap_or_else(|_| Value::String(cell.to_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use chrono::NaiveDate;
    use serde_json::json;

    #[test]
    fn cells_read_back_as_a_fetched_case_holds_them() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
        let table: &[(Kind, Cell, Value)] = &[
            (Kind::Text, Cell::Text(" a ".into()), json!(" a ")),
            (Kind::Text, Cell::Int(2024001), json!("2024001")),
            (Kind::Date, Cell::Date(day), json!("2024-03-05")),
            (
                Kind::Date,
                Cell::Text("2024-03-05".into()),
                json!("2024-03-05"),
            ),
            (
                Kind::Date,
                Cell::Text("0202-03-05".into()),
                json!("0202-03-05"),
            ),
            (Kind::Bool, Cell::Bool(true), json!(true)),
            (Kind::Bool, Cell::Text("false".into()), json!(false)),
            (Kind::IdList, Cell::Text("1;2".into()), json!([1, 2])),
            (Kind::IdList, Cell::Int(7), json!([7])),
            (
                Kind::Object,
                Cell::Text(r#"{"a":1}"#.into()),
                json!({"a": 1}),
            ),
            (Kind::Date, Cell::Text("soon".into()), json!("soon")),
        ];
        for (kind, cell, want) in table {
            assert_eq!(cell_json(*kind, cell), *want, "{kind:?} {cell:?}");
        }
    }

    #[test]
    fn rows_become_states_by_id() {
        let headers: Vec<String> = [
            "Status",
            "id",
            "case_number",
            "notes",
            "client_ids",
            "external_source_data",
            "external_source_data.ref",
        ]
        .map(String::from)
        .to_vec();
        let f = Fields::of(&CASES, &headers).unwrap();
        let t = |s: &str| Cell::Text(s.into());
        type Line = (Vec<Cell>, Option<(u64, Value)>);
        let table: Vec<Line> = vec![
            (
                vec![t("active"), Cell::Int(17), t("C-1"), t("x"), t("3;4")],
                Some((
                    17,
                    json!({"status": "active", "case_number": "C-1", "client_ids": [3, 4]}),
                )),
            ),
            // Blanks are left out, as a fetched case leaves out nulls; a short row is padded.
            (vec![t(""), t("18")], Some((18, json!({})))),
            // The data field: what its own column kept, and each key column's text.
            (
                vec![
                    t(""),
                    t("19"),
                    t(""),
                    t(""),
                    t(""),
                    t(r#"{"n":1}"#),
                    t("R1"),
                ],
                Some((19, json!({"external_source_data": {"n": 1, "ref": "R1"}}))),
            ),
            (
                vec![t(""), t("20"), t(""), t(""), t(""), t(""), t("R2")],
                Some((20, json!({"external_source_data": {"ref": "R2"}}))),
            ),
            (vec![t("active"), Cell::Empty, t("C-2")], None),
            (vec![t("active"), t("Total")], None),
        ];
        for (cells, want) in table {
            assert_eq!(f.state(&cells), want, "{cells:?}");
        }
        assert!(Fields::of(&CASES, &["case_number".to_string()]).is_none());
    }
}

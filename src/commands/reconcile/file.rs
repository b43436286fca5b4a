//! The results file `reconcile` settles: read back (its own columns and the input's, and the
//! clients table of a linked import), the rows and clients in doubt found in it, a sheet of ids
//! to settle them from, and the file written again atomically through the results writer (its
//! clients table with it), with the journal beside it told of each id.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::{Args, Lost, Of};
use crate::cell::Cell;
use crate::cli::Global;
use crate::engine::finish::{self, Results};
use crate::engine::input::read_failed;
use crate::error::{CmdResult, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::read;
use crate::record::journal::{Journal, Record, RowRecord};
use crate::record::ledger::{Key, rule};
use crate::report::clients::NAME as CLIENTS_TABLE;
use crate::report::results::Table;

const OWN: &[&str] = &["source_row", "kayse_result", "kayse_id", "kayse_errors"];

/// One row of the results file, as read back.
pub struct Row {
    pub source_row: usize,
    pub outcome: Outcome,
    pub id: Option<u64>,
    pub errors: String,
    pub cells: Vec<Cell>,
}

pub(super) fn col(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

/// The results rows, with the input's headers, and whether the workbook has a clients sheet.
pub fn read_rows(path: &Path) -> Result<(Vec<String>, Vec<Row>, bool), Fatal> {
    let t = read::open(path, &read::ReadOptions::default()).map_err(read_failed)?;
    let clients_sheet = t.info.other_sheets.iter().any(|s| s == CLIENTS_TABLE);
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
    Ok((headers, rows, clients_sheet))
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
            let external = cell(r, "external_source").zip(cell(r, "external_source_id"));
            let pair = external.as_ref().map(|(s, i)| (s.as_str(), i.as_str()));
            Lost::case(index, &cell(r, "case_number")?, pair)
        })
        .collect()
}

/// A sheet of ids to settle rows from (`--from`): cases (it has a `case_number` column) or
/// clients (an external pair and no case number, such as `export --with-clients` writes), each
/// by the key the ledger holds its create in doubt by.
pub struct Sheet {
    pub of: Of,
    by_key: HashMap<Key, (u64, Value)>,
}

impl Sheet {
    /// The id and state the sheet gives for `lost`, when it is that row's record.
    pub fn find(&self, lost: &Lost) -> Option<(u64, &Value)> {
        let (id, state) = self.by_key.get(&lost.key).filter(|_| lost.of == self.of)?;
        lost.is(state).then_some((*id, state))
    }
}

/// Ids a sheet gives for case numbers (or clients' external pairs), with the state they stand
/// for.
pub fn from_sheet(path: &Path) -> Result<Sheet, Fatal> {
    let t = read::open(path, &read::ReadOptions::default()).map_err(read_failed)?;
    let id = col(&t.headers, "kayse_id").or(col(&t.headers, "id"));
    let has = |n: &str| col(&t.headers, n).is_some();
    let of = if has("case_number") {
        Some(Of::Cases)
    } else if has("external_source") && has("external_source_id") {
        Some(Of::Clients)
    } else {
        None
    };
    let (Some(id), Some(of)) = (id, of) else {
        return Err(Fatal::usage(format!(
            "{}: needs an id column (kayse_id or id) and a case_number column (cases), or external_source and external_source_id columns (clients)",
            path.display()
        )));
    };
    let rule = match of {
        Of::Cases => rule("cases", "case_number"),
        Of::Clients => rule("clients", "external"),
    }
    .expect("the entity has the rule");
    let mut by_key = HashMap::new();
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
        let state = Value::Object(state);
        if let Some(key) = rule.of_state(&state) {
            by_key.insert(key, (n, state));
        }
    }
    Ok(Sheet { of, by_key })
}

/// The journal beside the results learns each id too, so a later `--resume` agrees: a case by
/// its row, a client by its key (`CLIENT_KEY + k`, `k` its row in the clients table), both
/// `created` with the id, as the run would have journaled them had the answer come.
pub fn note_in_journal(results: &Path, rows: &[Row], found: &[(Of, usize, u64)]) {
    let path = Journal::path_for(results);
    if found.is_empty() || !path.exists() {
        return;
    }
    if let Ok((mut j, _)) = Journal::resume(&path) {
        let recs: Vec<Record> = found
            .iter()
            .map(|&(of, i, id)| {
                Record::Row(RowRecord {
                    row: match of {
                        Of::Cases => rows[i].source_row,
                        Of::Clients => crate::check::linked::CLIENT_KEY + i,
                    },
                    batch: None,
                    outcome: Outcome::Created,
                    id: Some(id),
                    error: None,
                    data: None,
                })
            })
            .collect();
        let _ = j.append(&recs);
        let _ = j.note("reconciled");
    }
}

/// What became of the clients table, for the summary: the table (written back whole), how many
/// of its clients in doubt were found, and how many there were.
pub struct ClientsDone {
    pub table: Table,
    pub recovered: usize,
    pub lost: usize,
}

/// A row's `kayse_errors` as read back, to write again as it was: its text is already
/// `field: message` (`kayse: ...`, `client: ...`), so it is split there, not given a second
/// field. Text without one is Kayse's.
fn as_read(text: &str) -> Option<RowError> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.split_once(": ") {
        Some((field, message)) if !field.is_empty() && !field.contains(' ') => {
            RowError::new(field, message)
        }
        _ => RowError::new("kayse", text),
    })
}

#[allow(clippy::too_many_arguments)]
pub fn write(
    args: &Args,
    headers: &[String],
    rows: Vec<Row>,
    recovered: usize,
    lost: usize,
    stats: Option<crate::report::summary::RequestStats>,
    clients: Option<ClientsDone>,
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
    if let Some(c) = clients.as_ref().filter(|c| c.lost > 0) {
        summary.warnings.push(format!(
            "recovered {} of {} unknown clients; {} still unknown",
            c.recovered,
            c.lost,
            c.lost - c.recovered
        ));
        let failed = rows.iter().filter(|r| r.outcome == Outcome::Failed).count();
        if c.recovered > 0 && failed > 0 {
            summary.warnings.push(format!(
                "the {failed} failed rows were not sent (their cases waited for clients in doubt): import again to send those whose clients were found, linked to them; the ledger knows the clients now, so none is created again"
            ));
        }
        summary.clients = super::clients::client_counts(&c.table);
        summary.clients_recovered = c.recovered as u64;
        // An import that joined a clients table (`--clients FILE`) is advised to join it again.
        let journal = Journal::path_for(&args.results);
        summary.joined = crate::engine::session::recorded_options(&journal)
            .ok()
            .and_then(|o| o.get("read.clients").cloned());
    }
    let mut results = Results::create(&args.results, headers, &[], &[], summary)?;
    for r in rows {
        let errors = as_read(&r.errors).into_iter().collect();
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
    let tables: Vec<Table> = clients.into_iter().map(|c| c.table).collect();
    results.finish_with(g, sent.as_ref(), started, &tables)
}

#[cfg(test)]
mod tests {
    use super::super::clients::{client_counts, lost_clients, settle_clients};
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn text(s: &str) -> Cell {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.to_string())
        }
    }

    /// A clients table: (first name, source, source id, kayse_id, kayse_result, kayse_errors).
    fn clients(rows: &[[&str; 6]]) -> Table {
        Table {
            name: CLIENTS_TABLE.to_string(),
            headers: [
                "first_name",
                "external_source",
                "external_source_id",
                "kayse_id",
                "kayse_result",
                "kayse_errors",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows.iter().map(|r| r.map(text).to_vec()).collect(),
        }
    }

    #[test]
    fn errors_read_back_are_written_again_as_they_were() {
        // (kayse_errors as read, as written again)
        let table = [
            ("", None),
            ("   ", None),
            ("kayse: rejected", Some("kayse: rejected")),
            (
                "kayse: its client Ann Lee (row 2) may or may not have been created (no answer: lost)",
                Some(
                    "kayse: its client Ann Lee (row 2) may or may not have been created (no answer: lost)",
                ),
            ),
            (
                "client: bad email; status: not allowed",
                Some("client: bad email; status: not allowed"),
            ),
            ("no field here", Some("kayse: no field here")),
            ("two words: then text", Some("kayse: two words: then text")),
        ];
        for (read, want) in table {
            assert_eq!(
                as_read(read).map(|e| e.to_string()).as_deref(),
                want,
                "{read:?}"
            );
        }
    }

    #[test]
    fn the_clients_in_doubt_are_the_unknown_ones_without_an_id_with_an_external_pair() {
        let t = clients(&[
            ["Ann", "firm", "C1", "", "unknown", "lost"],
            ["Ben", "firm", "C2", "12", "created", ""],
            ["Cara", "firm", "C3", "13", "unknown", "lost"],
            ["Dev", "firm", "", "", "unknown", "lost"],
            ["Eli", "", "kb-1", "", "unknown", "lost"],
            ["Fay", "firm", " kb-2 ", "", "unknown", "lost"],
            ["Gus", "firm", "C4", "", "failed", "rejected"],
        ]);
        let got: Vec<(usize, String)> = lost_clients(&t)
            .into_iter()
            .map(|l| (l.index, l.key.value))
            .collect();
        let want = [(0, r#"["firm","C1"]"#), (5, r#"["firm","kb-2"]"#)]
            .map(|(i, v)| (i, v.to_string()))
            .to_vec();
        assert_eq!(got, want);
        let none = Table {
            headers: vec!["first_name".into()],
            ..clients(&[])
        };
        assert!(lost_clients(&none).is_empty());
    }

    #[test]
    fn a_found_client_becomes_created_with_its_id_and_nothing_else_changes() {
        let mut t = clients(&[
            ["Ann", "firm", "C1", "", "unknown", "lost"],
            ["Ben", "firm", "C2", "12", "created", ""],
            ["Fay", "firm", "C3", "", "unknown", "lost"],
        ]);
        let before = t.clone();
        settle_clients(&mut t, &[(2, 40), (9, 41)]);
        // (row, column, cell)
        let table: [(usize, usize, Cell); 8] = [
            (2, 3, Cell::Int(40)),
            (2, 4, text("created")),
            (2, 5, Cell::Empty),
            (2, 0, text("Fay")),
            (2, 2, text("C3")),
            (0, 3, Cell::Empty),
            (0, 4, text("unknown")),
            (0, 5, text("lost")),
        ];
        for (r, c, want) in table {
            assert_eq!(t.rows[r][c], want, "row {r} column {c}");
        }
        assert_eq!(t.rows[1], before.rows[1]);
        let counts = client_counts(&t);
        let want: BTreeMap<String, u64> = [("created".to_string(), 2), ("unknown".to_string(), 1)]
            .into_iter()
            .collect();
        assert_eq!(counts, want);
    }

    #[test]
    fn a_sheet_gives_an_id_only_for_its_own_entity_and_the_row_s_keys() {
        let sheet = |of: Of, rows: &[(u64, Value)]| {
            let rule = match of {
                Of::Cases => rule("cases", "case_number"),
                Of::Clients => rule("clients", "external"),
            }
            .unwrap();
            Sheet {
                of,
                by_key: rows
                    .iter()
                    .map(|(id, s)| (rule.of_state(s).unwrap(), (*id, s.clone())))
                    .collect(),
            }
        };
        let people = sheet(
            Of::Clients,
            &[
                (
                    7,
                    json!({"first_name": "Ann", "external_source": "firm", "external_source_id": "C1"}),
                ),
                (
                    8,
                    json!({"first_name": "Ann", "external_source": "firm", "external_source_id": "C2"}),
                ),
            ],
        );
        let cases = sheet(
            Of::Cases,
            &[(
                9,
                json!({"case_number": "A-1", "external_source": "firm", "external_source_id": "C1"}),
            )],
        );
        let ann = Lost::client(0, "firm", "C1").unwrap();
        let other = Lost::client(1, "firm", "C3").unwrap();
        let case = Lost::case(0, "A-1", Some(("firm", "C1"))).unwrap();
        // (sheet, row in doubt, id found)
        let table = [
            (&people, &ann, Some(7)),
            (&people, &other, None),
            (&people, &case, None),
            (&cases, &case, Some(9)),
            (&cases, &ann, None),
        ];
        for (i, (s, l, want)) in table.into_iter().enumerate() {
            assert_eq!(s.find(l).map(|(id, _)| id), want, "case {i}");
        }
    }
}

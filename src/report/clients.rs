//! The `Clients` table of a case sheet's results (the sheet after `Results` in an XLSX results
//! file, `<results>.clients.csv` beside a CSV one): one row per distinct client the rows name,
//! with its fields as they will be sent (the split name, the derived `external_source_id`), its
//! `kayse_id` and `kayse_result`, the rows it came from, and why rows were merged or kept apart.
//! Layout only: the clients are found by `check::linked`.

use crate::cell::Cell;
use crate::check::linked::Clients;
use crate::entity::{CLIENTS, Kind, Value};
use crate::outcome::Outcome;
use crate::report::results::Table;
use crate::report::sheet::{Out, out};

/// The sheet's name, and so the CSV file's suffix (`.clients.csv`).
pub const NAME: &str = "Clients";

/// The client fields the table shows: every create field but the links (a client's `case_ids`
/// are made from the case side).
fn fields() -> impl Iterator<Item = (usize, &'static crate::entity::Field)> {
    CLIENTS
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind != Kind::IdList)
}

/// What became of one client in an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Fate {
    pub outcome: Outcome,
    pub id: Option<u64>,
    pub error: Option<String>,
}

/// The table of `clients`, before anything is sent: `kayse_result` is `valid`, or `invalid`
/// with the reason in `kayse_errors`.
pub fn table(clients: &Clients) -> Table {
    table_with(clients, &[])
}

/// The table of `clients` after an import: each client's `kayse_id`, `kayse_result` and
/// error from `fates` (one per client, in order); a client without a fate is shown as
/// before sending.
pub fn table_with(clients: &Clients, fates: &[Fate]) -> Table {
    // What became of each client first, as on the Results sheet; then the client as sent.
    let mut headers: Vec<String> = ["kayse_result", "kayse_id", "kayse_errors"]
        .map(String::from)
        .to_vec();
    headers.extend(fields().map(|(_, f)| f.name.to_string()));
    headers.extend(
        [
            "source_rows",
            "why",
            "left_out_of_name",
            "external_source_id_derived",
        ]
        .map(String::from),
    );
    let rows = clients
        .clients
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let before = Fate {
                outcome: if c.problem.is_some() {
                    Outcome::Invalid
                } else {
                    Outcome::Valid
                },
                id: None,
                error: c.problem.clone(),
            };
            let fate = fates.get(k).unwrap_or(&before);
            let mut row = vec![
                Cell::Text(fate.outcome.as_str().to_string()),
                fate.id.map_or(Cell::Empty, |id| {
                    Cell::Int(i64::try_from(id).unwrap_or(i64::MAX))
                }),
                text(fate.error.clone().unwrap_or_default()),
            ];
            row.extend(fields().map(|(i, _)| c.record.get(i).map_or(Cell::Empty, cell)));
            row.push(text(c.rows.join(", ")));
            row.push(text(c.why.join("; ")));
            row.push(text(c.dropped.join(", ")));
            row.push(Cell::Bool(c.derived));
            row
        })
        .collect();
    Table {
        name: NAME.to_string(),
        headers,
        rows,
    }
}

fn text(s: String) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s)
    }
}

/// A client value as a results cell: dates stay dates, booleans booleans.
fn cell(v: &Value) -> Cell {
    match out(v) {
        Out::Empty => Cell::Empty,
        Out::Text(s) => Cell::Text(s),
        Out::Int(i) => Cell::Int(i64::try_from(i).unwrap_or(i64::MAX)),
        Out::Bool(b) => Cell::Bool(b),
        Out::Date(d) => Cell::Date(d),
    }
}

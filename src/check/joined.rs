//! The clients of a case sheet read from a second table joined to it by a firm key (`--clients
//! contacts.csv`, or a workbook's `Clients` sheet beside its `Cases` sheet): each case row's key
//! cell names its clients by their rows in that table. Pure: the table's rows come already read,
//! mapped and checked; a case row's cells go in, its clients (`check::linked::Mention`s, so the
//! dedupe, the Clients sheet and the plan downstream are the same as for client columns) and
//! its errors come out. No I/O.
//!
//! - A blank key cell names no client; a cell may name several, separated by `;` (Client,
//!   Client 2, ... at most `MAX_CLIENTS`).
//! - A key no row of the table has, a key two rows share, and a row with bad cells each make
//!   the case row naming it invalid, saying which key, which table and which of its rows.
//! - A client's `external_source_id` is its row's own when the table maps one, else the key;
//!   its `external_source` is its row's own when given, else the case's (`Gathered::add`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cell::Cell;
use crate::check::linked::Mention;
use crate::check::rules::short;
use crate::entity::{CLIENTS, Record, Value};
use crate::map::cell_error;
use crate::map::linked::MAX_CLIENTS;
use crate::outcome::RowError;

/// One row of the clients table, read and checked.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// The row number a person sees in the table.
    pub source_row: usize,
    /// Its key, trimmed; empty when the key cell is blank.
    pub key: String,
    /// The client as the row gives it, or every error of its cells.
    pub result: Result<Record, Vec<RowError>>,
}

/// Where the key is on each side.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The case sheet's key column and its header (`Client ID`).
    pub case_column: usize,
    pub case_header: String,
    /// The clients table, as messages name it (`contacts.csv`, `sheet 'Clients'`), and the
    /// header of its key column (`ID`).
    pub table: String,
    pub table_header: String,
}

/// A clients table joined to a case sheet.
#[derive(Debug)]
pub struct Join {
    keys: Keys,
    rows: Vec<ClientRow>,
    /// Key → the table's rows holding it (indices into `rows`): one, or several (ambiguous).
    by_key: HashMap<String, Vec<usize>>,
    /// Per row of the table: whether a case row named it. Set while the case rows are read,
    /// on the reading thread; read once they all are.
    named: Vec<AtomicBool>,
}

impl Join {
    pub fn new(keys: Keys, rows: Vec<ClientRow>) -> Join {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if !r.key.is_empty() {
                by_key.entry(r.key.clone()).or_default().push(i);
            }
        }
        let named = rows.iter().map(|_| AtomicBool::new(false)).collect();
        Join {
            keys,
            rows,
            by_key,
            named,
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The rows of the table.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows of the table no case row read so far named (they are not sent).
    pub fn unnamed(&self) -> usize {
        self.named
            .iter()
            .filter(|n| !n.load(Ordering::Relaxed))
            .count()
    }

    /// The clients a case row's key cell names, in the cell's order, and every error of the
    /// naming. A client with an error is left out (the row is invalid anyway).
    pub fn read(&self, cells: &[Cell]) -> (Vec<Mention>, Vec<RowError>) {
        let k = &self.keys;
        let cell = cells.get(k.case_column).unwrap_or(&Cell::Empty);
        if cell.is_blank() || cell_error(cell).is_some() {
            return (Vec::new(), Vec::new()); // no client (an error cell is the mapping's to report)
        }
        let error = |message: String| {
            RowError::new(k.case_header.as_str(), message).at(Some(k.case_column))
        };
        let mut named: Vec<String> = Vec::new();
        for key in cell.to_text().split(';').map(str::trim) {
            if !key.is_empty() && !named.iter().any(|n| n == key) {
                named.push(key.to_string());
            }
        }
        if named.len() > usize::from(MAX_CLIENTS) {
            let e = error(format!(
                "names {} clients; a case may name at most {MAX_CLIENTS}",
                named.len()
            ))
            .with_value(short(cell.to_text().trim()));
            return (Vec::new(), vec![e]);
        }
        let mut mentions = Vec::new();
        let mut errors = Vec::new();
        for (n, key) in named.iter().enumerate() {
            let group = u8::try_from(n + 1).unwrap_or(MAX_CLIENTS);
            let found = self.by_key.get(key).map(Vec::as_slice).unwrap_or_default();
            for &i in found {
                self.named[i].store(true, Ordering::Relaxed);
            }
            match found {
                [] => errors.push(error(format!(
                    "no row of {} has {} '{}'",
                    k.table,
                    k.table_header,
                    short(key)
                ))),
                [i] => match &self.rows[*i].result {
                    Ok(record) => mentions.push(self.mention(group, key, record)),
                    Err(errs) => errors.extend(errs.iter().map(|e| {
                        error(format!(
                            "the client with {} '{}' (row {} of {}) is invalid: {e}",
                            k.table_header,
                            short(key),
                            self.rows[*i].source_row,
                            k.table
                        ))
                    })),
                },
                several => {
                    let rows: Vec<String> = several
                        .iter()
                        .map(|&i| self.rows[i].source_row.to_string())
                        .collect();
                    errors.push(error(format!(
                        "{} '{}' is ambiguous: rows {} of {} all have it",
                        k.table_header,
                        short(key),
                        rows.join(", "),
                        k.table
                    )));
                }
            }
        }
        (mentions, errors)
    }

    fn mention(&self, group: u8, key: &str, record: &Record) -> Mention {
        let mut record = record.clone();
        if let Some(i) = CLIENTS.field_index("external_source_id")
            && record.get(i).is_none()
        {
            record.set(i, Value::Text(key.into()));
        }
        Mention {
            group,
            record,
            dropped: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(first: &str, last: &str, id: Option<&str>) -> Record {
        let mut r = Record::new(&CLIENTS);
        let mut set =
            |name: &str, v: &str| r.set(CLIENTS.field_index(name).unwrap(), Value::Text(v.into()));
        set("first_name", first);
        set("last_name", last);
        if let Some(id) = id {
            set("external_source_id", id);
        }
        r
    }

    fn row(source_row: usize, key: &str, result: Result<Record, Vec<RowError>>) -> ClientRow {
        ClientRow {
            source_row,
            key: key.to_string(),
            result,
        }
    }

    /// contacts.csv: 5501 Maria (with her own id), 5502 Terrence (no id column: the key is his
    /// id), 5503 twice, 5504 with a bad email, and a row with no key.
    fn join() -> Join {
        let keys = Keys {
            case_column: 1,
            case_header: "Client ID".into(),
            table: "contacts.csv".into(),
            table_header: "ID".into(),
        };
        let bad = RowError::new("email", "is not an email address").with_value("x@");
        Join::new(
            keys,
            vec![
                row(2, "5501", Ok(client("Maria", "Alvarez", Some("C-5501")))),
                row(3, "5502", Ok(client("Terrence", "Brooks", None))),
                row(4, "5503", Ok(client("Lily", "Chen", None))),
                row(5, "5503", Ok(client("Lilian", "Chen", None))),
                row(6, "5504", Err(vec![bad])),
                row(7, "", Ok(client("Nobody", "Named", None))),
            ],
        )
    }

    fn cells(key: Cell) -> Vec<Cell> {
        vec![Cell::Text("A-1".into()), key]
    }

    /// Each key cell as read: the clients' (group, first name, external_source_id), and the
    /// errors as the results show them.
    #[test]
    fn key_cells_name_clients_or_say_why_not() {
        type Want = (Vec<(u8, &'static str, &'static str)>, Vec<&'static str>);
        let text = |s: &str| Cell::Text(s.into());
        let table: Vec<(Cell, Want)> = vec![
            (text("5501"), (vec![(1, "Maria", "C-5501")], vec![])),
            (Cell::Int(5502), (vec![(1, "Terrence", "5502")], vec![])),
            (text(" 5502 "), (vec![(1, "Terrence", "5502")], vec![])),
            (Cell::Empty, (vec![], vec![])),
            (text("  "), (vec![], vec![])),
            (Cell::Error("#N/A".into()), (vec![], vec![])),
            (
                text("5501; 5502;5501"),
                (
                    vec![(1, "Maria", "C-5501"), (2, "Terrence", "5502")],
                    vec![],
                ),
            ),
            (
                text("5599"),
                (
                    vec![],
                    vec!["Client ID: no row of contacts.csv has ID '5599'"],
                ),
            ),
            (
                text("5503"),
                (
                    vec![],
                    vec![
                        "Client ID: ID '5503' is ambiguous: rows 4, 5 of contacts.csv all have it",
                    ],
                ),
            ),
            (
                text("5504"),
                (
                    vec![],
                    vec![
                        "Client ID: the client with ID '5504' (row 6 of contacts.csv) is invalid: email: is not an email address (value 'x@')",
                    ],
                ),
            ),
            (
                text("5501;5599"),
                (
                    vec![(1, "Maria", "C-5501")],
                    vec!["Client ID: no row of contacts.csv has ID '5599'"],
                ),
            ),
            (
                text("5501;5502;5503;5504"),
                (
                    vec![],
                    vec![
                        "Client ID: names 4 clients; a case may name at most 3 (value '5501;5502;5503;5504')",
                    ],
                ),
            ),
        ];
        let j = join();
        for (key, (want_clients, want_errors)) in table {
            let (ms, errs) = j.read(&cells(key.clone()));
            let got: Vec<(u8, String, String)> = ms
                .iter()
                .map(|m| {
                    let t = |n: &str| m.record.text(n).unwrap_or("").to_string();
                    (m.group, t("first_name"), t("external_source_id"))
                })
                .collect();
            let want: Vec<(u8, String, String)> = want_clients
                .iter()
                .map(|(g, f, id)| (*g, f.to_string(), id.to_string()))
                .collect();
            assert_eq!(got, want, "{key:?}");
            let errs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            assert_eq!(errs, want_errors, "{key:?}");
            assert!(
                j.read(&cells(key.clone()))
                    .1
                    .iter()
                    .all(|e| e.column == Some(1)),
                "{key:?}: errors mark the key column"
            );
        }
    }

    #[test]
    fn rows_no_case_names_are_counted() {
        let j = join();
        assert_eq!((j.len(), j.unnamed()), (6, 6));
        j.read(&cells(Cell::Text("5501".into())));
        assert_eq!(j.unnamed(), 5);
        // An ambiguous key names both its rows; an unknown one names none.
        j.read(&cells(Cell::Text("5503;5599".into())));
        assert_eq!(j.unnamed(), 3);
        j.read(&cells(Cell::Text("5502;5504".into())));
        assert_eq!(j.unnamed(), 1, "the row with no key is never named");
    }
}

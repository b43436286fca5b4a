//! Message rows that name their case and client by the firm's keys, not Kayse ids: a
//! `case_number` column instead of `case_id`, a client's `email` or `mobile` instead of
//! `client_id`. Each key is found in the ledger, with no request; a key the ledger does not know,
//! knows only from a create in doubt, or knows for several records is the row's error, never a
//! guess (`lookup`).

use super::MessageArgs;
use super::lookup::{Lookup, resolve, resolve_client};
use super::text::find_header;
use crate::cell::Cell;
use crate::check::phone::Country;
use crate::error::Fatal;
use crate::outcome::RowError;

/// How a sheet names one side of a message (the case or the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// A column of Kayse ids.
    Id(usize),
    /// A column of the firm's keys under a ledger rule (`case_number`, `email`, `mobile`).
    Key { col: usize, rule: &'static str },
}

impl By {
    pub fn col(self) -> usize {
        match self {
            By::Id(c) | By::Key { col: c, .. } => c,
        }
    }
}

/// The columns that may name a message's case by key, in the order they are looked for.
pub const CASE_KEYS: &[(&str, &str)] = &[("case_number", "case_number")];

/// The columns that may name a message's client by key, in the order they are looked for.
pub const CLIENT_KEYS: &[(&str, &str)] = &[
    ("client_email", "email"),
    ("email", "email"),
    ("client_mobile", "mobile"),
    ("mobile", "mobile"),
];

/// How a sheet names both sides of its messages, and the ledger when a side is named by key.
pub struct Sides {
    pub case: By,
    pub client: By,
    lookup: Option<Box<dyn Lookup>>,
}

impl Sides {
    /// The columns of `headers` that name the case and the client (the id columns the options
    /// name, else `case_id`/`client_id`, else a key column). A side with no column is
    /// `bad_sheet`'s error; the ledger is opened only when a side is named by key.
    pub fn find(
        headers: &[String],
        a: &MessageArgs,
        ledger: impl FnOnce() -> Result<Box<dyn Lookup>, Fatal>,
        bad_sheet: impl Fn(String) -> Fatal,
    ) -> Result<Sides, Fatal> {
        let missing = |given: Option<&String>, id: &str, keys: &str, flag: &str| {
            let wanted = given.map_or(id, String::as_str);
            bad_sheet(format!(
                "no '{wanted}' column{keys} (name yours with {flag} NAME)"
            ))
        };
        let case =
            side(headers, a.case_id_column.as_ref(), "case_id", CASE_KEYS).ok_or_else(|| {
                missing(
                    a.case_id_column.as_ref(),
                    "case_id",
                    " nor 'case_number'",
                    "--case-id-column",
                )
            })?;
        let client = side(
            headers,
            a.client_id_column.as_ref(),
            "client_id",
            CLIENT_KEYS,
        )
        .ok_or_else(|| {
            missing(
                a.client_id_column.as_ref(),
                "client_id",
                " nor 'client_email' or 'client_mobile'",
                "--client-id-column",
            )
        })?;
        let by_key = matches!(case, By::Key { .. }) || matches!(client, By::Key { .. });
        let lookup = if by_key { Some(ledger()?) } else { None };
        Ok(Sides {
            case,
            client,
            lookup,
        })
    }

    /// A row's case and client id cells: as written, or found in the ledger by key (an id cell,
    /// or an empty one and the key's error).
    pub fn ids(&self, cells: &[Cell]) -> (Cell, Cell, Vec<RowError>) {
        let mut errors = Vec::new();
        let mut one = |by: By, entity: &str, name: &str| {
            let cell = cells.get(by.col()).cloned().unwrap_or(Cell::Empty);
            let (By::Key { col, rule }, Some(l)) = (by, &self.lookup) else {
                return cell;
            };
            match resolve(l.as_ref(), entity, rule, &cell, Country::default()) {
                Ok(id) => Cell::Int(id as i64),
                Err(e) => {
                    let err = RowError::new(name, format!("{rule}: {e}")).at(Some(col));
                    errors.push(match cell {
                        Cell::Empty => err,
                        c => err.with_value(c.to_text()),
                    });
                    Cell::Empty
                }
            }
        };
        let case = one(self.case, "cases", "case_id");
        let client = match (self.client, &self.lookup, case_id(&case)) {
            (By::Key { col, rule }, Some(l), Some(c)) => {
                let cell = cells.get(col).cloned().unwrap_or(Cell::Empty);
                match resolve_client(l.as_ref(), c, rule, &cell, Country::default()) {
                    Ok(id) => Cell::Int(id as i64),
                    Err(e) => {
                        let err = RowError::new("client_id", format!("{rule}: {e}")).at(Some(col));
                        errors.push(match cell {
                            Cell::Empty => err,
                            c => err.with_value(c.to_text()),
                        });
                        Cell::Empty
                    }
                }
            }
            _ => one(self.client, "clients", "client_id"),
        };
        (case, client, errors)
    }
}

/// A case id cell's id, if it holds one.
fn case_id(cell: &Cell) -> Option<u64> {
    crate::check::ids::from_cell(cell).ok().flatten()
}

/// The checks' verdict with the ledger's word on the keys: a key it could not answer says why,
/// in place of "is required".
pub fn explain<T>(
    checked: Result<T, Vec<RowError>>,
    found: Vec<RowError>,
) -> Result<T, Vec<RowError>> {
    match checked {
        _ if found.is_empty() => checked,
        Ok(_) => Err(found),
        Err(mut e) => {
            for f in found.into_iter().rev() {
                e.retain(|x| x.field != f.field);
                e.insert(0, f);
            }
            Err(e)
        }
    }
}

/// Which column names one side of a message: the ids column the option names (or `id_name`),
/// else the first key column the sheet has. `None`: the sheet has neither.
fn side(
    headers: &[String],
    given: Option<&String>,
    id_name: &str,
    key_columns: &[(&str, &'static str)],
) -> Option<By> {
    if let Some(name) = given {
        return find_header(headers, name).map(By::Id);
    }
    find_header(headers, id_name).map(By::Id).or_else(|| {
        key_columns.iter().find_map(|(column, rule)| {
            find_header(headers, column).map(|col| By::Key { col, rule })
        })
    })
}

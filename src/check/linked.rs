//! The clients a case row names in its client columns (`Client Name`, `Client 2 Email`, ...),
//! checked cell by cell like a clients sheet's; and, once every row is read, the distinct
//! clients of the sheet: deduplicated (`check::people`), each with its `external_source_id`
//! given or derived (`check::client_id`), the rows it came from and why rows were merged or kept
//! apart. Pure: cells in, values out; no I/O.
//!
//! - A client's `external_source` is the case's unless a `Client Source` column gives one.
//! - A whole name (`Client Name`) is split by `check::name`; first and last name columns win
//!   over it. A name that cannot be split safely makes the row invalid, with the reason.
//! - A row may name a client by its external id alone (`Client ID`, no name): another row must
//!   then give that client's name, or the client is invalid.
//! - A client the sheet contradicts (one external id, two names) is invalid, with the reason.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cell::Cell;
use crate::check::client_id::derive_ids;
use crate::check::name::split_name;
use crate::check::people::{Dedup, Options, Person, dedupe, mention};
use crate::check::phone::Country;
use crate::check::rules::{DateOrder, short};
use crate::check::{parse_cell, text};
use crate::entity::{CLIENTS, Record, Value};
use crate::map::cell_error;
use crate::map::linked::{ClientColumn, Part, label};
use crate::outcome::RowError;

/// The journal key of client 0 of a sheet (client `k` is `CLIENT_KEY + k`, its row in the
/// results' clients table): above any row number a sheet can have, so apart from every row.
pub const CLIENT_KEY: usize = 1 << 40;

/// One client one row names, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Which client of the row: 1, 2 or 3.
    pub group: u8,
    /// The client's values as the row gives them (`external_source` and `external_source_id`
    /// may be missing until [`Gathered::finish`]).
    pub record: Record,
    /// What splitting the row's whole name left out (titles, suffixes, nicknames).
    pub dropped: Vec<String>,
}

/// Reads the client columns of a case sheet's rows.
#[derive(Debug, Clone)]
pub struct Reader {
    columns: Vec<ClientColumn>,
    /// The header of each of `columns`, trimmed: what errors are named by.
    headers: Vec<String>,
    date_order: DateOrder,
    country: Country,
}

impl Reader {
    /// A reader of `columns` (from the mapping) of a sheet with `headers`; dates are read in
    /// `date_order`, mobiles without a country code in `country`.
    pub fn new(
        columns: &[ClientColumn],
        headers: &[String],
        date_order: DateOrder,
        country: Country,
    ) -> Reader {
        Reader {
            columns: columns.to_vec(),
            headers: columns
                .iter()
                .map(|c| headers.get(c.col).map_or("", |h| h.trim()).to_string())
                .collect(),
            date_order,
            country,
        }
    }

    /// Whether the sheet has client columns at all.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The clients a row's cells name, in client order, and every error of their cells. A
    /// client with an error is left out.
    pub fn read(&self, cells: &[Cell]) -> (Vec<Mention>, Vec<RowError>) {
        let mut mentions = Vec::new();
        let mut errors = Vec::new();
        let mut groups: Vec<u8> = self.columns.iter().map(|c| c.group).collect();
        groups.sort_unstable();
        groups.dedup();
        for group in groups {
            let before = errors.len();
            if let Some(m) = self.read_group(group, cells, &mut errors)
                && errors.len() == before
            {
                mentions.push(m);
            }
        }
        (mentions, errors)
    }

    fn read_group(&self, group: u8, cells: &[Cell], errors: &mut Vec<RowError>) -> Option<Mention> {
        let cols: Vec<(usize, &ClientColumn)> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.group == group)
            .collect();
        let cell = |c: &ClientColumn| cells.get(c.col).unwrap_or(&Cell::Empty);
        if cols
            .iter()
            .all(|(_, c)| cell(c).is_blank() || cell_error(cell(c)).is_some())
        {
            return None; // not named (an error cell is reported by the mapping already)
        }
        let mut record = Record::new(&CLIENTS);
        let mut whole: Option<(usize, &ClientColumn)> = None;
        for &(k, c) in &cols {
            let v = cell(c);
            if v.is_blank() || cell_error(v).is_some() {
                continue;
            }
            let i = match c.part {
                Part::FullName => {
                    whole = Some((k, c));
                    continue;
                }
                Part::Field(i) => i,
            };
            let f = &CLIENTS.fields[i];
            match parse_cell(f.kind, v, self.date_order, self.country) {
                Ok(Value::Text(t)) if t.is_empty() => {}
                Ok(value) => record.set(i, value),
                Err(e) => errors.push(
                    RowError::new(&self.headers[k], e.to_string())
                        .at(Some(c.col))
                        .with_value(short(v.to_text().trim())),
                ),
            }
        }
        let first = CLIENTS.field_index("first_name")?;
        let last = CLIENTS.field_index("last_name")?;
        let mut dropped = Vec::new();
        if let Some((k, c)) = whole
            && (record.get(first).is_none() || record.get(last).is_none())
        {
            let v = cell(c);
            match split_name(&text(v)) {
                Ok(split) => {
                    if record.get(first).is_none() {
                        record.set(first, Value::Text(split.first.into()));
                    }
                    if record.get(last).is_none() {
                        record.set(last, Value::Text(split.last.into()));
                    }
                    dropped = split.dropped;
                }
                Err(why) => errors.push(
                    RowError::new(
                        &self.headers[k],
                        format!("cannot be split into a first and a last name: {why}"),
                    )
                    .at(Some(c.col))
                    .with_value(short(v.to_text().trim())),
                ),
            }
        }
        let ext = CLIENTS.field_index("external_source_id")?;
        let named = record.get(first).is_some() && record.get(last).is_some();
        let half = record.get(first).is_some() != record.get(last).is_some();
        if half || (!named && record.get(ext).is_none() && whole.is_none()) {
            errors.push(
                RowError::new(
                    label(group),
                    "names a client without both a first and a last name",
                )
                .at(cols.first().map(|(_, c)| c.col)),
            );
        }
        Some(Mention {
            group,
            record,
            dropped,
        })
    }
}

/// The person a mention is, for `check::people`.
fn person(row: usize, m: &Mention) -> Person {
    let r = &m.record;
    let owned = |name: &str| r.text(name).map(str::to_string);
    Person {
        row: u32::try_from(row).unwrap_or(u32::MAX),
        group: m.group,
        external_id: owned("external_source_id"),
        email: owned("email"),
        mobile: owned("mobile"),
        first: owned("first_name").unwrap_or_default(),
        last: owned("last_name").unwrap_or_default(),
        date_of_birth: match r.by_name("date_of_birth") {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        },
    }
}

/// Every client mention of the valid rows, gathered in row order.
#[derive(Debug, Default)]
pub struct Gathered {
    people: Vec<Person>,
    mentions: Vec<Mention>,
    rows: Vec<usize>,
}

/// One distinct client of the sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Its values: each field from the first row that gives it; `external_source_id` given or
    /// derived.
    pub record: Record,
    /// The rows naming it: `row 4`, `row 9 (Client 2)`.
    pub rows: Vec<String>,
    /// Why its rows were merged, and which rows sharing a key were kept apart from it.
    pub why: Vec<String>,
    /// Why it cannot be sent (the sheet contradicts itself, or no row names it): `None` when
    /// it can.
    pub problem: Option<String>,
    /// Its `external_source_id` was derived (no client id column gave one).
    pub derived: bool,
    /// Derived from its name alone (no email, mobile or date of birth): a client of the same
    /// name from another sheet may be another person, so it is never reused without asking.
    pub weak: bool,
    /// What splitting its name left out.
    pub dropped: Vec<String>,
}

/// The distinct clients of a sheet, and which of them each row names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clients {
    /// In order of first mention.
    pub clients: Vec<Client>,
    /// Per source row: its clients (indices into `clients`), in client order, each once.
    pub of_row: BTreeMap<usize, Vec<usize>>,
    /// Mentions merged into one client by each key, and pairs kept apart.
    pub merged: usize,
    pub apart: Vec<String>,
}

impl Clients {
    /// Clients that can be sent.
    pub fn sendable(&self) -> usize {
        self.clients.iter().filter(|c| c.problem.is_none()).count()
    }

    /// The first row naming each client, by client.
    pub fn first_rows(&self) -> Vec<usize> {
        let mut first = vec![usize::MAX; self.clients.len()];
        for (&row, ks) in &self.of_row {
            for &k in ks {
                first[k] = first[k].min(row);
            }
        }
        first
    }
}

impl Gathered {
    /// The clients a valid case row names; `case_source` is the case's `external_source`, the
    /// clients' unless the row gives their own.
    pub fn add(&mut self, source_row: usize, case_source: Option<&str>, mentions: Vec<Mention>) {
        let src = CLIENTS.field_index("external_source");
        for mut m in mentions {
            if let (Some(i), Some(s)) = (src, case_source)
                && m.record.get(i).is_none()
                && !s.is_empty()
            {
                m.record.set(i, Value::Text(s.into()));
            }
            self.people.push(person(source_row, &m));
            self.mentions.push(m);
            self.rows.push(source_row);
        }
    }

    /// Whether any row named a client.
    pub fn is_empty(&self) -> bool {
        self.mentions.is_empty()
    }

    /// Deduplicate the people and settle each client's values.
    pub fn finish(self, options: Options) -> Clients {
        let dedup = dedupe(&self.people, options);
        let derived = derive_ids(&self.people, &dedup);
        let mut out = Clients {
            merged: dedup.clusters.iter().map(|c| c.merges.len()).sum(),
            apart: dedup
                .apart
                .iter()
                .map(|a| a.describe(&self.people))
                .collect(),
            ..Clients::default()
        };
        for (k, cluster) in dedup.clusters.iter().enumerate() {
            let mut client = self.client(&dedup, k, derived[k].as_ref().map(|d| d.id.clone()));
            client.weak = derived[k]
                .as_ref()
                .is_some_and(|d| d.basis == crate::check::people::Key::Name);
            out.clients.push(client);
            for &m in &cluster.members {
                let list = out.of_row.entry(self.rows[m]).or_default();
                if !list.contains(&k) {
                    list.push(k);
                }
            }
        }
        out
    }

    fn client(&self, dedup: &Dedup, k: usize, derived: Option<String>) -> Client {
        let cluster = &dedup.clusters[k];
        let mut record = Record::new(&CLIENTS);
        let mut dropped = Vec::new();
        for &m in &cluster.members {
            let from = &self.mentions[m];
            for i in 0..CLIENTS.fields.len() {
                if record.get(i).is_none()
                    && let Some(v) = from.record.get(i)
                {
                    record.set(i, v.clone());
                }
            }
            for d in &from.dropped {
                if !dropped.contains(d) {
                    dropped.push(d.clone());
                }
            }
        }
        let is_derived = derived.is_some();
        if let (Some(id), Some(i)) = (derived, CLIENTS.field_index("external_source_id")) {
            record.set(i, Value::Text(id.into()));
        }
        let mut why: Vec<String> = cluster
            .merges
            .iter()
            .map(|m| m.describe(&self.people))
            .collect();
        why.extend(
            dedup
                .apart
                .iter()
                .filter(|a| dedup.cluster_of[a.a] == k || dedup.cluster_of[a.b] == k)
                .map(|a| a.describe(&self.people)),
        );
        let mut problems: Vec<String> = cluster
            .conflicts
            .iter()
            .map(|c| c.describe(&self.people))
            .collect();
        if record.text("first_name").is_none() || record.text("last_name").is_none() {
            problems.push(format!(
                "no row gives the first and last name of client {}",
                record.text("external_source_id").unwrap_or("?")
            ));
        }
        Client {
            record,
            rows: cluster
                .members
                .iter()
                .map(|&m| mention(&self.people[m]))
                .collect(),
            why,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
            derived: is_derived,
            weak: false,
            dropped,
        }
    }
}

/// A date of birth as the Clients sheet shows it.
pub fn birth_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// What `merge_by_name` is, for callers that hold only this module.
pub fn options(merge_by_name: bool) -> Options {
    Options { merge_by_name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::linked::find;

    fn reader(headers: &[&str]) -> Reader {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let cols = find(&headers, &(0..headers.len()).collect::<Vec<_>>());
        Reader::new(&cols, &headers, DateOrder::Mdy, Country::US)
    }

    fn row(cells: &[&str]) -> Vec<Cell> {
        cells
            .iter()
            .map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s.to_string())
                }
            })
            .collect()
    }

    /// Each row as read: the clients' (first, last, email, mobile) and the errors' text.
    #[test]
    fn rows_name_clients_or_say_why_not() {
        let r = reader(&[
            "Client",
            "Client Email",
            "Client Phone",
            "Client 2 First Name",
            "Client 2 Last Name",
            "Client 2 ID",
        ]);
        type Got = (Vec<(String, String, String, String)>, Vec<String>);
        let read = |cells: &[&str]| -> Got {
            let (ms, errs) = r.read(&row(cells));
            (
                ms.iter()
                    .map(|m| {
                        let t = |n: &str| m.record.text(n).unwrap_or("").to_string();
                        (t("first_name"), t("last_name"), t("email"), t("mobile"))
                    })
                    .collect(),
                errs.iter().map(|e| e.to_string()).collect(),
            )
        };
        let one = |f: &str, l: &str, e: &str, m: &str| (f.into(), l.into(), e.into(), m.into());
        let table: Vec<(Vec<&str>, Got)> = vec![
            (
                vec![
                    "Garcia, Maria",
                    "Maria@Example.com",
                    "(404) 555-0123",
                    "",
                    "",
                    "",
                ],
                (
                    vec![one("Maria", "Garcia", "Maria@example.com", "+14045550123")],
                    vec![],
                ),
            ),
            (
                vec!["John Q. Smith Jr.", "", "", "Ann", "Lee", "C-9"],
                (
                    vec![one("John Q.", "Smith", "", ""), one("Ann", "Lee", "", "")],
                    vec![],
                ),
            ),
            (vec!["", "", "", "", "", ""], (vec![], vec![])),
            // A client known by id alone: its name comes from another row.
            (
                vec!["", "", "", "", "", "C-9"],
                (vec![one("", "", "", "")], vec![]),
            ),
            (
                vec!["Acme Holdings LLC", "a@b.co", "", "", "", ""],
                (
                    vec![],
                    vec!["Client: cannot be split into a first and a last name: ".to_string()],
                ),
            ),
            (
                vec!["Cher", "", "", "Ann", "", ""],
                (
                    vec![],
                    vec![
                        "Client: cannot be split into a first and a last name: ".to_string(),
                        "Client 2: names a client without both a first and a last name".to_string(),
                    ],
                ),
            ),
            (
                vec!["Ann Lee", "not-an-email", "555", "", "", ""],
                (
                    vec![],
                    vec!["Client Email: ".into(), "Client Phone: ".into()],
                ),
            ),
        ];
        for (cells, (want_clients, want_errors)) in table {
            let (got_clients, got_errors) = read(&cells);
            assert_eq!(got_clients, want_clients, "{cells:?}");
            assert_eq!(
                got_errors.len(),
                want_errors.len(),
                "{cells:?}: {got_errors:?}"
            );
            for (g, w) in got_errors.iter().zip(&want_errors) {
                assert!(g.starts_with(w.as_str()), "{cells:?}: {g} / {w}");
            }
        }
    }

    fn gathered(rows: &[(usize, &str, &[&str])]) -> Gathered {
        let r = reader(&[
            "Client",
            "Client Email",
            "Client Mobile",
            "Client External ID",
            "Client DOB",
        ]);
        let mut g = Gathered::default();
        for (n, source, cells) in rows {
            let (ms, errs) = r.read(&row(cells));
            assert!(errs.is_empty(), "{errs:?}");
            g.add(*n, Some(source), ms);
        }
        g
    }

    #[test]
    fn people_written_differently_are_one_client_each() {
        let g = gathered(&[
            (
                2,
                "clio",
                &["Maria Garcia", "maria@example.com", "", "", ""],
            ),
            (
                3,
                "clio",
                &["Garcia, Maria", "MARIA@example.com", "404-555-0123", "", ""],
            ),
            (4, "clio", &["M. Garcia", "", "(404) 555 0123", "", ""]),
            (5, "clio", &["Li Wei", "", "", "C-2", "1/2/1990"]),
            (6, "clio", &["", "", "", "C-2", ""]),
            // A couple sharing an email: two clients, reported.
            (7, "clio", &["Ann Lee", "lees@example.com", "", "", ""]),
            (8, "clio", &["Bob Lee", "lees@example.com", "", "", ""]),
        ]);
        let c = g.finish(options(false));
        let names: Vec<(&str, &str)> = c
            .clients
            .iter()
            .map(|c| {
                (
                    c.record.text("first_name").unwrap_or(""),
                    c.record.text("last_name").unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("Maria", "Garcia"),
                ("Li", "Wei"),
                ("Ann", "Lee"),
                ("Bob", "Lee")
            ]
        );
        let maria = &c.clients[0];
        assert_eq!(maria.rows, ["row 2", "row 3", "row 4"]);
        assert_eq!(maria.record.text("mobile"), Some("+14045550123"));
        assert_eq!(maria.record.text("external_source"), Some("clio"));
        assert!(maria.derived);
        assert!(
            maria
                .record
                .text("external_source_id")
                .is_some_and(|id| id.starts_with("kb-")),
            "{:?}",
            maria.record
        );
        assert!(
            maria.why.iter().any(|w| w.contains("same email")),
            "{:?}",
            maria.why
        );
        let li = &c.clients[1];
        assert_eq!(li.rows, ["row 5", "row 6"]);
        assert!(!li.derived);
        assert_eq!(li.record.text("external_source_id"), Some("C-2"));
        assert_eq!(li.problem, None);
        assert_eq!(c.apart.len(), 1, "{:?}", c.apart);
        assert!(c.apart[0].contains("names differ"), "{:?}", c.apart);
        assert_eq!(c.of_row[&3], [0]);
        assert_eq!(c.of_row[&8], [3]);
        assert_eq!(c.sendable(), 4);
        assert_eq!(c.merged, 3);

        // The same sheet derives the same ids: a re-run finds the same clients.
        let again = gathered(&[
            (
                2,
                "clio",
                &["Maria Garcia", "maria@example.com", "", "", ""],
            ),
            (
                3,
                "clio",
                &["Garcia, Maria", "MARIA@example.com", "404-555-0123", "", ""],
            ),
        ])
        .finish(options(false));
        assert_eq!(
            again.clients[0].record.text("external_source_id"),
            maria.record.text("external_source_id")
        );
    }

    #[test]
    fn a_client_the_sheet_contradicts_or_never_names_is_not_sent() {
        let c = gathered(&[
            (2, "clio", &["Maria Garcia", "", "", "C-1", ""]),
            (3, "clio", &["Ann Lee", "", "", "C-1", ""]),
            (4, "clio", &["", "", "", "C-7", ""]),
            (5, "clio", &["Ann Lee", "", "", "", ""]),
        ])
        .finish(options(false));
        assert_eq!(c.clients.len(), 3);
        assert!(
            c.clients[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("external id")),
            "{:?}",
            c.clients[0]
        );
        assert!(
            c.clients[1]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("C-7")),
            "{:?}",
            c.clients[1]
        );
        assert_eq!(c.sendable(), 1);
        assert_eq!(birth_text(None), "");
    }
}

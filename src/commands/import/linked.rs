//! A case sheet's clients, sent with their cases. The reading pass found the distinct people the
//! rows name (`check::linked`); here they are settled against the ledger (a client it knows is
//! linked with no request), the missing ones are created in bulk, and only then do the cases
//! go, each with the `client_ids` of exactly the people its row names. A case whose client could
//! not be created is not sent without it: it is `failed` with the client's reason, unless
//! `--allow-missing-clients`.
//!
//! - **Keys.** Client `k` (its place among the sheet's clients, fixed by the input's
//!   fingerprint) is journaled and recorded as [`CLIENT_KEY`]` + k`, apart from every row.
//! - **Never twice.** Nothing in Kayse is unique about a client, so a create whose answer was
//!   lost is never sent again (`Entity::refuses_duplicates`): it is `unknown`, the ledger holds
//!   it in doubt, and no later run creates it anew.
//! - **Links from the case side.** A client's `case_ids` are never sent from here. A client the
//!   sheet changes is updated after a GET whose links it keeps, so an update never cuts a link an
//!   earlier import made.
//! - **Reuse.** The ledger finds a client by its external id (given, or derived from the same
//!   key by every run), else by its email or mobile when the name agrees. `unchanged`: the ledger
//!   has it from this file; `reused`: from another sheet. A client known by its name alone is
//!   never taken from another sheet without `--merge-by-name`: two people may share a name.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::answer::{Item, record};
use crate::check::linked::{Client, Clients};
use crate::engine::{Sent, Settled, Work};
use crate::entity::{CASES, Record, Value};
use crate::outcome::{Outcome, RowError};
use crate::record::journal::RowRecord;
use crate::report::clients::Fate;

pub use crate::check::linked::CLIENT_KEY;

/// What a client that was never answered is, after a resume (it may have been created).
pub const IN_FLIGHT_NOTE: &str = "the run stopped while this client's create was in flight; it is never sent twice (Kayse would make a second client): run kayse-bulk reconcile on these results (--from a clients sheet with ids, or --probe), or check the client in Kayse and ledger add an export that has it";

/// The key of client `k`.
pub fn key(k: usize) -> usize {
    CLIENT_KEY + k
}

/// Where a client stands for the cases that name it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ready {
    Id(u64),
    /// Still to be created by this run.
    Pending,
    /// It will not exist: why.
    Missing(String),
}

/// The clients of a linked import.
pub struct Linked {
    pub clients: Clients,
    /// Clients settled with no request (the ledger knows them, or refuses them), by key.
    pub(super) settled: BTreeMap<usize, RowRecord>,
    pub(super) allow_missing: bool,
}

/// How a client is named in a case's error: `Maria Garcia (row 4)`.
fn who(c: &Client) -> String {
    let name = [c.record.text("first_name"), c.record.text("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    format!("{name} ({})", c.rows.first().map_or("", String::as_str))
}

impl Linked {
    /// What every sendable client sends, by key, for the ledger's record.
    pub fn states(&self) -> HashMap<usize, Json> {
        self.clients
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.problem.is_none())
            .map(|(k, c)| (key(k), c.record.to_json()))
            .collect()
    }

    /// The first row of each client, by key: where the ledger says it came from.
    pub fn source_rows(&self) -> HashMap<usize, usize> {
        self.clients
            .first_rows()
            .into_iter()
            .enumerate()
            .map(|(k, row)| (key(k), row))
            .collect()
    }

    /// The clients settled with no request, for the ledger's counts.
    pub fn settled(&self) -> Vec<RowRecord> {
        self.settled.values().cloned().collect()
    }

    /// How many clients the ledger already has (linked with no request).
    pub fn known(&self) -> u64 {
        self.settled
            .values()
            .filter(|r| matches!(r.outcome, Outcome::Unchanged | Outcome::Reused))
            .count() as u64
    }

    /// Where client `k` stands, given the outcomes journaled so far (`done`, by key).
    pub fn ready(&self, k: usize, done: &BTreeMap<usize, RowRecord>) -> Ready {
        let c = &self.clients.clients[k];
        if let Some(p) = &c.problem {
            return Ready::Missing(format!("its client {} cannot be sent: {p}", who(c)));
        }
        let Some(r) = self.settled.get(&key(k)).or_else(|| done.get(&key(k))) else {
            return Ready::Pending;
        };
        let why = r.error.as_deref().unwrap_or(r.outcome.as_str());
        match (r.outcome, r.id) {
            (
                Outcome::Created | Outcome::Updated | Outcome::Unchanged | Outcome::Reused,
                Some(id),
            ) => Ready::Id(id),
            (Outcome::Unknown, _) => Ready::Missing(format!(
                "its client {} may or may not have been created ({why})",
                who(c)
            )),
            _ => Ready::Missing(format!("its client {} was not created: {why}", who(c))),
        }
    }

    /// Give each case the ids of the clients its row names. Before the clients are sent
    /// (`last` false), a client still to be created stands as id 0, so the ledger sees the case
    /// change; after (`last` true), a case whose client is still pending (the run stopped) is
    /// held back, unsent. A case with a client that will not exist comes back `failed`, unless
    /// missing clients are allowed.
    pub fn fill(
        &self,
        items: Vec<Item>,
        done: &BTreeMap<usize, RowRecord>,
        last: bool,
    ) -> (Vec<Item>, Vec<RowRecord>) {
        let mut send = Vec::with_capacity(items.len());
        let mut failed = Vec::new();
        for (row, case) in items {
            let Some(row_clients) = self.row_clients(row, done, last) else {
                send.push((row, case));
                continue;
            };
            if !row_clients.missing.is_empty() && !self.allow_missing {
                let why = format!(
                    "{}; the case is not sent without it (--allow-missing-clients sends it anyway)",
                    row_clients.missing.join("; ")
                );
                failed.push(record(row, None, Outcome::Failed, case.id, Some(why)));
                continue;
            }
            if row_clients.pending {
                continue; // not sent: the results say the run stopped
            }
            send.push((row, linked_to(case, row_clients.ids)));
        }
        (send, failed)
    }

    /// A case an earlier run settled, with the ids of those of its clients that exist, as that
    /// run sent it: what the ledger records for it again on a resume. Never failed here: it is
    /// not sent again.
    pub fn with_ids(&self, (row, case): Item, done: &BTreeMap<usize, RowRecord>) -> Item {
        match self.row_clients(row, done, true) {
            Some(c) => (row, linked_to(case, c.ids)),
            None => (row, case),
        }
    }

    /// Where the clients a row names stand: `None` when it names none. Before the clients are
    /// sent (`last` false) a client still to be created stands as id 0; after, it is `pending`.
    fn row_clients(
        &self,
        row: usize,
        done: &BTreeMap<usize, RowRecord>,
        last: bool,
    ) -> Option<RowClients> {
        let ks = self.clients.of_row.get(&row)?;
        let mut out = RowClients::default();
        for &k in ks {
            match self.ready(k, done) {
                Ready::Id(id) => out.ids.push(id),
                Ready::Pending if last => out.pending = true,
                Ready::Pending => out.ids.push(0),
                Ready::Missing(why) => out.missing.push(why),
            }
        }
        Some(out)
    }

    /// [`Linked::fill`] over a run's queued work, once the clients are sent.
    pub fn fill_work(
        &self,
        work: Work<Item>,
        done: &BTreeMap<usize, RowRecord>,
    ) -> (Work<Item>, Vec<RowRecord>) {
        let mut failed = Vec::new();
        let mut fill = |items: Vec<Item>| {
            let (items, f) = self.fill(items, done, true);
            failed.extend(f);
            items
        };
        let doubtful = work
            .doubtful
            .into_iter()
            .map(|mut j| {
                j.items = fill(std::mem::take(&mut j.items));
                j
            })
            .filter(|j| !j.items.is_empty())
            .collect();
        let lists = work.lists.into_iter().map(&mut fill).collect();
        (Work { doubtful, lists }, failed)
    }

    /// What became of each client, for the Clients sheet.
    pub fn fates(&self, sent: &Sent) -> Vec<Fate> {
        let not_sent = sent.not_sent("sent");
        (0..self.clients.clients.len())
            .map(|k| {
                let c = &self.clients.clients[k];
                if let Some(p) = &c.problem {
                    return fate(Outcome::Invalid, None, Some(p.clone()));
                }
                if let Some(r) = self.settled.get(&key(k)) {
                    return fate(r.outcome, r.id, r.error.clone());
                }
                match sent.settle(key(k)) {
                    Settled::Done(r) => fate(r.outcome, r.id, r.error.clone()),
                    Settled::InDoubt => fate(
                        Outcome::Unknown,
                        None,
                        Some("the run stopped while this client's request was in flight".into()),
                    ),
                    Settled::NotSent => fate(Outcome::Skipped, None, Some(not_sent.clone())),
                }
            })
            .collect()
    }

    /// The `kayse_client_ids` of a row: the ids of its clients that exist, `;` between.
    pub fn ids_text(&self, row: usize, fates: &[Fate]) -> String {
        self.clients
            .of_row
            .get(&row)
            .into_iter()
            .flatten()
            .filter_map(|&k| fates.get(k).and_then(|f| f.id))
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The rows naming a client the sheet contradicts (or never names in full), each with the
/// client's reason, as `validate` says: they are invalid, not sent.
pub fn unsendable(clients: &Clients) -> BTreeMap<usize, Vec<RowError>> {
    let mut out: BTreeMap<usize, Vec<RowError>> = BTreeMap::new();
    for (&row, ks) in &clients.of_row {
        for &k in ks {
            if let Some(p) = &clients.clients[k].problem {
                out.entry(row)
                    .or_default()
                    .push(RowError::new("client", p.clone()));
            }
        }
    }
    out
}

/// Where the clients one row names stand.
#[derive(Default)]
struct RowClients {
    /// The ids of those that exist (0 for one still to be created, before sending).
    ids: Vec<u64>,
    /// Why each of the others will not exist.
    missing: Vec<String>,
    /// One is still to be created (after sending: the run stopped before it).
    pending: bool,
}

/// `case` linked to exactly `ids`.
fn linked_to(mut case: Record, ids: Vec<u64>) -> Record {
    if let Some(field) = CASES.link_to("clients") {
        case.set(field, Value::IdList(ids));
    }
    case
}

fn fate(outcome: Outcome, id: Option<u64>, error: Option<String>) -> Fate {
    Fate { outcome, id, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{CLIENTS, Record};

    fn client(first: &str, problem: Option<&str>) -> Client {
        let mut record = Record::new(&CLIENTS);
        record.set(0, Value::Text(first.into()));
        record.set(1, Value::Text("Lee".into()));
        Client {
            record,
            rows: vec!["row 2".into()],
            why: vec![],
            problem: problem.map(str::to_string),
            derived: true,
            weak: false,
            dropped: vec![],
        }
    }

    /// Ann (settled: the ledger knows her as 7), Bob (to create), Cy (the sheet contradicts him).
    fn linked(allow_missing: bool) -> Linked {
        let clients = Clients {
            clients: vec![
                client("Ann", None),
                client("Bob", None),
                client("Cy", Some("the names differ")),
            ],
            of_row: [(2, vec![0]), (3, vec![0, 1]), (4, vec![1]), (5, vec![2, 0])].into(),
            merged: 0,
            apart: vec![],
        };
        Linked {
            clients,
            settled: [(
                key(0),
                record(key(0), None, Outcome::Unchanged, Some(7), None),
            )]
            .into(),
            allow_missing,
        }
    }

    fn case(row: usize) -> Item {
        (row, Record::new(&CASES))
    }

    fn client_ids(item: &Item) -> Option<Vec<u64>> {
        match item.1.by_name("client_ids") {
            Some(Value::IdList(ids)) => Some(ids.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_settled_case_keeps_the_ids_of_its_clients_that_exist() {
        let bob = |outcome, id| {
            let r = record(key(1), Some(1), outcome, id, None);
            BTreeMap::from([(key(1), r)])
        };
        let (bob9, lost, none) = (
            bob(Outcome::Created, Some(9)),
            bob(Outcome::Unknown, None),
            BTreeMap::new(),
        );
        // (row, what was journaled, its client_ids)
        type Case<'a> = (usize, &'a BTreeMap<usize, RowRecord>, Option<Vec<u64>>);
        let table: [Case; 6] = [
            (2, &none, Some(vec![7])),
            (3, &bob9, Some(vec![7, 9])),
            (3, &lost, Some(vec![7])),
            (4, &none, Some(vec![])),
            (5, &none, Some(vec![7])),
            (6, &none, None),
        ];
        let l = linked(false);
        for (row, done, want) in table {
            assert_eq!(client_ids(&l.with_ids(case(row), done)), want, "row {row}");
        }
    }

    #[test]
    fn cases_get_their_clients_ids_or_fail_for_them() {
        let created = |id| {
            let r = record(key(1), Some(1), Outcome::Created, Some(id), None);
            BTreeMap::from([(key(1), r)])
        };
        let lost = BTreeMap::from([(
            key(1),
            record(key(1), Some(1), Outcome::Unknown, None, Some("lost".into())),
        )]);
        let none = BTreeMap::new();
        let bob9 = created(9);
        // (allow missing, what was journaled, last, rows sent with their ids, rows failed)
        type Want = (Vec<(usize, Option<Vec<u64>>)>, Vec<usize>);
        let table: Vec<(bool, &BTreeMap<usize, RowRecord>, bool, Want)> = vec![
            // Before sending: Bob stands as 0, so the ledger sees rows 3 and 4 change.
            (
                false,
                &none,
                false,
                (
                    vec![
                        (2, Some(vec![7])),
                        (3, Some(vec![7, 0])),
                        (4, Some(vec![0])),
                        (6, None),
                    ],
                    vec![5],
                ),
            ),
            // After: Bob is 9.
            (
                false,
                &bob9,
                true,
                (
                    vec![
                        (2, Some(vec![7])),
                        (3, Some(vec![7, 9])),
                        (4, Some(vec![9])),
                        (6, None),
                    ],
                    vec![5],
                ),
            ),
            // Bob's answer was lost: his cases are not sent.
            (
                false,
                &lost,
                true,
                (vec![(2, Some(vec![7])), (6, None)], vec![3, 4, 5]),
            ),
            // ...unless missing clients are allowed: then with the others.
            (
                true,
                &lost,
                true,
                (
                    vec![
                        (2, Some(vec![7])),
                        (3, Some(vec![7])),
                        (4, Some(vec![])),
                        (5, Some(vec![7])),
                        (6, None),
                    ],
                    vec![],
                ),
            ),
            // The run stopped before Bob was sent: his cases are held back, neither sent nor failed.
            (
                false,
                &none,
                true,
                (vec![(2, Some(vec![7])), (6, None)], vec![5]),
            ),
        ];
        for (i, (allow, done, last, (want_sent, want_failed))) in table.into_iter().enumerate() {
            let l = linked(allow);
            let items = [2, 3, 4, 5, 6].map(case).to_vec();
            let (sent, failed) = l.fill(items, done, last);
            let got: Vec<_> = sent.iter().map(|it| (it.0, client_ids(it))).collect();
            assert_eq!(got, want_sent, "case {i}");
            let rows: Vec<usize> = failed.iter().map(|r| r.row).collect();
            assert_eq!(rows, want_failed, "case {i}");
            assert!(failed.iter().all(|r| r.outcome == Outcome::Failed));
        }
        let (_, failed) = linked(false).fill(vec![case(5)], &none, false);
        let why = failed[0].error.as_deref().unwrap_or("");
        assert!(
            why.contains("its client Cy Lee (row 2) cannot be sent: the names differ")
                && why.contains("--allow-missing-clients"),
            "{why}"
        );
        let (_, failed) = linked(false).fill(vec![case(4)], &lost, true);
        let why = failed[0].error.as_deref().unwrap_or("");
        assert!(
            why.contains("may or may not have been created (lost)"),
            "{why}"
        );
    }

    #[test]
    fn every_client_has_a_fate_and_rows_show_their_ids() {
        let l = linked(false);
        let mut sent = Sent::nothing();
        sent.outcomes.insert(
            key(1),
            record(key(1), Some(1), Outcome::Created, Some(9), None),
        );
        let fates = l.fates(&sent);
        let got: Vec<(Outcome, Option<u64>)> = fates.iter().map(|f| (f.outcome, f.id)).collect();
        assert_eq!(
            got,
            [
                (Outcome::Unchanged, Some(7)),
                (Outcome::Created, Some(9)),
                (Outcome::Invalid, None)
            ]
        );
        assert_eq!(l.ids_text(3, &fates), "7;9");
        assert_eq!(l.ids_text(5, &fates), "7");
        assert_eq!(l.ids_text(6, &fates), "");
        let unsent = l.fates(&Sent::nothing());
        assert_eq!(unsent[1].outcome, Outcome::Skipped);
        assert_eq!(l.known(), 1);
        assert_eq!(
            unsendable(&l.clients).keys().copied().collect::<Vec<_>>(),
            [5]
        );
        assert_eq!(l.source_rows()[&key(2)], 5);
    }
}

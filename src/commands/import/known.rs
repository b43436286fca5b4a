//! A case sheet's clients against the ledger, before anything is sent: a client it knows by its
//! external id (given, or derived from the same key by every run) is linked with no request, or
//! updated when the sheet changes it; else one it knows by the same email or mobile, under the
//! same name, is reused; the rest are created. `unchanged`: the ledger has the client from
//! this file; `reused`: from another sheet. A client known by its name alone is never taken
//! from another sheet without `--merge-by-name`: two people may share a name.

use std::collections::{BTreeMap, BTreeSet};

use super::answer::{Item, record};
use super::linked::{CLIENT_KEY, Linked, key};
use super::sync::{self, Match};
use crate::check::linked::Clients;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::record::ledger::{Blanks, Ledger};

impl Linked {
    /// Settle the sheet's clients against the ledger: those it knows are linked with no request
    /// (or updated when the sheet changes them); the rest are to be created. Clients whose keys
    /// are in `leave` are the journal's to settle. `sheet` is the names this input goes by in the
    /// ledger: its path, and the sheet a results file fed back came from.
    pub fn decide(
        ledger: &Ledger,
        clients: Clients,
        leave: &BTreeSet<usize>,
        sheet: &[String],
        merge_by_name: bool,
        allow_missing: bool,
    ) -> Result<(Linked, Vec<Item>), Fatal> {
        let items: Vec<Item> = clients
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.problem.is_none())
            .map(|(k, c)| (key(k), c.record.clone()))
            .collect();
        let (send, settled) = sync::decide(ledger, items, leave, Match::External, Blanks::Keep)?;
        let from_elsewhere = |id: u64| -> Result<Option<String>, Fatal> {
            let known = ledger.get("clients", id).map_err(Fatal::from)?;
            Ok(known.and_then(|k| k.file).filter(|f| !sheet.contains(f)))
        };
        let weak_conflict = |row: usize, id: u64, other: &str| {
            record(
                row,
                None,
                Outcome::Conflict,
                None,
                Some(format!(
                    "known only by name, and the ledger has client {id} of that name from {other}: add this client's email, mobile, date of birth or id to tell them apart, or pass --merge-by-name to take client {id}"
                )),
            )
        };
        let mut out = Linked {
            clients,
            settled: BTreeMap::new(),
            allow_missing,
        };
        for mut r in settled {
            let c = &out.clients.clients[r.row - CLIENT_KEY];
            if let (Outcome::Unchanged, Some(id)) = (r.outcome, r.id)
                && let Some(other) = from_elsewhere(id)?
            {
                r = if c.weak && !merge_by_name {
                    weak_conflict(r.row, id, &other)
                } else {
                    record(r.row, None, Outcome::Reused, Some(id), None)
                };
            }
            out.settled.insert(r.row, r);
        }
        let mut to_send = Vec::with_capacity(send.len());
        for (row, rec) in send {
            let c = &out.clients.clients[row - CLIENT_KEY];
            if leave.contains(&row) {
                to_send.push((row, rec));
                continue;
            }
            match rec.id {
                Some(id) => match from_elsewhere(id)? {
                    Some(other) if c.weak && !merge_by_name => {
                        out.settled.insert(row, weak_conflict(row, id, &other));
                    }
                    _ => to_send.push((row, rec)),
                },
                None => match crate::engine::clients::by_contact(ledger, &rec)? {
                    Some(id) => {
                        out.settled
                            .insert(row, record(row, None, Outcome::Reused, Some(id), None));
                    }
                    None => to_send.push((row, rec)),
                },
            }
        }
        Ok((out, to_send))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::linked::Client;
    use crate::entity::{CLIENTS, Record, Value};
    use crate::record::ledger::{Source, Written};

    fn person(first: &str, ext: &str, email: &str, weak: bool) -> Client {
        let mut record = Record::new(&CLIENTS);
        for (name, v) in [
            ("first_name", first),
            ("last_name", "Lee"),
            ("external_source", "firm"),
            ("external_source_id", ext),
            ("email", email),
        ] {
            if !v.is_empty() {
                record.set(CLIENTS.field_index(name).unwrap(), Value::Text(v.into()));
            }
        }
        Client {
            record,
            rows: vec!["row 2".into()],
            why: vec![],
            problem: None,
            derived: true,
            weak,
            dropped: vec![],
        }
    }

    /// The ledger an earlier import of `a.csv` left: Ann (1), Bob (2), Bo known by name only
    /// (3), and two Sams sharing an email (4, 5).
    fn ledger(dir: &std::path::Path) -> Ledger {
        let mut l = Ledger::open(&dir.join("l.sqlite")).unwrap();
        let mut b = l.batch(None).unwrap();
        let known = [
            (1, person("Ann", "kb-ann", "ann@x.com", false)),
            (2, person("Bob", "B-2", "bob@x.com", false)),
            (3, person("Bo", "kb-bo", "", true)),
            (4, person("Sam", "S-1", "sams@x.com", false)),
            (5, person("Sam", "S-2", "sams@x.com", false)),
        ];
        for (id, c) in &known {
            let state = c.record.to_json();
            b.sent(Written {
                entity: "clients",
                id: *id,
                sent: &state,
                answer: None,
                created: true,
                batch: None,
                source: Source {
                    file: Some("a.csv"),
                    row: Some(2),
                },
            })
            .unwrap();
        }
        b.commit().unwrap();
        l
    }

    #[test]
    fn known_clients_are_linked_reused_or_refused_never_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path());
        // (client, this file, --merge-by-name, what it becomes: an outcome with an id, or sent
        // as an update of an id, or created)
        let table: Vec<(Client, &str, bool, &str, Option<u64>)> = vec![
            (
                person("Ann", "kb-ann", "ann@x.com", false),
                "a.csv",
                false,
                "unchanged",
                Some(1),
            ),
            (
                person("Ann", "kb-ann", "ann@x.com", false),
                "b.csv",
                false,
                "reused",
                Some(1),
            ),
            (
                person("Ann", "kb-ann", "new@x.com", false),
                "b.csv",
                false,
                "update",
                Some(1),
            ),
            // Another external id, the same email and name: that client.
            (
                person("Bob", "kb-bob", "BOB@x.com", false),
                "b.csv",
                false,
                "reused",
                Some(2),
            ),
            // The same email, another name: a new person.
            (
                person("Rob", "kb-rob", "bob@x.com", false),
                "b.csv",
                false,
                "create",
                None,
            ),
            (
                person("Bo", "kb-bo", "", true),
                "b.csv",
                false,
                "conflict",
                None,
            ),
            (
                person("Bo", "kb-bo", "", true),
                "a.csv",
                false,
                "unchanged",
                Some(3),
            ),
            (
                person("Bo", "kb-bo", "", true),
                "b.csv",
                true,
                "reused",
                Some(3),
            ),
            // Two known people fit: neither is taken.
            (
                person("Sam", "kb-sam", "sams@x.com", false),
                "b.csv",
                false,
                "create",
                None,
            ),
            (
                person("Zed", "kb-zed", "zed@x.com", false),
                "b.csv",
                false,
                "create",
                None,
            ),
        ];
        for (c, file, merge, want, id) in table {
            let label = format!(
                "{} {} {file} {merge}",
                c.record.text("first_name").unwrap(),
                c.record.text("external_source_id").unwrap()
            );
            let clients = Clients {
                clients: vec![c],
                of_row: [(2, vec![0])].into(),
                merged: 0,
                apart: vec![],
            };
            let (linked, send) = Linked::decide(
                &l,
                clients,
                &BTreeSet::new(),
                &[file.to_string()],
                merge,
                false,
            )
            .unwrap();
            let got = match (linked.settled.get(&key(0)), send.first()) {
                (Some(r), _) => (r.outcome.as_str(), r.id),
                (None, Some((_, rec))) if rec.id.is_some() => ("update", rec.id),
                (None, Some(_)) => ("create", None),
                (None, None) => ("nothing", None),
            };
            assert_eq!(got, (want, id), "{label}");
            if want == "conflict" {
                let why = linked.settled[&key(0)].error.clone().unwrap_or_default();
                assert!(
                    why.contains("--merge-by-name") && why.contains("a.csv"),
                    "{why}"
                );
            }
        }
    }
}

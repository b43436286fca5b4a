//! The ledger's answer for one key of a message row: the Kayse id of the case or client the
//! firm's key names, or why there is none. A key the ledger does not know, knows only from a
//! create in doubt, or knows for several records is the row's error, never a guess; a client
//! must be one of its case's clients when the ledger knows them. Pure over a `Lookup`; the
//! ledger is one `Lookup`.

use crate::cell::Cell;
use crate::check::email::parse_email_text;
use crate::check::phone::{Country, parse_mobile_text};
use crate::record::ledger::{self, Found, Ledger};

/// What the ledger holds for one key, and the links it recorded.
pub trait Lookup {
    fn find(&self, entity: &str, key: &ledger::Key) -> Result<Found, String>;
    /// The clients this tool last linked case `case` to (empty: it never sent them).
    fn clients_of(&self, case: u64) -> Result<Vec<u64>, String>;
}

impl Lookup for Ledger {
    fn find(&self, entity: &str, key: &ledger::Key) -> Result<Found, String> {
        Ledger::find(self, entity, key).map_err(|e| e.to_string())
    }

    fn clients_of(&self, case: u64) -> Result<Vec<u64>, String> {
        self.links("cases", case, "clients")
            .map_err(|e| e.to_string())
    }
}

/// The Kayse id of the record of `entity` whose `rule` key is written in `cell`, or why there is
/// none. An email is compared without letter case, a mobile as E.164 (`country` for numbers
/// written without a country code), so a key is found however the sheet writes it.
pub fn resolve(
    lookup: &dyn Lookup,
    entity: &str,
    rule: &str,
    cell: &Cell,
    country: Country,
) -> Result<u64, String> {
    let (live, what) = candidates(lookup, entity, rule, cell, country)?;
    one_of(&live, &what)
}

/// The client a message row names by key, for a message about case `case`. When the ledger
/// knows which clients this tool linked the case to, the client must be one of them: a key two
/// people share (a couple's email) finds the one on this case, and a key of someone else's is
/// the row's error, never a message to the wrong person. Otherwise, as [`resolve`].
pub fn resolve_client(
    lookup: &dyn Lookup,
    case: u64,
    rule: &str,
    cell: &Cell,
    country: Country,
) -> Result<u64, String> {
    let (live, what) = candidates(lookup, "clients", rule, cell, country)?;
    let linked = lookup.clients_of(case)?;
    if linked.is_empty() {
        return one_of(&live, &what);
    }
    let on_case: Vec<u64> = live
        .iter()
        .copied()
        .filter(|id| linked.contains(id))
        .collect();
    match (on_case.as_slice(), live.is_empty()) {
        ([], false) => Err(format!(
            "{what} is not a client of case {case} as the ledger knows it (its clients: {}): check the row, or name the client by its id",
            list(&linked)
        )),
        _ => one_of(&on_case, &what),
    }
}

/// The live ids the ledger holds for the key written in `cell`, and the key described; an
/// error when none is live.
fn candidates(
    lookup: &dyn Lookup,
    entity: &str,
    rule: &str,
    cell: &Cell,
    country: Country,
) -> Result<(Vec<u64>, String), String> {
    let text = cell.to_text();
    let text = text.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    let value = match rule {
        "email" => parse_email_text(text)?,
        "mobile" => parse_mobile_text(text, country)?.e164,
        _ => text.to_string(),
    };
    let key = ledger::rule(entity, rule)
        .and_then(|r| r.key(&[value.as_str()]))
        .ok_or_else(|| format!("{rule} is not a key of {entity}"))?;
    let what = key.describe();
    let found = lookup.find(entity, &key)?;
    let live: Vec<u64> = found
        .records
        .iter()
        .filter(|k| k.status == ledger::Status::Live)
        .map(|k| k.id)
        .collect();
    match live.as_slice() {
        [] if !found.in_doubt.is_empty() => Err(format!(
            "the ledger knows {what} only from a create whose answer was lost: run kayse-bulk reconcile on that run's results first"
        )),
        [] if !found.records.is_empty() => Err(format!(
            "{what} was deleted from Kayse (the ledger says so); nothing to send to"
        )),
        [] => Err(format!(
            "the ledger does not know {what}: import it first, or kayse-bulk ledger add a results file or export that has it"
        )),
        _ => Ok((live, what)),
    }
}

/// The one id of `ids`, or why not.
fn one_of(ids: &[u64], what: &str) -> Result<u64, String> {
    match ids {
        [id] => Ok(*id),
        [] => Err(format!("the ledger does not know {what}")),
        many => Err(format!(
            "{what} belongs to {} records in the ledger ({}): name the one meant by its id",
            many.len(),
            list(many)
        )),
    }
}

fn list(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ledger::{Known, Status, Unknown};
    use std::collections::HashMap;

    /// A ledger in a map: (entity, rule, value) → records, plus keys in doubt.
    #[derive(Default)]
    struct Map {
        live: HashMap<(String, String, String), Vec<(u64, Status)>>,
        doubt: Vec<(String, String, String)>,
        /// case → the clients it was linked to.
        links: HashMap<u64, Vec<u64>>,
    }

    fn known(entity: &str, id: u64, status: Status) -> Known {
        Known {
            entity: entity.into(),
            id,
            status,
            sent_state: None,
            sent_at: None,
            seen_state: None,
            seen_at: None,
            run: None,
            file: None,
            row: None,
        }
    }

    impl Lookup for Map {
        fn find(&self, entity: &str, key: &ledger::Key) -> Result<Found, String> {
            let k = (entity.to_string(), key.rule.clone(), key.value.clone());
            let records = self
                .live
                .get(&k)
                .map(|v| v.iter().map(|(id, s)| known(entity, *id, *s)).collect())
                .unwrap_or_default();
            let in_doubt = if self.doubt.contains(&k) {
                vec![Unknown {
                    unknown_id: 1,
                    entity: entity.into(),
                    run: None,
                    batch: None,
                    file: None,
                    row: Some(7),
                    state: serde_json::json!({}),
                    keys: vec![key.clone()],
                    recorded_at: chrono::Utc::now(),
                }]
            } else {
                Vec::new()
            };
            Ok(Found { records, in_doubt })
        }

        fn clients_of(&self, case: u64) -> Result<Vec<u64>, String> {
            Ok(self.links.get(&case).cloned().unwrap_or_default())
        }
    }

    #[test]
    fn keys_resolve_through_the_ledger_or_say_why_not() {
        let mut m = Map::default();
        let mut put = |e: &str, r: &str, v: &str, ids: Vec<(u64, Status)>| {
            m.live.insert((e.into(), r.into(), v.into()), ids);
        };
        put("cases", "case_number", "A-1", vec![(11, Status::Live)]);
        put("cases", "case_number", "OLD", vec![(12, Status::Deleted)]);
        put(
            "clients",
            "email",
            "maria@example.com",
            vec![(21, Status::Live)],
        );
        put(
            "clients",
            "mobile",
            "+14045550123",
            vec![(22, Status::Live)],
        );
        put(
            "clients",
            "email",
            "family@example.com",
            vec![(23, Status::Live), (24, Status::Live)],
        );
        m.doubt
            .push(("cases".into(), "case_number".into(), "LOST".into()));
        let text = |s: &str| Cell::Text(s.into());
        let table: Vec<(&str, &str, Cell, Result<u64, &str>)> = vec![
            ("cases", "case_number", text("A-1"), Ok(11)),
            ("cases", "case_number", text(" A-1 "), Ok(11)),
            ("cases", "case_number", text("a-1"), Err("does not know")),
            ("cases", "case_number", text("OLD"), Err("was deleted")),
            ("cases", "case_number", text("LOST"), Err("reconcile")),
            ("cases", "case_number", Cell::Empty, Err("is required")),
            ("clients", "email", text("Maria@Example.COM"), Ok(21)),
            ("clients", "email", text("maria@"), Err("")),
            (
                "clients",
                "email",
                text("family@example.com"),
                Err("23, 24"),
            ),
            ("clients", "mobile", text("(404) 555-0123"), Ok(22)),
            ("clients", "mobile", Cell::Int(4045550123), Ok(22)),
            (
                "clients",
                "mobile",
                text("404 555 0199"),
                Err("does not know"),
            ),
            ("clients", "mobile", text("call me"), Err("letters")),
        ];
        for (entity, rule, cell, want) in table {
            let got = resolve(&m, entity, rule, &cell, Country::US);
            match (&got, want) {
                (Ok(id), Ok(w)) => assert_eq!(*id, w, "{rule} {cell:?}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{rule} {cell:?}: {e}"),
                _ => panic!("{rule} {cell:?}: got {got:?}, want {want:?}"),
            }
        }

        // Against a case whose clients the ledger knows: the couple's email finds the one on the
        // case, and someone else's client is refused; a case with no links known is as before.
        m.links.insert(11, vec![24, 22]);
        let table: Vec<(u64, &str, Cell, Result<u64, &str>)> = vec![
            (11, "email", text("family@example.com"), Ok(24)),
            (11, "mobile", text("(404) 555-0123"), Ok(22)),
            (
                11,
                "email",
                text("maria@example.com"),
                Err("is not a client of case 11 as the ledger knows it (its clients: 24, 22)"),
            ),
            (
                11,
                "email",
                text("nobody@example.com"),
                Err("does not know"),
            ),
            (99, "email", text("maria@example.com"), Ok(21)),
            (99, "email", text("family@example.com"), Err("23, 24")),
        ];
        for (case, rule, cell, want) in table {
            let got = resolve_client(&m, case, rule, &cell, Country::US);
            match (&got, want) {
                (Ok(id), Ok(w)) => assert_eq!(*id, w, "{case} {rule} {cell:?}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{case} {rule} {cell:?}: {e}"),
                _ => panic!("{case} {rule} {cell:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}

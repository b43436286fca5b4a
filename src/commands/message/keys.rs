//! Message rows that name their case and client by the firm's keys, not Kayse ids: a
//! `case_number` column instead of `case_id`, a client's `email` or `mobile` instead of
//! `client_id`. Each key is found in the ledger, with no request; a key the ledger does not know,
//! knows only from a create in doubt, or knows for several records is the row's error, never a
//! guess. The judgment (`resolve`) is pure over a `Lookup`; the ledger is one `Lookup`.

use crate::cell::Cell;
use crate::check::email::parse_email_text;
use crate::check::phone::{Country, parse_mobile_text};
use crate::record::ledger::{self, Found, Ledger};

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

/// What the ledger holds for one key.
pub trait Lookup {
    fn find(&self, entity: &str, key: &ledger::Key) -> Result<Found, String>;
}

impl Lookup for Ledger {
    fn find(&self, entity: &str, key: &ledger::Key) -> Result<Found, String> {
        Ledger::find(self, entity, key).map_err(|e| e.to_string())
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
        [id] => Ok(*id),
        [] if !found.in_doubt.is_empty() => Err(format!(
            "the ledger knows {what} only from a create whose answer was lost: run kayse-bulk reconcile on that run's results first"
        )),
        [] if !found.records.is_empty() => Err(format!(
            "{what} was deleted from Kayse (the ledger says so); nothing to send to"
        )),
        [] => Err(format!(
            "the ledger does not know {what}: import it first, or kayse-bulk ledger add a results file or export that has it"
        )),
        many => Err(format!(
            "{what} belongs to {} records in the ledger ({}): name the one meant by its id",
            many.len(),
            many.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
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
    }
}

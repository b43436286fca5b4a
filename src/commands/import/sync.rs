//! Import as a sync: what each row becomes against what the ledger knows, before anything is
//! sent. A row whose key the ledger knows is an update of that id, or `unchanged` (no request)
//! when it says nothing new; a key in doubt is not created again; a sheet id that disagrees
//! with the ledger is a `conflict`. The judgment (`judge`) is pure; `decide` asks the ledger.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::answer::{Item, record};
use crate::entity::Record;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;
use crate::record::ledger::{self, Blanks, Found, Known, Ledger, Status};

/// `--match`: which firm key finds a row's Kayse id in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Match {
    /// The case number (for clients, which have none: the external pair).
    CaseNumber,
    /// external_source + external_source_id.
    External,
    /// No key: only a row's own id is used.
    None,
}

impl Match {
    fn rule(self) -> Option<&'static str> {
        match self {
            Match::CaseNumber => Some("case_number"),
            Match::External => Some("external"),
            Match::None => None,
        }
    }
}

/// What a row becomes before sending.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send it: a create (`None`) or an update of this id.
    Send(Option<u64>),
    /// Nothing new compared with what the ledger last sent: no request.
    Unchanged(u64),
    /// Reported on the row, never guessed.
    Conflict(Option<u64>, String),
    /// An earlier create of this key may have gone through: not created again.
    InDoubt(String),
}

/// What the ledger says about one row, as `judge` needs it.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The key described for people (`case_number A-1`), if the row has one.
    pub key: Option<String>,
    /// What the ledger holds for the row's key.
    pub found: Found,
    /// The ledger's record of the row's own id, if it has one.
    pub by_id: Option<Known>,
}

/// The fields a row never sends, so never compared.
fn ignored(r: &Record) -> Vec<&'static str> {
    r.entity().answer_only.iter().map(|f| f.name).collect()
}

/// The judgment for one row: `state` is what it would send, `id` its own id.
pub fn judge(
    state: &Value,
    id: Option<u64>,
    facts: &Facts,
    ignore: &[&str],
    blanks: Blanks,
) -> Decision {
    let live: Vec<&Known> = facts
        .found
        .records
        .iter()
        .filter(|k| k.status == Status::Live)
        .collect();
    let key = facts.key.as_deref().unwrap_or("its key");
    if live.len() > 1 {
        let ids: Vec<String> = live.iter().map(|k| k.id.to_string()).collect();
        return Decision::Conflict(
            id,
            format!(
                "the ledger holds several Kayse ids for {key} ({}): check them in Kayse",
                ids.join(", ")
            ),
        );
    }
    let unchanged = |k: &Known| {
        k.status == Status::Live
            && k.compare_state()
                .is_some_and(|known| ledger::nothing_new(known, state, ignore, blanks))
    };
    match (id, live.first()) {
        (Some(sheet), Some(k)) if k.id != sheet => Decision::Conflict(
            Some(sheet),
            format!(
                "the sheet says id {sheet} but the ledger has Kayse id {} for {key}: check both in Kayse, then fix the sheet's id",
                k.id
            ),
        ),
        (Some(sheet), _) => match &facts.by_id {
            Some(k) if unchanged(k) => Decision::Unchanged(sheet),
            _ => Decision::Send(Some(sheet)),
        },
        (None, Some(k)) if unchanged(k) => Decision::Unchanged(k.id),
        (None, Some(k)) => Decision::Send(Some(k.id)),
        (None, None) => match facts.found.in_doubt.first() {
            Some(u) => Decision::InDoubt(format!(
                "an earlier create of {key} may have gone through (its answer was lost{}); not created again: run kayse-bulk reconcile on that run's results, or ledger add an export that has it",
                u.row.map(|r| format!(", row {r}")).unwrap_or_default()
            )),
            None => Decision::Send(None),
        },
    }
}

/// The plan's word on the rows the ledger settled with no request, if any ("; 3 rows unchanged
/// since the ledger's last send (no request)"), else nothing.
pub fn plan_note(settled: &[RowRecord]) -> String {
    match settled
        .iter()
        .filter(|r| r.outcome == Outcome::Unchanged)
        .count()
    {
        0 => String::new(),
        n => format!("; {n} rows unchanged since the ledger's last send (no request)"),
    }
}

/// Ask the ledger about every row that is not left to the journal (`leave`): rows it decides
/// come back as outcomes; the rest go on to be sent, with the ledger's id set on known keys.
pub fn decide(
    ledger: &Ledger,
    items: Vec<Item>,
    leave: &BTreeSet<usize>,
    by: Match,
    blanks: Blanks,
) -> Result<(Vec<Item>, Vec<RowRecord>), Fatal> {
    ledger.reading(|| decide_each(ledger, items, leave, by, blanks))
}

/// [`decide`], inside its read of the ledger.
fn decide_each(
    ledger: &Ledger,
    items: Vec<Item>,
    leave: &BTreeSet<usize>,
    by: Match,
    blanks: Blanks,
) -> Result<(Vec<Item>, Vec<RowRecord>), Fatal> {
    let mut send = Vec::with_capacity(items.len());
    let mut settled = Vec::new();
    for (row, mut rec) in items {
        if leave.contains(&row) {
            send.push((row, rec));
            continue;
        }
        let state = rec.to_json();
        let entity = rec.entity().name;
        let mut facts = Facts::default();
        // A client has no case number: its firm key is the external pair.
        let rule = by
            .rule()
            .and_then(|r| ledger::rule(entity, r).or_else(|| ledger::rule(entity, "external")));
        if let Some(rule) = rule
            && let Some(key) = rule.of_state(&state)
        {
            facts.found = ledger.find(entity, &key).map_err(Fatal::from)?;
            facts.key = Some(key.describe());
        }
        if let Some(id) = rec.id {
            facts.by_id = ledger.get(entity, id).map_err(Fatal::from)?;
        }
        let ignore = ignored(&rec);
        match judge(&state, rec.id, &facts, &ignore, blanks) {
            Decision::Send(id) => {
                rec.id = id;
                send.push((row, rec));
            }
            Decision::Unchanged(id) => {
                settled.push(record(row, None, Outcome::Unchanged, Some(id), None));
            }
            Decision::Conflict(id, why) => {
                settled.push(record(row, None, Outcome::Conflict, id, Some(why)));
            }
            Decision::InDoubt(why) => {
                settled.push(record(row, None, Outcome::Unknown, None, Some(why)));
            }
        }
    }
    Ok((send, settled))
}

/// What each row sends, for the ledger's record of it.
pub fn states(items: &[Item]) -> HashMap<usize, Value> {
    items.iter().map(|(row, r)| (*row, r.to_json())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ledger::Unknown;
    use serde_json::json;

    fn known(id: u64, status: Status, sent: Value) -> Known {
        Known {
            entity: "cases".into(),
            id,
            status,
            sent_state: Some(sent),
            sent_at: None,
            seen_state: None,
            seen_at: None,
            run: None,
            file: None,
            row: None,
        }
    }

    fn in_doubt() -> Unknown {
        Unknown {
            unknown_id: 1,
            entity: "cases".into(),
            run: None,
            batch: Some(3),
            file: None,
            row: Some(7),
            state: json!({}),
            keys: vec![],
            recorded_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn rows_against_the_ledger() {
        let row = json!({"case_number": "A-1", "status": "active", "type": "civil", "note": ""});
        let same = json!({"case_number": "A-1", "status": "active", "type": "civil"});
        let other = json!({"case_number": "A-1", "status": "closed", "type": "civil"});
        let facts = |records: Vec<Known>, doubt: bool, by_id: Option<Known>| Facts {
            key: Some("case_number A-1".into()),
            found: Found {
                records,
                in_doubt: if doubt { vec![in_doubt()] } else { vec![] },
            },
            by_id,
        };
        use Decision::*;
        type Case = (
            &'static str,
            Option<u64>,
            Facts,
            Blanks,
            fn(&Decision) -> bool,
        );
        let table: Vec<Case> = vec![
            (
                "new key: create",
                None,
                facts(vec![], false, None),
                Blanks::Keep,
                |d| *d == Send(None),
            ),
            (
                "known, same: unchanged",
                None,
                facts(vec![known(9, Status::Live, same.clone())], false, None),
                Blanks::Keep,
                |d| *d == Unchanged(9),
            ),
            (
                "known, changed: update",
                None,
                facts(vec![known(9, Status::Live, other.clone())], false, None),
                Blanks::Keep,
                |d| *d == Send(Some(9)),
            ),
            (
                "known with a field the row blanks, keep: unchanged",
                None,
                facts(
                    vec![known(
                        9,
                        Status::Live,
                        json!({"case_number": "A-1", "status": "active", "type": "civil", "note": "x"}),
                    )],
                    false,
                    None,
                ),
                Blanks::Keep,
                |d| *d == Unchanged(9),
            ),
            (
                "known with a field the row blanks, clear: update",
                None,
                facts(
                    vec![known(
                        9,
                        Status::Live,
                        json!({"case_number": "A-1", "status": "active", "type": "civil", "note": "x"}),
                    )],
                    false,
                    None,
                ),
                Blanks::Clear,
                |d| *d == Send(Some(9)),
            ),
            (
                "in doubt: not created again",
                None,
                facts(vec![], true, None),
                Blanks::Keep,
                |d| matches!(d, InDoubt(m) if m.contains("reconcile") && m.contains("row 7")),
            ),
            (
                "gone from Kayse: created anew",
                None,
                facts(vec![known(9, Status::Gone, same.clone())], false, None),
                Blanks::Keep,
                |d| *d == Send(None),
            ),
            (
                "sheet id differs: conflict",
                Some(5),
                facts(vec![known(9, Status::Live, same.clone())], false, None),
                Blanks::Keep,
                |d| matches!(d, Conflict(Some(5), m) if m.contains("id 5") && m.contains("Kayse id 9")),
            ),
            (
                "sheet id agrees, same: unchanged",
                Some(9),
                facts(
                    vec![known(9, Status::Live, same.clone())],
                    false,
                    Some(known(9, Status::Live, same.clone())),
                ),
                Blanks::Keep,
                |d| *d == Unchanged(9),
            ),
            (
                "sheet id the ledger lacks: update",
                Some(4),
                facts(vec![], false, None),
                Blanks::Keep,
                |d| *d == Send(Some(4)),
            ),
            (
                "two live ids for a key: conflict",
                None,
                facts(
                    vec![
                        known(9, Status::Live, same.clone()),
                        known(10, Status::Live, same.clone()),
                    ],
                    false,
                    None,
                ),
                Blanks::Keep,
                |d| matches!(d, Conflict(None, m) if m.contains("9, 10")),
            ),
        ];
        for (name, id, f, blanks, ok) in table {
            let d = judge(&row, id, &f, &[], blanks);
            assert!(ok(&d), "{name}: {d:?}");
        }
    }
}

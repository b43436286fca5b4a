//! Pure judgments about bulk answers for import: matching an answer to what was sent and reading
//! the server's messages. No I/O, no clock.

use crate::entity::Record;
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;

/// A row of the input as sent: its source row and its payload.
pub type Item = (usize, Record);

/// The server says a case_number is taken.
pub fn already_exists(message: &str) -> bool {
    message.to_ascii_lowercase().contains("already exist")
}

/// The server says the batch is too large.
pub fn too_many(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("too many") || m.contains("too large")
}

/// The explanation carried by a row whose fate a lost answer hides.
pub fn lost_answer_note(case: &Record) -> String {
    let one = case.entity().one;
    let (key, value) = case.lookup();
    match case.id {
        Some(id) => format!(
            "the update may have been applied by an attempt whose answer was lost: check {one} {id} ({key} {value}) in Kayse"
        ),
        None => format!(
            "the {one} may have been created by an attempt whose answer was lost: check {key} {value} in Kayse"
        ),
    }
}

/// Why a row is `exists`, and what to do about it.
pub fn exists_note(case: &Record) -> String {
    let (key, value) = case.lookup();
    format!(
        "Kayse already has {key} {value} and the ledger has no id for it: run kayse-bulk ledger add with a results file or an export that has it (or reconcile the run that created it), then import again"
    )
}

/// Why an update found no record to update: it was deleted in Kayse, or merged into another.
pub fn not_found_note(entity: &crate::entity::Entity, id: u64) -> String {
    if entity.name == "cases" {
        format!(
            "case {id} is not in Kayse (deleted); the ledger now knows: a row found by its case number is created anew by the next import, and if this file is a backup of deleted cases, `import FILE --restore` creates them anew"
        )
    } else {
        format!(
            "{} {id} is not in Kayse (deleted, or merged into another); the ledger now knows: the next import creates it anew",
            entity.one
        )
    }
}

pub fn record(
    row: usize,
    batch: Option<u64>,
    outcome: Outcome,
    id: Option<u64>,
    error: Option<String>,
) -> RowRecord {
    RowRecord {
        row,
        batch,
        outcome,
        id,
        error,
        data: None,
    }
}

/// Every row of a batch with the same outcome and message.
pub fn all(items: &[Item], batch: Option<u64>, outcome: Outcome, message: &str) -> Vec<RowRecord> {
    items
        .iter()
        .map(|(row, case)| record(*row, batch, outcome, case.id, Some(message.to_string())))
        .collect()
}

/// Every row `unknown`, each with its own lost-answer note (prefixed by `why` when given).
pub fn all_unknown(items: &[Item], batch: Option<u64>, why: Option<&str>) -> Vec<RowRecord> {
    items
        .iter()
        .map(|(row, case)| {
            let note = lost_answer_note(case);
            let msg = match why {
                Some(w) => format!("{w}; {note}"),
                None => note,
            };
            record(*row, batch, Outcome::Unknown, case.id, Some(msg))
        })
        .collect()
}

/// Match a bulk answer to what was sent, by position, checking each one's lookup field
/// (`case_number`). Any doubt makes the row `unknown` with the reason: an id is never guessed.
pub fn match_answer(items: &[Item], answer: &[Record], batch: Option<u64>) -> Vec<RowRecord> {
    if answer.len() != items.len() {
        let name = items.first().map_or("records", |(_, c)| c.entity().name);
        let why = format!(
            "Kayse answered with {} {name} for {} sent",
            answer.len(),
            items.len()
        );
        return items
            .iter()
            .map(|(row, case)| {
                let (key, value) = case.lookup();
                record(
                    *row,
                    batch,
                    Outcome::Unknown,
                    case.id,
                    Some(format!("{why}: check {key} {value} in Kayse")),
                )
            })
            .collect();
    }
    items
        .iter()
        .zip(answer)
        .map(|((row, case), got)| {
            let unknown = |msg: String| record(*row, batch, Outcome::Unknown, case.id, Some(msg));
            let (key, sent_key) = case.lookup();
            let one = case.entity().one;
            match (got.text(key), got.id) {
                (Some(n), _) if n != sent_key => unknown(format!(
                    "the answer at this position is {key} '{n}', not '{sent_key}': check {key} {sent_key} in Kayse"
                )),
                (None, _) => unknown(format!(
                    "the answer at this position has no {key}: check {key} {sent_key} in Kayse"
                )),
                (_, None) => unknown(format!(
                    "the answer gave no id: check {key} {sent_key} in Kayse"
                )),
                (_, Some(id)) => match case.id {
                    Some(sent) if sent != id => unknown(format!(
                        "the update of {one} {sent} was answered with id {id}: check {key} {sent_key} in Kayse"
                    )),
                    Some(_) => record(*row, batch, Outcome::Updated, Some(id), None),
                    None => record(*row, batch, Outcome::Created, Some(id), None),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use serde_json::json;

    fn case(n: &str, id: Option<u64>) -> Record {
        let mut v = json!({"case_number": n, "external_source": "other",
            "external_source_id": format!("x-{n}"), "status": "active", "type": "civil"});
        if let Some(id) = id {
            v["id"] = json!(id);
        }
        Record::from_json(&CASES, &v).unwrap()
    }

    fn rec(n: Option<&str>, id: Option<u64>) -> Record {
        Record::from_json(&CASES, &json!({"case_number": n, "id": id})).unwrap()
    }

    #[test]
    fn answers_match_by_position_and_case_number() {
        let items = vec![(2, case("A", None)), (3, case("B", Some(9)))];
        type Want = [(Outcome, Option<u64>); 2];
        let table: Vec<(Vec<Record>, Want)> = vec![
            (
                vec![rec(Some("A"), Some(1)), rec(Some("B"), Some(9))],
                [(Outcome::Created, Some(1)), (Outcome::Updated, Some(9))],
            ),
            (
                vec![rec(Some("B"), Some(9)), rec(Some("A"), Some(1))],
                [(Outcome::Unknown, None), (Outcome::Unknown, Some(9))],
            ),
            (
                vec![rec(Some("A"), None), rec(Some("B"), Some(8))],
                [(Outcome::Unknown, None), (Outcome::Unknown, Some(9))],
            ),
            (
                vec![rec(Some("A"), Some(1))],
                [(Outcome::Unknown, None), (Outcome::Unknown, Some(9))],
            ),
            (
                vec![rec(None, Some(1)), rec(Some("B"), Some(9))],
                [(Outcome::Unknown, None), (Outcome::Updated, Some(9))],
            ),
        ];
        for (i, (answer, want)) in table.into_iter().enumerate() {
            let got = match_answer(&items, &answer, Some(4));
            let got: Vec<_> = got.iter().map(|r| (r.outcome, r.id)).collect();
            assert_eq!(got, want.to_vec(), "case {i}");
        }
        let r = &match_answer(&items, &[], None)[0];
        assert!(r.error.as_deref().unwrap().contains("0 cases for 2 sent"));
    }

    #[test]
    fn messages() {
        assert!(already_exists("case_number 'X' already exists"));
        assert!(!already_exists("status is required"));
        assert!(too_many("too many cases in one request (max 50)"));
        assert_eq!(
            lost_answer_note(&case("Q-1", None)),
            "the case may have been created by an attempt whose answer was lost: check case_number Q-1 in Kayse"
        );
        assert_eq!(
            lost_answer_note(&case("Q-1", Some(3))),
            "the update may have been applied by an attempt whose answer was lost: check case 3 (case_number Q-1) in Kayse"
        );
    }
}

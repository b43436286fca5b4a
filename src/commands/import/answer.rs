//! Pure judgments about bulk answers for import: matching an answer to what was sent, reading the
//! server's messages, filling blank fields from the stored case. No I/O, no clock.

use serde_json::Value;

use crate::case::{Case, CaseRecord};
use crate::entity::FIELDS;
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;

/// A row of the input as sent: its source row and its payload.
pub type Item = (usize, Case);

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
pub fn lost_answer_note(case: &Case) -> String {
    match case.id {
        Some(id) => format!(
            "the update may have been applied by an attempt whose answer was lost: check case {id} (case_number {}) in Kayse",
            case.case_number
        ),
        None => format!(
            "the case may have been created by an attempt whose answer was lost: check case_number {} in Kayse",
            case.case_number
        ),
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

/// Match a bulk answer to what was sent, by position, checking each case_number. Any doubt makes
/// the row `unknown` with the reason: an id is never guessed.
pub fn match_answer(items: &[Item], answer: &[CaseRecord], batch: Option<u64>) -> Vec<RowRecord> {
    if answer.len() != items.len() {
        let why = format!(
            "Kayse answered with {} cases for {} sent",
            answer.len(),
            items.len()
        );
        return items
            .iter()
            .map(|(row, case)| {
                record(
                    *row,
                    batch,
                    Outcome::Unknown,
                    case.id,
                    Some(format!(
                        "{why}: check case_number {} in Kayse",
                        case.case_number
                    )),
                )
            })
            .collect();
    }
    items
        .iter()
        .zip(answer)
        .map(|((row, case), got)| {
            let unknown = |msg: String| record(*row, batch, Outcome::Unknown, case.id, Some(msg));
            match (got.case_number.as_deref(), got.id) {
                (Some(n), _) if n != case.case_number => unknown(format!(
                    "the answer at this position is case_number '{n}', not '{}': check case_number {} in Kayse",
                    case.case_number, case.case_number
                )),
                (None, _) => unknown(format!(
                    "the answer at this position has no case_number: check case_number {} in Kayse",
                    case.case_number
                )),
                (_, None) => unknown(format!(
                    "the answer gave no id: check case_number {} in Kayse",
                    case.case_number
                )),
                (_, Some(id)) => match case.id {
                    Some(sent) if sent != id => unknown(format!(
                        "the update of case {sent} was answered with id {id}: check case_number {} in Kayse",
                        case.case_number
                    )),
                    Some(_) => record(*row, batch, Outcome::Updated, Some(id), None),
                    None => record(*row, batch, Outcome::Created, Some(id), None),
                },
            }
        })
        .collect()
}

/// `--update-blanks keep`: give every optional field the row leaves out the stored value, so the
/// PUT semantics of an update never null it. Driven by the schema table.
pub fn fill_blanks(case: &Case, stored: &CaseRecord) -> Case {
    let (Ok(Value::Object(mut mine)), Ok(Value::Object(theirs))) =
        (serde_json::to_value(case), serde_json::to_value(stored))
    else {
        return case.clone();
    };
    for f in FIELDS.iter().filter(|f| !f.required) {
        if mine.contains_key(f.name) {
            continue;
        }
        if let Some(v) = theirs.get(f.name).filter(|v| !v.is_null()) {
            mine.insert(f.name.to_string(), v.clone());
        }
    }
    serde_json::from_value(Value::Object(mine)).unwrap_or_else(|_| case.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn case(n: &str, id: Option<u64>) -> Case {
        Case {
            id,
            case_number: n.into(),
            external_source: "other".into(),
            external_source_id: format!("x-{n}"),
            status: "active".into(),
            case_type: "civil".into(),
            ..Default::default()
        }
    }

    fn rec(n: Option<&str>, id: Option<u64>) -> CaseRecord {
        CaseRecord {
            id,
            case_number: n.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn answers_match_by_position_and_case_number() {
        let items = vec![(2, case("A", None)), (3, case("B", Some(9)))];
        type Want = [(Outcome, Option<u64>); 2];
        let table: Vec<(Vec<CaseRecord>, Want)> = vec![
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
    fn fill_keeps_what_the_row_has_and_takes_the_rest() {
        let mut mine = case("A", Some(5));
        mine.name = Some("new name".into());
        let stored = CaseRecord {
            id: Some(5),
            name: Some("old name".into()),
            description: Some("kept".into()),
            court_date: NaiveDate::from_ymd_opt(2025, 1, 2),
            client_ids: Some(vec![1, 2]),
            status: Some("closed".into()),
            origin: Some("public_api".into()),
            ..Default::default()
        };
        let out = fill_blanks(&mine, &stored);
        assert_eq!(out.name.as_deref(), Some("new name"));
        assert_eq!(out.description.as_deref(), Some("kept"));
        assert_eq!(out.court_date, NaiveDate::from_ymd_opt(2025, 1, 2));
        assert_eq!(out.client_ids, Some(vec![1, 2]));
        assert_eq!(out.status, "active", "required fields come from the row");
        assert_eq!(out.jurisdiction, None);
    }

    #[test]
    fn messages() {
        assert!(already_exists("case_number 'X' already exists"));
        assert!(!already_exists("status is required"));
        assert!(too_many("too many cases in one request (max 50)"));
        assert!(lost_answer_note(&case("Q-1", None)).contains("check case_number Q-1 in Kayse"));
        assert!(lost_answer_note(&case("Q-1", Some(3))).contains("case 3"));
    }
}

//! Fetching records by id, one paced `GET /v1/cases/{id}` (or `/v1/clients/{id}`) each: the one
//! operation `export` runs journaled (and, for `--with-clients`, once more for the clients) and
//! `delete --backup` runs before deleting. A GET changes nothing, so it is not journaled as sent:
//! one whose answer was lost is simply fetched again. No files here.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::worker::Cx;
use super::{Command, Flow, Job};
use crate::entity::{Entity, Record};
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;
use crate::send::CallError;

/// What a fetch phase's progress line counts.
pub const SHOWN: &[(&str, Outcome)] = &[
    ("fetched", Outcome::Valid),
    ("not found", Outcome::NotFound),
    ("failed", Outcome::Failed),
];

/// The fetch command: items are ids of the entity's records, one per request.
#[derive(Debug, Clone, Copy)]
pub struct Fetch(pub &'static Entity);

impl Command for Fetch {
    type Item = u64;

    fn key(id: &u64) -> usize {
        *id as usize
    }

    fn send<'a>(&'a self, cx: &'a Cx<Self>, job: Job<u64>) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            for id in job.items {
                match cx.client().get(self.0, id).await {
                    Ok(record) => cx.done(vec![fetched(id, &record)]).await,
                    Err(e) if e.ends_run() => return cx.halted(&e).await,
                    Err(e) => cx.done(vec![not_fetched(self.0, id, &e)]).await,
                }
            }
            Flow::Go
        })
    }
}

/// The record of a fetched case or client: the answer is kept whole, so a resumed export needs
/// no GET.
fn fetched(id: u64, case: &Record) -> RowRecord {
    RowRecord {
        row: id as usize,
        batch: None,
        outcome: Outcome::Valid,
        id: Some(id),
        error: None,
        data: Some(case.to_json()),
    }
}

/// The record of a record that could not be fetched: 404 is `not_found`, the rest `failed`.
fn not_fetched(entity: &Entity, id: u64, e: &CallError) -> RowRecord {
    let (outcome, error) = match e {
        CallError::Rejected { status: 404, .. } => (
            Outcome::NotFound,
            format!("{} {id} not found (404)", entity.one),
        ),
        e => (Outcome::Failed, e.to_string()),
    };
    RowRecord {
        row: id as usize,
        batch: None,
        outcome,
        id: Some(id),
        error: Some(error),
        data: None,
    }
}

/// What fetching came to, by id.
#[derive(Debug, Default)]
pub struct Fetched {
    pub records: BTreeMap<u64, Record>,
    /// Ids that could not be fetched, with the reason. `not_found` holds the 404s.
    pub errors: BTreeMap<u64, String>,
    pub not_found: Vec<u64>,
}

impl Fetched {
    /// Fold recorded fetches of `entity`'s records (from this run or a journal) into records
    /// and errors.
    pub fn from_records<'a>(
        entity: &'static Entity,
        records: impl IntoIterator<Item = &'a RowRecord>,
    ) -> Fetched {
        let mut out = Fetched::default();
        for rec in records {
            let id = rec.id.unwrap_or(rec.row as u64);
            let why = |fallback: &str| rec.error.clone().unwrap_or_else(|| fallback.to_string());
            match rec.outcome {
                Outcome::Valid => match rec
                    .data
                    .clone()
                    .and_then(|d| Record::from_json(entity, &d).ok())
                {
                    Some(c) => {
                        out.records.insert(id, c);
                    }
                    None => {
                        out.errors
                            .insert(id, "the recorded answer is unreadable".to_string());
                    }
                },
                Outcome::NotFound => {
                    out.not_found.push(id);
                    out.errors.insert(id, why("not found"));
                }
                _ => {
                    out.errors.insert(id, why("failed"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{CASES, CLIENTS};

    #[test]
    fn records_fold_into_cases_and_errors() {
        let case =
            Record::from_json(&CASES, &serde_json::json!({"id": 7, "case_number": "A"})).unwrap();
        let mut unreadable = fetched(9, &case);
        unreadable.data = Some(serde_json::json!("not a case"));
        let recs = vec![
            fetched(7, &case),
            not_fetched(
                &CASES,
                8,
                &CallError::Rejected {
                    status: 404,
                    message: "not found".into(),
                    lost_before: false,
                },
            ),
            unreadable,
            not_fetched(
                &CASES,
                10,
                &CallError::GaveUp {
                    last: "Kayse answered 503".into(),
                    attempts: 6,
                    network: false,
                    lost: false,
                },
            ),
        ];
        let f = Fetched::from_records(&CASES, &recs);
        assert_eq!(f.records[&7].text("case_number"), Some("A"));
        assert_eq!(f.not_found, vec![8]);
        assert_eq!(f.errors[&8], "case 8 not found (404)");
        assert_eq!(f.errors[&9], "the recorded answer is unreadable");
        assert!(f.errors[&10].contains("503"), "{}", f.errors[&10]);
        assert_eq!(recs[3].outcome, Outcome::Failed);
        assert_eq!(Fetch::key(&12), 12);
        let gone = not_fetched(
            &CLIENTS,
            1_000_002,
            &CallError::Rejected {
                status: 404,
                message: "not found".into(),
                lost_before: false,
            },
        );
        assert_eq!(
            gone.error.as_deref(),
            Some("client 1000002 not found (404)")
        );
    }
}

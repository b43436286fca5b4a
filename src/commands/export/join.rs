//! What an export fetched, joined back to what it asked for: the cases in the order of their
//! ids (an error for each id not fetched), the distinct clients they link to, the cases gone,
//! and the report's Summary and Changes built from them. No I/O, no network.

use std::collections::BTreeSet;

use crate::engine::Sent;
use crate::engine::fetch::Fetched;
use crate::entity::{CASES, Record, Value};
use crate::outcome::Outcome;
use crate::report::changes::{self, States};
use crate::report::summary::Summary;
use crate::report::summary_sheet::{self, CaseFacts, Tally};

/// The Summary sheet of this export: every case was seen just now (the ledger knows older dates).
pub fn report_summary(cases: &[Record]) -> (Tally, String) {
    let now = chrono::Local::now();
    let today = now.date_naive();
    let tally = summary_sheet::tally(cases.iter().map(|c| CaseFacts::of(c, Some(today))), today);
    let title = format!(
        "{} cases exported {}",
        cases.len(),
        now.format("%Y-%m-%d %H:%M")
    );
    (tally, title)
}

/// The ids Kayse answered 404 for: deleted or merged since.
pub fn gone(sent: &Sent) -> BTreeSet<u64> {
    Fetched::from_records(&CASES, sent.outcomes.values())
        .not_found
        .into_iter()
        .collect()
}

/// The fetched cases in the order the ids were given, and an error for every other id, each
/// counted in the summary.
pub fn join(ids: &[u64], sent: &Sent, summary: &mut Summary) -> (Vec<Record>, Vec<(u64, String)>) {
    let fetched = Fetched::from_records(&CASES, sent.outcomes.values());
    let not_fetched = sent.not_sent("fetched");
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        if let Some(c) = fetched.records.get(id) {
            cases.push(c.clone());
            *summary.counts.entry("exported".into()).or_default() += 1;
        } else if let Some(e) = fetched.errors.get(id) {
            errors.push((*id, e.clone()));
            summary.count(if fetched.not_found.contains(id) {
                Outcome::NotFound
            } else {
                Outcome::Failed
            });
        } else {
            errors.push((*id, not_fetched.clone()));
            summary.count(Outcome::Skipped);
        }
    }
    (cases, errors)
}

/// The distinct clients the fetched cases link to, in the order of the cases, then of each
/// case's `client_ids`.
pub fn client_ids_of(ids: &[u64], fetched: &Fetched) -> Vec<u64> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for case in ids.iter().filter_map(|id| fetched.records.get(id)) {
        if let Some(Value::IdList(list)) = case.by_name("client_ids") {
            for c in list {
                if seen.insert(*c) {
                    out.push(*c);
                }
            }
        }
    }
    out
}

/// The fetched clients in order, and an error for every client that could not be fetched,
/// named as a client (the Errors sheet's ids are otherwise case ids); each is counted in the
/// summary, a client that could not be fetched as a case would be (`failed`, `not_found`).
pub fn join_clients(
    client_ids: &[u64],
    mut fetched: Fetched,
    summary: &mut Summary,
) -> (Vec<Record>, Vec<(u64, String)>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for id in client_ids {
        if let Some(c) = fetched.records.remove(id) {
            records.push(c);
            *summary.counts.entry("clients_exported".into()).or_default() += 1;
        } else {
            summary.count(match fetched.errors.contains_key(id) {
                true if fetched.not_found.contains(id) => Outcome::NotFound,
                true => Outcome::Failed,
                false => Outcome::Skipped,
            });
            let why = fetched
                .errors
                .remove(id)
                .unwrap_or_else(|| "not fetched: the run stopped first".to_string());
            let why = if why.starts_with("client ") {
                why
            } else {
                format!("client {id}: {why}")
            };
            errors.push((*id, why));
        }
    }
    (records, errors)
}

/// The Changes since the previous report `before` (read from `path`), counted in the summary,
/// each case compared as that report could hold it.
pub fn changes_since(
    path: &std::path::Path,
    before: &States,
    cases: &[Record],
    sent: &Sent,
    summary: &mut Summary,
) -> Vec<changes::Row> {
    let read: States = cases
        .iter()
        .filter_map(|c| Some((c.id?, changes::as_the_report_holds(path, c.to_json()))))
        .collect();
    let list = changes::diff(before, &read, &gone(sent));
    summary.changes = Some(changes::Since {
        since: path.display().to_string(),
        counts: changes::Counts::of(&list),
    });
    changes::rows(&list, before, &read)
}

/// Where the Errors of a report written to `out` are: its `Errors` sheet, or `<out>.errors.csv`.
pub fn errors_where(out: &std::path::Path) -> String {
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        crate::report::sheet::errors_csv_path(out)
            .display()
            .to_string()
    } else {
        format!("the Errors sheet of {}", out.display())
    }
}

/// The summary's word on a run that did not finish: the report went to `target` (a partial
/// file), `out` is left as it was, and `--resume` completes it there. `what` leads the line.
pub fn note_unfinished(
    out: &std::path::Path,
    target: &std::path::Path,
    what: &str,
    summary: &mut Summary,
) {
    if target != out {
        summary.results = Some(target.display().to_string());
        summary.warnings.push(format!(
            "{what} {}; {} is left as it was, and --resume completes it there",
            target.display(),
            out.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CLIENTS;

    #[test]
    fn clients_are_listed_once_and_their_errors_name_them() {
        let case = |id: u64, clients: &[u64]| {
            Record::from_json(
                &CASES,
                &serde_json::json!({"id": id, "client_ids": clients}),
            )
            .unwrap()
        };
        let mut fetched = Fetched::default();
        for (id, clients) in [(1u64, vec![12u64, 11]), (2, vec![11, 13]), (3, vec![])] {
            fetched.records.insert(id, case(id, &clients));
        }
        assert_eq!(client_ids_of(&[2, 1, 3, 4], &fetched), [11, 13, 12]);

        let mut got = Fetched::default();
        got.records.insert(
            11,
            Record::from_json(&CLIENTS, &serde_json::json!({"id": 11, "first_name": "A"})).unwrap(),
        );
        got.errors.insert(13, "client 13 not found (404)".into());
        got.not_found.push(13);
        got.errors.insert(12, "Kayse answered 500".into());
        let mut summary = Summary::default();
        let (records, errors) = join_clients(&[11, 13, 12, 14], got, &mut summary);
        assert_eq!(records.len(), 1);
        assert_eq!(
            errors,
            [
                (13, "client 13 not found (404)".to_string()),
                (12, "client 12: Kayse answered 500".to_string()),
                (
                    14,
                    "client 14: not fetched: the run stopped first".to_string()
                ),
            ]
        );
        for (word, n) in [
            ("clients_exported", 1),
            ("not_found", 1),
            ("failed", 1),
            ("skipped", 1),
        ] {
            assert_eq!(summary.counts.get(word), Some(&n), "{word}");
        }
    }

    #[test]
    fn fetched_cases_join_the_ids_in_order() {
        use crate::record::journal::RowRecord;
        let rec =
            |id: u64, outcome, data: Option<serde_json::Value>, error: Option<&str>| RowRecord {
                row: id as usize,
                batch: None,
                outcome,
                id: Some(id),
                error: error.map(str::to_string),
                data,
            };
        let mut sent = Sent::nothing();
        sent.stop = Some(crate::engine::StopReason::Budget);
        for r in [
            rec(3, Outcome::Valid, Some(serde_json::json!({"id": 3})), None),
            rec(1, Outcome::NotFound, None, Some("case 1 not found (404)")),
            rec(2, Outcome::Failed, None, Some("Kayse answered 500")),
        ] {
            sent.outcomes.insert(r.row, r);
        }
        let mut summary = Summary::default();
        let (cases, errors) = join(&[3, 1, 2, 4], &sent, &mut summary);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].id, Some(3));
        let want: Vec<(u64, String)> = vec![
            (1, "case 1 not found (404)".into()),
            (2, "Kayse answered 500".into()),
            (
                4,
                "not fetched: the --budget is spent; run again with --resume".into(),
            ),
        ];
        assert_eq!(errors, want);
        for (word, n) in [
            ("exported", 1),
            ("not_found", 1),
            ("failed", 1),
            ("skipped", 1),
        ] {
            assert_eq!(summary.counts.get(word), Some(&n), "{word}");
        }
    }
}

//! A results file fed back in (`import X.results.xlsx --only-failed`) is written again in place,
//! not as `X.results.results.xlsx`: its rows are all read before anything is written, each row
//! is copied through with its id, and the new file replaces it atomically at the end. This
//! module decides when a run writes over its own input and retires the journal of the run that
//! wrote it, once every id that journal holds is in the file. It never sends and never writes
//! a results file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cell::Cell;
use crate::check::ids;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::read::{self, ReadOptions};
use crate::record::journal::JournalState;

/// The journals of results files this process writes over its own input (a process runs one
/// command, so a registry noted where the results path is chosen is the simplest owner).
static IN_PLACE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// What a results file records: the header's `kayse_result` and `kayse_id` read row by row.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OnRecord {
    /// Rows `created`, `updated`, `sent` or `unknown`: work done (or maybe done) in Kayse; and
    /// the clients the rows link to.
    pub rows: u64,
    /// Every id in the file's `kayse_id` and `kayse_client_ids` columns.
    pub ids: BTreeSet<u64>,
}

/// `None` when `path` is not a results file (no file, unreadable, or no `kayse_result` column in
/// its first row).
pub fn on_record(path: &Path) -> Option<OnRecord> {
    if !path.is_file() {
        return None;
    }
    let opts = ReadOptions {
        header_row: Some(1),
        ..Default::default()
    };
    let table = read::open(path, &opts).ok()?;
    let result = table.headers.iter().position(|h| h == "kayse_result")?;
    let id = table.headers.iter().position(|h| h == "kayse_id");
    // A linked import's clients: their ids are in each row's `kayse_client_ids`.
    let links = table
        .headers
        .iter()
        .position(|h| crate::entity::LINK_COLUMNS.contains(&h.as_str()));
    let mut clients = BTreeSet::new();
    let mut out = OnRecord::default();
    for row in table.rows.filter_map(Result::ok) {
        if let Some(Cell::Text(t)) = row.cells.get(result)
            && Outcome::parse(t).is_some_and(|o| {
                matches!(
                    o,
                    Outcome::Created | Outcome::Updated | Outcome::Sent | Outcome::Unknown
                )
            })
        {
            out.rows += 1;
        }
        if let Some(Ok(Some(i))) = id.and_then(|c| row.cells.get(c)).map(ids::from_cell) {
            out.ids.insert(i);
        }
        if let Some(c) = links.and_then(|c| row.cells.get(c)) {
            clients.extend(
                c.to_text()
                    .split(';')
                    .filter_map(|i| i.trim().parse::<u64>().ok()),
            );
        }
    }
    // Each client the file shows stands for the journal's record of its creation or update.
    out.rows += clients.len() as u64;
    out.ids.extend(clients);
    Some(out)
}

/// The file name says it is a results file: `<stem>.results.xlsx` or `<stem>.results.csv`.
fn named_as_results(input: &Path) -> bool {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".results.xlsx") || name.ends_with(".results.csv")
}

/// Whether the first row of `path` is a results file's header (it has `kayse_result`).
fn is_results_file(path: &Path) -> bool {
    let opts = ReadOptions {
        header_row: Some(1),
        ..Default::default()
    };
    read::open(path, &opts).is_ok_and(|t| t.headers.iter().any(|h| h == "kayse_result"))
}

/// Whether the journal beside a results file says another command wrote it (an import's
/// results given to `sms` or `delete`), or cannot be read.
fn written_by_another(results: &Path, command: &str) -> bool {
    let journal = crate::record::journal::Journal::path_for(results);
    let Ok(f) = std::fs::File::open(&journal) else {
        return false;
    };
    match JournalState::read(&journal, f) {
        Ok(st) => st.header.is_some_and(|h| h.command != command),
        Err(_) => true,
    }
}

/// The default results path of an input that is itself `command`'s results file under its
/// default name: that file. A firm's own `Q3.results.xlsx` (no `kayse_result` column) is never
/// written over, nor an import's results given to `sms` or `delete` (they go beside it, as
/// `<stem>.results.results.xlsx`): each keeps the record of its own command.
pub fn default_for(input: &Path, command: &str) -> Option<PathBuf> {
    (named_as_results(input) && is_results_file(input) && !written_by_another(input, command))
        .then(|| input.to_path_buf())
}

/// Note that the run writes `results` over its own `input` (given or by default), so its
/// session may retire the journal beside it and may replace a file that holds ids.
pub fn note(input: &Path, results: &Path, journal: &Path) {
    let same = match (std::fs::canonicalize(input), std::fs::canonicalize(results)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same && is_results_file(input) {
        let mut held = IN_PLACE.lock().unwrap_or_else(|e| e.into_inner());
        held.push(journal.to_path_buf());
    }
}

/// Whether this run writes the results file of `journal` over its own input.
pub fn is_in_place(journal: &Path) -> bool {
    let held = IN_PLACE.lock().unwrap_or_else(|e| e.into_inner());
    held.iter().any(|j| j == journal)
}

/// Why the journal of an earlier run still matters, given what its results file records; `None`
/// when the file shows all of it (nothing in flight, every id in the file, no more rows done
/// than the file records), so the run feeding the file back may retire it.
pub fn unshown(st: &JournalState, file: &OnRecord) -> Option<String> {
    if !st.in_flight.is_empty() {
        let rows: usize = st.in_flight.iter().map(Vec::len).sum();
        let noun = if rows == 1 { "row" } else { "rows" };
        return Some(format!(
            "{rows} {noun} in requests that were never answered"
        ));
    }
    let ids: Vec<u64> = st
        .outcomes
        .values()
        .filter_map(|r| r.id)
        .filter(|i| !file.ids.contains(i))
        .collect();
    if !ids.is_empty() {
        let noun = if ids.len() == 1 { "id" } else { "ids" };
        return Some(format!(
            "{} Kayse {noun} the file does not show (e.g. {})",
            ids.len(),
            ids[0]
        ));
    }
    let done = st
        .outcomes
        .values()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::Created | Outcome::Updated | Outcome::Sent | Outcome::Unknown
            )
        })
        .count() as u64;
    (done > file.rows).then(|| {
        format!(
            "{done} rows done in Kayse, and the file shows {}",
            file.rows
        )
    })
}

/// The command that completes the earlier run of `command` on `input` that writes `results`:
/// `--results` is named unless that run wrote over its own input.
fn resume_of(command: &str, input: &str, results: &Path) -> String {
    let word = |s: &str| {
        if s.contains(' ') {
            format!("\"{s}\"")
        } else {
            s.to_string()
        }
    };
    let results = results.display().to_string();
    if Path::new(input) == Path::new(&results) {
        format!("kayse-bulk {command} {} --resume", word(input))
    } else {
        format!(
            "kayse-bulk {command} {} --results {} --resume",
            word(input),
            word(&results)
        )
    }
}

/// A results file fed back in: the journal of the run that wrote it is retired (removed), once
/// the file shows everything it records; the file keeps every id until the new results, which
/// copy each row through, replace it. A journal holding more than the file (a run that did not
/// finish) is kept, and the run refused with the resume that completes it.
pub fn retire_journal(journal: &Path, results: &Path) -> Result<(), Fatal> {
    let f = std::fs::File::open(journal)
        .map_err(|e| Fatal::stopped(format!("cannot read {}", journal.display())).because(e))?;
    let st = JournalState::read(journal, f)
        .map_err(|e| Fatal::from_error(crate::error::ExitCode::Usage, e))?;
    let file = on_record(results).unwrap_or_default();
    if let Some(why) = unshown(&st, &file) {
        let resume = st
            .header
            .as_ref()
            .map(|h| resume_of(&h.command, &h.input, results))
            .unwrap_or_else(|| "the earlier run with --resume".into());
        return Err(Fatal::stopped(format!(
            "not writing over {}: the journal beside it records {why}, from a run that did not finish; complete it first: {resume}",
            results.display()
        ))
        .with_reason("another_run")
        .with_next(resume));
    }
    std::fs::remove_file(journal).map_err(|e| {
        Fatal::stopped(format!("cannot retire {}", journal.display()))
            .because(e)
            .with_reason("results_unwritable")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::journal::RowRecord;
    use std::collections::BTreeMap;

    fn rec(row: usize, outcome: Outcome, id: Option<u64>) -> (usize, RowRecord) {
        (
            row,
            RowRecord {
                row,
                batch: Some(0),
                outcome,
                id,
                error: None,
                data: None,
            },
        )
    }

    fn state(outcomes: Vec<(usize, RowRecord)>, in_flight: Vec<Vec<usize>>) -> JournalState {
        JournalState {
            header: None,
            outcomes: outcomes.into_iter().collect::<BTreeMap<_, _>>(),
            in_flight,
            next_batch: 0,
            valid_len: 0,
        }
    }

    #[test]
    fn a_journal_is_retired_only_when_its_file_shows_it_all() {
        let file = OnRecord {
            rows: 2,
            ids: [7, 9].into(),
        };
        // (journal, why it is kept; None: retired)
        let table = [
            (
                state(
                    vec![
                        rec(2, Outcome::Created, Some(7)),
                        rec(3, Outcome::Invalid, None),
                    ],
                    vec![],
                ),
                None,
            ),
            (
                state(vec![rec(2, Outcome::Created, Some(8))], vec![]),
                Some("1 Kayse id the file does not show (e.g. 8)"),
            ),
            (
                state(vec![rec(2, Outcome::Created, Some(7))], vec![vec![3, 4]]),
                Some("2 rows in requests that were never answered"),
            ),
            (
                state(
                    vec![
                        rec(2, Outcome::Sent, None),
                        rec(3, Outcome::Sent, None),
                        rec(4, Outcome::Unknown, None),
                    ],
                    vec![],
                ),
                Some("3 rows done in Kayse, and the file shows 2"),
            ),
            (state(vec![], vec![]), None),
        ];
        for (i, (st, want)) in table.iter().enumerate() {
            assert_eq!(unshown(st, &file).as_deref(), *want, "case {i}");
        }
    }

    #[test]
    fn the_resume_named_writes_the_same_results() {
        // (the earlier run's command and input, its results, the resume)
        let table = [
            (
                "import",
                "c.results.csv",
                "c.results.csv",
                "kayse-bulk import c.results.csv --resume",
            ),
            (
                "import",
                "c.csv",
                "c.results.csv",
                "kayse-bulk import c.csv --results c.results.csv --resume",
            ),
            (
                "sms",
                "my list.csv",
                "my list.results.xlsx",
                "kayse-bulk sms \"my list.csv\" --results \"my list.results.xlsx\" --resume",
            ),
        ];
        for (command, input, results, want) in table {
            assert_eq!(resume_of(command, input, Path::new(results)), want);
        }
    }

    #[test]
    fn only_a_results_file_under_its_default_name_is_its_own_default() {
        let dir = tempfile::tempdir().unwrap();
        let results = "source_row,kayse_result,kayse_id\n2,created,7\n3,invalid,\n";
        // (file name, text, written in place)
        let table = [
            ("a.results.csv", results, true),
            ("A.RESULTS.CSV", results, true),
            ("b.results.csv", "case_number,id\nC-1,7\n", false),
            ("c.csv", results, false),
            ("d.results.txt", results, false),
        ];
        for (name, text, want) in table {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            assert_eq!(default_for(&p, "import").is_some(), want, "{name}");
        }
        assert!(default_for(&dir.path().join("absent.results.csv"), "import").is_none());
        // The journal beside it names the command that wrote it: only that one writes over it.
        let p = dir.path().join("a.results.csv");
        let fp = crate::record::journal::Fingerprint {
            sha256: "ab".into(),
            size: 1,
            basis: Default::default(),
        };
        let header = crate::record::journal::Header::new("import", Path::new("a.csv"), &fp);
        let j = crate::record::journal::Journal::path_for(&p);
        drop(crate::record::journal::Journal::create(&j, header).unwrap());
        assert!(default_for(&p, "import").is_some());
        assert!(default_for(&p, "sms").is_none());
        assert!(default_for(&p, "delete").is_none());
        std::fs::write(&j, "not a journal\n").unwrap();
        assert!(default_for(&p, "import").is_none());
        let p = dir.path().join("a.results.csv");
        assert_eq!(
            on_record(&p),
            Some(OnRecord {
                rows: 1,
                ids: [7].into()
            })
        );
    }

    #[test]
    fn only_the_input_itself_is_noted_as_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let r = d.join("x.results.csv");
        std::fs::write(&r, "source_row,kayse_result,kayse_id\n2,created,7\n").unwrap();
        let other = d.join("y.results.csv");
        std::fs::write(&other, "source_row,kayse_result,kayse_id\n2,created,7\n").unwrap();
        note(&other, &r, &d.join("j1"));
        assert!(!is_in_place(&d.join("j1")));
        note(&d.join(".").join("x.results.csv"), &r, &d.join("j2"));
        assert!(is_in_place(&d.join("j2")));
    }
}

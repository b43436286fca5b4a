//! What a run may replace: a results file is the record of the Kayse ids an earlier run got, and
//! there is no endpoint to find them again. A run that sends nothing (validate, a dry run) never
//! replaces a results file that has a journal beside it or holds more ids than it writes; a fresh
//! sending run never starts over a results file that holds ids. Reads the old file; writes nothing.

use std::path::{Path, PathBuf};

use crate::cell::Cell;
use crate::error::Fatal;
use crate::outcome::Outcome;
use crate::read::{self, ReadOptions};
use crate::record::journal::Journal;

/// The outcomes of rows that record something done on the server (see `ids_in`).
const ON_RECORD: [Outcome; 4] = [
    Outcome::Created,
    Outcome::Updated,
    Outcome::Sent,
    Outcome::Unknown,
];

/// The rows of an existing results file that record something done on the server that a person
/// may need again: `created`, `updated` (the ids of cases that exist), `sent`, or `unknown` (in
/// doubt, to be checked). A `valid` row's id came from the input, not from Kayse, and a `deleted`
/// row's case is gone, so neither is such a record: a finished delete does not block next week's. 0 when there is no file, it cannot
/// be read, or it has no `kayse_result` column (it is not a results file).
pub fn ids_in(path: &Path) -> u64 {
    if !path.is_file() {
        return 0;
    }
    // A file no cell of which can read as one of these outcomes records nothing: a byte search
    // says so without parsing the file (a validation's results, the usual target, are all
    // `valid` and `invalid`).
    let words = ON_RECORD.map(Outcome::as_str);
    if !read::may_hold_any(path, &words) {
        return 0;
    }
    let opts = ReadOptions {
        header_row: Some(1),
        ..Default::default()
    };
    let Ok(table) = read::open(path, &opts) else {
        return 0;
    };
    let Some(col) = table.headers.iter().position(|h| h == "kayse_result") else {
        return 0;
    };
    let on_record = |c: &Cell| match c {
        Cell::Text(t) => Outcome::parse(t).is_some_and(|o| ON_RECORD.contains(&o)),
        _ => false,
    };
    table
        .rows
        .filter_map(Result::ok)
        .filter(|r| r.cells.get(col).is_some_and(on_record))
        .count() as u64
}

/// `<stem>.validation.<ext>` beside `results`: where a run that sends nothing can write instead.
pub fn elsewhere(results: &Path) -> PathBuf {
    let stem = results
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse".into());
    let stem = stem.strip_suffix(".results").unwrap_or(&stem).to_string();
    let ext = results
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "xlsx".into());
    results.with_file_name(format!("{stem}.validation.{ext}"))
}

/// The rows on record in a file (`ids_in`), counted on a thread of its own. A run that sends
/// nothing starts this before it reads its input and hands it to `no_send_may_replace` at its
/// end, so the old file is read beside the run rather than after it. It is still whole then: new
/// results go to a temporary file until the run ends.
pub struct Counting {
    target: PathBuf,
    count: Option<std::thread::JoinHandle<u64>>,
}

impl Counting {
    pub fn start(target: &Path) -> Counting {
        let path = target.to_path_buf();
        let count = std::thread::Builder::new()
            .name("old-results".to_string())
            .spawn(move || ids_in(&path))
            .ok();
        Counting {
            target: target.to_path_buf(),
            count,
        }
    }

    /// The count; read here if the thread could not start or did not finish.
    fn count(self) -> u64 {
        match self.count.map(std::thread::JoinHandle::join) {
            Some(Ok(n)) => n,
            _ => ids_in(&self.target),
        }
    }
}

/// A run that sends nothing (so it records nothing done in Kayse), about to write the target
/// `counting` counted: refused (exit 2, nothing written) when the target is the record of an
/// earlier sending run.
pub fn no_send_may_replace(counting: Counting) -> Result<(), Fatal> {
    let target = &counting.target.clone();
    let way_out = format!(
        "pass --results {} (or another new name) to write elsewhere",
        elsewhere(target).display()
    );
    if Journal::path_for(target).exists() {
        return Err(Fatal::usage(format!(
            "not replacing {}: an earlier run's journal is beside it, so it is the record of what was sent; {way_out}",
            target.display()
        )));
    }
    let old = counting.count();
    if old > 0 {
        return Err(Fatal::usage(format!(
            "not replacing {}: it records {old} rows done in Kayse (ids, sends), which a run that sends nothing would lose; {way_out}",
            target.display()
        )));
    }
    Ok(())
}

/// A fresh sending run (no journal) about to start over `target`: refused before any request when
/// the target holds ids, which the new results would replace.
pub fn fresh_run_may_replace(target: &Path) -> Result<(), Fatal> {
    let old = ids_in(target);
    if old == 0 {
        return Ok(());
    }
    Err(Fatal::usage(format!(
        "not starting over {}: it records {old} rows done in Kayse (ids, sends) by an earlier run whose journal is gone; pass --results NEW.xlsx to write elsewhere, or move it away first",
        target.display()
    )))
}

/// What a fresh import says to an earlier run's journal. `--only-failed` on the results file is
/// offered only when that file records rows done in Kayse: on a file of `valid` rows (a dry
/// run's, or a run killed before its results) it would send every row again.
pub fn refuse_fresh_import(journal: &Path, results: &Path) -> String {
    let only_failed = if ids_in(results) > 0 {
        format!(
            ", or import its results file {} with --only-failed to send the rows that did not go in",
            results.display()
        )
    } else {
        String::new()
    };
    format!(
        "a journal from an earlier run is at {}: pass --resume to continue that run{only_failed}; move the journal away only to start over (rows already created would be sent again)",
        journal.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_on_record_are_counted_by_their_kayse_result() {
        let dir = tempfile::tempdir().unwrap();
        // (file text, ids)
        let table = [
            (
                "source_row,kayse_result,kayse_id\n2,created,7\n3,invalid,\n4,created,9\n",
                2,
            ),
            ("source_row,kayse_result,kayse_id\n2,valid,\n", 0),
            (
                "source_row,kayse_result,kayse_id\n2,deleted,7\n3,not_found,8\n",
                0,
            ),
            ("case_number,id\nC-1,7\n", 0),
            // The words elsewhere than in kayse_result: read in full, and still nothing.
            (
                "source_row,kayse_result,description\n2,valid,sent\n3,invalid,created\n",
                0,
            ),
            ("source_row,kayse_result,kayse_id\n2, sent ,7\n", 1),
            ("", 0),
        ];
        for (i, (text, want)) in table.into_iter().enumerate() {
            let p = dir.path().join(format!("r{i}.csv"));
            std::fs::write(&p, text).unwrap();
            assert_eq!(ids_in(&p), want, "{text:?}");
        }
        assert_eq!(ids_in(&dir.path().join("absent.csv")), 0);
    }

    #[test]
    fn a_run_that_sends_nothing_keeps_the_record_of_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.results.csv");
        std::fs::write(
            &p,
            "source_row,kayse_result,kayse_id\n2,created,7\n3,created,8\n",
        )
        .unwrap();
        let e = no_send_may_replace(Counting::start(&p))
            .unwrap_err()
            .render();
        assert!(e.contains("records 2 rows done in Kayse"), "{e}");
        assert!(e.contains("--results "), "{e}");
        assert!(e.contains("c.validation.csv"), "{e}");
        let valid = dir.path().join("v.results.csv");
        std::fs::write(&valid, "source_row,kayse_result,kayse_id\n2,valid,7\n").unwrap();
        assert!(no_send_may_replace(Counting::start(&valid)).is_ok());
        std::fs::write(Journal::path_for(&valid), "{}\n").unwrap();
        let e = no_send_may_replace(Counting::start(&valid))
            .unwrap_err()
            .render();
        assert!(e.contains("journal is beside it"), "{e}");
        assert!(fresh_run_may_replace(&p).is_err());
        assert!(
            fresh_run_may_replace(&valid).is_ok(),
            "a dry run's file is no record"
        );
        assert!(fresh_run_may_replace(&dir.path().join("new.xlsx")).is_ok());
    }

    #[test]
    fn only_failed_is_offered_only_on_a_file_that_records_what_went() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("r.csv.journal");
        // (results file text, offers --only-failed)
        let table = [
            (
                "source_row,kayse_result,kayse_id\n2,created,7\n3,failed,\n",
                true,
            ),
            (
                "source_row,kayse_result,kayse_id\n2,valid,\n3,valid,\n",
                false,
            ),
            ("", false),
        ];
        for (text, offers) in table {
            let r = dir.path().join("r.csv");
            std::fs::write(&r, text).unwrap();
            let line = refuse_fresh_import(&j, &r);
            assert!(line.contains("pass --resume"), "{line}");
            assert_eq!(line.contains("--only-failed"), offers, "{text:?}: {line}");
        }
    }

    #[test]
    fn elsewhere_names() {
        let table = [
            ("d/cases.results.xlsx", "d/cases.validation.xlsx"),
            ("d/cases.xlsx", "d/cases.validation.xlsx"),
            ("out.csv", "out.validation.csv"),
        ];
        for (from, want) in table {
            assert_eq!(elsewhere(Path::new(from)), PathBuf::from(want), "{from}");
        }
    }
}

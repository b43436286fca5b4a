//! An earlier results file given as input (it has a `kayse_result` column): what each row came
//! to then, and which rows are never sent again because of it. Every sending command reads its
//! input through this, with or without `--only-failed`, so feeding `text.results.xlsx` back to
//! `sms` never texts a client twice. Pure: cells in, outcomes out.

use std::path::Path;

use crate::cell::Cell;
use crate::error::Fatal;
use crate::outcome::Outcome;

/// The `kayse_result` column of an input, if it is an earlier results file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Earlier(Option<usize>);

impl Earlier {
    /// Find the column. `--only-failed` needs it: without one, the input is not a results file.
    pub fn find(headers: &[String], only_failed: bool, file: &Path) -> Result<Earlier, Fatal> {
        let col = headers.iter().position(|h| h.trim() == "kayse_result");
        if only_failed && col.is_none() {
            return Err(Fatal::usage(format!(
                "--only-failed needs an earlier results file (with a kayse_result column); {} has none",
                file.display()
            )));
        }
        Ok(Earlier(col))
    }

    /// What the row came to in the earlier run; `None` when the input is no results file or the
    /// cell is not one of the tool's words.
    pub fn outcome(&self, cells: &[Cell]) -> Option<Outcome> {
        let c = cells.get(self.0?)?;
        Outcome::parse(&c.to_text())
    }
}

/// What import did for good: never created again from its own results file (its `unknown` rows
/// are rechecked by lookup, which cannot create twice).
pub const IMPORT_DONE: &[Outcome] = &[Outcome::Created, Outcome::Updated];
/// What delete did: not deleted again.
pub const DELETE_DONE: &[Outcome] = &[Outcome::Deleted];
/// What sms and email did, or may have done (`unknown`: a message in doubt is checked in Kayse,
/// never resent).
pub const MESSAGE_DONE: &[Outcome] = &[Outcome::Sent, Outcome::Unknown];

/// An earlier outcome that is never sent again, whatever the options: `done` is what the command
/// itself leaves on the server (an import's results file fed to `delete` is a list of cases to
/// delete, not deletes done).
pub fn never_again(o: Outcome, done: &[Outcome]) -> bool {
    done.contains(&o)
}

/// With `--only-failed`, the earlier outcomes that are tried again: the ones that did not go in.
/// Any other row (`valid`, `duplicate`, `opted_out`, ...) is left as it was.
pub fn retried_when_only_failed(o: Outcome) -> bool {
    matches!(
        o,
        Outcome::Failed | Outcome::Invalid | Outcome::Skipped | Outcome::NotFound
    )
}

/// The note on a row left as an earlier run settled it.
pub fn note(o: Outcome) -> String {
    match o {
        Outcome::Unknown => {
            "in doubt since an earlier run: check in Kayse; never sent again automatically".into()
        }
        o if [IMPORT_DONE, DELETE_DONE, MESSAGE_DONE]
            .iter()
            .any(|d| never_again(o, d)) =>
        {
            format!(
                "{} by an earlier run (this row of its results file); not sent again",
                o.as_str()
            )
        }
        o => format!(
            "{} in the earlier results; left as it was (--only-failed)",
            o.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_earlier_rows_go_again() {
        // (earlier outcome, never again for messages, for import, for delete, retried by
        // --only-failed)
        let table = [
            (Outcome::Sent, true, false, false, false),
            (Outcome::Created, false, true, false, false),
            (Outcome::Updated, false, true, false, false),
            (Outcome::Deleted, false, false, true, false),
            (Outcome::Unknown, true, false, false, false),
            (Outcome::Failed, false, false, false, true),
            (Outcome::Skipped, false, false, false, true),
            (Outcome::Invalid, false, false, false, true),
            (Outcome::NotFound, false, false, false, true),
            (Outcome::Valid, false, false, false, false),
            (Outcome::Duplicate, false, false, false, false),
            (Outcome::OptedOut, false, false, false, false),
        ];
        for (o, messages, import, delete, retried) in table {
            assert_eq!(never_again(o, MESSAGE_DONE), messages, "{o:?}");
            assert_eq!(never_again(o, IMPORT_DONE), import, "{o:?}");
            assert_eq!(never_again(o, DELETE_DONE), delete, "{o:?}");
            assert_eq!(retried_when_only_failed(o), retried, "{o:?}");
        }
        assert!(note(Outcome::Sent).contains("not sent again"));
        assert!(note(Outcome::Unknown).contains("check in Kayse"));
        assert!(note(Outcome::Valid).contains("left as it was"));
    }

    #[test]
    fn the_column_is_found_or_only_failed_is_refused() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f = Path::new("m.csv");
        let e = Earlier::find(&h(&["case_id", "kayse_result"]), true, f).unwrap();
        let cells = [Cell::Int(5), Cell::Text("sent".into())];
        assert_eq!(e.outcome(&cells), Some(Outcome::Sent));
        assert_eq!(e.outcome(&[Cell::Int(5)]), None);
        let plain = Earlier::find(&h(&["case_id"]), false, f).unwrap();
        assert_eq!(plain.outcome(&cells), None);
        let err = Earlier::find(&h(&["case_id"]), true, f)
            .unwrap_err()
            .render();
        assert!(
            err.contains("--only-failed needs an earlier results file"),
            "{err}"
        );
    }
}

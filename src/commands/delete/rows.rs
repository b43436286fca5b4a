//! The rows of a delete sheet: read once and classified by their id cell, then written back one
//! results row each, with what became of their id.

use std::collections::BTreeMap;

use super::Args;
use crate::cell::Cell;
use crate::check::ids;
use crate::engine::earlier::{self, Earlier};
use crate::engine::finish::Results;
use crate::engine::input::{Echo, FingerprintSlot, Sheet, SheetFacts, names_matcher, read_failed};
use crate::engine::options::HiddenRows;
use crate::engine::{Sent, Settled};
use crate::error::Fatal;
use crate::outcome::{Outcome, ResultRow, RowError};

/// One input row as read.
pub enum Row {
    Bad {
        cells: Vec<Cell>,
        error: String,
    },
    /// The id cell is empty (e.g. an invalid row of an import's results file): nothing to delete.
    NoId {
        cells: Vec<Cell>,
    },
    Id {
        cells: Vec<Cell>,
        id: u64,
    },
    /// The input is an earlier results file and this row is left as that run settled it
    /// (`deleted`; with `--only-failed`, anything but a failure).
    Earlier {
        cells: Vec<Cell>,
        id: Option<u64>,
        outcome: Outcome,
    },
}

/// The sheet as read: its header, the id column, every non-blank row classified by its id cell,
/// the blank rows counted, what reading noticed, and the journal's fingerprint of it all.
pub struct IdSheet {
    pub headers: Vec<String>,
    /// The input columns the results repeat (an earlier results file's own are written afresh).
    pub echo: Echo,
    pub col: usize,
    /// Each row under the number the results show: the original sheet's (`Echo::source_row`).
    pub rows: Vec<(usize, Row)>,
    pub blank: u64,
    pub fingerprint: FingerprintSlot,
    pub facts: SheetFacts,
}

/// Rows hidden in the workbook (a filter's, usually) are left out unless `--include-hidden-rows`:
/// a firm filters a list down to the cases to delete, and the rows it filtered out must not go
/// with them.
pub fn hidden_rows(args: &Args) -> HiddenRows {
    HiddenRows {
        skip: !args.include_hidden_rows,
        skip_by_default: true,
    }
}

pub fn read_rows(args: &Args) -> Result<IdSheet, Fatal> {
    let header = match args.id_column.as_deref() {
        Some(name) => names_matcher(&[name]),
        None => names_matcher(ids::ID_COLUMNS),
    };
    let Sheet {
        table,
        fingerprint,
        facts,
    } = Sheet::open(&args.input, hidden_rows(args), header)?;
    let col = ids::find_column(&table.headers, args.id_column.as_deref()).map_err(|e| {
        Fatal::usage(format!(
            "{}: {e}{}",
            args.input.file.display(),
            args.input.header_hint(table.header_row)
        ))
    })?;
    let before = Earlier::find(&table.headers, args.only_failed, &args.input.file)?;
    let echo = Echo::new(&table.headers);
    // A delete's own results fed back: the ids are read from the input's column, where a bad
    // one is fixed, not from the tool's `kayse_id` (blank on that row).
    let col = match args.id_column {
        Some(_) => col,
        None => echo.input_column(&table.headers, col),
    };
    let mut rows = Vec::new();
    let mut blank = 0u64;
    for raw in table.rows {
        let raw = raw.map_err(read_failed)?;
        if raw.is_blank() {
            blank += 1;
            continue;
        }
        let id = ids::from_cell(raw.cells.get(col).unwrap_or(&Cell::Empty));
        let left = before.outcome(&raw.cells).filter(|o| {
            earlier::never_again(*o, earlier::DELETE_DONE)
                || (args.only_failed && !earlier::retried_when_only_failed(*o))
        });
        let r = match id {
            _ if left.is_some() => Row::Earlier {
                id: id.ok().flatten(),
                outcome: left.unwrap_or(Outcome::Valid),
                cells: raw.cells,
            },
            Ok(Some(id)) => Row::Id {
                cells: raw.cells,
                id,
            },
            Ok(None) => Row::NoId { cells: raw.cells },
            Err(e) => Row::Bad {
                cells: raw.cells,
                error: e.to_string(),
            },
        };
        let shown = match &r {
            Row::Bad { cells, .. }
            | Row::NoId { cells }
            | Row::Id { cells, .. }
            | Row::Earlier { cells, .. } => echo.source_row(cells, raw.source_row),
        };
        rows.push((shown, r));
    }
    Ok(IdSheet {
        headers: table.headers,
        echo,
        col,
        rows,
        blank,
        fingerprint,
        facts,
    })
}

/// One results row per input row. `sent` is `None` for a dry run.
pub fn write_rows(
    results: &mut Results,
    rows: Vec<(usize, Row)>,
    header: &str,
    col: usize,
    echo: &Echo,
    sent: Option<&Sent>,
) -> Result<(), Fatal> {
    let not_sent = sent.map(|s| s.not_sent("sent")).unwrap_or_default();
    // id → (its first row's place in the sheet, that row's number as shown): two rows may show
    // one number (a results file edited by hand), never one place.
    let mut first_row: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for (at, (source_row, r)) in rows.into_iter().enumerate() {
        let (outcome, id, errors, cells) = match r {
            Row::Earlier { cells, id, outcome } => {
                let e = RowError::new("kayse", earlier::note(outcome));
                (outcome, id, vec![e], cells)
            }
            Row::NoId { cells } => {
                let e = RowError::new(header, "no id in this row; nothing to delete").at(Some(col));
                (Outcome::Skipped, None, vec![e], cells)
            }
            Row::Bad { cells, error } => {
                let value = cells.get(col).map(Cell::to_text).unwrap_or_default();
                let mut e = RowError::new(header, error).at(Some(col));
                if !value.trim().is_empty() {
                    e = e.with_value(value);
                }
                (Outcome::Invalid, None, vec![e], cells)
            }
            Row::Id { cells, id } => {
                let mut errors = Vec::new();
                let (first_at, first) = *first_row.entry(id).or_insert((at, source_row));
                if first_at != at {
                    errors.push(RowError::new(
                        "id",
                        format!("same id as row {first}; sent once"),
                    ));
                }
                let o = match sent.map(|s| s.settle(id as usize)) {
                    None => Outcome::Valid,
                    Some(Settled::Done(r)) => {
                        if let Some(e) = &r.error {
                            errors.insert(0, RowError::new("kayse", e.clone()));
                        }
                        r.outcome
                    }
                    Some(Settled::InDoubt | Settled::NotSent) => {
                        errors.insert(0, RowError::new("kayse", not_sent.clone()));
                        Outcome::Skipped
                    }
                };
                (o, Some(id), errors, cells)
            }
        };
        results.write(ResultRow {
            source_row,
            outcome,
            kayse_id: id,
            errors: echo.errors(errors),
            cells: echo.cells(cells),
            extra: Vec::new(),
        })?;
    }
    Ok(())
}

/// What the person confirming must know of the rows not read: the hidden rows left out, or a
/// format that cannot show which rows are hidden (so every row was read).
pub fn hidden_note(facts: &SheetFacts) -> Option<String> {
    match facts.hidden_rows_left_out() {
        Some((n, rows)) => Some(format!(
            "Left out: {rows}, hidden in the workbook; --include-hidden-rows deletes {} too.",
            if n == 1 { "its case" } else { "their cases" },
        )),
        None => facts.unseen_warning().map(|w| format!("Warning: {w}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sheet whose reader noticed `hidden` rows (left out when `skip`), in `format`.
    fn facts(format: &str, unseen: bool, hidden: &[usize], include: bool) -> SheetFacts {
        let table = crate::read::Table {
            info: crate::read::InputInfo {
                format: format.into(),
                hidden_unseen: unseen,
                ..Default::default()
            },
            headers: vec!["kayse_id".into()],
            header_row: 1,
            rows: Box::new(crate::read::Plain(std::iter::empty())),
            facts: Default::default(),
        };
        for &r in hidden {
            table.facts.note_hidden_row(r, !include);
        }
        let policy = HiddenRows {
            skip: !include,
            skip_by_default: true,
        };
        SheetFacts::of(&table, policy)
    }

    #[test]
    fn the_confirmation_names_the_hidden_rows_left_out() {
        let table = [
            (
                facts("xlsx", false, &[5, 7], false),
                Some(
                    "Left out: rows 5, 7, hidden in the workbook; --include-hidden-rows deletes their cases too.",
                ),
            ),
            (
                facts("xlsx", false, &[5], false),
                Some(
                    "Left out: row 5, hidden in the workbook; --include-hidden-rows deletes its case too.",
                ),
            ),
            (facts("xlsx", false, &[5], true), None),
            (facts("xlsx", false, &[], false), None),
            (
                facts("ods", true, &[], false),
                Some(
                    "Warning: hidden rows cannot be seen in .ods files, so every row was read, rows hidden by a filter too; save the sheet as .xlsx to leave them out.",
                ),
            ),
            (facts("ods", true, &[], true), None),
        ];
        for (i, (f, want)) in table.iter().enumerate() {
            assert_eq!(hidden_note(f).as_deref(), *want, "case {i}");
        }
    }
}

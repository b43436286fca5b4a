//! The results rows of a message run: one per input row, with its outcome, its case id, the
//! rendered text, and the input's own cells (an earlier results file's columns written afresh).
//! Writes through the engine's `Results`; decides nothing about sending.

use crate::cell::Cell;
use crate::engine::finish::Results;
use crate::engine::input::Echo;
use crate::engine::{Sent, Settled};
use crate::outcome::{Outcome, ResultRow, RowError};

use super::rows::{self, State};

/// One results row per input row, with the rendered text. `sent` is `None` for a dry run.
pub fn write_rows(
    results: &mut Results,
    rows: Vec<rows::Row>,
    echo: &Echo,
    sent: Option<&Sent>,
) -> Result<(), crate::error::Fatal> {
    let not_sent = sent.map(|s| s.not_sent("sent")).unwrap_or_default();
    // Row numbers as read (the journal's keys) → as shown (the original sheet's).
    let mut shown_rows = std::collections::HashMap::new();
    for r in rows {
        let shown = echo.source_row(&r.cells, r.source_row);
        shown_rows.insert(r.source_row, shown);
        let (outcome, errors) = match r.state {
            State::Invalid(e) => (Outcome::Invalid, e),
            State::Duplicate(first) => (
                Outcome::Duplicate,
                vec![RowError::new(
                    "message",
                    format!(
                        "same case, client and message as row {}; sent once",
                        shown_rows.get(&first).copied().unwrap_or(first)
                    ),
                )],
            ),
            State::Earlier(o) => (
                o,
                vec![RowError::new("kayse", crate::engine::earlier::note(o))],
            ),
            State::Ready(_) => match sent.map(|s| s.settle(r.source_row)) {
                None => (Outcome::Valid, Vec::new()),
                Some(Settled::Done(rec)) => (
                    rec.outcome,
                    rec.error
                        .iter()
                        .map(|e| RowError::new("kayse", e.clone()))
                        .collect(),
                ),
                Some(Settled::InDoubt | Settled::NotSent) => (
                    Outcome::Skipped,
                    vec![RowError::new("kayse", not_sent.clone())],
                ),
            },
        };
        let mut extra = vec![Cell::Text(r.message)];
        if let Some(s) = r.subject {
            extra.push(Cell::Text(s));
        }
        results.write(ResultRow {
            source_row: shown,
            outcome,
            kayse_id: r.case_id,
            errors: echo.errors(errors),
            cells: echo.cells(r.cells),
            extra,
        })?;
    }
    Ok(())
}

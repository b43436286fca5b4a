//! Import's results: every row the reading pass kept, joined with what happened to it (sent,
//! settled by the ledger, or invalid), written in input order; a case sheet that names its
//! clients adds each row's `kayse_client_ids` and the Clients sheet.

use std::path::Path;
use std::time::Instant;

use super::linked::Linked;
use super::scan::{Scan, Verdict};
use crate::cell::Cell;
use crate::cli::Global;
use crate::engine::finish::Results;
use crate::engine::{Sent, Settled};
use crate::error::CmdResult;
use crate::outcome::{Outcome, ResultRow, RowError};

impl Scan {
    /// Join every kept row with what happened to it, write the results file, end the run.
    pub fn write_results(
        self,
        path: &Path,
        sent: &Sent,
        plan: Option<String>,
        g: &Global,
        started: Instant,
        linked: Option<&Linked>,
    ) -> CmdResult {
        let mut summary = self.summary;
        summary.plan = plan;
        // A linked import: each row's clients' ids first, then the dates as read.
        let fates = linked.map(|l| l.fates(sent)).unwrap_or_default();
        for f in &fates {
            *summary
                .clients
                .entry(f.outcome.as_str().to_string())
                .or_default() += 1;
        }
        let mut extra = self.extra.clone();
        if linked.is_some() {
            extra.insert(0, crate::entity::LINK_COLUMNS[0].to_string());
        }
        let mut results = Results::create(path, &self.headers, &extra, &self.hidden, summary)?;
        let n_extra = self.extra.len();
        let not_sent = sent.not_sent("sent");
        let server = |m: &str| vec![RowError::new("kayse", m)];
        for kept in self.rows {
            let (outcome, kayse_id, errors) = match kept.verdict {
                Verdict::Copied(o, id) => (o, id, Vec::new()),
                Verdict::Invalid(errors, id) => (Outcome::Invalid, id, errors),
                Verdict::Queued { id, lookup, note } => match sent.settle(kept.source_row) {
                    Settled::Done(r) => {
                        let mut errors = r.error.as_deref().map(server).unwrap_or_default();
                        errors.extend(note.map(|n| RowError::new("restore", n)));
                        (r.outcome, r.id.or(id), errors)
                    }
                    Settled::InDoubt => (
                        Outcome::Unknown,
                        id,
                        server(&format!(
                            "the run stopped while this row's request was in flight; run again with --resume to settle it (check {} {lookup} in Kayse)",
                            self.entity.lookup_field()
                        )),
                    ),
                    Settled::NotSent => (Outcome::Skipped, id, server(&not_sent)),
                },
            };
            let mut cells = kept.cells.unpack();
            let input = cells.split_off(n_extra.min(cells.len()));
            if let Some(l) = linked {
                let ids = l.ids_text(kept.source_row, &fates);
                cells.insert(
                    0,
                    if ids.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(ids)
                    },
                );
            }
            results.write(ResultRow {
                source_row: kept.shown_row,
                outcome,
                kayse_id,
                errors,
                cells: input,
                extra: cells,
            })?;
        }
        let tables: Vec<_> = linked
            .map(|l| crate::report::clients::table_with(&l.clients, &fates))
            .into_iter()
            .collect();
        results.finish_with(g, Some(sent), started, &tables)
    }
}

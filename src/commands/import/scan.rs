//! Import's one reading pass and its results: every row is read, mapped and checked once; valid
//! rows become payloads to send, and what the results file needs of each row (its echoed cells
//! and its verdict) is kept, along with the fingerprint the journal checks. After sending, the
//! kept rows are joined with the outcomes and written. The input is never read again.
//!
//! Keeping the rows costs memory instead of a second reading; a second pass would re-map and
//! re-check every row, and read a file the user may have changed since. Measured (100,000 valid
//! rows of 8 columns into the sandbox, peak RSS by /usr/bin/time -v, release build): 157-179 MB
//! with the three readings this replaces, 146 MB now, with each kept row's cells packed in one
//! allocation (`PackedCells`) and the payloads split in place, never copied whole.

use std::collections::BTreeSet;
use std::path::Path;

use super::Args;
use super::answer::Item;
use super::restore::{self, Restore};
use crate::cell::Cell;
use crate::check::linked::Clients;
use crate::cli::Global;
use crate::engine::input::{CaseSheet, Echo, Scanned};
use crate::engine::packed::PackedCells;
use crate::entity::Entity;
use crate::error::Fatal;
use crate::outcome::{Outcome, RowError};
use crate::record::journal::Fingerprint;
use crate::report::summary::Summary;

/// What became of a row in the reading pass.
pub(super) enum Verdict {
    /// Every error the checks found, on the results' columns, and the `kayse_id` the row
    /// already had (a results file's, or one a person typed in): never blanked.
    Invalid(Vec<RowError>, Option<u64>),
    /// `--only-failed`: already created or updated by an earlier run; copied through.
    Copied(Outcome, Option<u64>),
    /// A payload was queued; the row's outcome comes from sending.
    Queued {
        id: Option<u64>,
        /// The value users look the row up by in Kayse (its `case_number`).
        lookup: Box<str>,
        /// `--restore`: what this row's case loses (opt-outs the API cannot set), said in the row.
        note: Option<Box<str>>,
    },
}

/// One non-blank input row, as the results file will need it.
pub(super) struct Kept {
    pub(super) source_row: usize,
    /// The row number the results show: the original sheet's (`Echo::source_row`).
    pub(super) shown_row: usize,
    pub(super) cells: PackedCells,
    pub(super) verdict: Verdict,
}

/// The reading pass's findings.
pub struct Scan {
    /// Payloads to send, in file order (taken by the run).
    pub items: Vec<Item>,
    /// Rows an earlier results file (`--only-failed`) says are `unknown`: sent again in doubt.
    pub earlier_unknown: BTreeSet<usize>,
    pub fingerprint: Fingerprint,
    /// Values that look like typos of a more common one (Kayse would create them as typed).
    pub typos: Vec<String>,
    /// Date columns whose assumed order a later row contradicted: nothing may be sent.
    pub date_doubts: Vec<String>,
    pub(super) headers: Vec<String>,
    /// The command's own columns: each numeric date as it was read (`HEADER (as read)`). A kept
    /// row's packed cells hold these first, then the echoed input cells.
    pub(super) extra: Vec<String>,
    /// Results input columns hidden in the workbook: kept hidden (XLSX) or left out (CSV).
    pub(super) hidden: Vec<usize>,
    pub(super) rows: Vec<Kept>,
    pub(super) summary: Summary,
    /// What the rows are (`--entity`): names the key a row in doubt is looked up by.
    pub(super) entity: &'static Entity,
    /// The distinct clients the rows name in client columns, if the sheet has any.
    pub clients: Option<Clients>,
}

fn column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

fn cell_id(c: Option<&Cell>) -> Option<u64> {
    match c? {
        Cell::Int(i) => u64::try_from(*i).ok(),
        Cell::Float(f) if f.fract() == 0.0 && *f > 0.0 => Some(*f as u64),
        other => other.to_text().trim().parse().ok(),
    }
}

/// Read, map and check every row once.
pub fn scan(args: &Args, results: &Path, g: &Global) -> Result<Scan, Fatal> {
    let mut sheet = CaseSheet::open(&args.input, args.hidden.hidden_rows(), &args.rules, true)?;
    if sheet.has_clients() && sheet.mapping.column_of("client_ids").is_some() {
        // Two sources for one link list: which would win is a guess.
        return Err(Fatal::usage(format!(
            "{} gives Kayse client ids in a client_ids column and names the clients in {}: keep one of them (--without-clients ignores the client columns)",
            args.input.file.display(),
            sheet.client_headers()
        )));
    }
    sheet.describe_mapping(g);
    let result_col = column(&sheet.table.headers, "kayse_result");
    let id_col = column(&sheet.table.headers, "kayse_id");
    if args.only_failed && result_col.is_none() {
        return Err(Fatal::usage(format!(
            "--only-failed needs an earlier results file (with a kayse_result column); {} has none",
            args.input.file.display()
        )));
    }
    // An earlier results file as input: its own kayse_* columns are replaced, not repeated.
    let echo = Echo::new(&sheet.table.headers);
    let mut summary = sheet.new_summary("import", &args.input.file, results);
    let hidden = echo.columns(sheet.facts.hidden_columns());
    let restore = args.restore.then(|| Restore::new(&sheet.table.headers));
    let (mut restored, mut lost) = (0u64, crate::read::RowList::default());
    let mut out = Scan {
        items: Vec::new(),
        earlier_unknown: BTreeSet::new(),
        fingerprint: Fingerprint {
            sha256: String::new(),
            size: 0,
            basis: crate::record::journal::Basis::Rows,
        },
        typos: Vec::new(),
        date_doubts: Vec::new(),
        headers: echo.headers(&sheet.table.headers),
        extra: sheet.dates.headers().to_vec(),
        hidden,
        rows: Vec::new(),
        summary: Summary::default(),
        entity: args.rules.entity.table(),
        clients: None,
    };
    while let Some(item) = sheet.next_row() {
        let (raw, result) = match item? {
            Scanned::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Scanned::Row { raw, result } => (raw, result),
        };
        let row = raw.source_row;
        // An earlier results file never creates its `created` rows again, --only-failed or not.
        let before = result_col
            .and_then(|c| raw.cells.get(c))
            .and_then(|c| Outcome::parse(&c.to_text()));
        // The kayse_id of an earlier results file: the tool's, or one a person typed in to
        // point a row at its case. Only results files have one here (elsewhere the column is
        // mapped as the row's id).
        let typed = result_col.and(cell_id(id_col.and_then(|c| raw.cells.get(c))));
        let verdict = match (before, result) {
            (Some(o @ (Outcome::Created | Outcome::Updated)), _) => Verdict::Copied(o, typed),
            (_, Err(errors)) => Verdict::Invalid(echo.errors(errors), typed),
            (before, Ok(mut case)) => {
                let note = restore.as_ref().and_then(|r| {
                    restored += 1;
                    let got = r.apply(&mut case, &raw);
                    got.lost.inspect(|_| lost.push(row)).map(Into::into)
                });
                // A row that failed to create, given its case's id by hand, updates that case.
                if case.id.is_none() {
                    case.id = typed;
                }
                if case.id.is_some() {
                    summary.updates += 1;
                } else {
                    summary.creates += 1;
                }
                if before == Some(Outcome::Unknown) {
                    out.earlier_unknown.insert(row);
                }
                let verdict = Verdict::Queued {
                    id: case.id,
                    lookup: case.lookup().1.into(),
                    note,
                };
                out.items.push((row, case));
                verdict
            }
        };
        let shown_row = echo.source_row(&raw.cells, row);
        let mut cells = sheet.dates.cells(&raw);
        cells.extend(echo.cells(raw.cells));
        out.rows.push(Kept {
            source_row: row,
            shown_row,
            cells: PackedCells::pack(&cells),
            verdict,
        });
    }
    sheet.finish_summary(&mut summary);
    if let Some(clients) = sheet.clients() {
        out.refuse_unsendable_clients(&clients);
        summary
            .warnings
            .extend(crate::engine::checks::describe_clients(&clients));
        out.clients = Some(clients);
    }
    if restore.is_some() {
        summary.warnings.extend(restore::summary(restored, &lost));
    }
    out.typos = sheet.typos();
    out.date_doubts = sheet.checker.date_doubts();
    out.fingerprint = sheet.fingerprint.finished()?;
    out.summary = summary;
    Ok(out)
}

impl Scan {
    /// A row naming a client that cannot be sent is invalid, with the client's reason.
    fn refuse_unsendable_clients(&mut self, clients: &Clients) {
        let mut refused = super::linked::unsendable(clients);
        for kept in &mut self.rows {
            if let Verdict::Queued { id, .. } = kept.verdict
                && let Some(errors) = refused.get_mut(&kept.source_row)
            {
                kept.verdict = Verdict::Invalid(std::mem::take(errors), id);
            }
        }
        self.items.retain(|(row, _)| !refused.contains_key(row));
    }

    /// What the run plans to send, once the ledger has settled the rows it knows: the summary's
    /// `creates`/`updates` (shown only when nothing was done) never count an unchanged row.
    pub fn note_plan(&mut self, creates: u64, updates: u64) {
        self.summary.creates = creates;
        self.summary.updates = updates;
    }

    /// Name the ledger in the summary, with what it refused to record.
    pub fn note_ledger(&mut self, path: String, conflicts: &[String]) {
        self.summary.ledger = Some(path);
        self.summary
            .warnings
            .extend(conflicts.iter().map(|c| format!("ledger: {c}")));
    }
}

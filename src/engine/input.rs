//! The input side of a run: a spreadsheet opened once, its rows fingerprinted as they are read
//! (so the journal's check costs no second reading), and, for case sheets, mapped and checked on
//! the read-ahead thread. Also `Echo`, the input columns a results file repeats. What reading
//! noticed goes to the summary through `SheetFacts` (`facts.rs`). Sends nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::cell::Cell;
use crate::check::joined::Join;
use crate::check::linked::{Clients, Gathered, Mention, Reader};
use crate::check::{Checked, Checker, check_row};
use crate::cli::Global;
use crate::engine::options::{EntityArg, HiddenRows, InputArgs, RulesArgs};
use crate::entity::Record;
use crate::error::{ExitCode, Fatal};
use crate::map::Mapping;
use crate::outcome::RowError;
use crate::read::{self, HeaderMatcher, RawRow, ReadAhead, ReadError, Recycler, Rows, Table};
use crate::record::journal::{Basis, Fingerprint, hex};
use crate::report::summary::Summary;

pub use super::facts::SheetFacts;
use super::joined;
use super::lookahead::{DateColumns, LOOK_AHEAD_ROWS, learn_date_orders, look_ahead};

/// A read error mid-file ends the command (exit 2).
pub fn read_failed(e: ReadError) -> Fatal {
    Fatal::from_error(ExitCode::Usage, e)
}

/// Where a fingerprint lands once the rows have all been read.
#[derive(Debug, Clone, Default)]
pub struct FingerprintSlot(Arc<Mutex<Option<Fingerprint>>>);

impl FingerprintSlot {
    /// The fingerprint, once every row was read; `None` before that.
    pub fn get(&self) -> Option<Fingerprint> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The fingerprint of a sheet read to its end; an internal error otherwise.
    pub fn finished(&self) -> Result<Fingerprint, Fatal> {
        self.get().ok_or_else(|| {
            Fatal::usage(
                "internal error: the input was not read to its end before the journal check",
            )
        })
    }
}

/// Rows that hash themselves, header first, as the reader yields them: a fingerprint of what was
/// read, whatever the file format, taken in the one reading pass. Rows, not bytes: a zipped
/// workbook is read out of order, and what matters for a resume is that the rows are the same.
pub struct Hashed {
    inner: Box<dyn Rows>,
    hasher: Option<Sha256>,
    rows: u64,
    slot: FingerprintSlot,
}

impl Hashed {
    pub fn new(table: &Table, inner: Box<dyn Rows>, slot: FingerprintSlot) -> Hashed {
        let mut hasher = Sha256::new();
        hasher.update((table.header_row as u64).to_le_bytes());
        hasher.update((table.headers.len() as u64).to_le_bytes());
        for h in &table.headers {
            hash_bytes(&mut hasher, 1, h.as_bytes());
        }
        Hashed {
            inner,
            hasher: Some(hasher),
            rows: 0,
            slot,
        }
    }

    /// Fold a joined clients table's fingerprint in: a change there is a change of the input,
    /// so a `--resume` after it is refused. A sheet with no joined table keeps its fingerprint.
    pub fn with_joined(mut self, joined: &Fingerprint) -> Hashed {
        if let Some(h) = self.hasher.as_mut() {
            hash_bytes(h, 8, joined.sha256.as_bytes());
            h.update(joined.size.to_le_bytes());
        }
        self
    }

    fn feed(&mut self, item: &Option<Result<RawRow, ReadError>>) {
        match item {
            Some(Ok(row)) => {
                if let Some(h) = self.hasher.as_mut() {
                    hash_row(h, row);
                    self.rows += 1;
                }
            }
            Some(Err(_)) => self.hasher = None, // a failed read has no fingerprint
            None => {
                if let Some(h) = self.hasher.take() {
                    let fp = Fingerprint {
                        sha256: hex(&h.finalize()),
                        size: self.rows,
                        basis: Basis::Rows,
                    };
                    *self.slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(fp);
                }
            }
        }
    }
}

impl Iterator for Hashed {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        self.feed(&item);
        item
    }
}

impl Rows for Hashed {
    fn next_reusing(&mut self, spare: &mut Vec<Vec<Cell>>) -> Option<Self::Item> {
        let item = self.inner.next_reusing(spare);
        self.feed(&item);
        item
    }
}

fn hash_bytes(h: &mut Sha256, tag: u8, bytes: &[u8]) {
    h.update([tag]);
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// One row, unambiguously: its number, its width, each cell's kind and value.
fn hash_row(h: &mut Sha256, row: &RawRow) {
    h.update((row.source_row as u64).to_le_bytes());
    h.update((row.cells.len() as u64).to_le_bytes());
    for c in &row.cells {
        match c {
            Cell::Empty => h.update([0]),
            Cell::Text(s) => hash_bytes(h, 1, s.as_bytes()),
            Cell::Int(i) => {
                h.update([2]);
                h.update(i.to_le_bytes());
            }
            Cell::Float(f) => {
                h.update([3]);
                h.update(f.to_bits().to_le_bytes());
            }
            Cell::Bool(b) => h.update([4, u8::from(*b)]),
            Cell::Date(d) => hash_bytes(h, 5, d.to_string().as_bytes()),
            Cell::DateTime(d) => hash_bytes(h, 6, d.to_string().as_bytes()),
            Cell::Error(e) => hash_bytes(h, 7, e.as_bytes()),
        }
    }
}

/// A plain sheet (ids, messages): its header and its rows, fingerprinted as they are read.
pub struct Sheet {
    pub table: Table,
    pub fingerprint: FingerprintSlot,
    pub facts: SheetFacts,
}

impl Sheet {
    /// Open `input`, taking as its header the row among the first that `header` likes best.
    pub fn open(
        input: &InputArgs,
        hidden: HiddenRows,
        header: HeaderMatcher,
    ) -> Result<Sheet, Fatal> {
        let opts = input.read_options(hidden, header);
        let mut table = read::open(&input.file, &opts).map_err(read_failed)?;
        let slot = FingerprintSlot::default();
        let rows = std::mem::replace(&mut table.rows, Box::new(read::Plain(std::iter::empty())));
        table.rows = Box::new(Hashed::new(&table, rows, slot.clone()));
        let facts = SheetFacts::of(&table, hidden);
        Ok(Sheet {
            table,
            fingerprint: slot,
            facts,
        })
    }
}

/// About how many rows a text file holds, from its size and the length of its first rows; 0 for
/// a workbook (its size says little) or a file shorter than the look-ahead. A guess, only for
/// sizing the duplicate check once rather than growing it as rows come, which on a million-row
/// CSV moves every key twice and, while the tables are copied, holds both sizes at once.
fn rows_estimate(format: &str, file: &Path, sample: &[&RawRow]) -> usize {
    if !matches!(format, "csv" | "text") || sample.len() < LOOK_AHEAD_ROWS {
        return 0;
    }
    let text = |c: &Cell| match c {
        Cell::Text(t) => t.len(),
        other => other.to_text().len(),
    };
    // Each cell's text and its delimiter; the delimiter's place in the last takes the line end.
    let bytes: usize = sample
        .iter()
        .map(|r| r.cells.iter().map(|c| text(c) + 1).sum::<usize>())
        .sum();
    let per_row = (bytes / sample.len()).max(1);
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    // A guess too high costs memory the rows never use (18 MB a key per million rows guessed):
    // past two million, the tables grow as the rows come.
    (usize::try_from(size).unwrap_or(usize::MAX) / per_row).min(1 << 21)
}

/// A header matcher for a sheet whose columns are known by name (ids, messages): a cell counts
/// when it is one of `names`, ignoring case and surrounding spaces, as the columns are found.
pub fn names_matcher<S: AsRef<str>>(names: &[S]) -> HeaderMatcher {
    let names: Vec<String> = names
        .iter()
        .map(|n| n.as_ref().trim().to_string())
        .collect();
    HeaderMatcher::new(move |h| names.iter().any(|n| n.eq_ignore_ascii_case(h.trim())))
}

/// Where a case row's clients come from: its client columns, or a clients table joined to the
/// sheet by a key column. Either way the row gives `Mention`s, so what follows is the same.
enum Named {
    Columns(Reader),
    Joined(Arc<Join>),
}

impl Named {
    fn read(&self, cells: &[Cell]) -> (Vec<Mention>, Vec<RowError>) {
        match self {
            Named::Columns(r) => r.read(cells),
            Named::Joined(j) => j.read(cells),
        }
    }
}

/// A row as the reading thread hands it over: judged on its own, not yet against earlier rows.
#[allow(clippy::large_enum_variant)]
enum Prechecked {
    Blank,
    /// The row, its case judged on its own, and the clients its client columns name (with
    /// their cells' errors), when the sheet has client columns.
    Row(RawRow, Checked, Option<(Vec<Mention>, Vec<RowError>)>),
}

/// One scanned row of a case sheet. Consumed at once, never stored in bulk, so the size gap
/// between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Scanned {
    /// A row with nothing in it: skipped and counted.
    Blank,
    /// A row, with its payload or every error it has.
    Row {
        raw: RawRow,
        result: Result<Record, Vec<RowError>>,
    },
}

/// A case sheet opened and mapped, its rows read ahead, mapped and checked on their own thread.
pub struct CaseSheet {
    /// The input's facts and header; its rows have moved to `rows`.
    pub table: Table,
    rows: ReadAhead<Prechecked>,
    pub mapping: Arc<Mapping>,
    pub checker: Checker,
    pub fingerprint: FingerprintSlot,
    pub facts: SheetFacts,
    /// What the first rows showed that the summary must say (an id column of names, dates in
    /// an order that is not proved).
    notes: Vec<String>,
    /// How each date column is read, and why.
    pub dates: DateColumns,
    /// The clients the valid rows name in their client columns (`Client Email`...), gathered
    /// for deduplication once every row is read; `None` for a sheet without client columns.
    clients: Option<Gathered>,
    /// `--merge-by-name`.
    merge_by_name: bool,
    /// The clients table joined to the sheet (`--clients`, or a workbook's `Clients` sheet).
    join: Option<Arc<Join>>,
}

impl CaseSheet {
    /// Open and map the input. Every problem here is exit 2, before any row is read. The header
    /// is the row among the first that names the most fields the mapping knows. With
    /// `fingerprint`, the rows are hashed as they are read (a run with a journal needs it; a
    /// plain validate does not pay for it).
    pub fn open(
        input: &InputArgs,
        hidden: HiddenRows,
        rules_args: &RulesArgs,
        fingerprint: bool,
    ) -> Result<CaseSheet, Fatal> {
        let (map_opts, mut rules) = rules_args.load()?;
        let entity = rules.entity();
        let mut opts = input.read_options(hidden, crate::map::header_matcher(entity, &map_opts));
        let mut table = read::open(&input.file, &opts).map_err(read_failed)?;
        // A workbook with a `Cases` and a `Clients` sheet: the cases are on `Cases`.
        let pair = (input.sheet.is_none() && rules_args.entity == EntityArg::Cases)
            .then(|| joined::two_sheets(&table.info))
            .flatten();
        if let Some((cases, _)) = &pair
            && table.info.sheet.as_ref() != Some(cases)
        {
            opts.sheet = Some(cases.clone());
            table = read::open(&input.file, &opts).map_err(read_failed)?;
        }
        let mut mapping = Mapping::build(entity, &table.headers, &map_opts)
            .map_err(|e| Fatal::usage(format!("{e}{}", input.header_hint(table.header_row))))?;
        let order_given = rules_args.date_order_with(&map_opts.file)?;
        if let (None, Some(d)) = (order_given, mapping.preset) {
            // The preset's order reads the dates the values do not prove.
            rules.date_order = d.preset.date_order;
        }
        let mut notes = Vec::new();
        // The clients table, read whole before the cases (it is small next to them).
        let asked = joined::Asked {
            input: &input.file,
            clients: rules_args.clients.as_deref(),
            workbook: pair.as_ref(),
        };
        let opened = if rules_args.without_clients {
            None
        } else {
            let side = joined::CaseSide {
                headers: &table.headers,
                preset: mapping.preset,
                file: &map_opts.file,
                order_given,
                rules: &rules,
                hidden,
            };
            joined::attach(&asked, &side, &mut mapping, &mut table.info, &mut notes)?
        };
        let slot = FingerprintSlot::default();
        let mut rows =
            std::mem::replace(&mut table.rows, Box::new(read::Plain(std::iter::empty())));
        if fingerprint {
            let mut hashed = Hashed::new(&table, rows, slot.clone());
            if let Some(o) = &opened {
                hashed = hashed.with_joined(&o.fingerprint);
            }
            rows = Box::new(hashed);
        }
        // The first rows, read ahead once on this thread, say what the headers cannot: whether
        // an id column holds ids, and in which order each date column writes day and month.
        let ahead = look_ahead(rows, LOOK_AHEAD_ROWS);
        let sample = ahead.sample();
        let expected = rows_estimate(&table.info.format, &input.file, &sample);
        notes.extend(mapping.unmap_non_id_columns(&sample));
        if rules_args.without_clients {
            mapping.unmap_client_columns();
        } else if opened.is_none() {
            notes.extend(mapping.unmap_unsplittable_names(&sample));
        }
        let dates = learn_date_orders(&mapping, &mut rules, &sample, order_given);
        notes.extend(dates.warnings.iter().cloned());
        drop(sample);
        let rows: Box<dyn Rows> = Box::new(ahead);
        let join = opened.map(|o| Arc::new(o.join));
        let named = match &join {
            Some(j) => Some(Named::Joined(Arc::clone(j))),
            None => {
                let reader = Reader::new(
                    mapping.linked(),
                    &table.headers,
                    rules.date_order,
                    rules.country,
                );
                (!reader.is_empty()).then_some(Named::Columns(reader))
            }
        };
        let clients = named.as_ref().map(|_| Gathered::default());
        let mapping = Arc::new(mapping);
        let rows = {
            let mapping = Arc::clone(&mapping);
            let rules = rules.clone();
            ReadAhead::spawn(rows, &input.file, move |raw| {
                if raw.is_blank() {
                    Prechecked::Blank
                } else {
                    let checked = check_row(&rules, &mapping.apply(&raw));
                    let named = named.as_ref().map(|r| r.read(&raw.cells));
                    Prechecked::Row(raw, checked, named)
                }
            })
        };
        let facts = SheetFacts::of(&table, hidden);
        Ok(CaseSheet {
            table,
            rows,
            mapping,
            checker: Checker::new(rules).expecting(expected),
            fingerprint: slot,
            facts,
            notes,
            dates,
            clients,
            merge_by_name: rules_args.merge_by_name,
            join,
        })
    }

    /// Read, map and check the next row. A read error mid-file is fatal (exit 2).
    pub fn next_row(&mut self) -> Option<Result<Scanned, Fatal>> {
        let (raw, checked, named) = match self.rows.next()? {
            Ok(Prechecked::Row(raw, checked, named)) => (raw, checked, named),
            Ok(Prechecked::Blank) => return Some(Ok(Scanned::Blank)),
            Err(e) => return Some(Err(read_failed(e))),
        };
        if let Some(Prechecked::Row(_, next, _)) = self.rows.peek() {
            self.checker.prefetch(next);
        }
        let mut result = self.checker.settle(checked);
        if let Some((mentions, errors)) = named {
            // A case is not sent without the clients its row names: their errors are its own.
            match (&mut result, errors.is_empty()) {
                (Ok(case), true) => {
                    if let Some(g) = self.clients.as_mut() {
                        g.add(raw.source_row, case.text("external_source"), mentions);
                    }
                }
                (Ok(_), false) => result = Err(errors),
                (Err(e), _) => e.extend(errors),
            }
        }
        Some(Ok(Scanned::Row { raw, result }))
    }

    /// Whether the sheet has client columns (`Client Name`, `Client Email`, ...).
    pub fn has_clients(&self) -> bool {
        self.clients.is_some()
    }

    /// The headers of the client columns, quoted, for messages: `'Client', 'Client Email'`;
    /// with a joined clients table, its key column and the table.
    pub fn client_headers(&self) -> String {
        match &self.join {
            Some(j) => format!("'{}' (joined to {})", j.keys().case_header, j.keys().table),
            None => quoted(&self.mapping, self.mapping.linked().iter().map(|l| l.col)),
        }
    }

    /// Once every row is read: the distinct clients the valid rows name, deduplicated, each
    /// with the rows it came from; `None` for a sheet without client columns. Call it once.
    pub fn clients(&mut self) -> Option<Clients> {
        let options = crate::check::people::Options {
            merge_by_name: self.merge_by_name,
        };
        self.clients.take().map(|g| g.finish(options))
    }

    /// Where written rows' cells go to be filled again by the reading thread.
    pub fn recycler(&self) -> Recycler {
        self.rows.recycler()
    }

    /// Under `-v`, say which column feeds which field.
    pub fn describe_mapping(&self, g: &Global) {
        if g.verbose && !g.quiet {
            for line in self.mapping.describe() {
                eprintln!("mapping: {line}");
            }
        }
    }

    /// A summary with the input's facts filled in.
    pub fn new_summary(&self, command: &str, input: &Path, results: &Path) -> Summary {
        let mut s = crate::engine::finish::summary(command, input.display(), Some(results));
        self.facts.start(Some(results), &mut s);
        s.warnings.extend(self.mapping.notes.iter().cloned());
        s.warnings.extend(self.notes.iter().cloned());
        s.reading.dates = self.dates.lines.clone();
        s.reading.preset = self.mapping.preset.map(|d| d.line());
        if !self.mapping.unmapped.is_empty() {
            s.warnings.push(format!(
                "columns not mapped to any field (ignored; --extra-columns data keeps them): {}",
                self.mapping.unmapped.join(", ")
            ));
        }
        s
    }

    /// The values the checks call likely typos of a more common one, one line each.
    pub fn typos(&self) -> Vec<String> {
        let report = self.checker.report();
        report.typos.iter().map(|t| t.to_string()).collect()
    }

    /// Copy what the checker learned about statuses and types, and what the reader noticed
    /// while reading the rows, into the summary. Call it once every row has been read.
    pub fn finish_summary(&self, s: &mut Summary) {
        self.facts.finish(s);
        let report = self.checker.report();
        s.statuses = report.of("status");
        s.types = report.of("type");
        s.warnings.extend(report.warnings);
        if let Some(j) = &self.join
            && j.unnamed() > 0
        {
            s.warnings.push(format!(
                "clients: {} of the {} rows of {} are named by no case, so they are not sent",
                j.unnamed(),
                j.len(),
                j.keys().table
            ));
        }
    }
}

/// Headers of `cols`, quoted, for messages: `'Client', 'Client Email'`.
fn quoted(mapping: &Mapping, cols: impl Iterator<Item = usize>) -> String {
    cols.map(|c| format!("'{}'", mapping.header(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The input columns a results file repeats. When the input is itself a results file (it has a
/// `kayse_result` column), the tool's own leading columns are written afresh, not repeated; a
/// user's later column of the same name is kept.
pub struct Echo {
    keep: Vec<usize>,
    /// Input column → results input column.
    map: Vec<Option<usize>>,
    /// An earlier results file's own `source_row` column: the original sheet's row numbers.
    source_row: Option<usize>,
}

impl Echo {
    pub fn new(headers: &[String]) -> Echo {
        let is_results = headers.iter().any(|h| h.trim() == "kayse_result");
        let mut dropped = Vec::new();
        let mut keep = Vec::new();
        let mut map = vec![None; headers.len()];
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            if is_results && crate::map::is_as_read(h) {
                continue; // a date as an earlier run read it: written afresh
            }
            let own = crate::entity::OUTPUT_COLUMNS.contains(&h)
                || crate::entity::MESSAGE_COLUMNS.contains(&h)
                || crate::entity::LINK_COLUMNS.contains(&h);
            if is_results && own && !dropped.contains(&h) {
                dropped.push(h);
                continue;
            }
            map[i] = Some(keep.len());
            keep.push(i);
        }
        let source_row = if is_results {
            headers.iter().position(|h| h.trim() == "source_row")
        } else {
            None
        };
        Echo {
            keep,
            map,
            source_row,
        }
    }

    /// The row number a results file shows for a row read at `read_at`: the original sheet's,
    /// when the input is an earlier results file that says it, so `source_row` survives any
    /// number of round trips.
    pub fn source_row(&self, cells: &[Cell], read_at: usize) -> usize {
        let earlier = self
            .source_row
            .and_then(|c| cells.get(c))
            .and_then(|c| match c {
                Cell::Int(i) => usize::try_from(*i).ok(),
                Cell::Float(f) if f.fract() == 0.0 && *f >= 1.0 => Some(*f as usize),
                other => other.to_text().trim().parse().ok(),
            });
        earlier.filter(|n| *n >= 1).unwrap_or(read_at)
    }

    pub fn headers(&self, headers: &[String]) -> Vec<String> {
        self.keep.iter().map(|&i| headers[i].clone()).collect()
    }

    pub fn cells(&self, mut cells: Vec<Cell>) -> Vec<Cell> {
        if self.keep.len() == cells.len() {
            return cells; // nothing dropped
        }
        self.keep
            .iter()
            .map(|&i| cells.get_mut(i).map(std::mem::take).unwrap_or(Cell::Empty))
            .collect()
    }

    /// Errors marked on an input column follow it to its place in the results.
    pub fn errors(&self, mut errors: Vec<RowError>) -> Vec<RowError> {
        for e in &mut errors {
            e.column = e.column.and_then(|c| self.map.get(c).copied().flatten());
        }
        errors
    }

    /// The column to read a value from, given the first whose header matched (`col`): in an
    /// earlier results file whose own column of that name is written afresh (`kayse_id`), the
    /// input's column of the same name after it, which is the one people fix.
    pub fn input_column(&self, headers: &[String], col: usize) -> usize {
        if self.map.get(col).is_none_or(Option::is_some) {
            return col;
        }
        let name = headers[col].trim();
        (col + 1..headers.len())
            .find(|&c| self.map[c].is_some() && headers[c].trim().eq_ignore_ascii_case(name))
            .unwrap_or(col)
    }

    /// Input columns as results input columns (those not repeated are dropped).
    pub fn columns(&self, input: &[usize]) -> Vec<usize> {
        input
            .iter()
            .filter_map(|&c| self.map.get(c).copied().flatten())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_files_rows_are_guessed_from_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.csv");
        // Rows of "abc,12\n": 7 bytes each.
        std::fs::write(&file, "abc,12\n".repeat(3 * LOOK_AHEAD_ROWS)).unwrap();
        let row = RawRow {
            source_row: 2,
            cells: vec![Cell::Text("abc".into()), Cell::Text("12".into())],
        };
        let full: Vec<&RawRow> = vec![&row; LOOK_AHEAD_ROWS];
        let short: Vec<&RawRow> = vec![&row; 10];
        // (format, sample, guess)
        let table: [(&str, &[&RawRow], usize); 5] = [
            ("csv", &full, 3 * LOOK_AHEAD_ROWS),
            ("text", &full, 3 * LOOK_AHEAD_ROWS),
            ("csv", &short, 0),
            ("xlsx", &full, 0),
            ("ods", &full, 0),
        ];
        for (format, sample, want) in table {
            assert_eq!(rows_estimate(format, &file, sample), want, "{format}");
        }
        assert_eq!(
            rows_estimate("csv", &dir.path().join("absent.csv"), &full),
            0
        );
        // However large the file, the guess stops at two million rows (a sparse 16 GiB file).
        let big = dir.path().join("big.csv");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(1 << 34)
            .unwrap();
        assert_eq!(rows_estimate("csv", &big, &full), 1 << 21);
    }

    fn table(headers: &[&str], rows: Vec<RawRow>) -> Table {
        Table {
            info: Default::default(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            header_row: 1,
            rows: Box::new(read::Plain(rows.into_iter().map(Ok))),
            facts: Default::default(),
        }
    }

    fn fingerprint(headers: &[&str], rows: &[(usize, Vec<Cell>)]) -> Fingerprint {
        let rows: Vec<RawRow> = rows
            .iter()
            .map(|(r, c)| RawRow {
                source_row: *r,
                cells: c.clone(),
            })
            .collect();
        let n = rows.len();
        let mut t = table(headers, rows);
        let slot = FingerprintSlot::default();
        let inner = std::mem::replace(&mut t.rows, Box::new(read::Plain(std::iter::empty())));
        let hashed = Hashed::new(&t, inner, slot.clone());
        assert!(slot.get().is_none(), "no fingerprint before the end");
        assert_eq!(hashed.count(), n);
        slot.get().expect("read to the end")
    }

    #[test]
    fn fingerprints_tell_rows_apart() {
        let text = |s: &str| Cell::Text(s.into());
        let base = fingerprint(&["a", "b"], &[(2, vec![text("1"), text("x")])]);
        assert_eq!(base.basis, Basis::Rows);
        assert_eq!(base.size, 1);
        assert_eq!(
            base,
            fingerprint(&["a", "b"], &[(2, vec![text("1"), text("x")])]),
            "the same rows, the same fingerprint"
        );
        let others: Vec<Fingerprint> = vec![
            fingerprint(&["a", "c"], &[(2, vec![text("1"), text("x")])]),
            fingerprint(&["a", "b"], &[(3, vec![text("1"), text("x")])]),
            fingerprint(&["a", "b"], &[(2, vec![Cell::Int(1), text("x")])]),
            fingerprint(&["a", "b"], &[(2, vec![text("1x"), text("")])]),
            fingerprint(&["a", "b"], &[(2, vec![text("1"), text("x"), Cell::Empty])]),
            fingerprint(&["a", "b"], &[]),
            fingerprint(&["ab"], &[(2, vec![text("1"), text("x")])]),
        ];
        for (i, fp) in others.iter().enumerate() {
            assert_ne!(*fp, base, "variant {i}");
        }
    }

    /// A joined clients table's fingerprint is part of the input's: the same case rows with
    /// another clients table are another input; with none, the fingerprint is the rows' alone.
    #[test]
    fn a_joined_tables_fingerprint_is_part_of_the_inputs() {
        let text = |s: &str| Cell::Text(s.into());
        let rows = [(2, vec![text("A-1"), text("5501")])];
        let with = |joined: Option<&Fingerprint>| {
            let mut t = table(&["case_number", "Client ID"], Vec::new());
            t.rows = Box::new(read::Plain(
                rows.iter()
                    .map(|(r, c)| {
                        Ok(RawRow {
                            source_row: *r,
                            cells: c.clone(),
                        })
                    })
                    .collect::<Vec<_>>()
                    .into_iter(),
            ));
            let slot = FingerprintSlot::default();
            let inner = std::mem::replace(&mut t.rows, Box::new(read::Plain(std::iter::empty())));
            let mut hashed = Hashed::new(&t, inner, slot.clone());
            if let Some(j) = joined {
                hashed = hashed.with_joined(j);
            }
            assert_eq!(hashed.count(), 1);
            slot.get().expect("read to the end")
        };
        let contacts = |sha: &str, size| Fingerprint {
            sha256: sha.into(),
            size,
            basis: Basis::Rows,
        };
        let alone = with(None);
        assert_eq!(alone, fingerprint(&["case_number", "Client ID"], &rows));
        let joined = with(Some(&contacts("aa", 5)));
        assert_eq!(joined, with(Some(&contacts("aa", 5))));
        assert_eq!(joined.size, 1, "the size counts the case rows");
        for other in [
            alone,
            with(Some(&contacts("ab", 5))),
            with(Some(&contacts("aa", 6))),
        ] {
            assert_ne!(joined, other);
        }
    }

    #[test]
    fn a_read_error_leaves_no_fingerprint() {
        let mut t = table(&["a"], Vec::new());
        t.rows = Box::new(read::Plain(
            vec![Err(ReadError::new(Path::new("x.csv"), "broken"))].into_iter(),
        ));
        let slot = FingerprintSlot::default();
        let inner = std::mem::replace(&mut t.rows, Box::new(read::Plain(std::iter::empty())));
        let mut hashed = Hashed::new(&t, inner, slot.clone());
        assert!(hashed.next().unwrap().is_err());
        assert!(hashed.next().is_none());
        assert!(slot.get().is_none());
        assert!(slot.finished().is_err());
    }

    #[test]
    fn echo_keeps_an_earlier_results_files_source_row() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let results = Echo::new(&h(&["source_row", "kayse_result", "name"]));
        let plain = Echo::new(&h(&["source_row", "name"]));
        // (cells, row read at, shown by the results file, shown by a plain input)
        let table = [
            (vec![Cell::Int(17), Cell::Empty], 3, 17, 3),
            (vec![Cell::Text("9".into()), Cell::Empty], 3, 9, 3),
            (vec![Cell::Float(12.0), Cell::Empty], 4, 12, 4),
            (vec![Cell::Empty, Cell::Empty], 5, 5, 5),
            (vec![Cell::Text("x".into()), Cell::Empty], 6, 6, 6),
            (vec![Cell::Int(0), Cell::Empty], 7, 7, 7),
        ];
        for (cells, at, want, plain_want) in table {
            assert_eq!(results.source_row(&cells, at), want, "{cells:?}");
            assert_eq!(plain.source_row(&cells, at), plain_want, "{cells:?}");
        }
    }

    #[test]
    fn echo_drops_the_tools_own_columns_of_a_results_file_only() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plain = h(&["kayse_id", "case_number"]);
        let e = Echo::new(&plain);
        assert_eq!(e.headers(&plain), plain, "not a results file: kept as is");
        let results = h(&[
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "case_number",
            "kayse_id",
        ]);
        let e = Echo::new(&results);
        assert_eq!(e.headers(&results), h(&["case_number", "kayse_id"]));
        let cells = (0..6).map(Cell::Int).collect::<Vec<_>>();
        assert_eq!(e.cells(cells), vec![Cell::Int(4), Cell::Int(5)]);
        // sms and email results: the text as sent is written afresh too.
        let sent = h(&[
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "rendered_message",
            "rendered_subject",
            "message",
        ]);
        assert_eq!(Echo::new(&sent).headers(&sent), h(&["message"]));
        // A value is read from the input's own column of a name the tool's column shares.
        assert_eq!(e.input_column(&results, 2), 5);
        assert_eq!(e.input_column(&results, 4), 4);
        assert_eq!(
            e.input_column(&results, 0),
            0,
            "no input column of that name"
        );
        let once = h(&["source_row", "kayse_result", "kayse_id", "name"]);
        assert_eq!(Echo::new(&once).input_column(&once, 2), 2);
        assert_eq!(Echo::new(&plain).input_column(&plain, 0), 0);
        let moved = e.errors(vec![
            RowError::new("case_number", "x").at(Some(4)),
            RowError::new("row", "y").at(Some(1)),
        ]);
        assert_eq!(moved[0].column, Some(0));
        assert_eq!(moved[1].column, None);
        // A hidden input column keeps its place in the results; a dropped one is no column.
        assert_eq!(e.columns(&[0, 4, 5]), vec![0, 1]);
        assert_eq!(Echo::new(&plain).columns(&[1]), vec![1]);
    }

    #[test]
    fn a_names_matcher_knows_its_columns_as_they_are_found() {
        let m = names_matcher(crate::check::ids::ID_COLUMNS);
        let table: &[(&[&str], usize)] = &[
            (&["kayse_id", "note"], 1),
            (&[" Kayse_ID ", "Case_Id"], 2),
            (&["Kayse ID", "case id", "12"], 0),
            (&["", "id"], 1),
        ];
        for (cells, want) in table {
            assert_eq!(m.score(cells.iter().copied()), *want, "{cells:?}");
        }
        let one = names_matcher(&["Kayse Case"]);
        assert_eq!(one.score(["kayse case", "kayse_id"]), 1);
    }
}

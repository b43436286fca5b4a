//! The report written from the ledger (`export --all-known --refresh-budget N`): every live case
//! the ledger knows, in the export's layout (`sheet`), with a `last_seen` column saying when Kayse
//! last showed it (empty: never read). Streamed from the ledger one case at a time, so 100,000
//! cases cost what one does in memory: the workbook sheet is written in constant-memory mode.
//! Cases deleted by this tool or gone (404) are left out; the ids this run could not read are on
//! the `Errors` sheet (or in `<out>.errors.csv`). No network.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{Format, FormatBorder, Workbook, XlsxError};

use crate::entity::{Entity, Record};
use crate::record::ledger::Change;
use crate::record::ledger::{Known, Ledger, LedgerError, Status};
use crate::report::results::{MAX_CELL_CHARS, clip_for_excel, guard_formula};
use crate::report::sheet::{self, Out, SheetError, excel_holds_date};
use crate::report::summary_sheet::Tally;

/// The column after the export's own: when Kayse last showed the case, UTC.
pub const LAST_SEEN: &str = "last_seen";

/// What the report holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// Live cases written, one row each.
    pub rows: u64,
    /// Of them, those never read from Kayse (`last_seen` empty).
    pub never_seen: u64,
    /// What a workbook could not hold as it is (`sheet::excel_limits`), one warning each.
    pub excel: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// `last_seen` as CSV text: `2024-03-05 02:30:17`, UTC (empty: never read).
pub fn last_seen_text(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The record a ledger entry reports: what Kayse last showed, else what was last sent, always
/// with its id. A state the table cannot read gives the id alone.
pub fn record_of(entity: &'static Entity, k: &Known) -> Record {
    let mut r = k
        .report_state()
        .and_then(|s| Record::from_json(entity, s).ok())
        .unwrap_or_else(|| Record::new(entity));
    r.id = Some(k.id);
    r
}

/// A case's summary facts, owned: status, type, created date, last seen.
type OwnedFacts = (
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
);

/// What the Summary and Changes sheets of the report need from the ledger: the tally of its
/// live cases as of `today`, each seen when Kayse last showed it (so the refresh coverage is
/// real), and, against a `previous` report, what changed: new cases, changed fields, and the
/// cases the previous report held that the ledger now knows gone or deleted. One pass over the
/// ledger; the states are kept only when there is a previous report to compare with.
pub fn extras(
    entity: &'static Entity,
    ledger: &Ledger,
    today: chrono::NaiveDate,
    previous: Option<(&Path, &crate::report::changes::States)>,
) -> Result<(Tally, Option<Vec<Change>>, crate::report::changes::States), LedgerError> {
    use crate::report::summary_sheet::{CaseFacts, tally};
    // Owned facts, so the tally can borrow them after the ledger's records are gone.
    let mut facts: Vec<OwnedFacts> = Vec::new();
    let mut read = crate::report::changes::States::new();
    let mut gone = std::collections::BTreeSet::new();
    ledger.for_each(entity.name, |k: Known| {
        if k.status != Status::Live {
            if previous.is_some_and(|(_, p)| p.contains_key(&k.id)) {
                gone.insert(k.id);
            }
            return Ok(());
        }
        let rec = record_of(entity, &k);
        let f = CaseFacts::of(&rec, k.seen_at.map(|t| t.date_naive()));
        facts.push((
            f.status.map(str::to_string),
            f.kind.map(str::to_string),
            f.created,
            f.last_seen,
        ));
        if let Some((path, p)) = previous {
            let mut state = crate::report::changes::as_the_report_holds(path, rec.to_json());
            // A report written from what was sent does not know what Kayse derives (the opt-out
            // flags): blank there is unknown, not a value, so learning it is no change.
            if let (Some(before), Some(now)) = (p.get(&k.id), state.as_object_mut()) {
                for f in entity.answer_only {
                    if before.get(f.name).is_none_or(|v| v.is_null() || v == "") {
                        now.insert(f.name.to_string(), serde_json::Value::Null);
                    }
                }
            }
            read.insert(k.id, state);
        }
        Ok::<(), LedgerError>(())
    })?;
    let t = tally(
        facts.iter().map(|(s, k, c, l)| CaseFacts {
            status: s.as_deref(),
            kind: k.as_deref(),
            created: *c,
            last_seen: *l,
        }),
        today,
    );
    let changes = previous.map(|(_, p)| crate::report::changes::diff(p, &read, &gone));
    Ok((t, changes, read))
}

/// Whether an XLSX cell cannot hold the value as it is (cut text, a date outside the calendar).
fn beyond_excel(v: &Out) -> bool {
    match v {
        Out::Text(s) => s.len() > MAX_CELL_CHARS && s.encode_utf16().count() > MAX_CELL_CHARS,
        Out::Date(d) => !excel_holds_date(*d),
        _ => false,
    }
}

/// Write the report of `entity`'s live cases from `ledger` to `out` (.xlsx or .csv),
/// atomically (temporary file, then rename). `errors` are (id, reason) pairs for the `Errors`
/// sheet.
pub fn write(
    out: &Path,
    entity: &'static Entity,
    ledger: &Ledger,
    errors: &[(u64, String)],
    extras: &sheet::Extras,
) -> Result<Written, ReportError> {
    let csv = out
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    let temp = crate::report::results::temp_path(out);
    let done = if csv {
        write_csv(&temp, entity, ledger)
    } else {
        write_xlsx(&temp, entity, ledger, errors, extras)
    };
    let written = match done {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e.at(out));
        }
    };
    crate::report::results::replace(&temp, out).map_err(SheetError::from)?;
    if let (true, Some(rows)) = (csv, &extras.changes) {
        sheet::write_changes_beside(out, rows)?;
    }
    if csv {
        let ep = sheet::errors_csv_path(out);
        if errors.is_empty() {
            let _ = std::fs::remove_file(&ep);
        } else {
            let t = crate::report::results::temp_path(&ep);
            write_errors_csv(&t, errors).map_err(|e| e.at(&ep))?;
            crate::report::results::replace(&t, &ep).map_err(SheetError::from)?;
        }
    }
    Ok(written)
}

/// A failure before the file is named: [`write`] names it.
enum Cause {
    Io(std::io::Error),
    Csv(csv::Error),
    Xlsx(XlsxError),
    Ledger(LedgerError),
}

impl From<std::io::Error> for Cause {
    fn from(e: std::io::Error) -> Self {
        Cause::Io(e)
    }
}

impl From<csv::Error> for Cause {
    fn from(e: csv::Error) -> Self {
        Cause::Csv(e)
    }
}

impl From<XlsxError> for Cause {
    fn from(e: XlsxError) -> Self {
        Cause::Xlsx(e)
    }
}

impl From<LedgerError> for Cause {
    fn from(e: LedgerError) -> Self {
        Cause::Ledger(e)
    }
}

impl Cause {
    fn at(self, path: &Path) -> ReportError {
        let path = path.to_path_buf();
        match self {
            Cause::Io(source) => SheetError::Io { path, source }.into(),
            Cause::Csv(source) => SheetError::Csv { path, source }.into(),
            Cause::Xlsx(source) => SheetError::Xlsx { path, source }.into(),
            Cause::Ledger(e) => e.into(),
        }
    }
}

/// Stream the live cases of `entity`: each with its export row, and the count kept.
fn each_case(
    entity: &'static Entity,
    ledger: &Ledger,
    mut f: impl FnMut(&Known, &Record, Vec<Out>) -> Result<(), Cause>,
) -> Result<Written, Cause> {
    let mut w = Written::default();
    // Records Excel cannot hold whole, kept to name them (few: a cell of 32,767 characters).
    let mut beyond: Vec<Record> = Vec::new();
    ledger.for_each(entity.name, |k: Known| {
        if k.status != Status::Live {
            return Ok(());
        }
        let rec = record_of(entity, &k);
        let row = sheet::row(&rec);
        w.rows += 1;
        if k.seen_at.is_none() {
            w.never_seen += 1;
        }
        if beyond.len() < 1000 && row.iter().any(beyond_excel) {
            beyond.push(rec.clone());
        }
        f(&k, &rec, row)
    })?;
    w.excel = sheet::excel_limits(&beyond);
    Ok(w)
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>, Cause> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all("\u{feff}".as_bytes())?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f))
}

fn write_csv(path: &Path, entity: &'static Entity, ledger: &Ledger) -> Result<Written, Cause> {
    let mut w = csv_writer(path)?;
    let mut head = sheet::columns(entity);
    head.push(LAST_SEEN);
    w.write_record(&head)?;
    let written = each_case(entity, ledger, |k, _, row| {
        let cells = row
            .iter()
            .map(Out::csv_text)
            .chain(std::iter::once(last_seen_text(k.seen_at)));
        Ok(w.write_record(cells)?)
    })?;
    w.flush()?;
    Ok(written)
}

fn write_errors_csv(path: &Path, errors: &[(u64, String)]) -> Result<(), Cause> {
    let mut w = csv_writer(path)?;
    w.write_record(["id", "error"])?;
    for (id, e) in errors {
        w.write_record([id.to_string(), guard_formula(e).into_owned()])?;
    }
    Ok(w.flush()?)
}

fn write_xlsx(
    path: &Path,
    entity: &'static Entity,
    ledger: &Ledger,
    errors: &[(u64, String)],
    extras: &sheet::Extras,
) -> Result<Written, Cause> {
    let mut wb = Workbook::new();
    // The sheet's rows wait in a temporary file beside the report, not in memory (nor in a
    // /tmp that may itself be memory).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        wb.set_tempdir(dir)?;
    }
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let mut cols = sheet::columns(entity);
    cols.push(LAST_SEEN);
    let last = (cols.len() - 1) as u16;
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(entity.title())?;
    for (i, name) in cols.iter().enumerate() {
        ws.set_column_width(i as u16, (name.len() as f64 + 2.0).max(12.0))?;
    }
    ws.set_column_width(last, 20)?;
    ws.set_freeze_panes(1, 0)?;
    for (i, name) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, &head)?;
    }
    let mut r = 0u32;
    let written = each_case(entity, ledger, |k, _, row| {
        r += 1;
        for (i, v) in row.iter().enumerate() {
            let i = i as u16;
            match v {
                Out::Empty => {}
                Out::Text(s) => {
                    ws.write_string(r, i, clip_for_excel(s, MAX_CELL_CHARS))?;
                }
                Out::Int(n) => {
                    ws.write_number(r, i, *n as f64)?;
                }
                Out::Bool(b) => {
                    ws.write_boolean(r, i, *b)?;
                }
                Out::Date(d) if excel_holds_date(*d) => {
                    ws.write_datetime_with_format(r, i, d, &date)?;
                }
                Out::Date(d) => {
                    ws.write_string(r, i, d.format("%Y-%m-%d").to_string())?;
                }
            }
        }
        if let Some(t) = k.seen_at {
            ws.write_datetime_with_format(r, last, t.naive_utc(), &stamp)?;
        }
        Ok(())
    })?;
    ws.autofilter(0, 0, r, last)?;
    if let Some((tally, title)) = &extras.summary {
        crate::report::summary_sheet::add(&mut wb, tally, title)?;
    }
    if let Some(rows) = &extras.changes {
        sheet::add_changes(&mut wb, rows, &head)?;
    }
    if !errors.is_empty() {
        let es = wb.add_worksheet();
        es.set_name("Errors")?;
        es.write_string_with_format(0, 0, "id", &head)?;
        es.write_string_with_format(0, 1, "error", &head)?;
        es.set_column_width(1, 80)?;
        es.set_freeze_panes(1, 0)?;
        for (n, (id, e)) in errors.iter().enumerate() {
            es.write_number((n + 1) as u32, 0, *id as f64)?;
            es.write_string((n + 1) as u32, 1, e)?;
        }
    }
    wb.save(path)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use crate::record::ledger::Source;
    use chrono::TimeZone;
    use serde_json::json;

    fn case(id: u64, status: &str) -> serde_json::Value {
        json!({"id": id, "case_number": format!("K-{id}"), "external_source": "other",
               "external_source_id": format!("x-{id}"), "status": status, "type": "civil"})
    }

    /// A ledger of four cases: 1 read, 2 only sent (never read), 3 gone, 4 deleted.
    fn ledger(dir: &Path) -> Ledger {
        let t = Utc.with_ymd_and_hms(2024, 3, 5, 2, 30, 17).unwrap();
        let mut l = Ledger::open(&dir.join("l.sqlite"))
            .unwrap()
            .with_clock(Box::new(move || t));
        let mut b = l.batch(None).unwrap();
        for id in [1, 2, 3, 4] {
            b.seed("cases", id, &case(id, "active"), Source::default())
                .unwrap();
        }
        b.read("cases", 1, &case(1, "closed")).unwrap();
        b.gone("cases", 3).unwrap();
        b.deleted("cases", 4).unwrap();
        b.commit().unwrap();
        l
    }

    #[test]
    fn the_report_holds_every_live_case_with_when_kayse_last_showed_it() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path());
        let out = dir.path().join("r.csv");
        let w = write(&out, &CASES, &l, &[(3, "gone".into())], &Default::default()).unwrap();
        assert_eq!((w.rows, w.never_seen), (2, 1));
        assert!(w.excel.is_empty());
        let text = std::fs::read_to_string(&out).unwrap();
        let mut rd = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let head = rd.headers().unwrap().clone();
        let at = |name: &str| head.iter().position(|h| h == name).unwrap();
        assert_eq!(head.iter().next_back(), Some(LAST_SEEN));
        let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        let table = [("1", "closed", "2024-03-05 02:30:17"), ("2", "active", "")];
        assert_eq!(rows.len(), table.len());
        for (row, (id, status, seen)) in rows.iter().zip(table) {
            assert_eq!(&row[at("id")], id);
            assert_eq!(&row[at("status")], status, "id {id}: what was last seen");
            assert_eq!(&row[at(LAST_SEEN)], seen, "id {id}");
        }
        let errors = std::fs::read_to_string(sheet::errors_csv_path(&out)).unwrap();
        assert!(errors.contains("3,gone"), "{errors}");
        let xlsx = dir.path().join("r.xlsx");
        let w = write(&xlsx, &CASES, &l, &[], &Default::default()).unwrap();
        assert_eq!(w.rows, 2);
        assert!(xlsx.exists());
    }

    #[test]
    fn last_seen_is_utc_text_or_empty() {
        let t = Utc.with_ymd_and_hms(2026, 12, 3, 14, 5, 9).unwrap();
        for (at, want) in [(Some(t), "2026-12-03 14:05:09"), (None, "")] {
            assert_eq!(last_seen_text(at), want);
        }
    }
}

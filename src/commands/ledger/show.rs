//! `ledger show`: the firm's id map, one row per case the ledger knows — its keys, Kayse id,
//! status, when it was last read from Kayse and last sent, and the file and row it came from —
//! as XLSX or CSV (on stdout without `--out`). Written atomically; reads the ledger only.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

use crate::cli::Global;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::record::ledger::{Known, Ledger, LedgerError};
use crate::report::results::{guard_formula, replace, temp_path};

const COLUMNS: &[&str] = &[
    "case_number",
    "external_source",
    "external_source_id",
    "kayse_id",
    "status",
    "last_seen",
    "last_sent",
    "source_file",
    "source_row",
];

/// One row of the map, in `COLUMNS` order.
fn cells(k: &Known) -> Vec<String> {
    let field = |name: &str| {
        k.report_state()
            .and_then(|s| s.get(name))
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    };
    vec![
        field("case_number"),
        field("external_source"),
        field("external_source_id"),
        k.id.to_string(),
        k.status.as_str().to_string(),
        when(k.seen_at),
        when(k.sent_at),
        k.file.clone().unwrap_or_default(),
        k.row.map(|r| r.to_string()).unwrap_or_default(),
    ]
}

fn rows(book: &Ledger) -> Result<Vec<Vec<String>>, LedgerError> {
    let mut out = Vec::new();
    book.for_each("cases", |k| {
        out.push(cells(&k));
        Ok::<(), LedgerError>(())
    })?;
    Ok(out)
}

pub fn show(book: &Ledger, out: Option<&Path>, g: &Global) -> CmdResult {
    let rows = rows(book).map_err(Fatal::from)?;
    let failed = |e: &dyn std::fmt::Display, p: &Path| {
        Fatal::stopped(format!("cannot write {}: {e}", p.display()))
    };
    let Some(out) = out else {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        let write = |w: &mut csv::Writer<_>| -> csv::Result<()> {
            w.write_record(COLUMNS)?;
            for r in &rows {
                w.write_record(r.iter().map(|c| guard_formula(c).into_owned()))?;
            }
            w.flush()?;
            Ok(())
        };
        write(&mut w).map_err(|e| Fatal::stopped(format!("cannot write the map: {e}")))?;
        return Ok(ExitCode::Ok);
    };
    let csv = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let xlsx = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if !csv && !xlsx {
        return Err(Fatal::usage(format!(
            "--out {} must end in .xlsx or .csv",
            out.display()
        )));
    }
    let temp = temp_path(out);
    let done = if csv {
        write_csv(&temp, &rows).map_err(|e| failed(&e, out))
    } else {
        write_xlsx(&temp, &rows).map_err(|e| failed(&e, out))
    };
    if let Err(e) = done {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    replace(&temp, out).map_err(|e| failed(&e, out))?;
    if !g.quiet {
        eprintln!(
            "wrote {} cases from the ledger {} to {}",
            rows.len(),
            book.path().display(),
            out.display()
        );
    }
    Ok(ExitCode::Ok)
}

fn write_csv(path: &Path, rows: &[Vec<String>]) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f);
    w.write_record(COLUMNS)?;
    for r in rows {
        w.write_record(r.iter().map(|c| guard_formula(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

fn write_xlsx(path: &Path, rows: &[Vec<String>]) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Ledger")?;
    let bold = Format::new().set_bold();
    for (c, h) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let id_col = COLUMNS.iter().position(|c| *c == "kayse_id").unwrap_or(0);
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, v) in r.iter().enumerate() {
            match v.parse::<u64>() {
                Ok(n) if c == id_col || COLUMNS[c] == "source_row" => {
                    ws.write_number(row, c as u16, n as f64)?;
                }
                _ => {
                    ws.write_string(row, c as u16, v.as_str())?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, COLUMNS.len() as u16 - 1)?;
    wb.save(path)
}
